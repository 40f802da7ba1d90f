"""Chapter 5 (pruning pretrained models) executed with tiny parameters on the shared temporary run
store: its data-efficiency ratios are the kit's on the same runs, every claim has a valid verdict,
and bad parameters stop it in its first cell; its defaults are kit.engine.grids'."""

import re

import numpy as np
import papermill
import pytest
from conftest import CHAPTERS, DURATION, TINY_BASE, TINY_GRID, assert_clean, chapter_defaults, execute_chapter, glued

from kit.report import claims
from kit.engine import data, grids
from kit.fit import fitting
from kit import laws
from kit.chapters import pretrained
from kit.engine.config import RunConfig
from kit.engine.store import RunStore, law_frame
from kit.engine.sweep import run_sweep

STEM = "05_pruning_pretrained"
PRUNE = [0.5, 0.75, 0.875]
TINY = dict(base=TINY_BASE, n_nonzero=TINY_GRID["n_nonzero"], tokens=TINY_GRID["tokens"],
            sparsities=TINY_GRID["sparsities"], n_dense=[1536, 3072], pretrain_tokens=40_960,
            prune_sparsities=PRUNE, n_starts=4, n_boot=20)
KEYS = {"pretrained-exc-50-75", "pretrained-exc-875", "pretrained-inc"}


def test_defaults_are_the_grids():
    d = chapter_defaults(STEM)
    assert (d["n_nonzero"], d["tokens"], d["sparsities"]) == (grids.MAIN["n_nonzero"], grids.MAIN["tokens"],
                                                               grids.MAIN["sparsity"])
    assert (d["n_dense"], d["pretrain_tokens"], d["prune_sparsities"], d["prune_fraction"]) == tuple(
        grids.PRETRAINED[k] for k in ("n_dense", "pretrain_tokens", "sparsities", "prune_fraction"))
    assert d["base"] == {} and d["runs_dir"] is None and d["results_dir"] is None
    config = RunConfig(**d["base"])  # so the chapter asks for exactly the sweep's runs
    assert grids.main_grid(config, n_nonzero=d["n_nonzero"], tokens=d["tokens"], sparsity=d["sparsities"]) == grids.main_grid()
    assert grids.pretrain_grid(config, n_dense=d["n_dense"], pretrain_tokens=d["pretrain_tokens"]) == grids.pretrain_grid()


@pytest.fixture(scope="module")
def executed(tiny_runs, tmp_path_factory):
    nb, found = execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("ch5"))
    return nb, found, tiny_runs


def test_chapter_5_runs_clean_and_glues_what_it_says(executed):
    nb, _, _ = executed
    names = assert_clean(nb)
    assert re.fullmatch(DURATION, names["runtime_cached"]) and re.fullmatch(DURATION, names["runtime_scratch"])
    assert names["contiguous"] == "'every'"  # no token read twice across pretraining and pruning
    assert names["removed_changes"] == "'cannot be judged'"  # the tiny store holds no embedding ablation
    figures = [c for c in nb.cells if c.cell_type == "code" and any(k.startswith("image/") for o in c.outputs
                                                                     for k in o.get("data", {}))]
    assert [c.metadata["mystnb"]["figure"]["name"] for c in figures] == ["fig-ch5-equivalence"]
    assert len(figures[0].outputs) == 1, "a figure is the single output of its cell"


