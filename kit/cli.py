"""Command line: train one configuration, or a grid, into the run store.

    python -m kit train --n_nonzero 20000 --sparsity 0.5 --tokens 1000000
    python -m kit sweep --grid sparsity=0,0.5,0.75 tokens=1e6,2e6 --set n_nonzero=20000
    python -m kit sweep ... --dask 2          # on a local Dask cluster with 2 workers
    python -m kit ls                          # what the store holds

Every RunConfig field is an option of `train` (see `python -m kit train --help`); `sweep` takes
`--grid field=v1,v2,...` axes and `--set field=value` for the fixed fields. `--runs DIR` picks the
run store (default: the repo's runs/), `--corpus PATH` a text file or folder instead of Shakespeare.
"""

from __future__ import annotations

import argparse
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


def parse_assignments(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{item!r}: expected field=value")
        field, text = item.split("=", 1)
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
    sweep.add_argument("--dask", type=int, default=0, metavar="WORKERS",
                       help="run on a local Dask cluster with this many worker processes")

    sub.add_parser("ls", help="list the runs in the store")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from kit.store import RunStore  # imported late: --help stays fast
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
            base = RunConfig(**{k: parse_value(k, v) for k, v in parse_assignments(args.set).items()})
            axes = {k: [parse_value(k, v) for v in vs.split(",")]
                    for k, vs in parse_assignments(args.grid).items()}
            configs = sweep.grid(base, **axes)
            if args.dask:
                from dask.distributed import Client, LocalCluster
                with LocalCluster(n_workers=args.dask, threads_per_worker=1) as cluster, Client(cluster) as client:
                    frame = sweep.run_sweep(configs, store=store, corpus=args.corpus, executor=client.get_executor())
            else:
                frame = sweep.run_sweep(configs, store=store, corpus=args.corpus)
            print(frame.to_string())
        else:
            print(store.frame().to_string())
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
