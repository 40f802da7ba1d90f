"""What a grid can decide before it is trained: simulate its runs under a known law and seed noise,
fit each simulation as the real grid will be fitted, and count what the fits find.

A grid fixes the points (S, N, D) a law is fitted on; its seed noise fixes how far each run falls
from its expected loss. Whether the fitted law can tell a graded sparsity benefit from a flat or
absent one is then a property of the grid, the noise and the truth, and can be measured before
any run is trained: `simulate` draws one grid's losses from Eq. 1 with log-normal noise,
`sparsity_term` picks Eq. 1's sparsity term that gives chosen gains (Eq. 7), and `simulated_fits`
fits `n_sim` such grids with kit.fit.lawfit.fit_with_intervals. Judging each fit's intervals by a
claim's rule is the caller's (kit.chapters.pilot.grid_v3_power).

    term = sparsity_term({0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, b_N=0.17, amplitude=9.6)  # Table 2's gains
    fits = simulated_fits(grid, {**dense, **term}, sigma=0.006, n_sim=5)
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy import optimize

from . import lawfit
from kit import laws

B_S_MAX = 50.0  # a sparsity term this steep is a step: the same gain at every S >= 0.5 (0.5**50 ~ 1e-15)


def sparsity_term(gains: Mapping[float, float], b_N: float, amplitude: float) -> dict:
    """Eq. 1's sparsity term (a_S, b_S, c_S) with a_S + c_S = `amplitude` (the dense law's size
    coefficient) whose gains (Eq. 7: gain(S) = ((a_S + c_S) / (a_S (1 - S)^b_S + c_S))^(1/b_N)) are
    closest to `gains` {S: gain} in log gain; b_S is kept at or below B_S_MAX (a step).

        >>> term = sparsity_term({0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, b_N=0.23, amplitude=50.0)
        >>> [round(float(laws.gain(S, b_N=0.23, **term)), 2) for S in (0.5, 0.75, 0.875)]
        [1.59, 2.16, 2.63]
        >>> sparsity_term({0.5: 1.0, 0.75: 1.0, 0.875: 1.0}, b_N=0.2, amplitude=10.0)["a_S"]
        0.0
    """
    S, g = np.array(sorted(gains)), np.array([gains[s] for s in sorted(gains)], float)
    if (g < 1).any() or not b_N > 0 or not amplitude > 0:
        raise ValueError(f"gains = {dict(gains)}, b_N = {b_N}, amplitude = {amplitude}: need gains >= 1 "
                         f"(Eq. 1 can only reward sparsity) and b_N, amplitude > 0")
    target = -b_N * np.log(g)  # log of the factor ratio (a_S (1 - S)^b_S + c_S) / (a_S + c_S)
    if np.allclose(target, 0.0):
        return {"a_S": 0.0, "b_S": 1.0, "c_S": float(amplitude)}

    def misfit(x):  # x: share u = a_S / amplitude in (0, 1), b_S
        u, b_S = x
        return np.log(u * (1 - S) ** b_S + 1 - u) - target

    best = min((optimize.least_squares(misfit, [u0, b0], bounds=([1e-9, 1e-3], [1 - 1e-9, B_S_MAX]))
                for u0 in (0.2, 0.5, 0.9) for b0 in (0.5, 2.0, 10.0)), key=lambda r: r.cost)
    u, b_S = best.x
    return {"a_S": float(u * amplitude), "b_S": float(b_S), "c_S": float((1 - u) * amplitude)}


def simulate(points: pd.DataFrame, coeffs: Mapping, sigma, rng: np.random.Generator) -> pd.DataFrame:
    """`points` (columns S, N, D) with a `loss` drawn from Eq. 1 at `coeffs`, times exp(sigma z),
    z standard normal: a seed std of log L of `sigma` (a number, or one per point).

        >>> points = pd.DataFrame({"S": [0.0, 0.5], "N": [1e4, 1e4], "D": [1e7, 1e7]})
        >>> coeffs = dict(a_S=2.0, b_S=1.0, c_S=8.0, b_N=0.2, a_D=1e6, b_D=1.0, c=0.5)
        >>> simulate(points, coeffs, 0.0, np.random.default_rng(0)).loss.round(3).tolist()
        [2.185, 2.026]
    """
    mean = laws.sparse_law(points.S.to_numpy(float), points.N.to_numpy(float), points.D.to_numpy(float), **coeffs)
    return points.assign(loss=mean * np.exp(np.asarray(sigma) * rng.standard_normal(len(points))))


def simulated_fits(points: pd.DataFrame, coeffs: Mapping, sigma: float, n_sim: int = 5, *, starts: int = 8,
                   n_boot: int = 40, points_out: Mapping | None = None, seed: int = 0) -> list[pd.DataFrame]:
    """For each of `n_sim` simulations of the grid `points` (simulate, noise `sigma`), Eq. 1 fitted as
    our runs are (kit.fit.lawfit.fit_with_intervals, family "ours", each run weighted by `sigma`, the
    noise the real fit will estimate from its seeds): its intervals table (estimate, low, high per
    coefficient, per gain at Table 2's sparsities and per loss "L(name)" at `points_out` {name: (S, N, D)}).

        >>> points = pd.DataFrame([{"S": S, "N": N, "D": D} for S in (0.0, 0.5, 0.75, 0.875)
        ...                        for N in (3e3, 1.2e4, 4.8e4) for D in (4e7, 8e7, 1.6e8)])
        >>> dense = dict(b_N=0.17, a_D=1e6, b_D=1.0, c=0.0)
        >>> truth = {**dense, **sparsity_term({0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, b_N=0.17, amplitude=9.6)}
        >>> [table] = simulated_fits(points, truth, sigma=0.006, n_sim=1, starts=4, n_boot=8)
        >>> bool(table.loc["gain(0.5)", "low"] < 1.59 * 1.1 and table.loc["gain(0.875)", "high"] > 2.63 / 1.1)
        True
    """
    if not (isinstance(n_sim, int) and n_sim >= 1):
        raise ValueError(f"n_sim = {n_sim!r}: need a whole number of simulations >= 1")
    if not sigma > 0:
        raise ValueError(f"sigma = {sigma!r}: the seed std of log L must be > 0")
    rng = np.random.default_rng(seed)
    noise = {float(S): {float(D): float(sigma) for D in points.D.unique()} for S in points.S.unique()}
    tables = []
    for k in range(n_sim):
        runs = simulate(points, coeffs, sigma, rng)
        fitted = lawfit.fit_with_intervals(runs, "ours", starts=starts, n_boot=n_boot, seed=seed + k, noise=noise,
                                           derived=lawfit.derived_quantities(points=points_out))
        tables.append(fitted.intervals)
    return tables
