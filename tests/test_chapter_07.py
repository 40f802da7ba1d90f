"""Chapter 7 ("Should I sparsify?") executed with tiny parameters (papermill, kernel python3, working
directory book/chapters, as scripts/build_book.py runs it): it re-times the kernels at the smallest
layer only, writes its claims to a temporary results_dir, and glues every number its prose shows."""

import ast
import json
import re

import papermill
import pytest
from conftest import CHAPTERS, DURATION, execute_chapter, glued

from kit import laws
from kit.chapters import planning
from kit.planner import plan

STEM = "07_should_i_sparsify"
TINY = dict(remeasure=True, speed_layers=["ours-d16"], layer="ours-d16", repeats=1, chinchilla_multiples=[1, 100],
            sparsities=[0.5, 0.9])


def test_chapter_7_with_tiny_parameters(tmp_path):
    nb, claims = execute_chapter(STEM, TINY, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o.text for o in outputs if o.output_type == "stream"], "no prints, warnings or progress bars"
    # every {glue:text} the prose uses is glued, including the measured runtimes of the rerun box
    names = glued(nb)
    used = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"\{glue:text\}`([\w-]+)`", c.source)}
    assert {"runtime_cached", "runtime_remeasure"} <= used and used <= set(names), sorted(used - set(names))
    assert re.fullmatch(DURATION, names["runtime_cached"])
    # the claims: the paper's Section 3.3 statements as planner queries, exact properties of Table 7's law
    # the multiples are chapter 3's claim on the results page; here they are glued, recomputed by the planner
    assert set(claims) == {"planner-dense-below-sparse"}
    multiples = json.loads(ast.literal_eval(names["planner_multiples"]))
    assert multiples["verdict"] == "holds"
    for (family, name), cost in [(f, c) for f in (("ViT/JFT", "vit"), ("T5/C4", "t5")) for c in laws.COSTS]:
        assert multiples[f"{family} {cost} FLOPs"] == pytest.approx(
            laws.chinchilla_multiple(0.5, 1.0, laws.TABLE7[name], cost), rel=1e-6)
    assert multiples["T5/C4 sparse FLOPs"] < 3 and multiples["ViT/JFT sparse FLOPs"] < 2
    # the run beyond the T5 data: range warnings, and the answers of Table 7 and of the book's refit with intervals
    far = json.loads(ast.literal_eval(names["far_numbers"]))
    table7, refit, run = laws.TABLE7["t5"], plan.load_law("t5-refit"), plan.Run(N=7e9, D=2e12)
    key = "N = 7e9, D = 2e12: optimal sparsity"
    assert far["Table 7"][key] == pytest.approx(plan.plan(table7, run, "dense").S_opt, rel=1e-12) == pytest.approx(0.1539, abs=1e-4)
    assert far["refit"][key] == pytest.approx(plan.plan(refit, run, "dense").S_opt, rel=1e-12) == pytest.approx(0.5663, abs=1e-4)
    assert far["low"][key] < far["Table 7"][key] < far["refit"][key] < far["high"][key]
    assert far["warnings"] == list(plan.plan(table7, run, "dense").warnings) and "82.4x the largest N" in names["far_warnings"]
    dense_from = "S = 0.5 optimal from (× Chinchilla), dense FLOPs"
    assert far["refit"][dense_from] == pytest.approx(laws.chinchilla_multiple(0.5, 1.0, refit, "dense"), rel=1e-12)
    assert "loses to the dense one" in names["far_half"] and "refit, a 50%-sparse model" in names["far_half"]
    assert "run 1: N = 1e9 is 11.8x the largest N" in names["q_warnings"] and "one core of a" in names["measured_where"]
    order = claims["planner-dense-below-sparse"]
    assert order["verdict"] == "holds" and order["numbers"]["max_dense_minus_sparse"] <= 0
    assert order["numbers"]["strict"] == 1.0 and order["numbers"]["points"] == 2 * 21 * 25
    # arithmetic on Table 7's published law, over the budgets its rule names, with the rule fixed first
    assert (order["kind"], order["rule_after"]) == ("published", False)
    assert planning.ORDER_GRID in order["rule"] and order["scope"].startswith("Table 7's laws; N 1e6 to 1e11")
    # the key-findings box right after the introduction, and every figure numbered and captioned
    assert nb.cells[0].source.index("```{admonition} Key findings") < nb.cells[0].source.index("Rerun this chapter")
    figures = [c.metadata["mystnb"]["figure"] for c in nb.cells if "mystnb" in c.metadata]
    assert [f["name"] for f in figures] == ["fig-ch7-speedups", "fig-ch7-cost", "fig-ch7-optimum"]
    for cell in (c for c in nb.cells if "mystnb" in c.metadata):
        assert [o.output_type for o in cell.outputs] == ["display_data"] and "image/svg+xml" in cell.outputs[0].data
        assert "hide-input" in cell.metadata.tags


def test_chapter_7_refuses_a_layer_it_does_not_time(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", cwd=CHAPTERS, kernel_name="python3",
                                   progress_bar=False, parameters=dict(remeasure=True, speed_layers=["ours-d16"],
                                                                       layer="t5-base"))
    assert "layer = 't5-base' is not in speed_layers = ['ours-d16']" in str(err.value)
