"""Chapter 6 (the average parameter count, Jin et al.) executed with tiny parameters as
scripts/build_book.py executes it, on the tiny run store of tests/conftest.py: a tiny schedule
sweep, tiny matched pairs and tiny seed repeats beside the tiny main grid. Its claims are read back
from the results file and recomputed from the store; its defaults are kit.engine.grids' grids."""

import re

import numpy as np
import papermill
import pytest
from conftest import CHAPTERS, DURATION, TINY_BASE, TINY_GRID, chapter_defaults, execute_chapter, glued

from kit.report import claims
from kit.engine import data, grids
from kit.fit import noise
from kit.engine.config import RunConfig
from kit.engine.store import CONFIG_FIELDS, RunStore, law_frame

STEM = "06_average_parameters"
TINY = dict(base=TINY_BASE, n_nonzero=TINY_GRID["n_nonzero"], tokens=TINY_GRID["tokens"],
            sparsities=TINY_GRID["sparsities"], seed_n_nonzero=TINY_GRID["n_nonzero"][:1],
            seed_tokens=TINY_GRID["tokens"], seed_sparsities=[0.0, 0.75], seeds=[0, 1],
            schedule_n_nonzero=TINY_GRID["n_nonzero"][0], schedule_tokens=TINY_GRID["tokens"][:1],
            schedule_sparsities=[0.5], starts=[0.0, 0.25], ends=[0.75, 1.0], kinds=["geometric"],
            matched_n_nonzero=768, matched_tokens=TINY_GRID["tokens"][-1], matched_sparsities=[0.5, 0.75],
            matched_seeds=[0, 1], n_boot=50, n_starts=2)
KEYS = {"jin-window-25-75", "jin-avg-law-in-sample", "jin-avg-law-held-out-schedule", "jin-avg-law-held-out-size",
        "jin-matched-s0.5", "jin-matched-s0.75"}


def test_defaults_are_the_grids_of_kit_grids():
    d = chapter_defaults(STEM)
    assert (d["n_nonzero"], d["tokens"], d["sparsities"]) == (grids.MAIN["n_nonzero"], grids.MAIN["tokens"],
                                                              grids.MAIN["sparsity"])
    assert (d["seed_n_nonzero"], d["seed_tokens"], d["seed_sparsities"], d["seeds"]) == (
        grids.SEEDS["n_nonzero"], grids.SEEDS["tokens"], grids.SEEDS["sparsity"], grids.SEEDS["seed"])
    sweep = grids.SCHEDULE_SWEEP
    assert (d["schedule_n_nonzero"], d["schedule_tokens"], d["schedule_sparsities"], d["starts"], d["ends"],
            d["kinds"]) == (sweep["n_nonzero"], sweep["tokens"], sweep["sparsities"], sweep["starts"], sweep["ends"],
                            sweep["kinds"])
    matched = grids.MATCHED
    assert (d["matched_n_nonzero"], d["matched_tokens"], d["matched_sparsities"], d["matched_seeds"]) == (
        matched["n_nonzero"], matched["tokens"], matched["sparsities"], matched["seeds"])
    base = RunConfig(**d["base"])  # the chapter's calls at its defaults give the grids' configs (same run ids)
    assert grids.main_grid(base, n_nonzero=d["n_nonzero"], tokens=d["tokens"], sparsity=d["sparsities"]) == grids.main_grid()
    assert grids.seed_grid(base, n_nonzero=d["seed_n_nonzero"], tokens=d["seed_tokens"], sparsity=d["seed_sparsities"],
                           seed=d["seeds"]) == grids.seed_grid()
    assert grids.schedule_grid(base, d["schedule_n_nonzero"], d["schedule_tokens"], d["schedule_sparsities"],
                               d["starts"], d["ends"], d["kinds"]) == grids.schedule_grid()
    assert grids.matched_grid(base, d["matched_n_nonzero"], d["matched_tokens"], d["matched_sparsities"],
                              d["matched_seeds"]) == grids.matched_grid()
    assert d["runs_dir"] is None and d["results_dir"] is None and d["corpus"] is None
    assert len(grids.schedule_grid()) == 2 * 2 * 2 * 24  # budgets x sparsities x kinds x windows (start < end)


