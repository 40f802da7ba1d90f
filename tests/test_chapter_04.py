"""Chapter 4 (n:m sparsity) executed with tiny parameters on the shared temporary run store: its
masks are exact, its numbers are the kit's on the same runs, every claim has a valid verdict, and
bad parameters stop it in its first cell; its defaults are kit.grids'."""

import re

import numpy as np
import pandas as pd
import papermill
import pytest
from conftest import CHAPTERS, TINY_BASE, TINY_GRID, assert_clean, chapter_defaults, execute_chapter, glued

from kit import claims, fitting, grids, laws, nm_sparsity
from kit.config import RunConfig
from kit.store import RunStore, law_frame
from kit.sweep import run_sweep

STEM = "04_nm_sparsity"
BASE = {**TINY_BASE, "width_multiple": 8}  # the m = 8 patterns need widths in multiples of 8
PATTERNS = [[2, 4], [4, 8], [1, 4], [2, 8]]
TINY = dict(base=BASE, n_nonzero=[1536, 6144], tokens=TINY_GRID["tokens"], sparsities=TINY_GRID["sparsities"],
            patterns=PATTERNS, n_starts=4, n_boot=20)
KEYS = {"nm-exact-masks", "nm-50-like-unstructured-2-4", "nm-50-like-unstructured-4-8", "nm-75-step-n-4",
        "nm-75-step-n-8"}


def test_defaults_are_the_grids():
    d = chapter_defaults(STEM)
    assert (d["n_nonzero"], d["tokens"], d["sparsities"]) == (grids.MAIN["n_nonzero"], grids.MAIN["tokens"],
                                                               grids.MAIN["sparsity"])
    assert [tuple(p) for p in d["patterns"]] == grids.NM_PATTERNS and d["base"] == {}
    assert d["runs_dir"] is None and d["results_dir"] is None
    config = RunConfig(**d["base"])  # so the chapter asks for exactly the sweep's runs
    assert grids.main_grid(config, n_nonzero=d["n_nonzero"], tokens=d["tokens"], sparsity=d["sparsities"]) == grids.main_grid()
    assert grids.nm_grid(config, n_nonzero=d["n_nonzero"], tokens=d["tokens"],
                         patterns=[tuple(p) for p in d["patterns"]]) == grids.nm_grid()


@pytest.fixture(scope="module")
def executed(tiny_runs, tmp_path_factory):
    nb, found = execute_chapter(STEM, {**TINY, "runs_dir": str(tiny_runs)}, tmp_path_factory.mktemp("ch4"))
    return nb, found, tiny_runs


def test_chapter_4_runs_clean_and_glues_what_it_says(executed):
    nb, _, _ = executed
    names = assert_clean(nb)
    assert re.fullmatch(r"'\d+ s'", names["runtime_cached"]) and re.fullmatch(r"'\d+ minutes'", names["runtime_scratch"])


def test_chapter_4_claims_and_numbers(executed):
    nb, found, runs_dir = executed
    assert set(found) == KEYS
    for claim in found.values():
        claims.Claim(**claim)  # a valid claim: verdict in claims.VERDICTS, a MyST label, numbers
        assert claim["section"] in {"ch4-exact-masks", "ch4-findings"}
    # Algorithm 1's masks are exact in every run the chapter read, as the records say
    store, base = RunStore(runs_dir), RunConfig(**BASE)
    nm_runs = law_frame(run_sweep(grids.nm_grid(base, n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"],
                                                patterns=[tuple(p) for p in PATTERNS]), store=store, progress=False))
    assert len(nm_runs) == 3 * len(PATTERNS) and (nm_runs.nm_violations == 0).all()
    exact = found["nm-exact-masks"]
    assert exact["verdict"] == "holds" and exact["numbers"]["violations"] == 0
    assert exact["numbers"]["runs"] == len(nm_runs) and exact["numbers"]["kernels"] == 8 * len(nm_runs)  # 2 blocks x 4
    # the gains are the kit's: the unstructured law and the n:4 law refitted here on the same runs
    main_runs = law_frame(run_sweep(grids.main_grid(base, n_nonzero=TINY["n_nonzero"], tokens=TINY["tokens"],
                                                    sparsity=TINY["sparsities"]), store=store, progress=False))
    unstructured = fitting.fit(laws.sparse_law, main_runs, main_runs.loss, laws.COEFF_NAMES, starts=TINY["n_starts"], seed=0,
                               log_loss=True, delta=1e-3)
    dense = main_runs[(main_runs.sparsity == 0) & ((main_runs.tokens == min(TINY["tokens"]))
                                                     | (main_runs.n_nonzero == min(TINY["n_nonzero"])))]
    group = pd.concat([dense, nm_runs[[m == 4 for _, m in nm_runs.nm]]], ignore_index=True)
    n4 = nm_sparsity.fit_sparsity_term(group, unstructured.params, starts=TINY["n_starts"], seed=0)
    numbers = found["nm-50-like-unstructured-2-4"]["numbers"]
    assert numbers["gain_unstructured"] == pytest.approx(nm_sparsity.gain(unstructured.params, 0.5), rel=1e-6)
    assert numbers["gain_pattern"] == pytest.approx(nm_sparsity.gain(n4.params, 0.5), rel=1e-6)
    assert numbers["estimate"] == pytest.approx(numbers["gain_pattern"] / numbers["gain_unstructured"] - 1, rel=1e-9)
    assert numbers["margin"] == 0.10 and found["nm-75-step-n-4"]["numbers"]["threshold"] == 0.5
    assert numbers["paper"] == pytest.approx(1.56 / 1.59 - 1)
    assert found["nm-75-step-n-8"]["numbers"]["paper"] == pytest.approx(np.log(1.81 / 1.67) / np.log(2.16 / 1.59))
    for key in KEYS - {"nm-exact-masks"}:
        n = found[key]["numbers"]
        if np.isfinite([n["estimate"], n["low"], n["high"]]).all():
            assert n["low"] <= n["high"]
        glue_name = f"verdict_{key.replace('-', '_')}"
        assert glued(nb)[glue_name] == repr(found[key]["verdict"])


@pytest.mark.parametrize("parameters, message", [
    ({"n_boot": 0}, "n_boot = 0: need a whole number >= 20"),
    ({"runs_dir": "/no/such/runs"}, "runs_dir = '/no/such/runs': no such folder"),
    ({"patterns": [[1, 8]]}, "1:8 ends at sparsity 0.875, which is not in sparsities = [0.0, 0.5, 0.75]"),
    ({"sparsities": [0.5, 0.75]}, "need 0.0, the dense runs that anchor the n:m fits"),
])
def test_bad_parameters_stop_the_chapter_in_its_first_cell(tmp_path, parameters, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(CHAPTERS / f"{STEM}.ipynb", tmp_path / "out.ipynb",
                                   parameters={"sparsities": TINY["sparsities"], **parameters}, cwd=CHAPTERS,
                                   kernel_name="python3", progress_bar=False)
    assert error.value.ename == "ValueError" and message in error.value.evalue
    assert "from kit import grids, params" in error.value.source  # the validation cell, before any work
