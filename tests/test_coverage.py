"""Coverage of kit.fit.fitting.fit_intervals on synthetic sweeps drawn from Eq. 1 (issue 12, item 2).

Two designs, each fitted as the book fits it (Huber loss of log L, delta 1e-3, 16 random starts)
and given 95% intervals (fit_intervals, 200 resamples) for the 7 coefficients and the derived
quantities the book reports: the gains at S = 0.5, 0.75, 0.875 (Eq. 7), an extrapolated loss
(Eq. 1) and an optimal sparsity (Eq. 6 at one N and C, where the truth is 0.6):
- the paper's T5 grid (Table 1: 4 sizes x 3 budgets spanning 4x x 4 sparsities, 48 runs) with
  Table 7's T5 law and 0.5% log-normal noise; the extrapolated loss is at the T5-XL run;
- a grid like ours (4 sizes, N = 14k to 221k non-zeros x 4 budgets, D = 0.6M to 4.8M tokens x
  S in {0, 0.5, 0.75, 0.875}, 64 runs) with a law of our runs' shape (their fit with c held at 1
  nat/byte, rounded) and 1% noise; the extrapolated loss is at 4x the largest N.

Binomial reasoning. Each test draws DATASETS = 60 datasets from a fresh seed (printed on failure)
and asserts that every quantity's interval held the truth in at least 90% of them (54 of 60).
Measured on 200 datasets per design (seed 13), every quantity's intervals held the truth in 98% to
100% of them. At 98% a quantity fails this test with probability P(Binomial(60, 0.98) < 54) =
0.02%, so the 12 quantities of a design fail together with probability at most 0.25%; a quantity
covering 95% would fail 3% of the time. A quantity whose intervals cover only 85% passes with
probability 0.19, one covering 80% with 0.03. The pass does not rest on a chosen seed.
"""

import numpy as np
import pytest
from scipy import optimize

from kit import laws
from kit.fit import paper
from kit.fit.fitting import fit, fit_intervals

DATASETS = 60
LEVEL, REQUIRED = 0.95, 0.90


def t5_grid():
    """The (S, N, D) of the authors' 48 T5 runs (Table 1): non-zeros fixed across sparsities at
    T5-base's prunable count times 1/128, 1/32, 1/8, 1/2; 250k, 500k, 1M steps of 128 x 512 tokens."""
    S, N, D = np.meshgrid([0.0, 0.5, 0.75, 0.875], paper.T5_PARAMS / 128 * 4.0 ** np.arange(4),
                          np.array([250_000, 500_000, 1_000_000]) * paper.T5_TOKENS_PER_STEP, indexing="ij")
    return dict(S=S.ravel(), N=N.ravel(), D=D.ravel())


def our_grid():
    S, N, D = np.meshgrid([0.0, 0.5, 0.75, 0.875], np.geomspace(13_824, 221_184, 4), np.geomspace(6e5, 4.8e6, 4),
                          indexing="ij")
    return dict(S=S.ravel(), N=N.ravel(), D=D.ravel())


OURS = dict(a_S=8.0, b_S=1.0, c_S=18.0, b_N=0.4, a_D=1.0e6, b_D=0.35, c=1.0)
DESIGNS = {
    "t5": dict(grid=t5_grid, truth=laws.TABLE7["t5"], noise=0.005,
               extrapolation=(paper.T5_XL["S"], paper.T5_XL["N"], paper.T5_XL["D"]), s_opt_at=paper.T5_XL["N"]),
    "ours": dict(grid=our_grid, truth=OURS, noise=0.01, extrapolation=(0.75, 4 * 221_184, 2.4e6), s_opt_at=221_184),
}


def derived_quantities(design):
    """The quantities checked, as fit_intervals takes them, and their true values."""
    truth, N = design["truth"], design["s_opt_at"]
    C = 10 ** optimize.brentq(lambda log_C: laws.s_opt(N, 10**log_C, truth, flops_per_param_token=6) - 0.6, 10, 35)
    derived = {f"gain({s:g})": ("gain", s) for s in (0.5, 0.75, 0.875)}
    derived |= {"L(extrapolation)": ("loss", *design["extrapolation"]), "S_opt": ("s_opt", N, C, 6)}
    values = {**truth, **{f"gain({s:g})": laws.gain(s, *(truth[c] for c in ("a_S", "b_S", "c_S", "b_N")))
                          for s in (0.5, 0.75, 0.875)},
              "L(extrapolation)": laws.sparse_law(*design["extrapolation"], **truth), "S_opt": 0.6}
    return derived, values


@pytest.mark.parametrize("name", list(DESIGNS))
def test_intervals_cover(name):
    design = DESIGNS[name]
    grid = design["grid"]()
    derived, truth = derived_quantities(design)
    seed = np.random.SeedSequence().entropy
    rng = np.random.default_rng(seed)
    mean = laws.sparse_law(**grid, **design["truth"])
    held = []
    for k in range(DATASETS):
        y = mean * np.exp(design["noise"] * rng.standard_normal(mean.shape))
        result = fit(laws.sparse_law, grid, y, laws.COEFF_NAMES, log_loss=True, delta=1e-3, starts=16, seed=k)
        table = fit_intervals(result, derived, n_boot=200, level=LEVEL, seed=k)
        held.append({q: table.low[q] <= v <= table.high[q] for q, v in truth.items()})
    coverage = {q: np.mean([h[q] for h in held]) for q in truth}
    low = {q: c for q, c in coverage.items() if c < REQUIRED}
    assert not low, f"{name}, seed {seed}: coverage below {REQUIRED:.0%} at {LEVEL:.0%} nominal: {low}"
