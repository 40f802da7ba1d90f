import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kit.chapters import fairness
from kit.fit import noise


def runs(rows):
    """A frame of runs from (id, d_model, n_nonzero, sparsity, tokens, loss, model_flops) rows."""
    return pd.DataFrame(rows, columns=["id", "d_model", "n_nonzero", "sparsity", "tokens", "loss", "model_flops"])


DENSE = runs([("d1", 16, 100, 0.0, 1000, 3.0, 1e9), ("d2", 16, 100, 0.0, 2000, 2.8, 2e9),
              ("d3", 24, 200, 0.0, 1000, 2.9, 3e9), ("d4", 24, 200, 0.0, 2000, 2.7, 6e9)])
SPARSE = runs([("s1", 24, 100, 0.5, 2000, 2.75, 5e9), ("s2", 24, 100, 0.5, 1000, 2.95, 2.5e9),
               ("s3", 32, 100, 0.75, 2000, 2.74, 8e9)])


def test_match_pairs_the_same_width_at_a_token_ratio():
    pairs = fairness.match(SPARSE, DENSE, ["d_model"], tokens_ratio=0.5)
    # s1 (d 24, 2000 tokens) -> d3 (d 24, 1000 tokens); s2 would need 500 tokens; s3's width has no dense run
    assert pairs["references"].tolist() == [("d3",), (), ()]
    np.testing.assert_allclose(pairs["gap"], [2.9 - 2.75, np.nan, np.nan])
    assert pairs["reference_tokens"].iloc[0] == 1000 and pairs.index.equals(SPARSE.index)
    same = fairness.match(SPARSE, DENSE, ["n_nonzero"])
    np.testing.assert_allclose(same["gap"], [2.8 - 2.75, 3.0 - 2.95, 2.8 - 2.74])
    assert same["weights"].tolist() == [(1.0,)] * 3


def test_match_refuses_ambiguous_references_and_missing_columns():
    with pytest.raises(ValueError, match=r"several runs with the same \['n_nonzero', 'tokens'\]"):
        fairness.match(SPARSE, pd.concat([DENSE, DENSE]), ["n_nonzero"])
    with pytest.raises(ValueError, match=r"reference lacks columns \['seed'\]"):
        fairness.match(SPARSE.assign(seed=0), DENSE, ["seed"])
    with pytest.raises(ValueError, match="tokens_ratio = 0"):
        fairness.match(SPARSE, DENSE, ["n_nonzero"], tokens_ratio=0)


def test_loss_at_is_exact_on_a_curve_linear_in_log_compute():
    C = np.array([4e9, 1e9, 2e9])  # unsorted on purpose
    loss = 3.0 - 0.1 * np.log(C / 1e9)
    at = np.array([1e9, 1.5e9, 3e9, 4e9, 0.5e9, 5e9])
    np.testing.assert_allclose(fairness.loss_at(C, loss, at)[:4], 3.0 - 0.1 * np.log(at[:4] / 1e9))
    assert np.isnan(fairness.loss_at(C, loss, at)[4:]).all()  # outside the curve: no reference
    i, j, w = fairness.bracket(C, [1.5e9])[0]
    assert (C[i], C[j]) == (1e9, 2e9) and w == pytest.approx(np.log(1.5) / np.log(2))
    with pytest.raises(ValueError, match="distinct positive"):
        fairness.bracket([1.0, 1.0], [1.0])


def test_match_compute_reads_the_reference_curve_at_the_sparse_runs_compute():
    pairs = fairness.match_compute(SPARSE, DENSE, "model_flops")
    # s2 at 2.5e9 FLOPs: beyond the N = 100 curve (1e9 to 2e9); s1 and s3 beyond too
    assert pairs["gap"].isna().all()
    dense = runs([("d1", 16, 100, 0.0, 1000, 3.0, 1e9), ("d2", 16, 100, 0.0, 4000, 2.6, 4e9)])
    pairs = fairness.match_compute(SPARSE, dense, "model_flops")
    w = np.log(2.5) / np.log(4)  # s2 at 2.5e9
    expected = (1 - w) * 3.0 + w * 2.6
    assert pairs.loc[1, "reference_loss"] == pytest.approx(expected)
    assert pairs.loc[1, "gap"] == pytest.approx(expected - 2.95)
    assert pairs.loc[1, "references"] == ("d1", "d2") and sum(pairs.loc[1, "weights"]) == pytest.approx(1.0)
    assert pairs.loc[1, "reference_tokens"] == pytest.approx(2500)  # tokens proportional to compute on this curve
    assert pairs.loc[0, "references"] == () and np.isnan(pairs.loc[0, "gap"])  # 5e9: beyond 4e9
    on_a_run = fairness.match_compute(SPARSE.assign(model_flops=[4e9, 1e9, 1e10]), dense, "model_flops")
    assert on_a_run["references"].tolist()[:2] == [("d2",), ("d1",)]