def test_chapter_5_ratios_are_recomputed_from_the_runs(executed):
    nb, found, runs_dir = executed
    assert set(found) == KEYS
    for claim in found.values():
        claims.Claim(**claim)  # a valid claim: verdict in claims.VERDICTS, a MyST label, numbers
        assert claim["section"] == "ch5-claims"
        assert claim["kind"] == "own runs" and claim["scope"] and claim["rule_after"] is True
        assert claim["rule"] == glued(nb)[f"rule_{claim['key'].replace('-', '_')}"].strip("'")  # the prose shows the rule
    # the runs the chapter read, the law refitted the chapter's way, Table 4 recomputed
    store, base, corpus = RunStore(runs_dir), RunConfig(**TINY_BASE), data.load_corpus()
    read = lambda configs: law_frame(run_sweep(configs, store=store, corpus=corpus, progress=False))
    main = read(grids.main_grid(base, n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"], sparsity=TINY["sparsities"]))
    parents = grids.pretrain_grid(base, n_dense=TINY["n_dense"], pretrain_tokens=TINY["pretrain_tokens"])
    dense = read(parents)
    pruned = pretrained.with_parents(read(grids.sparsify_grid({store.run_id(c, corpus.fingerprint): c for c in parents},
                                                              sparsities=PRUNE)), dense)
    assert len(pruned) == len(TINY["n_dense"]) * len(PRUNE) and pruned.contiguous.all()
    main_configs = grids.main_grid(base, n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"], sparsity=TINY["sparsities"])
    _, _, read_pruned = pretrained.read_runs(store, corpus, main_configs, parents, grids.sparsify_grid(
        {store.run_id(c, corpus.fingerprint): c for c in parents}, sparsities=PRUNE))
    assert sorted(read_pruned.id) == sorted(pruned.id) and read_pruned.N_dense.is_monotonic_increasing
    assert (pruned.D / pruned.D_pretrain).between(0.05, 0.06).all()  # 5.6% of the pretraining, in whole steps
    law = fitting.fit(laws.sparse_law, main, main.loss, laws.COEFF_NAMES, starts=TINY["n_starts"], seed=0,
                      log_loss=True, delta=1e-3)
    table = pretrained.efficiency(pruned, law.params)
    # exc. by hand: Eq. 1 solved for D at each pruned model's loss, over its pruning tokens
    reachable = np.isfinite(table.D_scratch).to_numpy()
    by_hand = laws.data_for_loss(pruned.loss[reachable], pruned.S[reachable], pruned.N[reachable], law.params)
    np.testing.assert_allclose(table.exc[reachable], by_hand / pruned.D[reachable], rtol=1e-9)
    geo = {s: pretrained.geometric_mean(table.exc[np.isclose(table.sparsity, s)]) for s in PRUNE}
    assert glued(nb)["law_exc_50"] == repr(f"{geo[0.5]:.3g}")
    # the claims rest on the runs: each pruned model's D_scratch read off its from-scratch twins
    measured = pretrained.scratch_data_from_runs(pruned, main)
    exc = {s: measured.exc[np.isclose(measured.sparsity, s)].dropna() for s in PRUNE}
    for key, sparsities, bound in (("pretrained-exc-50-75", (0.5, 0.75), 4.0), ("pretrained-exc-875", (0.875,), 2.0)):
        n = found[key]["numbers"]
        assert n["bound"] == bound and n["models"] == sum(len(exc[s]) for s in sparsities)
        if all(len(exc[s]) for s in sparsities):
            smaller = min(pretrained.geometric_mean_interval(exc[s])[0] for s in sparsities)
            assert n["estimate"] == pytest.approx(smaller, rel=1e-9)
        else:
            assert "estimate" not in n and found[key]["verdict"] == "not resolved"
    if len(exc[0.5]):
        assert glued(nb)["exc_50"] == repr(f"{pretrained.geometric_mean_interval(exc[0.5])[0]:.3g}")
    inverse = [1 / pretrained.geometric_mean_interval(measured.inc[np.isclose(measured.sparsity, s)].dropna())[0]
               for s in PRUNE if len(exc[s])]
    if inverse:
        assert found["pretrained-inc"]["numbers"]["estimate"] == pytest.approx(min(inverse), rel=1e-9)
    else:  # no pruned model's loss lies within its twins' range: nothing measured
        assert "estimate" not in found["pretrained-inc"]["numbers"] and found["pretrained-inc"]["verdict"] == "not resolved"
    for key in KEYS:
        n = found[key]["numbers"]
        if "low" in n:
            assert n["low"] <= n["estimate"] <= n["high"]
        else:
            assert found[key]["verdict"] == "not resolved"
        assert glued(nb)[f"verdict_{key.replace('-', '_')}"] == repr(found[key]["verdict"])


@pytest.mark.parametrize("parameters, message", [
    ({"n_boot": 0}, "n_boot = 0: need a whole number >= 20"),
    ({"runs_dir": "/no/such/runs"}, "runs_dir = '/no/such/runs': no such folder"),
    ({"prune_sparsities": [0.0, 0.5]}, "prune_sparsities = [0.0, 0.5]: every entry must be > 0"),
    ({"prune_fraction": 1.5}, "prune_fraction = 1.5: need a fraction in [0, 1]"),
])
def test_bad_parameters_stop_the_chapter_in_its_first_cell(tmp_path, parameters, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb", parameters=parameters, cwd=CHAPTERS,
                                   kernel_name="python3", progress_bar=False)
    assert error.value.ename == "ValueError" and message in error.value.evalue
    assert "from kit.report import params" in error.value.source  # the validation cell, before any work
