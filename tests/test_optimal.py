import warnings

import numpy as np
import pandas as pd
import pytest

from kit.chapters import fairness, optimal
from kit import laws
from kit.planner import plan
from kit.laws import TABLE7


def test_optimal_from_gives_the_papers_section_3_3_multiples():
    # "50% sparsity is already optimal for < 2x (ViT) and < 3x (T5) longer training than Chinchilla;
    # for dense FLOPs it is ~5x and ~70x"
    assert optimal.optimal_from(0.5, TABLE7["vit"], "sparse") == pytest.approx(1.6757, abs=1e-4)
    assert optimal.optimal_from(0.5, TABLE7["t5"], "sparse") == pytest.approx(2.4357, abs=1e-4)
    assert optimal.optimal_from(0.5, TABLE7["vit"], "dense") == pytest.approx(4.8163, abs=1e-4)
    assert optimal.optimal_from(0.5, TABLE7["t5"], "dense") == pytest.approx(70.164, abs=1e-3)
    assert optimal.optimal_from(0.5, {**TABLE7["t5"], "a_S": 0.0}, "dense") == optimal.NEVER


@pytest.mark.parametrize("family", ["t5", "vit"])
@pytest.mark.parametrize("cost", laws.COSTS)
def test_beats_dense_from_is_where_the_losses_at_equal_compute_meet_and_comes_before_optimal(family, cost):
    coeffs, S, N, k = TABLE7[family], np.array([0.5, 0.75, 0.875]), 3e8, 6
    m = optimal.beats_dense_from(S, coeffs, cost)
    C = m * k * N * optimal.chinchilla_tokens(N, coeffs)
    np.testing.assert_allclose(m * plan.chinchilla_tokens(N, coeffs),  # the planner's tokens, the same threshold
                               plan.payoff_tokens(S, N, coeffs, c_mul := (laws.cmul(S) if cost == "sparse"
                                                                           else laws.cmul_dense(S))), rtol=1e-10)
    sparse = laws.sparse_law(S, N, C / (k * N * c_mul), **coeffs)
    dense = laws.sparse_law(0.0, N, C / (k * N), **coeffs)
    np.testing.assert_allclose(sparse, dense, rtol=1e-12)
    # later the sparse model is better, earlier worse; and it beats dense before it is the optimal sparsity
    for factor, sign in ((1.1, -1), (0.9, 1)):
        gap = laws.sparse_law(S, N, factor * C / (k * N * c_mul), **coeffs) - laws.sparse_law(0.0, N, factor * C / (k * N), **coeffs)
        assert np.all(np.sign(gap) == sign)
    assert np.all(m < optimal.optimal_from(S, coeffs, cost))


def test_beats_dense_from_refuses_the_dense_model_and_caps_a_law_without_capacity_gain():
    with pytest.raises(ValueError, match="sparsities > 0"):
        optimal.beats_dense_from([0.0, 0.5], TABLE7["t5"], "sparse")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert optimal.beats_dense_from(0.5, {**TABLE7["t5"], "a_S": 0.0, "c_S": 0.0}, "sparse") == optimal.NEVER
        assert optimal.beats_dense_from(0.5, {**TABLE7["t5"], "a_S": 0.0}, "dense") == optimal.NEVER
    # a schedule that prunes from the first step costs less than dense: sparse is better from any compute
    assert optimal.beats_dense_from(0.5, TABLE7["t5"], "sparse", start=0.0, end=0.0) == 0.0


def test_chinchilla_tokens_invert_the_chinchilla_size():
    for family in ("t5", "vit"):
        N = np.array([1e7, 1e9])
        D = optimal.chinchilla_tokens(N, TABLE7[family])
        np.testing.assert_allclose(laws.chinchilla_n_opt(6 * N * D, TABLE7[family], 6), N, rtol=1e-10)
        np.testing.assert_allclose(D, plan.chinchilla_tokens(N, TABLE7[family]), rtol=1e-12)
    with pytest.raises(ValueError, match="b_D = 0.0"):
        optimal.chinchilla_tokens(1e8, {**TABLE7["t5"], "b_D": 0.0})


def test_run_multiples_put_a_chinchilla_run_at_one():
    coeffs, N = TABLE7["t5"], np.array([1e8, 1e9])
    D = optimal.chinchilla_tokens(N, coeffs)
    np.testing.assert_allclose(optimal.run_multiples(0.0, N, D, coeffs, "sparse"), 1.0, rtol=1e-12)
    np.testing.assert_allclose(optimal.run_multiples(0.75, N, 2 * D, coeffs, "dense"), 2 * 4.0, rtol=1e-12)
    np.testing.assert_allclose(optimal.run_multiples(0.75, N, D, coeffs, "sparse"), laws.cmul(0.75), rtol=1e-12)


def test_chinchilla_line_is_a_contour_dense_for_dense_costs_sparse_for_sparse_costs():
    C = np.logspace(15, 27, 13)
    for family in ("t5", "vit"):
        dense = optimal.chinchilla_line(C, TABLE7[family], "dense", k=3)
        sparse = optimal.chinchilla_line(C, TABLE7[family], "sparse", k=3)
        assert np.all(dense == 0.0)
        assert sparse.min() > 0.1 and np.ptp(sparse) < 1e-9
        # the same sparsity whatever k: k shifts the line and the contours alike
        np.testing.assert_allclose(optimal.chinchilla_line(C, TABLE7[family], "sparse", k=6), sparse, atol=1e-12)


