"""Command line: train one configuration, or a grid, into the run store.

    python -m kit train --n_nonzero 20000 --sparsity 0.5 --tokens 1048576
    python -m kit sweep --grid sparsity=0,0.5,0.75 tokens=1048576,2097152 --set n_nonzero=20000
    python -m kit sweep ... --dask 2          # on a local Dask cluster with 2 workers (on 127.0.0.1)
    python -m kit --runs /shared/runs sweep ... --dask-scheduler tcp://host:8786   # on a running cluster
    python -m kit ls                          # what the store holds, and the runs in progress
    python -m kit ls --where "sparsity > 0" --columns id,n_nonzero,final_loss --csv

Every RunConfig field is an option of `train` (see `python -m kit train --help`); `sweep` takes
`--grid field=v1,v2,...` axes and `--set field=value` for the fixed fields. `--runs DIR` picks the
run store (default: the repo's runs/), `--corpus PATH` a text file or folder instead of Shakespeare.
On a cluster, the run store must be a folder that this machine and every worker read and write at
the same path, and the workers must run this kit in the same environment. The local cluster of
`--dask N` listens (scheduler, workers, dashboard) on 127.0.0.1 only unless `--dask-host` says
otherwise. A scheduler that does not answer Dask's handshake within `--dask-timeout` seconds is
refused, and a sweep whose cluster has had no worker for NO_WORKER_WAIT seconds stops.

Exit status: 0 done; 1 a run raised (out of memory, a lost worker, ...; nothing was recorded for
it, so rerunning trains it again), the store is not writable or holds a broken record, the
scheduler cannot be reached or no worker is left; 2 a bad option or configuration (nothing was
trained); 130 interrupted (Ctrl-C): the runs that finished are stored, rerunning trains the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures as cf
import contextlib
import dataclasses
import json
import math
import os
import socket
import sys
import threading
import time
import typing

from kit.engine.config import ConfigError, RunConfig

DASK_HOST = "127.0.0.1"  # where a local cluster listens unless --dask-host says otherwise
DASK_TIMEOUT = 5.0  # seconds for a scheduler to answer Dask's handshake (--dask-timeout)
NO_WORKER_WAIT = 30.0  # seconds a sweep waits on a cluster with no worker before it stops
POLL_S = 1.0  # how often a sweep asks the scheduler how many workers it has

BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_value(field: str, text: str):
    """Parse `text` for RunConfig field `field` ('1e6' is fine for int fields; nm takes '2:4').

        >>> parse_value("tokens", "1e6"), parse_value("sparsity", "0.5"), parse_value("nm", "2:4")
        (1000000, 0.5, (2, 4))
    """
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
    """{field: text} from 'field=text' items; a field given twice, or already in `taken`, is an error.

        >>> parse_assignments(["sparsity=0,0.5", "tokens=1048576"], taken={"n_nonzero": "20000"})
        {'sparsity': '0,0.5', 'tokens': '1048576'}
    """
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
    """The parser of `python -m kit`: its options and subcommands train, sweep, ls and plan.

        >>> args = build_parser().parse_args(["--runs", "/tmp/runs", "ls", "--where", "sparsity > 0", "--csv"])
        >>> args.command, args.runs, args.where, args.csv
        ('ls', '/tmp/runs', 'sparsity > 0', True)
    """
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
    sweep.add_argument("--dask-host", default=None, metavar="ADDRESS",
                       help=f"with --dask: the address the local cluster (scheduler, workers, dashboard) "
                            f"listens on (default {DASK_HOST}: this machine only; 0.0.0.0: every interface)")
    sweep.add_argument("--dask-timeout", default=None, metavar="SECONDS",
                       help=f"with --dask-scheduler: seconds to wait for the scheduler to answer "
                            f"(default {DASK_TIMEOUT:g})")

    sweep.add_argument("--parallel", type=int, default=None, metavar="N",
                       help="runs side by side in this machine, each in a process of its own with single-threaded "
                            "XLA (1: one at a time on all cores; default: as data/engine/throughput.json says pays "
                            "at each run's width, kit.engine.throughput)")

    ls = sub.add_parser("ls", help="list the runs in the store, and the runs in progress",
                        description="The runs in the store as a table (one row per run), then the runs in "
                                    "progress (a saved partial state, kit.engine.resume) with their step. E.g. "
                                    "`ls --where \"sparsity > 0 and tokens >= 2e6\" --columns id,sparsity,final_loss --csv`.")
    ls.add_argument("--columns", default=None, metavar="A,B,...",
                    help=f"columns to show ('all': every config field and metric; default: {','.join(LS_COLUMNS)})")
    ls.add_argument("--where", default=None, metavar="EXPR",
                    help="keep the rows for which this pandas query is true, e.g. \"status == 'ok' and n_nonzero < 1e5\"")
    fmt = ls.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV (runs only)")
    fmt.add_argument("--json", action="store_true", help="print JSON: {runs: [...], in_progress: [...]}")

    plan = sub.add_parser("plan", help="should I sparsify? the sparse scaling law as a planner (kit.planner.plan)",
                          description="Loss, cost, optimal sparsity and payoff of runs by a sparse scaling law, "
                          "e.g. `plan --run N=1e9,D=20e9 --run S=0.8,N=200e6,D=100e9`: a dense 1B model on "
                          "20B tokens against an 80%-sparse model of 200M non-zeros on 100B tokens (T5 law).")
    plan.add_argument("--run", action="append", default=[], metavar="S=..,N=..,D=..",
                      help="a run: S sparsity (default 0, dense; 'opt': the optimal one), N non-zero parameters, "
                           "and D tokens or C training FLOPs; repeat to compare runs")
    plan.add_argument("--law", default="t5", help="'t5' or 'vit' (Table 7), 't5-refit' (the book's refit of the T5 "
                                                  "runs) or a JSON law file: its seven coefficients and k (README)")
    plan.add_argument("--cost", nargs="+", default=["dense", "sparse"],
                      help="cost models: dense, sparse (zeros free), measured (a speedup curve, on request)")
    plan.add_argument("--speedup", default=None, metavar="FILE",
                      help="the measured cost's speedups: kit.planner.sparse_speed measurements (default: "
                           "data/sparse_speed/measured.json, one CPU core) or a speed table of your own (JSON: "
                           "kernel, hardware, backend, layer, date, S, speedup)")
    plan.add_argument("--kernel", default="jax-bcsr", help="implementation of the measured curve (measurements)")
    plan.add_argument("--layer", default="t5-base", help="layer shape of the measured curve (measurements)")
    plan.add_argument("--window", nargs=2, default=["0.25", "0.75"], metavar=("START", "END"),
                      help="pruning window, fractions of training")
    plan.add_argument("--schedule", default="cubic", help="cubic or geometric")
    plan.add_argument("--k", default=None, help="FLOPs per non-zero parameter and token (default: the law's, 3 for T5)")
    plan.add_argument("--samples", default=None, metavar="CSV",
                      help="bootstrap samples of the coefficients, one row each (default: the law's own)")
    plan.add_argument("--no-intervals", action="store_true", help="leave out the 95%% intervals")
    plan.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def main(argv: list[str] | None = None) -> int:
    """`python -m kit ...` (argv: its arguments, default sys.argv[1:]): runs the command and
    returns its exit status (see this module's docstring).

        >>> import tempfile
        >>> main(["--runs", tempfile.mkdtemp(), "ls"])  # a new, empty store
        no runs in /...
        0
    """
    args = build_parser().parse_args(argv)
    if args.command == "plan":  # the planner reads no run store
        return plan_command(args)
    asked = _Asked()
    try:
        return _command(args, asked)
    except KeyboardInterrupt:
        print(f"interrupted: {asked.finished()}; rerun the same command to train the rest", file=sys.stderr)
        return 130


@dataclasses.dataclass
class _Asked:
    """What a command asked for, as far as it got: the store, the configs and the corpus (to count
    the finished runs when it stops)."""
    store: typing.Any = None
    configs: list = dataclasses.field(default_factory=list)
    corpus: typing.Any = None

    def finished(self) -> str:
        """'N of the M runs asked for are finished and stored in DIR', or what stopped before."""
        if self.store is None:
            return "nothing was trained"
        if self.corpus is None or not self.configs:
            return f"no run had started; the run store is {self.store.root}"
        from kit.engine.store import run_id
        ids = {run_id(c, self.corpus.fingerprint) for c in self.configs}
        stored = sum(self.store.has(id) for id in ids)
        return f"{stored} of the {len(ids)} runs asked for are finished and stored in {self.store.root}"


def _command(args, asked: _Asked) -> int:
    from kit.engine.store import RunStore  # imported late: --help stays fast
    from kit.engine.store import StoreError
    from kit.engine.sweep import SweepError
    try:
        if args.runs is not None and not args.runs.strip():
            raise ConfigError(f"--runs {args.runs!r}: an empty folder name; give a folder, or leave --runs out "
                              f"for the repository's runs/")
        store = asked.store = RunStore(args.runs)
        if args.command == "train":
            from kit.engine import data, train
            fields = {k: parse_value(k, v) for k, v in vars(args).items()
                      if k in {f.name for f in dataclasses.fields(RunConfig)} and v is not None}
            asked.configs = [RunConfig(**fields)]
            corpus = asked.corpus = data.load_corpus(args.corpus)  # "" too: kit.engine.data refuses it
            record = train.run(asked.configs[0], corpus=corpus, store=store)
            print(json.dumps({"id": record["id"], "status": record["status"], "reason": record["reason"],
                              **{k: record["metrics"].get(k) for k in ("final_loss", "nnz", "d_model", "wall_s")}},
                             indent=1))
        elif args.command == "sweep":
            from kit.engine import data, sweep
            cluster = check_dask_options(args)
            fixed = parse_assignments(args.set)
            base = RunConfig(**{k: parse_value(k, v) for k, v in fixed.items()})
            axes = {k: [parse_value(k, v) for v in vs.split(",")]
                    for k, vs in parse_assignments(args.grid, taken=fixed).items()}
            configs = asked.configs = sweep.grid(base, **axes)
            corpus = asked.corpus = data.load_corpus(args.corpus)
            if cluster is None:
                frame = sweep.run_sweep(configs, store=store, corpus=corpus, parallel=args.parallel)
            else:
                with dask_client(**cluster) as client, _WatchedExecutor(client) as executor:
                    try:
                        frame = sweep.run_sweep(configs, store=store, corpus=corpus, executor=executor)
                    except SweepError:
                        if executor.lost is None:
                            raise
                        raise SchedulerError(f"{executor.lost}; {asked.finished()}; start workers and rerun "
                                             f"the same command to train the rest") from None
            print(frame.to_string())
        else:
            print(list_runs(store, args.columns, args.where, "csv" if args.csv else "json" if args.json else "text"))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (SweepError, StoreError, SchedulerError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


LS_COLUMNS = ("id", "status", "corpus", "n_nonzero", "sparsity", "tokens", "seed", "lr", "d_model", "final_loss",
              "wall_s")


def list_runs(store, columns: str | None = None, where: str | None = None, form: str = "text") -> str:
    """`kit ls`: the store's runs (the LS_COLUMNS, `columns` or 'all'; rows where the pandas query
    `where` holds) as text, CSV or JSON, and the runs in progress (kit.engine.resume.in_progress).

        >>> import tempfile
        >>> from kit.engine.store import RunStore
        >>> print(list_runs(RunStore(tempfile.mkdtemp()), form="json"))  # a new, empty store
        {
         "runs": [],
         "in_progress": []
        }
    """
    from kit.engine import resume
    frame = store.frame()
    if where is not None:
        try:
            frame = frame.query(where)
        except Exception as e:  # pandas raises many kinds for a bad expression
            raise ConfigError(f"--where {where!r}: not a query over the run table's columns ({type(e).__name__}: "
                              f"{' '.join(str(e).split())[:200]})") from None
    names = list(frame.columns) if columns == "all" else (columns.split(",") if columns else list(LS_COLUMNS))
    unknown = [c for c in names if c not in frame.columns] if len(frame) else []
    if unknown:
        raise ConfigError(f"--columns: unknown {unknown}; allowed: 'all' or names among {sorted(frame.columns)}")
    frame = frame[[c for c in names if c in frame.columns]]
    running = resume.in_progress(store.root)
    if form == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if form == "json":
        return json.dumps({"runs": json.loads(frame.to_json(orient="records")), "in_progress": running}, indent=1)
    table = frame.to_string(index=False) if len(frame) else f"no runs in {store.root}"
    lines = [f"{r['id']}  step {r['step']:,} of {r['steps']:,}  (saved {r['saved']} UTC)" if r["step"] is not None
             else f"{r['id']}  unreadable saved state (delete it to train that run from step 0)" for r in running]
    return table + ("\n\nin progress (rerun its sweep to resume):\n" + "\n".join(lines) if lines else "")


# ----------------------------------------------------------------------------- plan

def _plan_verdict(plans: list[planner.Plan], names: list[str]) -> str:
    """One line: which run reaches the lower loss, and which costs less to train."""
    if len(plans) < 2:
        return ""
    best = min(range(len(plans)), key=lambda i: plans[i].loss)
    cheap = min(range(len(plans)), key=lambda i: plans[i].C)
    others = [p.loss for i, p in enumerate(plans) if i != best]
    return (f"lowest loss: {names[best]} ({plans[best].loss:.4f}, {min(others) - plans[best].loss:.4f} below the next); "
            f"cheapest to train: {names[cheap]} ({plans[cheap].C / max(p.C for p in plans):.2g}x the costliest)")


# `python -m kit plan`'s options (main's parser defines them) and their defaults.
PLAN_OPTIONS = dict(run=(), law="t5", cost=("dense", "sparse"), speedup=None, kernel="jax-bcsr", layer="t5-base",
               window=("0.25", "0.75"), schedule="cubic", k=None, samples=None, no_intervals=False, json=False)


def _cost_model(name, speedup=None, kernel="jax-bcsr", layer="t5-base"):
    """--cost: 'dense', 'sparse', or 'measured': the speedup curve of kit.planner.sparse_speed.read_curve."""
    from kit import laws

    if name in laws.COSTS:
        return name
    if name != "measured":
        raise ValueError(f"--cost {name!r}: allowed dense, sparse, measured")
    from kit.planner import sparse_speed  # imports jax: only when a measured cost is asked for

    return sparse_speed.read_curve(speedup, kernel, layer)


def _shown(path) -> str:
    """A path as the planner prints it: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def plan_command(args) -> int:
    """`python -m kit plan`: prints a table per cost model, with 95% intervals from the law's bootstrap
    samples (or --samples) unless --no-intervals, and the warnings of each plan; JSON with --json.
    args: kit.cli's namespace (an option it lacks takes its default in PLAN_OPTIONS).

        >>> plan_command(argparse.Namespace(run=["S=0.5,N=5e7,D=3e10"], cost=["dense"], no_intervals=True))
        T5/C4 law (Table 7), k = 3 FLOPs per non-zero parameter and token, cubic pruning from 25% to 75% of training
        ...
        predicted loss                                             1.8331
        ...
        loss of the dense N model, same C                          1.8580
        ...
        0
    """
    from kit import laws
    from kit.planner import plan as planner
    from kit.planner.speedup import SpeedupCurve

    o = dict(PLAN_OPTIONS, **vars(args))
    try:
        if not o["run"]:
            raise ValueError("give at least one --run, e.g. --run S=0.8,N=200e6,D=100e9")
        law = planner.load_law(o["law"])
        k = laws.flops_per_token(law, None if o["k"] is None else planner._number("--k", o["k"]))
        start, end = (planner._number("--window", v) for v in o["window"])
        runs = [planner.parse_run(text) for text in o["run"]]
        costs = [_cost_model(name, o["speedup"], o["kernel"], o["layer"]) for name in o["cost"]]
        samples_path = None if o["no_intervals"] else o["samples"] or law.samples
        samples = planner.read_samples(samples_path) if samples_path is not None else None
        out = []
        for cost in costs:
            plans = [planner.plan(law, run, cost, k, start, end, o["schedule"]) for run in runs]
            bounds = ([planner.intervals(law, samples, run, cost, k, start, end, o["schedule"]) for run in runs]
                      if samples is not None else None)
            out.append((plans[0].cost, plans, bounds))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    notes = [note for note, due in (
        ("this law states no range of the runs it was fitted on: no query is checked against it", not law.data),
        ("this law has no bootstrap samples: no intervals (give --samples CSV)", samples is None and not o["no_intervals"]),
    ) if due]
    names = [f"run {i + 1}" for i in range(len(runs))]
    if o["json"]:
        finite = lambda x: x if not isinstance(x, float) or math.isfinite(x) else None  # JSON has no NaN
        print(json.dumps({
            "law": law.name, "coeffs": dict(law), "k": k, "data": {q: list(b) for q, b in law.data.items()},
            "samples": None if samples is None else _shown(samples_path), "level": None if samples is None else planner.LEVEL,
            "notes": notes, "schedule": {"start": start, "end": end, "kind": o["schedule"]},
            "measured": [{"kernel": c.label, "hardware": c.hardware, "backend": c.backend, "layer": c.layer,
                          "date": c.date, "S": list(c.S), "speedup": list(c.speedup)}
                         for c in costs if isinstance(c, SpeedupCurve)],
            "plans": [{"run": o["run"][i], **{f: finite(v) for f, v in dataclasses.asdict(p).items()},
                       **({"intervals": {q: [finite(float(b[i].loc[q, "low"])), finite(float(b[i].loc[q, "high"]))]
                                         for q in planner.NUMBERS},
                           "outside_interval": planner.outside_interval(b[i])} if b else {})}
                      for _, plans, b in out for i, p in enumerate(plans)]}, indent=1))
        return 0
    print(f"{law.name}, k = {k:g} FLOPs per non-zero parameter and token, "
          f"{o['schedule']} pruning from {start:.0%} to {end:.0%} of training")
    if law.data:
        print("  fitted on runs with " + ", ".join(f"{q} {planner.format_value('', lo)} to {planner.format_value('', hi)}"
                                                   for q, (lo, hi) in law.data.items()))
    if samples is not None:
        print(f"  {planner.LEVEL:.0%} intervals: percentiles over the {len(samples)} bootstrap samples of "
              f"{_shown(samples_path)}")
    for note in notes:
        print(f"  note: {note}")
    for name, text in zip(names, o["run"]):
        print(f"  {name}: {text}")
    said = set()
    for label, plans, bounds in out:
        print(f"\ncost: {label}")
        frame = planner.table(plans, names)
        for name, b in zip(names, bounds or []):
            frame[f"{name} {planner.LEVEL:.0%} interval"] = [
                f"[{planner.format_value(q, b.loc[q, 'low'])}, {planner.format_value(q, b.loc[q, 'high'])}]" for q in planner.NUMBERS]
        print(frame.to_string())
        if len(plans) > 1:
            print(_plan_verdict(plans, names))
        for name, p in zip(names, plans):
            for line in p.warnings:
                if (name, line) not in said:
                    print(f"warning: {name}: {line}")
                said.add((name, line))
        for name, b in zip(names, bounds or []):
            if planner.outside_interval(b):
                print(f"note: {name}: the estimate lies outside its {planner.LEVEL:.0%} interval for "
                      f"{', '.join(planner.outside_interval(b))} "
                      f"(the bootstrap refits of the law's runs land elsewhere than the law)")
    return 0


