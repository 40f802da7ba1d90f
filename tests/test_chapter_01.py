"""Chapter 1 (fair evaluation) executed with tiny parameters, as scripts/build_book.py executes it:
its claims are recomputed here from the tiny run store's records, and its defaults are the grids
of kit.engine.grids."""

import re

import numpy as np
import papermill
import pytest
from conftest import CHAPTERS, DURATION, TINY_BASE, TINY_GRID, chapter_defaults, execute_chapter, glued
from scipy import stats

from kit.chapters import fairness
from kit.report import claims
from kit.engine import grids
from kit.engine.config import RunConfig
from kit.engine.data import load_corpus
from kit.engine.store import RunStore, run_id

STEM = "01_fair_evaluation"
TINY = dict(base=TINY_BASE, n_nonzero=TINY_GRID["n_nonzero"], tokens=TINY_GRID["tokens"],
            sparsities=TINY_GRID["sparsities"], seed_n_nonzero=[3072], seed_tokens=TINY_GRID["tokens"],
            seed_sparsities=[0.0, 0.75], seeds=[0, 1, 2], ablation_n_nonzero=[1536], ablation_tokens=[20_480],
            ablation_sparsities=[0.5, 0.75], recipe_widths=[[1536, 0.0], [3072, 0.5]], recipe_tokens=10_240,
            recipe_lrs=[0.003, 0.03], recipe_batch_sizes=[8, 16], long_lr_points=[[1536, 0.0]], long_lr_tokens=10_240)
CLAIMS = {"fair-data-initial", "fair-data-trained", "fair-size-equal-n", "fair-embedding",
          "fair-compute-dense", "fair-compute-sparse", "fair-lr-long"}


def test_defaults_are_the_book_grids():
    found = chapter_defaults(STEM)
    assert (found["n_nonzero"], found["tokens"], found["sparsities"]) == (
        grids.MAIN["n_nonzero"], grids.MAIN["tokens"], grids.MAIN["sparsity"])
    assert (found["seed_n_nonzero"], found["seed_tokens"], found["seed_sparsities"], found["seeds"]) == (
        grids.SEEDS["n_nonzero"], grids.SEEDS["tokens"], grids.SEEDS["sparsity"], grids.SEEDS["seed"])
    assert (found["ablation_n_nonzero"], found["ablation_tokens"], found["ablation_sparsities"]) == (
        grids.EMBED_ABLATION["n_nonzero"], grids.EMBED_ABLATION["tokens"], grids.EMBED_ABLATION["sparsity"])
    widths = [tuple(w) for w in found["recipe_widths"]]  # the chapter turns papermill's lists into tuples
    assert (widths, found["recipe_tokens"], found["recipe_lrs"], found["recipe_batch_sizes"]) == (
        grids.RECIPE["widths"], grids.RECIPE["tokens"], grids.RECIPE["lrs"], grids.RECIPE["batch_sizes"])
    assert grids.recipe_grid(widths=widths) == grids.recipe_grid()  # the same runs, so the book trains nothing
    assert found["base"] == {} and found["runs_dir"] is None and found["results_dir"] is None
    # the long-run learning-rate check: points of grids.LR_CHECK_V3 whose runs are all stored, so the book trains nothing
    points = [tuple(p) for p in found["long_lr_points"]]
    assert points and set(points) <= set(grids.LR_CHECK_V3["widths"]) and found["long_lr_tokens"] == grids.LR_CHECK_V3["tokens"]
    store, fingerprint = RunStore(), load_corpus(grids.CORPUS_V3).fingerprint
    configs = grids.lr_check_v3_grid(widths=points, tokens=found["long_lr_tokens"])
    assert len(configs) == len(points) * len(grids.LR_CHECK_V3["multiples"])
    assert all(store.has(run_id(c, fingerprint)) for c in configs)


@pytest.fixture(scope="module")
def chapter(tiny_runs, tmp_path_factory):
    return execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("chapter_01"))


