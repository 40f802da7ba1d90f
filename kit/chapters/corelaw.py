"""The core law of Frantar et al. (2024), Eq. 1, fitted to sweeps of runs, and the paper's tests of it.

Chapter 2 runs these on the authors' published sweeps (kit.fit.paper) and on our own runs (kit.engine.store):

- the fit objective of the paper's procedure for a family (kit.fit.lawfit.FAMILIES: the Huber loss of
  log L with delta 1e-3 for T5/C4 and our runs, of L with delta 1e-2 for ViT/JFT) at any
  coefficients (Table 7's Error column), residuals per budget and sparsity, and how many random
  starts reach the optimum (the fits themselves are kit.fit.lawfit's);
- the authors' published notebook procedure, replayed (`authors_procedure`, `replay_authors`);
- profiles of a fit along one coefficient (`profile`);
- the three observations the paper reads off its Fig. 2 (Section 3.2) as tests with rules that
  can fail (`observations`): parallel lines in log-log (`size_exponents`), lower loss with
  diminishing gains (`sparsity_steps`), no interaction of sparsity and data (`data_steps`);
- the seed-to-seed noise floor as a function of the data (`noise_floor`, on kit.fit.noise, and
  `std_ratio_interval` between budgets), and the interval of a single held-out run's loss
  (`prediction_interval`, `extrapolation_verdict`);
- kit.fit.fitting's intervals as the book prints them, an unbounded side as "unbounded"
  (`interval_text`, `width_text`).

Every function takes a frame of runs with columns S (sparsity), N (non-zero parameters), D (data)
and loss, as kit.fit.paper.load_t5 and kit.engine.store.law_frame give them; columns naming a grid point (the
requested size, sparsity, budget) are arguments, so the same test runs on the authors' grid and ours.
Verdict functions return (verdict, one-sentence reason) like kit.report.claims'.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from kit.report import claims
from kit.fit import fitting, lawfit, noise
from kit import laws


# Table 2: the dense size multiplier matching a sparse model (Eq. 7), at Table 7's coefficients.
TABLE2 = {"T5/C4": {0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, "ViT/JFT": {0.5: 1.60, 0.75: 2.17, 0.875: 2.63}}


def _settings(family: str) -> dict:
    if family not in lawfit.FAMILIES:
        raise ValueError(f"family={family!r}: allowed {list(lawfit.FAMILIES)}")
    return lawfit.FAMILIES[family]


def residuals(runs: pd.DataFrame, coeffs: dict, family: str) -> np.ndarray:
    """Per run, as the family's fit sees them: log pred - log loss (log_loss) or pred - loss."""
    pred = laws.sparse_law(runs["S"].to_numpy(float), runs["N"].to_numpy(float), runs["D"].to_numpy(float), **coeffs)
    loss = runs["loss"].to_numpy(float)
    return np.log(pred) - np.log(loss) if _settings(family)["log_loss"] else pred - loss


def objective(runs: pd.DataFrame, coeffs: dict, family: str) -> float:
    """The family's fit objective, the mean Huber loss of the residuals, at any coefficients
    (Table 7's Error column is this at its coefficients)."""
    return float(np.mean(fitting.huber(residuals(runs, coeffs, family), _settings(family)["delta"])))


def rms_loss_error(runs: pd.DataFrame, coeffs: dict) -> float:
    """Root mean square of predicted - measured loss, in loss units (nats)."""
    pred = laws.sparse_law(runs["S"].to_numpy(float), runs["N"].to_numpy(float), runs["D"].to_numpy(float), **coeffs)
    return float(np.sqrt(np.mean((pred - runs["loss"].to_numpy(float)) ** 2)))


