"""Comparing fitted laws by their errors in loss, on the runs fitted and on held-out runs.

A law enters only through `fit_predict(train, test)`: fit it to the runs `train` (rows of a
DataFrame) and return its predicted losses for the runs `test`, so any law and fitter
(kit.fit.fitting.fit) plugs in. Every function is a plain function of arrays and DataFrames.

For the laws of kit.laws fitted to a kit.engine.store.law_frame, law_predictions does the whole
comparison (each law in sample, leaving one group out, on a held-out set) and mean_intervals
gives the mean errors and their paired differences with bootstrap intervals:

    fits, predicted = compare.law_predictions({"N": laws.dense_law, "N_avg": laws.avg_param_law},
                                              runs, groups=schedule_labels)
    errors = predicted["in-sample"].sub(runs.loss, axis=0).abs()
    compare.mean_intervals(errors, differences=[("N_avg", "N")])
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pandas as pd

from kit import laws as _laws
from .fitting import fit
from .lawfit import run_noise


def _group_labels(groups, frame) -> tuple[list, list]:
    """(groups as a list, its distinct labels other than None in order); one label per run of
    `frame` and at least two labels, or a ValueError."""
    groups = list(groups)
    if len(groups) != len(frame):
        raise ValueError(f"groups has {len(groups)} labels for {len(frame)} runs: need one per run")
    labels = list(dict.fromkeys(g for g in groups if g is not None))
    if len(labels) < 2:
        raise ValueError(f"need at least two groups to hold one out; got {labels}")
    return groups, labels


def bootstrap_means(errors: pd.DataFrame, n_boot=1000, seed=0) -> pd.DataFrame:
    """Paired bootstrap of column means: n_boot resamples of the rows (runs), drawn with
    replacement and shared by all columns, so differences between columns (e.g. two laws' errors
    on the same runs) keep their pairing. Returns one row per resample, one column per column.

        >>> errors = pd.DataFrame({"N": [0.02, 0.03, 0.01, 0.02], "N_avg": [0.01, 0.02, 0.01, 0.01]})
        >>> samples = bootstrap_means(errors, n_boot=100)
        >>> samples.shape, bool((samples.N_avg <= samples.N).all())  # N_avg's error is the smaller on every run
        ((100, 2), True)
    """
    values = errors.to_numpy(dtype=float)
    if len(values) == 0 or np.isnan(values).any():
        raise ValueError("errors must have at least one row and no NaN")
    rows = np.random.default_rng(seed).integers(0, len(values), (n_boot, len(values)))
    return pd.DataFrame(values[rows].mean(axis=1), columns=errors.columns)


def mean_intervals(errors: pd.DataFrame, n_boot=1000, level=0.95, seed=0, differences=()) -> pd.DataFrame:
    """The mean of each column of `errors` (one column per law, one row per run) and, for each
    pair (a, b) in `differences`, the difference mean[a] - mean[b], each with its percentile
    interval from one paired bootstrap of the runs (bootstrap_means: every resample shared by all
    columns). Index `quantity`: the column names, then "a − b"; columns estimate, low, high.

        >>> errors = pd.DataFrame({"N": [0.02, 0.03, 0.01, 0.02], "N_avg": [0.01, 0.02, 0.01, 0.01]})
        >>> table = mean_intervals(errors, differences=[("N_avg", "N")])
        >>> table.estimate.round(4).to_dict()
        {'N': 0.02, 'N_avg': 0.0125, 'N_avg − N': -0.0075}
        >>> bool(table.loc["N_avg − N", "high"] < 0)  # N_avg's errors are smaller beyond the bootstrap's spread
        True
    """
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r}: need a probability strictly between 0 and 1")
    unknown = sorted({name for pair in differences for name in pair} - set(errors.columns))
    if unknown:
        raise ValueError(f"differences name {unknown}, which are not columns of errors: {list(errors.columns)}")
    samples = bootstrap_means(errors, n_boot, seed)
    estimate = errors.mean()
    for a, b in differences:
        samples[f"{a} − {b}"] = samples[a] - samples[b]
        estimate[f"{a} − {b}"] = estimate[a] - estimate[b]
    tail = (1 - level) / 2
    table = pd.DataFrame({"estimate": estimate, "low": samples.quantile(tail), "high": samples.quantile(1 - tail)})
    table.index.name = "quantity"
    return table


# The inputs of each law of kit.laws, as columns of kit.engine.store.law_frame (the rest of a law's
# arguments are its coefficients).
LAW_INPUTS = {_laws.dense_law: ("N", "D"), _laws.sparse_law: ("S", "N", "D"), _laws.avg_param_law: ("N_avg", "D")}


def fit_law(law, frame: pd.DataFrame, starts=16, seed=0, noise=None):
    """kit.fit.fitting.fit of every coefficient of `law` (kit.laws.dense_law, sparse_law or
    avg_param_law) to the runs of `frame` (columns of kit.engine.store.law_frame: S, N, N_avg, D, loss),
    as the book fits language models: Huber loss (delta 1e-3) of the error in log L. `noise`:
    {S: {D: seed std}} (kit.fit.lawfit.sparsity_noise), each run's error then taken over its own
    (kit.fit.lawfit.run_noise); None: equal noise.

        >>> from kit import laws
        >>> N, D, S = (x.ravel() for x in np.meshgrid([1e4, 3e4, 1e5], [1e6, 4e6, 1.6e7], [0.0, 0.5, 0.75]))
        >>> runs = pd.DataFrame({"S": S, "N": N, "N_avg": N * (1 + 2 * S), "D": D})  # 27 runs of a law in N_avg
        >>> runs["loss"] = laws.avg_param_law(runs.N_avg, runs.D, a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
        >>> result = fit_law(laws.avg_param_law, runs, starts=8)
        >>> round(result.params["b_N"], 3), round(result.params["c"], 3)
        (0.3, 1.0)
    """
    inputs = LAW_INPUTS.get(law)
    if inputs is None:
        raise ValueError(f"law {getattr(law, '__name__', law)!r}: fit_law knows kit.laws.dense_law, sparse_law "
                         f"and avg_param_law")
    params = [p for p in inspect.signature(law).parameters if p not in inputs]
    return fit(law, {k: frame[k].to_numpy(dtype=float) for k in inputs}, frame["loss"].to_numpy(dtype=float), params,
               log_loss=True, delta=1e-3, starts=starts, seed=seed, scale=None if noise is None else run_noise(frame, noise))


def predict_law(result, frame: pd.DataFrame) -> np.ndarray:
    """The losses a fit_law result predicts for the runs of `frame`.

        >>> from kit import laws
        >>> N, D, S = (x.ravel() for x in np.meshgrid([1e4, 3e4, 1e5], [1e6, 4e6, 1.6e7], [0.0, 0.5, 0.75]))
        >>> runs = pd.DataFrame({"S": S, "N": N, "N_avg": N * (1 + 2 * S), "D": D})  # 27 runs of a law in N_avg
        >>> runs["loss"] = laws.avg_param_law(runs.N_avg, runs.D, a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
        >>> result = fit_law(laws.avg_param_law, runs, starts=8)
        >>> predict_law(result, runs[:2]).round(4), runs.loss[:2].round(4).tolist()
        (array([2.7935, 2.5623]), [2.7935, 2.5623])
    """
    inputs = LAW_INPUTS[result.law]
    return np.asarray(result.predict(**{k: frame[k].to_numpy(dtype=float) for k in inputs}), dtype=float)


def law_predictions(laws: dict, frame: pd.DataFrame, groups=None, train=None, test=None, starts=16, seed=0,
                    noise=None):
    """Each law (name -> kit.laws law) fitted with fit_law from `starts` random starts (and `noise`), and its
    predictions in and out of sample. Returns (fits, predictions): fits maps a name to the fit to
    all runs; predictions maps an evaluation to a DataFrame (index: the runs of `frame` it
    predicts, one column per law):
      "in-sample": every run, from the fit to all runs;
      "leave one group out" (if groups is given, one label per run, None = never held out): each
        labelled run from a refit to the runs of every other label and the unlabelled ones. The
        refits start from the fit to all runs, all groups at once (as kit.fit.fitting.bootstrap refits
        its resamples): the held-out runs decide where a refit starts, not what it minimises;
      "held out" (if train and test, boolean masks over the runs, are given): the test runs from a
        fit to the train runs from the same random starts, so nothing of the test runs reaches it.

        >>> from kit import laws
        >>> N, D, S = (x.ravel() for x in np.meshgrid([1e4, 3e4, 1e5], [1e6, 4e6, 1.6e7], [0.0, 0.5, 0.75]))
        >>> runs = pd.DataFrame({"S": S, "N": N, "N_avg": N * (1 + 2 * S), "D": D})  # 27 runs of a law in N_avg
        >>> runs["loss"] = laws.avg_param_law(runs.N_avg, runs.D, a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
        >>> groups = [f"S={s}" if s else None for s in runs.S]  # hold out each sparsity in turn
        >>> fits, predicted = law_predictions({"N": laws.dense_law, "N_avg": laws.avg_param_law}, runs, groups)
        >>> errors = predicted["leave one group out"].sub(runs.loss, axis=0).abs().mean()
        >>> list(predicted), bool(errors["N_avg"] < 1e-6 < errors["N"])
        (['in-sample', 'leave one group out'], True)
    """
    fits = {name: fit_law(law, frame, starts, seed, noise) for name, law in laws.items()}
    predictions = {"in-sample": pd.DataFrame({name: predict_law(r, frame) for name, r in fits.items()},
                                             index=frame.index)}
    if groups is not None:
        groups, labels = _group_labels(groups, frame)
        held_GxR = np.array([[g is not None and g == label for g in groups] for label in labels])
        labelled = held_GxR.any(axis=0)
        columns = {}
        for name, result in fits.items():
            z0_GxP = np.tile(result.problem.encode(result.params), (len(labels), 1))
            z_GxP, _, _ = result.problem.solve(z0_GxP, weight_BxR=(~held_GxR).astype(float))
            predicted = np.full(len(frame), np.nan)
            for held_R, z_P in zip(held_GxR, z_GxP):
                refit = dataclasses.replace(result, params=result.problem.decode(z_P))
                predicted[held_R] = predict_law(refit, frame[held_R])
            columns[name] = predicted[labelled]
        predictions["leave one group out"] = pd.DataFrame(columns, index=frame.index[labelled])
    if (train is None) != (test is None):
        raise ValueError("give both train and test (boolean masks over the runs), or neither")
    if train is not None:
        train, test = np.asarray(train, dtype=bool), np.asarray(test, dtype=bool)
        if train.shape != (len(frame),) or test.shape != (len(frame),) or (train & test).any() or not test.any():
            raise ValueError("train and test must be disjoint boolean masks, one value per run, with a test run")
        predictions["held out"] = pd.DataFrame(
            {name: predict_law(fit_law(law, frame[train], starts, seed, noise), frame[test]) for name, law in laws.items()},
            index=frame.index[test])
    for evaluation, predicted in predictions.items():
        bad = [name for name in predicted if not np.isfinite(predicted[name]).all()]
        if bad:
            raise ValueError(f"{evaluation}: the fits of {bad} predict non-finite losses; their runs do not pin "
                             f"the law's coefficients (too few sizes or budgets in the fit)")
    return fits, predictions
