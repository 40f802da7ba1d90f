"""The book's fits of a scaling law to a family of runs, with intervals, in one call each.

Chapters 2 to 6 fit Eq. 1 (and, in chapter 6, the dense laws) to the authors' runs and to ours
with the settings below; `fit_family` is that fit and `fit_with_intervals` adds kit.fit.fitting's
intervals (the hull of a bootstrap and a profile likelihood, see kit.fit.fitting) for every
coefficient and for the quantities the book reports: gains (Eq. 7), losses at held-out points
(Eq. 1, e.g. T5-XL) and optimal sparsities (Eq. 6, dense costs).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from . import fitting
from kit import laws

# kit.fit.fitting.fit's loss settings per family of runs.
FAMILIES = {
    "t5": dict(log_loss=True, delta=1e-3),  # Frantar et al. T5/C4: Huber loss of log L (Section 3.2)
    "vit": dict(log_loss=False, delta=1e-2),  # Frantar et al. ViT/JFT: Huber loss of L (Appendix C)
    "nm": dict(log_loss=True, delta=1e-2),  # n:m sparsity (Section 4.1: delta 0.01), as chapter 4 fits it
    "ours": dict(log_loss=True, delta=1e-3),  # our runs: the paper's T5 procedure
}

# The coefficients of each law `fit_family` takes (its other arguments are the runs' inputs).
COEFFICIENTS = {
    laws.sparse_law: laws.COEFF_NAMES,
    laws.dense_law: ("a_N", "b_N", "a_D", "b_D", "c"),
    laws.avg_param_law: ("a_N", "b_N", "a_D", "b_D", "c"),
}

GAIN_SPARSITIES = (0.5, 0.75, 0.875)  # Table 2's


def fit_family(frame, family: str = "ours", *, law=laws.sparse_law, fixed: Mapping | None = None,
               starts=16, seed=0, noise: Mapping | None = None) -> fitting.FitResult:
    """`law` (Eq. 1 by default) fitted to the runs of `frame` with the family's settings
    (FAMILIES), every coefficient not in `fixed` free, from `starts` random starts (or a
    sequence of starting coefficients, see kit.fit.fitting.fit). `noise`: {S: {D: seed std of the
    (log) loss}} (sparsity_noise), each run's residual then taken over its own noise (run_noise;
    kit.fit.fitting.fit's scale); None: equal noise, as the paper fits.

    frame: a law frame, one row per run, with the law's inputs (S, N, D, or N_avg, D) and loss:
    kit.fit.paper.load_t5(), kit.engine.store.law_frame(...).

        >>> from kit.fit.paper import load_t5
        >>> result = fit_family(load_t5(), "t5", starts=4)
        >>> round(result.params["b_S"], 1), round(result.params["c"], 2)  # Table 7: 0.722, 0.651
        (1.3, 0.83)
    """
    if family not in FAMILIES:
        raise ValueError(f"family={family!r}: allowed {list(FAMILIES)}")
    if law not in COEFFICIENTS:
        raise ValueError(f"law {getattr(law, '__name__', law)!r}: allowed {[f.__name__ for f in COEFFICIENTS]}")
    if "loss" not in frame:
        raise ValueError(f"frame lacks a 'loss' column; it has {list(frame)}")
    fixed = dict(fixed or {})
    params = [c for c in COEFFICIENTS[law] if c not in fixed]
    scale = None if noise is None else run_noise(frame, noise)
    return fitting.fit(law, frame, frame["loss"], params, fixed=fixed, starts=starts, seed=seed, scale=scale,
                       **FAMILIES[family])


def sparsity_noise(repeats, value: str = "loss", log: bool = True) -> dict:
    """{S: {D: the seed std of `value` at sparsity S and budget D}}: runs of `repeats` (columns S, N,
    D and `value`) equal in S, N and D differ only in seed; their spread is pooled over the sizes N
    of each (S, D) (kit.fit.noise.seed_noise), on log(value) if `log` (the scale of a log-loss fit's
    residuals). Our seed repeats need both axes: a dense run's noise falls 8x from 0.6M to 2.4M
    tokens, a sparse run's not at all.

        >>> repeats = pd.DataFrame({"S": [0.0] * 4 + [0.75] * 4, "N": 1e4, "D": [1e6, 1e6, 2e6, 2e6] * 2,
        ...                         "loss": [2.00, 2.02, 1.90, 1.901, 2.0, 2.04, 1.9, 1.86]})
        >>> {S: {D: round(v, 4) for D, v in by_D.items()} for S, by_D in sparsity_noise(repeats).items()}
        {0.0: {1000000.0: 0.007, 2000000.0: 0.0004}, 0.75: {1000000.0: 0.014, 2000000.0: 0.015}}
    """
    from .noise import seed_noise

    frame = repeats.assign(**{value: np.log(repeats[value]) if log else repeats[value]})
    return {float(S): {float(D): float(sigma) for D, sigma in seed_noise(runs, point=["N"], by="D", value=value)["sigma"].items()}
            for S, runs in frame.groupby("S")}


def run_noise(frame, noise: Mapping) -> np.ndarray:
    """Each run's noise from sparsity_noise's {S: {D: noise}}: at each measured sparsity, the noise
    at the run's budget D (linear in log D and log noise between measured budgets, held at the
    nearest outside them, as kit.fit.noise.noise_at), then linear in S between the measured
    sparsities (held at the nearest outside them).

        >>> noise = {0.0: {1e6: 0.02, 4e6: 0.005}, 0.75: {1e6: 0.01, 4e6: 0.01}}
        >>> run_noise(pd.DataFrame({"S": [0.0, 0.0, 0.375, 0.875], "D": [2e6, 8e6, 4e6, 1e6]}), noise).round(4).tolist()
        [0.01, 0.005, 0.0075, 0.01]
    """
    if not noise:
        raise ValueError("noise is empty: need {S: {D: seed std}} for at least one sparsity")
    sparsities = sorted(noise)
    log_D = np.log(np.asarray(frame["D"], float))
    at_S = np.array([np.exp(np.interp(log_D, np.log(sorted(noise[S])), np.log([noise[S][D] for D in sorted(noise[S])])))
                     for S in sparsities])  # sparsity x run
    S = np.asarray(frame["S"], float)
    return np.array([np.interp(S[r], sparsities, at_S[:, r]) for r in range(len(S))])


def derived_quantities(sparsities: Sequence[float] = GAIN_SPARSITIES, points: Mapping | None = None,
                       optima: Mapping | None = None, flops_per_param_token=6) -> dict:
    """The quantities the book reports, as kit.fit.fitting.fit_intervals takes them:
    "gain(S)" for each sparsity (Eq. 7); "L(name)" for each point name -> (S, N, D) (Eq. 1, e.g.
    kit.fit.paper.T5_XL or a held-out run); "S_opt(name)" for each name -> (N, C) (Eq. 6, dense
    costs, flops_per_param_token FLOPs per parameter and token: 6, or 3 for T5).

        >>> derived_quantities((0.5,), points={"T5-XL": (0.75, 8e8, 3e10)}, optima={"C=1e21": (1e8, 1e21)},
        ...                    flops_per_param_token=3)
        {'gain(0.5)': ('gain', 0.5), 'L(T5-XL)': ('loss', 0.75, 800000000.0, 30000000000.0),
         'S_opt(C=1e21)': ('s_opt', 100000000.0, 1e+21, 3.0)}
    """
    derived = {f"gain({s:g})": ("gain", float(s)) for s in sparsities}
    derived |= {f"L({name})": ("loss", *map(float, point)) for name, point in (points or {}).items()}
    derived |= {f"S_opt({name})": ("s_opt", float(N), float(C), float(flops_per_param_token))
                for name, (N, C) in (optima or {}).items()}
    return derived


@dataclasses.dataclass(frozen=True)
class LawFit:
    """What `fit_with_intervals` returns: the fit and its intervals, one row per coefficient and quantity.

        >>> from kit.fit.paper import load_t5
        >>> result = fit_family(load_t5(), "t5", starts=4)
        >>> found = LawFit(result, fitting.fit_intervals(result, derived_quantities(), n_boot=8))
        >>> found.intervals.shape
        (10, 8)
    """
    result: fitting.FitResult  # the fit (coefficients, objective, residuals)
    intervals: pd.DataFrame  # kit.fit.fitting.fit_intervals' table: one row per coefficient and quantity


def fit_with_intervals(frame, family: str = "ours", *, derived: Mapping | None = None, law=laws.sparse_law,
                       fixed: Mapping | None = None, starts=16, n_boot=200, level=0.95, seed=0,
                       noise: Mapping | None = None) -> LawFit:
    """`fit_family`, then kit.fit.fitting.fit_intervals for every free coefficient and every quantity
    of `derived` (e.g. derived_quantities(points={"T5-XL": (S, N, D)}); default: the gains at
    GAIN_SPARSITIES for Eq. 1, none for the dense laws). `noise`: per sparsity, as fit_family takes it.

        >>> from kit.fit.paper import load_t5
        >>> found = fit_with_intervals(load_t5(), "t5", starts=4, n_boot=8)
        >>> list(found.intervals.index)
        ['a_S', 'b_S', 'c_S', 'b_N', 'a_D', 'b_D', 'c', 'gain(0.5)', 'gain(0.75)', 'gain(0.875)']
        >>> round(float(found.intervals.loc["gain(0.75)", "estimate"]), 2)  # Table 2: 2.16 (Table 7's law)
        2.27
    """
    if derived is None:
        derived = derived_quantities() if law is laws.sparse_law else {}
    result = fit_family(frame, family, law=law, fixed=fixed, starts=starts, seed=seed, noise=noise)
    return LawFit(result, fitting.fit_intervals(result, derived, n_boot=n_boot, level=level, seed=seed))