def residual_table(runs: pd.DataFrame, coefficient_sets: dict, family: str, budget: str = "D",
                   sparsity: str = "S") -> pd.DataFrame:
    """Per set of coefficients (name -> coeffs; one row each): the mean residual at each budget
    and the rms residual at each sparsity (residuals as the fit sees them). A fit at the optimum
    leaves no trend along an input it models."""
    rows = {}
    for name, coeffs in coefficient_sets.items():
        r = pd.Series(residuals(runs, coeffs, family), index=runs.index)
        by_budget = r.groupby(runs[budget]).mean()
        by_sparsity = r.groupby(runs[sparsity]).agg(lambda x: float(np.sqrt(np.mean(x ** 2))))
        rows[name] = {**{("mean residual", f"D = {d:.3g}"): v for d, v in by_budget.items()},
                      **{("rms residual", f"S = {s:g}"): v for s, v in by_sparsity.items()}}
    table = pd.DataFrame(rows).T
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def start_agreement(runs: pd.DataFrame, family: str, n_starts=16, seed=0, tolerance=1e-3) -> dict:
    """The paper: "we find the process to converge to virtually the same values from different
    random starting points". The family's fit (kit.fit.lawfit.fit_family) run from each of n_starts
    random starts (kit.fit.fitting's, seeded by seed + 1) alone, all in one call of the optimiser;
    returns the best objective, how many starts reach it within `tolerance` (relative), the
    largest relative deviation of any coefficient of those starts from the best start's, and the
    lowest and highest objective of the other starts (None if there are none)."""
    spec = lawfit.fit_family(runs, family, starts=1, seed=seed).problem
    # kit.fit.fitting draws the random starts of fit(); here every start's end point is kept
    z_BxP, objective_B, _ = spec.solve(fitting._random_starts(spec.names, spec.y, n_starts, seed + 1))
    best = int(np.nanargmin(objective_B))
    reached = np.flatnonzero(objective_B <= objective_B[best] * (1 + tolerance))
    params = [spec.decode(z) for z in z_BxP[reached]]
    best_params = spec.decode(z_BxP[best])
    deviation = max(abs(p[c] / best_params[c] - 1) for p in params for c in spec.names)
    others = np.delete(objective_B, reached)
    return {"starts": n_starts, "reached": len(reached), "best objective": float(objective_B[best]),
            "largest deviation": float(deviation),
            "others": (float(np.min(others)), float(np.max(others))) if len(others) else None}


def authors_units(coeffs: dict) -> np.ndarray:
    """Coefficients as the authors' notebook optimises them: (a_S, b_S, c_S, b_N, a_D^b_D, b_D, c)
    with N in millions and D in billions."""
    return np.array([coeffs["a_S"] * 1e6 ** -coeffs["b_N"], coeffs["b_S"], coeffs["c_S"] * 1e6 ** -coeffs["b_N"],
                     coeffs["b_N"], (coeffs["a_D"] / 1e9) ** coeffs["b_D"], coeffs["b_D"], coeffs["c"]])


def authors_procedure(runs: pd.DataFrame, family: str, start) -> optimize.OptimizeResult:
    """The authors' published fitting procedure (jaxpruner, projects/bigsparse/sparsity-scaling.ipynb):
    scipy.optimize.minimize with its defaults (BFGS, finite-difference gradients, gradient
    tolerance 1e-5) on the raw mean Huber loss, the coefficients as plain numbers in
    authors_units, from `start` (7 numbers in those units; the notebook draws each in [0, 1))."""
    S, y = runs["S"].to_numpy(float), runs["loss"].to_numpy(float)
    N, D = runs["N"].to_numpy(float) / 1e6, runs["D"].to_numpy(float) / 1e9
    log_loss, delta = _settings(family)["log_loss"], _settings(family)["delta"]

    def mean_huber(p):
        a_S, b_S, c_S, b_N, e, b_D, c = p
        pred = (a_S * (1 - S) ** b_S + c_S) * N ** -b_N + e * D ** -b_D + c
        r = np.log(pred) - np.log(y) if log_loss else pred - y
        return np.mean(fitting.huber(r, delta))

    with np.errstate(all="ignore"):  # random starts can make pred negative on the way; BFGS backs off
        return optimize.minimize(mean_huber, np.asarray(start, dtype=float))


