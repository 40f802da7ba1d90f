import numpy as np
import pandas as pd
import pytest

from kit import laws
from kit.chapters import pretrained
from kit.laws import TABLE7

T5 = TABLE7["t5"]


def test_with_parents_adds_the_dense_runs_numbers():
    dense = pd.DataFrame({"id": ["a", "b"], "N": [1000, 2000], "d_model": [8, 12], "D": [500, 500],
                          "loss": [3.0, 2.8], "data_offset": [0, 0]})
    pruned = pd.DataFrame({"init_from": ["b", "a"], "data_offset": [500, 400], "N": [1000, 500]})
    out = pretrained.with_parents(pruned, dense)
    assert out.N_dense.tolist() == [2000, 1000] and out.d_dense.tolist() == [12, 8]
    assert out.D_pretrain.tolist() == [500, 500] and out.L_dense.tolist() == [2.8, 3.0]
    assert out.contiguous.tolist() == [True, False]
    with pytest.raises(ValueError, match=r"start from \['c'\]"):
        pretrained.with_parents(pd.DataFrame({"init_from": ["c"], "data_offset": [0]}), dense)


def test_scratch_data_inverts_the_law_and_is_infinite_below_its_limit():
    S, N, D = np.array([0.5, 0.75]), np.array([1e8, 2e8]), np.array([3e9, 5e10])
    L = laws.sparse_law(S, N, D, **T5)
    np.testing.assert_allclose(pretrained.scratch_data(L, S, N, T5), D, rtol=1e-9)
    limit = pretrained.scratch_limit(S, N, T5)
    np.testing.assert_allclose(limit, (T5["a_S"] * (1 - S) ** T5["b_S"] + T5["c_S"]) * N ** -T5["b_N"] + T5["c"], rtol=1e-12)
    assert np.isinf(pretrained.scratch_data(limit - 1e-3, S, N, T5)).all()
    assert pretrained.scratch_data(L[0], S[0], N[0], T5).shape == ()


def pruned_frame():
    S, N = np.array([0.5, 0.75, 0.5]), np.array([1e8, 5e7, 2e8])
    D_scratch = np.array([2e10, 1e10, 4e10])
    return pd.DataFrame({"S": S, "N": N, "loss": laws.sparse_law(S, N, D_scratch, **T5), "D": [1e9, 1e9, 2e9],
                         "D_pretrain": [1.8e10, 1.8e10, 3.6e10]}), D_scratch


def test_efficiency_gives_table_4s_ratios():
    pruned, D_scratch = pruned_frame()
    table = pretrained.efficiency(pruned, T5)
    np.testing.assert_allclose(table.D_scratch, D_scratch, rtol=1e-9)
    np.testing.assert_allclose(table.exc, [20.0, 10.0, 20.0], rtol=1e-9)
    np.testing.assert_allclose(table.inc, [20 / 19, 10 / 19, 20 / 19], rtol=1e-9)
    # inc is exc scaled by the pruning phase's share of all the data
    np.testing.assert_allclose(table.inc, table.exc * pruned.D / (pruned.D + pruned.D_pretrain), rtol=1e-12)
    with pytest.raises(ValueError, match=r"lacks columns \['D_pretrain'\]"):
        pretrained.efficiency(pruned.drop(columns="D_pretrain"), T5)


def test_scratch_data_samples_use_each_rows_law_and_the_noise():
    pruned, D_scratch = pruned_frame()
    samples = pd.DataFrame([T5, {**T5, "c": np.nan}, {**T5, "c": 2 * T5["c"]}])
    D_BxM = pretrained.scratch_data_samples(pruned, samples)
    np.testing.assert_allclose(D_BxM[0], D_scratch, rtol=1e-9)
    assert np.isnan(D_BxM[1]).all() and np.isinf(D_BxM[2]).all()  # c doubled: every loss below the limit
    noisy = pretrained.scratch_data_samples(pruned, pd.DataFrame([T5] * 400), log_noise=0.01, seed=1)
    spread = np.std(np.log(noisy[:, 0]))
    assert 0.05 < spread < 1.0  # a 1% loss change moves D a lot: the data term is a small part of L
    assert np.median(noisy[:, 0]) == pytest.approx(D_scratch[0], rel=0.2)
    with pytest.raises(ValueError, match="log_noise = -1"):
        pretrained.scratch_data_samples(pruned, samples, log_noise=-1)


