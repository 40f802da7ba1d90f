"""kit.engine.resume: a run killed with SIGKILL mid-way and rerun ends in the record of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kit.engine import data, resume, train
from kit.engine.config import RunConfig
from kit.engine.store import RunStore

from conftest import comparable

ROOT = Path(__file__).resolve().parents[1]
# 8 chunks of 64 steps of a tiny sparse run (pruning from step 128 to 384, so the kill falls
# while masks change); d_model 16.
CONFIG = RunConfig(n_nonzero=1536, sparsity=0.75, n_layers=2, seq_len=16, batch_size=8, tokens=512 * 8 * 16,
                   eval_tokens=1024, lr=1e-2)
def train_in_subprocess(store: Path, env: dict) -> subprocess.Popen:
    code = ("import sys; from kit.engine import train; from kit.engine.config import RunConfig; from kit.engine.store import RunStore;"
            f"train.run(RunConfig.from_dict({CONFIG.to_dict()!r}), store=RunStore(sys.argv[1]))")
    return subprocess.Popen([sys.executable, "-c", code, str(store)], cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("whole"))
    return train.run(CONFIG, store=store)


def test_a_run_killed_mid_way_resumes_to_the_uninterrupted_record(uninterrupted, tmp_path, monkeypatch):
    steps = CONFIG.steps
    process = train_in_subprocess(tmp_path, {"KIT_SAVE_EVERY_S": "0"})
    deadline, seen = time.time() + 120, []
    try:
        while time.time() < deadline and process.poll() is None:
            seen = resume.in_progress(tmp_path)
            if seen and seen[0]["step"] >= steps // 2:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert seen and steps // 2 <= seen[0]["step"] < steps, f"no saved state between half way and the end: {seen}"
    store = RunStore(tmp_path)
    assert not store.records(), "a killed run left a record"
    run_id = uninterrupted["id"]
    assert seen[0]["id"] == run_id and seen[0]["steps"] == steps

    monkeypatch.setenv("KIT_SAVE_EVERY_S", "0")
    resumed = train.run(CONFIG, store=store)
    assert resumed["engine"]["resumed_at_step"] == seen[0]["step"]
    assert uninterrupted["engine"]["resumed_at_step"] == 0
    assert comparable(resumed) == comparable(uninterrupted)  # bit for bit: losses, masks, non-zeros, curve
    assert resumed["metrics"]["wall_s"] > 0
    assert resume.in_progress(tmp_path) == [] and not resume.path(tmp_path, run_id).exists()
    assert json.loads(store.path(run_id).read_text())["engine"]["resumed_at_step"] == seen[0]["step"]


def test_no_state_is_saved_when_the_interval_is_not_reached(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_SAVE_EVERY_S", "3600")
    saves = []
    monkeypatch.setattr(resume, "save", lambda *args, **kwargs: saves.append(args))
    record = train.run(CONFIG.replace(seed=1), store=RunStore(tmp_path))
    assert record["status"] == "ok" and saves == []


def test_a_saved_state_that_does_not_fit_the_run_is_refused(tmp_path):
    file = resume.path(tmp_path, "0" * 16)
    resume.save(file, {"w": np.zeros(3, np.float32)}, 64, 128, {"loss": np.zeros(64, np.float32)}, 1.0)
    with pytest.raises(ValueError, match="does not fit"):
        resume.load(file, {"w": np.zeros(4, np.float32)})
    state, step, history, wall = resume.load(file, {"w": np.ones(3, np.float32)})
    assert step == 64 and wall == 1.0 and history["loss"].shape == (64,) and np.all(np.asarray(state["w"]) == 0)


@pytest.mark.parametrize("text", ["-1", "soon"])
def test_a_bad_save_interval_is_refused(text, monkeypatch):
    monkeypatch.setenv("KIT_SAVE_EVERY_S", text)
    with pytest.raises(ValueError, match="KIT_SAVE_EVERY_S"):
        resume.save_every_s()


def test_an_unreadable_saved_state_is_listed_as_such(tmp_path):
    file = resume.path(tmp_path, "f" * 16)
    file.parent.mkdir(parents=True)
    file.write_bytes(b"not an npz")
    resume.save(resume.path(tmp_path, "e" * 16), {"w": np.zeros(2, np.float32)}, 64, 128, {}, 1.0)
    assert [(r["id"][0], r["step"], r["saved"] == "unreadable") for r in resume.in_progress(tmp_path)] == [
        ("e", 64, False), ("f", None, True)]


def test_a_run_another_process_is_training_is_refused_and_freed_when_that_process_dies(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.run_id(CONFIG, data.load_corpus(None).fingerprint)
    code = ("import sys, time; from kit.engine import resume\n"
            "with resume.claim(sys.argv[1], sys.argv[2]):\n    print('held', flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), run_id], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(resume.RunInProgress, match=rf"run {run_id} is being trained by another process \(pid {holder.pid} "):
            train.run(CONFIG, store=store)
        assert not store.records() and resume.in_progress(tmp_path) == []  # the refused run trained nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with resume.claim(tmp_path, run_id):  # SIGKILL released the lock
        assert (tmp_path / resume.FOLDER / f"{run_id}.lock").read_text().startswith(f"pid {os.getpid()} ")
    assert not (tmp_path / resume.FOLDER / f"{run_id}.lock").exists()
