"""Fitting scaling-law coefficients to runs, and bootstrap intervals for them.

The paper (Section 3.2, Appendix C) fits its laws, following Hoffmann et al. (2022), by
minimising a Huber loss of the prediction error with BFGS from several random starting points:
on log L with delta = 1e-3 for T5/C4, on L with delta = 1e-2 for ViT/JFT and n:m sparsity.

Objective convention: the *mean* of the per-run Huber terms. Evaluated at Table 7's published
coefficients on the authors' data this gives 7.64e-6 (T5, log L, delta 1e-3; Table 7: 7.6e-6)
and 4.95e-4 (ViT, L, delta 1e-2; Table 7: 4.93e-4); the sum would be 48x and 112x larger.

The optimiser minimises that objective divided by delta^2. On the raw objective (~1e-6)
scipy's default gradient tolerance (1e-5) stops BFGS early: run that way on the T5 data (N in
millions, D in billions, 25 random starts), the authors' published notebook procedure stops at
scattered points, the best at 8.3e-6. Scaled, every start reaches one
optimum, 4.88e-6, with b_S = 1.34, b_D = 0.38, c = 0.83 instead of Table 7's 0.722, 0.203,
0.651; started from Table 7 it goes to the same point. The ViT fit reproduces Table 7 to three
digits.

Every coefficient of the laws in kit.laws is positive, so the optimiser works on logs. It also
never sees raw magnitudes like a_D = 7e8 tokens: each coefficient that carries the units of N or
D is represented by the log of its term evaluated at a reference size r_N and data r_D (the
geometric means over the runs), e.g. a_S -> log(a_S / r_N^b_N) and a_D -> b_D log(a_D / r_D).
This is the "normalise N and D" of the authors' notebook, done as a reparameterisation so the
law itself is always called with the data and coefficients in their original units.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

# Coefficients that carry the units of an input: name -> (input, exponent coefficient, form).
# 'times': the coefficient multiplies (1/N)^b, as a_S and c_S in Eq. 3.
# 'over':  the coefficient sits inside (a/N)^b, as a_N and a_D in Eq. 2.
SCALED = {
    "a_S": ("N", "b_N", "times"),
    "c_S": ("N", "b_N", "times"),
    "a_N": ("N", "b_N", "over"),
    "a_D": ("D", "b_D", "over"),
}


# A fit has converged if restarting the optimiser from it lowers the objective by less than
# POLISH_TOL relative (absolute, in units of delta^2, for objectives below delta^2).
POLISH_TOL = 1e-6


def huber(r, delta):
    """Huber loss of residuals r: r^2 / 2 where |r| <= delta, delta (|r| - delta / 2) beyond."""
    if not delta > 0:
        raise ValueError(f"delta={delta!r}: must be > 0")
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))


@dataclasses.dataclass(frozen=True)
class FitResult:
    params: dict  # every coefficient of the law, fitted and fixed, in original units
    objective: float  # mean Huber loss of the residuals
    residuals: np.ndarray  # per run: log pred - log y if log_loss else pred - y
    n_starts: int
    converged: bool  # whether a restart from the best start's end failed to improve it (POLISH_TOL)
    law: Callable = dataclasses.field(repr=False, compare=False, default=None)

    def predict(self, **data):
        """The fitted law at the given inputs (S, N, D or N_avg, D)."""
        return self.law(**data, **self.params)


def _references(inputs: dict) -> dict:
    """Reference values r_N, r_D: geometric means of the size (N or N_avg) and data inputs."""
    refs = {}
    size = inputs.get("N", inputs.get("N_avg"))
    if size is not None:
        refs["N"] = float(np.exp(np.mean(np.log(size))))
    if "D" in inputs:
        refs["D"] = float(np.exp(np.mean(np.log(inputs["D"]))))
    return refs


def _scaling(name: str, coefficients, refs):
    """SCALED's entry for `name` if it applies to this law and data, else None (plain log)."""
    rule = SCALED.get(name)
    if rule is None or rule[0] not in refs or rule[1] not in coefficients:
        return None
    return rule


