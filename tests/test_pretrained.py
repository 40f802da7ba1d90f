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


# The chapter's analysis (book/chapters/05_pruning_pretrained.ipynb), on synthetic frames.

def test_check_prune_refuses_no_pruning_and_fractions_outside_0_1():
    pretrained.check_prune([0.5, 0.75], 0.056)
    with pytest.raises(ValueError, match=r"prune_sparsities = \[0.0, 0.5\]: every entry must be > 0"):
        pretrained.check_prune([0.0, 0.5], 0.056)
    with pytest.raises(ValueError, match="prune_fraction = 1.0: need a fraction strictly between 0 and 1"):
        pretrained.check_prune([0.5], 1.0)


def test_paper_table4_and_ratio_text():
    paper = pretrained.paper_table4()
    assert paper.loc["B/16", (0.875, "exc")] == 2.72 and paper.shape == (3, 6)
    assert pretrained.ratio_text(4.2, 3.1, np.inf) == "4.2x [3.1, ∞]"
    assert pretrained.ratio_text(np.inf) == "∞" and pretrained.ratio_text(2e6, fmt=".3g", unit="") == "2e+06"


def synthetic_models(exc_by_model):
    """Pruned models of two pretrained sizes at the sparsities of exc_by_model (S -> [exc per size]), with
    twins in a main grid whose losses put each model's D_scratch at exc x its pruning data (log D
    linear in log L between the twins' budgets)."""
    pruned, scratch = [], []
    for s, excs in exc_by_model.items():
        for n_dense, exc in zip((1000, 2000), excs):
            N = int(n_dense * (1 - s))
            D = np.geomspace(10.0, 1e10, 10)
            L = 3.0 * (D / 1e5) ** -0.05  # one twin curve per (S, N)
            scratch += [{"sparsity": s, "N": N, "D": d, "loss": l} for d, l in zip(D, L)]
            target = 100 * exc  # D_scratch; the pruning phase reads 100 tokens
            pruned.append({"sparsity": s, "S": s, "N": N, "N_dense": n_dense, "D": 100, "D_pretrain": 900,
                           "loss": 3.0 * (target / 1e5) ** -0.05, "L_dense": 2.0})
    return pd.DataFrame(pruned), pd.DataFrame(scratch)


def test_runs_table4_reads_each_model_and_takes_geometric_means_with_t_intervals():
    pruned, scratch = synthetic_models({0.5: [20.0, 80.0], 0.875: [30.0, 30.0]})
    measured, means = pretrained.runs_table4(pruned, scratch)
    np.testing.assert_allclose(measured.exc, [20.0, 80.0, 30.0, 30.0], rtol=1e-9)
    assert list(means.index) == [0.5, 0.875] and means.models.tolist() == [2, 2]
    assert means.loc[0.5, "exc"] == pytest.approx(40.0)
    assert means.loc[0.5, "inc"] == pytest.approx(4.0)  # inc = exc x 100 / 1000
    assert tuple(means.loc[0.5, ["exc", "exc_low", "exc_high"]]) == pytest.approx(
        pretrained.geometric_mean_interval([20.0, 80.0]))
    shown = pretrained.table4(measured, means)
    assert shown.loc["1,000", ("S = 0.5", "exc.")] == "20x" and shown.index[-1] == "geometric mean"
    assert shown.loc["geometric mean", ("S = 0.875", "exc.")] == "30x [30, 30]"


def test_runs_table4_without_twins_gives_no_mean():
    pruned, scratch = synthetic_models({0.5: [20.0, 80.0]})
    measured, means = pretrained.runs_table4(pruned, scratch.iloc[:0])
    assert means.models.tolist() == [0] and np.isnan(means.loc[0.5, "exc"])
    assert pretrained.table4(measured, means).loc["geometric mean", ("S = 0.5", "exc.")] == "–"


def claims_on(exc_by_model):
    pruned, scratch = synthetic_models(exc_by_model)
    measured, means = pretrained.runs_table4(pruned, scratch)
    return {c.key: c for c in pretrained.tested_claims(measured, means)}


