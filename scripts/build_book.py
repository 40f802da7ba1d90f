"""Build the book: execute every chapter with papermill at its default parameters, then render.

Chapters are the notebooks in book/chapters (committed without outputs). Each is executed into
book/_executed/ (what the table of contents points at) with its working directory set to
book/chapters; a chapter trains only the runs that runs/ lacks. A chapter with a `results_dir`
parameter gets book/_executed/results, where it writes the claims it tests; book/results.md, the
results page, is generated from those files (kit.results.results_page). Then `jupyter-book build .`
renders _build/html, and scripts/check_html.py scans it: the build fails on anything a reader
should not see (tracebacks, warnings, progress bars, machine paths, long output lines, code cells
not collapsed). Each step's time is printed.
Usage: python scripts/build_book.py [chapter-name-substring ...]
"""

import os
import sys
import subprocess
import time
from pathlib import Path

import nbformat
import papermill

import check_html
from kit import results

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "book" / "chapters"
EXECUTED = ROOT / "book" / "_executed"
RESULTS = EXECUTED / "results"


def execute(nb: Path, out: Path, results_dir: Path, cwd: Path = CHAPTERS) -> float:
    """Execute the notebook nb into out with papermill in the folder cwd, passing results_dir (as
    a path relative to cwd: no machine path reaches the page) where nb has that parameter.
    Papermill's injected parameters cell is tagged remove-cell: the reader sees the chapter's
    own parameters cell. Returns the seconds taken."""
    parameters = {}
    if "results_dir" in papermill.inspect_notebook(nb):
        parameters["results_dir"] = os.path.relpath(results_dir, cwd)
    start = time.perf_counter()
    papermill.execute_notebook(nb, out, parameters=parameters, cwd=cwd, kernel_name="python3", progress_bar=False)
    seconds = time.perf_counter() - start
    executed = nbformat.read(out, as_version=4)
    for cell in executed.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(executed, out)
    return seconds


def main(selected: list[str]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for nb in sorted(CHAPTERS.glob("*.ipynb")):
        if selected and not any(s in nb.stem for s in selected):
            continue
        print(f"executing {nb.relative_to(ROOT)}", flush=True)
        (RESULTS / f"{nb.stem}.json").unlink(missing_ok=True)  # a chapter that no longer tests claims leaves none
        seconds[nb.stem] = execute(nb, EXECUTED / nb.name, RESULTS)
        print(f"  {seconds[nb.stem]:.0f} s", flush=True)
    if seconds:
        print(f"chapters executed in {sum(seconds.values()):.0f} s: "
              + ", ".join(f"{stem} {s:.0f} s" for stem, s in seconds.items()), flush=True)
    (ROOT / "book" / "results.md").write_text(results.results_page(RESULTS))
    start = time.perf_counter()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    subprocess.run([str(jupyter_book), "build", str(ROOT)], check=True)
    print(f"jupyter-book build: {time.perf_counter() - start:.0f} s")
    findings = check_html.check_book(ROOT / "_build" / "html", roots=[str(ROOT)])
    for finding in findings:
        print(finding)
    print(f"book: {ROOT / '_build' / 'html' / 'index.html'}")
    if findings:
        sys.exit(f"check_html: {len(findings)} finding(s) above that a reader should not see; fix their causes")



if __name__ == "__main__":
    main(sys.argv[1:])