def _encode(values: Mapping, names: Sequence[str], refs: dict) -> np.ndarray:
    """Coefficients in original units -> the optimiser's vector for the free `names`."""
    z = []
    for name in names:
        rule = _scaling(name, values, refs)
        if rule is None:
            z.append(np.log(values[name]))
            continue
        ref, b, form = refs[rule[0]], values[rule[1]], rule[2]
        z.append(np.log(values[name]) - b * np.log(ref) if form == "times"
                 else b * (np.log(values[name]) - np.log(ref)))
    return np.array(z, dtype=float)


def _decode(z, names: Sequence[str], fixed: Mapping, refs: dict, order: Sequence[str]) -> dict:
    """The optimiser's vector -> every coefficient in original units, listed in `order`."""
    values = dict(fixed)
    free = dict(zip(names, z))
    scaled = {name for name in names if _scaling(name, set(names) | set(fixed), refs)}
    for name in names:
        if name not in scaled:
            values[name] = float(np.exp(free[name]))
    for name in (n for n in names if n in scaled):  # after the exponents they depend on
        ref_key, b_name, form = SCALED[name]
        ref, b = refs[ref_key], values[b_name]
        values[name] = float(np.exp(free[name] + b * np.log(ref) if form == "times"
                                    else free[name] / b + np.log(ref)))
    return {name: values[name] for name in order}


def _random_starts(names, y, n, seed) -> list[np.ndarray]:
    """n random starts in the optimiser's coordinates, log-uniform in ranges relative to the
    loss: exponents b_* in [0.1, 3], c in [0.1, 0.95] * min(y), every other term's value at the
    reference point in [0.01, 1] * mean(y)."""
    rng = np.random.default_rng(seed)
    y_min, y_mean = float(np.min(np.abs(y))), float(np.mean(np.abs(y)))
    ranges = [(0.1, 3.0) if name.startswith("b_") else
              (0.1 * y_min, 0.95 * y_min) if name == "c" else
              (0.01 * y_mean, y_mean) for name in names]
    lo, hi = np.log(np.array(ranges)).T
    return [rng.uniform(lo, hi) for _ in range(n)]


