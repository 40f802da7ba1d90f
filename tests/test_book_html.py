"""The rendered book, as a reader sees it: a small book built here with jupyter-book (no chapter of
the real book, so `make test` on a fresh clone needs no `make book`) holds one chapter written to
the chapter contract, executed with papermill, one chapter whose stored outputs carry every defect
scripts/check_html.py must catch, and the results page kit.report.results generates from the first. The
check must pass the first two pages and flag each defect of the third; `make book` runs the same
check on the real build. Building takes about half a minute."""

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from kit.report import results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import build_book  # noqa: E402  (scripts/ is not a package)
import check_html  # noqa: E402

CONFIG = {  # the settings of the repo's _config.yml that decide how a chapter renders
    "title": "tiny", "only_build_toc_files": True,
    "execute": {"execute_notebooks": "off"},
    "parse": {"myst_enable_extensions": ["dollarmath", "amsmath"]},
    "sphinx": {"extra_extensions": ["sphinx-mathjax-offline"],
               "config": {"nb_render_markdown_format": "myst", "suppress_warnings": ["mystnb.unknown_mime_type"]}},
}
TOC = {"format": "jb-book", "root": "intro", "chapters": [{"file": "results"}, {"file": "clean"}, {"file": "dirty"}]}

HIDE = {"tags": ["hide-input"]}
CLEAN = [
    new_markdown_cell("# A clean chapter\n\n```{admonition} Rerun this chapter\n:class: tip\nParameters: `n_boot`, "
                      "`results_dir`. Runtime: seconds.\n```"),
    new_code_cell("n_boot = 200  # bootstrap resamples\nresults_dir = None  # None: write no results file",
                  metadata={"tags": ["parameters", "hide-input"]}),
    new_code_cell("from kit.report import params\n\nn_boot = params.positive_int('n_boot', n_boot)\n"
                  "results_dir = params.output_dir('results_dir', results_dir)", metadata=HIDE),
    new_markdown_cell("(tiny-gap)=\n## The gap\n\nThe claim holds if the 95% interval of the gap excludes 0 above. "
                      "The gap is {glue:text}`gap:+.3f` nats."),
    new_code_cell(
        "import numpy as np\nimport pandas as pd\nfrom IPython.display import Markdown\nfrom myst_nb import glue\n"
        "from kit.report import claims, results\n\n"
        "rng = np.random.default_rng(0)\nsample = 0.05 + 0.01 * rng.standard_normal(40)\n"
        "means = rng.choice(sample, (n_boot, sample.size)).mean(axis=1)\n"
        "gap, low, high = sample.mean(), *np.quantile(means, [0.025, 0.975])\n"
        "verdict, reason = claims.direction_verdict(gap, low, high, +1, unit=' nats', fmt='+.3f')\n"
        "glue('gap', float(gap), display=False)  # a Python float: numpy's repr breaks {glue:text} formats\n"
        "results.write(results_dir, 'clean', [claims.Claim(\n"
        "    'tiny-gap', 'Frantar et al. 2024', 'Sparse runs reach a lower loss.', 'tiny-gap', None, None,\n"
        "    claims.interval_text(gap, low, high, '+.3f', ' nats'), verdict,\n"
        "    'Holds if the 95% interval of the gap excludes 0 above.', reason, {'gap': gap})])\n"
        "Markdown(results.markdown_table(pd.DataFrame({'gap (nats)': [gap], 'low': [low], 'high': [high]},\n"
        "    index=pd.Index([0.5], name='S')), {'gap (nats)': '{:+.3f}', 'low': '{:+.3f}', 'high': '{:+.3f}'}))",
        metadata=HIDE),
    new_code_cell("import matplotlib.pyplot as plt\nfrom kit.report import plots\n\nplots.use_book_style()\n"
                  "fig, axes = plots.panel_grid(2)\nfor ax in axes:\n"
                  "    plots.plot_cmul(ax, np.array([0.0, 0.5, 0.75]), {'Eq. 4': np.array([1.0, 1.4, 2.1])},\n"
                  "                    dense=np.array([1.0, 2.0, 4.0]), legend=None)\n"
                  "plots.legend_outside(fig)\nplt.show()", metadata=HIDE),
    new_code_cell("claims.interval_text(1.77, 1.61, 1.92, unit='x')", metadata={"tags": ["show-input"]}),
]


def stream(name, text):
    return new_output("stream", name=name, text=text)


def dirty_chapter(root) -> nbformat.NotebookNode:
    """A chapter as executed badly: every defect the check must flag, once."""
    error = new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                       traceback=["ZeroDivisionError  Traceback (most recent call last)", "----> 1 1/0"])
    cells = [
        new_markdown_cell("# A dirty chapter"),
        new_code_cell("print(summary)", outputs=[stream("stdout", "x" * 120 + "\n")]),  # shown input, long line
        new_code_cell("laws.gain(S)", metadata=HIDE, outputs=[stream(
            "stderr", "/home/user/kit/laws/__init__.py:3: RuntimeWarning: divide by zero\n")]),
        new_code_cell("run_sweep(configs)", metadata=HIDE, outputs=[stream("stdout", "sweep: 0it [00:00, ?it/s]\n"),
                                                                    stream("stderr", "\n")]),
        new_code_cell("1/0", metadata=HIDE, outputs=[error]),
        new_code_cell("print(store.root)", metadata=HIDE, outputs=[stream("stdout", f"{root}/runs\n")]),
    ]
    for i, cell in enumerate(cells[1:], start=1):
        cell.execution_count = i
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