# ----------------------------------------------------------------------------- dask

def check_dask_options(args) -> dict | None:
    """The keyword arguments of dask_client for the sweep's --dask options, or None to train in
    this process; ConfigError for a value out of range or an option that does not apply.

        >>> check_dask_options(build_parser().parse_args(["sweep", "--dask", "2"]))
        {'n_workers': 2, 'address': None, 'host': '127.0.0.1', 'timeout': 5.0}
        >>> check_dask_options(build_parser().parse_args(["sweep", "--parallel", "2"])) is None
        True
    """
    if args.parallel is not None and args.parallel < 1:
        raise ConfigError(f"--parallel {args.parallel}: the number of runs side by side must be >= 1")
    if args.parallel is not None and (args.dask is not None or args.dask_scheduler is not None):
        raise ConfigError("--parallel applies to training on this machine; a Dask cluster runs one run per worker")
    if args.dask is not None and args.dask < 1:
        raise ConfigError(f"--dask {args.dask}: the number of local Dask workers must be >= 1 "
                          f"(leave --dask out to train in this process)")
    if args.dask_host is not None and args.dask is None:
        raise ConfigError(f"--dask-host {args.dask_host}: applies only to a local cluster (--dask N); a running "
                          f"cluster listens where its `dask scheduler --host` says")
    if args.dask_host is not None and not args.dask_host.strip():
        raise ConfigError(f"--dask-host {args.dask_host!r}: an empty address; give one such as {DASK_HOST}")
    timeout = DASK_TIMEOUT
    if args.dask_timeout is not None:
        if args.dask_scheduler is None:
            raise ConfigError(f"--dask-timeout {args.dask_timeout}: applies only to --dask-scheduler ADDRESS")
        try:
            timeout = float(args.dask_timeout)
        except ValueError:
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise ConfigError(f"--dask-timeout {args.dask_timeout}: expected a number of seconds > 0, such as 5")
    if args.dask is None and args.dask_scheduler is None:
        return None
    return dict(n_workers=args.dask, address=args.dask_scheduler, host=args.dask_host or DASK_HOST, timeout=timeout)


