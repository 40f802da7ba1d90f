import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kit.engine import data
from kit.engine.config import ConfigError, RunConfig
from kit.engine.store import RunStore, StoreError, run_id
from kit.engine.sweep import SweepError, grid, run_sweep

from conftest import comparable

BASE = RunConfig(seq_len=16, batch_size=4, tokens=16 * 4 * 10, eval_tokens=64)
CONFIGS = [BASE.replace(seed=s) for s in range(8)]


def fake_train(config, *, corpus, store):
    """A cheap stand-in for kit.engine.train.run: logs the seed it trains, then writes its record.
    Seed 4 "diverges" and records itself as failed, as kit.engine.train.run does."""
    Path(store.root).mkdir(parents=True, exist_ok=True)
    with open(Path(store.root) / "trained.log", "a") as log:
        log.write(f"{config.seed}\n")
    diverged = config.seed == 4
    record = {"id": run_id(config, corpus.fingerprint), "status": "failed" if diverged else "ok",
              "reason": "loss is NaN" if diverged else None, "config": config.to_dict(),
              "corpus": data.describe(corpus), "metrics": {"val_loss": float("nan") if diverged else 1.0 + config.seed},
              "curve": {}, "versions": {}, "checkpoint": None, "created": "2026-01-01T00:00:00+00:00"}
    store.put(record)
    return record


def flaky_train(config, *, corpus, store):
    """fake_train, but seed 3 raises the first time it is trained in this store (like running out of
    memory once), and trains on the next try."""
    if config.seed == 3 and not (Path(store.root) / "raised.3").exists():
        Path(store.root).mkdir(parents=True, exist_ok=True)
        (Path(store.root) / "raised.3").touch()
        raise MemoryError("boom 3")
    return fake_train(config, corpus=corpus, store=store)


def slow_train(config, *, corpus, store):
    time.sleep(0.3)
    return fake_train(config, corpus=corpus, store=store)


def forgetful_train(config, *, corpus, store):
    """Breaks the contract: returns a record without writing it."""
    return {"id": run_id(config, corpus.fingerprint)}


def trained(store):
    log = Path(store.root) / "trained.log"
    return [int(s) for s in log.read_text().split()] if log.exists() else []


@pytest.fixture
def corpus_dir(tmp_path):
    root = tmp_path / "texts"
    root.mkdir()
    rng = np.random.default_rng(0)
    for k in range(10):
        (root / f"doc{k}.txt").write_text("\n".join(" ".join(rng.choice(["to", "be", "or", "not"], 12))
                                                    for _ in range(40)) + "\n")
    return root


@pytest.fixture
def corpus(corpus_dir):
    return data.load_corpus(corpus_dir)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_grid_is_the_product_last_axis_fastest():
    configs = grid(BASE, n_nonzero=np.array([1000, 2000]), sparsity=[0.0, 0.5, 0.75])
    assert [(c.n_nonzero, c.sparsity) for c in configs] == [
        (1000, 0.0), (1000, 0.5), (1000, 0.75), (2000, 0.0), (2000, 0.5), (2000, 0.75)]
    assert all(type(c.n_nonzero) is int and c.seq_len == 16 for c in configs)


def test_grid_rejects_bad_axes_and_points():
    with pytest.raises(ConfigError, match=r"grid axes \['width'\] are not RunConfig fields"):
        grid(BASE, width=[64])
    with pytest.raises(ConfigError, match="grid axis seed=3: give a non-empty list"):
        grid(BASE, seed=3)
    with pytest.raises(ConfigError, match=r"grid point \{'sparsity': 0.5, 'nm': \(1, 4\)\}: .*1 - n/m = 0.75"):
        grid(BASE, sparsity=[0.5], nm=[(2, 4), (1, 4)])


def stored_seeds(store):
    return sorted(r["config"]["seed"] for r in store.records())


def test_a_raising_run_stops_the_sweep_unrecorded_and_a_rerun_trains_it(corpus, store):
    with pytest.raises(SweepError) as err:
        run_sweep(CONFIGS[:6], store=store, corpus=corpus, train_fn=flaky_train, progress=False)
    id3 = run_id(CONFIGS[3], corpus.fingerprint)
    assert str(err.value).startswith(f"run {id3} (tokens=640, seq_len=16, batch_size=4, seed=3, eval_tokens=64) "
                                     f"raised MemoryError: boom 3; nothing was recorded for it")
    assert "(3 of 6 runs to train had finished and are stored)" in str(err.value)
    assert isinstance(err.value.__cause__, MemoryError)
    assert trained(store) == [0, 1, 2] and stored_seeds(store) == [0, 1, 2]  # no run started after it
    assert not store.has(id3)
    # rerun with more configs (and a duplicate): the raised run and the new ones train
    frame = run_sweep(CONFIGS + [CONFIGS[0]], store=store, corpus=corpus, train_fn=flaky_train, progress=False)
    assert trained(store) == [0, 1, 2, 3, 4, 5, 6, 7]
    assert list(frame["seed"]) == list(range(8))
    assert list(frame["status"]) == ["ok", "ok", "ok", "ok", "failed", "ok", "ok", "ok"]
    assert frame.loc[4, "reason"] == "loss is NaN" and frame.loc[3, "val_loss"] == 4.0
    # a diverged run is a result: recorded, and not retried
    run_sweep(CONFIGS, store=store, corpus=corpus, train_fn=flaky_train, progress=False)
    assert len(trained(store)) == 8 and len(store.records("failed")) == 1


