"""Fair comparisons of sparse and dense runs (Frantar et al. 2024, Section 2), with intervals from
the seed-to-seed noise of single runs.

Every sparse run is paired with a reference: a run equal in some columns (`match`: the dense run
of the same width, or of equal N, on tokens_ratio x its tokens), or the reference curve read at
the sparse run's training compute (`match_compute`: linear in log compute between the two runs
around it). A gap is the reference's loss minus the sparse run's, so a positive gap means the
sparse run reached the lower loss.

A reference is thus a weighted sum of stored runs (one run with weight 1, or two with the
interpolation's weights), and so is every mean of gaps or difference of two means: sum_r w_r L_r
over the final losses L_r. With runs independent, each with the seed-to-seed standard deviation
sigma_r of its budget (kit.fit.noise.seed_noise, read off per run by `run_sigma`), its standard error
is sqrt(sum_r w_r^2 sigma_r^2) (`linear_interval`): one pair of two runs of equal noise has sqrt(2) sigma, a mean of k
disjoint pairs sqrt(2/k) sigma, and a run shared by several pairs (one dense run is the reference
of every sparsity) counts once, with its summed weight. The interval uses Student's t with the
degrees of freedom of the noise estimate, since sigma is itself estimated from a few seeds.

Pairs frame (what `match` and `match_compute` return): one row per sparse run (its index kept)
with columns id, loss, reference_loss, gap, reference_tokens (the tokens of the reference, at
equal compute interpolated in log), references (tuple of run ids) and weights (tuple of floats
summing to 1); gap is NaN and both tuples are empty where the grid holds no reference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from kit.report import claims
from kit.fit import noise
from kit.report.claims import Claim

PAIR_COLUMNS = ["id", "loss", "reference_loss", "gap", "reference_tokens", "references", "weights"]


def _require(frame: pd.DataFrame, name: str, columns) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks columns {missing}; it has {list(frame.columns)}")


def _pairs(sparse: pd.DataFrame, rows: list) -> pd.DataFrame:
    """The pairs frame of `sparse` from one (reference_loss, reference_tokens, ids, weights) per row."""
    pairs = pd.DataFrame(rows, index=sparse.index, columns=["reference_loss", "reference_tokens", "references", "weights"])
    pairs.insert(0, "id", sparse["id"].to_numpy())
    pairs.insert(1, "loss", sparse["loss"].to_numpy(dtype=float))
    pairs.insert(3, "gap", pairs["reference_loss"].astype(float) - pairs["loss"])
    return pairs[PAIR_COLUMNS]


def match(sparse: pd.DataFrame, reference: pd.DataFrame, on, tokens_ratio: float = 1.0) -> pd.DataFrame:
    """Pair every row of `sparse` with the row of `reference` equal in the columns `on` whose
    tokens are tokens_ratio x the sparse run's (rounded to a whole token), e.g. on=["d_model"],
    tokens_ratio=0.5: the dense model of the same width with half the training. Both frames need
    columns id, loss, tokens and `on`; reference rows must be unique in (on, tokens). Returns the
    pairs frame (module docstring); NaN gap where `reference` has no such row."""
    on = list(on)
    for name, frame in (("sparse", sparse), ("reference", reference)):
        _require(frame, name, ["id", "loss", "tokens", *on])
    if not (isinstance(tokens_ratio, (int, float)) and tokens_ratio > 0):
        raise ValueError(f"tokens_ratio = {tokens_ratio!r}: need a positive number")
    keys = reference[[*on, "tokens"]]
    if keys.duplicated().any():
        raise ValueError(f"reference has several runs with the same {[*on, 'tokens']}, e.g. "
                         f"{keys[keys.duplicated()].iloc[0].to_dict()}; a pair needs one reference")
    lookup = {tuple(k): (float(loss), int(tokens), id) for k, loss, tokens, id
              in zip(keys.itertuples(index=False), reference["loss"], reference["tokens"], reference["id"])}
    rows = []
    for key in sparse[on].assign(tokens=(sparse["tokens"] * tokens_ratio).round().astype(int)).itertuples(index=False):
        found = lookup.get(tuple(key))
        rows.append((found[0], found[1], (found[2],), (1.0,)) if found else (np.nan, np.nan, (), ()))
    return _pairs(sparse, rows)


def bracket(x, x_new):
    """Linear interpolation in log x: for each x_new, the indices (i, j) into x of the points
    around it and the weight w of x[j] (1 - w of x[i]), or None outside [min x, max x]. x must be
    positive and distinct."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size < 1 or not np.all(x > 0) or len(np.unique(x)) != x.size:
        raise ValueError(f"x = {x.tolist()}: need distinct positive values")
    order = np.argsort(x)
    log_x = np.log(x[order])
    out = []
    for value in np.atleast_1d(np.asarray(x_new, dtype=float)):
        if not (value > 0) or not log_x[0] <= math.log(value) <= log_x[-1]:
            out.append(None)
            continue
        j = min(int(np.searchsorted(log_x, math.log(value))), len(log_x) - 1)
        if log_x[j] == math.log(value):
            out.append((int(order[j]), int(order[j]), 1.0))
            continue
        w = (math.log(value) - log_x[j - 1]) / (log_x[j] - log_x[j - 1])
        out.append((int(order[j - 1]), int(order[j]), float(w)))
    return out