class SchedulerError(RuntimeError):
    """The Dask scheduler given by address cannot be reached or is not a Dask scheduler, or the
    cluster has no worker left.

        >>> SchedulerError("no Dask worker is left on the cluster at tcp://127.0.0.1:8786")
        SchedulerError('no Dask worker is left on the cluster at tcp://127.0.0.1:8786')
    """


@contextlib.contextmanager
def dask_client(n_workers: int | None, address: str | None, host: str = DASK_HOST, timeout: float = DASK_TIMEOUT):
    """A dask Client: of a new local cluster of n_workers single-threaded worker processes
    (started with spawn, never fork: the parent may have started JAX's threads) whose scheduler,
    workers and dashboard listen on `host` only, or of the running cluster whose scheduler is at
    `address`, which must answer Dask's handshake as a scheduler within `timeout` seconds.

        >>> with dask_client(None, "tcp://127.0.0.1:1", timeout=1) as client:  # nothing listens on port 1
        ...     pass
        Traceback (most recent call last):
        kit.cli.SchedulerError: --dask-scheduler tcp://127.0.0.1:1: cannot connect (ConnectionRefusedError: ...
    """
    import dask
    from dask.distributed import Client, LocalCluster
    if address is None:
        dashboard = f"[{host}]:8787" if ":" in host else f"{host}:8787"
        with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
            try:
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, host=host,
                                       dashboard_address=dashboard)
            except OSError as e:
                raise ConfigError(f"--dask-host {host}: cannot start a local Dask cluster there ({type(e).__name__}: "
                                  f"{' '.join(str(e).split())}); give an address of this machine such as "
                                  f"{DASK_HOST}") from None
            with cluster, Client(cluster) as client:
                yield client
        return
    check_scheduler(address, timeout)
    try:
        client = Client(address, timeout=timeout)
    except OSError as e:
        raise SchedulerError(f"--dask-scheduler {address}: cannot connect ({' '.join(str(e).split())}); "
                             f"is `dask scheduler` running there and reachable from here?") from None
    with client:
        yield client


