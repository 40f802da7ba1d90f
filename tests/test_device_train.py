"""scripts/device_train.py: prepare here, train "there" (here, on CPU, in a subprocess as on the
device), merge here: the merged records equal those kit.engine.train.run trains directly; the packed
corpus is the original one; budgets, tampered records and bad arguments are handled."""

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from kit.engine import data, resume, train
from kit.engine.config import RunConfig
from kit.engine.store import RunStore, run_id

from conftest import comparable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import device_train  # noqa: E402  (scripts/ is not a package)

# Three runs of one tiny shape (d_model 8: one compilation per worker), differing in what the
# compiled loop takes as inputs: seed, learning rate, length.
TINY = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, eval_tokens=1024, width_multiple=4,
                 tokens=40 * 128)
CONFIGS = [TINY, TINY.replace(seed=1, lr=1e-2), TINY.replace(tokens=80 * 128)]
# One run far longer than the 20 s budget it is given (d_model 192, 3,600 steps: 9x the cost of the
# d_model 64 run a CI machine once trained within 19 s).
LONG = RunConfig(n_nonzero=884_736, n_layers=2, seq_len=16, batch_size=16, eval_tokens=1024, width_multiple=4,
                 tokens=3600 * 256)


def script(*args, env=None) -> subprocess.CompletedProcess:
    """The script as the device runs it: its own process (its workers are spawned from it)."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "device_train.py"), *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


def call(capsys, *args) -> tuple[int, str, str]:
    code = device_train.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """Ten files of random words, about 1 MB (enough for LONG)."""
    root = tmp_path_factory.mktemp("texts")
    rng = np.random.default_rng(0)
    words = np.array(["to", "be", "or", "not", "that", "is", "the", "question"])
    for k in range(10):
        w = rng.choice(words, 25_000)
        (root / f"doc{k}.txt").write_text("\n".join(" ".join(w[i: i + 12]) for i in range(0, len(w), 12)) + "\n")
    return root


def prepare(tmp: Path, corpus_dir: Path, configs: list[RunConfig], store: Path) -> Path:
    (tmp / "configs.json").write_text(json.dumps([c.to_dict() for c in configs]))
    folder = tmp / "device"
    assert device_train.main(["prepare", "--configs", str(tmp / "configs.json"), "--corpus", str(corpus_dir),
                              "--runs", str(store), "--dir", str(folder)]) == 0
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus_dir):
    """prepare, then train with 2 lanes (and --measure) in a subprocess: (device dir, out dir, stdout)."""
    tmp = tmp_path_factory.mktemp("device")
    folder = prepare(tmp, corpus_dir, CONFIGS, tmp / "empty_store")
    done = script("train", "--dir", folder, "--budget-s", 240, "--lanes", 2, "--measure", "--out", tmp / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, tmp / "out", done.stdout


@pytest.fixture(scope="module")
def direct(tmp_path_factory, corpus_dir) -> dict:
    """The same runs trained here with kit.engine.train.run: {id: record}."""
    store = RunStore(tmp_path_factory.mktemp("direct"))
    corpus = data.load_corpus(corpus_dir)
    return {r["id"]: r for r in (train.run(c, corpus=corpus, store=store) for c in CONFIGS)}


def test_prepare_lists_the_missing_runs_cheapest_first_and_packs_the_same_corpus(direct, tmp_path, corpus_dir, capsys):
    corpus = data.load_corpus(corpus_dir)
    store = RunStore(tmp_path / "runs")
    store.put(direct[run_id(CONFIGS[1], corpus.fingerprint)])  # already stored: not listed
    folder = prepare(tmp_path, corpus_dir, CONFIGS, store.root)
    printed = capsys.readouterr().out
    todo = json.loads((folder / "todo.json").read_text())
    ids = [e["id"] for e in todo["runs"]]
    assert ids == [run_id(c, corpus.fingerprint) for c in (CONFIGS[0], CONFIGS[2])]  # cheapest first, stored one out
    assert [e["config"] for e in todo["runs"]] == [CONFIGS[0].to_dict(), CONFIGS[2].to_dict()]
    rebuilt = device_train.load_pack(folder, corpus.fingerprint)
    assert rebuilt.fingerprint == corpus.fingerprint and rebuilt.name == corpus.name
    assert bytes(rebuilt.train) == bytes(corpus.train) and bytes(rebuilt.val) == bytes(corpus.val)
    assert rebuilt.documents == corpus.documents and rebuilt.val_documents == corpus.val_documents
    assert data.describe(rebuilt) == data.describe(corpus)
    packed = sum(p.stat().st_size for p in folder.glob("corpus-*.xz"))
    assert packed < 0.5 * (len(corpus.train) + len(corpus.val))
    assert "train --budget-s 480 --out $OUT" in printed and "timeout_s: 540" in printed
    # a damaged pack is refused, not trained on
    xz = next(folder.glob("corpus-*.val.xz"))
    xz.write_bytes(xz.read_bytes()[:-8])
    with pytest.raises(device_train.Refused, match="decompress|sha256"):
        device_train.load_pack(folder, corpus.fingerprint)


def test_train_on_the_device_and_merge_gives_the_records_of_training_here(trained, direct, corpus_dir, tmp_path, capsys):
    folder, out, stdout = trained
    summary = (out / "summary.txt").read_text()
    assert "backend: cpu" in summary and "lanes: 2" in summary
    assert "runs: 3 finished (3 ok) / 3 submitted / 3 todo" in summary
    assert "measure: " in summary and "runs/h" in summary and "side by side" in summary
    assert stdout.count("ok loss=") == 3  # a progress line per run
    store = RunStore(tmp_path / "runs")
    code, printed, _ = call(capsys, "merge", out / "records.tar.gz", "--runs", store.root, "--corpus", corpus_dir)
    assert code == 0, printed
    assert "3 records added, 0 already present, 0 refused" in printed and "git add runs" in printed
    merged = {r["id"]: r for r in store.records()}
    assert set(merged) == set(direct)
    for id, record in direct.items():
        assert comparable(merged[id]) == comparable(record)
    # merging again adds nothing and overwrites nothing
    before = {p.name: p.read_bytes() for p in store.root.glob("*.json")}
    code, printed, _ = call(capsys, "merge", out / "records.tar.gz", "--runs", store.root, "--corpus", corpus_dir)
    assert code == 0 and "0 records added, 3 already present" in printed
    assert {p.name: p.read_bytes() for p in store.root.glob("*.json")} == before


def rewrite(archive: Path, target: Path, change) -> None:
    """Copy the archive, passing each member's (name, bytes) through change (None: left out)."""
    with tarfile.open(archive, "r:gz") as tar, tarfile.open(target, "w:gz") as new:
        for member in tar.getmembers():
            changed = change(member.name, tar.extractfile(member).read())
            if changed is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(changed)
                new.addfile(info, io.BytesIO(changed))