def loss_at(cost, loss, C) -> np.ndarray:
    """The loss of a curve of runs (training compute `cost`, final `loss`) at compute C, linear in
    log C between the runs around it; NaN outside the curve's range."""
    loss = np.asarray(loss, dtype=float)
    return np.array([np.nan if b is None else (1 - b[2]) * loss[b[0]] + b[2] * loss[b[1]] for b in bracket(cost, C)])


def match_compute(sparse: pd.DataFrame, reference: pd.DataFrame, cost: str, on=("n_nonzero",)) -> pd.DataFrame:
    """Pair every row of `sparse` with the reference curve of its `on` group (e.g. the dense runs of
    its target N over their token budgets) read at the sparse run's training compute, the column
    `cost` of both frames (e.g. model_flops: counted densely; model_flops_sparse: counted
    sparsely), linear in log compute between the curve's two runs around it. Returns the pairs
    frame (module docstring); NaN gap where the compute lies outside the curve's range (the grid
    has no dense run trained that long or that short). Frames need columns id, loss, tokens, cost
    and `on`."""
    on = list(on)
    for name, frame in (("sparse", sparse), ("reference", reference)):
        _require(frame, name, ["id", "loss", "tokens", cost, *on])
    curves = {key if isinstance(key, tuple) else (key,): group for key, group in reference.groupby(on)}
    rows = []
    for key, C in zip(sparse[on].itertuples(index=False), sparse[cost]):
        curve = curves.get(tuple(key))
        b = bracket(curve[cost], [C])[0] if curve is not None else None
        if b is None:
            rows.append((np.nan, np.nan, (), ()))
            continue
        i, j, w = b
        loss, tokens, ids = (curve[c].to_numpy() for c in ("loss", "tokens", "id"))
        reference_loss = (1 - w) * float(loss[i]) + w * float(loss[j])
        tokens_at = float(np.exp((1 - w) * np.log(tokens[i]) + w * np.log(tokens[j])))
        rows.append((reference_loss, tokens_at, (ids[i],), (1.0,)) if i == j
                    else (reference_loss, tokens_at, (ids[i], ids[j]), (1 - w, w)))
    return _pairs(sparse, rows)


def run_sigma(frame: pd.DataFrame, table: pd.DataFrame) -> tuple[pd.Series, int]:
    """The seed std of every run of `frame` at its token budget, from kit.fit.noise.seed_noise's table
    (by="tokens"; kit.fit.noise.noise_at interpolates between budgets): a Series run id -> sigma, and
    the smallest degrees of freedom any of them rests on (for the t quantile)."""
    _require(frame, "frame", ["id", "tokens"])
    found = [noise.noise_at(table, float(d)) for d in frame["tokens"]]
    if not found:
        raise ValueError("frame has no runs: nothing to give a seed std")
    sigma = pd.Series([s for s, _ in found], index=frame["id"].to_numpy(), dtype=float)
    return sigma[~sigma.index.duplicated()], min(dof for _, dof in found)


def linear_interval(estimate: float, weights: pd.Series, sigma: pd.Series, dof: float, level: float = 0.95) -> dict:
    """Interval of a weighted sum of run losses, sum_r w_r L_r = estimate: standard error
    sqrt(sum_r w_r^2 sigma_r^2) (runs independent; weights of a run listed twice are summed),
    half-width t_{(1+level)/2, dof} x that (kit.fit.noise.t_interval). sigma maps run id -> the run's
    seed std (run_sigma). Returns estimate, se, half_width, low, high."""
    weights = pd.Series(weights, dtype=float).groupby(level=0).sum()
    missing = sorted(set(weights.index) - set(sigma.index))
    if missing:
        raise ValueError(f"no seed std for runs {missing[:3]}{' ...' if len(missing) > 3 else ''}")
    se = float(np.sqrt(np.sum(weights.to_numpy() ** 2 * sigma.reindex(weights.index).to_numpy(dtype=float) ** 2)))
    estimate, low, high = noise.t_interval(estimate, se, dof, level)
    return {"estimate": estimate, "se": se, "half_width": high - estimate, "low": low, "high": high}


def gap_weights(pairs: pd.DataFrame) -> pd.Series:
    """The mean gap over the pairs that have a reference, as weights on runs (run id -> weight):
    +w/k on each reference run, -1/k on each sparse run, k the number of such pairs."""
    found = pairs[pairs["gap"].notna()]
    if found.empty:
        return pd.Series(dtype=float)
    k = len(found)
    ids = [*(r for refs in found["references"] for r in refs), *found["id"]]
    weights = [*(w / k for ws in found["weights"] for w in ws), *[-1.0 / k] * k]
    return pd.Series(weights, index=ids, dtype=float).groupby(level=0).sum()


