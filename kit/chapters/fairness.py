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

Chapter 1's sections are one call each below (grid_table, size_table, corpus_table, recipe_check,
batch_table, the long-run learning-rate check long_lr_table / long_lr_claim, seed_noise_section,
training_data, model_size, embedding, compute, cost_table) and its figures one plot_ function each:
they return the section's claims, tables (with a *_FORMATS dict each) and the texts the chapter
glues, so its cells only show and glue them. Every claim's rule sentence is written from the
threshold its verdict uses (the sign and level of direction_claim; LR_MARGIN).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from kit.engine import data, grids, model
from kit.engine.sweep import run_sweep
from kit.fit import noise
from kit.report import claims, params, plots, results
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
    pairs frame (module docstring); NaN gap where `reference` has no such row.

        >>> dense = pd.DataFrame({"id": ["d1", "d2"], "d_model": 16, "tokens": [1000, 2000], "loss": [3.0, 2.8]})
        >>> sparse = pd.DataFrame({"id": ["s1"], "d_model": [16], "tokens": [2000], "loss": [2.9]})
        >>> match(sparse, dense, ["d_model"], tokens_ratio=0.5)[["id", "references", "reference_loss", "gap"]].round(3)
           id references  reference_loss  gap
        0  s1      (d1,)             3.0  0.1
    """
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
    positive and distinct.

        >>> i, j, w = bracket([1e9, 4e9], [2e9])[0]  # 2e9 lies halfway between in log
        >>> i, j, round(w, 6)
        (0, 1, 0.5)
        >>> bracket([1e9, 4e9], [1e9, 8e9])  # on a point; beyond the range
        [(0, 0, 1.0), None]
    """
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


def match_compute(sparse: pd.DataFrame, reference: pd.DataFrame, cost: str, on=("n_nonzero",)) -> pd.DataFrame:
    """Pair every row of `sparse` with the reference curve of its `on` group (e.g. the dense runs of
    its target N over their token budgets) read at the sparse run's training compute, the column
    `cost` of both frames (e.g. model_flops: counted densely; model_flops_sparse: counted
    sparsely), linear in log compute between the curve's two runs around it. Returns the pairs
    frame (module docstring); NaN gap where the compute lies outside the curve's range (the grid
    has no dense run trained that long or that short). Frames need columns id, loss, tokens, cost
    and `on`.

        >>> dense = pd.DataFrame({"id": ["d1", "d2"], "n_nonzero": 100, "tokens": [1000, 4000], "loss": [3.0, 2.6],
        ...                       "model_flops": [1e9, 4e9]})
        >>> sparse = pd.DataFrame({"id": ["s1"], "n_nonzero": [100], "tokens": [1000], "loss": [2.75],
        ...                        "model_flops": [2e9]})
        >>> match_compute(sparse, dense, "model_flops")[["references", "weights", "reference_loss", "gap"]].round(3)
          references     weights  reference_loss   gap
        0   (d1, d2)  (0.5, 0.5)             2.8  0.05
    """
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
    the smallest degrees of freedom any of them rests on (for the t quantile).

        >>> repeats = pd.DataFrame({"n_nonzero": 100, "sparsity": 0.0, "tokens": 1000, "seed": [0, 1, 2],
        ...                         "loss": [3.0, 3.1, 3.2]})
        >>> table = noise.seed_noise(repeats, ["n_nonzero", "sparsity"], by="tokens")
        >>> sigma, dof = run_sigma(pd.DataFrame({"id": ["a", "b"], "tokens": [1000, 1000]}), table)
        >>> sigma.round(3).to_dict(), dof
        ({'a': 0.1, 'b': 0.1}, 2)
    """
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
    seed std (run_sigma). Returns estimate, se, half_width, low, high.

        >>> sigma = pd.Series({"dense": 0.01, "sparse": 0.01})
        >>> found = linear_interval(0.05, pd.Series({"dense": 1.0, "sparse": -1.0}), sigma, dof=8)
        >>> round(found["se"], 4), round(found["low"], 3), round(found["high"], 3)
        (0.0141, 0.017, 0.083)
    """
    weights = pd.Series(weights, dtype=float).groupby(level=0).sum()
    missing = sorted(set(weights.index) - set(sigma.index))
    if missing:
        raise ValueError(f"no seed std for runs {missing[:3]}{' ...' if len(missing) > 3 else ''}")
    se = float(np.sqrt(np.sum(weights.to_numpy() ** 2 * sigma.reindex(weights.index).to_numpy(dtype=float) ** 2)))
    estimate, low, high = noise.t_interval(estimate, se, dof, level)
    return {"estimate": estimate, "se": se, "half_width": high - estimate, "low": low, "high": high}


def gap_weights(pairs: pd.DataFrame) -> pd.Series:
    """The mean gap over the pairs that have a reference, as weights on runs (run id -> weight):
    +w/k on each reference run, -1/k on each sparse run, k the number of such pairs.

        >>> pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d",), ("d",)],
        ...                       "weights": [(1.0,), (1.0,)]})
        >>> gap_weights(pairs).to_dict()
        {'d': 1.0, 's1': -0.5, 's2': -0.5}
    """
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
    in. NaN estimate and interval without pairs.

        >>> pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d",), ("d",)],
        ...                       "weights": [(1.0,), (1.0,)]})
        >>> found = mean_gap(pairs, pd.Series({"d": 0.01, "s1": 0.01, "s2": 0.01}), dof=8)
        >>> round(found["estimate"], 3), round(found["se"], 4), found["pairs"], found["lower"]
        (0.05, 0.0122, 2, 2)
    """
    found = pairs["gap"].dropna()
    counts = {"pairs": len(found), "lower": int((found > 0).sum())}
    if found.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan, **counts}
    return {**linear_interval(found.mean(), gap_weights(pairs), sigma, dof, level), **counts}


def difference(pairs_a: pd.DataFrame, pairs_b: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> dict:
    """Mean gap of pairs_a minus mean gap of pairs_b, with its interval: runs in both count once
    (e.g. the gain of S = 0.875 over that of S = 0.5, both against the same dense runs).

        >>> a = pd.DataFrame({"id": ["a"], "gap": [0.10], "references": [("d",)], "weights": [(1.0,)]})
        >>> b = a.assign(id=["b"], gap=[0.04])
        >>> found = difference(a, b, pd.Series({"d": 0.02, "a": 0.02, "b": 0.02}), dof=8)
        >>> round(found["estimate"], 3), round(found["se"], 4)  # the dense run d drops out: sqrt(2) x 0.02
        (0.06, 0.0283)
    """
    a, b = pairs_a["gap"].dropna(), pairs_b["gap"].dropna()
    if a.empty or b.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan}
    weights = pd.concat([gap_weights(pairs_a), -gap_weights(pairs_b)])
    return linear_interval(a.mean() - b.mean(), weights, sigma, dof, level)


def pair_intervals(pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95) -> pd.DataFrame:
    """Every pair's own gap interval (linear_interval of that pair alone): columns gap, low, high;
    NaN where the pair has no reference.

        >>> pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d",), ("d",)],
        ...                       "weights": [(1.0,), (1.0,)]})
        >>> pair_intervals(pairs, pd.Series({"d": 0.01, "s1": 0.01, "s2": 0.01}), dof=8).round(3)
            gap    low   high
        0  0.04  0.007  0.073
        1  0.06  0.027  0.093
    """
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
    that side), unresolved (the rest).

        >>> pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d",), ("d",)],
        ...                       "weights": [(1.0,), (1.0,)]})
        >>> win_counts(pairs, pd.Series({"d": 0.01, "s1": 0.01, "s2": 0.01}), dof=8)
        {'pairs': 2, 'lower': 2, 'resolved_lower': 2, 'resolved_higher': 0, 'unresolved': 0}
    """
    intervals = pair_intervals(pairs, sigma, dof, level).dropna()
    lower, higher = int((intervals["low"] > 0).sum()), int((intervals["high"] < 0).sum())
    return {"pairs": len(intervals), "lower": int((intervals["gap"] > 0).sum()), "resolved_lower": lower,
            "resolved_higher": higher, "unresolved": len(intervals) - lower - higher}


def learning_rate_table(frame: pd.DataFrame, recipe_lr) -> pd.DataFrame:
    """A learning-rate check read off its runs: one row per (n_nonzero, sparsity) of `frame` (runs
    at several peak rates `lr`, with `d_model` and `loss`): its width, the best rate tried and its
    loss, the recipe's rate `recipe_lr(d_model)` and the loss of the run at that rate (NaN if none
    was trained), and 'recipe - best' (nats; 0 where the recipe's rate is the best tried).

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "lr": [0.005, 0.01, 0.02],
        ...                       "loss": [2.1, 2.05, 2.0]})
        >>> learning_rate_table(frame, lambda d_model: 0.01)[["best lr", "recipe lr", "recipe - best"]].round(3)
           best lr  recipe lr  recipe - best
        0     0.02       0.01           0.05
    """
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


# ------------------------------------------------------------------------------ chapter 1's sections
# Each section of chapter 1 is one call below: it returns the section's claims, tables and the texts
# the chapter glues (glue name -> text), so the notebook only shows and glues them.

SIDES = {+1: "above", -1: "below"}  # where the interval must exclude 0 for a claim of that sign
LR_MARGIN = 0.02  # nats: the most the recipe's learning rate may lose to the best rate tried (long runs)
RECOVERED = "recovered by the sparse run"


def short(x) -> str:
    """A count as the chapter prints it.

        >>> short(13824), short(2400256)
        ('13.8k', '2.4M')
    """
    return plots.short_number(float(x))


def size_points(name: str, value, allow_empty: bool = False) -> list[tuple]:
    """The shape of a chapter parameter that lists [N, S] pairs: a list of distinct two-item lists,
    as tuples, for the chapter to check each item with kit.report.params (positive_int, sparsity); an
    empty list only if allow_empty.

        >>> size_points("recipe_widths", [[13824, 0.0], [110592, 0.0]])
        [(13824, 0.0), (110592, 0.0)]
    """
    if not (isinstance(value, (list, tuple)) and (value or allow_empty)
            and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in value)):
        raise ValueError(f"{name} = {value!r}: need a {'' if allow_empty else 'non-empty '}list of [N, S] pairs, "
                         f"e.g. [[13824, 0.0]]")
    points = [tuple(p) for p in value]
    if len(set(points)) != len(points):
        raise ValueError(f"{name} = {value!r}: every [N, S] pair must be distinct")
    return points


