"""How many runs a sweep trains side by side, from a table of measured throughput per width.

`make bench` measures, for a few model widths, the training steps per second of one run on all
cores and of `lanes` single-threaded runs side by side (each in a process of its own, as a sweep
runs them), and writes the table to data/engine/throughput.json with the machine it was measured
on. A sweep (kit.engine.sweep.run_sweep) then trains each run in the way the table says pays at that
run's width (the nearest measured width in log space): `lanes_for(d_model)` processes side by
side, or one process on all cores. Without a table it trains one run at a time, as engine v2 did.
A table measured on another machine (another core count) is not used. Starting the worker
processes costs a few seconds (spawning Python, importing JAX, loading the compiled programs: about
3 s at d_model 16-24 in `make bench`'s sweep section), so side by side pays only for runs of some
length: `side_by_side` keeps a sweep in one process unless the runs that would go side by side
take at least MIN_POOL_S on all cores.

Table layout: {"machine": {...}, "measured": ISO date, "rows": [{"d_model": int, "steps": int,
"lanes": {"1": steps/s of one run on all cores, "2": total steps/s of two one-thread runs}}]}.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "data" / "engine" / "throughput.json"


def load_table(path: Path | None = None) -> dict | None:
    """The measured table (at `path`, default TABLE), or None if there is none or it was measured
    on another core count.

        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "throughput.json"
        >>> write_table({"machine": {"cores": len(os.sched_getaffinity(0))}, "rows": []}, file)
        >>> load_table(file), load_table(file.with_name("none.json"))
        ({'machine': {'cores': ...}, 'rows': []}, None)
    """
    path = Path(path) if path is not None else TABLE
    if not path.is_file():
        return None
    table = json.loads(path.read_text())
    if table.get("machine", {}).get("cores") != len(os.sched_getaffinity(0)):
        return None
    return table


def best_lanes(row: dict) -> int:
    """The number of side-by-side runs with the most total steps per second in a table row.

        >>> best_lanes({"d_model": 16, "steps": 200, "lanes": {"1": 400.0, "2": 700.0}})
        2
    """
    return int(max(row["lanes"], key=lambda k: row["lanes"][k]))


MIN_POOL_S = 60.0  # side by side only for runs that take at least this long, together, on all cores


def nearest_row(d_model: int, table: dict) -> dict:
    """The table's row of the measured width nearest d_model in log space.

        >>> table = {"rows": [{"d_model": 16, "lanes": {"1": 400.0, "2": 700.0}},  # steps/s: 2 side by side pay
        ...                   {"d_model": 96, "lanes": {"1": 30.0, "2": 24.0}}]}   # they do not
        >>> nearest_row(32, table)["d_model"], nearest_row(48, table)["d_model"]
        (16, 96)
    """
    return min(table["rows"], key=lambda r: abs(math.log(r["d_model"] / d_model)))


def lanes_for(d_model: int, table: dict | None) -> int:
    """Runs side by side that pay at width d_model: the best of the nearest measured width (in
    log space); 1 without a table.

        >>> table = {"rows": [{"d_model": 16, "lanes": {"1": 400.0, "2": 700.0}},  # steps/s: 2 side by side pay
        ...                   {"d_model": 96, "lanes": {"1": 30.0, "2": 24.0}}]}   # they do not
        >>> lanes_for(24, table), lanes_for(128, table), lanes_for(24, None)
        (2, 1, 1)
    """
    if not table or not table.get("rows"):
        return 1
    return best_lanes(nearest_row(d_model, table))


def side_by_side(widths_steps: list[tuple[int, int]], table: dict | None) -> list[int]:
    """For runs given as (d_model, steps): how many side by side each is trained with, as the
    table says pays at its width, or 1 for all when the runs that would go side by side take
    less than MIN_POOL_S together on all cores (starting the workers would cost more than the
    second core gives) or are fewer than two.

        >>> table = {"rows": [{"d_model": 16, "lanes": {"1": 400.0, "2": 700.0}},  # steps/s: 2 side by side pay
        ...                   {"d_model": 96, "lanes": {"1": 30.0, "2": 24.0}}]}   # they do not
        >>> side_by_side([(16, 20_000), (16, 20_000), (96, 5_000)], table)
        [2, 2, 1]
        >>> side_by_side([(16, 200), (16, 200)], table)  # 1 s of training: not worth starting workers
        [1, 1]
    """
    lanes = [lanes_for(d, table) for d, _ in widths_steps]
    side = [(d, n) for (d, n), k in zip(widths_steps, lanes) if k > 1]
    seconds = sum(n / nearest_row(d, table)["lanes"]["1"] for d, n in side) if side else 0.0
    return lanes if len(side) >= 2 and seconds >= MIN_POOL_S else [1] * len(lanes)


def machine_seconds(widths_steps: list[tuple[int, int]], table: dict) -> float:
    """Seconds of the whole machine to train runs given as (d_model, steps), each at the most total
    steps per second its width's row (nearest_row) measured, as if the lanes were always full: a
    plan's estimate, a little short of what a sweep's tail costs.

        >>> table = {"rows": [{"d_model": 16, "lanes": {"1": 400.0, "2": 700.0}},
        ...                   {"d_model": 96, "lanes": {"1": 30.0, "2": 24.0}}]}
        >>> machine_seconds([(16, 7_000), (16, 7_000), (96, 3_000)], table)
        120.0
    """
    return float(sum(n / max(nearest_row(d, table)["lanes"].values()) for d, n in widths_steps))


def recorded_table(runs, lanes: int = 2) -> dict:
    """A table in TABLE's layout from what finished runs recorded (a frame with d_model, steps and
    wall_s, the loop's seconds: kit.engine.store.RunStore.frame), for machine_seconds: per width, the
    steps per second of loop time, times `lanes` (the runs trained that many side by side, each on
    one core). Unlike `make bench`'s table it counts whatever else the machine did meanwhile.

        >>> import pandas as pd
        >>> runs = pd.DataFrame({"d_model": [16, 16, 48], "steps": [1_000, 3_000, 1_000], "wall_s": [10.0, 30.0, 50.0]})
        >>> [(r["d_model"], r["lanes"]) for r in recorded_table(runs)["rows"]]
        [(16, {'2': 200.0}), (48, {'2': 40.0})]
    """
    totals = runs.groupby("d_model")[["steps", "wall_s"]].sum()
    return {"rows": [{"d_model": int(d), "lanes": {str(lanes): float(lanes * row.steps / row.wall_s)}}
                     for d, row in totals.iterrows()]}


def write_table(table: dict, path: Path | None = None) -> None:
    """Write a measured table (see the module docstring for its layout) to `path`, default TABLE.

        >>> import tempfile
        >>> file = Path(tempfile.mkdtemp()) / "throughput.json"
        >>> write_table({"machine": {"cores": 2}, "measured": "2026-01-01", "rows": []}, file)
        >>> json.loads(file.read_text())["measured"]
        '2026-01-01'
    """
    path = Path(path) if path is not None else TABLE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1) + "\n")
