"""Content-addressed run store: one JSON record per run, named by what determines the run.

A run's id is the first 16 hex digits of sha256(config.canonical_json() + corpus fingerprint), so
the same config on the same corpus always maps to the same record and a sweep can skip it.
Records live at <root>/<id>.json (default root: <repo>/runs); saved parameters at
<root>/ckpt/<id>.npz. Writes are atomic (temporary file in the same folder, fsync, os.replace), so
a killed process leaves either the whole record or none; temporary files (.<id>.*.tmp) are never
read as records. Records are created like any file (mode 0666 minus the umask: 0644 under the usual
umask 022), so the other users of a shared store can read them.

Record layout, as kit.engine.train.run writes it:
  {"id", "status": "ok" | "failed", "reason": str | None, "config": RunConfig.to_dict(),
   "corpus": {"name", "fingerprint", "train_tokens", "val_tokens"}, "metrics": {name: scalar},
   "curve": {"step": [...], "train_loss": [...], ...}, "versions": {...},
   "checkpoint": str | None, "created": ISO time}
JSON has no NaN or infinity: non-finite numbers are stored as null.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import secrets
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.engine.config import RunConfig

STATUSES = ("ok", "failed")
RECORD_KEYS = ("id", "status", "reason", "config", "corpus", "metrics")  # what every reader relies on
DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "runs"
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))
# Frame columns besides the config fields; metric names may not take any of these.
RESERVED = ("id", "status", "reason", "corpus", "corpus_fingerprint", "created") + CONFIG_FIELDS


class StoreError(RuntimeError):
    """A run store that cannot be written, or a record file in it that cannot be read.

        >>> isinstance(StoreError("run store /shared/runs is not writable"), RuntimeError)
        True
    """


def run_id(config: RunConfig, corpus_fingerprint: str) -> str:
    """16 hex digits naming the run of `config` on the corpus with this fingerprint.

        >>> run_id(RunConfig(), "0123abcd")
        '351716f5b4a6bf8c'
    """
    return hashlib.sha256((config.canonical_json() + "\n" + corpus_fingerprint).encode()).hexdigest()[:16]


class RunStore:
    """The run records in the folder `root` (default: the repository's runs/), one JSON file per run,
    read and written by run id (see the module docstring).

        >>> store = RunStore("runs")  # the repository's store, only read here
        >>> store
        RunStore('.../runs')
        >>> record = store.records(status="ok")[0]
        >>> store.has(record["id"]), store.get(record["id"]) == record, store.has("0123456789abcdef")
        (True, True, False)
    """
    run_id = staticmethod(run_id)

    def __init__(self, root: str | Path | None = None):
        if isinstance(root, str) and not root.strip():  # Path("") would be the working directory
            raise ValueError(f"run store root {root!r} is empty: give a folder, or None for the repository's "
                             f"runs/ ({DEFAULT_ROOT})")
        # absolute, so a store sent to other processes (or cluster workers) names the same folder
        self.root = Path(root).absolute() if root is not None else DEFAULT_ROOT

    def __repr__(self):
        return f"RunStore({str(self.root)!r})"

    def path(self, id: str) -> Path:
        return self.root / f"{id}.json"

    def checkpoint_path(self, id: str) -> Path:
        """Where the run's parameters are saved (the ckpt folder is created)."""
        folder = self.root / "ckpt"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{id}.npz"

    def check_writable(self) -> None:
        """Raise StoreError unless records can be written here (the folder is created if needed):
        call it before training, so a result is never computed only to be lost."""
        probe = self.root / f".probe.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_text("probe")
            probe.unlink()
        except OSError as e:
            raise StoreError(f"run store {self.root} is not writable ({type(e).__name__}: {e.strerror or e}); "
                             f"give a folder you can write to with --runs / RunStore(root)") from None

    def has(self, id: str) -> bool:
        return self.path(id).is_file()

    def get(self, id: str) -> dict:
        if not self.has(id):
            raise KeyError(f"no run {id!r} in {self.root}")
        return _read(self.path(id))

    def put(self, record: dict) -> None:
        """Write `record` atomically, replacing any record with the same id."""
        check_record(record)
        text = json.dumps(_jsonable(record), indent=1, allow_nan=False)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{record['id']}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            with open(tmp, "x") as f:  # a new file, mode 0666 minus the umask
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(record["id"]))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def records(self, status: str | None = None) -> list[dict]:
        """All records, ordered by id; only those with this status if given."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status={status!r}: allowed {STATUSES} or None")
        records = [_read(p) for p in sorted(self.root.glob("*.json"))]
        return [r for r in records if status is None or r["status"] == status]

    def frame(self) -> pd.DataFrame:
        """One row per run, failed runs included (see `to_frame`)."""
        return to_frame(self.records())

    def ok_frame(self) -> pd.DataFrame:
        """The frame without failed runs, warning how many were dropped and why."""
        return drop_failed(self.frame())


TIMINGS = ("wall_s", "compile_s", "eval_s")  # metrics that differ between two trainings of one run


def comparable(record: dict) -> dict:
    """A run record without what may differ between two trainings of one run: its timings, its
    creation time, the package versions and how it was trained (engine: backend, threads, the step
    it resumed from). Two trainings of one config on one corpus give equal comparable records
    (tests/test_sweep.py, tests/test_resume.py).

        >>> record = RunStore("runs").records(status="ok")[0]
        >>> "wall_s" in record["metrics"], "wall_s" in comparable(record)["metrics"], "created" in comparable(record)
        (True, False, False)
    """
    out = {k: v for k, v in record.items() if k not in ("created", "engine", "versions")}
    out["metrics"] = {k: v for k, v in record["metrics"].items() if k not in TIMINGS}
    return out


def check_record(record: dict) -> None:
    """Raise ValueError unless `record` has a valid status, config and corpus, and an id that
    matches them, and no metric named like a frame column.

        >>> record = RunStore("runs").records(status="ok")[0]
        >>> check_record(record)  # a valid record: nothing happens
        >>> check_record({**record, "id": "0123456789abcdef"})
        Traceback (most recent call last):
        ...
        ValueError: run record id='0123456789abcdef' does not match its config and corpus fingerprint,
        which give '...' (kit.engine.store.run_id): an edited or copied record
    """
    problem = layout_problem(record) or id_problem(record)
    if problem:
        raise ValueError(f"run record {problem}")
    clashes = sorted(set(record["metrics"]) & set(RESERVED))
    if clashes:
        raise ValueError(f"run record metrics {clashes} clash with frame columns; rename them")


def id_problem(record: dict) -> str | None:
    """What is wrong with the id of `record` (a phrase), or None: its config must be a valid
    RunConfig, and the config and corpus fingerprint must give its id (kit.engine.store.run_id). Needs a
    record without layout_problem.

        >>> record = RunStore("runs").records(status="ok")[0]
        >>> id_problem(record) is None, id_problem({**record, "config": {**record["config"], "seed": 1}})
        (True, "id=... does not match its config and corpus fingerprint, which give ...")
    """
    try:
        expected = run_id(RunConfig.from_dict(record["config"]), record["corpus"]["fingerprint"])
    except (ValueError, TypeError) as e:  # ConfigError, or a value of the wrong kind
        return f"has a config that is not a valid RunConfig ({' '.join(str(e).split())})"
    if record["id"] != expected:
        return (f"id={record['id']!r} does not match its config and corpus fingerprint, which give "
                f"{expected!r} (kit.engine.store.run_id): an edited or copied record")
    return None


def layout_problem(record) -> str | None:
    """What is wrong with the layout of `record` (a phrase), or None: the keys every reader relies
    on, a known status, a corpus fingerprint.

        >>> layout_problem([]), layout_problem({"id": "0123456789abcdef", "status": "ok"})
        ('is a JSON list, not an object', "lacks keys ['reason', 'config', 'corpus', 'metrics']")
    """
    if not isinstance(record, dict):
        return f"is a JSON {type(record).__name__}, not an object"
    missing = [k for k in RECORD_KEYS if k not in record]
    if missing:
        return f"lacks keys {missing}"
    if record["status"] not in STATUSES:
        return f"has status={record['status']!r}; allowed {STATUSES}"
    if not isinstance(record["config"], dict) or not isinstance(record["metrics"], dict):
        return "has a config or metrics that is not a JSON object"
    if not isinstance(record["corpus"], dict) or "fingerprint" not in record["corpus"]:
        return "lacks the key corpus.fingerprint"
    return None


def to_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: id, status, reason, corpus, corpus_fingerprint, created, every config
    field (nm as a tuple) and every metric.

        >>> frame = to_frame(RunStore("runs").records(status="ok")[:3])
        >>> len(frame), frame.loc[0, "status"], {"n_nonzero", "final_loss"} <= set(frame.columns)
        (3, 'ok', True)
    """
    rows = [{"id": r["id"], "status": r["status"], "reason": r["reason"],
             "corpus": r["corpus"].get("name"), "corpus_fingerprint": r["corpus"]["fingerprint"],
             "created": r.get("created"),
             **{k: tuple(v) if k == "nm" and v is not None else v for k, v in r["config"].items()},
             **r["metrics"]} for r in records]
    return pd.DataFrame(rows, columns=None if rows else list(RESERVED))