def read_runs(configs, store, corpus) -> pd.DataFrame:
    """Train what `store` lacks of `configs` on `corpus` (kit.engine.sweep.run_sweep), then one row
    per run with the columns the comparisons use: loss (final), N (measured non-zeros), D (tokens
    trained). The main grid's shortest runs, read from runs/ (corpus None: the default corpus):

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(tokens=[600_064]), RunStore("runs"), None)
        >>> len(runs), runs["D"].unique().tolist(), bool((runs["loss"] == runs["final_loss"]).all())
        (20, [600064], True)
    """
    frame = run_sweep(list(configs), store=store, corpus=corpus, progress=False)
    return frame.assign(loss=frame["final_loss"], N=frame["nnz"], D=frame["tokens_trained"])


@dataclass(frozen=True)
class SeedNoise:
    """The seed noise every interval of chapter 1 uses: sigma (run id -> the run's seed std,
    run_sigma), dof (degrees of freedom of the t quantile) and level (coverage).

        >>> floor = SeedNoise(pd.Series({"d": 0.01, "s": 0.01}), dof=8)
        >>> pairs = pd.DataFrame({"id": ["s"], "gap": [0.05], "references": [("d",)], "weights": [(1.0,)]})
        >>> round(floor.t, 3), round(floor.mean_gap(pairs)["half_width"], 4)
        (2.306, 0.0326)
    """

    sigma: pd.Series
    dof: int
    level: float = 0.95

    def mean_gap(self, pairs: pd.DataFrame) -> dict:
        return mean_gap(pairs, self.sigma, self.dof, self.level)

    def difference(self, pairs_a: pd.DataFrame, pairs_b: pd.DataFrame) -> dict:
        return difference(pairs_a, pairs_b, self.sigma, self.dof, self.level)

    def wins(self, pairs: pd.DataFrame) -> dict:
        return win_counts(pairs, self.sigma, self.dof, self.level)

    @property
    def t(self) -> float:
        return float(stats.t.ppf((1 + self.level) / 2, self.dof))


def gaps_by_budget(floor: SeedNoise, pairs: pd.DataFrame, sparse: pd.DataFrame) -> dict:
    """floor.mean_gap of `pairs` at each token budget of `sparse` (their rows align), shortest first,
    labelled as short() writes the budget: the per-budget evidence of direction_claim(budgets=).

        >>> floor = SeedNoise(pd.Series({"d1": 0.01, "d2": 0.01, "s1": 0.01, "s2": 0.01}), dof=8)
        >>> sparse = pd.DataFrame({"tokens": [1_000_000, 4_000_000]})
        >>> pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d1",), ("d2",)],
        ...                       "weights": [(1.0,), (1.0,)]})
        >>> {label: round(f["estimate"], 2) for label, f in gaps_by_budget(floor, pairs, sparse).items()}
        {'1M': 0.04, '4M': 0.06}
    """
    return {short(d): floor.mean_gap(pairs[sparse["tokens"] == d]) for d in sorted(sparse["tokens"].unique())}


def gap_text(found: dict) -> str:
    """A mean gap (mean_gap's dict) as the prose gives it.

        >>> gap_text({"estimate": 0.052, "low": 0.031, "high": 0.073, "pairs": 12, "lower": 11})
        '+0.052 nats [+0.031, +0.073] over 12 pairs, the sparse run lower in 11'
    """
    if not found["pairs"]:
        return "– (no pair in the grid)"
    return (f"{claims.interval_text(found['estimate'], found['low'], found['high'], '+.3f', ' nats')} "
            f"over {found['pairs']} pair{'s' if found['pairs'] != 1 else ''}, the sparse run lower in {found['lower']}")


def interval_cell(found: dict) -> str:
    """A mean gap (mean_gap's dict) as a table cell, '–' without pairs.

        >>> interval_cell({"estimate": 0.052, "low": 0.031, "high": 0.073, "pairs": 12}), interval_cell({"pairs": 0})
        ('+0.052 [+0.031, +0.073]', '–')
    """
    return "–" if not found["pairs"] else claims.interval_text(found["estimate"], found["low"], found["high"], "+.3f")


def _range_text(values) -> str:
    values = sorted(values)
    return "–" if not values else short(values[0]) if values[0] == values[-1] else f"{short(values[0])} to {short(values[-1])}"


def direction_claim(key: str, paper: str, statement: str, section: str, measured: str, found: dict, sign: int, *,
                    kind: str, scope: str | None = None, rule_after: bool = False, paper_value: str | None = None,
                    quantity: str = "the mean gap", unit: str = " nats", fmt: str = "+.3f", level: float = 0.95,
                    note: str = "", budgets: dict | None = None) -> Claim:
    """A kit.report.claims.Claim tested by a direction rule on a gap that mean_gap or difference found:
    verdict and reason from kit.report.claims.direction_verdict (sign +1: the claim says the gap is
    positive); 'not resolved' where found has no estimate (the grid holds no pair). The rule reads
    'Holds if the <level> interval of <measured> excludes 0 <above|below><note>.', from the same sign
    the verdict uses. our_runs is the interval as text; numbers are found's entries.

    With `budgets` ({budget label: mean_gap's dict at that token budget}), the verdict is judged per
    budget instead, so it cannot be a property of the grid's budget mix: holds if the rule holds at
    every budget with pairs, does not hold if it does not hold at every one, and is not resolved
    otherwise (the reason names each budget's verdict); `found`, the mean over all budgets, is
    reported beside it, and the numbers gain each budget's estimate, low and high.

        >>> found = {"estimate": 0.05, "low": 0.02, "high": 0.08, "pairs": 4, "lower": 4}
        >>> claim = direction_claim("fair-x", "Frantar et al. 2024", "Sparse wins.", "ch1-x", "the mean gap", found, +1,
        ...                         kind="own runs")
        >>> claim.verdict, claim.our_runs, claim.rule
        ('holds', '+0.050 nats [+0.020, +0.080]', 'Holds if the 95% interval of the mean gap excludes 0 above.')
        >>> by_d = {"1M": {"estimate": -0.04, "low": -0.06, "high": -0.02, "pairs": 2, "lower": 0},
        ...         "4M": {"estimate": 0.06, "low": 0.03, "high": 0.09, "pairs": 2, "lower": 2}}
        >>> claim = direction_claim("fair-x", "Frantar et al. 2024", "Sparse wins.", "ch1-x", "the mean gap", found, +1,
        ...                         kind="own runs", budgets=by_d)
        >>> claim.verdict, claim.reason
        ('not resolved', 'The verdict changes with the budget: does not hold at 1M (-0.040 nats [-0.060, -0.020]), holds
          at 4M (+0.060 nats [+0.030, +0.090]); the mean over all budgets is +0.050 nats [+0.020, +0.080].')
    """
    if sign not in SIDES:
        raise ValueError(f"sign = {sign!r}: need +1 (the claim says positive) or -1")
    rule = f"Holds if the {level:.0%} interval of {measured} excludes 0 {SIDES[sign]}{note}."
    numbers = {name: float(value) for name, value in found.items()}
    ours = (claims.interval_text(numbers["estimate"], numbers["low"], numbers["high"], fmt, unit)
            if np.isfinite(numbers["estimate"]) else None)
    if budgets is not None:
        rule = (f"At every token budget on its own: holds if the {level:.0%} interval of {measured} excludes 0 "
                f"{SIDES[sign]}{note} at every budget with pairs, does not hold if it excludes 0 {SIDES[-sign]} at "
                f"every one; otherwise not resolved (the mean over all budgets is reported, not judged).")
        judged = {label: (claims.direction_verdict(f["estimate"], f["low"], f["high"], sign, quantity=quantity, unit=unit,
                                                   fmt=fmt)[0], claims.interval_text(f["estimate"], f["low"], f["high"], fmt, unit))
                  for label, f in budgets.items() if f["pairs"]}
        numbers |= {f"{end} {label}": float(f[end]) for label, f in budgets.items() if f["pairs"] for end in ("estimate", "low", "high")}
        verdicts = {v for v, _ in judged.values()}
        each = ", ".join(f"{v} at {label} ({text})" for label, (v, text) in judged.items())
        mean = f"; the mean over all budgets is {ours}."
        if not judged:
            verdict, reason = "not resolved", "The grid holds no pair of runs for this comparison."
        elif len(verdicts) == 1 and verdicts != {"not resolved"}:
            verdict = verdicts.pop()
            reason = f"The rule gives '{verdict}' at every budget: {each}{mean}"
        elif {"holds", "does not hold"} <= verdicts:
            verdict, reason = "not resolved", f"The verdict changes with the budget: {each}{mean}"
        else:
            some = "every" if verdicts == {"not resolved"} else "some"
            verdict, reason = "not resolved", f"Not resolved at {some} budget: {each}{mean}"
    elif np.isfinite(numbers["estimate"]):
        verdict, reason = claims.direction_verdict(numbers["estimate"], numbers["low"], numbers["high"], sign,
                                                   quantity=quantity, unit=unit, fmt=fmt)
    else:
        verdict, reason = "not resolved", "The grid holds no pair of runs for this comparison."
    return claims.Claim(key, paper, statement, section, paper_value, None, ours, verdict, rule, reason,
                        {name: value for name, value in numbers.items() if np.isfinite(value)},
                        kind=kind, scope=scope, rule_after=rule_after)


def verdict_texts(claim_list) -> dict:
    """{'<key>_verdict': 'holds' | 'does not hold' | 'is not resolved'} for the prose.

        >>> found = {"estimate": 0.05, "low": 0.02, "high": 0.08, "pairs": 4, "lower": 4}
        >>> verdict_texts([direction_claim("fair-x", "Frantar et al. 2024", "Sparse wins.", "ch1-x", "the mean gap",
        ...                                found, +1, kind="own runs")])
        {'fair-x_verdict': 'holds'}
    """
    return {f"{c.key}_verdict": claims.verb(c.verdict) for c in claim_list}


# ---- the grid, the model family, the corpora

