"""Chapter 2b (the core law on our runs) executed with tiny parameters as scripts/build_book.py
executes it: the tiny grid of tests/conftest.py, trained once per session; its claims read back
from the results file, its glued numbers from the notebook. Its defaults are kit.engine.grids'
grids, so the book trains nothing."""

import math
import re

import papermill
import pytest
from conftest import CHAPTERS, DURATION, TINY_BASE, TINY_GRID, assert_clean, chapter_defaults, execute_chapter

from kit.engine import grids
from kit.engine.config import RunConfig
from kit.report import claims

STEM = "02b_core_law_ours"
TINY = dict(base=TINY_BASE, n_nonzero=TINY_GRID["n_nonzero"], tokens=TINY_GRID["tokens"],
            sparsities=TINY_GRID["sparsities"], seeds=[0, 1], seed_n_nonzero=TINY_GRID["n_nonzero"][:1],
            seed_tokens=TINY_GRID["tokens"], seed_sparsities=[0.0, 0.75],
            extrapolation_n_nonzero=[4 * max(TINY_GRID["n_nonzero"])], extrapolation_tokens=TINY_GRID["tokens"][-1:],
            extrapolation_sparsities=[0.75], n_boot=8, n_starts=4)
KEYS = {"core-parallel-ours", "core-diminishing-ours", "core-no-interaction-ours", "core-extrapolation-ours",
        "core-rollout-ours", "core-identified-ours"}


def test_defaults_are_the_grids_of_kit_grids():
    d = chapter_defaults(STEM)
    assert (d["n_nonzero"], d["tokens"], d["sparsities"]) == (grids.MAIN["n_nonzero"], grids.MAIN["tokens"],
                                                              grids.MAIN["sparsity"])
    assert (d["seeds"], d["seed_n_nonzero"], d["seed_tokens"], d["seed_sparsities"]) == (
        grids.SEEDS["seed"], grids.SEEDS["n_nonzero"], grids.SEEDS["tokens"], grids.SEEDS["sparsity"])
    assert (d["extrapolation_n_nonzero"], d["extrapolation_tokens"], d["extrapolation_sparsities"]) == (
        grids.EXTRAPOLATION["n_nonzero"], grids.EXTRAPOLATION["tokens"], grids.EXTRAPOLATION["sparsity"])
    base = RunConfig(**d["base"])  # the chapter's calls at its defaults give the grids' configs (same run ids)
    assert grids.main_grid(base, n_nonzero=d["n_nonzero"], tokens=d["tokens"], sparsity=d["sparsities"]) == grids.main_grid()
    assert grids.seed_grid(base, n_nonzero=d["seed_n_nonzero"], tokens=d["seed_tokens"], sparsity=d["seed_sparsities"],
                           seed=d["seeds"]) == grids.seed_grid()
    assert grids.extrapolation_grid(base, n_nonzero=d["extrapolation_n_nonzero"], tokens=d["extrapolation_tokens"],
                                    sparsity=d["extrapolation_sparsities"]) == grids.extrapolation_grid()
    assert d["runs_dir"] is None and d["results_dir"] is None and d["corpus"] is None


@pytest.fixture(scope="module")
def executed(tiny_runs, tmp_path_factory):
    return execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("ch2b"))


def test_every_claim_is_written_with_a_verdict_kind_and_scope(executed):
    nb, found = executed
    assert set(found) == KEYS
    for c in found.values():
        assert c["verdict"] in claims.VERDICTS and c["rule"] and c["reason"]
        assert c["kind"] == "own runs" and c["scope"] and c["rule_after"] is False, c["key"]
        assert c["our_runs"] and c["authors_data"] is None
        assert not any(math.isnan(v) for v in c["numbers"].values()), c["key"]
    labels = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^\((ch2-[\w-]+)\)=$", c.source, re.M)}
    assert {c["section"] for c in found.values()} <= labels
    assert "ch2-degenerate" in labels, "the degenerate-fit explanation the other chapters refer to"
    # the tiny grid's own scope, then its regime: no transient is fitted on a fresh store's runs
    assert found["core-parallel-ours"]["scope"] == ("N 1.54k-3.07k, D 10.2k-20.5k tokens, 160 steps at most; "
                                                    "regime not known (no transient fitted at S = 0.5, 0.75)")
    assert found["core-parallel-ours"]["regime"] is None


def test_our_runs_part(executed):
    nb, found = executed
    held_out = found["core-extrapolation-ours"]["numbers"]
    assert held_out["low"] <= held_out["fit_low"] <= held_out["predicted"] <= held_out["fit_high"] <= held_out["high"]
    assert held_out["noise"] > 0 and held_out["measured"] > 0
    for key in ("core-parallel-ours", "core-no-interaction-ours"):
        assert found[key]["numbers"]["margin"] > 0
    rollout = found["core-rollout-ours"]  # two sizes: one left to fit, too few for a rollout
    assert rollout["verdict"] == "not resolved" and "needs two sizes or more" in rollout["reason"]
    names = assert_clean(nb)
    assert names["v3_stored"] == "'– (no pilot stored)'"  # the tiny store holds no pilot to size grid v3
    assert names["v3_gains"] == names["v3_verdict_identified"] == "'–'"  # so nothing of grid v3 is fitted or claimed
    assert re.fullmatch(DURATION, names["runtime_cached"])
    assert names["grid_runs"] == "'12'" and names["runs_read"] == f"'{12 + 4 + 1}'"  # 2 seeds x 2 budgets x 2 S, half in the grid
    figures = [c for c in nb.cells if c.cell_type == "code" and "mystnb" in c.metadata]
    assert len(figures) == 6 and all([o.output_type for o in c.outputs] == ["display_data"] for c in figures)
    shown = [str(o.get("data", {}).get(kind, "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs
             for kind in ("text/markdown", "text/plain")]
    assert not [t for t in shown if re.search(r"\binf\b", t)]


@pytest.mark.parametrize("parameters, message", [
    (dict(sparsities=[0.5, 0.75, 0.875]), "need 0 (dense)"),
    (dict(runs_dir="/nonexistent/runs"), "runs_dir = '/nonexistent/runs': no such folder"),
])
def test_bad_parameters_are_refused_in_one_line(tmp_path, parameters, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", parameters=parameters,
                                   cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    assert message in str(error.value)
