"""Small analyses of measured runs: the seed-to-seed noise of a loss, and where one loss curve
overtakes another (Frantar et al. Fig. 5: sparse models overtaking dense ones at equal compute).

Plain functions of frames and arrays, like kit.laws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def seed_spread(frame: pd.DataFrame, point, value: str = "loss") -> pd.DataFrame:
    """Per point, the runs of `frame` equal in the columns `point` (e.g. n_nonzero, tokens,
    sparsity) and differing in seed: mean, std (ddof=1; NaN for a single run) and runs of `value`."""
    point = list(point)
    missing = [c for c in [*point, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    groups = frame.groupby(point)[value]
    return pd.DataFrame({"mean": groups.mean(), "std": groups.std(ddof=1), "runs": groups.size()})


def pooled_std(std, runs) -> float:
    """Pooled standard deviation of groups with standard deviations `std` (ddof=1) over `runs`
    repeats each: sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)). Groups of one run carry no
    information on the spread and are skipped."""
    std, runs = np.asarray(std, dtype=float), np.asarray(runs, dtype=float)
    if std.shape != runs.shape:
        raise ValueError(f"std and runs need one value per group; got shapes {std.shape}, {runs.shape}")
    repeated = runs >= 2
    if not repeated.any():
        raise ValueError(f"no group has 2 or more runs (runs={runs.tolist()}); a spread needs repeats")
    dof = runs[repeated] - 1
    return float(np.sqrt(np.sum(dof * std[repeated] ** 2) / np.sum(dof)))


def crossover(x_ref, y_ref, x, y) -> float:
    """The x at which the curve (x, y) first falls below the reference curve (x_ref, y_ref):
    both linearly interpolated in log x and log y and compared over their common x range. NaN
    if (x, y) never goes from above the reference to on or below it there (it stays above,
    starts below, or the ranges do not overlap). E.g. the compute at which a sparse model
    overtakes the dense one (Frantar et al. Fig. 5)."""
    curves = [_log_curve(name, a, b) for name, a, b in (("reference", x_ref, y_ref), ("curve", x, y))]
    lo = max(c[0][0] for c in curves)
    hi = min(c[0][-1] for c in curves)
    if lo > hi:
        return float("nan")
    # Both curves are linear between consecutive breakpoints of either, so their difference is too.
    u = np.unique(np.concatenate([[lo, hi], *(c[0][(c[0] > lo) & (c[0] < hi)] for c in curves)]))
    gap = np.interp(u, *curves[1]) - np.interp(u, *curves[0])
    for i in range(len(u) - 1):
        if gap[i] > 0 >= gap[i + 1]:
            return float(np.exp(u[i] + (u[i + 1] - u[i]) * gap[i] / (gap[i] - gap[i + 1])))
    return float("nan")


def _log_curve(name, x, y):
    """(log x, log y) sorted by x, checked: same length, at least 2 points, positive, distinct x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"{name}: x and y need the same 1-d shape with at least 2 points; "
                         f"got {x.shape}, {y.shape}")
    if not (np.all(x > 0) and np.all(y > 0)):
        raise ValueError(f"{name}: x and y must be > 0 (compared in log-log)")
    order = np.argsort(x)
    if np.any(np.diff(x[order]) == 0):
        raise ValueError(f"{name}: x has repeated values {x[order][:-1][np.diff(x[order]) == 0]}")
    return np.log(x[order]), np.log(y[order])
