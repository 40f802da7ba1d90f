"""Build the book: execute every chapter with papermill at its default parameters, then render.

Chapters are the notebooks in book/chapters (committed without outputs). Each is executed into
book/_executed/ (what the table of contents points at) with its working directory set to
book/chapters; a chapter trains only the runs that runs/ lacks. A chapter with a `results_dir`
parameter gets book/_executed/results, where it writes the claims it tests; book/results.md, the
results page, is generated from those files (kit.report.results.results_page). Then `jupyter-book build .`
renders _build/html, and scripts/check_html.py scans it: the build fails on anything a reader
should not see (tracebacks, warnings, progress bars, machine paths, long output lines, code cells
not collapsed). Each step's time is printed.
Usage: python scripts/build_book.py [--execute-only] [chapter-name-substring ...]
(--execute-only: execute the selected chapters into book/_executed and stop, no rendering.)

The book's header links to the repository when the clone has an `origin` remote on GitHub (or
GitLab, Bitbucket): the build then reads a copy of _config.yml with `repository.url` set and the
repository button on (`jupyter-book build --config`); without one, no button.
"""

import os
import re
import sys
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
import yaml

import check_html
from kit.fit import paper
from kit.report import results
from kit.engine.store import RunStore

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


def repository_url(remote: str) -> str | None:
    """The https address of a git remote on GitHub, GitLab or Bitbucket, without credentials or
    `.git`; None for any other remote (a local path, another host): the theme links only those."""
    url = re.sub(r"^(?:ssh://)?git@([^:/]+)[:/]", r"https://\1/", remote.strip())
    url = re.sub(r"^(https?://)[^/@]*@", r"\1", url).removesuffix("/").removesuffix(".git")
    if re.fullmatch(r"https?://(github\.com|gitlab\.com|bitbucket\.org)/[^/]+/[^/]+", url):
        return url
    return None


def config_with_repository(url: str, folder: Path) -> Path:
    """A copy of _config.yml in `folder` with the repository button linking to `url`. Paths of
    local extensions are made absolute: Jupyter Book reads them relative to the config file."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["repository"] = {"url": url}
    config["html"]["use_repository_button"] = True
    extensions = config["sphinx"].get("local_extensions") or {}
    config["sphinx"]["local_extensions"] = {name: str(ROOT / path) for name, path in extensions.items()}
    path = folder / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def origin_url() -> str | None:
    """repository_url of the clone's `origin` remote, or None (no remote, no git)."""
    try:
        remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return None
    return repository_url(remote.stdout) if remote.returncode == 0 else None


# The MathJax files a page can load: the combined TeX-to-CHTML component the book is configured
# with (sphinx-mathjax-offline), the TeX extensions it autoloads, the CHTML fonts, and the menu
# with its accessibility options (which load a11y and sre on demand). The other components
# (SVG output, MathML input, the full and speech builds) are never loaded and are removed.
MATHJAX_KEPT = ("tex-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "sre")


def publishable(html: Path) -> None:
    """Make the built site ready to serve as static files: `.nojekyll`, so GitHub Pages serves
    _static/ and _images/ (Jekyll drops folders that start with '_'), and only the MathJax files
    a page can load (MATHJAX_KEPT)."""
    (html / ".nojekyll").touch()
    mathjax = html / "_static" / "mathjax"
    for path in sorted(mathjax.rglob("*"), reverse=True):
        rel = path.relative_to(mathjax).as_posix()
        kept = any(rel == k or rel.startswith(k + "/") or k.startswith(rel + "/") for k in MATHJAX_KEPT)
        if not kept:
            path.unlink() if path.is_file() else path.rmdir()


def write_runs_page(book: Path) -> None:
    """book/runs.md, every run in a table a reader sorts and filters (kit.report.results.runs_page), and
    the downloads it links in book/_data: the run store and the authors' T5 and ViT sweeps as CSV."""
    folder = book / "_data"
    folder.mkdir(exist_ok=True)
    frame = RunStore().frame()
    frame.to_csv(folder / "runs.csv", index=False)
    paper.load_t5().to_csv(folder / "frantar2023-t5.csv", index=False)
    paper.load_vit().to_csv(folder / "frantar2023-vit.csv", index=False)
    downloads = {"every run, every column (CSV)": "_data/runs.csv",
                 "the authors' T5/C4 sweep (CSV)": "_data/frantar2023-t5.csv",
                 "the authors' ViT/JFT-4B sweep (CSV)": "_data/frantar2023-vit.csv"}
    (book / "runs.md").write_text(results.runs_page(frame, downloads))


def main(selected: list[str], render: bool = True) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    chapters = {nb.stem for nb in CHAPTERS.glob("*.ipynb")}
    for stale in [*RESULTS.glob("*.json"), *EXECUTED.glob("*.ipynb")]:
        if stale.stem not in chapters:  # a chapter renamed or split leaves no results behind
            stale.unlink()
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
    if not render:
        return
    (ROOT / "book" / "results.md").write_text(results.results_page(RESULTS))
    write_runs_page(ROOT / "book")
    start = time.perf_counter()
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    url = origin_url()
    with tempfile.TemporaryDirectory() as folder:
        config = ["--config", str(config_with_repository(url, Path(folder)))] if url else []
        subprocess.run([str(jupyter_book), "build", str(ROOT), *config], check=True)
    publishable(ROOT / "_build" / "html")
    print(f"jupyter-book build: {time.perf_counter() - start:.0f} s")
    findings = check_html.check_book(ROOT / "_build" / "html", roots=[str(ROOT)])
    for finding in findings:
        print(finding)
    print(f"book: {ROOT / '_build' / 'html' / 'index.html'}")
    if findings:
        sys.exit(f"check_html: {len(findings)} finding(s) above that a reader should not see; fix their causes")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main([a for a in arguments if a != "--execute-only"], render="--execute-only" not in arguments)
