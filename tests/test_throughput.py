"""kit.throughput: the sweep's choice of runs side by side, from a measured table."""

import os

import pytest

from kit import throughput

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
