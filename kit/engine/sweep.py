"""Sweeps: a grid of configs, each trained once into the run store.

Contract with `train_fn` (default kit.engine.train.run): train_fn(config, corpus=corpus, store=store)
trains one run, writes its record to the store (status 'failed' for NaN or divergence: a result
of that config) and returns it. The sweep only checks, skips and collects; it never writes a record.

Before anything trains, the sweep refuses configs that are invalid, do not fit the corpus or
continue a run the store lacks (ConfigError), and a store it cannot write (kit.engine.store.StoreError).
A run that raises (out of memory, a lost worker, a full disk) is not a result. In this process the
sweep starts no further run; with an executor, every run already handed to it still ends and keeps
its record (dask cannot stop a run once a worker has started it, so stopping some would leave them
running behind the next sweep's back). Then it raises SweepError naming that run. Nothing is
recorded for it, so a rerun trains it again.

A sweep is restartable: every run's record is written as soon as that run ends, and a rerun skips
every config whose id is in the store (ok or failed), so a stopped sweep resumes where it stopped.
To retrain a run, delete its record file.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from kit.engine import model, threads, throughput
from kit.engine.config import ConfigError, RunConfig, validate
from kit.engine.data import Corpus, check_budget, load_corpus
from kit.engine.store import RunStore, run_id, to_frame

MAX_LISTED = 10  # problems listed in full when a sweep is refused


class SweepError(RuntimeError):
    """A run of a sweep raised instead of returning its record; nothing was recorded for it.

        >>> isinstance(SweepError("run 0123456789abcdef raised MemoryError"), RuntimeError)
        True
    """


def grid(base: RunConfig, **axes) -> list[RunConfig]:
    """Every combination of the given field values on top of `base`, the last axis varying fastest.
    Raises ConfigError for an unknown field or an invalid combination.

        >>> configs = grid(RunConfig(), n_nonzero=[25_000, 50_000], sparsity=[0.0, 0.5])
        >>> [(c.n_nonzero, c.sparsity) for c in configs]
        [(25000, 0.0), (25000, 0.5), (50000, 0.0), (50000, 0.5)]
    """
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


def check_sweep(configs: list[RunConfig], corpus: Corpus, store: RunStore | None = None) -> None:
    """Raise one ConfigError listing every config that is invalid or does not fit the corpus, and,
    given the store, every config the store lacks that continues (init_from) a run the store does
    not hold finished with a checkpoint.

        >>> check_sweep([RunConfig(), RunConfig(tokens=2**30)], load_corpus())
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: 1 of 2 configs cannot run on corpus 'shakespeare'; nothing was trained:
        config 1: tokens=1073741824 exceeds the capacity of corpus 'shakespeare': ...
    """
    problems = []
    for k, config in enumerate(configs):
        try:
            if not isinstance(config, RunConfig):
                raise ConfigError(f"a {type(config).__name__}, not a RunConfig")
            validate(config)
            check_budget(corpus, config)
            config.check_trainable()  # the model built has the size asked for and fits in memory
            if store is not None and config.init_from is not None and not store.has(run_id(config, corpus.fingerprint)):
                check_parent(config.init_from, store)
        except ConfigError as e:
            problems.append(f"config {k}: {e}")
    if problems:
        more = [f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else []
        raise ConfigError(f"{len(problems)} of {len(configs)} configs cannot run on corpus "
                          f"{corpus.name!r}; nothing was trained:\n" + "\n".join(problems[:MAX_LISTED] + more))


def check_parent(parent_id: str, store: RunStore) -> None:
    """Raise ConfigError unless the store holds run `parent_id` finished with a saved checkpoint.

        >>> check_parent("0123456789abcdef", RunStore("runs"))  # the repository's store, only read here
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: init_from='0123456789abcdef': no finished run with a saved checkpoint
        in .../runs; train that run first (save_checkpoint=True), in an earlier sweep
    """
    parent = store.get(parent_id) if store.has(parent_id) else None
    if parent is None or parent["status"] != "ok" or not parent.get("checkpoint"):
        raise ConfigError(f"init_from={parent_id!r}: no finished run with a saved checkpoint in {store.root}; "
                          f"train that run first (save_checkpoint=True), in an earlier sweep")


ORDERS = ("balanced", "cheapest")  # run_sweep's orders of the runs trained side by side


def run_sweep(configs, *, store: RunStore | None = None, corpus: Corpus | str | None = None,
              executor: cf.Executor | None = None, train_fn=None, progress: bool = True,
              parallel: int | None = None, on_record=None, order: str = "balanced") -> pd.DataFrame:
    """Train every config not yet in the store; return the frame of all requested runs (in order,
    duplicates once, failed runs included). Raises ConfigError or StoreError before anything trains,
    and SweepError if a run raises (see the module docstring).

    Without `executor`, runs are trained here, side by side where that pays: `parallel` runs at
    a time, each in a process of its own with single-threaded XLA (1: one after another in this
    process, on all cores); by default, for each run, as many as the measured throughput table
    says pays at its width (kit.engine.throughput; the runs trained side by side go first). A run's
    record is the same whichever way it is scheduled (tests/test_sweep.py checks it). With
    `executor` (a concurrent.futures.Executor: a ProcessPoolExecutor with the spawn start method,
    or dask's client.get_executor(pure=False): a pure executor would hand back the exception it
    still holds for a call that raised), runs go there; then train_fn, corpus and store must
    pickle, and the store's folder must be a path every worker (and this process) reads and
    writes. `on_record(record)` is called as each run ends. `order`: "balanced" sends the costliest
    runs to the side-by-side workers first, so the lanes end together; "cheapest" sends the cheapest
    first, so that a long sweep committed as it goes has its short runs early (its lanes may end
    unevenly). Runs trained one after another here go cheapest first either way.

        >>> import tempfile
        >>> tiny = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=50 * 128, eval_tokens=1024)
        >>> frame = run_sweep([tiny], store=RunStore(tempfile.mkdtemp()), parallel=1, progress=False)
        >>> frame[["n_nonzero", "steps", "status"]].values.tolist()
        [[1536, 50, 'ok']]
    """
    if executor is not None and not isinstance(executor, cf.Executor):
        raise TypeError(f"executor={executor!r}: need a concurrent.futures.Executor "
                        f"(e.g. ProcessPoolExecutor); for dask pass client.get_executor()")
    if order not in ORDERS:
        raise ConfigError(f"order={order!r}: allowed {', '.join(ORDERS)}")
    if parallel is not None and not (isinstance(parallel, int) and parallel >= 1):
        raise ConfigError(f"parallel={parallel!r}: the number of runs side by side must be an int >= 1 "
                          f"(or None: as the measured throughput table says)")
    configs = list(configs)
    store = store if store is not None else RunStore()
    source = corpus  # what worker processes load the corpus from (a name or path pickles small)
    corpus = corpus if isinstance(corpus, Corpus) else load_corpus(corpus)
    check_sweep(configs, corpus, store)
    if train_fn is None:
        from kit.engine.train import run as train_fn
    requested = {run_id(c, corpus.fingerprint): c for c in configs}  # in order, duplicates once
    missing = [(id, c) for id, c in requested.items() if not store.has(id)]
    todo = dict(sorted(missing, key=lambda item: cost(item[1])))  # cheapest first: results arrive early
    if todo:
        store.check_writable()  # a store that only needs reading may be read-only
    with tqdm(total=len(todo), desc=f"sweep ({len(requested) - len(todo)} of {len(requested)} stored)",
              disable=not progress) as bar:
        if executor is not None:
            records = _records(todo, train_fn, corpus, store, executor)
        else:
            records = _scheduled(todo, train_fn, corpus, source, store, parallel, order)
        for id, record in records:
            if not (isinstance(record, dict) and record.get("id") == id and store.has(id)):
                raise RuntimeError(f"train_fn returned without writing run {id} to {store}: it must "
                                   f"put its record (id from kit.engine.store.run_id) and return it")
            bar.update()
            if on_record is not None:
                on_record(record)
    return to_frame([store.get(id) for id in requested])


def cost(config: RunConfig) -> float:
    """Training FLOPs of the dense-shaped model of `config` (what a masked run actually costs).

        >>> f"{cost(RunConfig()):.3g}", f"{cost(RunConfig(sparsity=0.75)):.3g}"  # 75% sparse: twice as wide
        ('4.64e+11', '1.55e+12')
    """
    return model.flops_per_token(model.shape_for(config)) * config.tokens


def lanes(configs: list[RunConfig], parallel: int | None = None) -> list[int]:
    """How many runs side by side each config is trained with: `parallel` for all, or what the
    measured throughput table says pays at each config's width (kit.engine.throughput.side_by_side).

        >>> lanes([RunConfig(), RunConfig(sparsity=0.5)], parallel=2)
        [2, 2]
    """
    if parallel is not None:
        return [parallel] * len(configs)
    return throughput.side_by_side([(model.shape_for(c).d_model, c.steps) for c in configs], throughput.load_table())


def _scheduled(todo: dict, train_fn, corpus, source, store, parallel, order="balanced"):
    """Yield (id, record) as runs end: first the runs that pay side by side, in a pool of
    single-threaded worker processes (the costliest first, or with order="cheapest" the cheapest),
    then the rest one after another here (the cheapest first)."""
    n_lanes = dict(zip(todo, lanes(list(todo.values()), parallel)))
    # balanced: costliest first into the pool, so the lanes finish together (longest processing time first)
    sign = -1 if order == "balanced" else 1
    side = {id: c for id, c in sorted(todo.items(), key=lambda item: sign * cost(item[1])) if n_lanes[id] > 1}
    if side:
        with threads.pool(max(n_lanes[id] for id in side)) as pool:
            # a worker loads a named corpus itself (cached there) rather than unpickling it per run
            sent = source if source is None or isinstance(source, (str, Path)) else corpus
            yield from _records(side, train_fn, sent, store, pool)
    yield from _records({id: c for id, c in todo.items() if n_lanes[id] == 1}, train_fn, corpus, store, None)


def _records(todo: dict, train_fn, corpus, store, executor):
    """Yield (id, returned record) as runs end; raise SweepError at the first run that raises."""
    if executor is None:
        for done, (id, config) in enumerate(todo.items()):
            try:
                record = train_fn(config, corpus=corpus, store=store)
            except Exception as e:
                raise _sweep_error(id, config, e, done, len(todo), 0) from e
            yield id, record
        return
    futures = {executor.submit(train_fn, c, corpus=corpus, store=store): (id, c) for id, c in todo.items()}
    failed = None
    try:
        for future in cf.as_completed(futures):
            id, config = futures[future]
            error = future.exception()
            if error is None:
                yield id, future.result()
            elif failed is None:
                failed = (id, config, error)
    except BaseException:  # Ctrl-C, or the sweep closed early: runs not started never start
        for future in futures:
            future.cancel()  # (those in flight finish and are stored, as a run in this process would be)
        raise
    if failed is not None:
        id, config, error = failed
        done = sum(f.exception() is None for f in futures)
        others = len(futures) - done - 1
        raise _sweep_error(id, config, error, done, len(todo), others) from error


def _sweep_error(id: str, config: RunConfig, error: BaseException, done: int, total: int,
                 others: int) -> SweepError:
    changed = ", ".join(f"{f.name}={getattr(config, f.name)!r}" for f in dataclasses.fields(config)
                        if getattr(config, f.name) != f.default)
    what = (str(error).strip().splitlines() or [""])[0]
    also = f"; {others} other run(s) raised too" if others else ""
    return SweepError(f"run {id} ({changed or 'the default config'}) raised {type(error).__name__}: {what}; "
                      f"nothing was recorded for it, so rerunning the sweep trains it again "
                      f"({done} of {total} runs to train had finished and are stored{also})")
