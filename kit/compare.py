"""Comparing fitted laws by their errors in loss, on the runs fitted and on held-out runs.

A law enters only through `fit_predict(train, test)`: fit it to the runs `train` (rows of a
DataFrame) and return its predicted losses for the runs `test`, so any law and fitter
(kit.fitting.fit) plugs in. Every function is a plain function of arrays and DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def mean_abs_error(actual, predicted) -> float:
    """Mean over runs of |predicted - actual| (Jin et al.'s "average absolute prediction error")."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"need one prediction per run and at least one run; "
                         f"got shapes {actual.shape} (actual), {predicted.shape} (predicted)")
    return float(np.mean(np.abs(predicted - actual)))


def leave_one_group_out(fit_predict, frame: pd.DataFrame, groups) -> np.ndarray:
    """Held-out predictions for every run with a group label, each from a fit on all other groups.

    groups: one label per row of `frame` (e.g. a schedule (kind, start, end)); rows labelled None
    are never held out and are in every fit. For each label g: fit_predict(frame[groups != g],
    frame[groups == g]). Returns one prediction per row, NaN for unlabelled rows."""
    groups = list(groups)
    if len(groups) != len(frame):
        raise ValueError(f"groups has {len(groups)} labels for {len(frame)} runs: need one per run")
    labels = list(dict.fromkeys(g for g in groups if g is not None))
    if len(labels) < 2:
        raise ValueError(f"need at least two groups to hold one out; got {labels}")
    predicted = np.full(len(frame), np.nan)
    for label in labels:
        test = np.array([g == label for g in groups])
        values = np.asarray(fit_predict(frame[~test], frame[test]), dtype=float)
        if values.shape != (test.sum(),):
            raise ValueError(f"fit_predict returned shape {values.shape} for group {label!r} of "
                             f"{test.sum()} runs: need one prediction per held-out run")
        predicted[test] = values
    return predicted


def bootstrap_means(errors: pd.DataFrame, n_boot=1000, seed=0) -> pd.DataFrame:
    """Paired bootstrap of column means: n_boot resamples of the rows (runs), drawn with
    replacement and shared by all columns, so differences between columns (e.g. two laws' errors
    on the same runs) keep their pairing. Returns one row per resample, one column per column."""
    values = errors.to_numpy(dtype=float)
    if len(values) == 0 or np.isnan(values).any():
        raise ValueError("errors must have at least one row and no NaN")
    rows = np.random.default_rng(seed).integers(0, len(values), (n_boot, len(values)))
    return pd.DataFrame(values[rows].mean(axis=1), columns=errors.columns)


def pooled_std(values, groups) -> float:
    """Standard deviation of repeats (e.g. runs differing only in seed) pooled over groups:
    sqrt(sum_g sum_i (x_gi - mean_g)^2 / sum_g (n_g - 1)). Groups of one run add nothing."""
    frame = pd.DataFrame({"x": np.asarray(values, dtype=float), "g": list(groups)})
    grouped = frame.groupby("g")["x"]
    dof = int((grouped.size() - 1).sum())
    if dof < 1:
        raise ValueError("no group holds two or more runs: the spread of repeats is undefined")
    squares = (frame["x"] - grouped.transform("mean")) ** 2
    return float(np.sqrt(squares.sum() / dof))
