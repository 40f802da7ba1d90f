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


def test_fit_groups_takes_each_runs_noise_by_its_sparsity_and_budget():
    true = {**TABLE7["t5"], **TABLE7["t5_nm"]}
    S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
    runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
                         "loss": laws.sparse_law(S, N, D, **true)})
    points = list(zip(runs.n_nonzero, runs.tokens))
    noise = {0.0: {1e9: 0.002, 4e9: 0.001}, 0.75: {1e9: 0.01, 4e9: 0.01}}
    group = lambda **kw: nm_sparsity.fit_groups(runs, runs[runs.S > 0].assign(m=8), TABLE7["t5"], points, **kw)["n:8"]
    (fitted, weighted), (_, equal) = group(noise=noise), group()
    scale = weighted.problem.scale
    dense = np.where(fitted.D == 1e9, 0.002, 0.001)
    expected = dense + fitted.S / 0.75 * (0.01 - dense)  # linear in S between the measured sparsities
    assert scale == pytest.approx(expected / expected[0] * scale[0])  # each run's own noise, relative to the others
    assert equal.problem.scale is None
    for S_ in (0.5, 0.75):  # exact losses: either weighting recovers the gains
        assert nm_sparsity.gain(weighted.params, S_) == pytest.approx(nm_sparsity.gain(true, S_), rel=1e-3)


def test_gap_summary_gives_the_mean_gap_with_a_t_interval_in_percent():
    pairs = pd.DataFrame({"pattern": ["2:4"] * 3 + ["1:4"], "gap": [0.01, 0.02, 0.03, 0.05]})
    table = nm_sparsity.gap_summary(pairs)
    assert list(table.index) == ["2:4", "1:4"] and table.points.tolist() == [3, 1]
    half = 4.302653 * 0.01 / np.sqrt(3)  # t(0.975, 2) sd / sqrt(n)
    np.testing.assert_allclose(table.loc["2:4", ["mean", "low", "high", "least", "most"]].to_numpy(float),
                               100 * np.expm1([0.02, 0.02 - half, 0.02 + half, 0.01, 0.03]), rtol=1e-6)
    assert np.isnan(table.loc["1:4", "low"]) and table.loc["1:4", "mean"] == pytest.approx(100 * np.expm1(0.05))


# ----------------------------------------------------------------------------- chapter 4's analysis

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def test_masks_claim():
    table = pd.DataFrame({"runs": [2], "kernels": [4], "violations": [0], "target": [0.5], "min_sparsity": [0.5],
                          "max_sparsity": [0.5], "exact": [True]}, index=pd.Index(["2:4"], name="pattern"))
    claim = nm_sparsity.masks_claim(table)
    assert claim.verdict == "holds" and claim.kind == "implementation" and claim.numbers["kernels"] == 4
    broken = table.assign(violations=[3], exact=[False])
    assert nm_sparsity.masks_claim(broken).verdict == "does not hold" and "not exact: 2:4" in nm_sparsity.masks_claim(broken).reason


def test_pattern_sparsity_scope_and_parameter_checks():
    assert nm_sparsity.pattern_sparsity("2:8") == 0.75
    nm_runs = runs_frame({"n_nonzero": [13_824, 27_648, 13_824], "tokens": [600_064, 600_064, 1_200_128], "sparsity": [0.5] * 3})
    assert nm_sparsity.nm_scope(nm_runs) == "every N 13.8k–27.6k at D 600k, every D 600k–1.2M at N 13.8k"
    nm_sparsity.check_patterns([(2, 4)], [0.0, 0.5], [1, 2], [10])
    for args, message in ((([(2, 4)], [0.5], [1, 2], [10]), "need 0.0"), (([(1, 8)], [0.0, 0.5], [1, 2], [10]), "1:8 ends"),
                          (([(2, 4)], [0.0, 0.5], [1], [10]), "two or more values")):
        with pytest.raises(ValueError, match=message):
            nm_sparsity.check_patterns(*args)


def grid_runs(coeffs, S=(0.0, 0.5, 0.75), n_nonzero=(10_000, 20_000, 40_000), tokens=(1_000_000, 2_000_000, 4_000_000)):
    rows = [dict(sparsity=s, n_nonzero=n, tokens=d, seed=0, nm=None) for s in S for n in n_nonzero for d in tokens]
    frame = runs_frame(rows)
    return frame.assign(loss=laws.sparse_law(frame.S, frame.N, frame.D, **coeffs))