def replay_authors(runs: pd.DataFrame, family: str, reference: dict, best_objective: float,
                   n_starts=16, seed=0) -> dict:
    """authors_procedure from n_starts uniform [0, 1) starts and once from `reference` (e.g. Table
    7's coefficients): how many report success, their objectives, how many end within 1% of the
    optimum (the lower of best_objective, e.g. our fit's, and the best of these), and where the
    start at `reference` ends."""
    rng = np.random.default_rng(seed)
    ends = [authors_procedure(runs, family, rng.uniform(size=7)) for _ in range(n_starts)]
    success = np.array([r.fun for r in ends if r.success])
    optimum = min(best_objective, success.min(initial=np.inf))
    at_reference = authors_procedure(runs, family, authors_units(reference))
    return {"starts": n_starts, "reported success": len(success),
            "best": float(success.min()) if len(success) else math.nan,
            "median": float(np.median(success)) if len(success) else math.nan,
            "worst": float(success.max()) if len(success) else math.nan,
            "optimum": float(optimum), "within 1% of the optimum": int(np.sum(success <= optimum * 1.01)),
            "from reference: iterations": int(at_reference.nit), "from reference: objective": float(at_reference.fun),
            "from reference: success": bool(at_reference.success)}


def profile(result: fitting.FitResult, coefficient: str, values, stiffness=30.0) -> pd.DataFrame:
    """The fit along one coefficient: refits of `result` (a kit.fit.fitting.fit result) with
    `coefficient` pulled to each of `values` by a stiff penalty, every other coefficient free,
    all at once (kit.fit.fitting.Problem.solve), each started from the fit. Each refit is an exact
    point of the profile at the value it reaches (within about 1e-4 relative of the target here).
    Returns one row per value: the coefficient as reached, the objective (mean Huber loss, the
    penalty left out) and every coefficient."""
    spec = result.problem
    if coefficient not in spec.names:
        raise ValueError(f"coefficient {coefficient!r}: need one of the fit's free coefficients {spec.names}")
    values = np.asarray(values, dtype=float)
    # the penalty (pull log c - pull log value)^2 / 2 (c itself for kit.fit.fitting.LINEAR) outweighs the
    # objective's slope along c by far: its curvature pull^2 against the objective's, which is of
    # the order of the objective
    pull = np.full(len(values), stiffness / math.sqrt(max(result.objective, 1e-300)))
    target = values if coefficient in fitting.LINEAR else np.log(values)  # the optimiser's scale (kit.fit.fitting)
    z, _, _ = spec.solve(np.tile(spec.encode(result.params), (len(values), 1)),
                         quantity_B=[("coefficient", coefficient)] * len(values), pull_B=pull, at_B=pull * target)
    rows = [spec.decode(z_P) for z_P in z]
    objectives = [float(np.mean(fitting.huber(
        (np.log(spec.law(**spec.inputs, **p)) if spec.log_loss else spec.law(**spec.inputs, **p)) - spec.target,
        spec.delta))) for p in rows]
    return pd.DataFrame(rows).assign(objective=objectives).set_index(coefficient, drop=False)


# ----------------------------------------------------------------------------- intervals of differences


