"""kit.chapters.design: grid v3's simulated fits reach the identification rule's verdict that each
truth calls for at low noise, and its inputs are the stored runs'."""

import pytest

from kit import laws
from kit.chapters import corelaw, design, pilot
from kit.engine import grids
from kit.engine.config import RunConfig
from kit.engine.store import RunStore
from kit.fit import power


def test_planned_points_are_the_non_zeros_each_width_ends_with():
    configs = [grids.fine_width(RunConfig(n_nonzero=13_824, sparsity=S)) for S in (0.0, 0.5, 0.75, 0.875)]
    points = design.planned_points(configs)
    assert (points.N / 13_824).between(0.8, 1.2).all() and points.S.tolist() == [0.0, 0.5, 0.75, 0.875]


def test_the_dense_law_fits_the_stored_dense_pycode_runs():
    coeffs, runs = design.dense_law(RunStore())
    assert runs.N.nunique() >= 3 and (runs.S == 0).all()
    assert 0.05 < coeffs["b_N"] < 0.5 and coeffs["a_S"] == 0.0
    predicted = laws.sparse_law(runs.S.values, runs.N.values, runs.D.values, **coeffs)
    assert (abs(predicted / runs.loss - 1) < 0.05).mean() >= 0.8  # the dense law follows most stored runs within 5%


@pytest.mark.parametrize("name, verdict", [("Table 2's gains (T5/C4)", "holds"), ("flat: Table 2's 50% gain at every S", "does not hold")])
@pytest.mark.parametrize("seed", [0, 1])
def test_at_a_quarter_of_the_pilots_noise_the_rule_reaches_the_truths_verdict(name, verdict, seed):
    store = RunStore()
    smallest, window = pilot.grid_v3_sizing(store)
    points = design.planned_points(grids.grid_v3_parts(smallest, window)["grid"])
    dense, _ = design.dense_law(store)
    sigma, _ = design.pilot_noise(pilot.read_pilot(store))
    truth = {**dense, **power.sparsity_term(design.TRUTHS[name], dense["b_N"], dense["c_S"])}
    [table] = power.simulated_fits(points, truth, sigma / 4, n_sim=1, starts=6, n_boot=20, seed=seed)
    assert corelaw.identification_claim(table, "simulated").verdict == verdict
