import json
import subprocess
import sys
from pathlib import Path

import pytest

from kit import cli, train
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
    assert out["status"] == "ok" and out["reason"] is None and out["d_model"] == 8 and out["nnz"] == 1536
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
    (["sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET, "widht=8"], "unknown field 'widht'; allowed: ['n_nonzero'"),
    (["sweep", "--grid", "sparsity=0,1", "--set", *TINY_SET], "sparsity=1.0: must be in [0, 1)"),
    (["sweep", "--grid", "tokens=2560,1e9", "--set", *TINY_SET_BUT_TOKENS],
     "1 of 2 configs cannot run on corpus 'shakespeare'; nothing was trained"),
])
def test_bad_values_exit_2_naming_the_field(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train, "make_step", no_training)
    assert cli.main(["--runs", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert records(tmp_path) == []


def test_sweep_trains_what_is_missing_and_ls_lists_it(tmp_path, capsys, monkeypatch):
    argv = ["--runs", str(tmp_path), "sweep", "--grid", "sparsity=0,0.5", "--set", *TINY_SET]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    stored = records(tmp_path)
    assert len(stored) == 2 and "sweep (0 of 2 stored)" in err
    frame = RunStore(tmp_path).frame()
    assert sorted(frame["sparsity"]) == [0.0, 0.5] and list(frame["status"]) == ["ok", "ok"]
    assert list(frame["d_model"]) == [8, 8] and sorted(frame["nnz"]) == [768, 1536]  # d_model 8 (the narrower of a tie) at S = 0.5
    assert all(id in out for id in frame["id"])

    monkeypatch.setattr(train, "make_step", no_training)  # a rerun trains nothing
    created = [p.stat().st_mtime_ns for p in stored]
    assert cli.main(argv) == 0
    assert "sweep (2 of 2 stored)" in capsys.readouterr().err
    assert [p.stat().st_mtime_ns for p in records(tmp_path)] == created

    assert cli.main(["--runs", str(tmp_path), "ls"]) == 0
    listing = capsys.readouterr().out
    assert all(id in listing for id in frame["id"]) and len(listing.strip().splitlines()) == 3  # header + 2 rows