def grid_table(configs, n_nonzero, tokens, sparsities, finished: int, failed: int) -> tuple[pd.DataFrame, dict]:
    """The main grid in one column (its sizes, sparsities, budgets, widths, pruning, runs) and the
    texts about the model family: layers, context, tokens_per_step, width_multiple.

        >>> table, texts = grid_table(grids.main_grid(), *grids.MAIN.values(), finished=80, failed=0)
        >>> table.loc["model widths d_model", "main grid"], texts["tokens_per_step"]
        ('16, 24, 32, 48, 64, 96, 136, 192', '2,048')
    """
    first = configs[0]
    widths = sorted({model.shape_for(c).d_model for c in configs})
    table = pd.DataFrame({"main grid": {
        "target non-zeros N": ", ".join(short(n) for n in n_nonzero),
        "sparsities S": ", ".join(f"{s:g}" for s in sparsities),
        "token budgets D (steps)": ", ".join(f"{short(d)} ({d // first.tokens_per_step:,})" for d in tokens),
        "tokens per target non-zero D/N": f"{min(tokens) / max(n_nonzero):.3g} to {max(tokens) / min(n_nonzero):.3g}",
        "model widths d_model": ", ".join(str(d) for d in widths),
        "pruning": f"{first.schedule}, {first.prune_start:.0%} to {first.prune_end:.0%} of the steps, "
                   f"masks updated every {first.prune_every:.0%}",
        "runs requested, finished": f"{len(configs)}, {finished}",
        "runs of this chapter that failed (all grids)": f"{failed}",
    }}).rename_axis("")
    texts = {"layers": f"{first.n_layers}", "context": f"{first.seq_len}",
             "tokens_per_step": f"{first.tokens_per_step:,}", "width_multiple": f"{first.width_multiple}"}
    return table, texts


SIZE_FORMATS = {"N target": "{:,}".format, "S": "{:g}", "N": "{:,}".format, "embedding": "{:,}".format,
                "embedding kept": "{:,}".format, "N_total": "{:,}".format, "uncounted / N": "{:.0%}",
                "if whole / N": "{:.0%}", "FLOPs/token": short, "sparse FLOPs/token": short, "model / 6ND": "{:.2f}"}


def size_table(configs) -> tuple[pd.DataFrame, dict]:
    """Every model of `configs` at the first config's budget (kit.engine.model.size_row): width,
    heads, measured N, embedding (whole and kept), N_total, the uncounted share of N (and with the
    embedding whole), FLOPs per token (dense-shaped and at the final non-zeros) and model FLOPs over
    6N; and the texts the prose quotes. Format with SIZE_FORMATS.

        >>> table, texts = size_table(grids.main_grid())
        >>> table.shape, texts["uncounted_max"], texts["whole_max_at"]
        ((20, 11), '33%', 'N = 13.8k, S = 0.875')
    """
    size = pd.DataFrame([model.size_row(c) for c in configs if c.tokens == configs[0].tokens])
    size = size.assign(**{"embedding whole / N": size["embedding"] / size["N"],
                          "model FLOPs / 6N": size["FLOPs/token (dense-shaped)"] / (6 * size["dense backbone"])})
    table = size.set_index(["N target", "S"])[[
        "d_model", "heads", "N", "embedding", "embedding non-zeros", "N_total", "uncounted / N", "embedding whole / N",
        "FLOPs/token (dense-shaped)", "FLOPs/token (final non-zeros)", "model FLOPs / 6N"]].rename(columns={
            "embedding non-zeros": "embedding kept", "embedding whole / N": "if whole / N",
            "FLOPs/token (dense-shaped)": "FLOPs/token", "FLOPs/token (final non-zeros)": "sparse FLOPs/token",
            "model FLOPs / 6N": "model / 6ND"})
    dense = size[size["S"] == 0]
    over = dense[dense["uncounted / N"] > 0.2]
    widest = size.loc[size["embedding whole / N"].idxmax()]
    texts = {"uncounted_max": f"{dense['uncounted / N'].max():.0%}", "uncounted_min": f"{dense['uncounted / N'].min():.0%}",
             "uncounted_over_20": ", ".join(short(n) for n in over["N target"]) if len(over) else "none of the sizes",
             "whole_max": f"{size['embedding whole / N'].max():.0%}",
             "whole_max_at": f"N = {short(widest['N target'])}, S = {widest['S']:g}",
             "flops_ratio_small": f"{dense['model FLOPs / 6N'].iloc[0]:.2f}x",
             "flops_ratio_large": f"{dense['model FLOPs / 6N'].iloc[-1]:.2f}x",
             "d_small": f"{dense['d_model'].iloc[0]}", "d_large": f"{dense['d_model'].iloc[-1]}"}
    return table, texts


def corpus_table(names, longest_budget: int) -> tuple[pd.DataFrame, list[str], dict]:
    """The corpora `names` side by side (kit.engine.data.corpus_summary), a sample of each as
    markdown, and the texts: <name>_tokens, pycode_passes (pycode's training tokens over
    longest_budget) when pycode is among them.

        >>> table, samples, texts = corpus_table(["shakespeare"], 4_800_512)
        >>> table.loc["documents, train / validation", "shakespeare"], texts
        ('35 / 3', {'shakespeare_tokens': '4.86M'})
    """
    found = {name: data.corpus_summary(data.load_corpus(name)) for name in names}
    table = pd.DataFrame({name: {
        "documents, train / validation": f"{s['train_documents']:,} / {s['val_documents']:,}",
        "bytes, train / validation": f"{s['train_bytes']:,} / {s['val_bytes']:,}",
        "training tokens at seq_len 64": f"{s['train_tokens']:,}",
        "byte entropy (bits per byte)": f"{s['bits_per_byte']:.3f}",
        "fingerprint": s["fingerprint"][:16] + "…",
    } for name, s in found.items()}).rename_axis("")
    samples = [f"A sample of **{name}** (from `{s['sample_document']}`):\n\n```text\n{s['sample'].strip()}\n```"
               for name, s in found.items()]
    texts = {f"{name}_tokens": short(s["train_tokens"]) for name, s in found.items()}
    if "pycode" in found:
        texts["pycode_passes"] = f"{found['pycode']['train_tokens'] / longest_budget:.0f}"
    return table, samples, texts


# ---- the training recipe

RECIPE_FORMATS = {"best rate of the check": "{:.3g}", "its loss": "{:.3f}", "the rule's rate": "{:.3g}",
                  "loss at the rule's rate": "{:.3f}", "rule − best (nats)": "{:+.3f}"}


@dataclass(frozen=True)
class RecipeCheck:
    """The recipe check read off its runs: by_lr (the runs at the check's rates and the base batch),
    stars (the main grid's runs at the recipe's rate with the check's sizes and tokens), d_models
    (the width of each [N, S] checked), table (per width: the best rate tried and its loss, the
    rule's rate and its loss, rule − best) and texts.

        >>> check = RecipeCheck(by_lr=pd.DataFrame(), stars=pd.DataFrame(), d_models=[16], lrs=[0.01], tokens=1_200_128,
        ...                     batch=32, table=pd.DataFrame(), texts={})
        >>> check.d_models, check.batch
        ([16], 32)
    """

    by_lr: pd.DataFrame
    stars: pd.DataFrame
    d_models: list
    lrs: list
    tokens: int
    batch: int
    table: pd.DataFrame
    texts: dict


def recipe_check(recipe: pd.DataFrame, runs: pd.DataFrame, widths, lrs, tokens: int, base) -> RecipeCheck:
    """The learning-rate check of the recipe (kit.engine.grids.RECIPE): `recipe` its runs, `runs` the
    main grid's, `widths` its [N, S] pairs, `lrs` its rates, `tokens` its budget, `base` the RunConfig
    the chapter trains with; the frames from read_runs:

        >>> from kit.engine.store import RunStore
        >>> recipe, runs = (read_runs(g, RunStore("runs"), None) for g in (grids.recipe_grid(), grids.main_grid()))
        >>> check = recipe_check(recipe, runs, grids.RECIPE["widths"], grids.RECIPE["lrs"], grids.RECIPE["tokens"],
        ...                      grids.BASE)
        >>> check.d_models, list(check.table.columns)
        ([16, 48, 192], ['best rate of the check', 'its loss', "the rule's rate", "loss at the rule's rate",
                         'rule − best (nats)'])
    """
    by_lr = recipe[(recipe["batch_size"] == base.batch_size) & recipe["lr"].isin(lrs)]
    d_models = [model.shape_for(base.replace(n_nonzero=n, sparsity=s)).d_model for n, s in widths]
    stars = runs[runs["tokens"] == tokens].merge(pd.DataFrame(widths, columns=["n_nonzero", "sparsity"]))
    rows = {}
    for d in d_models:
        at, star = by_lr[by_lr["d_model"] == d], stars[stars["d_model"] == d]
        if at.empty:
            continue
        top = at.loc[at["loss"].idxmin()]
        rows[d] = {"best rate of the check": top["lr"], "its loss": top["loss"], "the rule's rate": grids.recipe_lr(d),
                   "loss at the rule's rate": star["loss"].iloc[0] if len(star) else np.nan}
    table = pd.DataFrame(rows).T.rename_axis("d_model")
    table["rule − best (nats)"] = table["loss at the rule's rate"] - table["its loss"]
    narrow = table["rule − best (nats)"].iloc[0] if len(table) else np.nan
    narrow_best = table["best rate of the check"].iloc[0] if len(table) else np.nan
    texts = {"recipe_narrow_gap": f"{narrow:.3f}" if np.isfinite(narrow) else "–",
             "recipe_narrow_d": f"{table.index[0]}" if len(table) else "–",
             "recipe_narrow_best": "–" if not np.isfinite(narrow_best) else
             f"{narrow_best:g}" + (", the largest tried" if narrow_best == max(lrs) else ""),
             "recipe_other_gaps": " and ".join(f"{g:+.3f}" if np.isfinite(g) else "–"
                                               for g in table["rule − best (nats)"].iloc[1:]) or "–",
             "recipe_n_lrs": f"{len(lrs)}", "recipe_widths_text": ", ".join(str(d) for d in d_models),
             "recipe_tokens": short(tokens)}
    return RecipeCheck(by_lr, stars, d_models, list(lrs), tokens, base.batch_size, table, texts)


def _width_colours(d_models) -> dict:
    # widths, not sparsities: evenly spaced along viridis
    cmap = matplotlib.colormaps["viridis"]
    return {d: cmap(0.9 * i / max(len(d_models) - 1, 1)) for i, d in enumerate(d_models)}


