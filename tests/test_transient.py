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
    assert transient.regime_start(-1.0, 0.5, 0.01) == 0.0


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


@pytest.mark.parametrize("x,gap,match", [([1, 2, 3], [0.1, 0.05, 0.02], "at least 4"),
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
