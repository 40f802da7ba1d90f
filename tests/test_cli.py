import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import numpy as np

from kit import cli
from kit.engine import data, model, resume, train
from kit.engine.config import RunConfig
from kit.engine.store import RunStore, run_id

from conftest import comparable

ROOT = Path(__file__).resolve().parents[1]

# A tiny config (d_model 8 dense, 12 at S = 0.5) of 20 steps: as `train` options, and as `sweep --set`
# assignments. Its N = 3,072 = 12 * 4 layers * 8^2 is a size the model family builds (kit.engine.memory.check_size).
TINY = {"n_nonzero": "3072", "width_multiple": "4", "seq_len": "16", "batch_size": "8", "tokens": "2560",
        "eval_tokens": "1024"}
TINY_ARGS = [part for field, value in TINY.items() for part in (f"--{field}", value)]
TINY_SET = [f"{field}={value}" for field, value in TINY.items()]
TINY_SET_BUT_TOKENS = [f"{field}={value}" for field, value in TINY.items() if field != "tokens"]


def records(root: Path) -> list[Path]:
    return sorted(root.glob("*.json"))


def no_training(*args, **kwargs):
    raise AssertionError("training started")


def test_parse_value():
    assert cli.parse_value("tokens", "1e6") == 1_000_000 and type(cli.parse_value("tokens", "1e6")) is int
    assert cli.parse_value("sparsity", "0.5") == 0.5
    assert cli.parse_value("nm", "2:4") == (2, 4)
    assert cli.parse_value("init_from", "none") is None
    assert cli.parse_value("save_checkpoint", "True") is True and cli.parse_value("save_checkpoint", "0") is False
    assert cli.parse_value("schedule", "geometric") == "geometric"


def test_python_m_kit_train(tmp_path):
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, "-m", "kit", "--runs", str(runs), "train", *TINY_ARGS],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "ok" and out["reason"] is None and out["d_model"] == 8 and out["nnz"] == 3072  # 12 * 4 layers * 8^2
    assert 0 < out["final_loss"] < 5.5  # below uniform guessing (log 256 = 5.55) after 20 steps
    assert [p.name for p in records(runs)] == [f"{out['id']}.json"]
    record = RunStore(runs).get(out["id"])
    assert RunConfig.from_dict(record["config"]) == RunConfig(n_nonzero=3072, width_multiple=4, seq_len=16,
                                                             batch_size=8, tokens=2560, eval_tokens=1024)
    assert record["metrics"]["final_loss"] == out["final_loss"]