def test_tested_claims_pass_and_fail_the_exc_bounds():
    high = claims_on({0.5: [9.0, 11.0], 0.75: [8.0, 8.5], 0.875: [5.0, 5.5]})
    assert set(high) == {"pretrained-exc-50-75", "pretrained-exc-875", "pretrained-inc"}
    assert high["pretrained-exc-50-75"].verdict == "holds" and high["pretrained-exc-875"].verdict == "holds"
    assert high["pretrained-exc-50-75"].numbers["estimate"] == pytest.approx(np.sqrt(8.0 * 8.5))  # the smaller mean
    low = claims_on({0.5: [3.0, 3.2], 0.75: [3.0, 3.1], 0.875: [1.5, 1.52]})
    assert low["pretrained-exc-50-75"].verdict == "does not hold" and low["pretrained-exc-875"].verdict == "does not hold"
    wide = claims_on({0.5: [2.0, 20.0], 0.75: [2.0, 20.0], 0.875: [1.0, 10.0]})
    assert wide["pretrained-exc-50-75"].verdict == "not resolved" and wide["pretrained-exc-875"].verdict == "not resolved"
    claim = high["pretrained-exc-50-75"]
    bound = pretrained.EXC_BOUNDS[(0.5, 0.75)]
    assert claim.numbers["bound"] == bound and f"minus {bound:g}," in claim.rule and f"{pretrained.LEVEL:.0%}" in claim.rule
    assert claim.kind == "own runs" and claim.rule_after and "2 dense models" in claim.scope
    assert claim.paper_value == "exc. 4.00x to 4.90x"


def test_tested_claims_pass_and_fail_the_inc_bound():
    # inc = exc / 10 here: 1 / inc > 4 needs exc < 2.5
    assert claims_on({0.5: [1.0, 1.1]})["pretrained-inc"].verdict == "holds"
    assert claims_on({0.5: [9.0, 11.0]})["pretrained-inc"].verdict == "does not hold"
    assert claims_on({0.5: [1.0, 20.0]})["pretrained-inc"].verdict == "not resolved"
    claim = claims_on({0.5: [1.0, 1.1]})["pretrained-inc"]
    assert claim.numbers["bound"] == pretrained.INC_BOUND and claim.paper_value == "1 / inc. 4.0x to 7.7x"
    assert set(claims_on({0.5: [1.0, 1.1]})) == {"pretrained-inc"}  # no verdict about sparsities not pruned


def test_tested_claims_with_one_model_or_none_are_not_resolved():
    pruned, scratch = synthetic_models({0.875: [5.0, 5.0]})
    measured, means = pretrained.runs_table4(pruned.iloc[:1], scratch)
    one = {c.key: c for c in pretrained.tested_claims(measured, means)}["pretrained-exc-875"]
    assert one.verdict == "not resolved" and one.our_runs == "5x (one model)" and "single pretrained model" in one.reason
    measured, means = pretrained.runs_table4(pruned, scratch.iloc[:0])
    none = {c.key: c for c in pretrained.tested_claims(measured, means)}["pretrained-exc-875"]
    assert none.verdict == "not resolved" and none.our_runs is None and "estimate" not in none.numbers


def test_law_table4_gives_bootstrap_ends_and_geometric_means():
    pruned, D_scratch = pruned_frame()
    pruned = pruned.assign(sparsity=pruned.S, N_dense=[2e8, 2e8, 4e8])
    samples = pd.DataFrame([T5] * 5 + [{**T5, "c": np.nan}])
    table, means, used = pretrained.law_table4(pruned, T5, samples, log_noise=0.0)
    assert used == 5  # the refit with a missing coefficient is left out
    np.testing.assert_allclose(table.exc_low, table.exc, rtol=1e-9)  # no noise, one law: the ends are the estimate
    assert means.loc[0.5, "exc"] == pytest.approx(20.0) and means.loc[0.5, "models"] == 2
    assert means.loc[0.75, "inc_high"] == pytest.approx(10 / 19)
    shown = pretrained.law_models_table(table)
    assert shown["exc."].iloc[0] == "20x [20, 20]"
    texts = pretrained.law_table4_texts(table, pd.DataFrame({"D": [1e9, 1e10]}), used, 6)
    assert texts["boot_valid"] == "5" and texts["unreachable"] == "0 of 3" and texts["stars_between"] == "1 of 3"
    assert texts["beyond_sentence"].startswith("For 2 of them D_scratch lies beyond")  # 2e10 and 4e10 beyond 1e10