@pytest.fixture(scope="module")
def executed(tiny_runs, tmp_path_factory):
    return execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("ch6"))


@pytest.fixture(scope="module")
def store_runs(executed, tiny_runs):
    """The tiny store's runs of this chapter's groups, read back as the chapter reads them."""
    store, fingerprint = RunStore(tiny_runs), data.load_corpus(None).fingerprint
    base = RunConfig(**TINY_BASE)

    def frame(configs):
        return law_frame(store.frame().set_index("id").loc[[store.run_id(c, fingerprint) for c in configs]].reset_index())

    pairs = grids.matched_grid(base, TINY["matched_n_nonzero"], TINY["matched_tokens"], TINY["matched_sparsities"],
                               TINY["matched_seeds"])
    return {"schedule": frame(grids.schedule_grid(base, TINY["schedule_n_nonzero"], TINY["schedule_tokens"],
                                                  TINY["schedule_sparsities"], TINY["starts"], TINY["ends"],
                                                  TINY["kinds"])),
            "seeds": frame(grids.seed_grid(base, n_nonzero=TINY["seed_n_nonzero"], tokens=TINY["seed_tokens"],
                                           sparsity=TINY["seed_sparsities"], seed=TINY["seeds"])),
            "sparse": {s: frame([p[0] for p in pairs if p[0].sparsity == s]) for s in TINY["matched_sparsities"]},
            "dense": {s: frame([p[1] for p in pairs if p[0].sparsity == s]) for s in TINY["matched_sparsities"]}}


def test_every_claim_is_written_with_a_verdict_and_its_rule(executed):
    nb, found = executed
    assert set(found) == KEYS
    for key, claim in found.items():
        assert claim["paper"] == "Jin et al. 2025" and claim["verdict"] in claims.VERDICTS, key
        assert claim["rule"].startswith("Holds if") and claim["reason"], key
        assert claim["section"] in {"ch6-schedule-sweep", "ch6-one-law", "ch6-matched"}, key
        assert claim["kind"] in claims.KINDS and claim["scope"] and claim["rule_after"] is False, key
        n = claim["numbers"]
        low, high = n["low"], n["high"]
        assert low <= n.get("difference", n.get("gap")) <= high, key
    # the held-out tests are the book's own questions; in sample, the paper's MAE of law (c) against ours
    assert {found[k]["kind"] for k in ("jin-avg-law-held-out-schedule", "jin-avg-law-held-out-size")} == {"question"}
    in_sample = found["jin-avg-law-in-sample"]
    assert in_sample["paper_value"].startswith("MAE of law (c) 0.016 nats") and in_sample["our_runs"].startswith("MAE of law (c)")
    sections = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^\((ch6-[\w-]+)\)=$", c.source, re.M)}
    assert {c["section"] for c in found.values()} <= sections


def test_prose_numbers_are_glued_and_nothing_is_printed(executed):
    nb, _ = executed
    names = glued(nb)
    used = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"\{glue:text\}`([\w-]+)`", c.source)}
    assert used <= set(names), sorted(used - set(names))
    assert re.fullmatch(DURATION, names["runtime_cached"])
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "stream"], "no prints, warnings or progress bars"
    assert not [o for o in outputs if "text/html" in o.get("data", {})], "tables as markdown, not raw DataFrames"
    figures = [c for c in nb.cells if c.cell_type == "code" and any(k.startswith("image/") for o in c.outputs
                                                                     for k in o.get("data", {}))]
    assert len(figures) == 4 and all(c.metadata["mystnb"]["figure"]["name"].startswith("fig-ch6-") for c in figures)
    assert all(len(c.outputs) == 1 for c in figures), "a figure is the single output of its cell"
    assert "runs end pruning with less than 5% of their steps left" in names["flagged_sentence"]


