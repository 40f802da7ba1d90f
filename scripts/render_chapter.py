"""Rerun one chapter with other parameters and render it as an HTML page, leaving the book alone.

    .venv/bin/python scripts/render_chapter.py 03 -p table_sparsities "[0.5, 0.75, 0.9]" -p n_grid 60
    make chapter NB=03 ARGS='-p table_sparsities "[0.5, 0.75, 0.9]" -p n_grid 60'

CHAPTER is a notebook of book/chapters: its stem (03_optimal_sparsity) or the start of it (03). Each
`-p NAME VALUE` sets a parameter; VALUE is read as a Python literal (7e9, 1_000, [0.5, 0.9],
{"N": 1e9, "D": 2e10}, None, True, "t5"), else as YAML ({N: 1e9}), else as text (t5). Paths are read
from book/chapters, where the chapter runs: give them absolute.

1. Check: the names against the chapter's parameters cell, then the values with the chapter's own
   check cell (the code cell after the parameters cell, which calls kit.report.params), run here
   before any work, so a bad name or value stops with the chapter's one-line message and writes
   nothing.
2. Execute the chapter with papermill (kernel python3, working directory book/chapters, as
   scripts/build_book.py does) into OUT/<stem>.ipynb; a chapter with a results_dir parameter
   writes its claims to OUT/results/<stem>.json. The injected cell stays visible: the page shows
   the parameters it was run with.
3. Render that notebook alone with Jupyter Book (the book's _config.yml: theme, glued numbers,
   numbered figures, citations, MathJax served from the page's own folder, so it reads offline)
   into OUT/html, and print the path of OUT/html/<stem>.html as the last line. A reference to
   another page of the book is left as plain text.

OUT (--out) defaults to _build/reruns/<stem>-<8 hex digits of the parameters> (git-ignored; the
same parameters give the same folder, which is replaced). It may not lie inside book/: the book's
executed chapters (book/_executed) and the committed notebooks are never written.
"""

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill
import yaml
from papermill.translators import translate_parameters

from build_book import CHAPTERS, ROOT, publishable

RERUNS = ROOT / "_build" / "reruns"
# Warnings of a page built alone that say nothing about the page: references to the book's other pages.
SUPPRESSED = ["mystnb.unknown_mime_type", "ref.ref", "ref.doc", "ref.numref", "myst.xref_missing"]


def find_chapter(name: str, chapters: Path = CHAPTERS) -> Path:
    """The notebook of chapters named `name`: its stem, or the start of exactly one stem before its
    first underscore ("03" for 03_optimal_sparsity, "01b" for 01b_transient). ValueError otherwise.

    >>> find_chapter("07").name
    '07_should_i_sparsify.ipynb'
    """
    stems = sorted(p.stem for p in chapters.glob("*.ipynb"))
    found = [s for s in stems if s == name] or [s for s in stems if s.startswith(name + "_")]
    if len(found) != 1:
        raise ValueError(f"chapter {name!r}: {'matches ' + ', '.join(found) if found else 'no such chapter'}; "
                         f"the chapters are {', '.join(stems)}")
    return chapters / f"{found[0]}.ipynb"


def read_value(text: str):
    """A -p value: a Python literal, else YAML (as papermill's -y reads it), else the text itself.

    >>> read_value("7e9"), read_value("[0.5, 0.9]"), read_value("{N: 2e9}"), read_value("t5"), read_value("None")
    (7000000000.0, [0.5, 0.9], {'N': '2e9'}, 't5', None)
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (list, dict)) else text


def default_out(stem: str, parameters: dict) -> Path:
    """_build/reruns/<stem>-<8 hex digits of the parameters>, or <stem>-defaults without any."""
    if not parameters:
        return RERUNS / f"{stem}-defaults"
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True, default=repr).encode()).hexdigest()[:8]
    return RERUNS / f"{stem}-{digest}"


def check_out(out: Path) -> Path:
    """out, absolute; ValueError if it lies inside book/ (the executed book, the committed notebooks)."""
    out = out.resolve()
    if out.is_relative_to((ROOT / "book").resolve()):
        raise ValueError(f"--out {out}: inside book/, where the book's chapters live; choose a folder outside it")
    return out


def check_parameters(nb_path: Path, parameters: dict) -> None:
    """Run the chapter's parameters cell, the cell papermill would inject, and the chapter's check
    cell here (working directory book/chapters), so that a bad name or value raises the chapter's
    one-line ValueError before anything runs. A chapter without a check cell that imports
    kit.report.params has its names checked only."""
    from kit.report import params

    nb = nbformat.read(nb_path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    if "parameters" not in nb.cells[first].metadata.get("tags", []):
        raise ValueError(f"{nb_path.name}: its first code cell is not tagged parameters")
    injected = translate_parameters("python3", "python", parameters) if parameters else ""
    params.check_injected(["", code[0], injected])
    checks = code[1] if len(code) > 1 and re.search(r"^from kit\.report import .*\bparams\b", code[1], re.M) else ""
    namespace = {}
    cwd = os.getcwd()
    os.chdir(nb_path.parent)
    try:
        for source in (code[0], injected, checks):
            exec(compile(source, nb_path.name, "exec"), namespace)
    finally:
        os.chdir(cwd)


def execute(nb_path: Path, out: Path, parameters: dict) -> Path:
    """Execute the chapter into out/<stem>.ipynb (its claims, if it writes any, into out/results);
    return the executed notebook's path. Raises papermill.PapermillExecutionError if a cell fails."""
    executed = out / nb_path.name
    parameters = dict(parameters)
    if "results_dir" in papermill.inspect_notebook(nb_path):
        parameters["results_dir"] = os.path.relpath(out / "results", nb_path.parent)
    papermill.execute_notebook(nb_path, executed, parameters=parameters, cwd=nb_path.parent, kernel_name="python3",
                               progress_bar=False)
    return executed


