import numpy as np
import pandas as pd
import pytest

from kit import laws
from kit.chapters import nm_sparsity
from kit.laws import TABLE7


def runs_frame(rows):
    """A law_frame-like frame: config fields, metrics and the laws' inputs."""
    frame = pd.DataFrame(rows)
    return frame.assign(S=frame.sparsity, N=frame.n_nonzero, D=frame.tokens)


def test_label():
    assert nm_sparsity.label((2, 4)) == "2:4" and nm_sparsity.label(None) == "unstructured"


def test_masks_counts_backbone_kernels_only_and_finds_inexact_patterns():
    exact = {"block_0/mlp/up/kernel": 0.5, "block_0/mlp/down/kernel": 0.5, "embed/embedding": 0.25}
    runs = pd.DataFrame({"nm": [(2, 4), (2, 4), (1, 4)], "nm_violations": [0, 0, 3],
                         "layer_sparsity": [exact, exact, {"block_0/mlp/up/kernel": 0.75, "block_0/mlp/down/kernel": 0.7}]})
    table = nm_sparsity.masks(runs)
    assert list(table.index) == ["2:4", "1:4"]
    assert table.loc["2:4", ["runs", "kernels", "violations"]].tolist() == [2, 4, 0]  # the embedding left out
    assert table.loc["2:4", "exact"] and not table.loc["1:4", "exact"]
    assert table.loc["1:4", "violations"] == 3 and table.loc["1:4", "min_sparsity"] == pytest.approx(0.7)
    # a kernel off its target alone makes a pattern inexact, even without violations
    runs.loc[2, "nm_violations"] = 0
    assert not nm_sparsity.masks(runs).loc["1:4", "exact"]
    with pytest.raises(ValueError, match=r"1 of the runs are not n:m runs"):
        nm_sparsity.masks(pd.DataFrame({"nm": [None], "nm_violations": [0], "layer_sparsity": [{}]}))


def test_twins_pair_each_pattern_with_its_unstructured_run():
    main = runs_frame({"n_nonzero": [100, 100, 100, 200], "tokens": [10, 10, 10, 10], "sparsity": [0.0, 0.5, 0.75, 0.5],
                       "seed": [0] * 4, "nm": [None] * 4, "loss": [3.0, 2.9, 2.8, 2.7]})
    nm = runs_frame({"n_nonzero": [100, 100, 200], "tokens": [10, 10, 10], "sparsity": [0.5, 0.75, 0.5],
                     "seed": [0] * 3, "nm": [(2, 4), (1, 4), (4, 8)], "loss": [2.9 * np.e**0.01, 2.8, 2.7 * np.e**-0.02]})
    pairs = nm_sparsity.twins(main, nm)
    assert pairs.pattern.tolist() == ["2:4", "1:4", "4:8"] and pairs.m.tolist() == [4, 4, 8]
    np.testing.assert_allclose(pairs.twin_loss, [2.9, 2.8, 2.7])
    np.testing.assert_allclose(pairs.gap, [0.01, 0.0, -0.02], atol=1e-12)
    with pytest.raises(ValueError, match="have no unstructured twin"):
        nm_sparsity.twins(main[main.sparsity != 0.75], nm)


def test_step_shares_compare_the_pattern_step_with_the_unstructured_one():
    # at two points: unstructured 50% -> 75% lowers log L by 0.04; 2:4 -> 1:4 by 0.01 (a quarter)
    pairs = pd.DataFrame({"pattern": ["2:4", "1:4", "2:4", "1:4"], "m": [4] * 4, "n_nonzero": [100, 100, 200, 200],
                          "tokens": [10] * 4, "S": [0.5, 0.75, 0.5, 0.75],
                          "loss": np.exp([1.0, 0.99, 0.9, 0.89]), "twin_loss": np.exp([1.0, 0.96, 0.9, 0.86])})
    shares = nm_sparsity.step_shares(pairs)
    assert list(shares.index) == ["n:4"] and shares.loc["n:4", ["from", "to", "points"]].tolist() == ["2:4", "1:4", 2]
    assert shares.loc["n:4", "pattern_step"] == pytest.approx(-0.01)
    assert shares.loc["n:4", "unstructured_step"] == pytest.approx(-0.04)
    assert shares.loc["n:4", "share"] == pytest.approx(0.25)
    assert nm_sparsity.step_shares(pairs[pairs.S == 0.5]).empty  # no 75% pattern, no step


def test_fit_sparsity_term_recovers_it_with_the_dense_terms_held():
    # Table 7's T5 law with its n:m row: dense runs and two sparsities at a grid of (N, D)
    true = {**TABLE7["t5"], **TABLE7["t5_nm"]}
    S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
    runs = pd.DataFrame({"S": S, "N": N, "D": D, "loss": laws.sparse_law(S, N, D, **true)})
    fit = nm_sparsity.fit_sparsity_term(runs, TABLE7["t5"], starts=8)
    assert {k: fit.params[k] for k in nm_sparsity.DENSE_TERMS} == {k: TABLE7["t5"][k] for k in nm_sparsity.DENSE_TERMS}
    for S_ in (0.5, 0.75):  # what the runs pin: the gains (f(0) through the dense runs)
        assert nm_sparsity.gain(fit.params, S_) == pytest.approx(nm_sparsity.gain(true, S_), rel=1e-3)
    assert nm_sparsity.gain(true, 0.5) == pytest.approx(1.67, abs=0.01)  # Table 3's n:8 at 50%


def test_gap_summary_gives_the_mean_gap_with_a_t_interval_in_percent():
    pairs = pd.DataFrame({"pattern": ["2:4"] * 3 + ["1:4"], "gap": [0.01, 0.02, 0.03, 0.05]})
    table = nm_sparsity.gap_summary(pairs)
    assert list(table.index) == ["2:4", "1:4"] and table.points.tolist() == [3, 1]
    half = 4.302653 * 0.01 / np.sqrt(3)  # t(0.975, 2) sd / sqrt(n)
    np.testing.assert_allclose(table.loc["2:4", ["mean", "low", "high", "least", "most"]].to_numpy(float),
                               100 * np.expm1([0.02, 0.02 - half, 0.02 + half, 0.01, 0.03]), rtol=1e-6)
    assert np.isnan(table.loc["1:4", "low"]) and table.loc["1:4", "mean"] == pytest.approx(100 * np.expm1(0.05))
