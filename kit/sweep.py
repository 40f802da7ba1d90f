"""Sweeps: a grid of configs, each trained once into the run store.

Contract with `train_fn` (default kit.train.run): train_fn(config, corpus=corpus, store=store)
trains one run, writes its record to the store (status 'failed' for NaN or divergence) and returns
it. The sweep only checks, skips and collects; it writes a record itself only when train_fn raises,
as status 'failed' with the exception as reason, and goes on with the next run.

A sweep is restartable: every run's record is written as soon as that run ends, and a rerun skips
every config whose id is in the store (ok or failed), so a killed sweep resumes where it stopped.
To retrain a run, delete its record file.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime
import itertools

import numpy as np
import pandas as pd
from tqdm import tqdm

from kit import model
from kit.config import ConfigError, RunConfig, validate
from kit.data import Corpus, check_budget, describe, load_corpus
from kit.store import RunStore, run_id, to_frame

MAX_LISTED = 10  # problems listed in full when a sweep is refused


def grid(base: RunConfig, **axes) -> list[RunConfig]:
    """Every combination of the given field values on top of `base`, the last axis varying fastest,
    e.g. grid(base, n_nonzero=[25_000, 50_000], sparsity=[0.0, 0.5]). Raises ConfigError for an
    unknown field or an invalid combination."""
    fields = [f.name for f in dataclasses.fields(RunConfig)]
    unknown = sorted(set(axes) - set(fields))
    if unknown:
        raise ConfigError(f"grid axes {unknown} are not RunConfig fields; allowed: {fields}")
    for name, values in axes.items():
        if not isinstance(values, (list, tuple, range, np.ndarray)) or len(values) == 0:
            raise ConfigError(f"grid axis {name}={values!r}: give a non-empty list of values")
    configs = []
    for point in itertools.product(*axes.values()):
        changes = {name: v.item() if isinstance(v, np.generic) else v for name, v in zip(axes, point)}
        try:
            configs.append(base.replace(**changes))
        except ConfigError as e:
            raise ConfigError(f"grid point {changes}: {e}") from None
    return configs


def check_sweep(configs: list[RunConfig], corpus: Corpus) -> None:
    """Raise one ConfigError listing every config that is invalid or does not fit the corpus."""
    problems = []
    for k, config in enumerate(configs):
        try:
            if not isinstance(config, RunConfig):
                raise ConfigError(f"a {type(config).__name__}, not a RunConfig")
            validate(config)
            check_budget(corpus, config)
        except ConfigError as e:
            problems.append(f"config {k}: {e}")
    if problems:
        more = [f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
        raise ConfigError(f"{len(problems)} of {len(configs)} configs cannot run on corpus "
                          f"{corpus.name!r}; nothing was trained:\n" + "\n".join(problems[:MAX_LISTED] + more))


def run_sweep(configs, *, store: RunStore | None = None, corpus: Corpus | str | None = None,
              executor: cf.Executor | None = None, train_fn=None, progress: bool = True) -> pd.DataFrame:
    """Train every config not yet in the store; return the frame of all requested runs (in order,
    duplicates once, failed runs included).

    Runs go one after another in this process, or to `executor` (a concurrent.futures.Executor:
    a ProcessPoolExecutor, or dask's client.get_executor()); then train_fn, corpus and store must
    pickle, and the store's folder must be shared with the workers.
    """
    if executor is not None and not isinstance(executor, cf.Executor):
        raise TypeError(f"executor={executor!r}: need a concurrent.futures.Executor "
                        f"(e.g. ProcessPoolExecutor); for dask pass client.get_executor()")
    configs = list(configs)
    store = store if store is not None else RunStore()
    corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus)
    check_sweep(configs, corpus)
    if train_fn is None:
        from kit.train import run as train_fn
    requested = {run_id(c, corpus.fingerprint): c for c in configs}  # in order, duplicates once
    missing = [(id, c) for id, c in requested.items() if not store.has(id)]
    todo = dict(sorted(missing, key=lambda item: cost(item[1])))  # cheapest first: results arrive early
    with tqdm(total=len(todo), desc=f"sweep ({len(requested) - len(todo)} of {len(requested)} stored)",
              disable=not progress) as bar:
        for id, config, outcome in _outcomes(todo, train_fn, corpus, store, executor):
            if isinstance(outcome, BaseException):
                store.put(failed_record(id, config, corpus, outcome))
            elif not (isinstance(outcome, dict) and outcome.get("id") == id and store.has(id)):
                raise RuntimeError(f"train_fn returned without writing run {id} to {store}: it must "
                                   f"put its record (id from kit.store.run_id) and return it")
            bar.update()
    return to_frame([store.get(id) for id in requested])


def cost(config: RunConfig) -> float:
    """Training FLOPs of the dense-shaped model of `config` (what a masked run actually costs)."""
    return model.flops_per_token(model.shape_for(config)) * config.tokens


def _outcomes(todo: dict, train_fn, corpus, store, executor):
    """Yield (id, config, returned record or raised exception) as runs end."""
    if executor is None:
        for id, config in todo.items():
            try:
                yield id, config, train_fn(config, corpus=corpus, store=store)
            except Exception as e:
                yield id, config, e
        return
    futures = {executor.submit(train_fn, c, corpus=corpus, store=store): (id, c) for id, c in todo.items()}
    for future in cf.as_completed(futures):
        id, config = futures[future]
        error = future.exception()
        yield id, config, error if error is not None else future.result()


def failed_record(id: str, config: RunConfig, corpus: Corpus, error: BaseException) -> dict:
    """The record of a run whose training raised `error`."""
    return {"id": id, "status": "failed", "reason": f"{type(error).__name__}: {error}",
            "config": config.to_dict(), "corpus": describe(corpus), "metrics": {}, "curve": {},
            "versions": {}, "checkpoint": None,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
