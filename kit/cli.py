"""Command line: train one configuration, or a grid, into the run store.

    python -m kit train --n_nonzero 20000 --sparsity 0.5 --tokens 1048576
    python -m kit sweep --grid sparsity=0,0.5,0.75 tokens=1048576,2097152 --set n_nonzero=20000
    python -m kit sweep ... --dask 2          # on a local Dask cluster with 2 workers
    python -m kit --runs /shared/runs sweep ... --dask-scheduler tcp://host:8786   # on a running cluster
    python -m kit ls                          # what the store holds

Every RunConfig field is an option of `train` (see `python -m kit train --help`); `sweep` takes
`--grid field=v1,v2,...` axes and `--set field=value` for the fixed fields. `--runs DIR` picks the
run store (default: the repo's runs/), `--corpus PATH` a text file or folder instead of Shakespeare.
On a cluster, the run store must be a folder that this machine and every worker read and write at
the same path, and the workers must run this kit in the same environment.

Exit status: 0 done; 1 a run raised (out of memory, a lost worker, ...; nothing was recorded for
it, so rerunning trains it again), the store is not writable or holds a broken record, or the
scheduler cannot be reached; 2 a bad option or configuration (nothing was trained).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import typing

from kit.config import ConfigError, RunConfig


BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_value(field: str, text: str):
    """Parse `text` for RunConfig field `field` ('1e6' is fine for int fields; nm takes '2:4')."""
    kind = {f.name: f.type for f in dataclasses.fields(RunConfig)}.get(field)
    if kind is None:
        raise ConfigError(f"unknown field {field!r}; allowed: {[f.name for f in dataclasses.fields(RunConfig)]}")
    if text.lower() == "none":
        return None
    try:
        if field == "nm":
            n, m = text.split(":")
            return (int(n), int(m))
        if kind.startswith("int"):
            value = float(text)
            if value != int(value):
                raise ValueError
            return int(value)
        if kind.startswith("float"):
            return float(text)
    except (ValueError, OverflowError):
        expected = ("n:m ints such as 2:4" if field == "nm" else
                    "an integer such as 1000 or 1e6" if kind.startswith("int") else "a number")
        raise ConfigError(f"{field}={text!r}: expected {expected}") from None
    if kind.startswith("bool"):
        if text.lower() not in BOOLS:
            raise ConfigError(f"{field}={text!r}: allowed {sorted(BOOLS)}")
        return BOOLS[text.lower()]
    return text


def parse_assignments(items: list[str], taken: dict | None = None) -> dict:
    """{field: text} from 'field=text' items; a field given twice, or already in `taken`, is an error."""
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{item!r}: expected field=value")
        field, text = item.split("=", 1)
        if field in out or field in (taken or {}):
            where = "in both --set and --grid" if field in (taken or {}) else "twice"
            raise ConfigError(f"{field!r} is given {where}; give each field once")
        out[field] = text
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=None, help="run store folder (default: the repo's runs/)")
    parser.add_argument("--corpus", default=None, help="text file or folder (default: Shakespeare)")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train one configuration")
    for f in dataclasses.fields(RunConfig):
        train.add_argument(f"--{f.name}", default=None, metavar=typing.cast(str, f.type),
                           help=f"default: {f.default}")

    sweep = sub.add_parser("sweep", help="train every missing configuration of a grid")
    sweep.add_argument("--grid", nargs="+", default=[], metavar="FIELD=V1,V2", help="grid axes")
    sweep.add_argument("--set", nargs="+", default=[], metavar="FIELD=V", help="fixed fields")
    cluster = sweep.add_mutually_exclusive_group()
    cluster.add_argument("--dask", type=int, default=None, metavar="WORKERS",
                         help="run on a local Dask cluster with this many worker processes (>= 1)")
    cluster.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                         help="run on the running Dask cluster with this scheduler, e.g. tcp://host:8786; "
                              "--runs must be a folder every worker shares at the same path")

    sub.add_parser("ls", help="list the runs in the store")

    plan = sub.add_parser("plan", help="should I sparsify? the sparse scaling law as a planner (kit.plan)",
                          description="Loss, cost, optimal sparsity and payoff of runs by a sparse scaling law, "
                          "e.g. `plan --run N=1e9,D=20e9 --run S=0.8,N=200e6,D=100e9`: a dense 1B model on "
                          "20B tokens against an 80%-sparse model of 200M non-zeros on 100B tokens (T5 law).")
    plan.add_argument("--run", action="append", default=[], metavar="S=..,N=..,D=..",
                      help="a run: S sparsity (default 0; 'opt': the optimal one), N non-zero parameters, "
                           "and D tokens or C training FLOPs; repeat to compare runs")
    plan.add_argument("--law", default="t5", help="'t5' or 'vit' (Table 7) or a JSON file of coefficients")
    plan.add_argument("--cost", nargs="+", default=["dense", "sparse", "measured"],
                      help="cost models: dense, sparse (zeros free), measured (a speedup curve)")
    plan.add_argument("--speedup", default=None, metavar="FILE",
                      help="measured speedups (default: data/sparse_speed/measured.json)")
    plan.add_argument("--kernel", default="jax-bcsr", help="implementation of the measured curve")
    plan.add_argument("--layer", default="t5-base", help="layer shape of the measured curve")
    plan.add_argument("--window", nargs=2, default=["0.25", "0.75"], metavar=("START", "END"),
                      help="pruning window, fractions of training")
    plan.add_argument("--schedule", default="cubic", help="cubic or geometric")
    plan.add_argument("--k", default=None, help="FLOPs per non-zero parameter and token (default: 3 for t5, else 6)")
    plan.add_argument("--samples", default=None, metavar="CSV",
                      help="bootstrap samples of the coefficients (one row each): adds 95%% intervals")
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "plan":  # the planner reads no run store
        from kit import plan
        return plan.command(args)
    from kit.store import RunStore  # imported late: --help stays fast
    from kit.store import StoreError
    from kit.sweep import SweepError
    store = RunStore(args.runs) if args.runs else RunStore()
    try:
        if args.command == "train":
            from kit import train
            fields = {k: parse_value(k, v) for k, v in vars(args).items()
                      if k in {f.name for f in dataclasses.fields(RunConfig)} and v is not None}
            record = train.run(RunConfig(**fields), corpus=args.corpus, store=store)
            print(json.dumps({"id": record["id"], "status": record["status"], "reason": record["reason"],
                              **{k: record["metrics"].get(k) for k in ("final_loss", "nnz", "d_model", "wall_s")}},
                             indent=1))
        elif args.command == "sweep":
            from kit import sweep
            if args.dask is not None and args.dask < 1:
                raise ConfigError(f"--dask {args.dask}: the number of local Dask workers must be >= 1 "
                                  f"(leave --dask out to train in this process)")
            fixed = parse_assignments(args.set)
            base = RunConfig(**{k: parse_value(k, v) for k, v in fixed.items()})
            axes = {k: [parse_value(k, v) for v in vs.split(",")]
                    for k, vs in parse_assignments(args.grid, taken=fixed).items()}
            configs = sweep.grid(base, **axes)
            if args.dask is None and args.dask_scheduler is None:
                frame = sweep.run_sweep(configs, store=store, corpus=args.corpus)
            else:
                with dask_client(args.dask, args.dask_scheduler) as client:
                    frame = sweep.run_sweep(configs, store=store, corpus=args.corpus, executor=client.get_executor(pure=False))
            print(frame.to_string())
        else:
            frame = store.frame()
            print(frame.to_string() if len(frame) else f"no runs in {store.root}")
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (SweepError, StoreError, SchedulerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


class SchedulerError(RuntimeError):
    """The Dask scheduler given by address cannot be reached."""


@contextlib.contextmanager
def dask_client(n_workers: int | None, address: str | None):
    """A dask Client: of a new local cluster of n_workers single-threaded worker processes
    (started with spawn, never fork: the parent may have started JAX's threads), or of the running
    cluster whose scheduler is at `address`."""
    import dask
    from dask.distributed import Client, LocalCluster
    if address is None:
        with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}), \
                LocalCluster(n_workers=n_workers, threads_per_worker=1) as cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address)
    except ValueError as e:
        raise ConfigError(f"--dask-scheduler {address}: {e}; give an address such as tcp://host:8786") from None
    except OSError as e:
        raise SchedulerError(f"--dask-scheduler {address}: cannot connect ({' '.join(str(e).split())}); "
                             f"is `dask scheduler` running there and reachable from here?") from None
    with client:
        yield client
