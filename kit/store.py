"""Content-addressed run store: one JSON record per run, named by what determines the run.

A run's id is the first 16 hex digits of sha256(config.canonical_json() + corpus fingerprint), so
the same config on the same corpus always maps to the same record and a sweep can skip it.
Records live at <root>/<id>.json (default root: <repo>/runs); saved parameters at
<root>/ckpt/<id>.npz. Writes are atomic (temporary file in the same folder, fsync, os.replace), so
a killed process leaves either the whole record or none; temporary files (.<id>.*.tmp) are never
read as records.

Record layout, as kit.train.run writes it:
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
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kit.config import RunConfig

STATUSES = ("ok", "failed")
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "runs"
CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(RunConfig))
# Frame columns besides the config fields; metric names may not take any of these.
RESERVED = ("id", "status", "reason", "corpus", "corpus_fingerprint", "created") + CONFIG_FIELDS


def run_id(config: RunConfig, corpus_fingerprint: str) -> str:
    """16 hex digits naming the run of `config` on the corpus with this fingerprint."""
    return hashlib.sha256((config.canonical_json() + "\n" + corpus_fingerprint).encode()).hexdigest()[:16]


class RunStore:
    run_id = staticmethod(run_id)

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else DEFAULT_ROOT

    def __repr__(self):
        return f"RunStore({str(self.root)!r})"

    def path(self, id: str) -> Path:
        return self.root / f"{id}.json"

    def checkpoint_path(self, id: str) -> Path:
        """Where the run's parameters are saved (the ckpt folder is created)."""
        folder = self.root / "ckpt"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{id}.npz"

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
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{record['id']}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path(record["id"]))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
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


def check_record(record: dict) -> None:
    """Raise ValueError unless `record` has a valid status, config and corpus, and an id that
    matches them, and no metric named like a frame column."""
    missing = [k for k in ("id", "status", "reason", "config", "corpus", "metrics") if k not in record]
    if missing:
        raise ValueError(f"run record lacks keys {missing}")
    if record["status"] not in STATUSES:
        raise ValueError(f"run record status={record['status']!r}: allowed {STATUSES}")
    expected = run_id(RunConfig.from_dict(record["config"]), record["corpus"]["fingerprint"])
    if record["id"] != expected:
        raise ValueError(f"run record id={record['id']!r} does not match its config and corpus "
                         f"fingerprint, which give {expected!r} (kit.store.run_id)")
    clashes = sorted(set(record["metrics"]) & set(RESERVED))
    if clashes:
        raise ValueError(f"run record metrics {clashes} clash with frame columns; rename them")


def to_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: id, status, reason, corpus, corpus_fingerprint, created, every config
    field (nm as a tuple) and every metric."""
    rows = [{"id": r["id"], "status": r["status"], "reason": r["reason"],
             "corpus": r["corpus"].get("name"), "corpus_fingerprint": r["corpus"]["fingerprint"],
             "created": r.get("created"),
             **{k: tuple(v) if k == "nm" and v is not None else v for k, v in r["config"].items()},
             **r["metrics"]} for r in records]
    return pd.DataFrame(rows, columns=None if rows else list(RESERVED))


def drop_failed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with status 'ok', warning how many failed rows were dropped and their reasons."""
    failed = frame[frame["status"] != "ok"]
    if len(failed):
        reasons = "; ".join(f"{n} x {reason}" for reason, n in failed["reason"].value_counts(dropna=False).items())
        warnings.warn(f"dropped {len(failed)} failed run(s) of {len(frame)}: {reasons}", stacklevel=2)
    return frame[frame["status"] == "ok"].reset_index(drop=True)


def law_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The finished runs of `frame` (failed ones dropped with a warning) with the laws' inputs as
    columns: S (final sparsity measured), N (final non-zero prunable weights), D (tokens trained),
    N_avg (non-zeros averaged over training), loss (final validation loss), C_dense and C_sparse
    (training FLOPs counted densely and sparsely, Frantar et al. Sec. 3.3)."""
    ok = drop_failed(frame)
    return ok.assign(S=ok["sparsity_actual"], N=ok["nnz"], D=ok["tokens_trained"], N_avg=ok["n_avg"],
                     loss=ok["final_loss"], C_dense=ok["dense_flops"], C_sparse=ok["sparse_flops"])


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"run record {path} is not valid JSON ({e}); delete it to rerun that run") from e


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
