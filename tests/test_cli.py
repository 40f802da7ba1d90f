import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit import cli, model, train
from kit.config import RunConfig
from kit.store import RunStore

# A tiny config (d_model 8) of 20 steps: as `train` options, and as `sweep --set` assignments.
TINY = {"n_nonzero": "1536", "seq_len": "16", "batch_size": "8", "tokens": "2560", "eval_tokens": "1024"}
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
    assert RunConfig.from_dict(record["config"]) == RunConfig(n_nonzero=1536, seq_len=16, batch_size=8,
                                                             tokens=2560, eval_tokens=1024)
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
])
def test_bad_values_exit_2_naming_the_field(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(model, "init_params", no_training)
    assert cli.main(["--runs", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert records(tmp_path) == []
    if argv[0] == "train" or "1 of 2 configs" not in message:
        assert len(err.strip().splitlines()) == 1


def test_sweep_trains_what_is_missing_and_ls_lists_it(tmp_path, capsys, monkeypatch):
    argv = ["--runs", str(tmp_path), "sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    stored = records(tmp_path)
    assert len(stored) == 2 and "sweep (0 of 2 stored)" in err
    frame = RunStore(tmp_path).frame()
    assert sorted(frame["sparsity"]) == [0.0, 0.5] and list(frame["status"]) == ["ok", "ok"]
    assert list(frame["d_model"]) == [8, 8] and sorted(frame["nnz"]) == [1536, 3072]  # d_model 8 at S = 0.5 too
    assert all(id in out for id in frame["id"])

    monkeypatch.setattr(model, "init_params", no_training)  # a rerun trains nothing
    created = [p.stat().st_mtime_ns for p in stored]
    assert cli.main(argv) == 0
    assert "sweep (2 of 2 stored)" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in records(tmp_path)] == created

    assert cli.main(["--runs", str(tmp_path), "ls"]) == 0
    listing = capsys.readouterr().out
    assert all(id in listing for id in frame["id"]) and len(listing.strip().splitlines()) == 3  # header + 2 rows


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
                   f"'corpus', 'metrics'], unlike the records kit.store.RunStore.put writes; fix or delete it "
                   f"(a deleted run is trained again by the next sweep)\n")


def test_an_unreachable_scheduler_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    import dask
    monkeypatch.setattr(train, "run", no_training)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = cli.main(["--runs", str(tmp_path), "sweep", "--set", *TINY_SET,
                         "--dask-scheduler", f"tcp://127.0.0.1:{free_port()}"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: --dask-scheduler tcp://127.0.0.1:") and "cannot connect" in err
    assert len(err.strip().splitlines()) == 1


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


@pytest.fixture
def dask_cluster(tmp_path, request):
    """A real `dask scheduler` and two single-threaded `dask worker` processes on localhost, each in
    its own process group (so the nannies' worker processes go too); yields the scheduler address."""
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
    for k in range(2):
        start(f"worker{k}", "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
              "--name", f"worker{k}", "--memory-limit", "0")
    from dask.distributed import Client
    with Client(address) as client:
        client.wait_for_workers(2, timeout=120)
    return address


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
    with Client(dask_cluster) as client:  # the workers trained them: they imported kit.train
        assert any(client.run(lambda: "kit.train" in sys.modules).values())
