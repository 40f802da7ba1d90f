"""Small analyses of measured runs: the seed-to-seed spread of a loss, per point and pooled.

Plain functions of frames and arrays, like kit.laws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def seed_spread(frame: pd.DataFrame, point, value: str = "loss") -> pd.DataFrame:
    """Per point, the runs of `frame` equal in the columns `point` (e.g. n_nonzero, tokens,
    sparsity) and differing in seed: mean, std (ddof=1; NaN for a single run) and runs of `value`.

        >>> runs = pd.DataFrame({"n_nonzero": [64, 64, 128], "seed": [0, 1, 0], "loss": [3.0, 3.2, 2.9]})
        >>> seed_spread(runs, ["n_nonzero"]).round(3)
                   mean    std  runs
        n_nonzero
        64          3.1  0.141     2
        128         2.9    NaN     1
    """
    point = list(point)
    missing = [c for c in [*point, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    groups = frame.groupby(point)[value]
    return pd.DataFrame({"mean": groups.mean(), "std": groups.std(ddof=1), "runs": groups.size()})


def pooled_std(std, runs) -> float:
    """Pooled standard deviation of groups with standard deviations `std` (ddof=1) over `runs`
    repeats each: sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)). Groups of one run carry no
    information on the spread and are skipped.

        >>> round(pooled_std([0.1, 0.2, 0.5], [3, 2, 1]), 4)  # sqrt((2 * 0.1^2 + 1 * 0.2^2) / 3)
        0.1414
    """
    std, runs = np.asarray(std, dtype=float), np.asarray(runs, dtype=float)
    if std.shape != runs.shape:
        raise ValueError(f"std and runs need one value per group; got shapes {std.shape}, {runs.shape}")
    repeated = runs >= 2
    if not repeated.any():
        raise ValueError(f"no group has 2 or more runs (runs={runs.tolist()}); a spread needs repeats")
    dof = runs[repeated] - 1
    return float(np.sqrt(np.sum(dof * std[repeated] ** 2) / np.sum(dof)))
