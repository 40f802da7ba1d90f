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
- the width of kit.fit.fitting's intervals as the book prints it
  (`width_text`);
- chapter 2's pages (02a the authors' data, 02b our runs, 02c the appendix): the thresholds of
  every rule (OPTIMUM_TOLERANCE, CONVERGED_SHARE, EXTRAPOLATION_WIDTH, GAIN_WIDTH, PARALLEL_MARGIN,
  INTERACTION_MARGIN) and the rule sentences written from them (RULES), the published fits
  (`fit_published`), our runs and their fit (`our_runs`, `fit_ours`), the claims, tables, figures
  and glued texts of each section (the section "chapter 2's pages" below).

Every function takes a frame of runs with columns S (sparsity), N (non-zero parameters), D (data)
and loss, as kit.fit.paper.load_t5 and kit.engine.store.law_frame give them; columns naming a grid point (the
requested size, sparsity, budget) are arguments, so the same test runs on the authors' grid and ours.
Verdict functions return (verdict, one-sentence reason) like kit.report.claims'.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import matplotlib.pyplot
from matplotlib import ticker
import numpy as np
import pandas as pd
from scipy import optimize, stats

from kit.report import claims, plots
from kit.fit import fitting, lawfit, noise, paper
from kit import laws


# The thresholds of chapter 2's rules; the rule sentences (RULES) are written from them.
OPTIMUM_TOLERANCE = 0.01  # an objective within 1% of the lowest found is at the optimum
CONVERGED_SHARE = 0.9  # the fit converges if this share of random starts ends at the optimum
EXTRAPOLATION_WIDTH = 0.02  # an extrapolation test resolves only if its interval ends within 2% of the prediction
GAIN_WIDTH = 1.0  # Table 2's test resolves only if every gain's interval is narrower than this (in units of the gain)
FLAT_MARGIN = 0.1  # the sparsity benefit is shown flat if more sparsity adds at most this share of the least sparse gain