def test_run_sigma_reads_the_seed_noise_at_each_runs_budget():
    frame = pd.DataFrame({"n_nonzero": 100, "sparsity": [0.0] * 3 + [0.5] * 3 + [0.0] * 2,
                          "tokens": [1000] * 6 + [4000] * 2, "seed": [0, 1, 2, 0, 1, 2, 0, 1],
                          "loss": [3.0, 3.1, 3.2, 2.9, 2.9, 3.2, 2.5, 2.52]})
    table = noise.seed_noise(frame, ["n_nonzero", "sparsity"], by="tokens")
    runs = pd.DataFrame({"id": ["a", "b", "c", "a"], "tokens": [1000, 2000, 4000, 1000]})
    sigma, dof = fairness.run_sigma(runs, table)
    # budget 1000: two groups of 3, variances 0.01 and 0.03 -> pooled sqrt(0.02), 4 dof; 4000: one pair, 1 dof
    low, high = np.sqrt(0.02), np.std([2.5, 2.52], ddof=1)
    assert sigma.index.tolist() == ["a", "b", "c"]  # a run listed twice once
    np.testing.assert_allclose(sigma, [low, np.sqrt(low * high), high])  # log-log halfway at 2000
    assert dof == 1  # the smallest the runs' sigmas rest on


def test_linear_interval_counts_a_shared_run_once():
    sigma = pd.Series(0.01, index=["d", "s1", "s2"])
    one = fairness.linear_interval(0.05, pd.Series([1.0, -1.0], index=["d", "s1"]), sigma, dof=1e9)
    assert one["se"] == pytest.approx(np.sqrt(2) * 0.01)  # a difference of two runs
    assert one["half_width"] == pytest.approx(stats.norm.ppf(0.975) * np.sqrt(2) * 0.01, rel=1e-6)
    # the mean of two gaps against one dense run: weights 1, -1/2, -1/2
    pairs = pd.DataFrame({"id": ["s1", "s2"], "gap": [0.04, 0.06], "references": [("d",), ("d",)],
                          "weights": [(1.0,), (1.0,)]})
    both = fairness.mean_gap(pairs, sigma, dof=8)
    assert both["estimate"] == pytest.approx(0.05) and both["pairs"] == 2 and both["lower"] == 2
    assert both["se"] == pytest.approx(0.01 * np.sqrt(1.5))
    assert both["high"] - both["estimate"] == pytest.approx(stats.t.ppf(0.975, 8) * 0.01 * np.sqrt(1.5))
    with pytest.raises(ValueError, match=r"no seed std for runs \['x'\]"):
        fairness.linear_interval(0.0, pd.Series([1.0], index=["x"]), sigma, dof=8)


def test_difference_cancels_the_shared_reference():
    sigma = pd.Series(0.02, index=["d", "a", "b"])
    a = pd.DataFrame({"id": ["a"], "gap": [0.10], "references": [("d",)], "weights": [(1.0,)]})
    b = pd.DataFrame({"id": ["b"], "gap": [0.04], "references": [("d",)], "weights": [(1.0,)]})
    diff = fairness.difference(a, b, sigma, dof=1e9)
    # (L_d - L_a) - (L_d - L_b) = L_b - L_a: the dense run drops out
    assert diff["estimate"] == pytest.approx(0.06) and diff["se"] == pytest.approx(np.sqrt(2) * 0.02)


def test_win_counts_resolve_each_pair_by_its_own_interval():
    sigma = pd.Series(0.01, index=["d1", "d2", "s1", "s2", "s3", "s4"])
    pairs = pd.DataFrame({"id": ["s1", "s2", "s3", "s4"], "gap": [0.1, 0.005, -0.1, np.nan],
                          "references": [("d1",), ("d1", "d2"), ("d2",), ()],
                          "weights": [(1.0,), (0.5, 0.5), (1.0,), ()]})
    counts = fairness.win_counts(pairs, sigma, dof=8)
    assert counts == {"pairs": 3, "lower": 2, "resolved_lower": 1, "resolved_higher": 1, "unresolved": 1}
    intervals = fairness.pair_intervals(pairs, sigma, dof=8)
    # the interpolated reference is less noisy: sqrt(0.5^2 + 0.5^2 + 1) sigma
    assert intervals.loc[1, "high"] - 0.005 == pytest.approx(stats.t.ppf(0.975, 8) * 0.01 * np.sqrt(1.5))
    assert np.isnan(intervals.loc[3]).all()