def test_window_claim_is_the_mean_gap_of_the_store(executed, store_runs):
    _, found = executed
    sched = store_runs["schedule"]
    gaps = []
    for _, panel in sched.groupby(["tokens", "sparsity", "schedule"]):
        at = panel[(panel.prune_start == 0.25) & (panel.prune_end == 0.75)].loss.iloc[0]
        gaps.append(at - panel.loss.min())
    n = found["jin-window-25-75"]["numbers"]
    assert n["gap"] == pytest.approx(np.mean(gaps), abs=1e-12) and n["gap"] >= 0
    # the interval: two single runs per panel, the seed noise at the panel's budget
    table = noise.seed_noise(store_runs["seeds"], ["n_nonzero", "sparsity"], by="tokens")
    sigma, dof = noise.noise_at(table, TINY["schedule_tokens"][0])
    assert (n["high"] - n["low"]) / 2 == pytest.approx(
        noise.t_interval(0, np.sqrt(2) * sigma / np.sqrt(len(gaps)), dof)[2], rel=1e-9)
    verdict, _ = claims.equivalence_verdict(n["gap"], n["low"], n["high"], n["margin"])
    assert found["jin-window-25-75"]["verdict"] == verdict and n["margin"] == 0.03


def test_matched_claims_are_the_differences_of_the_stores_seed_means(executed, store_runs):
    _, found = executed
    seeds = store_runs["seeds"]
    pool = [seeds[seeds.tokens == TINY["matched_tokens"]], *store_runs["sparse"].values(), *store_runs["dense"].values()]
    spread = [(np.var(g.loss, ddof=1), len(g) - 1) for frame in pool for _, g in frame.groupby(noise.config_key(frame, CONFIG_FIELDS))
              if len(g) > 1]
    sigma = np.sqrt(sum(v * k for v, k in spread) / sum(k for _, k in spread))
    for s in TINY["matched_sparsities"]:
        n = found[f"jin-matched-s{s:g}"]["numbers"]
        sparse, dense = store_runs["sparse"][s], store_runs["dense"][s]
        assert len(sparse) == len(dense) == len(TINY["matched_seeds"])
        assert n["difference"] == pytest.approx(sparse.loss.mean() - dense.loss.mean(), abs=1e-12)
        assert n["n_avg_sparse"] == pytest.approx(sparse.N_avg.mean()) and n["n_avg_dense"] == pytest.approx(dense.N_avg.mean())
        assert n["sigma"] == pytest.approx(sigma, rel=1e-9) and n["dof"] == sum(k for _, k in spread)
        half = noise.t_interval(0, sigma * np.sqrt(2 / len(sparse)), n["dof"])[2]
        assert (n["high"] - n["low"]) / 2 == pytest.approx(half, rel=1e-9)
        verdict, reason = claims.equivalence_verdict(n["difference"], n["low"], n["high"], 0.03)
        assert found[f"jin-matched-s{s:g}"]["verdict"] == verdict
        assert f"{n['difference']:+.4f}" in found[f"jin-matched-s{s:g}"]["reason"]  # sign and size reported


def test_law_claims_compare_the_n_avg_law_with_the_final_n_law(executed):
    nb, found = executed
    for key in ("jin-avg-law-in-sample", "jin-avg-law-held-out-schedule", "jin-avg-law-held-out-size"):
        n = found[key]["numbers"]
        assert n["difference"] == pytest.approx(n["mae_c"] - n["mae_a"], abs=1e-12)
        assert min(n["mae_a"], n["mae_b"], n["mae_c"]) > 0
        expected = "holds" if n["high"] < 0 else "does not hold" if n["low"] > 0 else "not resolved"
        assert found[key]["verdict"] == expected, key
    # each configuration counts once: the seed repeats and matched seeds are averaged into points
    points = found["jin-avg-law-in-sample"]["numbers"]["points"]
    main = len(TINY_GRID["n_nonzero"]) * len(TINY_GRID["tokens"]) * len(TINY_GRID["sparsities"])
    sweep = len(TINY["schedule_tokens"]) * len(TINY["schedule_sparsities"]) * len(TINY["kinds"]) * 4
    assert points == main + sweep + 2 * len(TINY["matched_sparsities"])


def test_a_sweep_without_the_papers_window_is_refused_before_training(tmp_path, tiny_runs):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb",
                                   parameters={**TINY, "runs_dir": str(tiny_runs), "starts": [0.0, 0.5]},
                                   cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    assert "the sweep must hold Jin et al.'s window, start 0.25 and end 0.75" in str(error.value)