def test_from_runs_table_and_texts():
    pruned, scratch = synthetic_models({0.5: [20.0, 80.0], 0.875: [30.0, 1e9]})  # the last beyond its twins
    measured, _ = pretrained.runs_table4(pruned, scratch)
    law = measured.assign(D_scratch=2 * measured.D_scratch)
    runs = pretrained.from_runs_table(measured, law)
    assert len(runs) == 4 and runs["law's D_scratch / runs'"].iloc[0] == pytest.approx(2.0)
    texts = pretrained.from_runs_texts(measured, runs)
    assert texts["twins_read"] == "3 of 4" and texts["law_vs_runs"] == "2.00 to 2.00" and texts["top_S"] == "87.5%"
    assert texts["runs_D_range"] == "0.0M to 0.0M"


def test_law_texts_call_a_gain_below_flat_gain_flat():
    class Fit:
        params, residuals = {**T5, "a_S": 1e-9}, np.array([0.01, -0.01])
    main = pd.DataFrame({"D": [1e6, 4e6]})
    texts = pretrained.law_texts(Fit, main, [0.5])
    assert texts["law_flat"] == "flat" and texts["law_rms"] == "1.00%" and texts["gain_50"] == "1.00"
    Fit.params = T5
    assert pretrained.law_texts(Fit, main, [0.5])["law_flat"] == "not flat"


def test_table4_texts_name_each_sparsity_and_the_cheaper_route():
    pruned, scratch = synthetic_models({0.5: [5.0, 5.0], 0.875: [20.0, 20.0]})
    measured, means = pretrained.runs_table4(pruned, scratch)
    texts = pretrained.table4_texts(measured, means, means)
    assert texts["exc_50"] == "5" and texts["models_875"] == "2" and texts["inc_factor"] == "0.1000"
    assert "costs 2 times the data of pruning throughout training" in texts["route_50"]
    assert "cheaper one even with its pretraining counted" in texts["route_875"]
    assert texts["route_range"] == "0.5 to 2" and texts["lowest_S"] == "50%"


def test_dense_check_and_half_gaps():
    dense = pd.DataFrame({"N": [1e8, 2e8], "D": [2e10, 2e10], "d_model": [8, 12]})
    dense["loss"] = laws.sparse_law(0.0, dense.N, dense.D, **T5)
    check = pretrained.dense_check(dense, T5)
    np.testing.assert_allclose(check["law − measured"], 0.0, atol=1e-12)
    np.testing.assert_allclose(check["law's D for the measured loss / D_pretrain"], 1.0, rtol=1e-9)
    pruned = pd.DataFrame({"sparsity": [0.5], "S": [0.5], "N": [1e8], "N_dense": [2e8], "D": [1e9],
                           "L_dense": [dense.loss[1]], "loss": [dense.loss[0]]})
    gaps = pretrained.half_gaps(pruned, dense, T5)
    assert gaps["dense size matched / N"].iloc[0] == pytest.approx(1.0)  # it ends at the 1e8 dense model's loss
    assert gaps["gap"].iloc[0] == pytest.approx(dense.loss[0] - dense.loss[1])
    texts = pretrained.half_gap_texts(gaps, [2.0, 4.0])
    assert texts["gain_runs"] == "1.00x" and texts["gain_runs_count"] == "1 of 1" and texts["vit_rel"] == "5.0% to 15.0%"


def test_pruned_table_gives_the_from_scratch_embedding():
    from kit.engine.config import RunConfig
    pruned = pd.DataFrame({"N_dense": [2000], "S": [0.5], "sparsity": [0.5], "N": [1000], "D": [100], "loss": [2.0],
                           "L_dense": [1.9], "nnz_embed": [4096]})
    table = pretrained.pruned_table(pruned, RunConfig(width_multiple=4, n_layers=2))
    assert table["from scratch"].iloc[0] % 256 == 0 and table["embedding non-zeros"].iloc[0] == 4096