def test_merge_refuses_a_tampered_record_and_never_overwrites_one(trained, corpus_dir, tmp_path, capsys):
    _, out, _ = trained
    with tarfile.open(out / "records.tar.gz", "r:gz") as tar:
        names = sorted(m.name for m in tar.getmembers() if m.name.startswith("records/"))
        records = {n: json.loads(tar.extractfile(n).read()) for n in names}
    tampered, kept, added = names

    def change(name, payload):
        if name == tampered:  # the config edited under the same id
            record = json.loads(payload)
            record["config"]["lr"] = 0.5
            return json.dumps(record).encode()
        return payload

    rewrite(out / "records.tar.gz", tmp_path / "tampered.tar.gz", change)
    store = RunStore(tmp_path / "runs")
    mine = {**records[kept], "metrics": {**records[kept]["metrics"], "final_loss": 1.0}}  # differs from the archive's
    store.put(mine)
    before = store.path(mine["id"]).read_bytes()
    code, printed, _ = call(capsys, "merge", tmp_path / "tampered.tar.gz", "--runs", store.root, "--corpus", corpus_dir)
    assert code == 1
    id_t, id_k, id_a = (records[n]["id"] for n in (tampered, kept, added))
    assert printed.count("refused record") == 1 and f"refused record {id_t}: " in printed
    assert "does not match its config" in printed
    assert f"already present record {id_k}: the store's record differs (kept; never overwritten)" in printed
    assert f"added record {id_a}" in printed
    assert store.path(mine["id"]).read_bytes() == before and not store.has(id_t)
    assert "1 records added, 1 already present, 1 refused" in printed
    # a record of a corpus merge does not know is refused
    code, printed, _ = call(capsys, "merge", out / "records.tar.gz", "--runs", tmp_path / "other")
    assert code == 1 and "3 refused" in printed and "not a known corpus" in printed
    assert not list((tmp_path / "other").glob("*.json"))