def _plain_log_ticks(axis, fixed=None) -> None:
    if fixed is not None:
        axis.set_major_locator(matplotlib.ticker.FixedLocator(fixed))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def plot_recipe(check: RecipeCheck, main_widths):
    """Two panels: loss against the peak learning rate at each width of the check (stars: the main
    grid's runs at the recipe's rate), and the recipe's rate against the width with each width's
    best rate of the check. Returns the figure.

        >>> from kit.engine.store import RunStore
        >>> recipe, runs = (read_runs(g, RunStore("runs"), None) for g in (grids.recipe_grid(), grids.main_grid()))
        >>> check = recipe_check(recipe, runs, grids.RECIPE["widths"], grids.RECIPE["lrs"], grids.RECIPE["tokens"],
        ...                      grids.BASE)
        >>> fig = plot_recipe(check, [16, 24, 32, 48, 64, 96, 136, 192])
        >>> [ax.get_xlabel() for ax in fig.axes]
        ['peak learning rate', 'd_model']
        >>> matplotlib.pyplot.close(fig)
    """
    fig, axes = plots.panel_grid(2, aspect=0.75)
    colours, best = _width_colours(check.d_models), {}
    for d in check.d_models:
        at = check.by_lr[check.by_lr["d_model"] == d].sort_values("lr")
        if at.empty:
            continue
        axes[0].plot(at["lr"], at["loss"], "o-", color=colours[d], label=f"d_model = {d}")
        best[d] = float(at.loc[at["loss"].idxmin(), "lr"])
        star = check.stars[check.stars["d_model"] == d]
        axes[0].plot(star["lr"], star["loss"], "*", ms=13, color=colours[d], mec="k", mew=0.6)
    if len(check.stars):
        axes[0].plot([], [], "*", ms=13, color="0.85", mec="k", mew=0.6, label="the recipe's rate (main grid)")
    axes[0].set(xscale="log", xlabel="peak learning rate", ylabel="validation loss (nats)",
                title=f"{short(check.tokens)} tokens, batch {check.batch}")
    d_line = np.geomspace(min(check.d_models + list(main_widths)) * 0.8, max(check.d_models + list(main_widths)) * 1.25)
    axes[1].plot(d_line, [grids.recipe_lr(d) for d in d_line], "k-", lw=1,
                 label=r"recipe: $6.5\times10^{-3}(48/d)^{0.5}$")
    for d, lr in best.items():
        axes[1].plot(d, lr, "o", color=colours[d], ms=8)
    axes[1].plot(main_widths, [grids.recipe_lr(d) for d in main_widths], "|", color="k", ms=12,
                 label="the main grid's widths")
    axes[1].set(xscale="log", yscale="log", xlabel="d_model", ylabel="learning rate", title="best rate of the check (dots)")
    _plain_log_ticks(axes[0].xaxis, check.lrs)
    _plain_log_ticks(axes[1].xaxis, sorted(set(check.d_models + list(main_widths))))
    axes[1].yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 3.0)))
    _plain_log_ticks(axes[1].yaxis)
    plots.legend_outside(fig, where="below", ncols=3)
    return fig


BATCH_FORMATS = {"validation loss": "{:.3f}", "training loop (s)": "{:.0f}", "peak learning rate": "{:.3g}"}


def batch_table(recipe: pd.DataFrame, n_nonzero: int, sparsity: float, base_batch: int) -> tuple[pd.DataFrame, dict]:
    """The batch-size comparison of the recipe check at (n_nonzero, sparsity) and the recipe's rate:
    one row per batch size; texts batch_cost (loss of the largest batch minus the smallest) and batch_base.

        >>> from kit.engine.store import RunStore
        >>> table, texts = batch_table(read_runs(grids.recipe_grid(), RunStore("runs"), None), 110_592, 0.0, 32)
        >>> table[["d_model", "steps", "peak learning rate"]]
               d_model  steps  peak learning rate
        batch
        32          48    586              0.0065
        64          48    293              0.0065
    """
    at = recipe[(recipe["n_nonzero"] == n_nonzero) & (recipe["sparsity"] == sparsity)
                & np.isclose(recipe["lr"], [grids.recipe_lr(d) for d in recipe["d_model"]])]
    at = at.sort_values("batch_size").drop_duplicates("batch_size")
    table = at.set_index("batch_size")[["d_model", "steps", "lr", "loss", "wall_s"]].rename_axis("batch").rename(
        columns={"lr": "peak learning rate", "loss": "validation loss", "wall_s": "training loop (s)"})
    losses = at.set_index("batch_size")["loss"]
    return table, {"batch_cost": f"{losses.iloc[-1] - losses.iloc[0]:+.3f}" if len(losses) > 1 else "–",
                   "batch_base": f"{base_batch}"}


# ---- the noise floor

NOISE_FORMATS = {"std of one run (nats)": "{:.4f}", "std of a difference, x sqrt 2": "{:.4f}"}


