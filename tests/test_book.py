"""The chapters as stored: each is listed in the table of contents, has its own test file
(tests/test_chapter_NN.py executes it with tiny parameters and asserts on its numbers), starts
with a `parameters` cell, is stored without outputs, and follows the chapter contract."""

import ast
import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
NOTEBOOKS = {nb.stem: nb for nb in sorted(CHAPTERS.glob("*.ipynb"))}


def read(stem) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS[stem], as_version=4)


def parameters_cell(nb) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code")


def defaults(nb) -> dict:
    """The literal values assigned in the notebook's parameters cell."""
    tree = ast.parse(parameters_cell(nb).source)
    return {stmt.targets[0].id: ast.literal_eval(stmt.value) for stmt in tree.body
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)}


def test_every_chapter_has_its_test_and_a_toc_entry():
    assert NOTEBOOKS, f"no chapters in {CHAPTERS}"
    for stem in NOTEBOOKS:
        number = stem.split("_")[0]
        assert (ROOT / "tests" / f"test_chapter_{number}.py").is_file(), f"tests/test_chapter_{number}.py runs {stem}"
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    assert sorted(f for f in listed if f.startswith("book/_executed/")) == [f"book/_executed/{stem}" for stem in NOTEBOOKS]


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_chapter_is_stored_clean_with_parameters_first(stem):
    nb = read(stem)
    assert "parameters" in parameters_cell(nb).metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit chapters without outputs"


# The chapter contract, checked on the stored chapters.
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


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_chapter_opens_with_title_and_rerun_box(stem):
    first = read(stem).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), "first cell: the chapter's title"
    assert re.search(r"^(```|:::)\{admonition\} Rerun this chapter$", first.source, re.M), "no 'Rerun this chapter' box"
    assert "{glue:text}`runtime_cached" in first.source, "the runtime from runs/ is measured and glued, never typed"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_parameters_cell_is_tagged_and_collapsed(stem):
    tags = set(parameters_cell(read(stem)).metadata.get("tags", []))
    assert {"parameters", "hide-input"} <= tags, f"first code cell has tags {sorted(tags)}"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_next_cell_validates_every_parameter_with_kit_params(stem):
    nb = read(stem)
    source = code_cells(nb)[1].source
    assert re.search(r"^from kit\.report import .*\bparams\b", source, re.M), "import kit.report.params"
    unchecked = [name for name in defaults(nb) if not re.search(rf"params\.\w+\(\s*['\"]{name}['\"]", source)]
    assert not unchecked, f"parameters not validated with kit.report.params in the cell after the parameters: {unchecked}"


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_every_code_cell_is_collapsed_or_shown_on_purpose(stem):
    untagged = [c.source.splitlines()[0] if c.source else "" for c in code_cells(read(stem))
                if not SHOWN_OR_HIDDEN & set(c.metadata.get("tags", []))]
    assert not untagged, f"code cells tagged neither hide-input nor show-input, starting: {untagged}"


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


FIGURE_CALLS = re.compile(r"\bplt\.show\(|\bplt\.subplots\(|\bplots\.panel_grid\(")


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_every_figure_is_numbered_and_captioned(stem):
    """A cell that draws a figure carries myst-nb's figure options: a name (fig-...) to refer to it
    by, and a caption that says what to see (a sentence or more), so the book numbers it."""
    for cell in read(stem).cells:
        if cell.cell_type != "code" or not FIGURE_CALLS.search(cell.source):
            continue
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        assert str(figure.get("name", "")).startswith("fig-"), f"{stem}: a figure cell without a fig- name:\n{cell.source[:200]}"
        assert len(figure.get("caption", "")) >= 40, f"{stem}: {figure.get('name')} has no caption that says what to see"


def test_figure_names_are_unique_over_the_book():
    names = [c.metadata["mystnb"]["figure"]["name"] for stem in NOTEBOOKS for c in read(stem).cells
             if c.cell_type == "code" and "figure" in c.metadata.get("mystnb", {})]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("stem", sorted(NOTEBOOKS))
def test_a_chapter_opens_with_its_key_findings(stem):
    """Before the first section, a 'Key findings' box with the chapter's own numbers glued (the
    paper's published numbers may be typed)."""
    opening = []
    for cell in read(stem).cells:
        if cell.cell_type == "markdown" and re.search(r"^## ", cell.source, re.M):
            opening.append(cell.source.split("\n## ")[0])
            break
        if cell.cell_type == "markdown":
            opening.append(cell.source)
    box = re.search(r"^(```|:::)\{admonition\} Key findings\n(.*?)^\1$", "\n".join(opening), re.M | re.S)
    assert box, f"{stem}: no Key findings box before the first section"
    assert "{glue:text}`" in box.group(2), f"{stem}: the key findings glue none of the chapter's numbers"


def test_the_build_drops_results_of_chapters_that_no_longer_exist(monkeypatch, tmp_path):
    """A renamed or split chapter leaves no results file (nor executed notebook) for the results page."""
    from conftest import load_script
    build = load_script(monkeypatch, "build_book")
    chapters, executed = tmp_path / "chapters", tmp_path / "_executed"
    (executed / "results").mkdir(parents=True)
    chapters.mkdir()
    (chapters / "01_kept.ipynb").write_text("{}")
    for stem in ("01_kept", "02_gone"):
        (executed / "results" / f"{stem}.json").write_text("{}")
        (executed / f"{stem}.ipynb").write_text("{}")
    monkeypatch.setattr(build, "CHAPTERS", chapters)
    monkeypatch.setattr(build, "EXECUTED", executed)
    monkeypatch.setattr(build, "RESULTS", executed / "results")
    build.main(["nothing-selected"], render=False)
    assert sorted(p.name for p in executed.rglob("*.*")) == ["01_kept.ipynb", "01_kept.json"]


CELL_CODE_LINES = 1_250  # non-blank lines of code in all chapters' cells together: the analysis lives in kit


def test_cells_call_kit_and_define_no_functions():
    """Chapters only set parameters, call kit, show and glue: no function or class is defined in
    a cell, and all chapters' cells together stay under CELL_CODE_LINES non-blank lines."""
    total = 0
    for stem in NOTEBOOKS:
        for cell in read(stem).cells:
            if cell.cell_type != "code":
                continue
            defined = [n.name for n in ast.walk(ast.parse(cell.source)) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            assert not defined, f"{stem} defines {defined} in a cell; put them in kit/chapters"
            total += sum(1 for line in cell.source.splitlines() if line.strip())
    assert total < CELL_CODE_LINES, f"{total} lines of code in the chapters' cells"
