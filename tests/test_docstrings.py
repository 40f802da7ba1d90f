"""Every public function and class of the kit shows a call of itself in its docstring, and the call
works as written: a doctest (`>>>` lines, with the result printed where it is stable), run here in
the module's own namespace from the repository root, as a reader would run it in a notebook there.
kit/laws writes its calls as `name(...)  # result` lines instead; tests/test_layers.py runs those."""

import doctest
import importlib
import inspect
import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "kit"
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in KIT.rglob("*.py")
                 if p.parent != KIT / "laws" and p.name not in ("__init__.py", "__main__.py"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public(module) -> list[tuple[str, object]]:
    """The public functions and classes a module defines (not those it imports)."""
    return [(name, obj) for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__]


def test_every_module_of_the_kit_is_checked():
    assert len(MODULES) > 30 and "kit.cli" in MODULES and "kit.engine.train" in MODULES
    assert not any(m.startswith("kit.laws") for m in MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_shows_a_call_that_works(module, monkeypatch):
    monkeypatch.chdir(ROOT)
    mod = importlib.import_module(module)
    finder, out = doctest.DocTestFinder(recurse=False), io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    missing = []
    for name, obj in public(mod):
        tests = finder.find(obj, f"{module}.{name}", module=mod, globs=dict(vars(mod)))
        if not any(f"{name}(" in example.source for test in tests for example in test.examples):
            missing.append(name)
        for test in tests:
            runner.run(test, out=out.write)
    assert not missing, f"{module}: no `>>>` call of itself in the docstring of {', '.join(missing)}"
    assert runner.failures == 0, out.getvalue()[-4000:]