def mean_interval(values, level=0.95) -> tuple[float, float, float]:
    """The mean of paired differences (one per grid point) and its Student-t interval at `level`
    (kit.fit.noise.t_interval with the standard error of the mean): (mean, low, high). The interval
    is NaN for fewer than two values."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("mean_interval needs at least one finite value")
    if values.size < 2:
        return float(values.mean()), math.nan, math.nan
    return noise.t_interval(values.mean(), values.std(ddof=1) / math.sqrt(values.size), values.size - 1, level)


def size_exponents(runs: pd.DataFrame, coeffs: dict, sparsity: str = "S") -> pd.DataFrame:
    """Observation 1 (Section 3.2): "the loss vs. #non-zero curves for all sparsity levels seem to
    form almost parallel lines" in log-log. Per sparsity, the exponent b of the capacity term
    alone: least squares of log(L - (a_D / D)^b_D - c) = log A - b log N over every run of that
    sparsity (all budgets), the data term and c taken from `coeffs` (the joint fit, shared by all
    sparsities). Eq. 1 says b = b_N at every sparsity. Returns per sparsity: b, its standard error
    se, dof (runs - 2) and the runs used (runs whose loss is at or below data term + c are left out)."""
    rows = {}
    for s, group in runs.groupby(sparsity):
        capacity = group["loss"].to_numpy(float) - (coeffs["a_D"] / group["D"].to_numpy(float)) ** coeffs["b_D"] - coeffs["c"]
        keep = capacity > 0
        x, y = np.log(group["N"].to_numpy(float)[keep]), np.log(capacity[keep])
        if keep.sum() < 2 or np.ptp(x) == 0:
            rows[s] = {"b": math.nan, "se": math.nan, "dof": 0, "runs": int(keep.sum()), "left out": int((~keep).sum())}
            continue
        slope, intercept = np.polyfit(x, y, 1)
        dof = int(keep.sum()) - 2
        se = (math.sqrt(np.sum((y - intercept - slope * x) ** 2) / dof / np.sum((x - x.mean()) ** 2))
              if dof > 0 else math.nan)
        rows[s] = {"b": float(-slope), "se": se, "dof": dof, "runs": int(keep.sum()), "left out": int((~keep).sum())}
    table = pd.DataFrame(rows).T.rename_axis(sparsity)
    return table.astype({"b": float, "se": float, "dof": int, "runs": int, "left out": int})


def exponent_difference(exponents: pd.DataFrame, a, b, level=0.95) -> tuple[float, float, float]:
    """b(b) - b(a) from size_exponents' table, with a Welch t interval at `level` (NaN where
    either exponent has no standard error)."""
    ra, rb = exponents.loc[a], exponents.loc[b]
    diff = float(rb["b"] - ra["b"])
    var_a, var_b = ra["se"] ** 2, rb["se"] ** 2
    if not (np.isfinite(var_a) and np.isfinite(var_b)) or var_a + var_b == 0:
        return diff, math.nan, math.nan
    dof = (var_a + var_b) ** 2 / (var_a ** 2 / ra["dof"] + var_b ** 2 / rb["dof"])
    return noise.t_interval(diff, math.sqrt(var_a + var_b), dof, level)


def interval_verdict(rule, estimate, low, high, **kwargs) -> tuple[str, str]:
    """rule(estimate, low, high, **kwargs) (a verdict function of kit.report.claims), or "not resolved"
    where the interval is undefined (NaN: too few grid points for one)."""
    if not (np.isfinite(low) and np.isfinite(high)):
        quantity = kwargs.get("quantity", "the difference")
        return "not resolved", (f"{quantity[:1].upper()}{quantity[1:]} is {estimate:+.3g}{kwargs.get('unit', '')}, "
                                f"but too few grid points are paired to give it an interval.")
    return rule(estimate, low, high, **kwargs)


def sparsity_steps(runs: pd.DataFrame, cell, sparsities, sparsity: str = "S", level=0.95):
    """Observation 2: "the higher the sparsity the lower the loss, but gains are quickly
    diminishing". Pairs runs at the same grid point `cell` (e.g. target size and budget) and
    sparsities in `sparsities` (ascending; each step doubles the compression for 0, 0.5, 0.75,
    0.875), averaging repeats. Returns (steps, contrast): steps, per step "a → b", the mean loss
    drop L(a) - L(b) over the points that have every sparsity, its t interval (mean_interval) and
    the number of points; contrast, the mean of (last step's drop - first step's drop) with its t
    interval (estimate, low, high), negative where gains diminish."""
    sparsities = sorted(float(s) for s in sparsities)
    if len(sparsities) < 3:
        raise ValueError(f"sparsities = {sparsities}: need at least three to compare two steps")
    table = runs.pivot_table(index=list(cell), columns=sparsity, values="loss", aggfunc="mean")
    missing = [s for s in sparsities if s not in table.columns]
    if missing:
        raise ValueError(f"no runs at sparsities {missing}; the runs have {sorted(table.columns)}")
    table = table[sparsities].dropna()
    drops = {f"{a:g} → {b:g}": table[a] - table[b] for a, b in zip(sparsities[:-1], sparsities[1:])}
    steps = pd.DataFrame({name: dict(zip(("mean drop", "low", "high"), mean_interval(d, level)), points=len(d))
                          for name, d in drops.items()}).T
    steps["points"] = steps["points"].astype(int)
    names = list(drops)
    contrast = mean_interval(drops[names[-1]] - drops[names[0]], level)
    return steps, contrast


def data_steps(runs: pd.DataFrame, size_cell: str, budget: str, sparsities, sparsity: str = "S", level=0.95):
    """Observation 3: "the overall shape of all curves is very similar for each training duration,
    the y-axis just tends to shift a bit downwards" (Eq. 1: the data term does not depend on S).
    Pairs runs at the same size point `size_cell` and sparsity over consecutive budgets (column
    `budget`), averaging repeats: the loss drop L(D_k) - L(D_k+1) of each step. Returns (drops,
    contrast): drops, per sparsity, the mean drop over (size, step) with its t interval
    (mean_interval); contrast, the mean over (size, step) of drop(S_max) - drop(S_min) with its t
    interval (estimate, low, high), 0 where sparsity and data do not interact."""
    sparsities = sorted(float(s) for s in sparsities)
    table = runs.pivot_table(index=[size_cell, sparsity], columns=budget, values="loss", aggfunc="mean")
    budgets = sorted(table.columns)
    if len(budgets) < 2:
        raise ValueError(f"runs at budgets {budgets}: need at least two to measure a drop with more data")
    step = pd.concat({f"{lo:.3g} → {hi:.3g}": table[lo] - table[hi] for lo, hi in zip(budgets[:-1], budgets[1:])},
                     names=["step"])  # index: step, size, sparsity
    by_s = step.unstack(sparsity)
    missing = [s for s in sparsities if s not in by_s.columns]
    if missing:
        raise ValueError(f"no runs at sparsities {missing}; the runs have {sorted(by_s.columns)}")
    by_s = by_s[sparsities].dropna()
    drops = pd.DataFrame({f"S = {s:g}": dict(zip(("mean drop", "low", "high"), mean_interval(by_s[s], level)),
                                             points=len(by_s)) for s in sparsities}).T
    drops["points"] = drops["points"].astype(int)
    contrast = mean_interval(by_s[sparsities[-1]] - by_s[sparsities[0]], level)
    return drops, contrast


# The rules of the observation tests, fixed before looking (chapter 2 states them).
PARALLEL_MARGIN = 0.2  # observation 1: |b(S_max) - b(0)| below this share of the joint b_N counts as parallel
INTERACTION_MARGIN = 0.2  # observation 3: |drop(S_max) - drop(0)| below this share of the dense drop counts as none


def observations(runs: pd.DataFrame, coeffs: dict, sparsities, cell, size_cell: str, budget: str,
                 sparsity: str = "S", level=0.95) -> dict:
    """The three observations of Section 3.2 as tests with rules that can fail, on runs at grid
    points (cell: the columns of a point without its sparsity, e.g. [target size, budget];
    size_cell: its size column) and the joint fit's coefficients. sparsities: ascending, 0 first
    (0, 0.5, 0.75, 0.875 in the paper). Returns {"parallel", "diminishing", "interaction"}, each a
    dict with the verdict, reason, estimate, low, high (and margin where the rule has one), plus
    the tables behind them: exponents (size_exponents), steps (sparsity_steps), drops (data_steps).

    - parallel: b(S_max) - b(0) of size_exponents, equivalent to 0 within PARALLEL_MARGIN x b_N
      (kit.report.claims.equivalence_verdict);
    - diminishing: every step's mean loss drop above 0 and the last step's drop minus the first's
      below 0 (kit.report.claims.direction_verdict on each, combined by combine_verdicts); its estimate,
      low and high are the contrast's;
    - interaction: drop(S_max) - drop(0) per doubling of the data at equal size, equivalent to 0
      within INTERACTION_MARGIN x the dense runs' mean drop."""
    sparsities = sorted(float(s) for s in sparsities)
    s0, s_max = sparsities[0], sparsities[-1]
    exponents = size_exponents(runs[runs[sparsity].isin(sparsities)], coeffs, sparsity)
    diff = exponent_difference(exponents, s0, s_max, level)
    margin = PARALLEL_MARGIN * coeffs["b_N"]
    parallel = dict(zip(("verdict", "reason"), interval_verdict(
        claims.equivalence_verdict, *diff, margin=margin, quantity=f"the difference of exponents b(S = {s_max:g}) − b(S = {s0:g})")))
    parallel |= dict(zip(("estimate", "low", "high"), diff), margin=margin, b_N=coeffs["b_N"])

    steps, contrast = sparsity_steps(runs, cell, sparsities, sparsity, level)
    parts = [interval_verdict(claims.direction_verdict, row["mean drop"], row["low"], row["high"], sign=+1,
                              quantity=f"the mean loss drop from S = {step}", unit=" nats", fmt="+.3f")
             for step, row in steps.iterrows()]
    parts.append(interval_verdict(claims.direction_verdict, *contrast, sign=-1, unit=" nats", fmt="+.3f",
                                  quantity="the last step's drop minus the first's"))
    verdict, _ = combine_verdicts(parts)
    listed = "; ".join(f"{claims.interval_text(row['mean drop'], row['low'], row['high'], '+.3f')} ({step})"
                       for step, row in steps.iterrows())
    failing = " ".join(reason for v, reason in parts if v != "holds")
    reason = (f"Mean loss drops per step in nats: {listed}; the last step's minus the first's: "
              f"{claims.interval_text(*contrast, '+.3f')}.") + (f" {failing}" if failing else
                                                                 " Every interval lies on the claimed side of 0.")
    diminishing = {"verdict": verdict, "reason": reason, **dict(zip(("estimate", "low", "high"), contrast))}

    drops, between = data_steps(runs, size_cell, budget, sparsities, sparsity, level)
    dense_drop = float(drops.loc[f"S = {s0:g}", "mean drop"])
    margin = INTERACTION_MARGIN * abs(dense_drop)
    interaction = dict(zip(("verdict", "reason"), interval_verdict(
        claims.equivalence_verdict, *between, margin=margin, unit=" nats", fmt="+.3f",
        quantity=f"the loss drop per doubling of the data at S = {s_max:g} minus at S = {s0:g}")))
    interaction |= dict(zip(("estimate", "low", "high"), between), margin=margin, dense_drop=dense_drop)
    return {"parallel": parallel, "diminishing": diminishing, "interaction": interaction,
            "exponents": exponents, "steps": steps, "drops": drops}