def test_versus_dense_budget_table_and_law_words():
    coeffs = {**TABLE7["t5"], "a_D": 1e5}
    main = grid_runs(coeffs)
    versus = nm_sparsity.versus_dense(main)
    assert (versus["diff"] < 0).all()  # Eq. 1 with a sparsity term: every sparse run below its dense twin
    table = nm_sparsity.budget_table(versus)
    assert list(table.columns) == ["S = 0.5", "S = 0.75"] and table.index.name == "tokens D"
    fit = type("Fit", (), {"params": coeffs, "residuals": np.array([0.01, -0.01])})()
    words = nm_sparsity.law_words(fit, main, table)
    assert words["u_term_form"] == "graded" and words["u_rms"] == "1.00%" and words["budget_short"] == "1,000,000"
    flat = type("Fit", (), {"params": {**coeffs, "a_S": 0.0}, "residuals": np.zeros(2)})()
    assert nm_sparsity.law_words(flat, main, table)["u_term_form"] == "switched off"
    step = type("Fit", (), {"params": {**coeffs, "b_S": 300.0}, "residuals": np.zeros(2)})()
    step_words = nm_sparsity.law_words(step, main, table)
    assert step_words["u_term_form"] == "a step" and step_words["u_term_short"] == "a step for a sparsity term"


def test_fit_groups_term_table_table3_and_group_words():
    true = {**TABLE7["t5"], **TABLE7["t5_nm"], "a_D": 1e5}
    main = grid_runs(true)
    nm_runs = main[main.sparsity > 0].assign(nm=lambda f: [(2, 4) if s == 0.5 else (1, 4) for s in f.sparsity], m=4)
    points = sorted({(n, d) for n, d in zip(main.n_nonzero, main.tokens)})
    groups = nm_sparsity.fit_groups(main, nm_runs, true, points, starts=4)
    assert list(groups) == ["n:4"] and len(groups["n:4"][0]) == 27  # 9 dense runs and 18 n:4 runs
    assert nm_sparsity.gain(groups["n:4"][1].params, 0.5) == pytest.approx(nm_sparsity.gain(true, 0.5), rel=1e-3)
    assert nm_sparsity.term_table(groups).loc["n:4", "runs"] == 27
    rows = pd.DataFrame({"estimate": [1.5, 1.6], "low": [1.4, 1.5], "high": [1.6, np.inf]}, index=["gain(0.5)", "gain(0.75)"])
    table = nm_sparsity.table3({"n:4": rows, "other": rows})
    assert table.loc["n:4", "S = 0.5"] == "1.50x [1.40, 1.60]" and table.loc["other", "paper, S = 0.5"] == "–"
    words = nm_sparsity.group_words(groups, nm_sparsity.versus_dense(main), points, [(2, 4), (1, 4)])
    assert words["nm_gains"].startswith("n:4 1.67") and words["t7_f0_ratio"] == "10.1"


def gaps_table(rows):
    return pd.DataFrame(rows, index=pd.Index(["2:4", "1:4"], name="pattern"), columns=["points", "mean", "low", "high"])


@pytest.mark.parametrize("half, quarter, verdicts", [
    ((0.1, -0.5, 0.7), (2.0, 1.0, 3.0), ("holds", "holds")),
    ((3.0, 2.0, 4.0), (-2.0, -3.0, -1.0), ("does not hold", "does not hold")),
    ((0.5, -0.5, 1.5), (0.5, -0.5, 1.5), ("not resolved", "not resolved"))])
def test_findings_claims(half, quarter, verdicts):
    found, table = nm_sparsity.findings_claims(gaps_table([(3, *half), (3, *quarter)]), scope="somewhere")
    assert [c.key for c in found] == ["nm-50-like-unstructured-2-4", "nm-75-behind-unstructured-1-4"]
    assert tuple(c.verdict for c in found) == verdicts and list(table.verdict) == list(verdicts)
    assert all(c.rule_after and c.kind == "own runs" and c.scope == "somewhere" for c in found)
    assert f"±{nm_sparsity.MARGIN:g}%" in found[0].rule and found[0].paper_value == "gain 1.56x vs 1.59x"