def test_plot_equivalence_draws_one_panel_per_pretrained_model():
    import matplotlib
    matplotlib.use("agg")
    pruned, scratch = synthetic_models({0.5: [5.0, 5.0]})
    pruned = pruned.assign(loss=laws.sparse_law(0.5, pruned.N * 1e5, 1e9, **T5), N=pruned.N * 1e5,
                           N_dense=pruned.N_dense * 1e5, D=1e9, D_pretrain=1e10)
    dense = pd.DataFrame({"N": [1e8, 2e8], "D": [1e10, 1e10], "loss": [2.5, 2.4], "d_model": [8, 12]})
    main = scratch.assign(N=scratch.N * 1e5)
    fig = pretrained.plot_equivalence(pretrained.efficiency(pruned, T5), dense, main, T5)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.lines]
    assert len(axes) == 2
    colours = {line.get_label(): line.get_color() for line in axes[0].lines}
    from kit.report import plots
    assert matplotlib.colors.same_color(colours["S = 0 (dense)"], plots.sparsity_colour(0.0))
    assert matplotlib.colors.same_color(colours["S = 0.5"], plots.sparsity_colour(0.5))


def _worth(rows):
    return pd.DataFrame(rows, columns=["n_nonzero", "sparsity", "worth"]).set_index(["n_nonzero", "sparsity"])


@pytest.mark.parametrize("a, b", [(0.2, 0.1), (0.05, 0.3)])
def test_worth_at_is_linear_in_log_n_between_sizes_and_held_outside(a, b):
    worth = _worth([(1_000, 0.5, a), (4_000, 0.5, b), (1_000, 0.75, 1.0)])
    got = pretrained.worth_at(worth, [250, 1_000, 2_000, 4_000, 16_000, 8_000], [0.5, 0.5, 0.5, 0.5, 0.5, 0.75])
    assert got[:5] == pytest.approx([a, a, (a + b) / 2, b, b]) and got[5] == pytest.approx(1.0)
    assert np.isnan(pretrained.worth_at(worth, 2_000, 0.875))


def test_removing_the_embeddings_worth_lowers_exc_at_every_sparsity_on_the_stored_runs():
    from kit.engine import data, grids
    from kit.engine.config import RunConfig
    from kit.engine.store import RunStore

    store, corpus, config = RunStore(), data.load_corpus(None), RunConfig()
    worth = pretrained.embedding_worth(store, corpus, config)
    assert len(worth) == 6 and (worth.worth > 0).all()  # the whole embedding lowers the loss at every point
    parents = {store.run_id(c, corpus.fingerprint): c for c in grids.pretrain_grid(config)}
    main, _, pruned = pretrained.read_runs(store, corpus, grids.main_grid(config), grids.pretrain_grid(config),
                                           grids.sparsify_grid(parents))
    removed = pretrained.without_embedding_worth(pruned, worth)
    assert len(removed) == len(pruned) and (removed.loss > pruned.loss).all()
    kept_means, removed_means = pretrained.runs_table4(pruned, main)[1], pretrained.runs_table4(removed, main)[1]
    assert (removed_means.exc < kept_means.exc).all() and (removed_means.exc > 1).all()


@pytest.mark.parametrize("fraction, corpus, side", [(0.056, 176_806_425, "more than"), (0.25, 176_806_425, "less than"),
                                                   (0.1, 176_806_425, "about")])
def test_regime_texts_give_the_pretraining_a_phase_of_x_star_steps_needs(fraction, corpus, side):
    fits = pd.DataFrame({"sparsity": [0.5, 0.875], "x_star": [3e3, 8e3], "x_star_low": [2e3, 6.9e3],
                         "x_star_high": [4e3, 9.5e3]})
    texts = pretrained.regime_texts(fits, 0.875, fraction, 4_587_520, corpus)
    low, high = (float(v.rstrip("M")) * 1e6 for v in texts["regime_pretrain_needed"].split(" to "))
    assert low == pytest.approx(6.9e3 / fraction * 2048, rel=0.01) and high == pytest.approx(9.5e3 / fraction * 2048, rel=0.01)
    assert texts["regime_phase_steps"] == f"{fraction * 4_587_520 / 2048:,.0f}" and texts["regime_fits_corpus"] == side
    assert pretrained.regime_texts(fits, 0.75, fraction, 4_587_520, corpus)["regime_x_star"] == "–"
