"""scripts/train_grids.py: a group whose sweep stops (a run another trainer holds) does not stop the
groups after it, and the exit status says one stopped."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from kit.engine import sweep

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "train_grids.py"


@pytest.fixture
def script(monkeypatch):
    spec = importlib.util.spec_from_file_location("train_grids", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "RunStore", _Store)  # no store on disk: every run is missing
    monkeypatch.setattr(module.data, "load_corpus", lambda name=None: SimpleNamespace(name="stub", fingerprint="f"))
    return module


class _Store:
    """A store that holds nothing."""

    root = Path(".")

    def has(self, id):
        return False

    def run_id(self, config, fingerprint):
        return f"{config}-{fingerprint}"

    def records(self):
        return []


@pytest.mark.parametrize("failing", [["held"], ["first", "held"], []])
def test_a_stopped_group_leaves_the_next_groups_to_train(script, monkeypatch, capsys, failing):
    swept = []

    def run_sweep(configs, **kwargs):
        swept.append(configs[0])
        if configs[0] in failing:
            raise sweep.SweepError(f"run {configs[0]} is being trained by another process")

    groups = {"first": lambda store, corpus: ["first"], "held": lambda store, corpus: ["held"],
              "last": lambda store, corpus: ["last"]}
    monkeypatch.setattr(script, "GROUPS", groups)
    monkeypatch.setattr(script.sweep, "run_sweep", run_sweep)
    monkeypatch.setattr(sys, "argv", ["train_grids.py", "first", "held", "last"])
    status = script.main()
    assert swept == ["first", "held", "last"]  # every group was swept, whichever stopped
    assert status == int(bool(failing))
    out = capsys.readouterr().out
    assert all(f"== {g}: stopped: run {g} is being trained" in out for g in failing)
    assert ("groups stopped by a failed run: " + ", ".join(failing) in out) == bool(failing)
