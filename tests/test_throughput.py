"""kit.engine.throughput: the sweep's choice of runs side by side, from a measured table."""

import os

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


def test_machine_seconds_divides_each_runs_steps_by_its_widths_best_total_rate():
    # d16: 170 steps/s with two lanes; d192: 4 steps/s alone (two lanes are slower there)
    assert throughput.machine_seconds([(16, 1_700), (16, 1_700), (192, 400)], table()) == pytest.approx(120.0)
    assert throughput.machine_seconds([], table()) == 0.0
