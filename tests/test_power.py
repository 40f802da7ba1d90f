"""kit.fit.power: the sparsity term gives the gains asked for, simulated grids carry the noise asked
for, and a fit of a simulated grid recovers the law it was drawn from, over several seeds."""

import numpy as np
import pandas as pd
import pytest

from kit import laws
from kit.fit import power

DENSE = dict(b_N=0.17, a_D=1e6, b_D=1.0, c=0.3)
GRID = pd.DataFrame([{"S": S, "N": N, "D": D} for S in (0.0, 0.5, 0.75, 0.875)
                     for N in (3e3, 1.2e4, 4.8e4) for D in (4e7, 8e7, 1.6e8)])


@pytest.mark.parametrize("gains", [{0.5: 1.59, 0.75: 2.16, 0.875: 2.63}, {0.5: 1.2, 0.75: 1.3, 0.875: 1.35},
                                   {0.5: 1.5, 0.75: 1.5, 0.875: 1.5}])
@pytest.mark.parametrize("b_N", [0.1, 0.3])
def test_the_sparsity_term_gives_the_gains_asked_for(gains, b_N):
    term = power.sparsity_term(gains, b_N=b_N, amplitude=7.0)
    assert term["a_S"] + term["c_S"] == pytest.approx(7.0) and 0 <= term["b_S"] <= power.B_S_MAX
    got = [float(laws.gain(S, b_N=b_N, **term)) for S in gains]
    assert got == pytest.approx(list(gains.values()), rel=0.01)


def test_gains_below_one_are_refused():
    with pytest.raises(ValueError, match="need gains >= 1"):
        power.sparsity_term({0.5: 0.9}, b_N=0.2, amplitude=1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_simulated_losses_scatter_by_the_noise_asked_for(seed):
    coeffs = {**DENSE, **power.sparsity_term({0.5: 1.5, 0.75: 2.0, 0.875: 2.4}, 0.17, 9.0)}
    points = pd.concat([GRID] * 40, ignore_index=True)  # 1,440 draws
    runs = power.simulate(points, coeffs, 0.01, np.random.default_rng(seed))
    log_ratio = np.log(runs.loss / laws.sparse_law(points.S.values, points.N.values, points.D.values, **coeffs))
    assert abs(log_ratio.mean()) < 0.001 and log_ratio.std() == pytest.approx(0.01, rel=0.1)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_fit_of_a_quiet_simulated_grid_recovers_its_gains_and_exponents(seed):
    gains = {0.5: 1.59, 0.75: 2.16, 0.875: 2.63}
    truth = {**DENSE, **power.sparsity_term(gains, DENSE["b_N"], 9.6)}
    [table] = power.simulated_fits(GRID, truth, sigma=0.002, n_sim=1, starts=6, n_boot=10, seed=seed,
                                   points_out={"4x": (0.5, 1.9e5, 4e7)})
    for S, g in gains.items():
        assert table.loc[f"gain({S:g})", "estimate"] == pytest.approx(g, rel=0.05)
    assert table.loc["b_N", "estimate"] == pytest.approx(DENSE["b_N"], rel=0.1)
    held = float(laws.sparse_law(0.5, 1.9e5, 4e7, **truth))
    assert table.loc["L(4x)", "low"] <= held * 1.01 and table.loc["L(4x)", "high"] >= held * 0.99


@pytest.mark.parametrize("n_sim, sigma, message", [(0, 0.01, "n_sim = 0"), (2, 0.0, "sigma = 0.0")])
def test_bad_simulation_settings_are_refused(n_sim, sigma, message):
    with pytest.raises(ValueError, match=message):
        power.simulated_fits(GRID, DENSE, sigma=sigma, n_sim=n_sim)