def seed_noise_section(repeats: pd.DataFrame, runs: pd.DataFrame, tokens_per_step: int,
                       level: float) -> tuple[SeedNoise, pd.DataFrame, dict]:
    """The seed noise from the seed repeats (kit.fit.noise.seed_noise per budget), read off for every
    run of `runs` (run_sigma): the SeedNoise, the table per budget (format with NOISE_FORMATS) and the
    texts. `repeats` needs a seed column:

        >>> from kit.engine.store import RunStore
        >>> seed_runs = read_runs(grids.seed_grid(), RunStore("runs"), None)
        >>> floor, table, texts = seed_noise_section(seed_runs, seed_runs, 2048, 0.95)
        >>> floor.dof, list(table.index), texts["n_seeds"]
        (8, ['600k', '2.4M'], '5')
    """
    table = noise.seed_noise(repeats, ["n_nonzero", "sparsity"], by="tokens")
    found = SeedNoise(*run_sigma(runs, table), level)
    shown = table.assign(steps=(table.index // tokens_per_step).astype(int), pair=np.sqrt(2) * table["sigma"])
    shown = shown[["steps", "points", "runs", "dof", "sigma", "pair"]].rename(columns={
        "sigma": "std of one run (nats)", "pair": "std of a difference, x sqrt 2", "dof": "degrees of freedom",
        "points": "models"})
    shown.index = [short(d) for d in shown.index]
    texts = {"n_seeds": f"{repeats['seed'].nunique()}",
             "seed_desc": "the models of N = " + ", ".join(short(n) for n in sorted(repeats["n_nonzero"].unique()))
             + " at S = " + ", ".join(f"{s:g}" for s in sorted(repeats["sparsity"].unique())),
             "seed_budgets": " and ".join(short(d) for d in sorted(repeats["tokens"].unique())),
             "noise_stds": " and ".join(f"{s:.4f} nats at {short(d)} tokens" for d, s in table["sigma"].items()),
             "noise_pair_half": " and ".join(f"{found.t * np.sqrt(2) * s:.3f}" for s in table["sigma"]),
             "noise_dof": f"{found.dof}", "level": f"{level:.0%}", "t_level": f"{found.t:.2f}"}
    return found, shown.rename_axis("tokens D"), texts


# ---- the three axes of Section 2

COSTS = {"model_flops": "model FLOPs, dense count", "model_flops_sparse": "model FLOPs, sparse count",
         "dense_flops": "6ND, dense count", "sparse_flops": "6ND, sparse count"}


def reference_pairs(sparse: pd.DataFrame, dense: pd.DataFrame) -> dict:
    """Every reference of chapter 1 for every sparse run (pairs frames, module docstring): 'initial'
    (dense, same width, D/2), 'width' (dense, same width, D), 'equal N' (dense, equal N and D) and,
    for each cost of COSTS, the dense curve of equal N read at the sparse run's compute. How many of
    the main grid's 60 sparse runs have each reference:

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> {name: int(p["gap"].notna().sum()) for name, p in reference_pairs(sparse, dense).items()}
        {'initial': 27, 'width': 36, 'equal N': 60, 'model_flops': 28, 'model_flops_sparse': 36, 'dense_flops': 22,
         'sparse_flops': 32}
    """
    pairs = {"initial": match(sparse, dense, ["d_model"], tokens_ratio=0.5), "width": match(sparse, dense, ["d_model"]),
             "equal N": match(sparse, dense, ["n_nonzero"])}
    return {**pairs, **{cost: match_compute(sparse, dense, cost) for cost in COSTS}}


DATA_FORMATS = {"runs with both": "{:.0f}", "dense gain from D/2 to D (nats)": "{:.3f}", RECOVERED: "{:.0%}"}


def training_data(pairs: dict, sparse: pd.DataFrame, floor: SeedNoise, paper: str) -> tuple[list, pd.DataFrame, dict]:
    """Section 2's training-data axis: the claims (against the initial model the sparse run looks
    better; the dense model trained as long is more accurate), the table by sparsity (both gaps, and
    what share of a doubling of D the sparse run recovers; format with DATA_FORMATS) and the texts.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> floor = seed_noise_section(read_runs(grids.seed_grid(), RunStore("runs"), None), runs, 2048, 0.95)[0]
        >>> found, table, texts = training_data(reference_pairs(sparse, dense), sparse, floor, "Frantar et al. 2024")
        >>> [claim.key for claim in found], list(table.index)
        (['fair-data-initial', 'fair-data-trained'], ['0.5', '0.75', '0.875', 'all'])
    """
    found = {name: floor.mean_gap(pairs[name]) for name in ("initial", "width")}
    scope = f"S {_range_text(sparse['sparsity'].unique())}, D {_range_text(sparse['tokens'])}"
    claim_list = [
        direction_claim(
            "fair-data-initial", paper,
            "Against its initial dense model, which saw half its training tokens, a sparse model looks better "
            "(the comparison Section 2 calls unfair).", "ch1-training-data",
            "the mean gap, dense model of the same width at D/2 minus sparse model at D,", found["initial"], +1,
            kind="own runs", scope=scope, level=floor.level, note=" (the sparse run lower)",
            quantity="the mean gap (initial dense − sparse)", rule_after=True,
            budgets=gaps_by_budget(floor, pairs["initial"], sparse)),
        direction_claim(
            "fair-data-trained", paper,
            "A dense model trained as long as the sparse model pruned from it is more accurate than the sparse model "
            "(Section 2: it 'will likely be significantly more accurate').", "ch1-training-data",
            "the mean gap, dense model of the same width minus sparse model at equal D,", found["width"], -1,
            kind="own runs", scope=scope, level=floor.level, note=" (the dense run lower)",
            paper_value="dense more accurate", quantity="the mean gap (dense − sparse)", rule_after=True,
            budgets=gaps_by_budget(floor, pairs["width"], sparse)),
    ]
    both = sparse.assign(initial=pairs["initial"]["gap"], width=pairs["width"]["gap"]).dropna(subset=["initial", "width"])
    both = both.assign(doubling=both["initial"] - both["width"])
    rows = {}
    for s in [*sorted(sparse["sparsity"].unique()), None]:
        at = sparse["sparsity"] == s if s is not None else sparse["sparsity"] > 0
        mine = both if s is None else both[both["sparsity"] == s]
        rows["all" if s is None else f"{s:g}"] = {
            "against the initial model (D/2)": interval_cell(floor.mean_gap(pairs["initial"][at])),
            "against the dense model trained as long (D)": interval_cell(floor.mean_gap(pairs["width"][at])),
            "runs with both": len(mine),
            "dense gain from D/2 to D (nats)": mine["doubling"].mean() if len(mine) else np.nan,
            RECOVERED: mine["initial"].mean() / mine["doubling"].mean() if len(mine) else np.nan}
    table = pd.DataFrame(rows).T.rename_axis("S")
    recovered = table[RECOVERED].drop("all").dropna()
    texts = {"data_initial": gap_text(found["initial"]), "data_width": gap_text(found["width"]),
             "recovered_low": f"{recovered.iloc[0]:.0%} at S = {recovered.index[0]}" if len(recovered) else "–",
             "recovered_high": f"{recovered.iloc[-1]:.0%} at S = {recovered.index[-1]}" if len(recovered) else "–",
             "initial_high": f"{table['against the initial model (D/2)'].iloc[-2]} nats at S = {table.index[-2]}",
             **verdict_texts(claim_list)}
    return claim_list, table, texts


def model_size(pairs: dict, sparse: pd.DataFrame, dense: pd.DataFrame, floor: SeedNoise,
               paper: str) -> tuple[list, pd.DataFrame, pd.DataFrame, dict]:
    """Section 2's model-size axis: the claim (at equal N and D sparse is lower; whether its advantage
    grows with S is chapter 2b's claim core-diminishing-ours, so here only a number: size_grows, the
    gap at the highest S minus that at the lowest), the gaps by sparsity (same width and equal N),
    the equal-N gap by token budget, and the texts (among them what the width rounding is worth).

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> floor = seed_noise_section(read_runs(grids.seed_grid(), RunStore("runs"), None), runs, 2048, 0.95)[0]
        >>> pairs = reference_pairs(sparse, dense)
        >>> found, by_s, by_d, texts = model_size(pairs, sparse, dense, floor, "Frantar et al. 2024")
        >>> [claim.key for claim in found], list(by_s.index), list(by_d.index)
        (['fair-size-equal-n'], ['0.5', '0.75', '0.875'], ['600k', '1.2M', '2.4M', '4.8M'])
    """
    equal_n = pairs["equal N"]
    by_sparsity = {s: equal_n[sparse["sparsity"] == s] for s in sorted(sparse["sparsity"].unique())}
    low_s, high_s = min(by_sparsity), max(by_sparsity)
    found = floor.mean_gap(equal_n)
    grows = floor.difference(by_sparsity[high_s], by_sparsity[low_s])
    d_short, d_long = sparse["tokens"].min(), sparse["tokens"].max()
    short_gap = floor.mean_gap(equal_n[sparse["tokens"] == d_short])
    long_gap = floor.mean_gap(equal_n[sparse["tokens"] == d_long])
    over_d = floor.difference(equal_n[sparse["tokens"] == d_long], equal_n[sparse["tokens"] == d_short])
    grid = (f"N {_range_text(sparse['n_nonzero'])}, D {_range_text(sparse['tokens'])} tokens "
            f"({sparse['steps'].min():,} to {sparse['steps'].max():,} steps), S {_range_text(sparse['sparsity'].unique())}")
    flips = short_gap["pairs"] and long_gap["pairs"] and np.sign(short_gap["estimate"]) != np.sign(long_gap["estimate"])
    sign_change = ("" if not (short_gap["pairs"] and long_gap["pairs"]) else
                   f"; the gap {'changes sign' if flips else 'moves'} with D: dense − sparse "
                   f"{short_gap['estimate']:+.3f} nats at {short(d_short)} tokens, {long_gap['estimate']:+.3f} at {short(d_long)}")
    claim_list = [
        direction_claim(
            "fair-size-equal-n", paper,
            "At equal non-zero parameters $N$ and training tokens $D$, a sparse model reaches a lower loss than the "
            "dense one, on average over the grid's pairs (Section 3.2: 'the higher the sparsity the lower the loss'; "
            "here as Section 2's fair reference for size, run against run and over all sparsities, where chapter 2 "
            "tests the same sentence step by step in $S$, with whether the advantage grows and by how much less each step: claim core-diminishing-ours).", "ch1-model-size",
            "the mean gap, dense minus sparse loss at equal N and D,", found, +1, kind="own runs",
            scope=f"mean over {found['pairs']} pairs at {grid}{sign_change}", level=floor.level,
            paper_value="sparse lower (Fig. 2)", quantity="the mean gap (dense − sparse)", rule_after=True,
            budgets=gaps_by_budget(floor, equal_n, sparse)),
    ]
    sizes = pd.DataFrame({f"{s:g}": {"pairs (equal N)": floor.mean_gap(p)["pairs"], "sparse lower": floor.mean_gap(p)["lower"],
                                     "mean gap, same width": interval_cell(floor.mean_gap(pairs["width"][sparse["sparsity"] == s])),
                                     "mean gap, equal N": interval_cell(floor.mean_gap(p))}
                          for s, p in by_sparsity.items()}).T.rename_axis("S")
    by_tokens = {}
    for d in sorted(sparse["tokens"].unique()):
        at = sparse["tokens"] == d
        by_tokens[short(d)] = {**{f"S = {s:g}": interval_cell(floor.mean_gap(equal_n[at & (sparse["sparsity"] == s)]))
                                  for s in by_sparsity},
                               "all S": interval_cell(floor.mean_gap(equal_n[at])),
                               "sparse lower": f"{floor.mean_gap(equal_n[at])['lower']} of "
                                               f"{int(equal_n[at]['gap'].notna().sum())}"}
    # What the width rounding is worth: measured N of the equal-N pairs, and the dense runs' loss change per
    # doubling of N at fixed D.
    paired = equal_n.dropna(subset=["gap"])
    n_ratio = np.log2(dense.set_index("id").loc[[r[0] for r in paired["references"]], "N"].to_numpy()
                      / sparse.loc[paired.index, "N"].to_numpy())
    slopes = [np.polyfit(np.log2(g["N"]), g["loss"], 1)[0] for _, g in dense.groupby("tokens") if g["N"].nunique() > 1]
    slope = float(np.mean(slopes)) if slopes else np.nan
    mean = lambda found: "–" if not found["pairs"] else f"{found['estimate']:+.3f} nats"
    texts = {"d_short": short(d_short), "d_long": short(d_long), "size_gap_short": gap_text(short_gap),
             "size_short_mean": mean(short_gap), "size_long_mean": mean(long_gap),
             "size_d_change": "changes sign" if flips else "changes",
             "size_gap_long": gap_text(long_gap),
             "size_over_d": claims.interval_text(over_d["estimate"], over_d["low"], over_d["high"], "+.3f", " nats")
             if np.isfinite(over_d["estimate"]) else "–",
             "size_equal_n": gap_text(found),
             "size_grows": claims.interval_text(grows["estimate"], grows["low"], grows["high"], "+.3f", " nats")
             if np.isfinite(grows["estimate"]) else "–",
             "s_low": f"{low_s:g}", "s_high": f"{high_s:g}",
             "n_mismatch": f"{np.exp2(np.abs(n_ratio).max()) - 1:.0%}" if len(n_ratio) else "–",
             "n_mismatch_mean": f"{np.mean(n_ratio):+.2f}" if len(n_ratio) else "–", "dense_slope": f"{slope:+.3f}",
             "n_mismatch_worth": f"{abs(slope * np.mean(n_ratio)):.3f}" if len(n_ratio) else "–",
             "n_mismatch_side": "–" if not len(n_ratio) else "the sparse runs'" if slope * np.mean(n_ratio) > 0
             else "the dense runs'", "size_equal_n_half": f"{found['half_width']:.3f}", **verdict_texts(claim_list)}
    return claim_list, sizes, pd.DataFrame(by_tokens).T.rename_axis("tokens D"), texts


V3_SIZE_TEXTS = ("v3_size_equal_n", "v3_size_verdict", "v3_size_stored", "v3_size_reason")  # grid_v3_size's texts


def grid_v3_size(runs_dir, paper: str, level: float = 0.95, planned: int = 36):
    """The model-size comparison (model_size: dense minus sparse at equal N and D, judged at each
    budget) on grid v3 as stored in runs_dir (kit.chapters.corelaw.our_runs_v3, nothing trained),
    with the seed noise of grid v3's own seed pairs: (claims, key "fair-size-equal-n-v3"; the
    gap by budget and sparsity; grid v3's stored frames by part, for cost_table; texts
    V3_SIZE_TEXTS). Without a pilot, dense and sparse runs or seed pairs stored: ([], None, {},
    every text "–").

        >>> found, by_d, frames, texts = grid_v3_size(None, "Frantar et al. 2024")
        >>> [c.key for c in found], list(frames)[:2], list(by_d.columns[-1:])
        (['fair-size-equal-n-v3'], ['grid v3 (pycode), stored so far', 'grid v3 seed repeats'], ['sparse lower'])
        >>> grid_v3_size("/nonexistent", "Frantar et al. 2024")[3]["v3_size_verdict"]
        '–'
    """
    from kit.chapters import corelaw  # grid v3's reading lives there

    nothing = [], None, {}, dict.fromkeys(V3_SIZE_TEXTS, "–")
    try:
        runs = corelaw.our_runs_v3(runs_dir, train=False)
    except (ValueError, OSError):  # no pilot to size grid v3, or no store at all
        return nothing
    main = runs.main
    if main.empty or runs.repeats.empty or not (main["sparsity"] == 0).any() or not (main["sparsity"] > 0).any():
        return nothing
    main = main.sort_values(["sparsity", "n_nonzero", "tokens"]).reset_index(drop=True)
    dense, sparse = main[main["sparsity"] == 0], main[main["sparsity"] > 0]
    floor = seed_noise_section(runs.repeats, main, grids.STEP_TOKENS, level)[0]
    found, _, by_d, texts = model_size(reference_pairs(sparse, dense), sparse, dense, floor, paper)
    stored = f"{len(main)} of {planned} main runs stored" + ("" if len(main) >= planned else ", provisional until all are")
    claim = dataclasses.replace(found[0], key="fair-size-equal-n-v3", section="ch1-grid-v3",
                                scope=f"grid v3 ({stored}); {found[0].scope}")
    frames = {"grid v3 (pycode), stored so far": main, "grid v3 seed repeats": runs.repeats,
              "grid v3 held-out run": runs.held_out}
    texts = {"v3_size_equal_n": texts["size_equal_n"], "v3_size_verdict": claims.verb(claim.verdict), "v3_size_stored": stored, "v3_size_reason": claim.reason}
    return [claim], by_d, {name: f for name, f in frames.items() if len(f)}, texts


EMBED_FORMATS = {"N target": short, "S": "{:g}", "embedding, pruned": "{:,.0f}", "embedding, whole": "{:,.0f}",
                 "loss, pruned": "{:.3f}", "loss, whole": "{:.3f}", "difference": "{:+.3f}"}


def embedding(ablation: pd.DataFrame, dense: pd.DataFrame, floor: SeedNoise, paper: str) -> tuple[Claim, pd.DataFrame, dict]:
    """The embedding ablation: sparse runs with the embedding whole (embed_match False) against the
    same (N, S, D) with it pruned to the dense model's size. The claim (the whole embedding lowers the
    loss), the table per run (format with EMBED_FORMATS) and the texts, among them both sets of runs
    against the dense runs of equal N and D. `ablation` needs columns embed_match and nnz_embed:

        >>> from kit.engine.store import RunStore
        >>> store, configs = RunStore("runs"), grids.embed_ablation_grid()
        >>> ablation = read_runs(configs + [c.replace(embed_match=True) for c in configs], store, None)
        >>> runs, seed_runs = read_runs(grids.main_grid(), store, None), read_runs(grids.seed_grid(), store, None)
        >>> floor = seed_noise_section(seed_runs, pd.concat([runs, ablation]), 2048, 0.95)[0]
        >>> claim, table, texts = embedding(ablation, runs[runs["sparsity"] == 0], floor, "Frantar et al. 2024")
        >>> claim.key, len(table), texts["ablation_budget"]
        ('fair-embedding', 6, '1.2M')
    """
    whole, pruned = ablation[~ablation["embed_match"]], ablation[ablation["embed_match"]]
    pairs = match(whole, pruned, ["n_nonzero", "sparsity"])
    found = floor.mean_gap(pairs)
    claim = direction_claim(
        "fair-embedding", paper,
        "Left whole, the embedding of a sparse model, wider than the dense model's and not counted in $N$, lowers its "
        "loss: why the paper prunes T5's embedding to the dense model's size (Appendix A); the book's own test, "
        "which the paper does not report.", "ch1-embedding",
        "the mean difference, loss with the embedding pruned minus loss with it whole at equal N, S and D,", found, +1,
        kind="question", scope=f"N {_range_text(whole['n_nonzero'])}, S "
                               f"{_range_text(whole['sparsity'].unique())}, D {_range_text(whole['tokens'])}",
        level=floor.level, quantity="the mean difference (pruned − whole embedding)")
    table = whole.assign(gap=pairs["gap"], pruned=pairs["reference_loss"],
                         kept=pairs["references"].map(lambda r: r[0] if r else None))
    table = table.merge(pruned[["id", "nnz_embed"]].rename(columns={"id": "kept", "nnz_embed": "pruned nnz"}),
                        on="kept", how="left")
    table = table.set_index(["n_nonzero", "sparsity"])[["d_model", "pruned nnz", "nnz_embed", "pruned", "loss", "gap"]]
    table = table.rename_axis(["N target", "S"]).rename(columns={
        "pruned nnz": "embedding, pruned", "nnz_embed": "embedding, whole", "pruned": "loss, pruned",
        "loss": "loss, whole", "gap": "difference"})
    against = {name: floor.mean_gap(match(frame, dense, ["n_nonzero"])) for name, frame in (("pruned", pruned), ("whole", whole))}
    deficit = -against["pruned"]["estimate"]
    texts = {"ablation_sizes": ", ".join(short(n) for n in sorted(whole["n_nonzero"].unique())),
             "ablation_budget": ", ".join(short(d) for d in sorted(whole["tokens"].unique())),
             "embed_gap": gap_text(found).replace("the sparse run lower", "the whole embedding lower"),
             "embed_gap_mean": "–" if not found["pairs"] else f"{found['estimate']:+.3f} nats",
             **{f"embed_{name}_vs_dense": gap_text(m) for name, m in against.items()},
             "embed_share": f"{found['estimate'] / deficit:.0%}" if deficit > 0 else "–",
             "embed_whole_zero": "–" if not against["whole"]["pairs"] else "contains 0"
             if against["whole"]["low"] <= 0 <= against["whole"]["high"] else "excludes 0",
             **verdict_texts([claim])}
    return claim, table, texts


def compute(pairs: dict, sparse: pd.DataFrame, floor: SeedNoise, paper: str) -> tuple[list, pd.DataFrame, pd.DataFrame, dict]:
    """Section 2's compute axis: the claims (at equal N and equal model FLOPs, counted densely and
    sparsely, sparse is lower: the book's question, since Section 2 leaves it open), the mean gaps by
    sparsity at each count (in parentheses the pairs), the win counts (win_counts) and the texts.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> floor = seed_noise_section(read_runs(grids.seed_grid(), RunStore("runs"), None), runs, 2048, 0.95)[0]
        >>> found, gaps, wins, texts = compute(reference_pairs(sparse, dense), sparse, floor, "Frantar et al. 2024")
        >>> [claim.key for claim in found], list(gaps.index), int(wins.loc["model FLOPs, dense count", "pairs"])
        (['fair-compute-dense', 'fair-compute-sparse'], ['0.5', '0.75', '0.875', 'all'], 28)
    """
    found = {cost: floor.mean_gap(pairs[cost]) for cost in COSTS}
    wins = {cost: floor.wins(pairs[cost]) for cost in COSTS}
    reached = {cost: _range_text(sparse.loc[pairs[cost]["gap"].notna(), "tokens"]) for cost in COSTS}
    claim_list = []
    for cost, key, counted in (("model_flops", "fair-compute-dense", "densely"),
                               ("model_flops_sparse", "fair-compute-sparse", "sparsely")):
        claim = direction_claim(
            key, paper,
            f"At equal $N$ and equal training compute, counted {counted} in model FLOPs, a sparse model reaches a lower "
            f"loss than the dense one (the book's question: Section 2 leaves open whether sparse models 'can win at "
            f"all' then).", "ch1-compute",
            f"the mean gap, the dense curve of equal N read at the sparse run's model FLOPs (counted {counted}) minus "
            f"the sparse loss,", found[cost], +1, kind="question", level=floor.level,
            scope=f"the {found[cost]['pairs']} of {len(sparse)} sparse runs the dense curves reach: D {reached[cost]} "
                  f"tokens, N {_range_text(sparse.loc[pairs[cost]['gap'].notna(), 'n_nonzero'])}",
            quantity="the mean gap (dense at equal compute − sparse)", rule_after=True,
            budgets=gaps_by_budget(floor, pairs[cost], sparse))
        claim_list.append(dataclasses.replace(claim, numbers={**claim.numbers,
                                                              **{f"wins_{k}": v for k, v in wins[cost].items()}}))
    rows = {}
    for s in sorted(sparse["sparsity"].unique()):
        at = sparse["sparsity"] == s
        rows[f"{s:g}"] = {"equal N and D": interval_cell(floor.mean_gap(pairs["equal N"][at])),
                          **{label: interval_cell(floor.mean_gap(pairs[cost][at]))
                             + f" ({int(pairs[cost][at]['gap'].notna().sum())})" for cost, label in COSTS.items()}}
    rows["all"] = {"equal N and D": interval_cell(floor.mean_gap(pairs["equal N"])),
                   **{label: interval_cell(found[cost]) + f" ({found[cost]['pairs']})" for cost, label in COSTS.items()}}
    gaps = pd.DataFrame(rows).T.rename_axis("S")
    win_table = pd.DataFrame({label: wins[cost] for cost, label in COSTS.items()}).T.rename(columns={
        "lower": "sparse below the curve", "resolved_lower": "of which resolved",
        "resolved_higher": "sparse above, resolved", "unresolved": "not resolved"}).rename_axis("compute held equal")
    texts = verdict_texts(claim_list)
    for cost, name in (("model_flops", "dense"), ("model_flops_sparse", "sparse")):
        texts.update({f"compute_{name}": gap_text(found[cost]), f"wins_{name}": f"{wins[cost]['lower']} of {wins[cost]['pairs']}",
                      f"wins_{name}_resolved": f"{wins[cost]['resolved_lower']}",
                      f"losses_{name}_resolved": f"{wins[cost]['resolved_higher']}",
                      f"compute_budgets_{name}": reached[cost]})
    for model_cost, six_nd, name in (("model_flops", "dense_flops", "dense"), ("model_flops_sparse", "sparse_flops", "sparse")):
        both = pairs[model_cost]["gap"].notna() & pairs[six_nd]["gap"].notna()
        shift = floor.difference(pairs[six_nd][both], pairs[model_cost][both])
        texts[f"shift_6nd_{name}"] = "–" if not both.any() else (
            f"{claims.interval_text(shift['estimate'], shift['low'], shift['high'], '+.3f', ' nats')} over {int(both.sum())} pairs")
    reference_tokens = (pairs["model_flops"]["reference_tokens"] / sparse["tokens"]).dropna()
    texts["dense_tokens_ratio"] = (f"{reference_tokens.min():.2g}x to {reference_tokens.max():.2g}x"
                                   if len(reference_tokens) else "–")
    open_pairs = pair_intervals(pairs["model_flops_sparse"], floor.sigma, floor.dof, floor.level).dropna()
    open_s = sorted(sparse.loc[open_pairs.index[(open_pairs["low"] <= 0) & (open_pairs["high"] >= 0)], "sparsity"].unique())
    texts["compute_unresolved_where"] = "none" if not open_s else (
        ("all at S = " if len(open_s) == 1 else "at S = ") + ", ".join(f"{s:g}" for s in open_s))
    return claim_list, gaps, win_table, texts


def _flops_label(x, _):
    # 3e11, 1e12: one format across the panels
    exponent = int(np.floor(np.log10(x) + 1e-9))
    return f"{x / 10 ** exponent:.2g}e{exponent}"


def plot_compute_curves(runs: pd.DataFrame, n_nonzero):
    """One panel per target N: loss against training FLOPs (model) of every sparsity's runs over the
    token budgets, counted densely (solid) and sparsely (dashed, open markers), in the book's sparsity
    colours. Returns the figure.

        >>> from kit.engine.store import RunStore
        >>> fig = plot_compute_curves(read_runs(grids.main_grid(), RunStore("runs"), None), grids.MAIN["n_nonzero"])
        >>> [ax.get_title() for ax in fig.axes][:2]
        ['target N = 13.8k', 'target N = 27.6k']
        >>> matplotlib.pyplot.close(fig)
    """
    s_values = sorted(runs["sparsity"].unique())
    fig, axes = plots.panel_grid(len(n_nonzero), aspect=0.85, sharey=True)
    for ax, n in zip(axes, n_nonzero):
        for s in s_values:
            curve = runs[(runs["n_nonzero"] == n) & (runs["sparsity"] == s)].sort_values("tokens")
            ax.plot(curve["model_flops"], curve["loss"], "o-", color=plots.sparsity_colour(s), ms=4, label=f"S = {s:g}")
            if s > 0:
                ax.plot(curve["model_flops_sparse"], curve["loss"], "o--", color=plots.sparsity_colour(s), ms=4, mfc="white")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 3.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_flops_label))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set(title=f"target N = {short(n)}", xlabel="training FLOPs (model)")
    for ax in axes[::3]:
        ax.set_ylabel("validation loss (nats)")
    axes[0].plot([], [], "k-", label="counted densely")
    axes[0].plot([], [], "k--", label="counted sparsely")
    plots.legend_outside(fig, where="below", ncols=3 if len(s_values) + 2 > 4 else None)
    return fig