def check_scheduler(address: str, timeout: float) -> None:
    """Raise SchedulerError (one line) unless a Dask scheduler answers at `address` within
    `timeout` seconds: nothing listening, something that never completes Dask's handshake (an HTTP
    server such as the dashboard on 8787), or a Dask worker are each named. ConfigError for an
    address Dask cannot parse.

        >>> check_scheduler("tcp://127.0.0.1:1", timeout=1)  # nothing listens on port 1
        Traceback (most recent call last):
        kit.cli.SchedulerError: --dask-scheduler tcp://127.0.0.1:1: cannot connect (ConnectionRefusedError: ...
    """
    from distributed.comm import connect, parse_address
    from distributed.comm.addressing import parse_host_port
    from distributed.security import Security
    where = f"--dask-scheduler {address}"
    try:
        scheme, location = parse_address(address)
        host_port = parse_host_port(location) if scheme in ("tcp", "tls") else None
    except ValueError as e:
        raise ConfigError(f"{where}: {e}; give an address such as tcp://host:8786") from None
    if host_port is not None:  # plain TCP first: "nothing listens" fails at once, not after retries
        try:
            socket.create_connection(host_port, timeout=timeout).close()
        except OSError as e:
            raise SchedulerError(f"{where}: cannot connect ({type(e).__name__}: {' '.join(str(e).split())}); "
                                 f"is `dask scheduler` running there and reachable from here?") from None

    async def identity():
        comm = await connect(address, timeout=timeout, **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), timeout))
    except asyncio.TimeoutError:
        raise SchedulerError(f"{where}: something answers there but not Dask's handshake within {timeout:g} s "
                             f"(--dask-timeout); is it a Dask scheduler? (the dashboard listens on 8787, the "
                             f"scheduler on 8786 by default)") from None
    except OSError as e:
        raise SchedulerError(f"{where}: cannot connect ({' '.join(str(e).split())}); is `dask scheduler` running "
                             f"there and reachable from here?") from None
    except Exception as e:  # noqa: BLE001 - whatever a non-Dask server makes Dask's reader raise
        raise SchedulerError(f"{where}: something answers there but does not speak Dask's protocol "
                             f"({type(e).__name__} in the handshake); is it a Dask scheduler? (the dashboard "
                             f"listens on 8787, the scheduler on 8786 by default)") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        raise SchedulerError(f"{where}: a Dask {kind or 'server'} answers there, not a scheduler; give the "
                             f"scheduler's address (`dask scheduler` prints it)")