def drop_failed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with status 'ok', warning how many failed rows were dropped and their reasons.

        >>> frame = pd.DataFrame({"status": ["ok", "failed", "ok"], "reason": [None, "train loss nan", None]})
        >>> with warnings.catch_warnings(record=True, action="always") as caught:
        ...     ok = drop_failed(frame)
        >>> len(ok), str(caught[0].message)
        (2, 'dropped 1 failed run(s) of 3: 1 x train loss nan')
    """
    failed = frame[frame["status"] != "ok"]
    if len(failed):
        reasons = "; ".join(f"{n} x {reason}" for reason, n in failed["reason"].value_counts(dropna=False).items())
        warnings.warn(f"dropped {len(failed)} failed run(s) of {len(frame)}: {reasons}", stacklevel=2)
    return frame[frame["status"] == "ok"].reset_index(drop=True)


def law_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The finished runs of `frame` (failed ones dropped with a warning) with the laws' inputs as
    columns: S (final sparsity measured), N (final non-zero prunable weights), D (tokens trained),
    N_avg (non-zeros averaged over training), loss (final validation loss), C_dense and C_sparse
    (training FLOPs counted densely and sparsely, Frantar et al. Sec. 3.3).

        >>> laws = law_frame(to_frame(RunStore("runs").records(status="ok")))
        >>> bool((laws.N == laws.nnz).all() and (laws.loss == laws.final_loss).all())
        True
    """
    ok = drop_failed(frame)
    return ok.assign(S=ok["sparsity_actual"], N=ok["nnz"], D=ok["tokens_trained"], N_avg=ok["n_avg"],
                     loss=ok["final_loss"], C_dense=ok["dense_flops"], C_sparse=ok["sparse_flops"])


def _read(path: Path) -> dict:
    """The record in `path`; StoreError naming the file if it is not a record kit.engine.train.run writes."""
    try:
        record = json.loads(path.read_text())
    except OSError as e:
        raise StoreError(f"run record {path} cannot be read ({type(e).__name__}: {e.strerror or e}); older "
                         f"versions of kit wrote records readable only by their owner (0600): chmod 644 them") from None
    except json.JSONDecodeError as e:
        raise StoreError(f"run record {path} is not valid JSON ({e}); delete it to rerun that run") from None
    problem = layout_problem(record)
    if problem is None and record["id"] != path.stem:
        problem = f"holds id={record['id']!r}, not the id in its file name"
    problem = problem or id_problem(record)  # a record served under its id is the run of that id
    if problem:
        raise StoreError(f"run record {path} {problem}, unlike the records kit.engine.store.RunStore.put writes; "
                         f"fix or delete it (a deleted run is trained again by the next sweep)")
    return record


def _jsonable(x):
    """x with numpy values as Python ones and non-finite floats as None."""
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
