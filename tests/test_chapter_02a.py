"""Chapter 2a (the core law on the authors' data) executed with tiny parameters as
scripts/build_book.py executes it: the authors' published sweeps at their full size, only fewer
starts and resamples; its claims read back from the results file, its glued numbers from the
notebook."""

import math
import re

import papermill
import pytest
from conftest import CHAPTERS, DURATION, assert_clean, execute_chapter

from kit.chapters import corelaw
from kit.fit import paper
from kit.laws import TABLE7, sparse_law
from kit.report import claims

STEM = "02a_core_law_authors"
TINY = dict(n_boot=8, n_starts=4)
KEYS = {"core-table7-t5", "core-table7-vit", "core-fit-converges", "core-t5-xl", "core-parallel-t5",
        "core-diminishing-t5", "core-no-interaction-t5", "core-table2-t5", "core-table2-vit"}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return execute_chapter(STEM, TINY, tmp_path_factory.mktemp("ch2a"))


def test_every_claim_is_written_with_a_verdict_kind_and_scope(executed):
    nb, found = executed
    assert set(found) == KEYS
    for c in found.values():
        assert c["verdict"] in claims.VERDICTS and c["rule"] and c["reason"]
        assert c["kind"] == "reanalysis" and c["scope"], c["key"]
        assert c["authors_data"] and c["our_runs"] is None
        assert not any(math.isnan(v) for v in c["numbers"].values()), c["key"]  # an unbounded side is inf
    # the Table 7 rule was changed after looking (the book's review); every other rule was fixed before
    assert {k for k, c in found.items() if c["rule_after"]} == {"core-table7-t5", "core-table7-vit"}
    labels = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^\((ch2-[\w-]+)\)=$", c.source, re.M)}
    assert {c["section"] for c in found.values()} <= labels, "every claim's section has its label in the chapter"


def test_rules_are_written_from_the_thresholds(executed):
    _, found = executed
    assert found["core-table7-vit"]["rule"] == corelaw.RULES["table7"]
    assert f"at least {corelaw.CONVERGED_SHARE:.0%}" in found["core-fit-converges"]["rule"]
    assert f"at most {corelaw.EXTRAPOLATION_WIDTH:.0%}" in found["core-t5-xl"]["rule"]
    assert f"narrower than {corelaw.GAIN_WIDTH:g}" in found["core-table2-t5"]["rule"]


def test_table7_objective_is_reproduced_and_t5_beaten(executed):
    _, found = executed
    t5, vit = found["core-table7-t5"]["numbers"], found["core-table7-vit"]["numbers"]
    # Table 7's Error is the mean Huber loss at its coefficients, to the rounding of the coefficients
    assert t5["objective_table7"] == pytest.approx(paper.TABLE7_ERROR["t5"], rel=0.01)
    assert vit["objective_table7"] == pytest.approx(paper.TABLE7_ERROR["vit"], rel=0.01)
    # T5: one optimum well below Table 7's, with b_S near twice Table 7's, which lies outside its interval
    assert t5["objective"] == pytest.approx(4.880e-6, rel=1e-3) and t5["objective_table7"] / t5["objective"] > 1.5
    assert t5["b_S_estimate"] == pytest.approx(1.345, rel=0.01) and t5["b_S_low"] > TABLE7["t5"]["b_S"]
    assert found["core-table7-t5"]["verdict"] == "does not hold"
    # ViT: Table 7 to three digits, its objective within the rule's tolerance of ours
    assert vit["objective"] <= vit["objective_table7"] <= vit["objective"] * (1 + corelaw.OPTIMUM_TOLERANCE)
    for c in TABLE7["vit"]:
        assert vit[f"{c}_estimate"] == pytest.approx(TABLE7["vit"][c], rel=0.01)
    assert found["core-table7-vit"]["verdict"] == "holds"


def test_authors_procedure_stops_early_on_t5_only(executed):
    _, found = executed
    converges = found["core-fit-converges"]
    assert converges["numbers"]["share_t5"] == 0.0 and converges["numbers"]["share_vit"] == 1.0
    assert converges["verdict"] == "does not hold"


def test_t5_xl_prediction(executed):
    _, found = executed
    xl = found["core-t5-xl"]["numbers"]
    assert xl["measured"] == paper.T5_XL["loss"]
    assert xl["table7"] == pytest.approx(float(sparse_law(*(paper.T5_XL[k] for k in "SND"), **TABLE7["t5"])))
    assert xl["predicted"] == pytest.approx(1.455, abs=2e-3)  # ours: about -1.9%; Table 7's: about -1%
    assert xl["low"] <= xl["predicted"] <= xl["high"]


def test_observations_and_gains_on_the_authors_sweeps(executed):
    _, found = executed
    # t intervals over the grid's points: no resampling, so fixed numbers
    parallel = found["core-parallel-t5"]["numbers"]
    assert parallel["estimate"] == pytest.approx(-0.0092, abs=5e-4) and parallel["margin"] == pytest.approx(0.2 * 0.2317, rel=0.01)
    assert found["core-parallel-t5"]["verdict"] == "holds"
    assert found["core-diminishing-t5"]["verdict"] == "holds" and found["core-diminishing-t5"]["numbers"]["high"] < 0
    interaction = found["core-no-interaction-t5"]["numbers"]  # the interval reaches just past the margin
    assert interaction["low"] < -interaction["margin"] < interaction["estimate"] < 0 < interaction["high"]
    assert found["core-no-interaction-t5"]["verdict"] == "not resolved"
    vit = found["core-table2-vit"]["numbers"]
    assert [vit[f"gain_{s:g}_estimate"] for s in (0.5, 0.75, 0.875)] == pytest.approx([1.60, 2.17, 2.63], abs=0.01)
    assert found["core-table2-t5"]["numbers"]["gain_0.5_estimate"] == pytest.approx(1.77, abs=0.01)


def test_page_is_clean_and_every_figure_numbered(executed):
    nb, _ = executed
    names = assert_clean(nb)
    assert re.fullmatch(DURATION, names["runtime_cached"])
    assert names["vit_same_digits"] == "'7 of 7'" and names["verdict_table7_vit"] == "'holds'"
    figures = [c for c in nb.cells if c.cell_type == "code" and "mystnb" in c.metadata]
    assert len(figures) == 4
    for c in figures:
        assert c.metadata["mystnb"]["figure"]["name"].startswith("fig-corelaw-") and c.metadata["mystnb"]["figure"]["caption"]
        assert [o.output_type for o in c.outputs] == ["display_data"], "a figure is its cell's single output"
    shown = [str(o.get("data", {}).get(kind, "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs
             for kind in ("text/markdown", "text/plain")]
    assert not [t for t in shown if re.search(r"\binf\b", t)]  # an unbounded side reads "unbounded"


def test_bad_parameters_are_refused_in_one_line(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", parameters=dict(n_boot=0),
                                   cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    assert "n_boot = 0" in str(error.value)
