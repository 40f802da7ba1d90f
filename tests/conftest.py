"""Shared fixtures for the chapter tests (tests/test_chapter_NN.py): a chapter executed with tiny
parameters exactly as scripts/build_book.py executes it (papermill, kernel python3, working
directory book/chapters), its results file written to a temporary results_dir and read back, and
one temporary run store shared by every chapter of the session (the tiny main grid is trained once)."""

import ast
import importlib.util
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"

DURATION = r"'\d+(\.\d)? (s|min|h)'"  # a glued run time as kit.report.results.duration_text writes it (repr)

# The main grid, tiny: 2 x 2 x 3 runs of 2-layer models of d_model 8 and 12, 80 and 160 steps of
# 8 x 16 tokens. Chapters that train take these instead of kit.engine.grids.MAIN.
TINY_BASE = {"n_layers": 2, "seq_len": 16, "batch_size": 8, "eval_tokens": 1024, "width_multiple": 4}
TINY_GRID = dict(n_nonzero=[1536, 3072], tokens=[10_240, 20_480], sparsities=[0.0, 0.5, 0.75])


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> Path:
    """One temporary run store for every chapter of the session."""
    return tmp_path_factory.mktemp("runs")


def execute_chapter(stem: str, parameters: dict, tmp_path: Path):
    """Execute book/chapters/<stem>.ipynb with `parameters` (plus a temporary results_dir); assert
    it raised nothing; return (executed notebook, {claim key: claim dict} from its results file)."""
    results_dir = tmp_path / "results"
    out = tmp_path / f"{stem}.ipynb"
    papermill.execute_notebook(CHAPTERS / f"{stem}.ipynb", out, parameters={**parameters, "results_dir": str(results_dir)},
                               cwd=CHAPTERS, kernel_name="python3", progress_bar=False)
    nb = nbformat.read(out, as_version=4)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    files = sorted(results_dir.glob("*.json"))
    assert len(files) == 1, f"expected one results file in {results_dir}, found {files}"
    claims = json.loads(files[0].read_text())["claims"]
    return nb, {c["key"]: c for c in claims}


def glued(nb) -> dict:
    """{name: plain-text value} of every myst_nb glue in the executed notebook."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:  # display=False glues carry a mime prefix
                out[name] = next(v for k, v in o.get("data", {}).items() if k.endswith("text/plain"))
    return out


def chapter_defaults(stem: str) -> dict:
    """The literal values assigned in the chapter's parameters cell (its first code cell)."""
    nb = nbformat.read(CHAPTERS / f"{stem}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    return {s.targets[0].id: ast.literal_eval(s.value) for s in ast.parse(cell.source).body if isinstance(s, ast.Assign)}


def assert_clean(nb) -> dict:
    """The executed chapter printed nothing (no prints, warnings or progress bars: every number is
    glued or tabulated), and every {glue:text} name its prose uses is glued. Returns glued(nb)."""
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o.get("text") for o in outputs if o.output_type == "stream"], "no prints, warnings or progress bars"
    names = glued(nb)
    used = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"\{glue:text\}`([\w.-]+)", c.source)}
    assert used <= set(names), f"glued names the prose uses but the chapter never glues: {sorted(used - set(names))}"
    return names


TIMINGS = ("wall_s", "compile_s", "eval_s")


def comparable(record: dict) -> dict:
    """A run record without what may differ between two trainings of one run: timings, creation
    time, and how it was trained (engine: threads, the step it resumed from)."""
    out = {k: v for k, v in record.items() if k not in ("created", "engine")}
    out["metrics"] = {k: v for k, v in record["metrics"].items() if k not in TIMINGS}
    return out


def load_script(monkeypatch, name: str):
    """scripts/<name>.py as a module (scripts/ is not a package; a script imports its siblings)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
