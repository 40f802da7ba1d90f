"""kit.chapters.transient: the sparse-minus-dense gap's decay with training, fitted and bounded."""

import numpy as np
import pandas as pd
import pytest

from kit.chapters import transient

X = 2.4e6 * 2.0 ** np.arange(6)  # the pilot's budgets: 2.4M to 77M tokens
TRUE = dict(g_inf=-0.05, a=1000.0, gamma=0.6)  # +0.10 nats at 2.4M, +0.03 at 77M


def test_regime_start_inverts_the_transient():
    x_star = transient.regime_start(TRUE["a"], TRUE["gamma"], 0.01)
    assert transient.transient(x_star, 0.0, TRUE["a"], TRUE["gamma"]) == pytest.approx(0.01, rel=1e-9)
    # a gap still rising towards g_inf (a < 0) is as far from it as one falling by as much
    assert transient.regime_start(-TRUE["a"], TRUE["gamma"], 0.01) == pytest.approx(x_star, rel=1e-12)
    assert transient.regime_start(0.0, 0.5, 0.01) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_the_fit_recovers_the_coefficients_from_noisy_gaps(seed):
    rng = np.random.default_rng(seed)
    x = np.repeat(X, 3)  # three sparsities' worth of repeats per budget
    gap = transient.transient(x, **TRUE) + rng.normal(0, 0.002, x.shape)
    fit = transient.fit_transient(x, gap, 0.002)
    assert fit["g_inf"] == pytest.approx(TRUE["g_inf"], abs=0.01)
    assert fit["gamma"] == pytest.approx(TRUE["gamma"], rel=0.25)
    assert 0.3 < fit["rms"] < 2.0  # residuals over sigma: about 1 when the model is right


def test_a_fixed_gamma_fits_only_the_level_and_amplitude():
    gap = transient.transient(X, **TRUE)
    fit = transient.fit_transient(X, gap, gamma=TRUE["gamma"])
    assert fit["gamma"] == TRUE["gamma"]
    assert fit["g_inf"] == pytest.approx(TRUE["g_inf"], abs=1e-9) and fit["a"] == pytest.approx(TRUE["a"], rel=1e-6)


def test_the_bootstrap_interval_covers_the_true_regime_start_most_of_the_time():
    eps, sigma, hits = 0.01, 0.004, 0
    truth = transient.regime_start(TRUE["a"], TRUE["gamma"], eps)
    for seed in range(20):
        gap = transient.transient(X, **TRUE) + np.random.default_rng(100 + seed).normal(0, sigma, X.shape)
        low, high = transient.bootstrap_transient(X, gap, sigma, eps, n_boot=100, seed=seed)["x_star_interval"]
        hits += low <= truth <= high
    assert hits >= 15  # nominal 95%; a parametric bootstrap of a 3-coefficient fit on 6 points is rough


@pytest.mark.parametrize("x,gap,match", [([1, 2, 3], [0.1, 0.05, 0.02], "4 or more gaps when gamma is fitted"),
                                         ([1, 1, 2, 2], [0.1, 0.1, 0.05, 0.05], "3 or more"),
                                         ([1, 2, 3, -4], [0.1, 0.05, 0.02, 0.01], "> 0"),
                                         ([1, 2, 3], [0.1, 0.05], "one length")])
def test_bad_input_is_refused(x, gap, match):
    with pytest.raises(ValueError, match=match):
        transient.fit_transient(x, gap)