@pytest.mark.parametrize("argv, message", [
    (["train", *TINY_ARGS, "--sparsity", "1.0"], r"sparsity=1.0: must be in [0, 1)"),
    (["train", *TINY_ARGS, "--sparsity", "0.5", "--nm", "3:4"],
     "nm=(3, 4) with sparsity=0.5: n:m pruning ends at sparsity 1 - n/m = 0.25"),
    (["train", *TINY_ARGS, "--nm", "3"], "nm='3': expected n:m ints such as 2:4"),
    (["train", *TINY_ARGS, "--lr", "fast"], "lr='fast': expected a number"),
    (["train", *TINY_ARGS, "--save_checkpoint", "maybe"], "save_checkpoint='maybe': allowed ['0', '1', 'false'"),
    (["train", *TINY_ARGS, "--tokens", "1e9"], "tokens=1000000000 exceeds the capacity of corpus 'shakespeare'"),
    (["train", *TINY_ARGS, "--tokens", "2600"], "tokens=2600: not a whole number of steps of batch_size*seq_len = "
                                                "8*16 = 128 tokens (2600 / 128 = 20.31); use 2560 or 2688"),
    (["train", *TINY_ARGS, "--grad_clip", "-1"], "grad_clip=-1.0: must be > 0"),
    (["train", *TINY_ARGS, "--grad_clip", "0"], "grad_clip=0.0: must be > 0"),
    (["train", *TINY_ARGS, "--weight_decay", "-5"], "weight_decay=-5.0: must be >= 0"),
    (["train", *TINY_ARGS, "--seed", "-1"], "seed=-1: must be an int in [0, 2**63)"),
    (["train", *TINY_ARGS, "--lr", "nan"], "lr=nan: must be a finite number"),
    (["sweep", "--grid", "seed=-1,0", "--set", *TINY_SET], "seed=-1: must be an int in [0, 2**63)"),
    (["sweep", "--grid", "sparsity=0", "--set", *TINY_SET, "--dask", "-1"],
     "--dask -1: the number of local Dask workers must be >= 1"),
    (["sweep", "--grid", "sparsity=0", "--set", *TINY_SET, "--dask", "0"],
     "--dask 0: the number of local Dask workers must be >= 1"),
    (["sweep", "--grid", "seed=0,1", "--set", *TINY_SET, "seed=2"], "'seed' is given in both --set and --grid"),
    (["sweep", "--grid", "seed=0,1", "seed=2", "--set", *TINY_SET], "'seed' is given twice"),
    (["sweep", "--set", *TINY_SET, "--dask-scheduler", "nowhere"],
     "--dask-scheduler nowhere: missing port number in address 'nowhere'"),
    (["sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET, "widht=8"], "unknown field 'widht'; allowed: ['n_nonzero'"),
    (["sweep", "--grid", "sparsity=0,1", "--set", *TINY_SET], "sparsity=1.0: must be in [0, 1)"),
    (["sweep", "--grid", "tokens=2560,1e9", "--set", *TINY_SET_BUT_TOKENS],
     "1 of 2 configs cannot run on corpus 'shakespeare'; nothing was trained"),
    (["sweep", "--set", *TINY_SET, "--dask-host", "0.0.0.0"], "--dask-host 0.0.0.0: applies only to a local cluster"),
    (["sweep", "--set", *TINY_SET, "--dask", "1", "--dask-host", ""], "--dask-host '': an empty address"),
    (["sweep", "--set", *TINY_SET, "--dask-timeout", "5"], "--dask-timeout 5: applies only to --dask-scheduler"),
    (["sweep", "--set", *TINY_SET, "--dask-scheduler", "tcp://127.0.0.1:1", "--dask-timeout", "0"],
     "--dask-timeout 0: expected a number of seconds > 0, such as 5"),
    (["sweep", "--set", *TINY_SET, "--dask-scheduler", "tcp://127.0.0.1:1", "--dask-timeout", "soon"],
     "--dask-timeout soon: expected a number of seconds > 0"),
    # the model family cannot build this N: the narrowest model (d_model 8, 4 layers) has 3,072
    (["train", "--n_nonzero", "1536", "--seq_len", "16", "--batch_size", "8", "--tokens", "2560", "--eval_tokens", "1024"],
     "n_nonzero=1536 at sparsity=0.0: the model built would have N = 3072 non-zero backbone weights (d_model 8, 4 "
     "layers), 2.00x more than asked (at most 1.5x allowed); the sizes built nearest are N = 3072 (d_model 8), and "
     "the smallest n_nonzero allowed at sparsity 0.0 is 2048"),
    (["sweep", "--grid", "n_nonzero=3072,6144", "--set", *[a for a in TINY_SET if not a.startswith(("n_nonzero", "width"))]],
     "config 1: n_nonzero=6144 at sparsity=0.0: the model built would have N = 3072"),
    (["--runs", "", "train", *TINY_ARGS], "--runs '': an empty folder name; give a folder, or leave --runs out"),
    (["--corpus", "", "train", *TINY_ARGS], "corpus source '' is empty"),  # refused by kit.engine.data, not read as None
])
def test_bad_values_exit_2_naming_the_field(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(model, "init_params", no_training)
    assert cli.main(["--runs", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert records(tmp_path) == []
    if argv[0] == "train" or "configs cannot run on corpus" not in err:  # a sweep lists every bad config
        assert len(err.strip().splitlines()) == 1


def test_sweep_trains_what_is_missing_and_ls_lists_it(tmp_path, capsys, monkeypatch):
    argv = ["--runs", str(tmp_path), "sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    stored = records(tmp_path)
    assert len(stored) == 2 and "sweep (0 of 2 stored)" in err
    frame = RunStore(tmp_path).frame()
    assert sorted(frame["sparsity"]) == [0.0, 0.5] and list(frame["status"]) == ["ok", "ok"]
    assert sorted(frame["d_model"]) == [8, 12] and sorted(frame["nnz"]) == [3072, 3456]  # 0.5 * 12 * 4 * 12^2
    assert all(id in out for id in frame["id"])

    monkeypatch.setattr(model, "init_params", no_training)  # a rerun trains nothing
    created = [p.stat().st_mtime_ns for p in stored]
    assert cli.main(argv) == 0
    assert "sweep (2 of 2 stored)" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in records(tmp_path)] == created

    assert cli.main(["--runs", str(tmp_path), "ls"]) == 0
    listing = capsys.readouterr().out
    assert all(id in listing for id in frame["id"]) and len(listing.strip().splitlines()) == 3  # header + 2 rows
    assert max(len(line) for line in listing.splitlines()) < 140  # the default columns fit a terminal

    sparse_id = frame.loc[frame["sparsity"] == 0.5, "id"].item()
    assert cli.main(["--runs", str(tmp_path), "ls", "--where", "sparsity > 0", "--columns", "id,nnz", "--csv"]) == 0
    assert capsys.readouterr().out.split() == ["id,nnz", f"{sparse_id},3456"]
    assert cli.main(["--runs", str(tmp_path), "ls", "--json", "--columns", "all"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["in_progress"] == [] and len(listed["runs"]) == 2 and len(listed["runs"][0]) == len(frame.columns)

    # a run in progress (a saved partial state) is listed with its step, and never as a run
    resume.save(resume.path(tmp_path, "0123456789abcdef"), {"w": np.zeros(2)}, 128, 512, {}, 3.0)
    assert cli.main(["--runs", str(tmp_path), "ls"]) == 0
    listing = capsys.readouterr().out
    assert "in progress" in listing and "0123456789abcdef  step 128 of 512" in listing
    assert len(RunStore(tmp_path).records()) == 2


@pytest.mark.parametrize("argv,message", [
    (["ls", "--where", "sparsity >"], "--where 'sparsity >': not a query"),
    (["ls", "--columns", "id,nope"], "--columns: unknown ['nope']"),
    (["sweep", "--grid", "seed=0,1", "--parallel", "0"], "--parallel 0: the number of runs side by side must be >= 1"),
    (["sweep", "--grid", "seed=0,1", "--parallel", "2", "--dask", "2"], "--parallel applies to training on this machine"),
])
def test_bad_ls_and_parallel_options_exit_2_in_one_line(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(model, "init_params", no_training)
    (tmp_path / "runs").mkdir()
    stored = sorted((ROOT / "runs").glob("*.json"))[0]  # any record of the repository's store
    (tmp_path / "runs" / stored.name).write_text(stored.read_text())
    assert cli.main(["--runs", str(tmp_path / "runs"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_sweep_parallel_trains_side_by_side_into_the_same_records(tmp_path, capsys):
    argv = ["sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET]
    assert cli.main(["--runs", str(tmp_path / "one"), *argv, "--parallel", "1"]) == 0
    assert cli.main(["--runs", str(tmp_path / "two"), *argv, "--parallel", "2"]) == 0
    one, two = (RunStore(tmp_path / name).records() for name in ("one", "two"))
    assert [r["engine"]["xla_threads"] for r in two] == [1, 1]
    assert [comparable(r) for r in one] == [comparable(r) for r in two]


def test_a_sweep_whose_run_raises_exits_1_records_nothing_and_a_rerun_trains_it(tmp_path, capsys, monkeypatch):
    def out_of_memory(config, *, corpus, store):
        raise MemoryError("out of memory")
    argv = ["--runs", str(tmp_path), "sweep", "--set", *TINY_SET]
    real_run = train.run
    monkeypatch.setattr(train, "run", out_of_memory)
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the progress bar
    assert err.startswith("error: run ") and "raised MemoryError: out of memory; nothing was recorded" in err
    assert records(tmp_path) == []
    monkeypatch.setattr(train, "run", real_run)
    assert cli.main(argv) == 0
    assert [RunStore(tmp_path).get(p.stem)["status"] for p in records(tmp_path)] == ["ok"]


def test_an_unwritable_store_exits_1_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "run", no_training)
    (tmp_path / "file").write_text("")
    runs = tmp_path / "file" / "runs"
    assert cli.main(["--runs", str(runs), "sweep", "--set", *TINY_SET]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: run store {runs} is not writable (") and len(err.strip().splitlines()) == 1


def test_ls_on_an_empty_store_and_on_a_broken_record(tmp_path, capsys):
    assert cli.main(["--runs", str(tmp_path / "none"), "ls"]) == 0
    assert capsys.readouterr().out == f"no runs in {tmp_path / 'none'}\n"
    (tmp_path / "0123456789abcdef.json").write_text('{"id": "0123456789abcdef", "status": "ok"}')
    assert cli.main(["--runs", str(tmp_path), "ls"]) == 1
    err = capsys.readouterr().err
    assert err == (f"error: run record {tmp_path / '0123456789abcdef.json'} lacks keys ['reason', 'config', "
                   f"'corpus', 'metrics'], unlike the records kit.engine.store.RunStore.put writes; fix or delete it "
                   f"(a deleted run is trained again by the next sweep)\n")


def test_an_unreachable_scheduler_exits_1_with_one_line_at_once(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(train, "run", no_training)
    port = free_port()  # nothing listens there
    code, took = main_within(["--runs", str(tmp_path), "sweep", "--set", *TINY_SET,
                              "--dask-scheduler", f"tcp://127.0.0.1:{port}"], 30)
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: --dask-scheduler tcp://127.0.0.1:{port}: cannot connect "
                                        f"(ConnectionRefusedError: ")
    assert err.strip().endswith("is `dask scheduler` running there and reachable from here?")
    assert len(err.strip().splitlines()) == 1 and took < 3  # refused at once, not after retries


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.2)


def start_dask(tmp_path, request, n_workers: int) -> tuple[str, list[subprocess.Popen]]:
    """A real `dask scheduler` and n_workers single-threaded `dask worker` processes on localhost,
    each in its own process group (so the nannies' worker processes go too), stopped at the end of
    the test; returns the scheduler address and the workers' processes."""
    dask_cli = Path(sys.executable).parent / "dask"
    scheduler_file = tmp_path / "scheduler.json"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs = []

    def start(name, *args):
        with open(logs / f"{name}.log", "w") as log:
            procs.append(subprocess.Popen([str(dask_cli), *args], stdout=log, stderr=subprocess.STDOUT,
                                          cwd=tmp_path, start_new_session=True))

    def stop():
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    request.addfinalizer(stop)

    start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(free_port()), "--no-dashboard",
          "--scheduler-file", str(scheduler_file))
    wait_for(lambda: scheduler_file.exists() and scheduler_file.stat().st_size > 0, "the scheduler file")
    address = json.loads(scheduler_file.read_text())["address"]
    for k in range(n_workers):
        start(f"worker{k}", "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
              "--name", f"worker{k}", "--memory-limit", "0")
    from dask.distributed import Client
    with Client(address) as client:
        client.wait_for_workers(n_workers, timeout=120)
    return address, procs[1:]


@pytest.fixture
def dask_cluster(tmp_path, request):
    """A running cluster of two workers on localhost; yields the scheduler address."""
    return start_dask(tmp_path, request, 2)[0]


def test_sweep_on_a_running_dask_cluster_equals_the_serial_sweep(tmp_path, dask_cluster, capsys):
    grid = ["--grid", "sparsity=0,0.5", "--set", *TINY_SET]
    assert cli.main(["--runs", str(tmp_path / "serial"), "sweep", *grid]) == 0
    assert cli.main(["--runs", str(tmp_path / "cluster"), "sweep", *grid, "--dask-scheduler", dask_cluster]) == 0
    capsys.readouterr()
    serial, cluster = RunStore(tmp_path / "serial").records(), RunStore(tmp_path / "cluster").records()
    assert len(serial) == 2 and [r["id"] for r in cluster] == [r["id"] for r in serial]
    assert all(r["status"] == "ok" for r in serial + cluster)
    for s, c in zip(serial, cluster):
        assert c["config"] == s["config"] and c["corpus"] == s["corpus"]
        assert c["metrics"]["final_loss"] == pytest.approx(s["metrics"]["final_loss"], rel=1e-5)
        assert c["metrics"]["nnz"] == s["metrics"]["nnz"]
    from dask.distributed import Client
    with Client(dask_cluster) as client:  # the workers trained them: they imported kit.engine.train
        assert any(client.run(lambda: "kit.engine.train" in sys.modules).values())
        worker = sorted(client.scheduler_info()["workers"])[0]
    # a worker's address is not a scheduler's
    assert cli.main(["--runs", str(tmp_path / "cluster"), "sweep", *grid, "--dask-scheduler", worker]) == 1
    assert capsys.readouterr().err == (f"error: --dask-scheduler {worker}: a Dask Worker answers there, not a "
                                       f"scheduler; give the scheduler's address (`dask scheduler` prints it)\n")


def test_the_empty_corpus_name_reaches_kit_data_as_given(tmp_path, monkeypatch):
    asked = []

    def load_corpus(source=None):
        asked.append(source)
        raise cli.ConfigError("stop here")
    monkeypatch.setattr(data, "load_corpus", load_corpus)
    for command in (["train", *TINY_ARGS], ["sweep", "--set", *TINY_SET]):
        assert cli.main(["--runs", str(tmp_path), "--corpus", "", *command]) == 2
    assert asked == ["", ""]


@pytest.mark.parametrize("n_nonzero", ["5e9", "1e12"])
def test_a_model_too_large_for_memory_is_refused_before_training(n_nonzero, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(model, "init_params", no_training)
    monkeypatch.setattr(model, "init_from_key", no_training)
    argv = ["--runs", str(tmp_path), "train", "--n_nonzero", n_nonzero]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert re.fullmatch(rf"error: n_nonzero={int(float(n_nonzero))} at sparsity=0.0 \(d_model \d+, 4 layers, batch_size "
                        r"32, seq_len 64\) needs about [\d.e+]+ GiB of memory to train \(an estimate: "
                        r"kit.engine.memory.bytes_needed\), and [\d.e+]+ GiB are available on this machine; use a smaller "
                        r"n_nonzero, batch_size or seq_len\n", err), err
    assert records(tmp_path) == []
    assert cli.main(["--runs", str(tmp_path), "sweep", "--grid", f"n_nonzero=13824,{n_nonzero}"]) == 2
    assert "1 of 2 configs cannot run" in capsys.readouterr().err and records(tmp_path) == []


def test_a_copied_or_renamed_record_stops_the_sweep_that_would_serve_it(tmp_path, capsys, monkeypatch):
    """seed 7's record under seed 0's id is not seed 0's run: the sweep asking for seed 0 names the file."""
    monkeypatch.setattr(train, "run", no_training)
    fingerprint = data.load_corpus().fingerprint
    seed0, seed7 = (RunConfig(**{k: cli.parse_value(k, v) for k, v in TINY.items()}, seed=s) for s in (0, 7))
    id0, id7 = run_id(seed0, fingerprint), run_id(seed7, fingerprint)
    store = RunStore(tmp_path)
    store.put({"id": id7, "status": "ok", "reason": None, "config": seed7.to_dict(),
               "corpus": {"name": "shakespeare", "fingerprint": fingerprint}, "metrics": {"final_loss": 2.0}})
    argv = ["--runs", str(tmp_path), "sweep", "--grid", "seed=0", "--set", *TINY_SET]
    copied = json.loads(store.path(id7).read_text()) | {"id": id0}
    store.path(id0).write_text(json.dumps(copied))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: run record {store.path(id0)} id='{id0}' does not match its config and corpus "
                          f"fingerprint, which give '{id7}'")
    store.path(id0).unlink()
    store.path(id7).rename(store.path(id0))  # renamed: the file's name is seed 0's id, the record seed 7's
    assert cli.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: run record {store.path(id0)} holds id='{id7}', not the id in its file name")
    assert cli.main(["--runs", str(tmp_path), "ls"]) == 1


def test_ctrl_c_during_train_says_what_is_stored_in_one_line_and_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(config, *, corpus, store):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "run", interrupted)
    assert cli.main(["--runs", str(tmp_path), "train", *TINY_ARGS]) == 130
    assert capsys.readouterr().err == (f"interrupted: 0 of the 1 runs asked for are finished and stored in {tmp_path}; "
                                       f"rerun the same command to train the rest\n")


def test_ctrl_c_during_a_sweep_counts_its_finished_runs(tmp_path, capsys, monkeypatch):
    real_run = train.run

    def second_interrupted(config, *, corpus, store):
        if records(tmp_path):
            raise KeyboardInterrupt
        return real_run(config, corpus=corpus, store=store)
    monkeypatch.setattr(train, "run", second_interrupted)
    assert cli.main(["--runs", str(tmp_path), "sweep", "--grid", "seed=0,1,2", "--set", *TINY_SET]) == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (f"interrupted: 1 of the 3 runs asked for are finished and stored in {tmp_path}; rerun the same "
                   f"command to train the rest")
    assert len(records(tmp_path)) == 1


def default_sigint():
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_sigint_to_python_m_kit_sweep_prints_one_line_not_a_traceback(tmp_path):
    runs = tmp_path / "runs"
    seeds = ",".join(str(s) for s in range(20))
    # two runs side by side (the pool, whose queued runs Ctrl-C must cancel), in a process that starts
    # with SIGINT's default handling and unblocked, as from a shell, whatever this test process has set
    proc = subprocess.Popen([sys.executable, "-m", "kit", "--runs", str(runs), "sweep", "--parallel", "2", "--grid",
                             f"seed={seeds}", "--set", *TINY_SET_BUT_TOKENS, "tokens=204800"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        wait_for(lambda: runs.is_dir() and records(runs) or proc.poll() is not None, "the first record", timeout=240)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    last = err.strip().splitlines()[-1]
    stored = len(records(runs))
    assert last == (f"interrupted: {stored} of the 20 runs asked for are finished and stored in {runs}; rerun the "
                    f"same command to train the rest") and 1 <= stored < 20


@contextlib.contextmanager
def socket_server(kind: str):
    """A server on 127.0.0.1 that accepts connections and then says nothing ('silent') or answers
    what it is sent as an HTTP server does (like Dask's dashboard port); yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop, accepted = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn)
            if kind == "http":
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        server.close()


def main_within(argv: list[str], seconds: float) -> tuple[int, float]:
    """cli.main(argv) in a thread, failing the test if it has not returned within `seconds`;
    (exit status, seconds taken)."""
    result = []
    start = time.monotonic()
    thread = threading.Thread(target=lambda: result.append(cli.main(argv)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"cli.main {argv} still running after {seconds} s"
    return result[0], time.monotonic() - start


@pytest.mark.parametrize("kind, timeout, message", [
    ("silent", None, "something answers there but not Dask's handshake within 5 s (--dask-timeout); is it a Dask "
                     "scheduler? (the dashboard listens on 8787, the scheduler on 8786 by default)"),
    ("http", "1", "something answers there but does not speak Dask's protocol"),
])
def test_a_port_that_answers_but_is_no_scheduler_is_refused_within_the_timeout(kind, timeout, message, tmp_path,
                                                                              capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(train, "run", no_training)
    with socket_server(kind) as port:
        argv = ["--runs", str(tmp_path), "sweep", "--set", *TINY_SET, "--dask-scheduler", f"tcp://127.0.0.1:{port}",
                *(["--dask-timeout", timeout] if timeout else [])]
        code, took = main_within(argv, 30)
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: --dask-scheduler tcp://127.0.0.1:{port}: {message}")
    assert len(err.strip().splitlines()) == 1
    assert took < float(timeout or cli.DASK_TIMEOUT) + 5


def listening(pids) -> set[tuple[str, int]]:
    """(ip, port) of every TCP socket the processes `pids` listen on."""
    psutil = pytest.importorskip("psutil")
    out = set()
    for pid in pids:
        process = psutil.Process(pid)
        connections = getattr(process, "net_connections", process.connections)("tcp")
        out |= {(c.laddr.ip, c.laddr.port) for c in connections if c.status == psutil.CONN_LISTEN}
    return out


def test_a_local_cluster_listens_on_127_0_0_1_only():
    """--dask N: scheduler, dashboard and workers are not reachable from other machines."""
    pytest.importorskip("distributed")
    with cli.dask_client(1, None) as client:
        workers = client.run(os.getpid)
        dashboard = int(client.dashboard_link.split(":")[2].split("/")[0])
        sockets = listening([os.getpid(), *workers.values()])
        assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    assert ("127.0.0.1", dashboard) in sockets and len(sockets) >= 4  # scheduler, dashboard, worker, nanny
    assert {ip for ip, _ in sockets} == {"127.0.0.1"}, sockets


def test_a_sweep_whose_cluster_loses_every_worker_stops_in_one_line(tmp_path, request, capsys, monkeypatch):
    """The only worker dies while it trains: the sweep stops within NO_WORKER_WAIT seconds, saying
    so and what is stored, instead of waiting for a worker forever."""
    pytest.importorskip("distributed")
    address, (worker,) = start_dask(tmp_path, request, 1)
    monkeypatch.setattr(cli, "NO_WORKER_WAIT", 2.0)
    monkeypatch.setattr(cli, "POLL_S", 0.2)
    runs = tmp_path / "runs"
    set_ = ["--set", *TINY_SET_BUT_TOKENS, "tokens=256000"]  # 2,000 steps: the worker is killed mid-run
    assert cli.main(["--runs", str(runs), "sweep", "--grid", "seed=0", *set_, "--dask-scheduler", address]) == 0
    stored = records(runs)
    from dask.distributed import Client

    def kill_when_training():
        with Client(address) as client:
            wait_for(lambda: any(client.processing().values()), "a run on the worker", timeout=60)
        os.killpg(worker.pid, signal.SIGKILL)
    killer = threading.Thread(target=kill_when_training, daemon=True)
    killer.start()
    code, took = main_within(["--runs", str(runs), "sweep", "--grid", "seed=0,1,2", *set_, "--dask-scheduler", address], 180)
    killer.join(5)
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and err.startswith(f"error: no Dask worker is left on the cluster at {address} (for 2 s, with 2 "
                                        f"run(s) waiting); 1 of the 3 runs asked for are finished and stored in {runs}; "
                                        f"start workers and rerun the same command to train the rest"), err
    assert records(runs) == stored  # the finished run is kept, nothing else was written
