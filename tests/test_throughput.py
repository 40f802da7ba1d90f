"""kit.engine.throughput: the sweep's choice of runs side by side, from a measured table."""

import os

import numpy as np
import pytest

from kit.engine import throughput

CORES = len(os.sched_getaffinity(0))


def table(cores=CORES):
    return {"machine": {"cores": cores}, "measured": "2026-12-07T00:00:00+00:00", "rows": [
        {"d_model": 16, "steps": 768, "lanes": {"1": 100.0, "2": 170.0}},
        {"d_model": 48, "steps": 256, "lanes": {"1": 40.0, "2": 55.0}},
        {"d_model": 192, "steps": 64, "lanes": {"1": 4.0, "2": 3.6}}]}


@pytest.mark.parametrize("d_model,lanes", [(8, 2), (16, 2), (24, 2), (48, 2), (96, 2), (97, 1), (136, 1), (192, 1),
                                           (512, 1)])
def test_the_nearest_measured_width_in_log_space_decides(d_model, lanes):
    # 96 is nearer 48 than 192 in log space only by a hair: sqrt(48 * 192) = 96
    assert throughput.lanes_for(d_model, table()) == lanes


def test_without_a_table_runs_go_one_at_a_time():
    assert throughput.lanes_for(16, None) == 1
    assert throughput.lanes_for(16, {"rows": []}) == 1


def test_a_table_is_written_and_read_back_and_ignored_from_another_core_count(tmp_path):
    path = tmp_path / "engine" / "throughput.json"
    throughput.write_table(table(), path)
    assert throughput.load_table(path) == table()
    throughput.write_table(table(cores=CORES + 14), path)
    assert throughput.load_table(path) is None
    assert throughput.load_table(tmp_path / "missing.json") is None


def test_best_lanes_is_the_most_steps_per_second():
    assert [throughput.best_lanes(row) for row in table()["rows"]] == [2, 2, 1]


def test_side_by_side_only_for_runs_long_enough_to_pay_for_the_workers():
    t = table()  # d 16: 100 steps/s on all cores; d 192: one at a time
    long = [(16, 4000), (16, 4000), (192, 100)]  # 80 s side by side at d 16
    assert throughput.side_by_side(long, t) == [2, 2, 1]
    assert throughput.side_by_side([(16, 2000), (16, 2000)], t) == [1, 1]  # 40 s: not worth the start
    assert throughput.side_by_side([(16, 8000)], t) == [1]  # one run has no partner
    assert throughput.side_by_side(long, None) == [1, 1, 1]


PILOT_TABLE = {"rows": [{"d_model": d, "lanes": {"1": one, "2": two}} for d, one, two in
                        [(16, 122.4, 163.5), (24, 73.5, 105.9), (32, 72.6, 82.9), (48, 39.4, 45.0)]]}


def estimated_seconds(runs, lanes, table):
    """The wall time with_tail minimises: the side-by-side runs over their lanes, longest first, then the tail."""
    side = [n / (throughput.nearest_row(d, table)["lanes"]["2"] / 2) for (d, n), k in zip(runs, lanes) if k > 1]
    tail = sum(n / throughput.nearest_row(d, table)["lanes"]["1"] for (d, n), k in zip(runs, lanes) if k == 1)
    return throughput._lane_loads(side, 2) + tail


def test_with_tail_sends_the_pilots_cheapest_run_to_the_end_and_saves_time():
    runs = [(16, 1_172), (24, 1_172), (32, 1_172), (48, 1_172)]
    moved = throughput.with_tail(runs, [2, 2, 2, 2], PILOT_TABLE)
    assert moved == [1, 2, 2, 2]
    before, after = estimated_seconds(runs, [2] * 4, PILOT_TABLE), estimated_seconds(runs, moved, PILOT_TABLE)
    assert before == pytest.approx(64.7, abs=0.2) and after == pytest.approx(61.7, abs=0.2)


@pytest.mark.parametrize("seed", range(20))
def test_with_tail_never_lengthens_the_sweep_and_keeps_two_runs_side_by_side(seed):
    rng = np.random.default_rng(seed)
    runs = [(int(rng.choice([16, 24, 32, 48])), int(rng.integers(100, 40_000))) for _ in range(int(rng.integers(2, 12)))]
    lanes = [2] * len(runs)
    moved = throughput.with_tail(runs, lanes, PILOT_TABLE)
    assert sum(k > 1 for k in moved) >= 2 and all(k in (1, 2) for k in moved)
    assert estimated_seconds(runs, moved, PILOT_TABLE) <= estimated_seconds(runs, lanes, PILOT_TABLE) + 1e-9
    # only the cheapest go to the tail: every run left side by side is at least as long as every run moved
    side = [n / (throughput.nearest_row(d, PILOT_TABLE)["lanes"]["2"] / 2) for (d, n), k in zip(runs, moved) if k > 1]
    tail = [n / (throughput.nearest_row(d, PILOT_TABLE)["lanes"]["2"] / 2) for (d, n), k in zip(runs, moved) if k == 1]
    assert not tail or max(tail) <= min(side)


def test_with_tail_leaves_lanes_alone_without_a_table_or_a_pool():
    runs = [(16, 1_172), (48, 1_172)]
    assert throughput.with_tail(runs, [2, 2], None) == [2, 2]
    assert throughput.with_tail(runs, [1, 1], PILOT_TABLE) == [1, 1]
    assert throughput.with_tail(runs + [(96, 50)], [2, 2, 1], PILOT_TABLE) == [2, 2, 1]