def test_chapter_output_is_clean_and_every_glue_is_set(chapter):
    nb, _ = chapter
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o.get("text") for o in outputs if o.output_type == "stream"], "no prints, warnings or progress bars"
    names = glued(nb)
    used = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"\{glue:text\}`([\w-]+)`", c.source)}
    assert {"runtime_cached", "runtime_scratch"} <= used and used <= set(names), sorted(used - set(names))
    assert re.fullmatch(DURATION, names["runtime_cached"])
    assert re.fullmatch(DURATION, names["runtime_scratch"])  # kit.report.results.duration_text
    assert names["v3_size_verdict"] == "'–'"  # the tiny store holds no pilot: grid v3 is neither read nor claimed


def test_every_claim_has_a_verdict_and_a_section(chapter):
    nb, found = chapter
    assert set(found) == CLAIMS
    labels = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^\(([\w-]+)\)=$", c.source, re.M)}
    for claim in found.values():
        assert claim["verdict"] in claims.VERDICTS and claim["section"] in labels
        assert claim["paper"] == "Frantar et al. 2024"


def tiny_losses(tiny_runs) -> dict:
    """{(n_nonzero, sparsity, tokens): final loss} of the tiny main grid, and {tokens: pooled seed std},
    read from the store's records directly."""
    store, fingerprint = RunStore(tiny_runs), load_corpus().fingerprint
    base = RunConfig(**TINY_BASE)
    main = grids.main_grid(base, n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"], sparsity=TINY["sparsities"])
    loss = {(c.n_nonzero, c.sparsity, c.tokens): store.get(run_id(c, fingerprint))["metrics"]["final_loss"] for c in main}
    seeds = grids.seed_grid(base, n_nonzero=TINY["seed_n_nonzero"], tokens=TINY["seed_tokens"],
                            sparsity=TINY["seed_sparsities"], seed=TINY["seeds"])
    repeats = {}
    for c in seeds:
        repeats.setdefault((c.tokens, c.sparsity), []).append(store.get(run_id(c, fingerprint))["metrics"]["final_loss"])
    std = {d: np.sqrt(np.mean([np.var(v, ddof=1) for (t, _), v in repeats.items() if t == d])) for d in TINY["seed_tokens"]}
    return loss, std


def test_equal_n_gap_and_its_interval_recomputed_from_the_records(chapter, tiny_runs):
    _, found = chapter
    loss, std = tiny_losses(tiny_runs)
    sparse = [k for k in loss if k[1] > 0]
    gaps = [loss[(n, 0.0, d)] - loss[(n, s, d)] for n, s, d in sparse]
    numbers = found["fair-size-equal-n"]["numbers"]
    assert numbers["estimate"] == pytest.approx(np.mean(gaps), abs=1e-9)
    assert numbers["pairs"] == len(sparse) and numbers["lower"] == sum(g > 0 for g in gaps)
    # weights of the mean gap: each dense run serves every sparsity of its (N, D); each sparse run -1/k
    k, per_dense = len(sparse), len(TINY["sparsities"]) - 1
    var = sum((per_dense / k) ** 2 * std[d] ** 2 for n in TINY["n_nonzero"] for d in TINY["tokens"])
    var += sum((1 / k) ** 2 * std[d] ** 2 for _, _, d in sparse)
    dof = 2 * (len(TINY["seeds"]) - 1)  # two models per seed budget
    half = stats.t.ppf(0.975, dof) * np.sqrt(var)
    assert numbers["high"] - numbers["estimate"] == pytest.approx(half, rel=1e-6)
    # judged at each budget on its own: one verdict at every budget, else not resolved
    for d in TINY["tokens"]:  # each budget's mean gap is the mean over its own pairs
        at = [loss[(n, 0.0, t)] - loss[(n, s, t)] for n, s, t in sparse if t == d]
        assert numbers[f"estimate {fairness.short(d)}"] == pytest.approx(np.mean(at), abs=1e-9)
    per_budget = {claims.direction_verdict(numbers[f"estimate {fairness.short(d)}"], numbers[f"low {fairness.short(d)}"],
                                           numbers[f"high {fairness.short(d)}"], +1)[0] for d in TINY["tokens"]}
    verdict = per_budget.pop() if len(per_budget) == 1 else "not resolved"
    assert found["fair-size-equal-n"]["verdict"] == verdict and found["fair-size-equal-n"]["rule_after"]


def test_training_data_gap_pairs_the_same_width(chapter, tiny_runs):
    _, found = chapter
    loss, _ = tiny_losses(tiny_runs)
    # tiny widths: N = 1536 at S = 0.5 is d_model 12, the dense N = 3072's width; D/2 of 20480 is 10240
    numbers = found["fair-data-trained"]["numbers"]
    gaps = [loss[(3072, 0.0, d)] - loss[(1536, 0.5, d)] for d in TINY["tokens"]]
    assert numbers["pairs"] == 2 and numbers["estimate"] == pytest.approx(np.mean(gaps), abs=1e-9)
    initial = found["fair-data-initial"]["numbers"]
    assert initial["pairs"] == 1
    assert initial["estimate"] == pytest.approx(loss[(3072, 0.0, 10_240)] - loss[(1536, 0.5, 20_480)], abs=1e-9)


def test_equal_compute_wins_are_counted_consistently(chapter):
    _, found = chapter
    for key in ("fair-compute-dense", "fair-compute-sparse"):
        n = found[key]["numbers"]
        assert n["wins_pairs"] == n["pairs"] and n["wins_lower"] == n["lower"]
        assert n["wins_resolved_lower"] + n["wins_resolved_higher"] + n["wins_unresolved"] == n["wins_pairs"]
        assert n["wins_resolved_lower"] <= n["wins_lower"]
    # sparse counting charges a sparse run less, so its dense reference trains on fewer tokens: never fewer pairs
    assert found["fair-compute-sparse"]["numbers"]["pairs"] >= found["fair-compute-dense"]["numbers"]["pairs"] > 0


def test_long_run_learning_rate_claim_recomputed_from_the_records(chapter, tiny_runs):
    _, found = chapter
    store, fingerprint = RunStore(tiny_runs), load_corpus(grids.CORPUS_V3).fingerprint
    configs = grids.lr_check_v3_grid(RunConfig(**TINY_BASE), widths=[(1536, 0.0)], tokens=TINY["long_lr_tokens"])
    loss = {c.lr: store.get(run_id(c, fingerprint))["metrics"]["final_loss"] for c in configs}
    recipe = loss[configs[1].lr]  # multiples 0.5, 1, 2, 4: the second is the recipe's rate
    claim = found["fair-lr-long"]
    assert claim["numbers"]["worst"] == pytest.approx(recipe - min(loss.values()), abs=1e-9)
    assert claim["verdict"] == ("holds" if recipe - min(loss.values()) <= claim["numbers"]["margin"] else "does not hold")
    assert (claim["kind"], claim["rule_after"]) == ("implementation", True) and "pycode" in claim["scope"]


def test_every_claim_says_its_kind_and_scope(chapter):
    _, found = chapter
    assert all(c["kind"] in claims.KINDS and c["scope"] for c in found.values())
    assert {k for k, c in found.items() if c["kind"] == "question"} == {"fair-embedding", "fair-compute-dense",
                                                                        "fair-compute-sparse"}


@pytest.mark.parametrize("bad, message", [
    ({"seeds": [0]}, "seeds = [0]: need at least 2 seeds"),
    ({"long_lr_points": [[1536]]}, "long_lr_points = [[1536]]: need a list of [N, S] pairs"),
    ({"runs_dir": "/nonexistent/runs"}, "runs_dir = '/nonexistent/runs': no such folder"),
])
def test_bad_parameters_are_refused_before_training(tmp_path, bad, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", parameters={**TINY, **bad},
                                   cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    assert message in str(error.value)
