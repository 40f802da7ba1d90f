"""The chapters: each executes end to end with tiny parameters (papermill, kernel python3, working
directory book/chapters, as scripts/build_book.py runs them), is listed in the table of contents,
starts with a `parameters` cell, is stored without outputs, and takes the grids of kit.grids as its
default parameters. Chapters that train read and write a temporary run store, never runs/; the
tiny main grid is trained once per session and shared. Executing all chapters takes minutes."""

import ast
import re
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest
import yaml

from kit import grids
from kit.config import RunConfig
from kit.data import load_corpus
from kit.store import RunStore, run_id

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
NOTEBOOKS = {nb.stem: nb for nb in sorted(CHAPTERS.glob("*.ipynb"))}

# The main grid, tiny: 2 x 2 x 2 runs of 80 and 160 steps that still hold every pair of chapter 1.
TINY_GRID = dict(n_nonzero=[1536, 3072], tokens=[10_240, 20_480], sparsity=[0.0, 0.5])
TINY_BASE = {"seq_len": 16, "batch_size": 8, "eval_tokens": 1024, "width_multiple": 4}
# A chapter with parameters n_nonzero and tokens trains the main grid: its defaults must be
# kit.grids.MAIN's, and its tests run the tiny grid instead. Its sparsities parameter is
# `sparsities` unless named here.
MAIN_SPARSITIES = {"02_core_law": "grid_sparsities", "03_optimal_sparsity": "grid_sparsities"}
# Further tiny parameters per chapter; every chapter needs an entry.
TINY = {
    "01_fair_evaluation": {},
    "02_core_law": dict(n_boot=5, n_starts=2, seeds=[0, 1], extrapolation_n_nonzero=[4 * 3072]),
    "03_optimal_sparsity": dict(n_grid=20),
    # m = 8 needs width_multiple 8, and the n:m fits need unstructured 0.75 runs.
    "04_nm_sparsity": dict(base={"seq_len": 16, "batch_size": 8, "eval_tokens": 1024}, n_nonzero=[1536, 6144],
                           tokens=[10_240, 20_480], sparsities=[0.0, 0.5, 0.75], n_starts=2, n_boot=5),
    "05_pruning_pretrained": dict(sparsities=[0.0, 0.5, 0.75], n_dense=[1536], pretrain_tokens=40_960,
                                  prune_sparsities=[0.5, 0.75], n_starts=2),
    "06_average_parameters": dict(schedule_n_nonzero=1536, schedule_tokens=[10_240], schedule_sparsities=[0.5],
                                  starts=[0.0, 0.25], ends=[0.75, 1.0], kinds=["cubic", "geometric"],
                                  matched_n_nonzero=1536, matched_tokens=10_240, matched_sparsities=[0.5],
                                  seed_n_nonzero=[1536], seed_tokens=[10_240], seed_sparsities=[0.0], seeds=[0, 1],
                                  n_boot=50, n_starts=2),
}
# Defaults from other grids of kit.grids, per chapter: (grid, {parameter name: the grid's key}).
OTHER_GRIDS = {
    "02_core_law": [(grids.SEEDS, {"seeds": "seed"}), (grids.EXTRAPOLATION, {"extrapolation_n_nonzero": "n_nonzero"})],
    "04_nm_sparsity": [({"patterns": [list(p) for p in grids.NM_PATTERNS]}, {"patterns": "patterns"})],
    "05_pruning_pretrained": [(grids.PRETRAINED, {"n_dense": "n_dense", "pretrain_tokens": "pretrain_tokens",
                                                  "prune_sparsities": "sparsities", "prune_fraction": "prune_fraction"})],
    "06_average_parameters": [
        (grids.SCHEDULE_SWEEP, {"schedule_n_nonzero": "n_nonzero", "schedule_tokens": "tokens",
                                "schedule_sparsities": "sparsities", "starts": "starts", "ends": "ends", "kinds": "kinds"}),
        (grids.MATCHED, {"matched_n_nonzero": "n_nonzero", "matched_tokens": "tokens", "matched_sparsities": "sparsities"}),
        (grids.SEEDS, {"seed_n_nonzero": "n_nonzero", "seed_tokens": "tokens", "seed_sparsities": "sparsity", "seeds": "seed"}),
    ],
}
CHECKED = {"01_fair_evaluation", "02_core_law", "03_optimal_sparsity"}  # executed by their own tests below


def read(stem) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS[stem], as_version=4)