CHAIN = {
    "training data": {"unfair: initial model (same width, D/2)": "initial", "fair: same width, D": "width"},
    "model size": {"unfair: same width, D": "width", "fair: equal N, D": "equal N"},
    "compute": {"unfair: equal N, D": "equal N", "fair: equal model FLOPs, dense count": "model_flops",
                "fair: equal model FLOPs, sparse count": "model_flops_sparse"},
}
_CHAIN_STYLE = {"unfair reference": ("o", "0.55"), "fair reference": ("D", "C0"),
                "fair, FLOPs counted sparsely": ("s", "C1")}


def plot_chain(pairs: dict, sparse: pd.DataFrame, floor: SeedNoise):
    """The chain of Section 2's axes (CHAIN): per axis, the mean gap against its unfair and fair
    references, by sparsity and over all pairs, with its interval. Returns the figure.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> floor = seed_noise_section(read_runs(grids.seed_grid(), RunStore("runs"), None), runs, 2048, 0.95)[0]
        >>> fig = plot_chain(reference_pairs(sparse, dense), sparse, floor)
        >>> [ax.get_title() for ax in fig.axes]
        ['training data', 'model size', 'compute']
        >>> matplotlib.pyplot.close(fig)
    """
    rows = [f"S = {s:g}" for s in sorted(sparse["sparsity"].unique())] + ["all"]
    fig, axes = plots.panel_grid(3, aspect=1.0, sharey=True)
    for ax, (axis, comparisons) in zip(axes, CHAIN.items()):
        for k, (name, key) in enumerate(comparisons.items()):
            label = ("unfair reference" if name.startswith("unfair") else
                     "fair, FLOPs counted sparsely" if "sparse count" in name else "fair reference")
            marker, colour = _CHAIN_STYLE[label]
            for row, s in enumerate(rows):
                p = pairs[key]
                m = floor.mean_gap(p if s == "all" else p[sparse.loc[p.index, "sparsity"] == float(s.split("= ")[1])])
                if m["pairs"]:
                    y = len(rows) - 1 - row - 0.22 * (k - (len(comparisons) - 1) / 2)
                    ax.errorbar(m["estimate"], y, xerr=m["half_width"], fmt=marker, color=colour, ms=5, capsize=2,
                                label=label)
        ax.axvline(0, color="k", lw=0.8)
        ax.set(title=axis, xlabel="gap (nats)")
    axes[0].set_yticks(range(len(rows)), rows[::-1])
    plots.legend_outside(fig, where="below")
    return fig