def test_twin_intervals_gap_words_finding_words_and_the_figure():
    pairs = pd.DataFrame({"pattern": ["2:4", "1:4", "2:4", "1:4"], "m": [4] * 4, "n_nonzero": [100, 100, 100, 100],
                          "tokens": [10, 10, 20, 20], "D": [10.0, 10.0, 20.0, 20.0], "S": [0.5, 0.75] * 2, "N": [100.0] * 4, "twin_N": [100.0] * 4,
                          "loss": [2.0] * 4, "twin_loss": [2.0, 2.0, 1.9, 1.9], "gap": [0.0, 0.01, 0.02, 0.05]})
    noise = pd.DataFrame({"sigma": [0.02, 0.01], "dof": [4, 4]}, index=pd.Index([10, 20], name="tokens"))
    found = nm_sparsity.twin_intervals(pairs, noise)
    half = 2.776445 * np.sqrt(2) * 0.02 / 2.0  # t(0.975, 4) sqrt(2) sigma / twin loss, in log
    np.testing.assert_allclose(found.loc[0, ["percent", "low", "high"]].to_numpy(float),
                               100 * np.expm1([0.0, -half, half]), rtol=1e-5)
    words = nm_sparsity.gap_words(found)
    assert words["gap_short"] == "+0.00% to +1.01%" and words["gap_long_75"] == "+1.01% to +5.13%"
    gaps = nm_sparsity.gap_summary(pairs)
    claims_found, _ = nm_sparsity.findings_claims(gaps)
    runs = pd.DataFrame({"tokens": [10, 20], "loss": [2.0, 1.0]})
    words = nm_sparsity.finding_words(claims_found, gaps, pairs, noise, runs)
    assert words["seed_noise"] == "1.00% at 10 tokens, 1.00% at 20 tokens" and words["same_N"] == "every"
    assert words["verdict_nm_50_like_unstructured_2_4"] == claims_found[0].verdict
    fig = nm_sparsity.twin_figure(found)
    assert [ax.get_title() for ax in fig.axes] == ["D = 10", "N = 100"]
    plt.close("all")


@pytest.mark.parametrize("seed", range(3))
def test_grid_v3s_n_m_claims_pair_each_stored_run_with_its_twin_and_judge_by_the_same_rules(seed):
    rng = np.random.default_rng(seed)
    points = [(3_456, 39e6), (13_824, 39e6), (55_296, 39e6), (13_824, 78e6)]
    main = pd.DataFrame([dict(n_nonzero=n, tokens=d, sparsity=s, seed=0, nm=None, loss=2.0 - 0.1 * np.log2(n / 3456) - s / 10)
                         for n, d in points for s in (0.5, 0.75)])
    # 2:4 within 0.2% of its twin, 1:4 3% above it; the last point's twins not stored yet
    nm_runs = pd.DataFrame([dict(n_nonzero=n, tokens=d, sparsity=s, seed=0, nm=p, loss=0.0)
                            for n, d in points for s, p in ((0.5, (2, 4)), (0.75, (1, 4)))])
    twin_loss = main.set_index(["n_nonzero", "tokens", "sparsity"]).loss
    factor = np.where(nm_runs.sparsity == 0.5, 1 + 0.002 * rng.uniform(-1, 1, len(nm_runs)), 1.03 + 0.003 * rng.standard_normal(len(nm_runs)))
    nm_runs["loss"] = [twin_loss[(r.n_nonzero, r.tokens, r.sparsity)] * f for r, f in zip(nm_runs.itertuples(), factor)]
    main = main[~((main.n_nonzero == 13_824) & (main.tokens == 78e6))]
    main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
    found, table, paired, texts = nm_sparsity.v3_claims(main, nm_runs)
    verdicts = {c.key: c.verdict for c in found}
    assert verdicts == {"nm-50-like-unstructured-2-4-v3": "holds", "nm-75-behind-unstructured-1-4-v3": "holds"}
    assert texts == {"nm_v3_stored": "8 of 14", "nm_v3_pairs": "6"} and len(paired) == 6
    assert all(c.section == "ch4-grid-v3" and "8 of 14 stored, provisional" in c.scope for c in found)
    assert nm_sparsity.v3_claims(main, nm_runs.iloc[:0])[0] == []
