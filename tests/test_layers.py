"""The kit's layers, as its folders show them: what each may import, and that the bottom layers run
when copied alone (kit/laws on numpy only; kit/fit beside it, with its relative imports)."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1] / "kit"
# what each part of the kit may import of the kit (itself included); kit.cli and kit.__main__ may import anything
ALLOWED = {
    "laws": {"laws"},
    "fit": {"laws", "fit"},
    "engine": {"laws", "engine"},
    "report": {"laws", "engine", "report"},
    "planner": {"laws", "planner"},
    "chapters": {"laws", "fit", "engine", "report", "planner", "chapters"},
}


def kit_imports(path: Path) -> set[str]:
    """The kit's modules that `path` imports anywhere in it (functions included), relative
    imports resolved, as dotted names."""
    package = ".".join(path.relative_to(KIT.parent).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(KIT.parent).parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" for a in node.names} | {base}
    return {name for name in found if name == "kit" or name.startswith("kit.")}


def part(dotted: str) -> str | None:
    """The part of the kit a dotted name belongs to (kit.fit.noise -> 'fit'); None for kit itself."""
    pieces = dotted.split(".")
    return pieces[1] if len(pieces) > 1 and (KIT / pieces[1]).is_dir() else None


MODULES = sorted(p for p in KIT.rglob("*.py") if p.parent != KIT)


def test_the_kit_is_its_parts_and_a_command_line():
    assert {p.name for p in KIT.glob("*.py")} == {"__init__.py", "__main__.py", "cli.py"}
    assert {p.parent.name for p in MODULES} == set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(KIT)))
def test_each_module_imports_only_the_layers_below_it(path):
    mine = path.parent.name
    wrong = sorted(name for name in kit_imports(path) if part(name) not in ALLOWED[mine] and name != "kit")
    assert not wrong, f"kit/{mine} may import only {sorted(ALLOWED[mine])} of the kit; {path.name} imports {wrong}"


def test_the_laws_need_only_numpy_and_the_standard_library():
    outside = set()
    for path in (KIT / "laws").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            outside |= {n.split(".")[0] for n in names}
    assert outside - set(sys.stdlib_module_names) - {"kit"} == {"numpy"}


def test_laws_and_fit_copied_alone_run(tmp_path):
    """kit/laws and kit/fit copied into an empty package (with the data they read): the laws
    import and answer with scipy, pandas and JAX made unimportable, and the fitting modules import
    beside them and read the authors' T5 runs."""
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "__init__.py").write_text("")
    for name in ("laws", "fit"):
        shutil.copytree(KIT / name, tmp_path / "kit" / name)
    for data in ("laws", "frantar2023"):
        shutil.copytree(KIT.parent / "data" / data, tmp_path / "data" / data)
    blocked = "import sys; sys.modules.update(scipy=None, pandas=None, jax=None, flax=None, optax=None); "
    laws_alone = blocked + "from kit import laws; print(laws.s_opt(1e9, 1e21, laws.TABLE7['t5']))"
    done = subprocess.run([sys.executable, "-c", laws_alone], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert 0 < float(done.stdout) < 1
    fit_beside = "from kit.fit import fitting, lawfit, compare, noise, analysis, paper; print(len(paper.load_t5()))"
    done = subprocess.run([sys.executable, "-c", fit_beside], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-1500:]
    assert int(done.stdout) == 48  # as in the repository (tests/test_paper.py)


@pytest.mark.parametrize("module", ["kit.laws", "kit.laws.schedules"])
def test_every_public_function_of_the_laws_shows_a_call_that_works(module):
    """kit/laws is the part a reader copies first: each public function and class writes a call of
    itself in its docstring, and that call runs as written in the module's namespace."""
    import importlib
    import inspect

    mod = importlib.import_module(module)
    for name, obj in vars(mod).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)) or obj.__module__ != module:
            continue
        calls = [line.split("  #")[0].strip() for line in (obj.__doc__ or "").splitlines()
                 if line.strip().startswith(f"{name}(")]
        assert calls, f"{module}.{name}: its docstring shows no call of it"
        for call in calls:
            eval(call, vars(mod))  # raises if the call does not work as written