def test_geometric_mean_and_percentile_interval():
    np.testing.assert_allclose(pretrained.geometric_mean([[1.0, 4.0], [2.0, 8.0]]), [2.0, 4.0])
    assert np.isinf(pretrained.geometric_mean([1.0, np.inf]))
    low, high = pretrained.percentile_interval(np.arange(1, 101, dtype=float), level=0.9)
    assert (low, high) == (5.0, 95.0)  # order statistics, no interpolation
    low, high = pretrained.percentile_interval([1.0, 2.0, np.inf, np.inf, np.nan], level=0.5)
    assert np.isfinite(low) and np.isinf(high)
    with pytest.raises(ValueError, match="all NaN"):
        pretrained.percentile_interval([np.nan])


def test_x_at_loss_interpolates_log_d_in_log_l_and_is_nan_outside():
    D, L = [1e6, 2e6, 4e6], [3.0, 2.5, 2.2]
    assert pretrained.x_at_loss(D, L, 2.5) == pytest.approx(2e6)
    mid = np.exp(np.log(1e6) + np.log(2) * np.log(3.0 / 2.7) / np.log(3.0 / 2.5))
    assert pretrained.x_at_loss(D, L, 2.7) == pytest.approx(mid, rel=1e-12)
    assert pretrained.x_at_loss(D[::-1], L[::-1], 2.7) == pytest.approx(mid, rel=1e-12)  # order of runs free
    assert np.isnan(pretrained.x_at_loss(D, L, 2.1)) and np.isnan(pretrained.x_at_loss(D, L, 3.1))


def test_scratch_data_from_runs_reads_each_models_twins():
    scratch = pd.DataFrame({"sparsity": [0.5] * 3 + [0.75] * 3, "N": [100] * 3 + [50] * 3,
                            "D": [1e6, 2e6, 4e6] * 2, "loss": [3.0, 2.5, 2.2, 3.2, 2.8, 2.6]})
    pruned = pd.DataFrame({"sparsity": [0.5, 0.75, 0.75, 0.5], "N": [100, 50, 50, 200], "loss": [2.5, 2.8, 2.5, 2.0],
                           "D": [1e5] * 4, "D_pretrain": [9e5] * 4}, index=[3, 1, 2, 0])
    twins = pretrained.scratch_twins(pruned, scratch)
    assert sorted(twins) == [1, 2, 3] and twins[3].D.tolist() == [1e6, 2e6, 4e6]
    out = pretrained.scratch_data_from_runs(pruned, scratch)
    np.testing.assert_allclose(out.D_scratch.loc[[3, 1]], [2e6, 2e6])
    np.testing.assert_allclose(out.exc.loc[[3, 1]], [20.0, 20.0])
    assert out.inc.loc[3] == pytest.approx(2.0)
    assert np.isnan(out.D_scratch.loc[2]) and out.twin_loss_min.loc[2] == 2.6  # below the longest twin: > 4e6
    assert np.isnan(out.D_scratch.loc[0]) and out.twins.loc[0] == 0  # no twin at all


def test_geometric_mean_interval_is_the_t_interval_of_the_logs():
    estimate, low, high = pretrained.geometric_mean_interval([2.0, 8.0])
    assert estimate == pytest.approx(4.0)
    half = 12.706 * np.std(np.log([2.0, 8.0]), ddof=1) / np.sqrt(2)
    assert (low, high) == pytest.approx((4 * np.exp(-half), 4 * np.exp(half)), rel=1e-3)
    assert np.isnan(pretrained.geometric_mean_interval([3.0])[1])
    with pytest.raises(ValueError, match="positive finite"):
        pretrained.geometric_mean_interval([1.0, np.inf])