def fit(law, data, y, params, *, fixed=None, log_loss=True, delta=1e-3, starts=16,
        method="BFGS", seed=0) -> FitResult:
    """Fit the coefficients `params` of `law` to runs by minimising the mean Huber loss of
    (log pred - log y) if log_loss else (pred - y), from several starting points.

    law: a function of inputs and coefficients by keyword, e.g. kit.laws.sparse_law.
    data: dict or DataFrame holding the law's inputs (S, N, D, or N_avg, D) by name.
    y: the measured losses, one per run.
    params: names of the coefficients to fit (all positive).
    fixed: coefficients held at given values (e.g. Section 4.1's n:m fit: only a_S, b_S, c_S
        free, the rest from the unstructured fit).
    starts: number of random starts (seeded by `seed`), or a sequence of dicts giving starting
        values, in original units, for every coefficient in `params` (e.g. a previous fit).
    method: a scipy.optimize.minimize method. BFGS, as in the paper: on each of the paper's
        two sweeps it reached the best optimum from 30 of 30 random starts, L-BFGS-B from 28.
    """
    fixed = dict(fixed or {})
    names = list(params)
    arguments = list(inspect.signature(law).parameters)
    coefficients = set(names) | set(fixed)
    unknown = sorted(coefficients - set(arguments))
    if unknown:
        raise ValueError(f"{unknown}: not coefficients of {law.__name__}{tuple(arguments)}")
    both = sorted(set(names) & set(fixed))
    if both:
        raise ValueError(f"{both}: given both as params to fit and as fixed values")
    if not names:
        raise ValueError("params is empty: name at least one coefficient to fit")
    order = [a for a in arguments if a in coefficients]
    input_names = [a for a in arguments if a not in coefficients]
    missing = [a for a in input_names if a not in data]
    if missing:
        raise ValueError(f"data lacks {missing}, needed by {law.__name__}; it has {list(data)}; "
                         f"coefficients not in params or fixed count as inputs")
    inputs = {a: np.asarray(data[a], dtype=float) for a in input_names}
    y = np.asarray(y, dtype=float)
    for a, x in inputs.items():
        if x.shape != y.shape:
            raise ValueError(f"data[{a!r}] has shape {x.shape}, y has shape {y.shape}: need one value per run")
    if not np.all(np.isfinite(y)) or (log_loss and np.any(y <= 0)):
        raise ValueError("y must be finite" + (" and > 0 (log_loss=True)" if log_loss else ""))
    if not delta > 0:
        raise ValueError(f"delta={delta!r}: must be > 0")

    refs = _references(inputs)
    if isinstance(starts, (int, np.integer)):
        if starts < 1:
            raise ValueError(f"starts={starts}: need at least 1")
        z0s = _random_starts(names, y, starts, seed)
    else:
        for start in starts:
            lacking = [n for n in names if n not in start]
            if lacking:
                raise ValueError(f"a start lacks {lacking}; each start needs every coefficient in params")
        z0s = [_encode({**start, **fixed}, names, refs) for start in starts]
        if not z0s:
            raise ValueError("starts is an empty sequence")

    target = np.log(y) if log_loss else y

    def residuals(z):
        pred = law(**inputs, **_decode(z, names, fixed, refs, order))
        return (np.log(pred) if log_loss else pred) - target

    def objective(z):
        with np.errstate(all="ignore"):
            value = float(np.mean(huber(residuals(z), delta)))
        return value if np.isfinite(value) else np.inf

    # The optimiser sees the objective in units of delta^2 (the Huber loss of a residual of
    # size delta is delta^2 / 2): O(1) numbers, so scipy's default tolerances apply.
    def minimize(z0):
        with np.errstate(all="ignore"):  # finite differences next to an overflowing step
            return optimize.minimize(lambda z: objective(z) / delta**2, z0, method=method)

    best = min((minimize(z0) for z0 in z0s), key=lambda res: res.fun)
    if not np.isfinite(best.fun):
        raise RuntimeError(f"no start gave a finite objective for {law.__name__}; pass starts near a solution")
    # BFGS on finite differences often stops with "precision loss" at the optimum itself, so
    # rather than trusting its message, restart it from the best point (see POLISH_TOL).
    polished = minimize(best.x)
    converged = bool(best.fun - polished.fun <= POLISH_TOL * max(best.fun, 1.0))
    best = min(best, polished, key=lambda res: res.fun)
    return FitResult(params=_decode(best.x, names, fixed, refs, order), objective=objective(best.x),
                     residuals=residuals(best.x), n_starts=len(z0s), converged=converged, law=law)


def bootstrap(fit_fn, df: pd.DataFrame, n_boot=200, seed=0, derived=None) -> pd.DataFrame:
    """Refit on n_boot resamples of the runs (rows of df, drawn with replacement).

    fit_fn(df, starts=...) -> FitResult: called once as fit_fn(df) for the full fit, then as
    fit_fn(resample, starts=[full.params]) so each refit starts from the full fit.
    derived: name -> callable(params) -> float, quantities computed from each refit's
    coefficients (a gain, an optimal sparsity, an extrapolated loss).
    Returns one row per resample: every coefficient, then every derived quantity.
    """
    derived = dict(derived or {})
    full = fit_fn(df)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_boot):
        sample = df.iloc[rng.integers(0, len(df), len(df))].reset_index(drop=True)
        params = fit_fn(sample, starts=[full.params]).params
        rows.append({**params, **{name: f(params) for name, f in derived.items()}})
    return pd.DataFrame(rows)


def intervals(samples: pd.DataFrame, level=0.95, estimate=None) -> pd.DataFrame:
    """Percentile intervals: one row per column of samples with estimate, low, high.

    estimate: a mapping of point estimates (e.g. the full fit's params and derived values);
    by default the sample median.
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")
    tail = (1 - level) / 2
    table = pd.DataFrame({
        "estimate": samples.median() if estimate is None else pd.Series(estimate)[samples.columns],
        "low": samples.quantile(tail),
        "high": samples.quantile(1 - tail),
    })
    table.index.name = "quantity"
    return table