def test_multiple_text():
    assert optimal.multiple_text(2.4357) == "2.44x"
    assert optimal.multiple_text(2.4357, 1.3, optimal.NEVER) == "2.44x [1.3x, never]"
    assert optimal.multiple_text(3e10) == "> 1e10x"
    assert optimal.multiple_text(0.5, 3e-148, 0.0024) == "0.5x [< 0.001x, 0.0024x]"
    assert optimal.multiple_text(0.0) == "0x"


@pytest.mark.parametrize("interval, side, verdict", [
    ((2.0, 1.5, 2.9), -1, "holds"), ((4.0, 3.5, 9.0), -1, "does not hold"), ((2.5, 1.0, 4.0), -1, "not resolved"),
    ((4.0, 3.5, optimal.NEVER), +1, "holds"), ((2.44, 2.44, 2.44), -1, "holds")])
def test_bound_verdict(interval, side, verdict):
    got, reason = optimal.bound_verdict(*interval, 3, side)
    assert got == verdict and "3x" in reason


@pytest.mark.parametrize("interval, verdict", [
    ((70.2, 70.2, 70.2), "holds"), ((60, 50, 100), "holds"), ((300, 200, 900), "does not hold"),
    ((60, 20, 100), "not resolved"), ((5, 1, 20), "does not hold")])
def test_factor_verdict(interval, verdict):
    assert optimal.factor_verdict(*interval, 70, 1.5)[0] == verdict


def test_verdicts_refuse_a_broken_interval():
    with pytest.raises(ValueError, match="low <= high"):
        optimal.bound_verdict(2.0, 3.0, 1.0, 3, -1)
    with pytest.raises(ValueError, match="factor"):
        optimal.factor_verdict(2.0, 1.0, 3.0, 2, 1.0)


def synthetic_grid(gap_of_tokens):
    """Dense runs of one N at 4 budgets (loss 3 - 0.2 log2(budget index)), and sparse runs of S = 0.5
    costing twice the dense run per token, their loss the dense curve's at their compute minus
    gap_of_tokens(tokens)."""
    tokens = np.array([1, 2, 4, 8]) * 1000
    dense = pd.DataFrame({"id": [f"d{t}" for t in tokens], "n_nonzero": 100, "sparsity": 0.0, "tokens": tokens,
                          "flops": 1.0 * tokens, "loss": 3 - 0.2 * np.log2(tokens / 1000)})
    sparse_tokens = tokens[:3]
    sparse = pd.DataFrame({"id": [f"s{t}" for t in sparse_tokens], "n_nonzero": 100, "sparsity": 0.5,
                           "tokens": sparse_tokens, "flops": 2.0 * sparse_tokens,
                           "loss": 3 - 0.2 * np.log2(2 * sparse_tokens / 1000) - gap_of_tokens(sparse_tokens)},
                          index=[10, 11, 12])
    return dense, sparse


def test_line_summary_labels_follow_the_pairs():
    sigma = pd.Series(0.001, index=[f"{p}{t}" for p in "ds" for t in (1000, 2000, 4000, 8000)])
    cases = {lambda t: np.where(t > 1500, 0.05, -0.05): "crosses below between 1k and 2k tokens",
             lambda t: 0.05 + 0 * t: "below at all 3", lambda t: -0.05 + 0 * t: "above at all 3",
             lambda t: np.where(t == 2000, 0.05, -0.05): "below at 1 of 3"}
    for gap, label in cases.items():
        dense, sparse = synthetic_grid(gap)
        pairs = fairness.match_compute(sparse, dense, "flops")
        np.testing.assert_allclose(pairs["gap"], gap(sparse["tokens"].to_numpy()), atol=1e-12)
        table = optimal.line_summary(sparse, pairs, sigma, dof=10)
        row = table.loc[(100, 0.5)]
        assert row["label"] == label
        assert row["compared"] == 3 and row["below"] == int((gap(sparse["tokens"].to_numpy()) > 0).sum())
        assert row["resolved_below"] == row["below"] and row["resolved_above"] == 3 - row["below"]


def test_gap_change_is_the_mean_of_longest_minus_shortest_with_the_seed_noise():
    dense, sparse = synthetic_grid(lambda t: 0.01 * np.log2(t / 1000))  # gaps 0, 0.01, 0.02
    pairs = fairness.match_compute(sparse, dense, "flops")
    sigma = pd.Series(0.01, index=[*dense["id"], *sparse["id"]])
    change = optimal.gap_change(sparse, pairs, sigma, dof=1e6)
    assert change["lines"] == 1 and change["estimate"] == pytest.approx(0.02)
    # longest: dense 8k - sparse 4k; shortest: dense 2k - sparse 1k: four runs, each weight +-1
    assert change["se"] == pytest.approx(0.01 * 2, rel=1e-9)
    one_run = sparse.iloc[:1]
    assert optimal.gap_change(one_run, pairs.iloc[:1], sigma, dof=10)["lines"] == 0
