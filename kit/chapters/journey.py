"""Jin et al. (2025), The Journey Matters: their published numbers, and two of their claims as
analyses of measured runs (the third, the law in N_avg, is kit.fit.compare's law comparison).

- window_gaps: in a sweep of pruning windows, per panel (budget, sparsity, schedule), how far the
  loss at one window (their 25%-75% of compute) is above the panel's best window; pooled_gap
  averages that gap over the panels, with an interval from the seed noise (kit.fit.noise).
- matched_differences: sparse runs against dense runs of equal average non-zero count N_avg,
  per pair of configs: the difference of their mean losses over seeds, with a t interval.

Plain functions of frames and arrays, like kit.laws.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.fit.noise import t_interval

WINDOW = (0.25, 0.75)  # their near-optimal pruning window, in fractions of training compute
MAE, FIT_RUNS = 0.016, 30  # their law's average absolute error, in-sample, over the 30 runs it was fitted to


def released_pairs() -> pd.DataFrame:
    """Their released 1B pairs (book/journey_matters.md, from the model cards): per sparsity S of
    the sparse model, the average linear-layer parameter counts (billions) of the sparse and the
    matched dense model, the tokens (billions) both trained on, their final training losses, and
    sparse - dense."""
    pairs = pd.DataFrame({"S": [0.2, 0.4, 0.6, 0.8],
                          "N_avg sparse (B)": [1.02, 0.87, 0.69, 0.45], "N_avg dense (B)": [1.01, 0.82, 0.65, 0.42],
                          "tokens (B)": [89.6, 104.4, 131.0, 200.4],
                          "loss sparse": [2.133, 2.137, 2.182, 2.228], "loss dense": [2.139, 2.161, 2.209, 2.237]})
    return pairs.assign(**{"sparse - dense": pairs["loss sparse"] - pairs["loss dense"]})


def window_gaps(frame: pd.DataFrame, panel, window=WINDOW, start: str = "prune_start", end: str = "prune_end",
                value: str = "loss") -> pd.DataFrame:
    """Per panel (the runs equal in the columns `panel`), one row: the number of windows, the best
    window (lowest `value`; columns best_start, best_end, best), the value at `window` (at), the
    gap at - best (>= 0) and the window's rank (1 = best; ties share the better rank). Every panel
    must hold exactly one run at `window`. Index: the panel columns."""
    panel = list(panel)
    missing = [c for c in [*panel, start, end, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    rows = {}
    for key, runs in frame.groupby(panel):
        at = runs[np.isclose(runs[start], window[0]) & np.isclose(runs[end], window[1])]
        if len(at) != 1:
            raise ValueError(f"panel {dict(zip(panel, np.atleast_1d(key)))} has {len(at)} runs at the window "
                             f"{window}; need exactly one")
        best = runs.loc[runs[value].idxmin()]
        loss = float(at[value].iloc[0])
        rows[key] = {"windows": len(runs), "best_start": best[start], "best_end": best[end], "best": float(best[value]),
                     "at": loss, "gap": loss - float(best[value]), "rank": int((runs[value] < loss).sum()) + 1}
    index = pd.MultiIndex.from_tuples([k if isinstance(k, tuple) else (k,) for k in rows], names=panel)
    return pd.DataFrame(list(rows.values()), index=index if len(panel) > 1 else index.get_level_values(0))


def pooled_gap(gap, sigma, dof, level=0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the gaps of several panels, each the difference of two single runs
    with seed std sigma (one per panel, or one for all): the mean's standard error is
    sqrt(sum 2 sigma^2) / panels, the interval Student's t with the smallest dof given. The
    interval treats the two runs of a gap as independent; runs that share a seed (initialisation
    and data order) differ less, so for them it is conservative."""
    gap = np.asarray(gap, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), gap.shape)
    if gap.ndim != 1 or gap.size == 0:
        raise ValueError(f"gap: need a non-empty list of gaps, one per panel; got shape {gap.shape}")
    se = float(np.sqrt(np.sum(2 * sigma**2)) / gap.size)
    return t_interval(gap.mean(), se, int(np.min(dof)), level)


def matched_differences(frame: pd.DataFrame, sigma: float, dof: int, level=0.95, pair: str = "pair",
                        role: str = "role", value: str = "loss", size: str = "N_avg") -> pd.DataFrame:
    """Per pair label (column `pair`, e.g. the sparse run's target sparsity), the runs whose
    column `role` is "sparse" against those whose role is "dense" (one run per seed each): the
    runs of each, their mean `size` (N_avg) and `value` (loss), the difference sparse - dense of
    the mean values, and its t interval: standard error sigma sqrt(1/n_sparse + 1/n_dense), sigma
    the seed std (e.g. pooled over the seed grid and these runs) with `dof` degrees of freedom.
    Index: the pair labels."""
    missing = [c for c in (pair, role, value, size) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    unknown = sorted(set(frame[role]) - {"sparse", "dense"})
    if unknown:
        raise ValueError(f"column {role!r} holds {unknown}; allowed 'sparse' and 'dense'")
    rows = {}
    for key, runs in frame.groupby(pair):
        sparse, dense = runs[runs[role] == "sparse"], runs[runs[role] == "dense"]
        if sparse.empty or dense.empty:
            raise ValueError(f"pair {key!r} has {len(sparse)} sparse and {len(dense)} dense runs; need both")
        difference = sparse[value].mean() - dense[value].mean()
        se = sigma * np.sqrt(1 / len(sparse) + 1 / len(dense))
        estimate, low, high = t_interval(difference, se, dof, level)
        rows[key] = {"sparse runs": len(sparse), "dense runs": len(dense),
                     f"{size} sparse": sparse[size].mean(), f"{size} dense": dense[size].mean(),
                     f"{value} sparse": sparse[value].mean(), f"{value} dense": dense[value].mean(),
                     "difference": estimate, "low": low, "high": high}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = pair
    return table