def test_gaps_pair_each_sparse_run_with_the_dense_run_of_equal_n_tokens_batch_and_seed():
    rows = [dict(n_nonzero=n, tokens=d, batch_size=32, seed=0, sparsity=s, final_loss=loss, status="ok",
                 steps=d // 2048, prune_end=0.75)
            for n, d, s, loss in [(100, 4096, 0.0, 2.0), (100, 4096, 0.5, 2.1), (100, 8192, 0.0, 1.9),
                                  (100, 8192, 0.5, 1.85), (200, 4096, 0.5, 1.7)]]  # the last has no dense twin
    out = transient.gaps(pd.DataFrame(rows))
    assert list(out["gap"].round(6)) == [0.1, -0.05]
    assert list(out["steps_after_pruning"]) == [0.5, 1.0]


STEPS = 250 * 2.0 ** np.arange(5)  # five budgets, doubling


def synthetic_gaps(rng, amplitude, gamma=1.0, g_inf=-0.03, sparsities=(0.5, 0.875), sizes=4, noise=0.003):
    """Gaps of `sizes` runs per sparsity and budget around g_inf + amplitude x^-gamma (per sparsity)."""
    rows = [dict(sparsity=S, steps=x, gap=g_inf + amplitude[S] * x**-gamma + rng.normal(0, noise))
            for S in sparsities for x in STEPS for _ in range(sizes)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(3))
def test_runs_long_past_the_transient_are_in_regime(seed):
    """A transient of 2 nats x steps^-1 is below 0.01 nats from 200 steps: every budget from 250 on is in regime."""
    per_run = synthetic_gaps(np.random.default_rng(seed), {0.5: 1.0, 0.875: 2.0})
    fits = transient.fit_curves(per_run, "steps", eps=0.01, n_boot=100, gamma=1.0)
    assert list(fits["budgets"]) == [5, 5] and fits["x_star"].max() == pytest.approx(200, rel=0.3)
    verdict, reason = transient.in_regime_verdict(fits, largest=STEPS.max())
    assert verdict == "holds" and "4,000 steps" in reason


@pytest.mark.parametrize("seed", range(3))
def test_runs_still_closing_their_gap_are_out_of_regime(seed):
    """A transient of 400 nats x steps^-1 leaves 0.1 nats at 4,000 steps: x* = 40,000 at S = 0.875."""
    per_run = synthetic_gaps(np.random.default_rng(seed), {0.5: 1.0, 0.875: 400.0})
    fits = transient.fit_curves(per_run, "steps", eps=0.01, n_boot=100, gamma=1.0)
    row = fits.set_index("sparsity").loc[0.875]
    assert row["x_star_low"] > STEPS.max() and row["closing"] < -0.04 and row["left"] == pytest.approx(0.1, rel=0.2)
    verdict, reason = transient.in_regime_verdict(fits, largest=STEPS.max())
    assert verdict == "does not hold" and "S = 0.875" in reason and "S = 0.5," not in reason.split("lies above")[0]


def test_too_few_budgets_leave_the_question_open():
    per_run = synthetic_gaps(np.random.default_rng(0), {0.5: 1.0, 0.875: 2.0})
    short = per_run[per_run["steps"] <= 500]  # two budgets
    fits = transient.fit_curves(short, "steps", n_boot=20, gamma=1.0)
    assert fits.empty
    verdict, reason = transient.in_regime_verdict(fits, largest=500, sparsities=[0.5, 0.875])
    assert verdict == "not resolved" and "fewer than 3 budgets" in reason
    with pytest.raises(ValueError, match="eps=0"):
        transient.fit_curves(per_run, "steps", eps=0)


def test_the_rule_text_follows_the_thresholds():
    assert "below 0.02 nats" in transient.in_regime_rule(eps=0.02) and "90% interval" in transient.in_regime_rule(level=0.9)
    assert f"fewer than {transient.MIN_BUDGETS} budgets" in transient.in_regime_rule()


def test_gap_curves_average_each_budget():
    per_run = pd.DataFrame({"sparsity": [0.5, 0.5, 0.5], "steps": [100, 100, 200], "gap": [0.1, 0.3, 0.05]})
    curves = transient.gap_curves(per_run)
    assert curves["gap"].round(6).tolist() == [0.2, 0.05] and curves["runs"].tolist() == [2, 1]
    assert curves["sem"].iloc[0] == pytest.approx(0.1) and np.isnan(curves["sem"].iloc[1])


def test_the_figure_draws_one_curve_per_fitted_sparsity():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    per_run = synthetic_gaps(np.random.default_rng(0), {0.5: 1.0, 0.875: 400.0})
    fits = transient.fit_curves(per_run, "steps", n_boot=20, gamma=1.0)
    fig, axes = plt.subplots(1, 2)
    transient.plot_transient(axes, transient.gap_curves(per_run), fits)
    assert len(axes[1].get_lines()) >= 3  # two transients and the eps line
    plt.close(fig)


def test_the_budgets_are_listed_per_sparsity():
    from kit.engine.config import RunConfig
    configs = [RunConfig(seq_len=16, batch_size=4, tokens=64 * n, sparsity=s) for n, s in
               [(20, 0.0), (10, 0.0), (10, 0.5), (10, 0.0)]]
    assert transient.budgets_text(configs) == "S = 0: 10, 20; S = 0.5: 10"
    assert transient.budgets_text([]) == "none"


def test_the_table_prints_intervals_and_names_columns_for_a_reader():
    per_run = synthetic_gaps(np.random.default_rng(0), {0.5: 1.0, 0.875: 400.0})
    table = transient.fits_table(transient.fit_curves(per_run, "steps", n_boot=20, gamma=1.0))
    assert set(transient.TABLE_FORMATS) <= set(table.columns)
    assert table["x* (steps)"].iloc[1].startswith("40,") or table["x* (steps)"].iloc[1][:2] in {"38", "39", "41", "42"}
    assert transient.budget_text(float("inf")) == "never" and transient.budget_text(2.5e8) == "2.5e+08"


def test_the_claim_carries_the_verdict_its_rule_gives_and_the_summary_its_numbers():
    per_run = synthetic_gaps(np.random.default_rng(1), {0.5: 1.0, 0.875: 400.0}).assign(n_nonzero=1000)
    fits = transient.fit_curves(per_run, "steps", n_boot=20, gamma=1.0)
    claim = transient.in_regime_claim("k", "Runs are in regime.", "sec", fits, STEPS.max(), [0.5, 0.875], scope="here")
    assert (claim.verdict, claim.kind, claim.scope) == ("does not hold", "question", "here")
    assert claim.rule == transient.in_regime_rule() and claim.numbers["x_star_0.875"] == fits.x_star.iloc[1]
    texts = transient.summary(per_run, fits, 1.0)
    assert texts["tr_xstar_75"] == "(not in the grid)" and texts["tr_gamma"] == "1"
    assert float(texts["tr_multiple_875"]) == pytest.approx(fits.x_star.iloc[1] / STEPS.max(), abs=0.05)


def test_one_gap_per_budget_fits_with_gamma_fixed_but_not_free():
    """The pilot trains one size: three budgets give three gaps, enough for g_inf and a (gamma = 1)
    but not for gamma as well, which fit_curves then leaves out."""
    per_run = pd.DataFrame({"sparsity": 0.5, "steps": STEPS[:3], "gap": 0.01 + 20 / STEPS[:3]})
    fixed = transient.fit_curves(per_run, "steps", n_boot=20, gamma=1.0)
    assert len(fixed) == 1 and fixed.g_inf.iloc[0] == pytest.approx(0.01, abs=1e-6)
    assert transient.fit_curves(per_run, "steps", n_boot=20, gamma=None).empty
