"""The transient chapter (01b) executed with tiny parameters on the shared temporary run store: its
fits are the kit's on the same runs, its claims are valid with the verdicts their rule gives, bad
parameters stop it in its first cell, and its defaults are kit.engine.grids' main grid."""

import re

import numpy as np
import papermill
import pytest
from conftest import CHAPTERS, DURATION, TINY_BASE, TINY_GRID, assert_clean, chapter_defaults, execute_chapter

from kit.chapters import transient
from kit.engine import grids
from kit.engine.config import RunConfig
from kit.engine.store import RunStore
from kit.engine.sweep import run_sweep
from kit.report import claims

STEM = "01b_transient"
# three budgets, so the tiny grid's transients can be fitted
TINY = dict(base=TINY_BASE, n_nonzero=TINY_GRID["n_nonzero"], tokens=[*TINY_GRID["tokens"], 40_960],
            sparsities=TINY_GRID["sparsities"], n_boot=20)


def test_defaults_are_the_main_grid_and_the_stored_pilot():
    d = chapter_defaults(STEM)
    assert (d["n_nonzero"], d["tokens"], d["sparsities"]) == (grids.MAIN["n_nonzero"], grids.MAIN["tokens"],
                                                               grids.MAIN["sparsity"])
    assert d["base"] == {} and d["pilot_steps"] == "stored" and d["runs_dir"] is None
    assert d["eps"] == transient.EPS and d["gamma"] == 1.0 and d["pilot_eps"] == "seeds"
    assert d["design_sims"] >= 5 and d["design_noise"] == [1.0, 2.0]


@pytest.fixture(scope="module")
def executed(tiny_runs, tmp_path_factory):
    nb, found = execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("ch1b"))
    return nb, found, tiny_runs


def test_the_chapter_runs_clean_and_glues_its_runtimes(executed):
    nb, _, _ = executed
    names = assert_clean(nb)
    assert re.fullmatch(DURATION, names["runtime_cached"]) and re.fullmatch(DURATION, names["runtime_scratch"])
    # the tiny store holds no pilot run to size grid v3: its simulations say so instead of numbers
    assert names["design_0_0_holds"].strip("'") == "not simulated (no pilot stored)"
    assert names["v3_gap_pairs"].strip("'") == "– (no pilot stored)"


def test_the_claims_are_the_kits_fits_of_the_same_runs(executed):
    nb, found, runs_dir = executed
    assert set(found) == {"transient-v2-in-regime", "transient-pilot-in-regime", "pilot-gap-size", "pilot-window",
                          "pilot-steps-not-tokens"}
    for claim in found.values():
        claims.Claim(**claim)
        assert claim["kind"] == "question"
    store = RunStore(runs_dir)
    configs = grids.main_grid(RunConfig(**TINY_BASE), n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"],
                              sparsity=TINY["sparsities"])
    per_run = transient.gaps(run_sweep(configs, store=store, progress=False))
    fits = transient.fit_curves(per_run, "steps", eps=transient.EPS, n_boot=TINY["n_boot"], gamma=1.0)
    assert len(fits) == 2 and (fits["budgets"] == 3).all()  # S = 0.5 and 0.75, three budgets each
    v2 = found["transient-v2-in-regime"]
    for row in fits.itertuples():
        assert v2["numbers"][f"x_star_{row.sparsity:g}"] == pytest.approx(row.x_star, rel=1e-9)
    verdict, _ = transient.in_regime_verdict(fits, per_run["steps"].max(), [0.5, 0.75])
    assert v2["verdict"] == verdict and v2["rule_after"] is True
    pilot = found["transient-pilot-in-regime"]  # the tiny store holds no pilot run: nothing to fit
    assert pilot["verdict"] == "not resolved" and "fewer than 3 budgets" in pilot["reason"]
    for key in ("pilot-gap-size", "pilot-window", "pilot-steps-not-tokens"):  # no variant run either
        assert found[key]["verdict"] == "not resolved" and "Fewer than two pairs" in found[key]["reason"]


@pytest.mark.parametrize("parameters, message", [
    ({"eps": 0}, "eps = 0: need a number > 0"),
    ({"gamma": 5}, "gamma = 5: need a number > 0 and <= 3"),
    ({"sparsities": [0.5, 0.75]}, "need 0.0"),
    ({"pilot_steps": "all"}, "pilot_steps"),
    ({"pilot_eps": -0.01}, "pilot_eps = -0.01: need a number > 0"),
    ({"design_sims": -1}, "design_sims = -1"),
    ({"design_noise": [1.0, 0]}, "design_noise = [1.0, 0]: 0 is not a number > 0"),
])
def test_bad_parameters_stop_the_chapter_in_its_first_cell(tmp_path, parameters, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", parameters=parameters,
                                   cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    assert error.value.ename == "ValueError" and message in error.value.evalue
    assert "from kit.report import params" in error.value.source
