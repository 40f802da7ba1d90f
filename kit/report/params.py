"""Checks of a chapter's parameters, run in the cell after the parameters cell, before any work.

Each function checks one parameter and returns it normalised (whole numbers as int, lists as
lists, folders as Path), or raises ValueError with one line: the parameter, its value and what is
allowed, e.g. "n_boot = 0: need a whole number >= 1". A chapter reassigns its parameters:

    runs_dir = params.existing_dir("runs_dir", runs_dir)
    sparsities = params.sparsity_list("sparsities", sparsities)
    n_boot = params.positive_int("n_boot", n_boot)

A number may come as text, as papermill passes it from YAML (`-y "n_boot: 1e3"`: YAML reads 1e3, 7e9 and
2.5e6 as strings): every check of a number reads a string written as a Python number ("7e9", "1_000",
"2.5e6", " 0.5 ") as that number, exactly ("7e9" is the int 7000000000 where a whole number is needed;
"7.5" is refused there), and refuses any other string with the same message as any other value.

Importing this module there also checks the parameters' names (`check_injected`): papermill (`-p
famly vit`) injects the parameters it is given as a cell right after the parameters cell, and only
warns about a name the notebook does not declare, so a misspelled parameter would run every
default; kit.report.params refuses it instead, naming the parameters the chapter has.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import math
import sys
from decimal import Decimal
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from kit.engine.config import RunConfig


def _plain(value):
    """numpy scalars and arrays as Python numbers and lists, so that messages read [0.5, 1.0]."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _show(value) -> str:
    text = " ".join(repr(_plain(value)).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(name, value, allowed):
    raise ValueError(f"{name} = {_show(value)}: {allowed}")


def _parsed(value):
    """A string written as a finite Python number ('7e9', '1_000', '2.5e6') as an exact Decimal;
    any other value unchanged."""
    if isinstance(value, str):
        try:
            if math.isfinite(float(value)):  # float() has Python's syntax: no '_1', '1__0', '0x10'
                return Decimal(value.strip())
        except ValueError:
            pass
    return value


def _whole(value):
    """value as an int if it is a whole number (an int, a float such as 1e6, or a string such as
    '7e9', exactly), else None."""
    value = _parsed(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else None
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return None


def _number(value):
    """value as a float if it is a finite real number (not a bool) or a string such as '2.5e6', else None."""
    value = _parsed(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) or not math.isfinite(value):
        return None
    return float(value)


def _items(name, value, example):
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not value:
        _fail(name, value, f"need a non-empty list, e.g. {example}")
    return list(value)


def _distinct(name, value, items):
    twice = sorted({x for x in items if items.count(x) > 1})
    if twice:
        _fail(name, value, f"{twice[0]!r} appears more than once; list each value once")
    return items


def positive_int(name, value, minimum=1) -> int:
    """A whole number >= minimum (default 1): n_boot, n_starts, a size or a token budget.

        >>> positive_int("n_boot", "1e3")
        1000
        >>> positive_int("n_boot", 0)
        Traceback (most recent call last):
        ValueError: n_boot = 0: need a whole number >= 1
    """
    whole = _whole(value)
    if whole is None or whole < minimum:
        _fail(name, value, f"need a whole number >= {minimum}")
    return whole


def positive_int_list(name, value, minimum=1) -> list[int]:
    """A non-empty list of distinct whole numbers >= minimum (default 1), e.g. n_nonzero.

        >>> positive_int_list("n_nonzero", [6912, 13824.0, "2.7648e4"])
        [6912, 13824, 27648]
    """
    items = _items(name, value, "[6912, 13824]")
    for item in items:
        whole = _whole(item)
        if whole is None or whole < minimum:
            _fail(name, value, f"{_show(item)} is not a whole number >= {minimum}; every entry must be")
    return _distinct(name, value, [_whole(item) for item in items])


def token_budgets(name, value) -> list[int]:
    """A non-empty list of distinct token budgets D, whole numbers >= 1 (1e6 is read as 1000000).
    Whether the corpus holds them is checked per run by kit.engine.data before training.

        >>> token_budgets("tokens", [5e5, "1e6", 2_000_000])
        [500000, 1000000, 2000000]
    """
    items = _items(name, value, "[500_000, 1_000_000]")
    for item in items:
        whole = _whole(item)
        if whole is None or whole < 1:
            _fail(name, value, f"{_show(item)} is not a token budget; every budget must be a whole number "
                               f"of tokens >= 1")
    return _distinct(name, value, [_whole(item) for item in items])


def seed(name, value) -> int:
    """A random seed: a whole number >= 0.

        >>> seed("seed", "0")
        0
    """
    return positive_int(name, value, minimum=0)


def seed_list(name, value) -> list[int]:
    """A non-empty list of distinct seeds, whole numbers >= 0.

        >>> seed_list("seeds", [0, 1, 2])
        [0, 1, 2]
    """
    return positive_int_list(name, value, minimum=0)


def sparsity(name, value) -> float:
    """A sparsity S in [0, 1) (the fraction of prunable weights that are zero; 1 would leave none).

        >>> sparsity("sparsity", "0.875")
        0.875
        >>> sparsity("sparsity", 1)
        Traceback (most recent call last):
        ValueError: sparsity = 1: need a sparsity in [0, 1)
    """
    number = _number(value)
    if number is None or not 0.0 <= number < 1.0:
        _fail(name, value, "need a sparsity in [0, 1)")
    return number


def _number_list(name, value, example, inside, what) -> list[float]:
    """A non-empty list of distinct numbers, each one for which inside(number) holds (`what` says
    which: "a sparsity in [0, 1)")."""
    items = _items(name, value, example)
    for item in items:
        number = _number(item)
        if number is None or not inside(number):
            _fail(name, value, f"{_show(item)} is not {what}; every entry must be")
    return _distinct(name, value, [_number(item) for item in items])


def sparsity_list(name, value) -> list[float]:
    """A non-empty list of distinct sparsities, each in [0, 1).

        >>> sparsity_list("sparsities", [0, 0.5, "0.75"])
        [0.0, 0.5, 0.75]
    """
    return _number_list(name, value, "[0.0, 0.5, 0.75]", lambda x: 0.0 <= x < 1.0, "a sparsity in [0, 1)")


def probability(name, value) -> float:
    """A probability strictly between 0 and 1, e.g. the coverage level of an interval (0.95).

        >>> probability("level", 0.95)
        0.95
    """
    number = _number(value)
    if number is None or not 0.0 < number < 1.0:
        _fail(name, value, "need a probability strictly between 0 and 1, e.g. 0.95")
    return number


def positive_number(name, value, maximum=math.inf) -> float:
    """A finite number > 0 and <= maximum, e.g. a threshold in nats or an exponent.

        >>> positive_number("threshold", "0.05", maximum=1)
        0.05
    """
    number = _number(value)
    if number is None or not 0.0 < number <= maximum:
        _fail(name, value, "need a number > 0" + ("" if maximum == math.inf else f" and <= {maximum:g}"))
    return number


def positive_number_list(name, value) -> list[float]:
    """A non-empty list of distinct finite numbers, each > 0, e.g. multiples of a noise level.

        >>> positive_number_list("design_noise", [1, "2.5"])
        [1.0, 2.5]
    """
    return _number_list(name, value, "[1.0, 2.0]", lambda x: 0.0 < x < math.inf, "a number > 0")


def fraction(name, value) -> float:
    """A fraction in [0, 1], e.g. where a pruning window starts or ends, as a share of training.

        >>> fraction("start", 0.25)
        0.25
    """
    number = _number(value)
    if number is None or not 0.0 <= number <= 1.0:
        _fail(name, value, "need a fraction in [0, 1]")
    return number


def fraction_list(name, value) -> list[float]:
    """A non-empty list of distinct fractions, each in [0, 1].

        >>> fraction_list("starts", [0, 0.25, 0.5])
        [0.0, 0.25, 0.5]
    """
    return _number_list(name, value, "[0.0, 0.25, 0.5]", lambda x: 0.0 <= x <= 1.0, "a fraction in [0, 1]")


def increasing_pair(name, value) -> tuple[float, float]:
    """A range [low, high] of two finite numbers with low < high, e.g. log10 of N for a map.

        >>> increasing_pair("log10_N", [6, "9"])
        (6.0, 9.0)
    """
    items = value.tolist() if isinstance(value, np.ndarray) else value
    pair = [_number(v) for v in items] if isinstance(items, (list, tuple)) and len(items) == 2 else [None]
    if None in pair or not pair[0] < pair[1]:
        _fail(name, value, "need a pair [low, high] of finite numbers with low < high")
    return pair[0], pair[1]


def choice(name, value, allowed) -> str:
    """One of the allowed values.

        >>> choice("family", "t5", ("t5", "vit"))
        't5'
        >>> choice("family", "bert", ("t5", "vit"))
        Traceback (most recent call last):
        ValueError: family = 'bert': need one of ['t5', 'vit']
    """
    if value not in allowed:
        _fail(name, value, f"need one of {list(allowed)}")
    return value


def choice_list(name, value, allowed) -> list:
    """A non-empty list of distinct values, each one of the allowed values.

        >>> choice_list("costs", ["dense", "sparse"], ("dense", "sparse", "measured"))
        ['dense', 'sparse']
    """
    items = _items(name, value, list(allowed)[:2])
    for item in items:
        if item not in allowed:
            _fail(name, value, f"{_show(item)} is not one of {list(allowed)}; every entry must be")
    return _distinct(name, value, items)


def nm_patterns(name, value) -> list[tuple[int, int]]:
    """A non-empty list of distinct n:m patterns [n, m], whole numbers with 1 <= n < m (keep n of
    every m weights; sparsity 1 - n/m).

        >>> nm_patterns("patterns", [[2, 4], [1, 4]])
        [(2, 4), (1, 4)]
    """
    items = _items(name, value, "[[2, 4], [1, 4]]")
    out = []
    for item in items:
        pair = [_whole(v) for v in item] if isinstance(item, (list, tuple)) and len(item) == 2 else [None]
        if None in pair or not 1 <= pair[0] < pair[1]:
            _fail(name, value, f"{_show(item)} is not an n:m pattern [n, m] with whole numbers 1 <= n < m")
        out.append(tuple(pair))
    return _distinct(name, value, out)


def number_dicts(name, value, keys) -> list[dict]:
    """A non-empty list of dicts whose keys are among `keys` and whose values are finite positive
    numbers (None allowed, meaning "to be chosen"), e.g. runs to compare [{"N": 1e9, "D": 2e10}]; a
    number written as a string ("1e9") comes back as a float.

        >>> number_dicts("runs", [{"N": "1e9", "D": 2e10}, {"S": 0.8, "N": 2e8, "D": None}], ("S", "N", "D"))
        [{'N': 1000000000.0, 'D': 20000000000.0}, {'S': 0.8, 'N': 200000000.0, 'D': None}]
    """
    items = _items(name, value, [{k: 1.0 for k in list(keys)[:2]}])
    for item in items:
        if not isinstance(item, dict) or not item:
            _fail(name, value, f"{_show(item)} is not a non-empty dict with keys among {list(keys)}")
        unknown = sorted(set(item) - set(keys))
        if unknown:
            _fail(name, value, f"{_show(item)} has keys {unknown}; allowed {list(keys)}")
        bad = [k for k, v in item.items() if v is not None and not (_number(v) is not None and _number(v) > 0)]
        if bad:
            _fail(name, value, f"{_show(item)}: {bad[0]} must be a finite number > 0 (or None)")
    return [{k: _number(v) if isinstance(v, str) else v for k, v in item.items()} for item in items]


def existing_dir(name, value) -> Path | None:
    """An existing folder, or None (the chapter's default, e.g. the repository's runs/). A folder
    that does not exist is an error: a mistyped runs_dir must not start a silent retrain.

        >>> print(existing_dir("runs_dir", "runs"), existing_dir("runs_dir", None))
        runs None
        >>> existing_dir("runs_dir", "rnus")
        Traceback (most recent call last):
        ValueError: runs_dir = 'rnus': no such folder; need an existing folder, or None for the default
    """
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not Path(value).is_dir():
        _fail(name, value, "no such folder; need an existing folder, or None for the default")
    return Path(value)


def existing_path(name, value) -> Path | None:
    """An existing file or folder (e.g. a corpus: a text file, or a folder of .txt/.md files),
    or None for the default.

        >>> print(existing_path("corpus", "README.md"))
        README.md
    """
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not Path(value).exists():
        _fail(name, value, "no such file or folder; need an existing path, or None for the default")
    return Path(value)


def corpus(name, value) -> str | Path | None:
    """A corpus: None (the default, Shakespeare), a named corpus ('shakespeare', or one read from
    pinned wheels such as 'pycode', kit.engine.data), or an existing text file or folder.

        >>> corpus("corpus", "pycode"), corpus("corpus", None)
        ('pycode', None)
    """
    from kit.engine.data import DEFAULT, WHEEL_CORPORA
    if value in (DEFAULT, *WHEEL_CORPORA):
        return value
    if isinstance(value, str) and not value.strip():
        _fail(name, value, f"an empty name; need None, {DEFAULT!r}, one of {list(WHEEL_CORPORA)} or an existing path")
    try:
        return existing_path(name, value)
    except ValueError:
        _fail(name, value, f"no such corpus; need None, {DEFAULT!r}, one of {list(WHEEL_CORPORA)}, or an existing "
                           f"text file or folder")


def output_dir(name, value) -> Path | None:
    """A folder to write to (created when needed; e.g. results_dir), or None to write nothing.

        >>> print(output_dir("results_dir", "book/_executed/results"), output_dir("results_dir", None))
        book/_executed/results None
    """
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not str(value) or (Path(value).exists() and not Path(value).is_dir()):
        _fail(name, value, "need a folder path (created if missing, not an existing file), or None")
    return Path(value)


def config_fields(name, value) -> dict:
    """A dict of kit.engine.config.RunConfig fields to set on every run (e.g. {"seq_len": 16}); the
    values are checked with each run's config, before training. A number written as a string is
    read as one for a field of numbers ({"lr": "3e-3"} gives 0.003, {"seq_len": "1.6e1"} 16).

        >>> config_fields("config", {"lr": "3e-3", "seq_len": "1.6e1", "schedule": "cubic"})
        {'lr': 0.003, 'seq_len': 16, 'schedule': 'cubic'}
    """
    types = {f.name: f.type for f in dataclasses.fields(RunConfig)}
    if not isinstance(value, dict):
        _fail(name, value, 'need a dict of RunConfig fields, e.g. {"seq_len": 16}')
    unknown = [key for key in value if key not in types]
    if unknown:
        _fail(name, value, f"{unknown[0]!r} is not a RunConfig field; the fields are {', '.join(types)}")
    read = {"int": _whole, int: _whole, "float": _number, float: _number}
    out = {}
    for key, item in value.items():
        number = read[types[key]](item) if isinstance(item, str) and types[key] in read else None
        out[key] = item if number is None else number
    return out


INJECTED_HEADER = "# Parameters"  # the first line of the cell papermill injects (its Python translator)


def _assignments(source: str) -> dict | None:
    """{name: value (or its source text)} of the top-level assignments of a cell, or None if it does
    not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    try:
                        out[target.id] = ast.literal_eval(node.value)
                    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                        out[target.id] = ast.get_source_segment(source, node.value)
    return out


def unknown_injected(history: list[str]) -> list[tuple[str, object, list[str]]]:
    """[(name, value, declared names)] for every parameter that papermill injected and the
    notebook's parameters cell does not assign; [] if none (or nothing was injected).

    `history`: the sources of the cells executed so far, in order (IPython's `In`): papermill's
    injected cell starts with INJECTED_HEADER and runs right after the parameters cell. The last
    injected cell counts.

        >>> unknown_injected(["n_boot = 100\\nfamily = 't5'", "# Parameters\\nn_bot = 10\\n"])
        [('n_bot', 10, ['n_boot', 'family'])]
    """
    for k in range(len(history) - 1, 0, -1):
        if history[k].lstrip().startswith(INJECTED_HEADER):
            injected, declared = _assignments(history[k]), _assignments(history[k - 1])
            if not injected or not declared:  # no parameters cell before it: papermill put it first
                return []
            return [(name, value, list(declared)) for name, value in injected.items() if name not in declared]
    return []


def check_injected(history: list[str] | None = None) -> None:
    """Raise ValueError (one line) if papermill injected a parameter the notebook does not declare,
    naming it, its value, the nearest declared name and all of them. `history`: the executed cells'
    sources (default: this IPython kernel's `In`; outside IPython nothing is checked).

        >>> check_injected(["n_boot = 100\\nfamily = 't5'", "# Parameters\\nn_bot = 10\\n"])
        Traceback (most recent call last):
        ValueError: n_bot = 10: not a parameter of this notebook, so papermill would run every default; did you mean n_boot? its parameters are n_boot, family
    """
    if history is None:
        history = _kernel_history()
    unknown = unknown_injected(history or [])
    if unknown:
        name, value, declared = unknown[0]
        close = difflib.get_close_matches(name, declared, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        more = [u[0] for u in unknown[1:]]
        others = f" (and {len(more)} more unknown: {', '.join(more)})" if more else ""
        _fail(name, value, f"not a parameter of this notebook, so papermill would run every default{others}; "
                           f"{hint}its parameters are {', '.join(declared)}")


def _kernel_history() -> list[str] | None:
    """The sources of the cells this IPython kernel ran (its `In`), or None outside IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    history = getattr(shell, "user_ns", {}).get("_ih") if shell is not None else None
    return list(history) if isinstance(history, list) else None


check_injected()  # chapters import kit.report.params in the cell right after the (injected) parameters