# Table 2: the dense size multiplier matching a sparse model (Eq. 7), at Table 7's coefficients.
TABLE2 = {"T5/C4": {0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, "ViT/JFT": {0.5: 1.60, 0.75: 2.17, 0.875: 2.63}}


def _settings(family: str) -> dict:
    if family not in lawfit.FAMILIES:
        raise ValueError(f"family={family!r}: allowed {list(lawfit.FAMILIES)}")
    return lawfit.FAMILIES[family]


def residuals(runs: pd.DataFrame, coeffs: dict, family: str) -> np.ndarray:
    """Per run, as the family's fit sees them: log pred - log loss (log_loss) or pred - loss.

        >>> r = residuals(paper.load_t5(), laws.TABLE7["t5"], "t5")
        >>> r.shape, bool(np.abs(r).max() < 0.05)
        ((48,), True)
    """
    pred = laws.sparse_law(runs["S"].to_numpy(float), runs["N"].to_numpy(float), runs["D"].to_numpy(float), **coeffs)
    loss = runs["loss"].to_numpy(float)
    return np.log(pred) - np.log(loss) if _settings(family)["log_loss"] else pred - loss


def objective(runs: pd.DataFrame, coeffs: dict, family: str) -> float:
    """The family's fit objective, the mean Huber loss of the residuals, at any coefficients
    (Table 7's Error column is this at its coefficients).

        >>> f"{objective(paper.load_vit(), laws.TABLE7['vit'], 'vit'):.3g}"  # Table 7's Error, 4.93e-4, is at unrounded ones
        '0.000495'
    """
    return float(np.mean(fitting.huber(residuals(runs, coeffs, family), _settings(family)["delta"])))


def rms_loss_error(runs: pd.DataFrame, coeffs: dict) -> float:
    """Root mean square of predicted - measured loss, in loss units (nats).

        >>> runs = pd.DataFrame({"S": [0.0, 0.5], "N": [1e7, 1e8], "D": [1e10, 1e10]})
        >>> runs["loss"] = laws.sparse_law(runs.S, runs.N, runs.D, **laws.TABLE7["t5"]) + 0.01
        >>> round(rms_loss_error(runs, laws.TABLE7["t5"]), 6)
        0.01
    """
    pred = laws.sparse_law(runs["S"].to_numpy(float), runs["N"].to_numpy(float), runs["D"].to_numpy(float), **coeffs)
    return float(np.sqrt(np.mean((pred - runs["loss"].to_numpy(float)) ** 2)))


def residual_table(runs: pd.DataFrame, coefficient_sets: dict, family: str, budget: str = "D",
                   sparsity: str = "S") -> pd.DataFrame:
    """Per set of coefficients (name -> coeffs; one row each): the mean residual at each budget
    and the rms residual at each sparsity (residuals as the fit sees them). A fit at the optimum
    leaves no trend along an input it models.

        >>> table = residual_table(paper.load_t5(), {"Table 7": laws.TABLE7["t5"]}, "t5")
        >>> table.shape, list(table.columns.levels[0])
        ((1, 7), ['mean residual', 'rms residual'])
    """
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
    lowest and highest objective of the other starts (None if there are none).

        >>> agreement = start_agreement(paper.load_vit(), "vit", n_starts=4)
        >>> agreement["starts"], agreement["reached"], f"{agreement['best objective']:.3g}"
        (4, 4, '0.000493')
    """
    spec = lawfit.fit_family(runs, family, starts=1, seed=seed).problem
    # kit.fit.fitting draws the random starts of fit(); here every start's end point is kept
    z_BxP, objective_B, _ = spec.solve(fitting.random_starts(spec.names, spec.y, n_starts, seed + 1))
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
    with N in millions and D in billions.

        >>> authors_units(laws.TABLE7["vit"]).round(3)
        array([1.307, 0.821, 2.081, 0.392, 0.278, 0.89 , 4.517])
    """
    return np.array([coeffs["a_S"] * 1e6 ** -coeffs["b_N"], coeffs["b_S"], coeffs["c_S"] * 1e6 ** -coeffs["b_N"],
                     coeffs["b_N"], (coeffs["a_D"] / 1e9) ** coeffs["b_D"], coeffs["b_D"], coeffs["c"]])


def authors_procedure(runs: pd.DataFrame, family: str, start) -> optimize.OptimizeResult:
    """The authors' published fitting procedure (jaxpruner, projects/bigsparse/sparsity-scaling.ipynb):
    scipy.optimize.minimize with its defaults (BFGS, finite-difference gradients, gradient
    tolerance 1e-5) on the raw mean Huber loss, the coefficients as plain numbers in
    authors_units, from `start` (7 numbers in those units; the notebook draws each in [0, 1)).

        >>> end = authors_procedure(paper.load_vit(), "vit", authors_units(laws.TABLE7["vit"]))
        >>> bool(end.success), f"{end.fun:.3g}"  # from Table 7's coefficients, at its Error 4.93e-4
        (True, '0.000493')
    """
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
    7's coefficients): how many report success, their objectives, how many end near the
    optimum (the lower of best_objective, e.g. our fit's, and the best of these), and where the
    start at `reference` ends. "near the optimum": within OPTIMUM_TOLERANCE (relative).

        >>> vit = paper.load_vit()
        >>> replay = replay_authors(vit, "vit", laws.TABLE7["vit"], objective(vit, laws.TABLE7["vit"], "vit"), n_starts=2)
        >>> replay["near the optimum"], replay["from reference: success"]
        (2, True)
    """
    rng = np.random.default_rng(seed)
    ends = [authors_procedure(runs, family, rng.uniform(size=7)) for _ in range(n_starts)]
    success = np.array([r.fun for r in ends if r.success])
    optimum = min(best_objective, success.min(initial=np.inf))
    near = success <= optimum * (1 + OPTIMUM_TOLERANCE)
    at_reference = authors_procedure(runs, family, authors_units(reference))
    return {"starts": n_starts, "reported success": len(success),
            "best": float(success.min()) if len(success) else math.nan,
            "median": float(np.median(success)) if len(success) else math.nan,
            "worst": float(success.max()) if len(success) else math.nan,
            "optimum": float(optimum), "near the optimum": int(np.sum(near)),
            "from reference: iterations": int(at_reference.nit), "from reference: objective": float(at_reference.fun),
            "from reference: success": bool(at_reference.success)}


def profile(result: fitting.FitResult, coefficient: str, values, stiffness=30.0) -> pd.DataFrame:
    """The fit along one coefficient: refits of `result` (a kit.fit.fitting.fit result) with
    `coefficient` pulled to each of `values` by a stiff penalty, every other coefficient free,
    all at once (kit.fit.fitting.Problem.solve), each started from the fit. Each refit is an exact
    point of the profile at the value it reaches (within about 1e-4 relative of the target here).
    Returns one row per value: the coefficient as reached, the objective (mean Huber loss, the
    penalty left out) and every coefficient.

        >>> fit = lawfit.fit_family(paper.load_vit(), "vit", starts=1)
        >>> along = profile(fit, "b_N", [0.38, 0.40])
        >>> along.b_N.round(3).tolist(), bool(along.objective.min() >= fit.objective)
        ([0.38, 0.4], True)
    """
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
    is NaN for fewer than two values.

        >>> [round(v, 3) for v in mean_interval([0.1, 0.3, 0.2, 0.5])]
        [0.275, 0.003, 0.547]
    """
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
    se, dof (runs - 2) and the runs used (runs whose loss is at or below data term + c are left out).

        >>> size_exponents(paper.load_t5(), laws.TABLE7["t5"]).b.round(3).tolist()  # Table 7: b_N = 0.245
        [0.249, 0.239, 0.245, 0.241]
    """
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
    either exponent has no standard error).

        >>> exponents = size_exponents(paper.load_t5(), laws.TABLE7["t5"])
        >>> [round(v, 3) for v in exponent_difference(exponents, 0.0, 0.875)]  # (b(0.875) - b(0), low, high)
        [-0.007, -0.016, 0.001]
    """
    ra, rb = exponents.loc[a], exponents.loc[b]
    diff = float(rb["b"] - ra["b"])
    var_a, var_b = ra["se"] ** 2, rb["se"] ** 2
    if not (np.isfinite(var_a) and np.isfinite(var_b)) or var_a + var_b == 0:
        return diff, math.nan, math.nan
    dof = (var_a + var_b) ** 2 / (var_a ** 2 / ra["dof"] + var_b ** 2 / rb["dof"])
    return noise.t_interval(diff, math.sqrt(var_a + var_b), dof, level)


def interval_verdict(rule, estimate, low, high, **kwargs) -> tuple[str, str]:
    """rule(estimate, low, high, **kwargs) (a verdict function of kit.report.claims), or "not resolved"
    where the interval is undefined (NaN: too few grid points for one).

        >>> interval_verdict(claims.direction_verdict, 0.1, 0.05, 0.15, sign=+1)[0]
        'holds'
        >>> interval_verdict(claims.direction_verdict, 0.1, math.nan, math.nan, sign=+1)[0]
        'not resolved'
    """
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
    interval (estimate, low, high), negative where gains diminish.

        >>> runs = pd.DataFrame({"n": [1, 1, 1, 2, 2, 2], "S": [0.0, 0.5, 0.75] * 2,
        ...                      "loss": [3.0, 2.8, 2.75, 2.5, 2.32, 2.26]})
        >>> steps, contrast = sparsity_steps(runs, ["n"], [0.0, 0.5, 0.75])
        >>> steps["mean drop"].round(3).tolist(), round(contrast[0], 3)
        ([0.19, 0.055], -0.135)
    """
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
    interval (estimate, low, high), 0 where sparsity and data do not interact.

        >>> runs = pd.DataFrame({"N": [1, 1, 1, 1, 2, 2, 2, 2], "D": [10, 20] * 4, "S": [0.0, 0.0, 0.5, 0.5] * 2,
        ...                      "loss": [3.0, 2.8, 2.9, 2.75, 2.6, 2.45, 2.5, 2.38]})
        >>> drops, contrast = data_steps(runs, "N", "D", [0.0, 0.5])
        >>> drops["mean drop"].round(3).tolist(), round(contrast[0], 3)  # the sparse runs gain less from data
        ([0.175, 0.135], -0.04)
    """
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
      within INTERACTION_MARGIN x the dense runs' mean drop.

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> {name: tests[name]["verdict"] for name in ("parallel", "diminishing", "interaction")}
        {'parallel': 'holds', 'diminishing': 'holds', 'interaction': 'not resolved'}
    """
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
    degrees of freedom (its relative uncertainty is about 1 / sqrt(2 dof)).

        >>> [round(v, 4) for v in std_interval(0.02, 8)]
        [0.0135, 0.0383]
    """
    if not (np.isfinite(sigma) and sigma >= 0 and dof >= 1):
        raise ValueError(f"sigma = {sigma!r}, dof = {dof!r}: need a finite sigma >= 0 and dof >= 1")
    return (float(sigma * math.sqrt(dof / stats.chi2.ppf(0.5 + level / 2, dof))),
            float(sigma * math.sqrt(dof / stats.chi2.ppf(0.5 - level / 2, dof))))


def std_ratio_interval(sigma_a, dof_a, sigma_b, dof_b, level=0.95) -> tuple[float, float, float]:
    """The ratio sigma_a / sigma_b of two standard deviations estimated with dof_a and dof_b degrees
    of freedom (e.g. the seed noise at two budgets), with its interval at `level` from the F
    distribution of (s_a / sigma_a)^2 / (s_b / sigma_b)^2: (ratio, low, high).

        >>> [round(v, 3) for v in std_ratio_interval(0.03, 8, 0.01, 8)]
        [3.0, 1.425, 6.317]
    """
    if not (sigma_a >= 0 and sigma_b > 0 and dof_a >= 1 and dof_b >= 1):
        raise ValueError(f"sigma_a = {sigma_a!r}, sigma_b = {sigma_b!r}, dof {dof_a!r}, {dof_b!r}: "
                         f"need sigma_a >= 0, sigma_b > 0 and dof >= 1")
    ratio = float(sigma_a / sigma_b)
    return (ratio, ratio / math.sqrt(stats.f.ppf(0.5 + level / 2, dof_a, dof_b)),
            ratio / math.sqrt(stats.f.ppf(0.5 - level / 2, dof_a, dof_b)))


def noise_floor(repeats: pd.DataFrame, point, by: str = "tokens", level=0.95) -> pd.DataFrame:
    """kit.fit.noise.seed_noise's table (sigma, dof, points, runs per value of `by`, e.g. the token
    budget) with the chi-square interval of each sigma (low, high) and the mean loss of the runs.

        >>> repeats = pd.DataFrame({"tokens": [600] * 4 + [2400] * 4, "point": [0, 0, 1, 1] * 2,
        ...                         "loss": [2.0, 2.2, 3.0, 3.1, 1.5, 1.5, 1.8, 1.9]})
        >>> noise_floor(repeats, ["point"]).round(3)[["sigma", "dof", "low", "high", "mean loss"]]
                sigma  dof    low   high  mean loss
        tokens
        600     0.112    2  0.058  0.703      2.575
        2400    0.050    2  0.026  0.314      1.675
    """
    table = noise.seed_noise(repeats, point, by=by)
    bounds = [std_interval(s, d, level) for s, d in zip(table["sigma"], table["dof"])]
    table["low"], table["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    table["mean loss"] = repeats.groupby(by)["loss"].mean().reindex(table.index)
    return table


def prediction_interval(estimate, low, high, noise_std=0.0, dof=None, level=0.95) -> tuple[float, float]:
    """The interval of one run's loss: the law's interval [low, high] of the expected loss
    widened by the run's seed noise, each side's half-width combined in quadrature with t
    noise_std (t the `level` quantile of Student's t with the noise estimate's dof).

        >>> prediction_interval(2.0, 1.9, 2.2)
        (1.9, 2.2)
        >>> [round(v, 4) for v in prediction_interval(2.0, 1.97, 2.04, noise_std=0.01, dof=4)]
        [1.9591, 2.0487]
    """
    half = 0.0 if noise_std == 0 else noise.t_interval(0.0, noise_std, dof, level)[2]
    return (float(estimate - math.hypot(estimate - low, half)), float(estimate + math.hypot(high - estimate, half)))


def width_text(width, fmt=".2g") -> str:
    """A relative width (high - low) / estimate as the book prints it: "unbounded" if infinite.

        >>> width_text(2.19), width_text(math.inf)
        ('2.2', 'unbounded')
    """
    return "unbounded" if math.isinf(float(width)) else format(float(width), fmt)


def extrapolation_verdict(predicted, low, high, measured, max_half_width=0.02):
    """Does the law predict a run it never saw (the paper's T5-XL test)? Holds if the measured
    loss lies inside the interval [low, high] of the prediction and the interval's farther end
    lies at most max_half_width (a fraction) from the prediction (so the test could have failed); does
    not hold if it lies outside; not resolved if inside an interval wider than that (an unbounded
    side, where the profile found no bound, is infinitely wide).

        >>> extrapolation_verdict(2.0, 1.98, 2.03, 2.01)[0]
        'holds'
        >>> extrapolation_verdict(2.0, 1.98, 2.03, 2.05)[1]
        'predicted 2.0000 [1.9800, 2.0300], measured 2.0500: ..., and the measured loss lies 0.0200 above the interval.'
    """
    predicted, low, high, measured = (float(v) for v in (predicted, low, high, measured))
    if not all(math.isfinite(v) for v in (predicted, measured)) or math.isnan(low) or math.isnan(high) or low > high:
        raise ValueError(f"need finite predicted and measured, low <= high; got {predicted}, {low}, {high}, {measured}")
    error = predicted / measured - 1
    half = max(predicted - low, high - predicted) / predicted
    said = (f"predicted {claims.interval_text(predicted, low, high, '.4f')}, measured {measured:.4f}: "
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


def coefficients_verdict(table: pd.DataFrame, reference: dict, objective: float, reference_objective: float,
                         names=laws.COEFF_NAMES, tolerance=None):
    """Are another fit's coefficients (e.g. Table 7's) the fit of the same objective to the same
    data as ours? Holds if every one of `names` lies inside our interval (table: estimate, low,
    high) and the objective at `reference`, reference_objective, lies within `tolerance` (default
    OPTIMUM_TOLERANCE, relative) of our optimum's, `objective`; does not hold otherwise (the
    reason names what fails: each coefficient outside as value / nearest end of our interval, or
    how far the objective lies above ours). Coefficients that trade off against each other (Eq. 1's
    a_S, b_S, c_S) can have wide intervals and still be one optimum: the objective decides.

        >>> t = pd.DataFrame({"estimate": [1.0], "low": [0.9], "high": [1.1]}, index=["b_S"])
        >>> coefficients_verdict(t, {"b_S": 1.05}, 1.0, 1.004, names=["b_S"])[0]
        'holds'
    """
    tolerance = OPTIMUM_TOLERANCE if tolerance is None else tolerance
    outside = {}
    for name in names:
        value, low, high = reference[name], table.loc[name, "low"], table.loc[name, "high"]
        if value < low or value > high:
            outside[name] = value / (low if value < low else high)
    excess = reference_objective / objective - 1
    said = (f"the objective at them is {excess:+.2%} from our optimum's ({reference_objective:.3g} against "
            f"{objective:.3g}), the rule allows {tolerance:.0%}")
    if outside:
        listed = ", ".join(f"{name} ({ratio:.2f}x the {'low' if ratio < 1 else 'high'} end)"
                           for name, ratio in outside.items())
        return "does not hold", (f"{len(outside)} of {len(names)} coefficients lie outside our intervals: "
                                 f"{listed}; {said}.")
    if excess > tolerance:
        return "does not hold", f"All {len(names)} coefficients lie inside our intervals, but {said}."
    return "holds", f"All {len(names)} coefficients lie inside our intervals, and {said}."


FLAT_GAIN = 1.01  # a fitted law whose every gain (Eq. 7) is below this has its sparsity term switched off
STEP_SPREAD = 0.01  # ... and one whose gains differ by less than this (relative) has a step for one


def term_form(params: dict, sparsities) -> str:
    """What a fitted sparsity term of Eq. 1 does at `sparsities` (> 0), the degenerate fits of
    chapter 2 ({ref}`ch2-degenerate`) first: "switched off" (every gain below FLAT_GAIN: a_S -> 0),
    "a step" (one gain at every sparsity, within STEP_SPREAD: b_S -> infinity; needs two
    sparsities or more) or "graded".

        >>> from kit import laws
        >>> term_form(laws.TABLE7["t5"], [0.5, 0.75]), term_form({**laws.TABLE7["t5"], "b_S": 200.0}, [0.5, 0.75])
        ('graded', 'a step')
        >>> term_form({**laws.TABLE7["t5"], "a_S": 0.0}, [0.5, 0.75])
        'switched off'
    """
    gains = np.array([float(laws.gain(s, **params)) for s in sparsities])
    if gains.max() < FLAT_GAIN:
        return "switched off"
    return "a step" if len(gains) > 1 and gains.max() / gains.min() - 1 < STEP_SPREAD else "graded"


def term_texts(params: dict, sparsities, prefix: str = "term") -> dict:
    """Chapter words on a fitted sparsity term (term_form), keys prefixed `prefix`: _form, _what (a
    clause: "no sparsity term: ..." or "a step for a sparsity term: ..."), _short, _gains (what its
    gains are) and _map (what it makes of the optimal sparsity at given N and C).

        >>> from kit import laws
        >>> term_texts({**laws.TABLE7["t5"], "b_S": 200.0}, [0.5, 0.75])["term_gains"]
        'one gain, 3.65x, at every sparsity (the step)'
    """
    form = term_form(params, sparsities)
    gain = float(laws.gain(max(sparsities), **params))
    words = {  # plain text: {glue:text} shows no math
        "switched off": {
            "what": "no sparsity term: the fit switches the sparsity factor off, so every gain is 1",
            "short": "no sparsity term", "gains": "1 (no sparsity term)",
            "map": "it makes dense optimal at every size and compute"},
        "a step": {
            "what": (f"a step for a sparsity term: its exponent is so large that the sparsity factor takes one value at "
                     f"every sparsity from {min(sparsities):g} on, so every sparse run gets the same gain, {gain:.3g}x, "
                     f"whatever its sparsity"),
            "short": "a step for a sparsity term", "gains": f"one gain, {gain:.3g}x, at every sparsity (the step)",
            "map": ("wherever sparsity pays at all, the least sparse band is optimal: every sparsity gets the same "
                    "gain, and the least sparse costs least")},
        "graded": {
            "what": "a graded sparsity term: its gains grow with the sparsity",
            "short": "a graded sparsity term", "gains": "graded, growing with the sparsity",
            "map": "it colours the map as Table 7's laws do"},
    }[form]
    return {f"{prefix}_form": form, **{f"{prefix}_{k}": v for k, v in words.items()}}


def gains_verdict(table: pd.DataFrame, paper_gains: dict, max_width=1.0):
    """Are the paper's Table 2 gains (sparsity -> gain) consistent with ours? table: estimate,
    low, high per "gain(S)". Holds if every paper gain lies inside our interval and each interval
    is at most max_width wide (in units of the gain); does not hold if any lies outside; not
    resolved if all inside but some interval is wider.

        >>> ours = pd.DataFrame({"estimate": [1.6, 2.2], "low": [1.5, 2.0], "high": [1.7, 2.4]},
        ...                     index=["gain(0.5)", "gain(0.75)"])
        >>> gains_verdict(ours, {0.5: 1.59, 0.75: 2.16})
        ('holds', 'Our gains are 1.6x [1.5, 1.7] at S = 0.5 (paper 1.59x), ...: every paper gain lies inside our interval.')
    """
    parts, outside, wide, unbounded = [], [], [], []
    for s, value in paper_gains.items():
        row = table.loc[f"gain({s:g})"]
        parts.append(f"{claims.interval_text(row.estimate, row.low, row.high, '.3g', 'x')} at S = {s:g} (paper {value:.2f}x)")
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
    part does not hold, else not resolved if any is not resolved, else holds; the reasons joined.

        >>> combine_verdicts([("holds", "A holds."), ("not resolved", "B is open.")])
        ('not resolved', 'A holds. B is open.')
    """
    parts = list(parts)
    verdicts = [v for v, _ in parts]
    if not parts or any(v not in claims.VERDICTS for v in verdicts):
        raise ValueError(f"need (verdict, reason) pairs with verdicts in {claims.VERDICTS}; got {verdicts}")
    verdict = ("does not hold" if "does not hold" in verdicts else
               "not resolved" if "not resolved" in verdicts else "holds")
    return verdict, " ".join(reason for _, reason in parts)


def sweep_summary(runs: pd.DataFrame, unit: str, sparsity: str = "S", budget: str = "D") -> dict:
    """One row describing a sweep: runs, sparsities, runs per sparsity, range of N, budgets.

        >>> sweep_summary(paper.load_t5(), "tokens")
        {'runs': 48, 'sparsities': '0, 0.5, 0.75, 0.875', 'runs per sparsity': '12, 12, 12, 12',
         'N': '1.33e+06 to 8.49e+07', 'D': '1.64e+10, 3.28e+10, 6.55e+10 tokens'}
    """
    return {"runs": len(runs),
            "sparsities": ", ".join(f"{s:g}" for s in sorted(runs[sparsity].unique())),
            "runs per sparsity": ", ".join(str(n) for n in runs.groupby(sparsity).size()),
            "N": f"{runs.N.min():.3g} to {runs.N.max():.3g}",
            "D": ", ".join(f"{d:.3g}" for d in sorted(runs[budget].unique())) + f" {unit}"}


# ============================================================================= chapter 2's pages
# Chapter 2 is three pages: 02a (the authors' sweeps), 02b (our runs), 02c (appendix: the
# optimisers, residuals and profiles). What they compute is below; the cells call it, show the
# tables and figures and glue the texts (dicts {glue name: text}).

PAPER = "Frantar et al. 2024"
TABLE2_S = (0.5, 0.75, 0.875)  # the sparsities of Table 2, each doubling the compression
OBSERVED_S = (0.0, *TABLE2_S)  # the sparsities of the paper's Fig. 2
UNITS = {"T5/C4": "tokens", "ViT/JFT": "images"}  # the data unit D of each published family
FAMILY_KEYS = {"T5/C4": "t5", "ViT/JFT": "vit"}  # kit.fit.lawfit's family of each published sweep
LOSS_LABEL = {"T5/C4": "validation loss (nats/token)", "ViT/JFT": "validation loss"}
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight")

RULES = {  # each claim's rule, written from the thresholds above and the observation margins
    "table7": (f"Holds if each of Table 7's seven coefficients lies inside our interval from the same objective and "
               f"data and the objective at Table 7's coefficients lies within {OPTIMUM_TOLERANCE:.0%} of our optimum's; "
               f"does not hold otherwise."),
    "converges": (f"Holds if, in both families, at least {CONVERGED_SHARE:.0%} of the replayed random starts of the "
                  f"authors' procedure end within {OPTIMUM_TOLERANCE:.0%} of the lowest objective either optimiser "
                  f"finds; does not hold if fewer do in either."),
    "t5-xl": (f"Holds if the measured loss lies inside our interval of the prediction and the interval's farther end "
              f"lies at most {EXTRAPOLATION_WIDTH:.0%} from the prediction; does not hold if it lies outside; "
              f"otherwise not resolved."),
    "extrapolation": (f"Holds if the measured loss lies inside the interval of the prediction (the fit's interval "
                      f"widened by the seed noise) and its farther end lies at most {EXTRAPOLATION_WIDTH:.0%} from the "
                      f"prediction; does not hold if it lies outside; otherwise not resolved."),
    "rollout": (f"Eq. 1 fitted without the grid's largest size predicts every run at that size: holds if each "
                f"run's loss lies inside the interval of its prediction (the fit's interval widened by the run's "
                f"seed noise) and every interval's farther end lies at most {EXTRAPOLATION_WIDTH:.0%} from its "
                f"prediction; does not hold if any run lies outside its interval; otherwise not resolved."),
    "identified": ("Holds if the intervals of a_S and b_S are each narrower than their estimates and each gain's "
                   "interval (at 50, 75 and 87.5%) is narrower than the gain minus 1; does not hold if every gain's "
                   f"interval is bounded and the largest sparsity's upper end lies within {FLAT_MARGIN:.0%} above the "
                   "smallest sparsity's lower end (the benefit is shown flat: more sparsity adds at most that), or "
                   f"every gain's upper end lies below {1 + FLAT_MARGIN:g} (shown absent); otherwise not resolved."),
    "table2": (f"Holds if each of Table 2's gains lies inside our interval and each interval is narrower than "
               f"{GAIN_WIDTH:g}; does not hold if any lies outside; otherwise not resolved."),
    "parallel": (f"Holds if the interval of b(S_max) − b(0), the capacity term's exponents per sparsity with the joint "
                 f"fit's data term, lies within ±{PARALLEL_MARGIN:.0%} of the joint b_N; does not hold if wholly "
                 f"outside; otherwise not resolved."),
    "diminishing": ("Holds if every step 0 → 0.5 → 0.75 → 0.875 lowers the mean loss at equal size and data (interval "
                    "above 0) and the last step's drop minus the first's is negative (interval below 0); does not hold "
                    "if any interval lies wholly on the other side of 0; otherwise not resolved."),
    "interaction": (f"Holds if the interval of the loss drop per doubling of the data at S_max minus at S = 0 (equal "
                    f"size) lies within ±{INTERACTION_MARGIN:.0%} of the dense runs' mean drop; does not hold if "
                    f"wholly outside; otherwise not resolved."),
}
# The observations of Section 3.2 as claims: key, statement, the difference tested, its format.
OBSERVATIONS = {
    "parallel": ("core-parallel", "Loss against non-zeros forms almost parallel lines in log-log for all sparsities, "
                 "differing primarily in the intercept.", "b(S_max) − b(0)", ".3f"),
    "diminishing": ("core-diminishing", "The higher the sparsity the lower the loss, but gains are quickly diminishing.",
                    "last drop − first drop", "+.3f"),
    "interaction": ("core-no-interaction", "Sparsity and data scaling are mostly independent: more data lowers the "
                    "loss by the same amount at every sparsity.", "drop(S_max) − drop(0)", "+.3f"),
}


def rule_texts(level=0.95) -> dict:
    """The thresholds of the rules as the prose quotes them: {glue name: text}.

        >>> rule_texts()["rule_extrapolation_width"]
        '2%'
    """
    return {"level_pct": f"{level:.0%}", "rule_optimum_tolerance": f"{OPTIMUM_TOLERANCE:.0%}",
            "rule_converged_share": f"{CONVERGED_SHARE:.0%}", "rule_extrapolation_width": f"{EXTRAPOLATION_WIDTH:.0%}",
            "rule_gain_width": f"{GAIN_WIDTH:g}", "rule_parallel": f"{PARALLEL_MARGIN:.0%}",
            "rule_interaction": f"{INTERACTION_MARGIN:.0%}"}


def number_word(n: int) -> str:
    """A small count as a word for the prose (beyond eight, digits).

        >>> number_word(3), number_word(12)
        ('three', '12')
    """
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def row_text(row, fmt=".3g", unit="") -> str:
    """A row of kit.fit.fitting's intervals (estimate, low, high) as interval_text writes it.

        >>> row_text(pd.Series({"estimate": 1.0, "low": 0.9, "high": 1.2}))
        '1 [0.9, 1.2]'
    """
    return claims.interval_text(row["estimate"], row["low"], row["high"], fmt, unit)


def table7_gain(family: str, s: float) -> float:
    """The gain of Eq. 7 at sparsity s from Table 7's coefficients (Table 2 prints it).

        >>> round(table7_gain("t5", 0.75), 2)
        2.16
    """
    return float(laws.gain(s, *(laws.TABLE7[family][c] for c in ("a_S", "b_S", "c_S", "b_N"))))


def table7_xl() -> float:
    """Table 7's T5 prediction of the T5-XL run's loss (kit.fit.paper.T5_XL).

        >>> round(table7_xl(), 4)
        1.4689
    """
    xl = paper.T5_XL
    return float(laws.sparse_law(xl["S"], xl["N"], xl["D"], **laws.TABLE7["t5"]))


@dataclass(frozen=True)
class FamilyFit:
    """Eq. 1 fitted to one published sweep: name ("T5/C4"), key (kit.fit.lawfit's family, "t5"),
    the runs, the fit (kit.fit.fitting.FitResult) and its intervals (estimate, low, high, bounded,
    relative width per coefficient, gain(S) and, for T5, L(T5-XL)).

        >>> t5 = paper.load_t5()
        >>> fit = lawfit.fit_family(t5, "t5", starts=1)
        >>> FamilyFit("T5/C4", "t5", t5, fit, table=pd.DataFrame({"estimate": fit.params})).table.shape
        (7, 1)
    """
    name: str
    key: str
    runs: pd.DataFrame
    result: fitting.FitResult
    table: pd.DataFrame


def fit_published(n_starts=16, n_boot=200, level=0.95, seed=0, intervals=True) -> dict:
    """{name: FamilyFit} for the authors' T5/C4 and ViT/JFT sweeps (kit.fit.paper), fitted as the
    paper states (kit.fit.lawfit) with intervals for the coefficients, the gains at TABLE2_S and
    the T5-XL loss; intervals=False: the fits alone (the table holds the estimates).

        >>> families = fit_published(1, intervals=False)
        >>> round(families["ViT/JFT"].result.params["b_N"], 3)  # Table 7: 0.392
        0.392
    """
    out = {}
    for name, key, runs in (("T5/C4", "t5", paper.load_t5()), ("ViT/JFT", "vit", paper.load_vit())):
        if intervals:
            points = {"T5-XL": tuple(paper.T5_XL[k] for k in "SND")} if key == "t5" else {}
            fitted = lawfit.fit_with_intervals(runs, key, derived=lawfit.derived_quantities(TABLE2_S, points=points),
                                               starts=n_starts, n_boot=n_boot, level=level, seed=seed)
            result, table = fitted.result, fitted.intervals
            table["relative width"] = (table.high - table.low) / table.estimate
        else:
            result = lawfit.fit_family(runs, key, starts=n_starts, seed=seed)
            table = pd.DataFrame({"estimate": result.params})
        out[name] = FamilyFit(name, key, runs, result, table)
    return out


def sweep_texts(t5: pd.DataFrame, vit: pd.DataFrame) -> dict:
    """What the prose says of the published sweeps against Table 1 and of the T5-XL run.

        >>> sweep_texts(paper.load_t5(), paper.load_vit())["xl_factor"]  # T5-XL's N over the sweep's largest
        '7.11x'
    """
    extra = vit[~vit.S.isin(OBSERVED_S)]
    xl = paper.T5_XL
    return {"vit_875_sizes": number_word(int(vit[vit.S == 0.875].N.nunique())), "vit_extra": f"{len(extra)}",
            "vit_extra_sizes": number_word(int(extra.N.nunique())),
            "vit_extra_S": ", ".join(f"{s:.2%}" for s in sorted(set(extra.S))),
            "xl_factor": f"{xl['N'] / t5.N.max():.2f}x", "xl_D": f"{xl['D']:.3g}",
            "xl_is_middle": "equals" if xl["D"] == sorted(t5.D.unique())[1] else "differs from"}


def coefficient_table(families: dict, level=0.95) -> pd.DataFrame:
    """Our coefficients with their intervals beside Table 7's, one column pair per family.

        >>> table = coefficient_table(fit_published(1, 2))
        >>> table.shape, table.loc["b_N", ("T5/C4", "Table 7")]
        ((7, 4), '0.245')
    """
    columns = {}
    for f in families.values():
        columns[(f.name, f"ours [{level:.0%} interval]")] = {c: row_text(f.table.loc[c]) for c in laws.COEFF_NAMES}
        columns[(f.name, "Table 7")] = {c: f"{laws.TABLE7[f.key][c]:.3g}" for c in laws.COEFF_NAMES}
    return pd.DataFrame(columns).rename_axis("coefficient")


def table7_claims(families: dict):
    """The test of Table 7 (RULES["table7"]) per family: (objectives table, claims, texts).

        >>> objectives, made, texts = table7_claims(fit_published(1, 2))
        >>> [(c.key, c.verdict) for c in made]
        [('core-table7-t5', 'does not hold'), ('core-table7-vit', 'holds')]
    """
    rows, out, texts = {}, [], {}
    for f in families.values():
        fit, table, key = f.result, f.table, f.key
        at_table7 = objective(f.runs, laws.TABLE7[key], key)
        beyond = int(np.sum(np.abs(fit.residuals) > lawfit.FAMILIES[key]["delta"]))
        rows[f.name] = {"our objective": f"{fit.objective:.3g}", "Table 7's Error": f"{paper.TABLE7_ERROR[key]:.3g}",
                        "objective at Table 7's coefficients": f"{at_table7:.3g}",
                        "ours / Table 7's": f"{fit.objective / at_table7:.2f}",
                        "residuals beyond δ": f"{beyond} of {len(f.runs)}"}
        verdict, reason = coefficients_verdict(table, laws.TABLE7[key], fit.objective, at_table7)
        out.append(claims.Claim(
            key=f"core-table7-{key}", paper=PAPER, section="ch2-table7",
            statement=f"Table 7's {f.name} coefficients are the fit of Eq. 1 to the published {f.name} sweep.",
            paper_value=f"Error {paper.TABLE7_ERROR[key]:.3g}; b_S {laws.TABLE7[key]['b_S']:.3g}",
            authors_data=f"objective {fit.objective:.3g}; b_S {row_text(table.loc['b_S'])}", our_runs=None,
            verdict=verdict, reason=reason, rule=RULES["table7"],
            numbers={"objective": fit.objective, "objective_table7": at_table7, "error_table7": paper.TABLE7_ERROR[key],
                     **{f"{c}_{part}": float(table.loc[c, part]) for c in laws.COEFF_NAMES
                        for part in ("estimate", "low", "high")}},
            kind="reanalysis", scope=f"the {len(f.runs)} published {f.name} runs", rule_after=True))
        wide = [c for c in laws.COEFF_NAMES if not (table.loc[c, "high"] - table.loc[c, "low"]) <= table.loc[c, "estimate"]]
        texts |= {f"{key}_same_digits": f"{sum(f'{fit.params[c]:.3g}' == f'{laws.TABLE7[key][c]:.3g}' for c in laws.COEFF_NAMES)} of 7",
                  f"{key}_objective": f"{fit.objective:.3g}", f"{key}_objective_table7": f"{at_table7:.3g}",
                  f"{key}_error_table7": f"{paper.TABLE7_ERROR[key]:.3g}",
                  f"{key}_objective_ratio": f"{fit.objective / at_table7:.2f}",
                  f"{key}_table7_excess": f"{at_table7 / fit.objective - 1:.2%}",
                  f"verdict_table7_{key}": claims.verb(verdict), f"{key}_wide_coefficients": ", ".join(wide) or "none",
                  **{f"{key}_{c}": f"{fit.params[c]:.3g}" for c in ("b_S", "b_D", "c", "b_N")},
                  **{f"{key}_{c}_table7": f"{laws.TABLE7[key][c]:.3g}" for c in ("b_S", "b_D", "c", "b_N")}}
    vit = families["ViT/JFT"].runs
    texts |= {"vit_median_loss": f"{vit.loss.median():.2g}",
              "vit_delta_share": f"{lawfit.FAMILIES['vit']['delta'] / vit.loss.median():.2%}"}
    return pd.DataFrame(rows).T.rename_axis("family"), out, texts


def convergence_verdict(replays: dict, share=None) -> tuple[str, str]:
    """The paper's "converge to virtually the same values from different random starting
    points", for the authors' procedure replayed (replay_authors' dicts, one per family): holds if
    in every family at least `share` (default CONVERGED_SHARE) of the starts end near the optimum;
    does not hold otherwise.

        >>> r = {"starts": 10, "near the optimum": 9, "optimum": 1.0, "best": 1.0, "worst": 1.3}
        >>> convergence_verdict({"T5/C4": r})[0]
        'holds'
    """
    share = CONVERGED_SHARE if share is None else share
    converged = all(r["near the optimum"] >= share * r["starts"] for r in replays.values())
    reason = "; ".join(f"{name}: {r['near the optimum']} of {r['starts']} starts end within {OPTIMUM_TOLERANCE:.0%} of "
                       f"the optimum {r['optimum']:.3g} (objectives {r['best']:.3g} to {r['worst']:.3g})"
                       for name, r in replays.items()) + "."
    return ("holds" if converged else "does not hold"), reason


def optimiser_checks(families: dict, n_starts=16, seed=0) -> dict:
    """Per family: our optimiser from each random start (start_agreement), from Table 7's
    coefficients (kit.fit.lawfit.fit_family), and the authors' procedure replayed (replay_authors)
    against the lower optimum of the two optimisers: {name: {"ours", "from table7", "authors"}}.

        >>> checks = optimiser_checks(fit_published(1, intervals=False), n_starts=2)
        >>> checks["ViT/JFT"]["ours"]["reached"], checks["T5/C4"]["authors"]["starts"]
        (2, 2)
    """
    out = {}
    for name, f in families.items():
        agreement = start_agreement(f.runs, f.key, n_starts=n_starts, seed=seed)
        best = min(f.result.objective, agreement["best objective"])
        out[name] = {"ours": agreement, "from table7": lawfit.fit_family(f.runs, f.key, starts=[laws.TABLE7[f.key]]),
                     "authors": replay_authors(f.runs, f.key, laws.TABLE7[f.key], best, n_starts=n_starts, seed=seed)}
    return out


def convergence_claim(checks: dict):
    """The test of the paper's convergence statement (RULES["converges"]) on optimiser_checks:
    (claim, texts).

        >>> claim, texts = convergence_claim(optimiser_checks(fit_published(1, intervals=False), n_starts=2))
        >>> claim.verdict, texts["vit_replay_within"]
        ('does not hold', '2 of 2')
    """
    replays = {name: c["authors"] for name, c in checks.items()}
    verdict, reason = convergence_verdict(replays)
    n_starts = next(iter(replays.values()))["starts"]
    claim = claims.Claim(
        key="core-fit-converges", paper=PAPER, section="ch2-optimum",
        statement="The fitting procedure converges to virtually the same values from different random starting points.",
        paper_value="virtually the same values",
        authors_data="; ".join(f"{name}: {r['near the optimum']} of {r['starts']} starts" for name, r in replays.items()),
        our_runs=None, verdict=verdict, reason=reason, rule=RULES["converges"],
        numbers={f"share_{FAMILY_KEYS[name]}": r["near the optimum"] / r["starts"] for name, r in replays.items()},
        kind="reanalysis", scope=f"{n_starts} random starts per family", rule_after=False)
    texts = {"verdict_converges": claims.verb(verdict)}
    for name, r in replays.items():
        key = FAMILY_KEYS[name]
        texts |= {f"{key}_replay_within": f"{r['near the optimum']} of {r['starts']}",
                  f"{key}_replay_range": f"{r['best']:.3g} to {r['worst']:.3g}",
                  f"{key}_replay_success": f"{r['reported success']} of {r['starts']}",
                  f"{key}_replay_t7_iterations": f"{r['from reference: iterations']}",
                  f"{key}_replay_t7_objective": f"{r['from reference: objective']:.3g}"}
    return claim, texts



def optimiser_table(families: dict, checks: dict):
    """The appendix's table of the optimisers (one column per family) and its texts.

        >>> families = fit_published(1, intervals=False)
        >>> table, texts = optimiser_table(families, optimiser_checks(families, n_starts=2))
        >>> table.shape, texts["vit_reached"]
        ((9, 2), '2 of 2')
    """
    rows, texts = {}, {}
    for name, f in families.items():
        ours, t7, replay = checks[name]["ours"], checks[name]["from table7"], checks[name]["authors"]
        n = ours["starts"]
        deviation = max(abs(t7.params[c] / f.result.params[c] - 1) for c in laws.COEFF_NAMES)
        others = "–" if ours["others"] is None else "{:.3g} to {:.3g}".format(*ours["others"])
        rows[name] = {"ours: starts at the optimum (0.1%)": f"{ours['reached']} of {n}",
                      "ours: their largest deviation": f"{ours['largest deviation']:.2g}",
                      "ours: the other starts' objectives": others,
                      "ours from Table 7: objective": f"{t7.objective:.2g}", "ours from Table 7: deviation": f"{deviation:.2g}",
                      f"authors': within {OPTIMUM_TOLERANCE:.0%} of the optimum": f"{replay['near the optimum']} of {n}",
                      "authors': reported success": f"{replay['reported success']} of {n}",
                      "authors': objectives": f"{replay['best']:.3g} to {replay['worst']:.3g}",
                      "authors' from Table 7": f"{replay['from reference: objective']:.3g} "
                                               f"({replay['from reference: iterations']} iterations)"}
        key = f.key
        texts |= {f"{key}_reached": f"{ours['reached']} of {n}", f"{key}_deviation": f"{ours['largest deviation']:.0e}",
                  f"{key}_others": "none" if ours["others"] is None else others,
                  f"{key}_from_table7_deviation": f"{deviation:.0e}"}
    return pd.DataFrame(rows).rename_axis("check"), texts


def residual_tables(families: dict):
    """Per family, residual_table of our fit and Table 7's coefficients (as printed, "+.4f"), and
    texts on how the mean residual drifts over the budgets (shortest to longest):
    ({name: table}, texts).

        >>> tables, texts = residual_tables(fit_published(1, intervals=False))
        >>> list(tables["T5/C4"].index), texts["t5_drift_table7"]
        (['our fit', 'Table 7'], '+0.0027 to -0.0015')
    """
    tables, texts = {}, {}
    for name, f in families.items():
        table = residual_table(f.runs, {"our fit": f.result.params, "Table 7": laws.TABLE7[f.key]}, f.key)
        tables[name] = table.map(lambda r: f"{r:+.4f}").rename_axis("coefficients")
        for source, suffix in (("Table 7", "table7"), ("our fit", "ours")):
            row = table["mean residual"].loc[source]
            texts[f"{f.key}_drift_{suffix}"] = f"{round(row.iloc[0], 4) + 0.0:+.4f} to {round(row.iloc[-1], 4) + 0.0:+.4f}"
    return tables, texts


def xl_claim(t5: FamilyFit):
    """The T5-XL test (RULES["t5-xl"]) on the T5 fit's interval of L(T5-XL): (table, claim, texts).

        >>> table, claim, texts = xl_claim(fit_published(1, 2)["T5/C4"])
        >>> claim.verdict, texts["xl_table7"], texts["xl_measured"]
        ('not resolved', '1.4689', '1.4828')
    """
    xl, q, t7 = paper.T5_XL, t5.table.loc["L(T5-XL)"], table7_xl()
    verdict, reason = extrapolation_verdict(q.estimate, q.low, q.high, xl["loss"], max_half_width=EXTRAPOLATION_WIDTH)
    claim = claims.Claim(
        key="core-t5-xl", paper=PAPER, section="ch2-t5-xl",
        statement="Eq. 1 fitted to the T5 sweep predicts the loss of T5-XL pruned to 75% (about 6.75x the sweep's largest N) closely.",
        paper_value=f"{t7 / xl['loss'] - 1:+.1%} (Table 7's coefficients)",
        authors_data=f"{q.estimate / xl['loss'] - 1:+.1%}; {row_text(q, '.4f')} vs {xl['loss']:.4f}", our_runs=None,
        verdict=verdict, reason=reason, rule=RULES["t5-xl"],
        numbers={"predicted": q.estimate, "low": q.low, "high": q.high, "measured": xl["loss"], "table7": t7},
        kind="reanalysis", scope="one run, T5-XL at 75% sparsity", rule_after=False)
    table = pd.DataFrame({"our fit": {"predicted": row_text(q, ".4f"), "relative error": f"{q.estimate / xl['loss'] - 1:+.2%}"},
                          "Table 7": {"predicted": f"{t7:.4f}", "relative error": f"{t7 / xl['loss'] - 1:+.2%}"}}).T
    texts = {"xl_ours": row_text(q, ".4f"), "xl_ours_error": f"{q.estimate / xl['loss'] - 1:+.2%}",
             "xl_table7": f"{t7:.4f}", "xl_table7_error": f"{t7 / xl['loss'] - 1:+.2%}", "xl_measured": f"{xl['loss']:.4f}",
             "verdict_xl": claims.verb(verdict), "xl_interval_over_gap": f"{(q.high - q.low) / abs(q.estimate - t7):.1f}"}
    return table.assign(measured=f"{xl['loss']:.4f}").rename_axis("coefficients"), claim, texts


def observation_rows(tests: dict, label: str) -> dict:
    """One row per observation of observations(): the difference tested, its interval, the
    rule's margin ("sign" where the rule has none) and the verdict, keyed (label, observation).

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> observation_rows(tests, "T5/C4")[("T5/C4", "diminishing")]
        {'difference': 'last drop − first drop', 'estimate [interval]': '-0.139 [-0.182, -0.095]', 'margin': 'sign',
         'verdict': 'holds'}
    """
    return {(label, name): {"difference": spec[2], "estimate [interval]": claims.interval_text(
                tests[name]["estimate"], tests[name]["low"], tests[name]["high"], spec[3]),
            "margin": f"±{tests[name]['margin']:.3f}" if "margin" in tests[name] else "sign",
            "verdict": tests[name]["verdict"]} for name, spec in OBSERVATIONS.items()}


def observation_claims(tests: dict, key_suffix: str, section: str, where: str, authors: bool, scope: str) -> list:
    """The three observations of observations() as claims (rules RULES[observation]): keys
    core-parallel-<key_suffix> etc., the numbers on the authors' data (authors=True) or our runs.

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> made = observation_claims(tests, "t5", "ch2-observations", "T5/C4 sweep", authors=True, scope="48 runs")
        >>> [c.key for c in made]
        ['core-parallel-t5', 'core-diminishing-t5', 'core-no-interaction-t5']
    """
    out = []
    for name, (key, statement, _, fmt) in OBSERVATIONS.items():
        t = tests[name]
        value = claims.interval_text(t["estimate"], t["low"], t["high"], fmt)
        out.append(claims.Claim(key=f"{key}-{key_suffix}", paper=PAPER, section=section, statement=f"{statement} ({where})",
                                paper_value=None, authors_data=value if authors else None,
                                our_runs=None if authors else value, verdict=t["verdict"], rule=RULES[name],
                                reason=t["reason"], numbers={k: float(v) for k, v in t.items() if k not in ("verdict", "reason")},
                                kind="reanalysis" if authors else "own runs", scope=scope, rule_after=False))
    return out


def observation_texts(tests: dict, key: str) -> dict:
    """The verdict and interval of each observation, the exponents per sparsity and the loss
    drops per doubling of the data, for the prose (names suffixed with `key`).

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> observation_texts(tests, "t5")["exponents_t5"]
        '0.249 (S = 0), 0.239 (S = 0.5), 0.245 (S = 0.75), 0.241 (S = 0.875)'
    """
    texts = {}
    for obs, (_, _, _, fmt) in OBSERVATIONS.items():
        t = tests[obs]
        texts |= {f"obs_{obs}_{key}": claims.verb(t["verdict"]),
                  f"obs_{obs}_{key}_value": claims.interval_text(t["estimate"], t["low"], t["high"], fmt)}
    texts[f"exponents_{key}"] = ", ".join(f"{r.b:.3f} (S = {s:g})" for s, r in tests["exponents"].iterrows())
    texts[f"data_drops_{key}"] = ", ".join(f"{r['mean drop']:.3f} ({s})" for s, r in tests["drops"].iterrows())
    texts |= {f"obs_{obs}_{key}_margin": f"{tests[obs]['margin']:.3f}" for obs in ("parallel", "interaction")}
    return texts


def gain_claims(families: dict):
    """The test of Table 2 (RULES["table2"]) per family: (table of gains, claims, texts).

        >>> gains, made, texts = gain_claims(fit_published(1, 2))
        >>> texts["gains_vit"], [c.verdict for c in made]  # Table 2's ViT gains: 1.60x, 2.17x, 2.63x
        ('1.60x, 2.17x, 2.63x', ['does not hold', 'holds'])
    """
    rows, out, texts = {}, [], {}
    for f in families.values():
        table, paper_gains = f.table, TABLE2[f.name]
        for s in TABLE2_S:
            rows[(f.name, f"{s:g}")] = {"ours": row_text(table.loc[f"gain({s:g})"], ".3f"),
                                        "Table 7's coefficients": f"{table7_gain(f.key, s):.3f}",
                                        "paper (Table 2)": f"{paper_gains[s]:.2f}"}
        verdict, reason = gains_verdict(table, paper_gains, max_width=GAIN_WIDTH)
        listed = ", ".join(f"{paper_gains[s]:.2f}x" for s in TABLE2_S)
        out.append(claims.Claim(
            key=f"core-table2-{f.key}", paper=PAPER, section="ch2-gains",
            statement=f"The dense size multipliers that match sparse {f.name} models (Eq. 7, Table 2) are "
                      f"{listed} at 50%, 75% and 87.5% sparsity.",
            paper_value=listed, authors_data=", ".join(row_text(table.loc[f"gain({s:g})"], ".3g", "x") for s in TABLE2_S),
            our_runs=None, verdict=verdict, reason=reason, rule=RULES["table2"],
            numbers={f"gain_{s:g}_{part}": float(table.loc[f"gain({s:g})", part]) for s in TABLE2_S
                     for part in ("estimate", "low", "high")},
            kind="reanalysis", scope=f"the {len(f.runs)} published {f.name} runs", rule_after=False))
        texts |= {f"gains_{f.key}": ", ".join(f"{table.loc[f'gain({s:g})', 'estimate']:.2f}x" for s in TABLE2_S),
                  f"verdict_gains_{f.key}": claims.verb(verdict)}
    return pd.DataFrame(rows).T.rename_axis(["family", "S"]), out, texts


def width_texts(families: dict) -> dict:
    """Which quantities each published fit pins well (relative width below 0.5), poorly (above
    1) or leaves unbounded on a side, for the prose.

        >>> texts = width_texts(fit_published(1, 2))
        >>> texts["t5_unbounded"], texts["vit_unbounded"]
        ('c', 'none')
    """
    texts = {}
    for f in families.values():
        width = f.table["relative width"]
        unbounded = f.table.index[~f.table.bounded.astype(bool)]
        texts |= {f"{f.key}_well": ", ".join(f"{q} ({w:.2g})" for q, w in width[width < 0.5].items()) or "none",
                  f"{f.key}_poor": ", ".join(f"{q} ({width_text(w, '.3g')})" for q, w in width[width > 1].items()) or "none",
                  f"{f.key}_unbounded": ", ".join(unbounded) if len(unbounded) else "none"}
    return texts


def runs_by_label(runs: pd.DataFrame, key: str, x: str, fmt) -> dict:
    """{fmt(value): (x, loss)} of the runs grouped by column `key`, each sorted by x, for
    kit.report.plots.plot_scaling_curves.

        >>> points = runs_by_label(paper.load_t5(), "S", "N", lambda s: f"S = {s:g}")
        >>> list(points), points["S = 0.5"][0].shape
        (['S = 0', 'S = 0.5', 'S = 0.75', 'S = 0.875'], (12,))
    """
    return {fmt(v): (g.sort_values(x)[x].to_numpy(), g.sort_values(x).loss.to_numpy()) for v, g in runs.groupby(key)}


def law_curves(runs: pd.DataFrame, key: str, x: str, fmt, coeffs: dict, n=50) -> dict:
    """{fmt(value): (x grid, law)}: Eq. 1 at `coeffs` over each group's range of x (geometric, n
    points), the other inputs (S, N, D) at the group's first run.

        >>> t5 = paper.load_t5()
        >>> curves = law_curves(t5[t5.steps == t5.steps.max()], "S", "N", lambda s: f"S = {s:g}", laws.TABLE7["t5"], n=5)
        >>> grid, law = curves["S = 0.5"]
        >>> grid.shape, bool(np.all(np.diff(law) < 0))
        ((5,), True)
    """
    curves = {}
    for v, g in runs.groupby(key):
        grid = np.geomspace(g[x].min(), g[x].max(), n)
        inputs = {c: np.full(n, float(g[c].iloc[0])) for c in ("S", "N", "D") if c != x}
        curves[fmt(v)] = (grid, laws.sparse_law(**inputs, **{x: grid}, **coeffs))
    return curves


def _sparsity_label(s) -> str:
    return f"S = {s:g}"


def millions_label(n) -> str:
    """A size in millions as a legend label.

        >>> millions_label(2.1e6)
        'N = 2.1M'
    """
    return f"N = {n / 1e6:.3g}M"


def short_label(n) -> str:
    """A requested size, rounded, as a legend label.

        >>> short_label(13_824)
        'N ≈ 13.8k'
    """
    return f"N ≈ {plots.short_number(n)}"


def figure_predicted_vs_actual(families: dict):
    """Fig. 1's analogue: every published run's loss against its prediction, with our
    coefficients (left) and Table 7's (right), one row per family, coloured by sparsity; the
    T5-XL run, fitted by neither, as a star.

        >>> fig = figure_predicted_vs_actual(fit_published(1, intervals=False))
        >>> [ax.get_title() for ax in fig.axes[:2]]
        ['T5/C4, our fit', 'T5/C4, Table 7']
    """
    xl = paper.T5_XL
    fig, axes = plots.panel_grid(2 * len(families), per_row=2, aspect=1.0)
    for row, f in enumerate(families.values()):
        for ax, (source, coeffs) in zip(axes[2 * row:], (("our fit", f.result.params), ("Table 7", laws.TABLE7[f.key]))):
            predicted = laws.sparse_law(f.runs.S, f.runs.N, f.runs.D, **coeffs)
            points = ({"T5-XL (not fitted)": (xl["loss"], float(laws.sparse_law(xl["S"], xl["N"], xl["D"], **coeffs)))}
                      if f.key == "t5" else None)
            plots.plot_predicted_vs_actual(ax, f.runs.loss, predicted, hue=f.runs.S, points=points,
                                           quantity=LOSS_LABEL[f.name], legend=None)
            ax.set_title(f"{f.name}, {source}")
    plots.legend_outside(fig)
    return fig


def figure_t5_loss_vs_size(t5: FamilyFit):
    """Fig. 2's analogue: T5 loss - 1 against non-zeros, one panel per training length, one
    colour per sparsity (kit.report.plots' palette), dots the runs, lines our joint fit.

        >>> fig = figure_t5_loss_vs_size(fit_published(1, intervals=False)["T5/C4"])
        >>> [ax.get_title() for ax in fig.axes[:3]]
        ['250k steps', '500k steps', '1000k steps']
    """
    runs, coeffs = t5.runs, t5.result.params
    steps = sorted(runs.steps.unique())
    fig, axes = plots.panel_grid(len(steps), sharey=True)
    for ax, n_steps in zip(axes, steps):
        at = runs[runs.steps == n_steps]
        plots.plot_scaling_curves(ax, runs_by_label(at, "S", "N", _sparsity_label),
                                  law_curves(at, "S", "N", _sparsity_label, coeffs), offset=1.0,
                                  ylabel="validation loss − 1 (nats/token)",
                                  order=[_sparsity_label(s) for s in sorted(runs.S.unique())])
        ax.set_title(f"{n_steps / 1e3:g}k steps")
        ax.set_yticks([0.6, 0.8, 1, 1.5, 2], ["0.6", "0.8", "1", "1.5", "2"])
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    plots.legend_outside(fig, title="T5/C4: dots are runs, lines our fit")
    return fig


def figure_loss_vs_data(runs: pd.DataFrame, coeffs: dict, size: str, budget: str, sparsity: str, label, xlabel,
                        ylabel, title, per_row=plots.MAX_PER_ROW, aspect=0.9):
    """Fig. 3's analogue: loss against data, one panel per sparsity, one colour per size (column
    `size`, labelled by `label`; the same colour for the same size in every panel), dots the
    runs, lines the joint law at `coeffs`, log-log; x ticks at the values of column `budget`.

        >>> vit = fit_published(1, intervals=False)["ViT/JFT"]
        >>> fig = figure_loss_vs_data(vit.runs, vit.result.params, "N", "D", "S", millions_label, "images", "loss", "ViT/JFT")
        >>> fig.axes[0].get_title()
        'S = 0'
    """
    order = [label(n) for n in sorted(runs[size].unique())]
    budgets = sorted(runs[budget].unique())
    values = sorted(runs[sparsity].unique())
    fig, axes = plots.panel_grid(len(values), per_row=per_row, aspect=aspect, sharey=True)
    for ax, s in zip(axes, values):
        at = runs[runs[sparsity] == s]
        plots.plot_scaling_curves(ax, runs_by_label(at, size, "D", label), law_curves(at, size, "D", label, coeffs),
                                  xlabel=xlabel, ylabel=ylabel, palette="plasma", order=order)
        ax.set_title(f"S = {s:g}")
        ax.set_xticks(budgets, [plots.short_number(d) for d in budgets])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    plots.legend_outside(fig, title=title)
    return fig


def vit_budget_texts(vit: FamilyFit) -> dict:
    """The ViT fit's rms residual per training budget, and whether the smallest budget is worst.

        >>> vit_budget_texts(fit_published(1, intervals=False)["ViT/JFT"])["vit_worst_budget"]
        'the smallest'
    """
    rms = pd.Series(vit.result.residuals).groupby(vit.runs.D.to_numpy()).agg(lambda r: float(np.sqrt(np.mean(r ** 2))))
    return {"vit_panels": number_word(int(vit.runs.S.nunique())),
            "vit_rms_by_budget": ", ".join(f"{r:.3f} at {d:.3g} images" for d, r in rms.items()),
            "vit_worst_budget": "the smallest" if rms.idxmax() == rms.index.min() else "not the smallest"}


def figure_intervals(families: dict, level=0.95):
    """How well each published sweep pins each quantity: its interval divided by our estimate
    (one log axis for both panels, bars cut at 1/50 and 50 times the estimate), Table 7's values
    as crosses.

        >>> fig = figure_intervals(fit_published(1, 2))
        >>> [ax.get_title() for ax in fig.axes[:2]]
        ['T5/C4', 'ViT/JFT']
    """
    fig, axes = plots.panel_grid(len(families), aspect=1.1)
    for ax, f in zip(axes, families.values()):
        reference = {**laws.TABLE7[f.key], **{f"gain({s:g})": table7_gain(f.key, s) for s in TABLE2_S}}
        if f.key == "t5":
            reference["L(T5-XL)"] = table7_xl()
        shown = f.table[["estimate", "low", "high"]].assign(  # bars cut at 1/50 and 50 times the estimate
            low=np.maximum(f.table.low, f.table.estimate / 50), high=np.minimum(f.table.high, f.table.estimate * 50))
        plots.plot_intervals(ax, shown, reference=reference, reference_label="Table 7", legend=None)
        for bars in ax.collections:  # kit.fit.fitting's intervals: the hull of a bootstrap and a profile
            bars.set_label(f"{level:.0%} interval")
        ax.set_title(f.name)
    lo, hi = min(ax.get_xlim()[0] for ax in axes), max(ax.get_xlim()[1] for ax in axes)
    ticks = [t for t in ((0.02, 0.1, 1, 10, 50) if hi / lo > 10 else (0.5, 0.75, 1, 1.5)) if lo <= t <= hi]
    for ax in axes:  # one x-axis for both panels, so bar widths compare across them
        ax.set_xlim(lo, hi)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    plots.legend_outside(fig)
    return fig


def xl_profiles(t5: FamilyFit, grid=None) -> dict:
    """The T5 fit's profiles (profile) along b_N and b_D, each row with the T5-XL loss its
    coefficients predict: {coefficient: frame}. Default grid: b_N 0.20 to 0.28 (Table 7's 0.245
    inside), b_D 0.10 to 0.70.

        >>> t5 = fit_published(1, intervals=False)["T5/C4"]
        >>> along = xl_profiles(t5, {"b_N": [0.22, 0.245]})["b_N"]
        >>> along.b_N.round(3).tolist(), bool(along["T5-XL"].between(1.3, 1.6).all())
        ([0.22, 0.245], True)
    """
    grid = grid or {"b_N": np.linspace(0.20, 0.28, 17), "b_D": np.linspace(0.10, 0.70, 13)}
    xl = paper.T5_XL
    out = {}
    for c, values in grid.items():
        frame = profile(t5.result, c, values)
        frame["T5-XL"] = [float(laws.sparse_law(xl["S"], xl["N"], xl["D"], **row[list(laws.COEFF_NAMES)]))
                          for _, row in frame.iterrows()]
        out[c] = frame
    return out


def figure_xl_profiles(t5: FamilyFit, profiles: dict):
    """Per profile of xl_profiles: the objective and the predicted T5-XL loss along the
    coefficient held fixed, with our optimum, Table 7's value, the objective at Table 7's
    coefficients and the measured T5-XL loss marked.

        >>> t5 = fit_published(1, intervals=False)["T5/C4"]
        >>> fig = figure_xl_profiles(t5, xl_profiles(t5, {"b_N": [0.22, 0.245], "b_D": [0.3, 0.4]}))
        >>> len([ax for ax in fig.axes if ax.has_data()])
        4
    """
    at_table7 = objective(t5.runs, laws.TABLE7["t5"], "t5")
    fig, axes = plots.panel_grid(2 * len(profiles), per_row=2, aspect=0.75)
    for (ax_objective, ax_xl), (c, frame) in zip(zip(axes[::2], axes[1::2]), profiles.items()):
        marks = {"our optimum": t5.result.params[c], "Table 7": laws.TABLE7["t5"][c]}
        plots.plot_profile(ax_objective, frame[c], frame.objective * 1e6, f"${c}$ (held fixed)", "fit objective ($10^{-6}$)",
                           marks=marks, level=("objective at Table 7's coefficients", at_table7 * 1e6), legend=None)
        plots.plot_profile(ax_xl, frame[c], frame["T5-XL"], f"${c}$ (held fixed)", "predicted T5-XL loss",
                           marks=marks, level=("measured T5-XL loss", paper.T5_XL["loss"]), legend=None)
    plots.legend_outside(fig)
    return fig


def xl_profile_texts(t5: FamilyFit, profiles: dict) -> dict:
    """What the prose reads off the profiles of xl_profiles.

        >>> t5 = fit_published(1, intervals=False)["T5/C4"]
        >>> xl_profile_texts(t5, xl_profiles(t5, {"b_N": [0.22, 0.245], "b_D": [0.3, 0.4]}))["profile_at_table7_bN"]
        '0.245'
    """
    texts = {}
    for c, frame in profiles.items():
        texts |= {f"profile_{c}_xl": f"{frame['T5-XL'].min():.4f} to {frame['T5-XL'].max():.4f}",
                  f"profile_{c}_objective": f"{frame.objective.min():.3g} to {frame.objective.max():.3g}"}
    along = profiles["b_N"]
    nearest = along.iloc[int(np.argmin(np.abs(along.b_N - laws.TABLE7["t5"]["b_N"])))]
    best = along.iloc[int(np.argmin(np.abs(along["T5-XL"] - paper.T5_XL["loss"])))]
    return texts | {"profile_slope": f"{np.polyfit(along.b_N, along['T5-XL'], 1)[0] * 0.01:.4f}",
                    "profile_at_table7_bN": f"{nearest.b_N:.3f}", "profile_at_table7_xl": f"{nearest['T5-XL']:.4f}",
                    "profile_at_table7_objective": f"{nearest.objective:.3g}", "profile_best_bN": f"{best.b_N:.3f}",
                    "profile_best_objective": f"{best.objective:.3g}",
                    "table7_objective": f"{objective(t5.runs, laws.TABLE7['t5'], 't5'):.3g}", "xl_table7": f"{table7_xl():.4f}"}


# ----------------------------------------------------------------------------- chapter 2, our runs


@dataclass(frozen=True)
class OurRuns:
    """Our runs as chapter 2 reads them (kit.engine.store.law_frame, with N_total as a float):
    the main grid, the seed repeats, the held-out run(s), and every record read (unique ids).

        >>> frame = pd.DataFrame({"S": [0.75], "N": [884_736.0], "D": [2_400_256.0], "loss": [1.62]})
        >>> runs = OurRuns(main=frame, repeats=frame, held_out=frame, read=frame.assign(wall_s=60.0, compile_s=5.0, eval_s=1.0))
        >>> runs.training_s
        66.0
    """
    main: pd.DataFrame
    repeats: pd.DataFrame
    held_out: pd.DataFrame
    read: pd.DataFrame

    @property
    def training_s(self) -> float:
        """Seconds the runs read took to train, by their records (training, compilation, evaluation)."""
        return float((self.read.wall_s + self.read.compile_s + self.read.eval_s).sum())


def our_runs(runs_dir=None, corpus=None, base=None, *, n_nonzero, tokens, sparsities, seeds, seed_n_nonzero, seed_tokens,
             seed_sparsities, extrapolation_n_nonzero, extrapolation_tokens, extrapolation_sparsities) -> OurRuns:
    """The main grid, the seed repeats and the held-out run of kit.engine.grids at these values,
    read from the run store at runs_dir (None: runs/), training only the runs it lacks on `corpus`
    (kit.engine.data.load_corpus) with further RunConfig fields `base`.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> len(runs.main), len(runs.repeats), len(runs.held_out)  # grid v2, read from runs/
        (80, 20, 1)
    """
    from kit.engine import grids  # the engine is only needed here
    from kit.engine.config import RunConfig
    from kit.engine.data import load_corpus
    from kit.engine.store import RunStore, law_frame
    from kit.engine.sweep import run_sweep

    store, corpus_data, config = RunStore(runs_dir), load_corpus(corpus), RunConfig(**(base or {}))
    configs = (grids.main_grid(config, n_nonzero=n_nonzero, tokens=tokens, sparsity=sparsities),
               grids.seed_grid(config, n_nonzero=seed_n_nonzero, tokens=seed_tokens, sparsity=seed_sparsities, seed=seeds),
               grids.extrapolation_grid(config, n_nonzero=extrapolation_n_nonzero, tokens=extrapolation_tokens,
                                        sparsity=extrapolation_sparsities))
    frames = [run_sweep(c, store=store, corpus=corpus_data, progress=False) for c in configs]
    main, repeats, held_out = (law_frame(f).assign(N_total=lambda f: f.n_total.astype(float)) for f in frames)
    return OurRuns(main, repeats, held_out, pd.concat(frames).drop_duplicates("id"))


def our_runs_v3(runs_dir=None, train: bool = True) -> OurRuns:
    """Grid v3 as chapter 2 reads it, sized by the pilot stored at runs_dir (kit.chapters.pilot.
    grid_v3_sizing; kit.engine.grids.grid_v3_parts): main, its 36 runs; repeats, the seed-1 runs
    with their seed-0 twins of the main grid (every sparsity at N = 13,824, smallest and largest
    budget; only pairs with both runs stored); held_out, the run at 4x the largest N. With `train`, the runs the store lacks are
    trained on pycode (hours); without, only the stored runs are read. Raises ValueError while the
    pilot does not size grid v3.

        >>> runs = our_runs_v3(train=False)  # what is stored of grid v3 now
        >>> len(runs.main) <= 36 and len(runs.repeats) <= 16 and len(runs.held_out) <= 1
        True
    """
    from kit.chapters import pilot  # the engine is only needed here
    from kit.engine import grids
    from kit.engine.data import load_corpus
    from kit.engine.store import RunStore, law_frame, to_frame
    from kit.engine.sweep import run_sweep

    store = RunStore(runs_dir)
    sizing = pilot.grid_v3_sizing(store)
    if sizing is None:
        raise ValueError(f"the pilot stored in {store.root} does not size grid v3 yet (kit.chapters.pilot.grid_v3_sizing)")
    parts, corpus = grids.grid_v3_parts(*sizing), load_corpus(grids.CORPUS_V3)
    seeds = {(c.n_nonzero, c.sparsity, c.tokens) for c in parts["seeds"]}
    parts["seeds"] += [c for c in parts["grid"] if (c.n_nonzero, c.sparsity, c.tokens) in seeds]

    def read(configs):
        if train:
            return run_sweep(configs, store=store, corpus=corpus, progress=False)
        ids = [store.run_id(c, corpus.fingerprint) for c in configs]
        return to_frame([store.get(i) for i in ids if store.has(i)])

    frames = [read(parts[name]) for name in ("grid", "seeds", "held_out")]
    main, repeats, held_out = (law_frame(f).assign(N_total=lambda f: f.n_total.astype(float)) if len(f) else f
                               for f in frames)
    if len(repeats):  # a seed run whose twin is not stored yet is not a repeat
        repeats = repeats[repeats.groupby(["n_nonzero", "sparsity", "tokens"]).seed.transform("nunique") >= 2]
    return OurRuns(main, repeats, held_out, pd.concat(frames).drop_duplicates("id") if any(len(f) for f in frames) else frames[0])


def v3_progress(runs_dir=None) -> tuple[pd.DataFrame | None, dict]:
    """Grid v3's main grid as stored so far in runs_dir (our_runs_v3 without training): per
    requested N and sparsity, the final loss at each budget ("·" where the run is not stored yet);
    and texts: runs stored of all, budgets in steps, seed pairs complete, the held-out run. The
    table is None (and the texts say why) while the pilot does not size grid v3.

        >>> table, texts = v3_progress()
        >>> table.shape, texts["v3_budgets"]
        ((3, 4), '19,045, 38,090 and 76,180')
    """
    from kit.chapters import pilot
    from kit.engine import grids
    from kit.engine.store import RunStore

    sizing = pilot.grid_v3_sizing(RunStore(runs_dir))
    if sizing is None:
        return None, dict.fromkeys(["v3_stored", "v3_budgets", "v3_seed_pairs", "v3_held_out"], "– (no pilot stored)")
    runs, parts = our_runs_v3(runs_dir, train=False), grids.grid_v3_parts(*sizing)
    budgets = sorted({c.tokens for c in parts["grid"]})
    steps = [t // grids.STEP_TOKENS for t in budgets]
    main = runs.main.set_index(["n_nonzero", "sparsity", "tokens"]).loss if len(runs.main) else pd.Series(dtype=float)
    cells = {f"S = {S:g}": {f"{n:,}": " / ".join(f"{main[(n, S, t)]:.3f}" if (n, S, t) in main.index else "·" for t in budgets)
                           for n in sorted({c.n_nonzero for c in parts["grid"]})}
             for S in sorted({c.sparsity for c in parts["grid"]})}
    pairs = runs.repeats.groupby(["n_nonzero", "sparsity", "tokens"]).seed.nunique() if len(runs.repeats) else pd.Series(dtype=int)
    texts = {"v3_stored": f"{len(runs.read)} of {sum(len(v) for v in parts.values())}",
             "v3_budgets": ", ".join(f"{n:,}" for n in steps[:-1]) + f" and {steps[-1]:,}",
             "v3_seed_pairs": f"{int((pairs >= 2).sum())} of {len(parts['seeds'])}",
             "v3_held_out": "is stored" if len(runs.held_out) else "is not stored yet"}
    return pd.DataFrame(cells).rename_axis("requested N"), texts


def versus_paper(table: pd.DataFrame, paper_gains: dict) -> str:
    """Where each of the paper's gains {S: gain} lies against our interval of it (`table`'s
    "gain(S)" rows: estimate, low, high), grouped as a sentence.

        >>> table = pd.DataFrame({"low": [1.4, 1.8, 1.9], "high": [1.7, 2.1, 2.5]}, index=["gain(0.5)", "gain(0.75)", "gain(0.875)"])
        >>> versus_paper(table, TABLE2["T5/C4"])
        "Table 2's gain lies inside our interval at S = 0.5, above it at S = 0.75 and 0.875"
    """
    where = {}
    for S, gain in paper_gains.items():
        row = table.loc[f"gain({S:g})"]
        where.setdefault("above" if gain > row.high else "below" if gain < row.low else "inside", []).append(f"{S:g}")
    join = lambda s: s[0] if len(s) == 1 else ", ".join(s[:-1]) + " and " + s[-1]
    parts = [f"{k} {'our interval' if i == 0 else 'it'} at S = {join(where[k])}"
             for i, k in enumerate(k for k in ("inside", "above", "below") if k in where)]
    return "Table 2's gain lies " + ", ".join(parts)


def v3_markdown(tables: dict, *names: str) -> str:
    """grid_v3_law's tables `names` as the chapter shows them (markdown, one after another; a
    table grid_v3_law did not make is left out), or a line saying that too few runs are stored.

        >>> v3_markdown({}, "law")
        'Too few grid v3 runs are stored in this run store to fit Eq. 1.'
        >>> print(v3_markdown({"law": pd.DataFrame({"a_S": ["1.7 [1.1, 4.7]"]})}, "law", "held_out"), end="")
        | a_S |
        |---|
        | 1.7 [1.1, 4.7] |
    """
    from kit.report import results

    if not tables:
        return "Too few grid v3 runs are stored in this run store to fit Eq. 1."
    return "\n".join(results.markdown_table(tables[name]) for name in names if name in tables)


def v3_law_table(fit: OursFit, runs: OurRuns, planned: int = 36):
    """Eq. 1 on grid v3 as stored (fit_ours of our_runs_v3): each coefficient and Table 2's gains
    with its interval and relative width, the gains beside the paper's T5/C4 (Table 2); and texts
    (runs fitted of `planned`, the scope a claim on them carries, rms error, whether b_D is
    identified (its interval narrower than its estimate), the largest change of
    one (N, S)'s loss over its budgets against the dense loss's change over the sizes at the
    smallest budget, tokens per non-zero parameter).

        >>> runs = our_runs_v3(train=False)
        >>> table, texts = v3_law_table(fit_ours(runs, n_starts=1, n_boot=4), runs)
        >>> list(table.index[-3:]), texts["v3_fitted"] == f"{len(runs.main)} of 36"
        (['gain(0.5)', 'gain(0.75)', 'gain(0.875)'], True)
    """
    table, main = fit.table, runs.main
    rows = {name: {"estimate [interval]": row_text(table.loc[name]), "relative width": width_text(table.loc[name, "relative width"]),
                   "T5/C4 (Table 2)": f"{TABLE2['T5/C4'][float(name[5:-1])]:.2f}x" if name.startswith("gain") else ""}
            for name in [*laws.COEFF_NAMES, *(f"gain({s:g})" for s in TABLE2_S)]}
    complete = len(main) >= planned
    by_run = main.groupby(["n_nonzero", "sparsity"]).loss
    span = (by_run.max() - by_run.min())[by_run.count() > 1]  # each (N, S)'s loss change over its stored budgets
    per_param = main.D / main.N
    first = main[(main.tokens == main.tokens.min()) & (main.sparsity == 0)].set_index("n_nonzero").loss.sort_index()
    texts = {"v3_fitted": f"{len(main)} of {planned}", "v3_rms": f"{rms_loss_error(main, fit.result.params):.4f}",
             "v3_loss_span": f"{span.max():.3f}" if len(span) else "–",
             "v3_size_span": f"{first.iloc[0] - first.iloc[-1]:.2f}" if len(first) > 1 else "–",
             "v3_size_ratio": f"{first.index[-1] / first.index[0]:.0f}x" if len(first) > 1 else "–",
             "v3_vs_table2": versus_paper(table, TABLE2["T5/C4"]),
             "v3_tokens_per_param": f"{per_param.min():,.0f} to {per_param.max():,.0f}",
             "v3_gains": ", ".join(row_text(table.loc[f"gain({s:g})"], ".3g", "x") for s in TABLE2_S),
             "v3_b_D": row_text(table.loc["b_D"]), "v3_b_N": row_text(table.loc["b_N"]),
             "v3_data_term": "is identified" if table.loc["b_D", "high"] - table.loc["b_D", "low"] < table.loc["b_D", "estimate"]
                             else "is not identified",
             "v3_scope": f"grid v3, {len(main)} of {planned} main runs stored" + ("" if complete else
                         " (provisional until all are)") + f"; {grid_scope(main)}"}
    return pd.DataFrame(rows).T.rename_axis("quantity"), texts


def table2_claim(table: pd.DataFrame, scope: str, level=0.95, max_width=1.0) -> claims.Claim:
    """Table 2's T5 gains on a fit of our runs (`table`: estimate, low, high per "gain(S)"), by
    chapter 3's rule (kit.chapters.optimal's optimal-table2-ours, fixed before grid v3 was
    trained: gains_verdict with intervals at most `max_width` wide), under key "core-table2-v3".

        >>> table = pd.DataFrame({"estimate": [1.58, 1.98, 2.2], "low": [1.43, 1.77, 1.92], "high": [1.74, 2.18, 2.47]},
        ...                      index=["gain(0.5)", "gain(0.75)", "gain(0.875)"])
        >>> table2_claim(table, "grid v3").verdict
        'does not hold'
    """
    paper_gains = TABLE2["T5/C4"]
    printed = ", ".join(f"{g:.2f}x" for g in paper_gains.values())
    verdict, reason = gains_verdict(table, paper_gains, max_width=max_width)
    return claims.Claim(
        "core-table2-v3", PAPER, f"Table 2's gains (T5: {printed} at 50%, 75%, 87.5% sparsity), for Eq. 1 fitted to our "
        f"runs in regime.", "ch2-grid-v3", printed, None,
        ", ".join(row_text(table.loc[f"gain({s:g})"], ".3g", "x") for s in paper_gains), verdict,
        f"Holds if each of T5's Table 2 gains lies inside our {level:.0%} interval and every interval is at most "
        f"{max_width:g} wide; does not hold if any lies outside; otherwise not resolved.", reason,
        {f"gain_{s:g} {end}": float(table.loc[f"gain({s:g})", end]) for s in paper_gains for end in ("estimate", "low", "high")
         if np.isfinite(table.loc[f"gain({s:g})", end])}, kind="own runs", scope=scope, rule_after=False)


V3_TEXTS = ("v3_fitted", "v3_rms", "v3_loss_span", "v3_size_span", "v3_size_ratio", "v3_vs_table2", "v3_tokens_per_param",
            "v3_gains", "v3_b_D", "v3_b_N", "v3_data_term", "v3_scope", "v3_verdict_rollout", "v3_rollout_largest", "v3_rule_rollout",
            "v3_rollout_runs", "v3_rollout_inside", "v3_rollout_rms", "v3_sparse_above", "v3_verdict_identified",
            "v3_reason_identified", "v3_held_out", "v3_verdict_table2")  # grid_v3_law's texts


def grid_v3_law(runs: OurRuns | None, n_starts=16, n_boot=200, level=0.95, seed=0, planned: int = 36):
    """Chapter 2's tests on grid v3 as stored (our_runs_v3): Eq. 1 fitted with per-sparsity noise
    (fit_ours), its table (v3_law_table), the identification claim (key "core-identified-v3"),
    the rollout (fit without the largest size, predict it; "core-rollout-v3"), Table 2's gains
    (table2_claim, "core-table2-v3"), the held-out run
    once it is stored ("core-extrapolation-v3", table "held_out") and the sparse-minus-dense gaps
    per budget (sparse_vs_dense). Returns (fit, tables "law", "rollout", ["held_out",] "gaps";
    the claims; texts V3_TEXTS, the rollout's and held-out test's prefixed "v3_"). With no runs (None), or
    too few to fit (under two sizes, or no more runs than Eq. 1 has coefficients): (None, {}, [],
    every text "–").

        >>> fit, tables, found, texts = grid_v3_law(our_runs_v3(train=False), n_starts=1, n_boot=4)
        >>> [c.key for c in found][:3], list(tables)[:2]
        (['core-identified-v3', 'core-rollout-v3', 'core-table2-v3'], ['law', 'rollout'])
        >>> grid_v3_law(None)[1:3], grid_v3_law(None)[3]["v3_gains"]
        (({}, []), '–')
    """
    if runs is None or runs.main.empty or runs.main.n_nonzero.nunique() < 2 or len(runs.main) <= len(laws.COEFF_NAMES):
        return None, {}, [], dict.fromkeys(V3_TEXTS, "–")
    fit = fit_ours(runs, n_starts, n_boot, level, seed)
    law, texts = v3_law_table(fit, runs, planned)
    identified = identification_claim(fit.table, texts["v3_scope"], key="core-identified-v3", section="ch2-grid-v3")
    summary = noise_summary(runs, sorted(runs.main.tokens.unique()), level)[0]
    rollout, rolled, found = rollout_claim(runs, summary, n_starts, n_boot, level, seed, key="core-rollout-v3",
                                           section="ch2-grid-v3")
    rolled = replace(rolled, scope=f"{rolled.scope}; {texts['v3_scope'].split(';')[0]}")
    found_claims, tables = [identified, rolled, table2_claim(fit.table, texts["v3_scope"], level)], {"law": law, "rollout": rollout}
    texts["v3_verdict_table2"] = claims.verb(found_claims[-1].verdict)
    texts["v3_held_out"] = "The held-out run at 4x the largest size is not stored yet; it is tested once it is."
    if len(runs.held_out):
        held, tested, found_held = held_out_claim(fit, runs, summary, level, key="core-extrapolation-v3",
                                                  section="ch2-grid-v3")
        found_claims.append(replace(tested, scope=f"{tested.scope}; {texts['v3_scope'].split(';')[0]}"))
        tables["held_out"] = held
        texts["v3_held_out"] = (f"The held-out run at {found_held['held_out_factor']} the largest fitted N is predicted "
                                f"within {found_held['held_out_error']}, and its interval's farther end lies "
                                f"{found_held['held_out_half_width']} from the prediction: the extrapolation "
                                f"{found_held['verdict_held_out']} (the rule asks for both ends within "
                                f"{EXTRAPOLATION_WIDTH:.0%}).")
    gaps = sparse_vs_dense(runs.main)[0]
    versus = runs.main.pivot_table(index=["n_nonzero", "tokens"], columns="sparsity", values="loss")
    versus = versus.drop(columns=0.0).sub(versus[0.0], axis=0)  # sparse minus the dense run of equal N and D
    texts |= {f"v3_{k}": v for k, v in found.items()} | {
        "v3_sparse_above": f"{int((versus > 0).to_numpy().sum())} of {int(versus.notna().to_numpy().sum())}","v3_verdict_identified": claims.verb(identified.verdict),
                                                        "v3_reason_identified": identified.reason}
    return fit, tables | {"gaps": gaps}, found_claims, texts


def grid_table(runs: OurRuns, n_nonzero, sparsities):
    """Per requested size and sparsity, the measured N, N_total and the width trained; and the
    grid's texts (sizes, budgets, runs, steps, tokens per non-zero, training time).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> table, texts = grid_table(runs, m["n_nonzero"], m["sparsity"])
        >>> table.shape, texts["grid_runs"]
        ((5, 4), '80')
    """
    main = runs.main
    widths = main.groupby(["n_nonzero", "sparsity"]).first()
    cells = {f"S = {s:g}": {f"{n:,}": f"{widths.loc[(n, s), 'N']:,.0f} ({widths.loc[(n, s), 'N_total']:,.0f}), "
                                      f"d {widths.loc[(n, s), 'd_model']}" for n in n_nonzero if (n, s) in widths.index}
             for s in sparsities}
    texts = {"grid_sizes": number_word(main.n_nonzero.nunique()), "grid_budgets": number_word(main.tokens.nunique()),
             "grid_runs": f"{len(main)}", "runs_read": f"{len(runs.read)}",
             "grid_steps": f"{main.steps.min():,} to {main.steps.max():,}",
             "grid_tokens_per_nonzero": f"{(main.D / main.N).min():.1f} to {(main.D / main.N).max():.0f}"}
    return pd.DataFrame(cells).rename_axis("requested N"), texts


def grid_scope(main: pd.DataFrame) -> str:
    """What a verdict on the main grid covers, in a few words.

        >>> main = pd.DataFrame({"n_nonzero": [13_824, 221_184], "tokens": [600_064, 4_800_512], "steps": [293, 2_344]})
        >>> grid_scope(main)
        'N 13.8k-221k, D 600k-4.8M tokens, 2,344 steps at most'
    """
    return (f"N {plots.short_number(main.n_nonzero.min())}-{plots.short_number(main.n_nonzero.max())}, "
            f"D {plots.short_number(main.tokens.min())}-{plots.short_number(main.tokens.max())} tokens, "
            f"{main.steps.max():,} steps at most")


@dataclass(frozen=True)
class OursFit:
    """Eq. 1 fitted to our main grid: with N (result, and table: intervals of the coefficients,
    the gains at TABLE2_S and "L(held out)", plus relative width), and with N_total (total);
    noise: the seed std of log L per sparsity and budget the fits weigh the runs by
    (kit.fit.lawfit.sparsity_noise; {} for equal weights).

        >>> t5 = paper.load_t5()
        >>> result = lawfit.fit_family(t5, "t5", starts=1)
        >>> OursFit(result, table=pd.DataFrame({"estimate": result.params}), total=result).table.shape
        (7, 1)
    """
    result: fitting.FitResult
    table: pd.DataFrame
    total: fitting.FitResult
    noise: dict = field(default_factory=dict)


def fit_ours(runs: OurRuns, n_starts=16, n_boot=200, level=0.95, seed=0, per_sparsity_noise=True) -> OursFit:
    """Eq. 1 fitted to runs.main as the paper fits T5 (kit.fit.lawfit.FAMILIES["ours"]), with
    intervals (and the held-out run's loss among the derived quantities), and with N counting
    every non-zero parameter (N_total), the estimates only. With `per_sparsity_noise`, each run's
    residual is taken over its sparsity's seed noise (kit.fit.lawfit.sparsity_noise of
    runs.repeats; sparsities without repeats interpolated, kit.fit.lawfit.run_noise; no "L(held out)"
    row while runs.held_out is empty): the seed
    std of a sparse run is several times a dense run's, and equal weights let the noisiest runs
    pull the fit as hard as the quietest.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> fit = fit_ours(runs, n_starts=1, n_boot=2)
        >>> gains = [round(float(fit.table.loc[f"gain({S:g})", "estimate"]), 2) for S in TABLE2_S]
        >>> list(fit.table.index[-4:]), len(set(gains))  # grid v2's fit is degenerate: one gain at every sparsity
        (['gain(0.5)', 'gain(0.75)', 'gain(0.875)', 'L(held out)'], 1)
    """
    points = {"held out": tuple(runs.held_out.iloc[0][["S", "N", "D"]])} if len(runs.held_out) else {}
    sigma = lawfit.sparsity_noise(runs.repeats) if per_sparsity_noise else None
    fitted = lawfit.fit_with_intervals(runs.main, "ours", starts=n_starts, n_boot=n_boot, level=level, seed=seed,
                                       derived=lawfit.derived_quantities(TABLE2_S, points=points), noise=sigma)
    table = fitted.intervals
    table["relative width"] = (table.high - table.low) / table.estimate
    total = lawfit.fit_family(runs.main.assign(N=runs.main.N_total), "ours", starts=n_starts, seed=seed, noise=sigma)
    return OursFit(fitted.result, table, total, sigma or {})


def fit_table(fit: OursFit, runs: OurRuns):
    """The fit with N (intervals, relative widths) beside the fit with N_total (estimates), the
    held-out loss, rms error and objective of each; and the prose's texts.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> table, texts = fit_table(fit_ours(runs, n_starts=1, n_boot=2), runs)
        >>> list(table.index[-3:])
        ['held-out loss', 'rms error (nats)', 'objective']
    """
    table, x, main = fit.table, runs.held_out.iloc[0], runs.main
    rows = {c: {"N: estimate [interval]": row_text(table.loc[c]), "N: relative width": width_text(table.loc[c, "relative width"]),
                "N_total: estimate": f"{fit.total.params[c]:.3g}"} for c in laws.COEFF_NAMES}
    rows["held-out loss"] = {"N: estimate [interval]": row_text(table.loc["L(held out)"], ".4f"),
                             "N_total: estimate": f"{float(laws.sparse_law(x.S, x.N_total, x.D, **fit.total.params)):.4f}"}
    rms, rms_total = rms_loss_error(main, fit.result.params), rms_loss_error(main.assign(N=main.N_total), fit.total.params)
    rows["rms error (nats)"] = {"N: estimate [interval]": f"{rms:.4f}", "N_total: estimate": f"{rms_total:.4f}"}
    rows["objective"] = {"N: estimate [interval]": f"{fit.result.objective:.3g}", "N_total: estimate": f"{fit.total.objective:.3g}"}
    embed_share = 1 - main.N / main.N_total  # the tied embedding's share of all non-zeros
    texts = {"ours_rms": f"{rms:.4f}", "ours_rms_total": f"{rms_total:.4f}", "ours_objective": f"{fit.result.objective:.3g}",
             "ours_objective_total": f"{fit.total.objective:.3g}", "ours_rms_gap": f"{abs(rms - rms_total):.4f}",
             "embed_share_small": f"{embed_share[main.n_nonzero == main.n_nonzero.min()].mean():.0%}",
             "embed_share_large": f"{embed_share[main.n_nonzero == main.n_nonzero.max()].mean():.0%}",
             "gains_ours": ", ".join(row_text(table.loc[f"gain({s:g})"], ".3g", "x") for s in TABLE2_S),
             "gains_ours_estimates": ", ".join(f"{table.loc[f'gain({s:g})', 'estimate']:.2f}x" for s in TABLE2_S),
             "ours_a_S_estimate": f"{fit.result.params['a_S']:.1g}", "ours_b_S_estimate": f"{fit.result.params['b_S']:.3g}",
             "ours_total_b_S_estimate": f"{fit.total.params['b_S']:.3g}",
             "ours_fit_noise": ("; ".join(f"S = {S:g}: " + ", ".join(f"{v:.4f} at {D / 1e6:.1f}M tokens"
                                                                  for D, v in sorted(by_D.items()))
                                          for S, by_D in sorted(fit.noise.items())) +
                                " (seed std of log L; between measured points interpolated, beyond them held at "
                                "the nearest)") if fit.noise else "equal for every run, as the paper fits",
             **{f"ours_{c}": row_text(table.loc[c]) for c in laws.COEFF_NAMES},
             **{f"ours_total_{c}": f"{fit.total.params[c]:.3g}" for c in laws.COEFF_NAMES}}
    return pd.DataFrame(rows).T.rename_axis("quantity"), texts


@dataclass(frozen=True)
class NoiseSummary:
    """The seed noise of our runs: the floor per budget (noise_floor), the std at the grid's
    middle budget (geometric) with its interval, the std at each main-grid run's budget
    (of_run_R) and their rms.

        >>> repeats = pd.DataFrame({"tokens": [600] * 4, "point": [0, 0, 1, 1], "loss": [2.0, 2.2, 3.0, 3.1]})
        >>> summary = NoiseSummary(noise_floor(repeats, ["point"]), middle=600.0, sigma_mid=0.11, sigma_mid_low=0.06,
        ...                        sigma_mid_high=0.7, of_run_R=np.full(4, 0.11), rms=0.11)
        >>> summary.floor.dof.tolist()
        [2]
    """
    floor: pd.DataFrame
    middle: float
    sigma_mid: float
    sigma_mid_low: float
    sigma_mid_high: float
    of_run_R: np.ndarray
    rms: float


def noise_summary(runs: OurRuns, tokens, level=0.95):
    """The noise floor of the seed repeats (noise_floor by token budget), read off at the grid's
    middle budget and at every main-grid run's budget (kit.fit.noise.noise_at): (NoiseSummary,
    table of the floor, texts).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> noise, table, texts = noise_summary(runs, m["tokens"])
        >>> list(table.index), bool(0 < noise.rms < 0.1)
        (['600,064', '2,400,256'], True)
    """
    floor = noise_floor(runs.repeats, ["n_nonzero", "sparsity"], by="tokens", level=level)
    middle = float(np.exp(np.mean(np.log(tokens))))
    sigma_mid, dof_mid = noise.noise_at(floor, middle)
    low, high = std_interval(sigma_mid, dof_mid, level)
    of_run = np.array([noise.noise_at(floor, d)[0] for d in runs.main.tokens])
    summary = NoiseSummary(floor, middle, sigma_mid, low, high, of_run, float(np.sqrt(np.mean(of_run ** 2))))
    shortest, longest = floor.index.min(), floor.index.max()
    ratio = std_ratio_interval(floor.sigma[shortest], floor.dof[shortest], floor.sigma[longest], floor.dof[longest], level)
    root = np.sqrt(longest / shortest)
    texts = {"noise_by_budget": ", ".join(f"{r.sigma:.4f} at {d:,} tokens" for d, r in floor.iterrows()),
             "noise_middle": claims.interval_text(sigma_mid, low, high, ".4f"), "noise_middle_tokens": f"{middle:,.0f}",
             "noise_rms": f"{summary.rms:.4f}", "noise_ratio": claims.interval_text(*ratio, ".2g", "x"),
             "noise_budget_ratio": f"{longest / shortest:.0f}x", "noise_sqrt": f"{root:.2g}x",
             "noise_sqrt_inside": "inside" if ratio[1] <= root <= ratio[2] else "outside",
             "noise_relative": f"{floor.sigma[shortest] / floor['mean loss'][shortest]:.2%} to "
                               f"{floor.sigma[longest] / floor['mean loss'][longest]:.2%}",
             "noise_steps": " and ".join(f"{s:,}" for s in sorted(runs.repeats.groupby("tokens").steps.first()))}
    table = floor.assign(interval=[claims.interval_text(r.sigma, r.low, r.high, ".4f") for r in floor.itertuples()],
                         relative=[f"{r:.2%}" for r in floor.sigma / floor["mean loss"]],
                         loss=[f"{v:.4f}" for v in floor["mean loss"]])
    table = table[["interval", "dof", "points", "runs", "loss", "relative"]].rename(columns={
        "interval": "seed std [interval] (nats)", "loss": "mean loss", "relative": "std / loss"})
    return summary, table.set_axis([f"{d:,}" for d in table.index]).rename_axis("tokens"), texts


def figure_noise_floor(floor: pd.DataFrame, level=0.95):
    """The seed-to-seed std per budget with its chi-square interval, log budget axis.

        >>> repeats = pd.DataFrame({"tokens": [600] * 4 + [2400] * 4, "point": [0, 0, 1, 1] * 2,
        ...                         "loss": [2.0, 2.2, 3.0, 3.1, 1.5, 1.5, 1.8, 1.9]})
        >>> fig = figure_noise_floor(noise_floor(repeats, ["point"]))
        >>> fig.axes[0].get_xlabel()
        'training tokens $D$'
    """
    fig, ax = matplotlib.pyplot.subplots(figsize=(plots.PAGE_WIDTH / 2, 3.0))
    ax.errorbar(floor.index, floor.sigma, yerr=[floor.sigma - floor.low, floor.high - floor.sigma], fmt="o", capsize=4,
                label=f"seed std, {level:.0%} interval")
    ax.set_xscale("log")
    ax.set_xlabel("training tokens $D$")
    ax.set_ylabel("seed-to-seed std (nats)")
    ax.set_xticks(floor.index, [plots.short_number(d) for d in floor.index])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlim(floor.index.min() / 1.6, floor.index.max() * 1.6)
    ax.set_ylim(bottom=0)
    return fig


def standardised_residuals(main: pd.DataFrame, fit: OursFit, noise_of_run_R) -> np.ndarray:
    """Each run's measured minus predicted loss over the seed std at its budget.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> result = lawfit.fit_family(runs.main, "ours", starts=1)
        >>> fit = OursFit(result, table=pd.DataFrame({"estimate": result.params}), total=result)  # fit_ours' estimates alone
        >>> noise = noise_summary(runs, m["tokens"])[0]
        >>> standardised_residuals(runs.main, fit, noise.of_run_R).shape
        (80,)
    """
    predicted = fit.result.predict(S=main.S, N=main.N, D=main.D)
    return np.asarray((main.loss - predicted) / noise_of_run_R, dtype=float)


def figure_residuals(main: pd.DataFrame, fit: OursFit, z_R):
    """Standardised residuals against the predicted loss, coloured by sparsity, ±1 and ±2 bands.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> result = lawfit.fit_family(runs.main, "ours", starts=1)
        >>> fit = OursFit(result, table=pd.DataFrame({"estimate": result.params}), total=result)  # fit_ours' estimates alone
        >>> noise = noise_summary(runs, m["tokens"])[0]
        >>> fig = figure_residuals(runs.main, fit, standardised_residuals(runs.main, fit, noise.of_run_R))
        >>> fig.axes[0].get_ylabel()
        '(measured − predicted) / seed std'
    """
    fig, ax = matplotlib.pyplot.subplots(figsize=(plots.PAGE_WIDTH, 3.2))
    plots.plot_residuals(ax, fit.result.predict(S=main.S, N=main.N, D=main.D), z_R, hue=main.sparsity,
                         bands={"± 1 seed std": 1.0, "± 2 seed std": 2.0}, xlabel="predicted loss (nats/byte)",
                         ylabel="(measured − predicted) / seed std", legend="right")
    return fig


def residual_cells(main: pd.DataFrame, z_R):
    """The mean standardised residual per sparsity and budget, and the prose's texts on it.

        >>> main = pd.DataFrame({"sparsity": [0.0, 0.0, 0.875, 0.875], "tokens": [600_064, 1_200_128] * 2})
        >>> table, texts = residual_cells(main, np.array([0.3, -0.5, 2.4, 1.1]))  # z_R: standardised_residuals'
        >>> table
        tokens D = 600k D = 1.2M
        S
        0          +0.3     -0.5
        0.875      +2.4     +1.1
        >>> texts["residual_sparse"], texts["beyond_two"]
        ('+2.4, +1.1', '1 of 4')
    """
    cells = main.assign(z=z_R).pivot_table(index="sparsity", columns="tokens", values="z", aggfunc="mean")
    dense, sparse = cells.iloc[0], cells.iloc[-1]
    texts = {"beyond_two": f"{int(np.sum(np.abs(z_R) > 2))} of {len(main)}",
             "residual_sparse": ", ".join(f"{z:+.1f}" for z in sparse), "residual_dense": ", ".join(f"{z:+.1f}" for z in dense),
             "residual_budgets": ", ".join(plots.short_number(d) for d in cells.columns),
             "residual_sparse_above": number_word(int(np.sum(sparse > 1)))}
    shown = cells.map(lambda z: f"{z:+.1f}").rename(columns=lambda d: f"D = {plots.short_number(d)}")
    return shown.set_axis([f"{s:g}" for s in shown.index]).rename_axis("S"), texts


def figure_ours_loss_vs_size(main: pd.DataFrame, fit: OursFit):
    """Fig. 2's analogue on our runs: loss against non-zeros per sparsity, one panel per budget,
    log-log, the joint fit as lines (no offset).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> result = lawfit.fit_family(runs.main, "ours", starts=1)
        >>> fit = OursFit(result, table=pd.DataFrame({"estimate": result.params}), total=result)  # fit_ours' estimates alone
        >>> fig = figure_ours_loss_vs_size(runs.main, fit)
        >>> [ax.get_title() for ax in fig.axes[:4]]
        ['D = 600k tokens', 'D = 1.2M tokens', 'D = 2.4M tokens', 'D = 4.8M tokens']
    """
    budgets, sizes = sorted(main.tokens.unique()), sorted(main.n_nonzero.unique())
    order = [_sparsity_label(s) for s in sorted(main.sparsity.unique())]
    fig, axes = plots.panel_grid(len(budgets), per_row=2, aspect=0.7, sharey=True)
    for ax, d in zip(axes, budgets):
        at = main[main.tokens == d]
        plots.plot_scaling_curves(ax, runs_by_label(at, "sparsity", "N", _sparsity_label),
                                  law_curves(at, "sparsity", "N", _sparsity_label, fit.result.params),
                                  ylabel="validation loss (nats/byte)", order=order)
        ax.set_xticks(sizes, [plots.short_number(n) for n in sizes])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())  # ticks at the requested sizes only
        ax.set_title(f"D = {plots.short_number(d)} tokens")
    plots.legend_outside(fig, title="our runs: dots are runs, lines our fit")
    return fig


def steps_table(tests: dict) -> pd.DataFrame:
    """observations()' loss drop per step in sparsity, with its interval and points, as printed.

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> steps_table(tests)
                      mean loss drop [interval] (nats)  points
        sparsity step
        0 → 0.5             +0.1656 [+0.1121, +0.2191]      12
        0.5 → 0.75          +0.0614 [+0.0516, +0.0713]      12
        0.75 → 0.875        +0.0268 [+0.0161, +0.0375]      12
    """
    steps = tests["steps"]
    return pd.DataFrame({"mean loss drop [interval] (nats)": [claims.interval_text(r["mean drop"], r.low, r.high, "+.4f")
                                                             for _, r in steps.iterrows()],
                         "points": steps.points}, index=steps.index).rename_axis("sparsity step")


def sparse_vs_dense(main: pd.DataFrame):
    """Per budget and sparsity: the mean loss minus the dense run's of the same requested size,
    and how many runs end above it; and the prose's texts (where sparsity fails).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> table, texts = sparse_vs_dense(runs.main)
        >>> table.shape, texts["sparse_above_shorter"]
        ((4, 3), '38 of 45')
    """
    versus = main.pivot_table(index=["n_nonzero", "tokens"], columns="sparsity", values="loss")
    dense = versus.columns.min()
    versus = versus.sub(versus[dense], axis=0).drop(columns=dense)
    by_budget = versus.groupby(level="tokens")
    table = pd.DataFrame({f"S = {s:g}": [f"{m:+.3f} ({a} of {n})" if n else "·" for m, a, n in zip(
        by_budget[s].mean(), by_budget[s].apply(lambda d: int((d > 0).sum())), by_budget[s].count())]
        for s in versus.columns}, index=[f"{d:,}" for d in by_budget.size().index])  # ·: no pair stored
    longest = main.tokens.max()
    at_longest, shorter = versus.xs(longest, level="tokens"), versus.drop(index=longest, level="tokens")
    means = by_budget.mean().stack()
    t5_steps = paper.load_t5().steps  # the paper's T5 runs, for comparison
    texts = {"sparse_above_shorter": f"{int((shorter > 0).to_numpy().sum())} of {shorter.size}",
             "sparse_above_longest": f"{int((at_longest > 0).to_numpy().sum())} of {at_longest.size}",
             "longest_budget": f"{longest:,}", "sparse_worst": f"{means.max():+.3f}",
             "sparse_worst_where": f"S = {means.idxmax()[1]:g} at {plots.short_number(means.idxmax()[0])} tokens",
             "shorter_budgets": number_word(main.tokens.nunique() - 1),
             "recover_steps": f"{(1 - main.prune_end.iloc[0]) * main.steps.min():.0f}",
             "paper_steps": f"{plots.short_number(t5_steps.min())} to {plots.short_number(t5_steps.max())}"}
    return table.rename_axis("tokens (loss minus the dense run's, mean in nats; runs above it)"), texts


def identification_claim(table: pd.DataFrame, scope: str, sparsities=TABLE2_S, key: str = "core-identified-ours",
                         section: str = "ch2-degenerate") -> claims.Claim:
    """Is Eq. 1's sparsity term identified on our runs, or its benefit shown flat or absent
    (RULES["identified"], fixed before grid v3 was trained)? `table`: a fit's intervals (estimate,
    low, high per coefficient and per "gain(S)" at `sparsities`: OursFit.table,
    kit.fit.lawfit.fit_with_intervals).

        >>> def table(a_S, b_S, gains):  # (estimate, low, high) each
        ...     rows = {"a_S": a_S, "b_S": b_S, **{f"gain({s:g})": g for s, g in zip(TABLE2_S, gains)}}
        ...     return pd.DataFrame(rows, index=["estimate", "low", "high"]).T
        >>> identification_claim(table((2.0, 1.5, 2.5), (1.0, 0.8, 1.2), [(1.6, 1.5, 1.7), (2.2, 2.0, 2.4), (2.6, 2.3, 2.9)]), "a grid").verdict
        'holds'
        >>> identification_claim(table((0.3, 0, 12), (179, 0, np.inf), [(1.09, 1.0, 1.06)] * 3), "a grid").verdict
        'does not hold'
        >>> identification_claim(table((0.3, 0, 12), (179, 0, np.inf), [(1.09, 1.0, np.inf)] * 3), "a grid").verdict
        'not resolved'
    """
    gains = table.loc[[f"gain({s:g})" for s in sparsities], ["estimate", "low", "high"]].astype(float)
    coeffs = table.loc[["a_S", "b_S"], ["estimate", "low", "high"]].astype(float)
    narrow = lambda rows, less: ((rows.high - rows.low) < less).all()
    gain_text = "; ".join(f"{name[5:-1]}: {claims.interval_text(r.estimate, r.low, r.high, '.3g', 'x')}"
                          for name, r in gains.iterrows())
    coeff_text = "; ".join(f"{name} = {claims.interval_text(r.estimate, r.low, r.high, '.3g')}" for name, r in coeffs.iterrows())
    bounded = bool(np.isfinite(gains.high).all())
    flat = bounded and gains.high.iloc[-1] <= (1 + FLAT_MARGIN) * gains.low.iloc[0]
    absent = bounded and (gains.high < 1 + FLAT_MARGIN).all()
    if narrow(coeffs, coeffs.estimate) and narrow(gains, gains.estimate - 1):
        verdict, reason = "holds", f"Every interval is narrower than the rule asks: {coeff_text}; gains {gain_text}."
    elif flat or absent:
        why = (f"every upper end lies below {1 + FLAT_MARGIN:g}" if absent else
               f"the largest sparsity gains at most {FLAT_MARGIN:.0%} more than the smallest")
        verdict = "does not hold"
        reason = f"The sparsity benefit is shown {'absent' if absent else 'flat'}: gains {gain_text} ({coeff_text}); {why}."
    else:
        verdict = "not resolved"
        reason = (f"Neither identified nor shown flat: {coeff_text}; gains {gain_text}"
                  f"{' (a gain interval is unbounded above)' if not bounded else ''}.")
    return claims.Claim(
        key=key, paper=PAPER, section=section,
        statement="Eq. 1's sparsity term is identified on our runs (a_S, b_S and the gains pinned by their intervals).",
        paper_value="a graded term on T5 and ViT (Table 7)", authors_data=None, our_runs=f"gains {gain_text}",
        verdict=verdict, reason=reason, rule=RULES["identified"],
        numbers={f"{name} {end}": float(value) for name, row in pd.concat([coeffs, gains]).iterrows()
                 for end, value in row.items() if np.isfinite(value)},  # an unbounded end is left out
        kind="own runs", scope=scope, rule_after=False)


def held_out_claim(fit: OursFit, runs: OurRuns, summary: NoiseSummary, level=0.95, key: str = "core-extrapolation-ours",
                   section: str = "ch2-ours-extrapolation"):
    """The held-out test (RULES["extrapolation"]): the fit's interval of the held-out run's loss
    widened by the seed noise at its budget (prediction_interval): (table, claim under `key` in
    `section`, texts).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> fit = fit_ours(runs, n_starts=1, n_boot=2)
        >>> noise = noise_summary(runs, m["tokens"])[0]
        >>> table, claim, texts = held_out_claim(fit, runs, noise)
        >>> claim.key, claim.verdict
        ('core-extrapolation-ours', 'not resolved')
    """
    q, x, main = fit.table.loc["L(held out)"], runs.held_out.iloc[0], runs.main
    sigma, dof = noise.noise_at(summary.floor, x.D)
    low, high = prediction_interval(q.estimate, q.low, q.high, sigma, dof, level)
    verdict, reason = extrapolation_verdict(q.estimate, low, high, x.loss, max_half_width=EXTRAPOLATION_WIDTH)
    error = q.estimate / x.loss - 1
    claim = claims.Claim(
        key=key, paper=PAPER, section=section,
        statement="Eq. 1 fitted to a sweep predicts the loss of a sparse model far beyond the sweep's largest N closely.",
        paper_value=f"{table7_xl() / paper.T5_XL['loss'] - 1:+.1%} at T5-XL", authors_data=None,
        our_runs=f"{error:+.2%}; {claims.interval_text(q.estimate, low, high, '.4f')} vs {x.loss:.4f}",
        verdict=verdict, reason=reason, rule=RULES["extrapolation"],
        numbers={"predicted": q.estimate, "fit_low": q.low, "fit_high": q.high, "low": low, "high": high,
                 "measured": x.loss, "noise": sigma, "N": x.N, "D": x.D},
        kind="own runs", scope=f"one run, {x.N / main.N.max():.1f}x the largest fitted N, D {plots.short_number(x.D)} tokens",
        rule_after=False)
    table = pd.DataFrame({"held-out run": {
        "S": f"{x.S:g}", "N": f"{x.N:,.0f} ({x.N / main.N.max():.1f}x the largest fitted)", "D": f"{x.D:,.0f}",
        "predicted (fit interval)": row_text(q, ".4f"),
        "interval of one run": claims.interval_text(q.estimate, low, high, ".4f").split(" ", 1)[1],
        "measured": f"{x.loss:.4f}", "relative error": f"{error:+.2%}"}}).rename_axis("quantity")
    texts = {"held_out_factor": f"{x.N / main.N.max():.1f}x", "held_out_error": f"{error:+.2%}",
             "held_out_in_noise": f"{abs(q.estimate - x.loss) / sigma:.1f}", "verdict_held_out": claims.verb(verdict),
             "held_out_half_width": "unbounded" if np.isinf(high) else f"{max(q.estimate - low, high - q.estimate) / q.estimate:.1%}"}
    return table, claim, texts


def rollout_claim(runs: OurRuns, summary: NoiseSummary, n_starts=16, n_boot=200, level=0.95, seed=0,
                  per_sparsity_noise=True, key: str = "core-rollout-ours", section: str = "ch2-ours-rollout"):
    """The rollout (RULES["rollout"]): Eq. 1 fitted as fit_ours fits it to the main grid without its
    largest size, with intervals for the loss of every run at that size (never fitted), each
    widened by that run's seed noise (its sparsity's and budget's, kit.fit.lawfit.run_noise, in
    nats; or the pooled floor of `summary` without per_sparsity_noise): (table, claim under `key`
    in `section`, texts).

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> table, claim, texts = rollout_claim(runs, noise_summary(runs, m["tokens"])[0], n_starts=1, n_boot=2)
        >>> len(table), claim.key, claim.numbers["runs"]
        (16, 'core-rollout-ours', 16.0)
    """
    main = runs.main
    largest = main.n_nonzero.max()
    fitted_runs, held = main[main.n_nonzero < largest], main[main.n_nonzero == largest].sort_values(["S", "D"])
    claim = functools.partial(claims.Claim, key=key, paper=PAPER, section=section,
                              statement="Eq. 1 fitted to the smaller sizes of a sweep predicts the loss of its largest size.",
                              paper_value=None, authors_data=None, rule=RULES["rollout"], kind="own runs", rule_after=False)
    texts = {"verdict_rollout": "is not resolved", "rollout_largest": f"{largest:,}", "rule_rollout": RULES["rollout"],
             "rollout_runs": f"{len(held)}", "rollout_inside": "none", "rollout_rms": "–"}
    if fitted_runs.n_nonzero.nunique() < 2 or len(fitted_runs) <= len(laws.COEFF_NAMES):
        reason = (f"The grid has {main.n_nonzero.nunique()} sizes and {len(fitted_runs)} runs below the largest: a rollout "
                  f"needs two sizes or more to fit, and more runs than Eq. 1's {len(laws.COEFF_NAMES)} coefficients.")
        return pd.DataFrame({"rollout": [reason]}), claim(our_runs="not fitted: too few sizes", verdict="not resolved",
                                                          reason=reason, numbers={"runs": len(held)},
                                     scope=f"{main.n_nonzero.nunique()} sizes"), texts
    points = {f"{i}": (r.S, r.N, r.D) for i, r in enumerate(held.itertuples())}
    sigma = lawfit.sparsity_noise(runs.repeats) if per_sparsity_noise else None
    found = lawfit.fit_with_intervals(fitted_runs, "ours", starts=n_starts, n_boot=n_boot, level=level, seed=seed,
                                      derived=lawfit.derived_quantities((), points=points), noise=sigma).intervals
    rows, verdicts, predicted = [], [], []
    for i, r in enumerate(held.itertuples()):
        q = found.loc[f"L({i})"]
        predicted.append(q.estimate)
        std, dof = noise.noise_at(summary.floor, r.D)
        if sigma is not None:
            std = float(lawfit.run_noise(pd.DataFrame({"S": [r.S], "D": [r.D]}), sigma)[0]) * q.estimate  # log L -> nats
        low, high = prediction_interval(q.estimate, q.low, q.high, std, dof, level)
        verdicts.append(extrapolation_verdict(q.estimate, low, high, r.loss, max_half_width=EXTRAPOLATION_WIDTH)[0])
        rows.append({"S": f"{r.S:g}", "D": f"{r.D:,.0f}", "predicted": claims.interval_text(q.estimate, low, high, ".4f"),
                     "measured": f"{r.loss:.4f}", "error": f"{q.estimate / r.loss - 1:+.2%}",
                     "half-width": "unbounded" if np.isinf(high) else f"{max(q.estimate - low, high - q.estimate) / q.estimate:.1%}",
                     "inside": "yes" if low <= r.loss <= high else "no"})
    table = pd.DataFrame(rows)
    outside, wide = verdicts.count("does not hold"), verdicts.count("not resolved")
    verdict = "does not hold" if outside else "not resolved" if wide else "holds"
    reason = (f"{len(held) - outside} of {len(held)} held-out runs lie inside their intervals; " +
              (f"{outside} outside." if outside else f"{wide} of the intervals reach beyond {EXTRAPOLATION_WIDTH:.0%} "
               f"of their prediction." if wide else f"every interval ends within {EXTRAPOLATION_WIDTH:.0%}."))
    rms = float(np.sqrt(np.mean((np.array(predicted) / held.loss.to_numpy() - 1) ** 2)))
    found_claim = claim(our_runs=f"{len(held) - outside} of {len(held)} inside; rms error {rms:.2%}", verdict=verdict,
                        reason=reason, numbers={"runs": len(held), "outside": outside, "too_wide": wide, "rms_error": rms,
                                                "largest": float(largest)},
                        scope=f"fitted N {plots.short_number(fitted_runs.N.min())}-{plots.short_number(fitted_runs.N.max())}, "
                              f"{len(held)} runs at N {plots.short_number(held.N.median())} predicted")
    texts |= {"rollout_inside": f"{len(held) - outside} of {len(held)}", "rollout_rms": f"{rms:.2%}",
              "verdict_rollout": claims.verb(verdict)}
    return table, found_claim, texts


def figure_held_out(fit: OursFit, runs: OurRuns, t5: FamilyFit):
    """Fig. 1 side by side: the paper's T5 runs against our fit of them, T5-XL (never fitted) as
    a star (left), and our main grid against our joint law, the held-out run (never fitted) as a
    star (right), both coloured by sparsity.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> fit = fit_ours(runs, n_starts=1, n_boot=2)
        >>> fig = figure_held_out(fit, runs, fit_published(1, intervals=False)["T5/C4"])
        >>> [ax.get_title() for ax in fig.axes[:2]]
        ["the paper's T5/C4 runs", 'our runs']
    """
    main, x, xl = runs.main, runs.held_out.iloc[0], paper.T5_XL
    fig, (left, right) = plots.panel_grid(2, aspect=1.0)
    plots.plot_predicted_vs_actual(left, t5.runs.loss, t5.result.predict(S=t5.runs.S, N=t5.runs.N, D=t5.runs.D),
                                   hue=t5.runs.S,
                                   points={"T5-XL (not fitted)": (xl["loss"], float(t5.result.predict(S=xl["S"], N=xl["N"], D=xl["D"])))},
                                   quantity=LOSS_LABEL["T5/C4"], legend=None)
    left.set_title("the paper's T5/C4 runs")
    plots.plot_predicted_vs_actual(right, main.loss, fit.result.predict(S=main.S, N=main.N, D=main.D), hue=main.sparsity,
                                   points={f"held out, {x.N / main.N.max():.1f}x N (not fitted)":
                                           (x.loss, fit.table.loc["L(held out)", "estimate"])},
                                   quantity="validation loss (nats/byte)", legend=None)
    right.set_title("our runs")
    plots.legend_outside(fig)
    return fig


def figure_size_side_by_side(t5: FamilyFit, main: pd.DataFrame, fit: OursFit):
    """Fig. 2 side by side: loss against non-zeros per sparsity at each sweep's longest training,
    the paper's T5 runs (loss - 1, as its Fig. 2) beside ours, each with its own joint fit.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> result = lawfit.fit_family(runs.main, "ours", starts=1)
        >>> fit = OursFit(result, table=pd.DataFrame({"estimate": result.params}), total=result)  # fit_ours' estimates alone
        >>> fig = figure_size_side_by_side(fit_published(1, intervals=False)["T5/C4"], runs.main, fit)
        >>> fig.axes[1].get_title()
        'ours, D = 4.8M tokens (2,344 steps)'
    """
    fig, (left, right) = plots.panel_grid(2, aspect=0.9)
    longest = t5.runs[t5.runs.steps == t5.runs.steps.max()]
    order = [_sparsity_label(s) for s in OBSERVED_S]
    plots.plot_scaling_curves(left, runs_by_label(longest, "S", "N", _sparsity_label),
                              law_curves(longest, "S", "N", _sparsity_label, t5.result.params), offset=1.0,
                              ylabel="validation loss − 1 (nats/token)", order=order)
    left.set_title(f"the paper's T5/C4, {t5.runs.steps.max() / 1e3:g}k steps")
    ours = main[main.tokens == main.tokens.max()]
    plots.plot_scaling_curves(right, runs_by_label(ours, "sparsity", "N", _sparsity_label),
                              law_curves(ours, "sparsity", "N", _sparsity_label, fit.result.params),
                              ylabel="validation loss (nats/byte)", order=order)
    right.set_title(f"ours, D = {plots.short_number(main.tokens.max())} tokens ({main.steps.max():,} steps)")
    left.set_yticks([0.6, 0.8, 1, 1.5, 2], ["0.6", "0.8", "1", "1.5", "2"])
    left.yaxis.set_minor_formatter(ticker.NullFormatter())
    plots.legend_outside(fig, title="dots are runs, lines each sweep's joint fit")
    return fig


def met(estimate, low, high, target) -> str:
    """Whether an estimate meets an upper target, and whether its whole interval agrees.

        >>> met(0.9, 0.8, 1.2, 1.0), met(0.9, 0.8, 0.95, 1.0)
        ('met (interval straddles the target)', 'met (whole interval)')
    """
    side = "whole interval" if (high <= target if estimate <= target else low > target) else "interval straddles the target"
    return f"{'met' if estimate <= target else 'not met'} ({side})"


# The targets grid v2 was sized to meet, set before it was trained.
TARGET_SEED_STD = 0.015  # nats, the seed std at the grid's middle budget
TARGET_RMS_RATIO = 1.5  # the fit's rms error over the seed std
TARGET_HELD_OUT = 0.01  # the held-out run's relative error


def targets_table(fit: OursFit, runs: OurRuns, summary: NoiseSummary, held_out: dict, level=0.95):
    """Grid v2's four targets, each measured with its interval and met or not (met); held_out:
    the held-out claim's numbers. Returns (table, texts), the texts including the profile of c
    that shows why b_N, b_D and c are loosely determined.

        >>> from kit.engine import grids
        >>> m, s, x = grids.MAIN, grids.SEEDS, grids.EXTRAPOLATION
        >>> runs = our_runs(n_nonzero=m["n_nonzero"], tokens=m["tokens"], sparsities=m["sparsity"], seeds=s["seed"],
        ...                 seed_n_nonzero=s["n_nonzero"], seed_tokens=s["tokens"], seed_sparsities=s["sparsity"],
        ...                 extrapolation_n_nonzero=x["n_nonzero"], extrapolation_tokens=x["tokens"], extrapolation_sparsities=x["sparsity"])
        >>> fit = fit_ours(runs, n_starts=1, n_boot=2)
        >>> noise = noise_summary(runs, m["tokens"])[0]
        >>> table, texts = targets_table(fit, runs, noise, held_out_claim(fit, runs, noise)[1].numbers)
        >>> len(table), texts["grid_n_span"]
        (4, '16x')
    """
    table, main = fit.table, runs.main
    width = table.loc[list(laws.COEFF_NAMES), "relative width"]
    unbounded = set(table.index[~table.bounded.astype(bool)])
    too_wide = [c for c in laws.COEFF_NAMES if width[c] >= 1 or c in unbounded]
    rms = rms_loss_error(main, fit.result.params)
    ratio = rms / summary.rms
    ratio_high, ratio_low = (rms / std_interval(summary.rms, int(summary.floor.dof.min()), level)[i] for i in (0, 1))
    inside = held_out["low"] <= held_out["measured"] <= held_out["high"]
    error = held_out["predicted"] / held_out["measured"] - 1
    rows = pd.DataFrame([
        {"target": f"seed std at the grid's middle ≤ {TARGET_SEED_STD} nats",
         "measured": f"{claims.interval_text(summary.sigma_mid, summary.sigma_mid_low, summary.sigma_mid_high, '.4f')} nats",
         "verdict": met(summary.sigma_mid, summary.sigma_mid_low, summary.sigma_mid_high, TARGET_SEED_STD)},
        {"target": f"fit rms ≤ {TARGET_RMS_RATIO} × seed std",
         "measured": f"{claims.interval_text(ratio, ratio_low, ratio_high, '.2f')}x ({rms:.4f} against {summary.rms:.4f} "
                     f"nats, the rms of the seed std at each run's budget)",
         "verdict": met(ratio, ratio_low, ratio_high, TARGET_RMS_RATIO)},
        {"target": "every coefficient's interval narrower than its estimate",
         "measured": "relative widths " + ", ".join(f"{c} {width_text(w)}" for c, w in width.items()),
         "verdict": ("met" if not too_wide else "not met: " + ("every interval is wider" if len(too_wide) == len(width)
                                                              else f"{', '.join(too_wide)} wider"))},
        {"target": f"held-out run inside its interval and within {TARGET_HELD_OUT:.0%}",
         "measured": f"{error:+.2%}, {'inside' if inside else 'outside'}",
         "verdict": "met" if inside and abs(error) <= TARGET_HELD_OUT else "not met"}])
    threshold = fitting.profile_threshold(fit.result, level)  # the objective's rise that bounds a profile interval
    c_top = min(table.loc["c", "high"], main.loss.min())  # c lies below every loss, also where its interval is unbounded
    along_c = profile(fit.result, "c", np.linspace(0.1, 1.0, 10) * c_top)
    rise = along_c.objective / fit.result.objective - 1
    texts = {"rms_ratio": f"{ratio:.1f}x", "grid_n_span": f"{main.n_nonzero.max() / main.n_nonzero.min():.0f}x",
             "grid_d_span": f"{main.tokens.max() / main.tokens.min():.0f}x",
             "targets_met": f"{sum(v.startswith('met') for v in rows.verdict)} of {len(rows)}",
             "not_identifiable": ", ".join(too_wide) if too_wide else "none",
             "threshold_pct": f"{threshold / fit.result.objective:.0%}",
             "c_profile_range": f"{along_c.c.min():.2g} to {along_c.c.max():.2g}", "c_profile_rise": f"{rise.max():.0%}",
             "c_profile_b_N": f"{along_c.b_N.min():.2f} to {along_c.b_N.max():.2f}",
             "c_profile_b_D": f"{along_c.b_D.min():.2f} to {along_c.b_D.max():.2f}"}
    return rows, texts


def claims_table(chosen) -> pd.DataFrame:
    """Claims as the chapter lists them: statement, verdict in bold, the rule's result.

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> made = observation_claims(tests, "t5", "ch2-observations", "T5/C4 sweep", authors=True, scope="48 runs")
        >>> claims_table(made).verdict.tolist()
        ['**holds**', '**holds**', '**not resolved**']
    """
    return pd.DataFrame([{"claim": c.statement, "verdict": f"**{c.verdict}**", "result": c.reason} for c in chosen])


def identification_texts(chosen) -> dict:
    """The identification claim's rule, verdict (as reported: out of regime where its runs are) and
    reason among the chapter's claims `chosen` (identification_claim's key), for the prose.

        >>> found = identification_claim(pd.DataFrame({"estimate": [2.0, 1.0, 1.6, 2.2, 2.6], "low": [1.5, 0.8, 1.5, 2.0, 2.3],
        ...     "high": [2.5, 1.2, 1.7, 2.4, 2.9]}, index=["a_S", "b_S", "gain(0.5)", "gain(0.75)", "gain(0.875)"]), "a grid")
        >>> identification_texts([found])["verdict_identified"]
        'holds'
    """
    claim = next(c for c in chosen if c.key == "core-identified-ours")
    return {"rule_identified": claim.rule, "verdict_identified": claims.verb(claims.reported(claim)),
            "reason_identified": claim.reason}


def summary_texts(chosen) -> dict:
    """How many claims the page tests and how many of each verdict.

        >>> tests = observations(paper.load_t5(), laws.TABLE7["t5"], [0, 0.5, 0.75, 0.875], ["N", "D"], "N", "D")
        >>> summary_texts(observation_claims(tests, "t5", "ch2-observations", "T5/C4 sweep", authors=True, scope="48 runs"))
        {'summary_claims': '3', 'summary_counts': 'holds: 2; does not hold: 0; not resolved: 1'}
    """
    chosen = list(chosen)
    return {"summary_claims": f"{len(chosen)}",
            "summary_counts": "; ".join(f"{v}: {sum(c.verdict == v for c in chosen)}" for v in claims.VERDICTS)}