# ----------------------------------------------------------------------------- noise and held-out runs


def std_interval(sigma, dof, level=0.95) -> tuple[float, float]:
    """The chi-square interval at `level` of a standard deviation estimated as sigma with dof
    degrees of freedom (its relative uncertainty is about 1 / sqrt(2 dof))."""
    if not (np.isfinite(sigma) and sigma >= 0 and dof >= 1):
        raise ValueError(f"sigma = {sigma!r}, dof = {dof!r}: need a finite sigma >= 0 and dof >= 1")
    return (float(sigma * math.sqrt(dof / stats.chi2.ppf(0.5 + level / 2, dof))),
            float(sigma * math.sqrt(dof / stats.chi2.ppf(0.5 - level / 2, dof))))


def std_ratio_interval(sigma_a, dof_a, sigma_b, dof_b, level=0.95) -> tuple[float, float, float]:
    """The ratio sigma_a / sigma_b of two standard deviations estimated with dof_a and dof_b degrees
    of freedom (e.g. the seed noise at two budgets), with its interval at `level` from the F
    distribution of (s_a / sigma_a)^2 / (s_b / sigma_b)^2: (ratio, low, high)."""
    if not (sigma_a >= 0 and sigma_b > 0 and dof_a >= 1 and dof_b >= 1):
        raise ValueError(f"sigma_a = {sigma_a!r}, sigma_b = {sigma_b!r}, dof {dof_a!r}, {dof_b!r}: "
                         f"need sigma_a >= 0, sigma_b > 0 and dof >= 1")
    ratio = float(sigma_a / sigma_b)
    return (ratio, ratio / math.sqrt(stats.f.ppf(0.5 + level / 2, dof_a, dof_b)),
            ratio / math.sqrt(stats.f.ppf(0.5 - level / 2, dof_a, dof_b)))