def parameters_cell(nb) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code")


def defaults(nb) -> dict:
    """The literal values assigned in the notebook's parameters cell."""
    tree = ast.parse(parameters_cell(nb).source)
    return {stmt.targets[0].id: ast.literal_eval(stmt.value) for stmt in tree.body
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)}


def main_axes(stem, found) -> dict:
    """{parameter name: MAIN's key} if the chapter trains the main grid, else {}."""
    if not {"n_nonzero", "tokens"} <= set(found):
        return {}
    return {"n_nonzero": "n_nonzero", "tokens": "tokens", MAIN_SPARSITIES.get(stem, "sparsities"): "sparsity"}


def stdout(nb) -> str:
    return "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    """One temporary run store for every chapter of the session."""
    return tmp_path_factory.mktemp("runs")


def execute(stem, tmp_path, runs_dir) -> nbformat.NotebookNode:
    """Run the chapter with its tiny parameters (the tiny main grid, runs in runs_dir); no error outputs."""
    found = defaults(read(stem))
    parameters = {name: TINY_GRID[key] for name, key in main_axes(stem, found).items()}
    parameters |= {"base": TINY_BASE} if parameters else {}
    parameters |= {"runs_dir": str(runs_dir)} if "runs_dir" in found else {}
    out = tmp_path / f"{stem}.ipynb"
    papermill.execute_notebook(NOTEBOOKS[stem], out, parameters=parameters | TINY[stem], cwd=CHAPTERS,
                               kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    return nb


def test_every_chapter_has_tiny_parameters_and_a_toc_entry():
    assert NOTEBOOKS, f"no chapters in {CHAPTERS}"
    assert set(NOTEBOOKS) == set(TINY), "add tiny parameters to TINY for every chapter"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [entry["file"] for entry in toc["chapters"]]
    assert sorted(listed) == [f"book/_executed/{stem}" for stem in NOTEBOOKS]


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_chapter_is_stored_clean_with_parameters_first(stem):
    nb = read(stem)
    assert "parameters" in parameters_cell(nb).metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    assert set(TINY.get(stem, {})) <= set(defaults(nb)), "tiny parameters must be parameters of the chapter"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit chapters without outputs"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_default_grid_parameters_equal_kit_grids(stem):
    found = defaults(read(stem))
    for grid, axes in [(grids.MAIN, main_axes(stem, found))] + OTHER_GRIDS.get(stem, []):
        missing = sorted(set(axes) - set(found))
        assert not missing, f"parameters {missing} not in the parameters cell"
        assert {name: found[name] for name in axes} == {name: grid[key] for name, key in axes.items()}


def test_chapter_1_trains_the_main_grid():
    assert main_axes("01_fair_evaluation", defaults(read("01_fair_evaluation")))


def test_chapter_01_fair_evaluation(tmp_path, runs_dir):
    nb = execute("01_fair_evaluation", tmp_path, runs_dir)
    fingerprint = load_corpus(None).fingerprint
    store = RunStore(runs_dir)
    configs = grids.main_grid(RunConfig(**TINY_BASE), **TINY_GRID)
    records = [store.get(run_id(c, fingerprint)) for c in configs]
    assert all(r["status"] == "ok" for r in records)
    loss = {(c.n_nonzero, c.sparsity, c.tokens): r["metrics"]["final_loss"] for c, r in zip(configs, records)}
    text = stdout(nb)
    assert f"8 of 8 runs finished, read from {runs_dir}" in text
    verdicts = lambda line: re.findall(r"in (\d+) of (\d+) pairs \(gap ([+-]\d\.\d{3})", line)
    # Training data: the one sparse run with D > min D and a dense run of its width (N = 3072).
    unfair = loss[3072, 0.0, 10_240] - loss[1536, 0.5, 20_480]
    fair = loss[3072, 0.0, 20_480] - loss[1536, 0.5, 20_480]
    assert verdicts(re.search(r"Training data: .*", text).group(0)) == [
        (str(int(unfair > 0)), "1", f"{unfair:+.3f}"), (str(int(fair > 0)), "1", f"{fair:+.3f}")]
    # Model size, fair: every sparse run against the dense run of its target N and tokens.
    gaps = [loss[n, 0.0, d] - loss[n, 0.5, d] for n in (1536, 3072) for d in (10_240, 20_480)]
    wins, n, mean = verdicts(re.search(r"Model size: .*", text).group(0))[1]
    assert (int(wins), int(n), float(mean)) == (sum(g > 0 for g in gaps), 4, pytest.approx(np.mean(gaps), abs=6e-4))
    assert "Compute, counted densely: " in text and "Compute, counted sparsely: " in text


def test_chapter_02_core_law(tmp_path, runs_dir):
    text = stdout(execute("02_core_law", tmp_path, runs_dir))
    assert re.search(r"T5/C4: objective [\d.e-]+ \(Table 7's coefficients", text)


def test_chapter_03_optimal_sparsity(tmp_path, runs_dir):
    text = stdout(execute("03_optimal_sparsity", tmp_path, runs_dir))
    assert "computed gains rounded to 2 decimals equal Table 2 at 6 of 6 printed entries" in text


@pytest.mark.parametrize("stem", sorted(set(NOTEBOOKS) - CHECKED))
def test_other_chapter_executes(stem, tmp_path, runs_dir):
    if stem not in TINY:
        pytest.skip(f"no tiny parameters for {stem} in TINY")
    assert stdout(execute(stem, tmp_path, runs_dir))


# The chapter contract (.notes/conventions.md), checked on the stored chapters.
REWRITE = pytest.mark.xfail(strict=False, reason="chapters being rewritten to the contract")
# Other names for what the contract names runs_dir, corpus, n_nonzero, tokens, sparsities, seeds,
# n_boot, n_starts, results_dir: the same thing has the same name in every chapter.
ALIASES = {"grid_sparsities": "sparsities", "sparsity_grid": "sparsities", "run_dir": "runs_dir", "runs": "runs_dir",
           "store": "runs_dir", "store_dir": "runs_dir", "corpus_path": "corpus", "n_bootstrap": "n_boot",
           "n_resamples": "n_boot", "boot": "n_boot", "bootstrap": "n_boot", "starts_per_fit": "n_starts",
           "n_start": "n_starts", "seed_list": "seeds", "token_budgets": "tokens", "budgets": "tokens",
           "sizes": "n_nonzero", "n_nonzeros": "n_nonzero", "results": "results_dir", "results_path": "results_dir"}
SHOWN_OR_HIDDEN = {"hide-input", "show-input"}


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@REWRITE
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_chapter_opens_with_title_and_rerun_box(stem):
    first = read(stem).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell: the chapter's title"
    assert re.search(r"^(```|:::)\{admonition\} Rerun this chapter$", first.source, re.M), "no 'Rerun this chapter' box"
    assert "{glue:text}`runtime_cached" in first.source, "the runtime from runs/ is measured and glued, never typed"


@REWRITE
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_parameters_cell_is_tagged_and_collapsed(stem):
    tags = set(parameters_cell(read(stem)).metadata.get("tags", []))
    assert {"parameters", "hide-input"} <= tags, f"first code cell has tags {sorted(tags)}"


@REWRITE
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_next_cell_validates_every_parameter_with_kit_params(stem):
    nb = read(stem)
    source = code_cells(nb)[1].source
    assert re.search(r"^from kit import .*\bparams\b|^import kit\.params", source, re.M), "import kit.params"
    unchecked = [name for name in defaults(nb) if not re.search(rf"params\.\w+\(\s*['\"]{name}['\"]", source)]
    assert not unchecked, f"parameters not validated with kit.params in the cell after the parameters: {unchecked}"


@REWRITE
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_every_code_cell_is_collapsed_or_shown_on_purpose(stem):
    untagged = [c.source.splitlines()[0] if c.source else "" for c in code_cells(read(stem))
                if not SHOWN_OR_HIDDEN & set(c.metadata.get("tags", []))]
    assert not untagged, f"code cells tagged neither hide-input nor show-input, starting: {untagged}"


@REWRITE
@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_parameters_have_the_common_names(stem):
    found = defaults(read(stem))
    renamed = {name: ALIASES[name] for name in found if name in ALIASES}
    assert not renamed, f"use the common names: {renamed}"
    assert found.get("results_dir", "missing") is None, "results_dir = None (write no results file) by default"
    if {"n_nonzero", "tokens"} & set(found):  # a chapter that trains
        missing = sorted({"runs_dir", "corpus", "n_nonzero", "tokens", "sparsities"} - set(found))
        assert not missing, f"a chapter that trains has parameters {missing}"
        assert found["runs_dir"] is None, "runs_dir = None (the repository's runs/) by default"
