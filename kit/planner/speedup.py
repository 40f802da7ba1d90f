"""A measured cost model for the planner: how much faster a sparse matmul runs than a dense one,
at each sparsity, on named hardware (kit.planner.sparse_speed measures it; kit.planner.plan uses it)."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np


@dataclasses.dataclass(frozen=True)
class SpeedupCurve:
    """A measured cost model: speedup[i] = (dense matmul time) / (sparse matmul time) at S[i],
    for S[i] strictly increasing in [0, 1) and every speedup finite and > 0, timed with the sparse
    kernel `label` on `hardware` through `backend` at the layer shape `layer` on `date` (ISO, 2026-11-29).

        >>> curve = SpeedupCurve("jax-bcsr", S=(0.5, 0.9), speedup=(0.4, 1.8), hardware="one CPU core",
        ...                      backend="jax BCSR vs XLA dense", layer="768 -> 3072, 512 tokens", date="2026-11-29")
        >>> curve.describe()
        'jax-bcsr at 768 -> 3072, 512 tokens on one CPU core (jax BCSR vs XLA dense), measured 2026-11-29'
    """
    label: str
    S: tuple
    speedup: tuple
    hardware: str
    backend: str
    layer: str
    date: str

    def __post_init__(self):
        for name in ("label", "hardware", "backend", "layer", "date"):
            if not (isinstance(getattr(self, name), str) and getattr(self, name).strip()):
                raise ValueError(f"speedup curve {self.label!r}: {name} must be a non-empty string; "
                                 f"got {getattr(self, name)!r}")
        try:
            datetime.date.fromisoformat(self.date)
        except ValueError:
            raise ValueError(f"speedup curve {self.label!r}: date {self.date!r} is not an ISO date such as "
                             f"2026-11-29") from None
        try:
            S, s = np.asarray(self.S, dtype=float), np.asarray(self.speedup, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"speedup curve {self.label!r}: S and speedup must be lists of numbers; got "
                             f"{self.S!r} and {self.speedup!r}") from None
        if S.ndim != 1 or S.size == 0 or S.shape != s.shape:
            raise ValueError(f"speedup curve {self.label!r}: needs one speedup per sparsity; got {S.size} "
                             f"sparsities and {s.size} speedups")
        if not np.all((S >= 0) & (S < 1)) or np.any(np.diff(S) <= 0):
            raise ValueError(f"speedup curve {self.label!r}: sparsities {S.tolist()} must increase strictly "
                             f"within [0, 1)")
        if not np.all(np.isfinite(s) & (s > 0)):
            raise ValueError(f"speedup curve {self.label!r}: speedups {s.tolist()} must be finite and > 0")
        object.__setattr__(self, "S", tuple(S.tolist()))  # tuples of floats: hashable, so grids are cached per curve
        object.__setattr__(self, "speedup", tuple(s.tolist()))

    def describe(self) -> str:
        """One line: which kernel, at which layer, on which hardware and backend, when."""
        return f"{self.label} at {self.layer} on {self.hardware} ({self.backend}), measured {self.date}"