def noise_floor(repeats: pd.DataFrame, point, by: str = "tokens", level=0.95) -> pd.DataFrame:
    """kit.fit.noise.seed_noise's table (sigma, dof, points, runs per value of `by`, e.g. the token
    budget) with the chi-square interval of each sigma (low, high) and the mean loss of the runs."""
    table = noise.seed_noise(repeats, point, by=by)
    bounds = [std_interval(s, d, level) for s, d in zip(table["sigma"], table["dof"])]
    table["low"], table["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    table["mean loss"] = repeats.groupby(by)["loss"].mean().reindex(table.index)
    return table


def prediction_interval(estimate, low, high, noise_std=0.0, dof=None, level=0.95) -> tuple[float, float]:
    """The interval of one run's loss: the law's interval [low, high] of the expected loss
    widened by the run's seed noise, each side's half-width combined in quadrature with t
    noise_std (t the `level` quantile of Student's t with the noise estimate's dof)."""
    half = 0.0 if noise_std == 0 else noise.t_interval(0.0, noise_std, dof, level)[2]
    return (float(estimate - math.hypot(estimate - low, half)), float(estimate + math.hypot(high - estimate, half)))


def interval_text(estimate, low, high, fmt=".3g", unit="") -> str:
    """kit.report.claims.interval_text for kit.fit.fitting's intervals, whose sides the profile left
    unbounded are 0 or inf: an infinite side reads "unbounded" (interval_text(1.0, 1.0, inf, unit="x")
    -> "1x [1, unbounded]"); a side at 0 is the edge of a positive quantity's range and stays 0."""
    if not (math.isinf(float(low)) or math.isinf(float(high))):
        return claims.interval_text(estimate, low, high, fmt, unit)
    ends = ["unbounded" if math.isinf(float(v)) else format(float(v), fmt) for v in (low, high)]
    return f"{format(float(estimate), fmt)}{unit} [{ends[0]}, {ends[1]}]"


def width_text(width, fmt=".2g") -> str:
    """A relative width (high - low) / estimate as the book prints it: "unbounded" if infinite."""
    return "unbounded" if math.isinf(float(width)) else format(float(width), fmt)


def extrapolation_verdict(predicted, low, high, measured, max_half_width=0.02):
    """Does the law predict a run it never saw (the paper's T5-XL test)? Holds if the measured
    loss lies inside the interval [low, high] of the prediction and the interval's farther end
    lies at most max_half_width (a fraction) from the prediction (so the test could have failed); does
    not hold if it lies outside; not resolved if inside an interval wider than that (an unbounded
    side, where the profile found no bound, is infinitely wide)."""
    predicted, low, high, measured = (float(v) for v in (predicted, low, high, measured))
    if not all(math.isfinite(v) for v in (predicted, measured)) or math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"need finite predicted and measured, low <= high; got {predicted}, {low}, {high}, {measured}")
    error = predicted / measured - 1
    half = max(predicted - low, high - predicted) / predicted
    said = (f"predicted {interval_text(predicted, low, high, '.4f')}, measured {measured:.4f}: "
            f"the prediction errs by {error:+.2%}")
    if measured < low or measured > high:
        side, gap = ("below", low - measured) if measured < low else ("above", measured - high)
        return "does not hold", f"{said}, and the measured loss lies {gap:.4f} {side} the interval."
    if half > max_half_width:
        if math.isinf(half):
            return "not resolved", (f"{said}; the measured loss is inside the interval, but the interval is "
                                    f"unbounded on a side, where the rule allows its ends at most {max_half_width:.0%} from the prediction.")
        return "not resolved", (f"{said}; the measured loss is inside the interval, but its farther end lies "
                                f"{half:.2%} from the prediction, beyond the {max_half_width:.0%} the rule allows.")
    return "holds", f"{said}, inside the interval, whose farther end lies {half:.2%} from the prediction."