class _WatchedExecutor(cf.Executor):
    """The client's executor (client.get_executor(pure=False)), with a watch on the cluster: when it
    has had no worker for `wait` seconds (NO_WORKER_WAIT; asked every `poll` seconds) while runs are
    waiting, every waiting run fails with SchedulerError and `lost` says why, instead of the sweep
    waiting forever. A run whose task is cancelled (the client lost the scheduler for good) fails
    with SchedulerError too."""

    def __init__(self, client, wait: float | None = None, poll: float | None = None):
        self.client, self.lost = client, None
        self.wait = NO_WORKER_WAIT if wait is None else wait
        self.poll = POLL_S if poll is None else poll
        self.address = client.scheduler.address if client.scheduler is not None else "?"
        self._inner = client.get_executor(pure=False)
        self._waiting: set[cf.Future] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_cluster, name="kit-dask-watch", daemon=True)
        self._watch.start()

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        outer = cf.Future()
        with self._lock:
            if self.lost is not None:
                outer.set_exception(SchedulerError(self.lost))
                return outer
            self._waiting.add(outer)
        self._inner.submit(fn, *args, **kwargs).add_done_callback(lambda inner: self._settle(outer, inner))
        return outer

    def _settle(self, outer: cf.Future, inner: cf.Future) -> None:
        with self._lock:
            self._waiting.discard(outer)
            if outer.done():  # already failed by the watch
                return
            if inner.cancelled():
                outer.set_exception(SchedulerError(f"the run's task was cancelled on the cluster at {self.address} "
                                                   f"(the scheduler went away?)"))
            elif inner.exception() is not None:
                outer.set_exception(inner.exception())
            else:
                outer.set_result(inner.result())

    def _workers(self) -> int | None:
        """How many workers the scheduler has, or None if it did not answer this time (a scheduler
        that is gone for good makes the client cancel the runs, which fails them in _settle)."""
        try:
            identity = self.client.sync(self.client.scheduler.identity, n_workers=0, callback_timeout=10)
            return int(identity["n_workers"])
        except Exception:  # noqa: BLE001 - a busy or lost scheduler, a closed client
            return None

    def _watch_cluster(self) -> None:
        since = None  # when the cluster was first seen without a worker while runs waited
        while not self._stop.wait(self.poll):
            with self._lock:
                waiting = bool(self._waiting)
            workers = self._workers() if waiting else 1
            if workers is None:
                continue
            if workers > 0:
                since = None
                continue
            since = time.monotonic() if since is None else since
            if time.monotonic() - since >= self.wait:
                self._fail_waiting()
                return

    def _fail_waiting(self) -> None:
        with self._lock:
            self.lost = (f"no Dask worker is left on the cluster at {self.address} (for {self.wait:g} s, with "
                         f"{len(self._waiting)} run(s) waiting)")
            for outer in self._waiting:
                outer.set_exception(SchedulerError(self.lost))
            self._waiting.clear()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._stop.set()
        self._inner.shutdown(wait=False)
