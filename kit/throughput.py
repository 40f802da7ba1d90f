"""How many runs a sweep trains side by side, from a table of measured throughput per width.

`make bench` measures, for a few model widths, the training steps per second of one run on all
cores and of `lanes` single-threaded runs side by side (each in a process of its own, as a sweep
runs them), and writes the table to data/engine/throughput.json with the machine it was measured
on. A sweep (kit.sweep.run_sweep) then trains each run in the way the table says pays at that
run's width (the nearest measured width in log space): `lanes_for(d_model)` processes side by
side, or one process on all cores. Without a table it trains one run at a time, as engine v2 did.
A table measured on another machine (another core count) is not used.

Table layout: {"machine": {...}, "measured": ISO date, "rows": [{"d_model": int, "steps": int,
"lanes": {"1": steps/s of one run on all cores, "2": total steps/s of two one-thread runs}}]}.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "data" / "engine" / "throughput.json"


def load_table(path: Path = TABLE) -> dict | None:
    """The measured table, or None if there is none or it was measured on another core count."""
    path = Path(path)
    if not path.is_file():
        return None
    table = json.loads(path.read_text())
    if table.get("machine", {}).get("cores") != len(os.sched_getaffinity(0)):
        return None
    return table


def best_lanes(row: dict) -> int:
    """The number of side-by-side runs with the most total steps per second in a table row."""
    return int(max(row["lanes"], key=lambda k: row["lanes"][k]))


def lanes_for(d_model: int, table: dict | None) -> int:
    """Runs side by side that pay at width d_model: the best of the nearest measured width (in
    log space); 1 without a table."""
    if not table or not table.get("rows"):
        return 1
    row = min(table["rows"], key=lambda r: abs(math.log(r["d_model"] / d_model)))
    return best_lanes(row)


def write_table(table: dict, path: Path = TABLE) -> None:
    """Write a measured table (see the module docstring for its layout)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1) + "\n")