def coefficients_verdict(table: pd.DataFrame, reference: dict, names=laws.COEFF_NAMES, max_relative_width=1.0):
    """Are another fit's coefficients (e.g. Table 7's) consistent with ours? Holds if every one of
    `names` lies inside our interval (table: estimate, low, high) and every interval is at most
    max_relative_width of its estimate wide; does not hold if any lies outside (the reason names
    them, as value / nearest end of our interval); not resolved if all lie inside but some
    interval is wider than that."""
    outside = {}
    for name in names:
        value, low, high = reference[name], table.loc[name, "low"], table.loc[name, "high"]
        if value < low or value > high:
            outside[name] = value / (low if value < low else high)
    if outside:
        listed = ", ".join(f"{name} ({ratio:.2f}x the {'low' if ratio < 1 else 'high'} end)"
                           for name, ratio in outside.items())
        return "does not hold", (f"{len(outside)} of {len(names)} coefficients lie outside our intervals: "
                                 f"{listed}.")
    width = (table.loc[list(names), "high"] - table.loc[list(names), "low"]) / table.loc[list(names), "estimate"]
    wide = width[width > max_relative_width]
    if len(wide):
        which = (f"that of {wide.index[0]} is" if len(wide) == 1 else f"those of {', '.join(wide.index)} are")
        times = "" if max_relative_width == 1 else f"{max_relative_width:g}x "
        return "not resolved", (f"All {len(names)} coefficients lie inside our intervals, but {which} wider than "
                                f"{times}their estimate.")
    return "holds", (f"All {len(names)} coefficients lie inside our intervals (relative widths "
                     f"{width.min():.2g} to {width.max():.2g}).")


