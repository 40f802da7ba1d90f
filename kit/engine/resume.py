"""Runs that survive being stopped: a run in flight saves its loop state, and a rerun resumes it.

`kit.engine.train.run` saves, every SAVE_EVERY_S seconds of wall time (at the end of a chunk of steps),
everything the rest of the run depends on to <store>/.partial/<run id>.npz: the parameters, the
optimizer state (AdamW's moments and step count, the pruner's masks and counts), the next step
(the data position: a run's batches are a fixed function of its seed and step, kit.engine.data), the
per-step losses and non-zeros so far and the wall time spent. There is no other randomness.
Rerunning the same config (same run id) restores that state and continues from the saved step, so
the finished record equals an uninterrupted run's (its timings aside); a stop loses at most
SAVE_EVERY_S of work. Saves are atomic (a temporary file, then os.replace): a process killed while
saving leaves the previous state.

Partial states are never results: they live in a folder the store does not read as records,
`kit ls` lists them as runs in progress, and the file is deleted when the run's record is written.
KIT_SAVE_EVERY_S overrides the interval (0: after every chunk, as the tests do).

One process at a time trains a run: `claim` holds an exclusive lock on <store>/.partial/<run id>.lock
while it trains (the kernel drops it when the process dies, even by SIGKILL), and a second process
asking for the same run gets RunInProgress at once instead of racing the first on its saved state.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import time
from pathlib import Path

import jax
import numpy as np

SAVE_EVERY_S = 180.0
FOLDER = ".partial"  # under the store's root; the store reads only <root>/*.json as records


def save_every_s() -> float:
    """Seconds between saves: KIT_SAVE_EVERY_S if set, else SAVE_EVERY_S.

        >>> save_every_s() == float(os.environ.get("KIT_SAVE_EVERY_S") or SAVE_EVERY_S)
        True
    """
    text = os.environ.get("KIT_SAVE_EVERY_S", "")
    try:
        value = float(text) if text else SAVE_EVERY_S
    except ValueError:
        raise ValueError(f"KIT_SAVE_EVERY_S={text!r}: must be a number of seconds >= 0") from None
    if not value >= 0:
        raise ValueError(f"KIT_SAVE_EVERY_S={text!r}: must be a number of seconds >= 0")
    return value


def path(root: Path, run_id: str) -> Path:
    """Where the run `run_id` of the store at `root` keeps its saved state.

        >>> path("runs", "0123456789abcdef")
        PosixPath('runs/.partial/0123456789abcdef.npz')
    """
    return Path(root) / FOLDER / f"{run_id}.npz"


def save(file: Path, state, step: int, steps: int, history: dict, wall_s: float) -> None:
    """Write the loop state after `step` of `steps` steps, with the per-step `history` arrays
    and the wall seconds spent so far, atomically to `file`.

        >>> import tempfile
        >>> file = path(tempfile.mkdtemp(), "0123456789abcdef")
        >>> save(file, {"w": np.ones(3)}, step=64, steps=512, history={"loss": np.zeros(64)}, wall_s=12.5)
        >>> with np.load(file) as f:
        ...     sorted(f.files)
        ['history_loss', 'leaf_0', 'meta']
    """
    leaves = jax.device_get(jax.tree.leaves(state))
    meta = {"step": int(step), "steps": int(steps), "wall_s": float(wall_s), "saved": time.time(),
            "n_leaves": len(leaves)}
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(f".{file.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp.npz")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                     **{f"leaf_{i}": leaf for i, leaf in enumerate(leaves)},
                     **{f"history_{k}": v for k, v in history.items()})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load(file: Path, like):
    """(state, step, history, wall_s) saved in `file`, the state restored into the structure of
    `like` (a freshly initialised state of the same run); None if there is no saved state.
    Raises ValueError if the file does not fit `like` (delete it to start the run over).

        >>> import tempfile
        >>> file = path(tempfile.mkdtemp(), "0123456789abcdef")
        >>> save(file, {"w": np.ones(3)}, step=64, steps=512, history={"loss": np.zeros(64)}, wall_s=12.5)
        >>> state, step, history, wall_s = load(file, like={"w": np.zeros(3)})
        >>> state["w"].tolist(), step, history["loss"].shape, wall_s
        ([1.0, 1.0, 1.0], 64, (64,), 12.5)
    """
    if not file.is_file():
        return None
    with np.load(file) as f:
        meta = json.loads(f["meta"].tobytes())
        leaves = [f[f"leaf_{i}"] for i in range(meta["n_leaves"])]
        history = {k.removeprefix("history_"): f[k] for k in f.files if k.startswith("history_")}
    expected, treedef = jax.tree.flatten(like)
    if len(leaves) != len(expected) or any(a.shape != np.shape(b) or a.dtype != b.dtype
                                           for a, b in zip(leaves, expected)):
        raise ValueError(f"saved run state {file} does not fit this run's model and optimizer "
                         f"(saved by another version of kit?); delete it to train the run from step 0")
    return jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in leaves]), meta["step"], history, meta["wall_s"]


def clear(root: Path, run_id: str) -> None:
    """Delete the saved state of run `run_id` of the store at `root`, if there is one.

        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> save(path(root, "0123456789abcdef"), {"w": np.ones(3)}, step=64, steps=512, history={}, wall_s=12.5)
        >>> clear(root, "0123456789abcdef"); path(root, "0123456789abcdef").exists()
        False
    """
    path(root, run_id).unlink(missing_ok=True)


def in_progress(root: Path) -> list[dict]:
    """The runs with a saved state under `root`: id, step reached, steps in all, when saved (UTC
    ISO time), ordered by id; a file that cannot be read as a saved state is listed with step
    and steps None and saved 'unreadable' (a rerun of its run refuses it, kit.engine.resume.load).

        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> save(path(root, "0123456789abcdef"), {"w": np.ones(3)}, step=64, steps=512, history={}, wall_s=12.5)
        >>> in_progress(root)
        [{'id': '0123456789abcdef', 'step': 64, 'steps': 512, 'saved': '...'}]
    """
    rows = []
    for file in sorted((Path(root) / FOLDER).glob("*.npz")):
        if file.name.startswith("."):
            continue  # a save in progress (the temporary file of `save`)
        try:
            with np.load(file) as f:
                meta = json.loads(f["meta"].tobytes())
            rows.append({"id": file.stem, "step": meta["step"], "steps": meta["steps"],
                         "saved": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(meta["saved"]))})
        except (OSError, ValueError, KeyError):
            rows.append({"id": file.stem, "step": None, "steps": None, "saved": "unreadable"})
    return rows


class RunInProgress(RuntimeError):
    """Another process holds the run's lock (kit.engine.resume.claim): it is training that run now.

        >>> isinstance(RunInProgress("run 0123456789abcdef is being trained by another process"), RuntimeError)
        True
    """


@contextlib.contextmanager
def claim(root: Path, run_id: str):
    """Hold the lock of run `run_id` of the store at `root` for the block; raise RunInProgress,
    naming the holder, if another process holds it. The lock file is removed on leaving.

        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> with claim(root, "0123456789abcdef"):
        ...     with claim(root, "0123456789abcdef"):  # a second holder, as another process would be
        ...         pass
        Traceback (most recent call last):
        kit.engine.resume.RunInProgress: run 0123456789abcdef is being trained by another process (pid ...); ...
    """
    file = Path(root) / FOLDER / f"{run_id}.lock"
    file.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = open(file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise RunInProgress(f"run {run_id} is being trained by another process ({holder}); wait for it "
                                f"to finish or stop it, then rerun (its lock: {file})") from None
        try:  # the file may have been removed by its last holder after we opened it: lock the one on disk
            same = os.fstat(handle.fileno()).st_ino == os.stat(file).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()
    try:
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        yield
    finally:
        file.unlink(missing_ok=True)  # while still holding the lock, so no one locks a file about to go
        handle.close()