def chain_texts(pairs: dict, floor: SeedNoise) -> dict:
    """The mean gap of each step of the chain as the summary quotes it: chain_<name> -> '+0.031 nats'.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> floor = seed_noise_section(read_runs(grids.seed_grid(), RunStore("runs"), None), runs, 2048, 0.95)[0]
        >>> list(chain_texts(reference_pairs(sparse, dense), floor))
        ['chain_initial', 'chain_width', 'chain_equal_n', 'chain_compute_dense', 'chain_compute_sparse']
    """
    out = {}
    for name, key in (("initial", "initial"), ("width", "width"), ("equal_n", "equal N"),
                      ("compute_dense", "model_flops"), ("compute_sparse", "model_flops_sparse")):
        found = floor.mean_gap(pairs[key])
        out[f"chain_{name}"] = "–" if not found["pairs"] else f"{found['estimate']:+.3f} nats"
    return out


PAIR_NAMES = {"initial": "same width, D/2", "width": "same width, D", "equal N": "equal N, D",
              "model_flops": "equal FLOPs, dense", "model_flops_sparse": "equal FLOPs, sparse"}
DETAIL_FORMATS = {"N target": short, "S": "{:g}", "D": short, "sparse loss": "{:.3f}",
                  **{c: "{:+.3f}" for c in PAIR_NAMES.values()}}


def pair_table(sparse: pd.DataFrame, pairs: dict) -> pd.DataFrame:
    """Every sparse run with its loss and its gap to each reference of PAIR_NAMES (NaN: no reference);
    format with DETAIL_FORMATS.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> dense, sparse = runs[runs["sparsity"] == 0], runs[runs["sparsity"] > 0]
        >>> table = pair_table(sparse, reference_pairs(sparse, dense))
        >>> table.shape, list(table.index.names)
        ((60, 7), ['N target', 'S', 'D'])
    """
    detail = sparse[["n_nonzero", "sparsity", "tokens", "d_model", "loss"]].copy()
    for name, column in PAIR_NAMES.items():
        detail[column] = pairs[name]["gap"]
    detail = detail.set_index(["n_nonzero", "sparsity", "tokens"]).rename_axis(["N target", "S", "D"])
    return detail.rename(columns={"loss": "sparse loss"})


COST_FORMATS = {"runs": "{:.0f}", "training loop (min)": "{:.1f}", "compilation (min)": "{:.1f}",
                "evaluation (min)": "{:.1f}", "model FLOPs": "{:.3g}", "GFLOP/s in the loop": "{:.1f}"}