def gains_verdict(table: pd.DataFrame, paper_gains: dict, max_width=1.0):
    """Are the paper's Table 2 gains (sparsity -> gain) consistent with ours? table: estimate,
    low, high per "gain(S)". Holds if every paper gain lies inside our interval and each interval
    is at most max_width wide (in units of the gain); does not hold if any lies outside; not
    resolved if all inside but some interval is wider."""
    parts, outside, wide, unbounded = [], [], [], []
    for s, value in paper_gains.items():
        row = table.loc[f"gain({s:g})"]
        parts.append(f"{interval_text(row.estimate, row.low, row.high, '.3g', 'x')} at S = {s:g} (paper {value:.2f}x)")
        if value < row.low or value > row.high:
            outside.append(f"S = {s:g}")
        elif row.high - row.low > max_width:
            (unbounded if math.isinf(row.high - row.low) else wide).append(f"S = {s:g}")
    said = "Our gains are " + ", ".join(parts)
    if outside:
        return "does not hold", f"{said}: the paper's lies outside our interval at {', '.join(outside)}."
    if wide or unbounded:
        why = [f"at {', '.join(wide)} the interval is wider than {max_width:g}"] if wide else []
        why += [f"at {', '.join(unbounded)} {'it is' if len(unbounded) == 1 else 'they are'} unbounded"] if unbounded else []
        return "not resolved", f"{said}: inside our intervals, but {' and '.join(why)}."
    return "holds", f"{said}: every paper gain lies inside our interval."


def combine_verdicts(parts) -> tuple[str, str]:
    """One verdict for a claim made of several tests, each (verdict, reason): does not hold if any
    part does not hold, else not resolved if any is not resolved, else holds; the reasons joined."""
    parts = list(parts)
    verdicts = [v for v, _ in parts]
    if not parts or any(v not in claims.VERDICTS for v in verdicts):
        raise ValueError(f"need (verdict, reason) pairs with verdicts in {claims.VERDICTS}; got {verdicts}")
    verdict = ("does not hold" if "does not hold" in verdicts else
               "not resolved" if "not resolved" in verdicts else "holds")
    return verdict, " ".join(reason for _, reason in parts)


def sweep_summary(runs: pd.DataFrame, unit: str, sparsity: str = "S", budget: str = "D") -> dict:
    """One row describing a sweep: runs, sparsities, runs per sparsity, range of N, budgets."""
    return {"runs": len(runs),
            "sparsities": ", ".join(f"{s:g}" for s in sorted(runs[sparsity].unique())),
            "runs per sparsity": ", ".join(str(n) for n in runs.groupby(sparsity).size()),
            "N": f"{runs.N.min():.3g} to {runs.N.max():.3g}",
            "D": ", ".join(f"{d:.3g}" for d in sorted(runs[budget].unique())) + f" {unit}"}