DIRTY_FINDINGS = collections.Counter({
    "code cell not collapsed (tag it hide-input, or show-input on purpose)": 1,
    "output line of 120 characters (over 100)": 1,
    "stderr box": 2,  # one with a warning, one empty
    "warning": 1,
    "machine path /home/": 1,
    "progress bar": 1,
    "traceback": 1,
    "machine path /the/repo": 1,
})


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The small book, built; returns its _build/html."""
    folder = tmp_path_factory.mktemp("book")
    (folder / "_config.yml").write_text(yaml.safe_dump(CONFIG))
    (folder / "_toc.yml").write_text(yaml.safe_dump(TOC))
    (folder / "intro.md").write_text("# Intro\n\nA small book.\n")
    source = folder / "clean_source.ipynb"
    nbformat.write(new_notebook(cells=CLEAN, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), source)
    results_dir = folder / "results"
    build_book.execute(source, folder / "clean.ipynb", results_dir, cwd=folder)  # as `make book` runs chapters
    source.unlink()
    nbformat.write(dirty_chapter("/the/repo"), folder / "dirty.ipynb")
    (folder / "results.md").write_text(results.results_page(results_dir))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    built = subprocess.run([str(jupyter_book), "build", str(folder), "--warningiserror"], capture_output=True,
                           text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return folder / "_build" / "html"


def kinds(findings) -> collections.Counter:
    return collections.Counter(f.split(": ")[0] for f in findings)


def test_a_chapter_written_to_the_contract_and_the_results_page_pass(book):
    for page in ("clean.html", "results.html"):
        roots = ["/the/repo", str(ROOT), str(book.parents[1])]  # and the folder the book was built in
        assert check_html.check_page((book / page).read_text(), roots=roots) == [], page


def test_every_defect_is_flagged(book):
    found = check_html.check_page((book / "dirty.html").read_text(), roots=["/the/repo"])
    assert kinds(found) == DIRTY_FINDINGS, found


def test_results_page_links_the_claim_to_its_section(book):
    page = (book / "results.html").read_text()
    assert 'href="clean.html#tiny-gap"' in page  # {ref} to the label above the section, resolved
    assert "<table" in page and "<strong>holds</strong>" in page
    assert "No chapter of this build tested a claim of this paper." in page  # Jin et al.: none here


def test_chapter_outputs_render_as_a_reader_sees_them(book):
    page = (book / "clean.html").read_text()
    (gap,) = [c.numbers["gap"] for c in results.read_all(book.parents[1] / "results")]
    assert f'<td class="text-right"><p>{gap:+.3f}</p></td>' in page  # markdown_table: a table, formatted
    assert f'<span class="pasted-text">{gap:+.3f}</span> nats' in page  # the glued number in the prose
    images = [p.name for p in (book / "_images").iterdir()]
    assert images and all(name.endswith(".svg") for name in images), images  # use_book_style: SVG figures
    assert page.count("Show code cell source") == 4  # the parameters, validation, claim and figure cells


def test_check_html_command_fails_on_findings_and_passes_a_clean_book(book, tmp_path):
    command = [sys.executable, str(ROOT / "scripts" / "check_html.py")]
    dirty = subprocess.run([*command, str(book), "--root", "/the/repo"], capture_output=True, text=True)
    assert dirty.returncode == 1
    assert "dirty.html: traceback" in dirty.stdout and "check_html: 9 finding(s)" in dirty.stdout
    clean = tmp_path / "html"
    clean.mkdir()
    shutil.copy(book / "clean.html", clean)
    passed = subprocess.run([*command, str(clean)], capture_output=True, text=True)
    assert passed.returncode == 0 and "is clean" in passed.stdout


def test_repo_config_renders_markdown_outputs_as_myst():
    """markdown_table's output is a pipe table; myst-nb's default (CommonMark) would print it as text."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"].get("nb_render_markdown_format") == "myst"


def test_the_built_site_is_publishable_as_static_files(book, tmp_path):
    """build_book.publishable: .nojekyll (GitHub Pages would drop _static/ and _images/ without
    it), MathJax cut to what a page loads, and every MathJax file a page names still there."""
    site = tmp_path / "html"
    shutil.copytree(book, site)
    mathjax = site / "_static" / "mathjax"
    before = sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file())
    build_book.publishable(site)
    after = sum(f.stat().st_size for f in mathjax.rglob("*") if f.is_file())
    assert (site / ".nojekyll").is_file()
    assert after < 0.5 * before, (before, after)
    assert not (mathjax / "tex-svg.js").exists() and not (mathjax / "output" / "svg").exists()
    assert any((mathjax / "output" / "chtml" / "fonts").rglob("*.woff"))
    named = {m for page in site.glob("*.html") for m in re.findall(r'_static/mathjax/([\w./-]+\.js)', page.read_text())}
    assert (mathjax / "tex-chtml.js").is_file()  # what sphinx-mathjax-offline sets as mathjax_path
    assert named <= {"tex-chtml.js"} and all((mathjax / m).is_file() for m in named)
