import numpy as np
import pandas as pd
import pytest

from kit.chapters import journey
from kit.fit import noise


def sweep(loss_at):
    """A sweep of two panels over three windows; loss_at maps (panel, start, end) -> loss."""
    rows = [{"tokens": d, "sparsity": 0.5, "prune_start": a, "prune_end": b, "loss": loss_at(d, a, b)}
            for d in (100, 200) for a, b in [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0)]]
    return pd.DataFrame(rows)


def test_window_gaps_measure_the_window_against_each_panels_best():
    losses = {(100, 0.0): 2.30, (100, 0.25): 2.25, (100, 0.5): 2.20, (200, 0.0): 2.10, (200, 0.25): 2.00,
              (200, 0.5): 2.05}
    gaps = journey.window_gaps(sweep(lambda d, a, b: losses[d, a]), ["tokens", "sparsity"])
    assert gaps.index.names == ["tokens", "sparsity"]
    assert gaps["gap"].tolist() == pytest.approx([0.05, 0.0])
    assert gaps["rank"].tolist() == [2, 1]
    assert gaps["best_start"].tolist() == [0.5, 0.25] and gaps["windows"].tolist() == [3, 3]
    assert gaps["at"].tolist() == pytest.approx([2.25, 2.00])
    one = journey.window_gaps(sweep(lambda d, a, b: losses[d, a]), ["tokens"])
    assert one.index.name == "tokens" and one["gap"].tolist() == pytest.approx([0.05, 0.0])


def test_window_gaps_need_the_window_in_every_panel():
    frame = sweep(lambda d, a, b: 2.0)
    with pytest.raises(ValueError, match=r"has 0 runs at the window \(0.3, 0.7\)"):
        journey.window_gaps(frame, ["tokens"], window=(0.3, 0.7))
    with pytest.raises(ValueError, match="lacks columns"):
        journey.window_gaps(frame.drop(columns="loss"), ["tokens"])


def test_pooled_gap_averages_panels_with_the_noise_of_two_runs_each():
    estimate, low, high = journey.pooled_gap([0.01, 0.03], [0.02, 0.04], [8, 12], level=0.95)
    assert estimate == pytest.approx(0.02)
    se = np.sqrt(2 * 0.02**2 + 2 * 0.04**2) / 2
    assert (high - low) / 2 == pytest.approx(noise.t_interval(0, se, 8)[2])  # the smallest dof
    # one sigma for every panel broadcasts
    assert journey.pooled_gap([0.0, 0.0, 0.0, 0.0], 0.02, 10)[2] == pytest.approx(
        noise.t_interval(0, np.sqrt(4 * 2 * 0.02**2) / 4, 10)[2])


def test_pooled_gap_interval_covers_the_true_mean_gap():
    # panels whose two runs differ by a true 0.01, with seed noise 0.02: the 95% interval of the
    # mean over 8 panels contains 0.01 in about 95% of draws (sigma known: many dof)
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(2000):
        gap = 0.01 + rng.normal(0, 0.02, 8) - rng.normal(0, 0.02, 8)
        _, low, high = journey.pooled_gap(gap, 0.02, 10_000)
        hits += low <= 0.01 <= high
    assert abs(hits / 2000 - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 2000)


def test_matched_differences_per_pair():
    frame = pd.DataFrame({"pair": [0.5] * 4 + [0.75] * 3, "role": ["sparse", "sparse", "dense", "dense",
                                                                    "sparse", "dense", "dense"],
                          "loss": [2.1, 2.3, 2.0, 2.0, 2.5, 2.2, 2.4], "N_avg": [15, 15, 14, 14, 30, 29, 29]})
    table = journey.matched_differences(frame, sigma=0.05, dof=10)
    assert table.index.name == "pair" and list(table.index) == [0.5, 0.75]
    assert table["difference"].tolist() == pytest.approx([0.2, 0.2])
    assert table["loss sparse"].tolist() == pytest.approx([2.2, 2.5])
    assert table[["sparse runs", "dense runs"]].values.tolist() == [[2, 2], [1, 2]]
    half = (table["high"] - table["low"]) / 2
    assert half.tolist() == pytest.approx([noise.t_interval(0, 0.05 * np.sqrt(1 / n + 1 / 2), 10)[2] for n in (2, 1)])
    with pytest.raises(ValueError, match="need both"):
        journey.matched_differences(frame[frame.role == "sparse"], 0.05, 10)
    with pytest.raises(ValueError, match="allowed 'sparse' and 'dense'"):
        journey.matched_differences(frame.assign(role="other"), 0.05, 10)


def test_released_pairs_are_the_model_cards():
    pairs = journey.released_pairs()
    assert pairs["S"].tolist() == [0.2, 0.4, 0.6, 0.8]
    assert pairs["sparse - dense"].tolist() == pytest.approx([-0.006, -0.024, -0.027, -0.009])
    assert (pairs["N_avg sparse (B)"] >= pairs["N_avg dense (B)"]).all()