def test_bad_config_raises_before_anything_trains(corpus, store):
    too_long = BASE.replace(tokens=(data.capacity(corpus, 16) // 64 + 1) * 64, seed=9)  # one step more
    with pytest.raises(ConfigError) as err:
        run_sweep(CONFIGS + [too_long, "not a config"], store=store, corpus=corpus, train_fn=fake_train)
    message = str(err.value)
    assert "2 of 10 configs cannot run" in message and "nothing was trained" in message
    assert f"config 8: tokens={too_long.tokens}" in message and "config 9: a str" in message
    assert trained(store) == [] and store.records() == []


def test_a_missing_parent_is_refused_before_anything_trains(corpus, store):
    parent = run_id(CONFIGS[0], corpus.fingerprint)
    child = BASE.replace(init_from=parent, seed=0)
    with pytest.raises(ConfigError) as err:
        run_sweep(CONFIGS[1:3] + [child], store=store, corpus=corpus, train_fn=fake_train)
    assert (f"config 2: init_from={parent!r}: no finished run with a saved checkpoint in {store.root}; "
            f"train that run first") in str(err.value)
    assert trained(store) == []


def test_an_unwritable_store_is_refused_before_anything_trains(corpus, tmp_path):
    (tmp_path / "file").write_text("")
    store = RunStore(tmp_path / "file" / "runs")
    with pytest.raises(StoreError, match=f"run store {store.root} is not writable"):
        run_sweep(CONFIGS[:2], store=store, corpus=corpus, train_fn=fake_train, progress=False)


def test_a_store_that_holds_every_run_is_only_read(corpus, store, monkeypatch):
    run_sweep(CONFIGS[:2], store=store, corpus=corpus, train_fn=fake_train, progress=False)
    def read_only(self):
        raise StoreError("read-only")
    monkeypatch.setattr(RunStore, "check_writable", read_only)
    assert len(run_sweep(CONFIGS[:2], store=store, corpus=corpus, train_fn=fake_train, progress=False)) == 2
    with pytest.raises(StoreError, match="read-only"):
        run_sweep(CONFIGS[:3], store=store, corpus=corpus, train_fn=fake_train, progress=False)
    assert trained(store) == [0, 1]


def test_train_fn_must_write_its_record(corpus, store):
    with pytest.raises(RuntimeError, match="returned without writing run"):
        run_sweep(CONFIGS[:1], store=store, corpus=corpus, train_fn=forgetful_train, progress=False)


def test_process_pool_executor(corpus, store):
    # spawn, not fork: this process has started JAX's threads
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(SweepError, match=r"raised MemoryError: boom 3; nothing was recorded"):
            run_sweep(CONFIGS[2:6], store=store, corpus=corpus, train_fn=flaky_train, executor=pool, progress=False)
        assert 3 not in stored_seeds(store) and set(stored_seeds(store)) <= {2, 4, 5}
        frame = run_sweep(CONFIGS[2:6], store=store, corpus=corpus, train_fn=flaky_train,
                          executor=pool, progress=False)
    assert sorted(trained(store)) == [2, 3, 4, 5]  # each once: seed 3 raised before its log line
    assert list(frame["seed"]) == [2, 3, 4, 5]
    assert list(frame["status"]) == ["ok", "ok", "failed", "ok"]


def test_dask_executor(corpus, store):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        with pytest.raises(SweepError, match=r"raised MemoryError: boom 3; nothing was recorded"):
            run_sweep(CONFIGS[:5], store=store, corpus=corpus, train_fn=flaky_train,
                      executor=client.get_executor(pure=False), progress=False)
        assert 3 not in stored_seeds(store)
        # pure=False: else dask would hand back the error it holds for the same call
        frame = run_sweep(CONFIGS[:5], store=store, corpus=corpus, train_fn=flaky_train,
                          executor=client.get_executor(pure=False), progress=False)
        with pytest.raises(TypeError, match="client.get_executor"):
            run_sweep(CONFIGS[5:6], store=store, corpus=corpus, train_fn=fake_train, executor=client)
        assert 5 not in trained(store)
    assert sorted(trained(store)) == [0, 1, 2, 3, 4]
    assert list(frame["status"]) == ["ok", "ok", "ok", "ok", "failed"]


SWEEP_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from test_sweep import CONFIGS, slow_train
from kit.engine.data import load_corpus
from kit.engine.store import RunStore
from kit.engine.sweep import run_sweep
run_sweep(CONFIGS, store=RunStore(sys.argv[2]), corpus=load_corpus(sys.argv[3]), train_fn=slow_train,
          progress=False)
"""


def test_killed_sweep_resumes_with_only_the_missing_runs(corpus_dir, corpus, store):
    proc = subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT, str(Path(__file__).parent),
                             str(store.root), str(corpus_dir)])
    deadline = time.monotonic() + 30
    while len(list(store.root.glob("*.json"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL  # killed, not finished
    done = {r["config"]["seed"] for r in store.records()}
    assert 3 <= len(done) < len(CONFIGS)
    started = len(trained(store))
    frame = run_sweep(CONFIGS, store=store, corpus=corpus, train_fn=fake_train, progress=False)
    retrained = trained(store)[started:]
    assert sorted(retrained) == sorted(set(range(8)) - done)
    assert list(frame["seed"]) == list(range(8))
    for path in store.root.glob("*.json"):
        assert json.loads(path.read_text())["id"] == path.stem


def side_by_side_train(config, *, corpus, store):
    """fake_train run in a worker process, noting how many XLA threads that process has."""
    from kit.engine import threads
    record = fake_train(config, corpus=corpus if not isinstance(corpus, (str, type(None))) else data.load_corpus(corpus),
                        store=store)
    with open(Path(store.root) / "threads.log", "a") as log:
        log.write(f"{os.getpid()} {threads.xla_threads()}\n")
    return record


def test_parallel_runs_go_to_single_threaded_worker_processes(corpus_dir, tmp_path):
    store = RunStore(tmp_path / "runs")
    frame = run_sweep(CONFIGS[:4], store=store, corpus=str(corpus_dir), train_fn=side_by_side_train, parallel=2,
                      progress=False)
    assert len(frame) == 4
    lines = [line.split() for line in (tmp_path / "runs" / "threads.log").read_text().splitlines()]
    assert {threads for _, threads in lines} == {"1"}
    assert str(os.getpid()) not in {pid for pid, _ in lines}


@pytest.mark.parametrize("parallel", [0, -1, 1.5, "2"])
def test_a_bad_parallel_is_refused_before_anything_trains(parallel, corpus, store):
    with pytest.raises(ConfigError, match="parallel"):
        run_sweep(CONFIGS, store=store, corpus=corpus, train_fn=fake_train, parallel=parallel, progress=False)
    assert trained(store) == []


def test_records_are_the_same_whichever_way_a_sweep_schedules_them(tmp_path):
    """Real runs (one dense, one pruned, at two widths) trained one after another on all cores
    and two side by side in single-threaded processes: equal records, timings and engine aside."""
    base = RunConfig(n_layers=2, seq_len=16, batch_size=8, tokens=192 * 8 * 16, eval_tokens=1024, lr=1e-2)
    configs = [base.replace(n_nonzero=1536), base.replace(n_nonzero=1536, sparsity=0.75),
               base.replace(n_nonzero=6144, sparsity=0.5)]
    frames = {n: run_sweep(configs, store=RunStore(tmp_path / str(n)), parallel=n, progress=False) for n in (1, 2)}
    records = {n: [RunStore(tmp_path / str(n)).get(id) for id in frames[n]["id"]] for n in (1, 2)}
    assert [r["engine"]["xla_threads"] for r in records[2]] == [1, 1, 1]
    assert [comparable(r) for r in records[1]] == [comparable(r) for r in records[2]]


@pytest.mark.parametrize("order, first", [("balanced", {4, 5}), ("cheapest", {0, 1})])
def test_the_order_decides_which_runs_the_workers_start_with(corpus_dir, tmp_path, order, first):
    """Six runs of rising cost (seed s trains (s + 1) x the tokens), two side by side: "balanced"
    starts with one of the two costliest, "cheapest" with one of the two cheapest (the two workers
    take the first two from one queue; either may note its start first)."""
    configs = [BASE.replace(seed=s, tokens=BASE.tokens * (s + 1)) for s in range(6)]
    run_sweep(configs, store=RunStore(tmp_path / "runs"), corpus=str(corpus_dir), train_fn=side_by_side_train,
              parallel=2, progress=False, order=order)
    started = [int(line) for line in (tmp_path / "runs" / "trained.log").read_text().split()]
    assert sorted(started) == list(range(6)) and started[0] in first


def test_an_unknown_order_is_refused_before_anything_trains(corpus, store):
    with pytest.raises(ConfigError, match="order='fastest': allowed balanced, cheapest"):
        run_sweep(CONFIGS, store=store, corpus=corpus, train_fn=fake_train, order="fastest", progress=False)
    assert not (Path(store.root) / "trained.log").exists()