def cost_table(frames: dict, runs: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """What the runs cost, by group of `frames` (a run in two groups counted in the first), with a
    total; and the texts: runtime_scratch, throughput_range (per width of `runs`), compile_min, compile_share;
    frames from read_runs.

        >>> from kit.engine.store import RunStore
        >>> runs = read_runs(grids.main_grid(), RunStore("runs"), None)
        >>> table, texts = cost_table({"main grid": runs}, runs)
        >>> list(table.index), int(table.loc["all", "runs"]), sorted(texts)
        (['main grid', 'all'], 80, ['compile_min', 'compile_share', 'runtime_scratch', 'throughput_range'])
    """
    seen, rows = set(), {}
    for name, frame in frames.items():
        new = frame[~frame["id"].isin(seen) & (frame["status"] == "ok")]
        seen |= set(frame["id"])
        if new.empty:
            continue
        rows[name] = {"runs": len(new), "training loop (min)": new["wall_s"].sum() / 60,
                      "compilation (min)": new["compile_s"].sum() / 60, "evaluation (min)": new["eval_s"].sum() / 60,
                      "model FLOPs": new["model_flops"].sum(),
                      "GFLOP/s in the loop": new["model_flops"].sum() / new["wall_s"].sum() / 1e9}
    table = pd.DataFrame(rows).T
    total = table.sum()
    total["GFLOP/s in the loop"] = total["model FLOPs"] / (60 * total["training loop (min)"]) / 1e9
    table.loc["all"] = total
    by_width = runs.groupby("d_model").apply(lambda g: g["model_flops"].sum() / g["wall_s"].sum() / 1e9,
                                             include_groups=False)
    scratch_s = 60 * (total["training loop (min)"] + total["compilation (min)"] + total["evaluation (min)"])
    texts = {"runtime_scratch": results.duration_text(scratch_s),
             "throughput_range": f"{by_width.min():.1f} GFLOP/s at d_model = {by_width.idxmin()} to "
                                 f"{by_width.max():.1f} at d_model = {by_width.idxmax()}",
             "compile_min": f"{total['compilation (min)']:.1f} min",
             "compile_share": f"{total['compilation (min)'] / total['training loop (min)']:.1%}"}
    return table.rename_axis("grid"), texts


# ---- the learning rate for long runs

LONG_LR_COLUMNS = ["d_model", "best multiple", "best lr", "best loss", "recipe lr", "recipe loss",
                   "recipe − best (nats)", "best at an edge"]
LONG_LR_FORMATS = {"N target": short, "S": "{:g}", "best multiple": "{:.3g}", "best lr": "{:.3g}", "best loss": "{:.3f}",
                   "recipe lr": "{:.3g}", "recipe loss": "{:.3f}", "recipe − best (nats)": "{:+.3f}"}


def long_lr_table(frame: pd.DataFrame) -> pd.DataFrame:
    """learning_rate_table of the long-run check (recipe: kit.engine.grids.recipe_lr) as the chapter
    shows it, one row per (N target, S), with the best rate as a multiple of the recipe's;
    format with LONG_LR_FORMATS. Empty frame in, empty table out. `frame`: the check's runs (read_runs
    of kit.engine.grids.lr_check_v3_grid on pycode); here one point, made up:

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "loss": [2.0, 1.9, 1.95],
        ...                       "lr": [m * grids.recipe_lr(16) for m in (0.5, 1.0, 2.0)]})
        >>> long_lr_table(frame)[["best multiple", "recipe − best (nats)", "best at an edge"]]
                    best multiple  recipe − best (nats)  best at an edge
        N target S
        13824    0.0            1.0                   0.0            False
    """
    if frame.empty:
        return pd.DataFrame(columns=LONG_LR_COLUMNS, index=pd.MultiIndex.from_tuples([], names=["N target", "S"]))
    table = learning_rate_table(frame, grids.recipe_lr)
    spans = frame.groupby(["n_nonzero", "sparsity"], sort=True)["lr"].agg(["min", "max"]).reset_index(drop=True)
    table = table.assign(**{"best multiple": table["best lr"] / table["recipe lr"],
                            "best at an edge": np.isclose(table["best lr"], spans["min"])
                            | np.isclose(table["best lr"], spans["max"])})
    return table.set_index(["n_nonzero", "sparsity"]).rename_axis(["N target", "S"]).rename(
        columns={"recipe - best": "recipe − best (nats)"})[LONG_LR_COLUMNS]


def lr_margin_verdict(table: pd.DataFrame, margin: float = LR_MARGIN) -> tuple[str, str]:
    """Is the recipe's rate within `margin` nats of the best rate tried at every point of a
    long_lr_table? Holds if recipe − best <= margin at every point, does not hold if it exceeds margin
    at any, not resolved if no point had the recipe's rate trained. Returns (verdict, reason).

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "loss": [2.0, 1.9, 1.95],
        ...                       "lr": [m * grids.recipe_lr(16) for m in (0.5, 1.0, 2.0)]})
        >>> lr_margin_verdict(long_lr_table(frame))[0]
        'holds'
    """
    if not (isinstance(margin, (int, float)) and margin > 0):
        raise ValueError(f"margin = {margin!r}: need a positive number of nats")
    gaps = table["recipe − best (nats)"].astype(float).dropna()
    if gaps.empty:
        return "not resolved", "No point of the check has a run at the recipe's rate, so there is nothing to compare."
    worst = gaps.idxmax()
    at = f"N = {short(worst[0])}, S = {worst[1]:g}"
    edge = [f"N = {short(n)}, S = {s:g}" for (n, s), at_edge in table["best at an edge"].items()
            if at_edge and gaps.get((n, s), 0) > 0]
    beyond = f" (the best rate is at the edge of the rates tried at {', '.join(edge)})" if edge else ""
    if gaps.max() > margin:
        return "does not hold", (f"At {at} the recipe's rate loses {gaps.max():.3f} nats to the best rate tried, more "
                                 f"than the margin {margin:g} nats{beyond}.")
    return "holds", (f"The recipe's rate is within {gaps.max():.3f} nats of the best rate tried at every one of the "
                     f"{len(gaps)} points (worst at {at}), inside the margin {margin:g} nats{beyond}.")


def long_lr_claim(table: pd.DataFrame, tokens: int, tokens_per_step: int, corpus: str, paper: str,
                  margin: float = LR_MARGIN) -> Claim:
    """The claim of the long-run learning-rate check (section ch1-long-lr): the recipe's rate
    (kit.engine.grids.recipe_lr) is within `margin` nats of the best multiple of it tried at every
    (N, S) of `table` (long_lr_table), trained on `tokens` of `corpus`. A check of the book's recipe
    (kind 'implementation'), its margin set with some of the runs known (rule_after).

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "loss": [2.0, 1.9, 1.95],
        ...                       "lr": [m * grids.recipe_lr(16) for m in (0.5, 1.0, 2.0)]})
        >>> claim = long_lr_claim(long_lr_table(frame), 20_971_520, 2048, "pycode", "Frantar et al. 2024")
        >>> claim.key, claim.verdict, claim.scope
        ('fair-lr-long', 'holds', 'pycode, 21M tokens (10,240 steps), (N 13.8k, S 0)')
    """
    verdict, reason = lr_margin_verdict(table, margin)
    gaps = table["recipe − best (nats)"].astype(float).dropna()
    points = ", ".join(f"(N {short(n)}, S {s:g})" for n, s in table.index) or "no point"
    return claims.Claim(
        "fair-lr-long", paper,
        "The book's learning-rate recipe, chosen on 586-step runs of Shakespeare, is still within a small margin of "
        "the best rate for long runs on pycode, dense and sparse: a check of the book's setup, not a claim of the paper.",
        "ch1-long-lr", None, None, None if gaps.empty else f"worst {gaps.max():+.3f} nats (recipe − best)", verdict,
        f"Holds if at every point the loss at the recipe's rate is at most {margin:g} nats above the best loss of the "
        f"rates tried (multiples of the recipe's rate); does not hold if it is more at any point.", reason,
        {"worst": float(gaps.max()), "points": float(len(gaps)), "margin": float(margin)} if len(gaps) else
        {"margin": float(margin)},
        kind="implementation", rule_after=True,
        scope=f"{corpus}, {short(tokens)} tokens ({tokens // tokens_per_step:,} steps), {points}")


def plot_learning_rates(frame: pd.DataFrame, margin: float = LR_MARGIN):
    """The long-run check as differences: each run's loss minus the best loss of its (N, S), against
    its peak learning rate as a multiple of the recipe's (kit.engine.grids.recipe_lr), one line per
    (N, S) in the book's sparsity colour, a line style per N; the dashed line is the margin. Returns
    the figure (a note instead of lines when `frame` is empty); `frame` as long_lr_table reads it.

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "loss": [2.0, 1.9, 1.95],
        ...                       "lr": [m * grids.recipe_lr(16) for m in (0.5, 1.0, 2.0)]})
        >>> fig = plot_learning_rates(frame)
        >>> fig.axes[0].get_xlabel()
        "peak learning rate / the recipe's rate"
        >>> matplotlib.pyplot.close(fig)
    """
    fig, axes = plots.panel_grid(1, aspect=0.6, per_row=1)
    ax = axes[0]
    if frame.empty:
        ax.text(0.5, 0.5, "no point of the check was read (long_lr_points is empty)", ha="center", transform=ax.transAxes)
        return fig
    styles = dict(zip(sorted(frame["n_nonzero"].unique()), ["-", "--", ":", "-."] * 4))
    # the nominal multiple: rates are rounded to 3 digits, so 4 x 0.00796 is stored as 0.0318 (3.995 x)
    multiple = (frame["lr"] / frame["d_model"].map(grids.recipe_lr)).map(lambda m: float(f"{m:.2g}"))
    for (n, s), runs in frame.assign(multiple=multiple).groupby(["n_nonzero", "sparsity"], sort=True):
        runs = runs.sort_values("multiple")
        ax.plot(runs["multiple"], runs["loss"] - runs["loss"].min(), "o", ls=styles[n], color=plots.sparsity_colour(s),
                label=f"N = {short(n)}, S = {s:g} (d_model {int(runs['d_model'].iloc[0])})")
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.axhline(margin, color="0.4", lw=0.8, ls="--", label=f"the margin, {margin:g} nats")
    ax.set(xscale="log", xlabel="peak learning rate / the recipe's rate",
           ylabel="loss − best loss of the point (nats)")
    _plain_log_ticks(ax.xaxis, sorted(multiple.unique()))
    plots.legend_outside(fig, where="right")
    return fig


def long_lr_texts(table: pd.DataFrame, claim: Claim | None, tokens: int, tokens_per_step: int,
                  margin: float = LR_MARGIN) -> dict:
    """What the prose quotes of the long-run check (long_lr_table, long_lr_claim or None where no
    point was checked): the points, where the recipe's rate was best and where another rate beat it,
    the verdict and its reason, what it means for the sparse runs, the budget, the margin, and the
    points of kit.engine.grids.LR_CHECK_V3 not in the table (long_lr_left_out).

        >>> frame = pd.DataFrame({"n_nonzero": 13_824, "sparsity": 0.0, "d_model": 16, "loss": [2.0, 1.9, 1.95],
        ...                       "lr": [m * grids.recipe_lr(16) for m in (0.5, 1.0, 2.0)]})
        >>> table = long_lr_table(frame)
        >>> claim = long_lr_claim(table, 20_971_520, 2048, "pycode", "Frantar et al. 2024")
        >>> long_lr_texts(table, claim, 20_971_520, 2048)["long_lr_best"]
        'N = 13.8k, S = 0 (d_model 16)'
    """
    name = lambda n, s, d: f"N = {short(n)}, S = {s:g} (d_model {int(d)})"
    gaps = table["recipe − best (nats)"].astype(float)
    beaten = gaps[gaps > margin].index
    if claim is None:
        consequence = ""
    elif len(beaten) and all(s > 0 for _, s in beaten):
        consequence = (f"Every point where the recipe loses more than the margin is sparse, so on runs this long the "
                       f"recipe handicaps the sparse models against the dense ones, by up to {gaps.max():.3f} nats at "
                       f"the points checked: a bias against sparsity in the long runs' comparisons.")
    elif len(beaten):
        consequence = "The recipe loses more than the margin at dense points too: the long runs need a rule of their own."
    else:
        consequence = "At the points checked, the recipe carries over to the long runs."
    return {"long_lr_points": "; ".join(name(n, s, r["d_model"]) for (n, s), r in table.iterrows()) or "no point",
            "long_lr_best": "; ".join(name(n, s, r["d_model"]) for (n, s), r in table.iterrows() if gaps[(n, s)] == 0)
            or "none of them",
            "long_lr_beaten": "; ".join(f"{name(n, s, r['d_model'])}, where {r['best multiple']:.3g}x the recipe's rate "
                                        f"did {gaps[(n, s)]:.3f} nats better" for (n, s), r in table.iterrows()
                                        if gaps[(n, s)] > 0) or "none",
            "long_lr_verdict": "is not tested" if claim is None else claims.verb(claim.verdict),
            "long_lr_reason": "no point was checked." if claim is None else claim.reason,
            "long_lr_consequence": consequence, "long_lr_margin": f"{margin:g}",
            "long_lr_worst": f"{gaps.max():.3f} nats" if gaps.notna().any() else "–",
            "long_lr_steps": f"{tokens // tokens_per_step:,}", "long_lr_tokens_text": short(tokens),
            "long_lr_left_out": "; ".join(f"N = {short(n)}, S = {s:g}" for n, s in grids.LR_CHECK_V3["widths"]
                                          if (n, s) not in table.index) or "none"}