def page_config(folder: Path) -> Path:
    """A copy of the book's _config.yml in folder for a page built alone: bibliography and local
    extensions by absolute path, the book's page selection left out, cross-page warnings off."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    for key in ("exclude_patterns", "only_build_toc_files"):
        config.pop(key, None)
    config["bibtex_bibfiles"] = [str(ROOT / path) for path in config.get("bibtex_bibfiles", [])]
    sphinx = config["sphinx"]
    sphinx["local_extensions"] = {name: str(ROOT / path) for name, path in (sphinx.get("local_extensions") or {}).items()}
    sphinx["config"]["suppress_warnings"] = sorted({*sphinx["config"].get("suppress_warnings", []), *SUPPRESSED})
    path = folder / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def render(executed: Path, out: Path) -> Path:
    """Build the executed notebook alone into out/html with Jupyter Book; return the page's path.
    Prints Sphinx's warnings; raises RuntimeError if the build fails."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    html = out / "html"
    with tempfile.TemporaryDirectory() as folder:
        source, build_dir = Path(folder) / "source", Path(folder) / "build"  # apart: Jupyter Book nests a source inside its output
        source.mkdir()
        shutil.copy(executed, source / executed.name)
        build = subprocess.run([str(jupyter_book), "build", str(source / executed.name), "--config",
                                str(page_config(Path(folder))), "--path-output", str(build_dir), "--quiet"],
                               capture_output=True, text=True)
        for line in (build.stdout + build.stderr).splitlines():
            if "WARNING" in line or "ERROR" in line:
                print(line, file=sys.stderr)
        built = build_dir / "_build" / "_page" / executed.stem / "html"
        if build.returncode != 0 or not (built / f"{executed.stem}.html").is_file():
            raise RuntimeError(f"jupyter-book build failed:\n{build.stdout}{build.stderr}")
        shutil.rmtree(html, ignore_errors=True)
        shutil.move(built, html)
    publishable(html)
    return html / f"{executed.stem}.html"


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", help="a chapter's stem, or its start: 03 for 03_optimal_sparsity")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter; VALUE is a Python literal, YAML or text")
    parser.add_argument("--out", type=Path, help="the folder to write to (default: _build/reruns/<stem>-<hash>)")
    args = parser.parse_args(argv)
    try:
        nb_path = find_chapter(args.chapter)
        parameters = {name: read_value(value) for name, value in args.p}
        if "results_dir" in parameters:
            raise ValueError("results_dir: a rerun writes its claims to OUT/results; choose OUT with --out")
        out = check_out(args.out or default_out(nb_path.stem, parameters))
        check_parameters(nb_path, parameters)
    except ValueError as error:
        sys.exit(f"render_chapter: {error}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results" / f"{nb_path.stem}.json").unlink(missing_ok=True)  # a failed rerun leaves no stale claims
    print(f"executing {nb_path.relative_to(ROOT)} into {out}", flush=True)
    try:
        executed = execute(nb_path, out, parameters)
    except papermill.PapermillExecutionError as error:
        sys.exit(f"render_chapter: {nb_path.stem} stopped at cell {error.exec_count}: {error.ename}: {error.evalue} "
                 f"(the executed notebook: {out / nb_path.name})")
    print(f"rendering {executed.name}", flush=True)
    page = render(executed, out)
    print(page)
    return page


if __name__ == "__main__":
    main()