def test_a_budget_too_small_to_start_anything_trains_nothing_and_says_so(trained, tmp_path):
    folder, _, _ = trained
    done = script("train", "--dir", folder, "--budget-s", 1, "--lanes", 2, "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "runs: 0 finished (0 ok) / 0 submitted / 3 todo" in summary
    assert "NOTHING TRAINED" in summary and "no more runs start" in done.stdout
    with tarfile.open(tmp_path / "out" / "records.tar.gz", "r:gz") as tar:
        assert [m.name for m in tar.getmembers()] == ["manifest.json"]


def test_the_budget_end_stops_runs_in_flight_and_packs_their_saved_state(corpus_dir, tmp_path, capsys):
    folder = prepare(tmp_path, corpus_dir, [LONG], tmp_path / "empty")
    capsys.readouterr()
    start = time.monotonic()
    done = script("train", "--dir", folder, "--budget-s", 20, "--lanes", 1, "--out", tmp_path / "out",
                  "--assume-flops-per-s", 1e15, env={"KIT_SAVE_EVERY_S": "0"})  # a save after every chunk
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.monotonic() - start < 60  # stopped at the budget, not when the run ends
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert "runs: 0 finished (0 ok) / 1 submitted / 1 todo" in summary and "stopped: the budget ended" in summary
    assert "archive: 0 records, 0 checkpoints, 1 partial states" in summary
    id = run_id(LONG, data.load_corpus(corpus_dir).fingerprint)
    store = RunStore(tmp_path / "runs")
    code, printed, _ = call(capsys, "merge", tmp_path / "out" / "records.tar.gz", "--runs", store.root)
    assert code == 0 and f"added partial state {id}: at step " in printed
    [state] = resume.in_progress(store.root)
    assert state["id"] == id and 0 < state["step"] < LONG.steps and state["steps"] == LONG.steps
    code, printed, _ = call(capsys, "merge", tmp_path / "out" / "records.tar.gz", "--runs", store.root)
    assert code == 0 and f"skipped partial state {id}: " in printed and "not behind" in printed


@pytest.mark.parametrize("args, message", [
    (["prepare", "nosuchgroup"], "unknown group(s) nosuchgroup"),
    (["prepare"], "name at least one group"),
    (["prepare", "main", "--limit", "0"], "--limit 0"),
    (["prepare", "main", "--budget-s", "0"], "--budget-s 0"),
    (["train", "--budget-s", "0", "--out", "OUT"], "must be more than 0"),
    (["train", "--budget-s", "-5", "--out", "OUT"], "must be more than 0"),
    (["train", "--budget-s", "10", "--lanes", "0", "--out", "OUT"], "--lanes 0"),
    (["train", "--budget-s", "10", "--out", "OUT"], "todo.json is missing"),
    (["train", "--budget-s", "ten", "--out", "OUT"], "invalid float value"),
    (["merge", "NOFILE"], "no such file"),
    (["merge", "NOTTAR"], "is not a records.tar.gz written by"),
    (["merge", "FOREIGN"], "is not a records.tar.gz written by"),
])
def test_bad_arguments_are_refused_with_one_line_before_any_work(args, message, tmp_path, capsys):
    (tmp_path / "NOTTAR").write_text("not an archive")
    with tarfile.open(tmp_path / "FOREIGN", "w:gz") as tar:  # a tar.gz, but not ours
        info = tarfile.TarInfo("records/0123456789abcdef.json")
        tar.addfile(info, io.BytesIO(b""))
    args = [str(tmp_path / a) if a in ("OUT", "NOFILE", "NOTTAR", "FOREIGN") else a for a in args]
    code, out, err = call(capsys, *args, "--dir", tmp_path / "device") if args[0] != "merge" else \
        call(capsys, *args, "--runs", tmp_path / "runs")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "device").exists() and not (tmp_path / "OUT").exists() and not (tmp_path / "runs").exists()