def mean_gap(pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> dict:
    """The mean gap over the pairs that have a reference, with its interval from the seed noise
    (linear_interval), the number of pairs and how many of them the sparse run has the lower loss
    in. NaN estimate and interval without pairs."""
    found = pairs["gap"].dropna()
    counts = {"pairs": len(found), "lower": int((found > 0).sum())}
    if found.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan, **counts}
    return {**linear_interval(found.mean(), gap_weights(pairs), sigma, dof, level), **counts}


def difference(pairs_a: pd.DataFrame, pairs_b: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> dict:
    """Mean gap of pairs_a minus mean gap of pairs_b, with its interval: runs in both count once
    (e.g. the gain of S = 0.875 over that of S = 0.5, both against the same dense runs)."""
    a, b = pairs_a["gap"].dropna(), pairs_b["gap"].dropna()
    if a.empty or b.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan}
    weights = pd.concat([gap_weights(pairs_a), -gap_weights(pairs_b)])
    return linear_interval(a.mean() - b.mean(), weights, sigma, dof, level)


def pair_intervals(pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> pd.DataFrame:
    """Every pair's own gap interval (linear_interval of that pair alone): columns gap, low, high;
    NaN where the pair has no reference."""
    rows = []
    for row in pairs.itertuples():
        if not np.isfinite(row.gap):
            rows.append((np.nan, np.nan, np.nan))
            continue
        weights = pd.Series([*row.weights, -1.0], index=[*row.references, row.id])
        interval = linear_interval(row.gap, weights, sigma, dof, level)
        rows.append((row.gap, interval["low"], interval["high"]))
    return pd.DataFrame(rows, index=pairs.index, columns=["gap", "low", "high"])


def win_counts(pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> dict:
    """How the sparse runs fare against their references, counted one way for the whole book:
    pairs (with a reference), lower (the sparse run's loss is below the reference's: gap > 0),
    resolved_lower and resolved_higher (the pair's own interval, pair_intervals, excludes 0 on
    that side), unresolved (the rest)."""
    intervals = pair_intervals(pairs, sigma, dof, level).dropna()
    lower, higher = int((intervals["low"] > 0).sum()), int((intervals["high"] < 0).sum())
    return {"pairs": len(intervals), "lower": int((intervals["gap"] > 0).sum()), "resolved_lower": lower,
            "resolved_higher": higher, "unresolved": len(intervals) - lower - higher}


def direction_claim(key: str, paper: str, statement: str, section: str, rule: str, found: dict, sign: int, *,
                    paper_value: str | None = None, quantity: str = "the mean gap", unit: str = " nats",
                    fmt: str = "+.3f") -> Claim:
    """A kit.report.claims.Claim tested by a direction rule on a gap that mean_gap or difference found:
    verdict and reason from kit.report.claims.direction_verdict (sign +1: the claim says the gap is
    positive); 'not resolved' where found has no estimate (the grid holds no pair). our_runs is
    the interval as text; numbers are found's entries."""
    numbers = {name: float(value) for name, value in found.items()}
    if np.isfinite(numbers["estimate"]):
        verdict, reason = claims.direction_verdict(numbers["estimate"], numbers["low"], numbers["high"], sign,
                                                   quantity=quantity, unit=unit, fmt=fmt)
        ours = claims.interval_text(numbers["estimate"], numbers["low"], numbers["high"], fmt, unit)
    else:
        verdict, reason, ours = "not resolved", "The grid holds no pair of runs for this comparison.", None
    return claims.Claim(key, paper, statement, section, paper_value, None, ours, verdict, rule, reason,
                        {name: value for name, value in numbers.items() if np.isfinite(value)})


def learning_rate_table(frame: pd.DataFrame, recipe_lr) -> pd.DataFrame:
    """A learning-rate check read off its runs: one row per (n_nonzero, sparsity) of `frame` (runs
    at several peak rates `lr`, with `d_model` and `loss`): its width, the best rate tried and its
    loss, the recipe's rate `recipe_lr(d_model)` and the loss of the run at that rate (NaN if none
    was trained), and 'recipe - best' (nats; 0 where the recipe's rate is the best tried)."""
    _require(frame, "frame", ["n_nonzero", "sparsity", "d_model", "lr", "loss"])
    rows = []
    for (n, s), runs in frame.groupby(["n_nonzero", "sparsity"], sort=True):
        best = runs.loc[runs["loss"].idxmin()]
        d = int(best["d_model"])
        rule = recipe_lr(d)
        at_rule = runs[np.isclose(runs["lr"], rule, rtol=1e-3)]["loss"]
        loss_rule = float(at_rule.min()) if len(at_rule) else np.nan
        rows.append({"n_nonzero": n, "sparsity": s, "d_model": d, "best lr": float(best["lr"]),
                     "best loss": float(best["loss"]), "recipe lr": rule, "recipe loss": loss_rule,
                     "recipe - best": loss_rule - float(best["loss"]), "rates tried": len(runs)})
    return pd.DataFrame(rows)