def test_mean_gap_intervals_cover_at_their_level():
    # Simulated grids: 3 sparse runs against one shared dense run, noise estimated from 5 seeds at
    # 2 points (dof 8) as in kit.engine.grids.SEEDS; 95% intervals must cover the true mean gap ~95% of the time.
    rng = np.random.default_rng()
    sigma_true, true_gaps, reps, covered = 0.02, np.array([0.03, 0.05, 0.07]), 1000, 0
    pairs = pd.DataFrame({"id": ["s1", "s2", "s3"], "references": [("d",)] * 3, "weights": [(1.0,)] * 3})
    for _ in range(reps):
        dense = 3.0 + sigma_true * rng.standard_normal()
        sparse = 3.0 - true_gaps + sigma_true * rng.standard_normal(3)
        seeds = sigma_true * rng.standard_normal((2, 5))
        sigma_hat = np.sqrt(np.mean(np.var(seeds, axis=1, ddof=1)))
        sigma = pd.Series(sigma_hat, index=["d", "s1", "s2", "s3"])
        found = fairness.mean_gap(pairs.assign(gap=dense - sparse), sigma, dof=8)
        covered += found["low"] <= true_gaps.mean() <= found["high"]
    assert 0.925 <= covered / reps <= 0.975  # binomial sd 0.007 at 1000 repetitions


def test_direction_claim_takes_the_verdict_of_the_interval():
    found = {"estimate": 0.05, "low": 0.02, "high": 0.08, "se": 0.013, "half_width": 0.03, "pairs": 4, "lower": 4}
    claim = fairness.direction_claim("fair-x", "Frantar et al. 2024", "Sparse wins.", "ch1-x", "Holds if above 0.",
                                     found, +1)
    assert claim.verdict == "holds" and claim.our_runs == "+0.050 nats [+0.020, +0.080]"
    assert claim.numbers["pairs"] == 4.0 and "positive, as claimed" in claim.reason
    assert fairness.direction_claim("fair-x", "Frantar et al. 2024", "Dense wins.", "ch1-x", "Holds if below 0.",
                                    found, -1).verdict == "does not hold"
    empty = {**found, "estimate": np.nan, "low": np.nan, "high": np.nan, "pairs": 0, "lower": 0}
    none = fairness.direction_claim("fair-x", "Frantar et al. 2024", "Sparse wins.", "ch1-x", "Holds if above 0.",
                                    empty, +1)
    assert none.verdict == "not resolved" and none.our_runs is None and "no pair" in none.reason
    assert "estimate" not in none.numbers  # NaN is left out of the numbers


def test_learning_rate_table_finds_the_best_rate_and_the_recipes_loss():
    rule = lambda d: 0.01 * (16 / d) ** 0.5
    rows = [dict(n_nonzero=100, sparsity=0.0, d_model=16, lr=lr, loss=loss)
            for lr, loss in [(0.005, 2.1), (0.01, 2.0), (0.02, 2.05)]]
    rows += [dict(n_nonzero=100, sparsity=0.875, d_model=64, lr=lr, loss=loss)
             for lr, loss in [(0.0025, 2.3), (0.005, 2.25), (0.01, 2.2)]]  # the recipe's rate at d 64: 0.005
    rows += [dict(n_nonzero=400, sparsity=0.0, d_model=32, lr=0.02, loss=1.9)]  # the recipe's rate not tried
    table = fairness.learning_rate_table(pd.DataFrame(rows), rule).set_index(["n_nonzero", "sparsity"])
    assert table.loc[(100, 0.0), "best lr"] == 0.01 and table.loc[(100, 0.0), "recipe - best"] == 0.0
    assert table.loc[(100, 0.875), "best lr"] == 0.01
    assert table.loc[(100, 0.875), "recipe - best"] == pytest.approx(0.05)
    assert np.isnan(table.loc[(400, 0.0), "recipe loss"]) and table.loc[(400, 0.0), "rates tried"] == 1
