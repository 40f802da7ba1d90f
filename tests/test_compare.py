import numpy as np
import pandas as pd
import pytest

from kit.fit.compare import bootstrap_means, fit_law, law_predictions, mean_intervals, predict_law
from kit.fit.fitting import fit
from kit.laws import avg_param_law, dense_law


def test_bootstrap_means_pairs_columns():
    errors = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0, 4.0]})
    samples = bootstrap_means(errors, n_boot=500, seed=1)
    assert samples.shape == (500, 2)
    np.testing.assert_allclose(samples.b - samples.a, 1.0)  # same rows drawn for both columns
    assert samples.a.min() >= 0.0 and samples.a.max() <= 3.0
    assert samples.a.mean() == pytest.approx(1.5, abs=0.1)
    assert samples.a.std() == pytest.approx(np.std([0, 1, 2, 3]) / 2, rel=0.15)  # sd / sqrt(n)
    with pytest.raises(ValueError, match="no NaN"):
        bootstrap_means(pd.DataFrame({"a": [1.0, np.nan]}))


def test_mean_intervals_pairs_the_differences():
    errors = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4, 0.5], "b": [0.2, 0.3, 0.4, 0.5, 0.6]})
    table = mean_intervals(errors, n_boot=400, level=0.9, differences=[("a", "b")])
    assert list(table.index) == ["a", "b", "a − b"] and table.index.name == "quantity"
    assert table.loc["a", "estimate"] == pytest.approx(0.3)
    # b is a + 0.1 on every run: paired resamples make the difference exact
    assert table.loc["a − b"].tolist() == pytest.approx([-0.1, -0.1, -0.1])
    assert table.loc["a", "low"] < 0.3 < table.loc["a", "high"]
    with pytest.raises(ValueError, match=r"not columns of errors"):
        mean_intervals(errors, differences=[("a", "c")])


def law_runs(noise=1e-3, seed=0):
    """Runs of a known law in N_avg: dense ones, and sparse ones whose N_avg exceeds N."""
    rng = np.random.default_rng(seed)
    true = dict(a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
    rows = [{"N": n, "D": d, "S": s, "N_avg": n * (1 + 2 * s), "schedule": k if s else None}
            for n in (1e4, 3e4, 1e5) for d in (1e6, 4e6, 1.6e7) for s, k in ((0.0, None), (0.5, "x"), (0.75, "y"))]
    frame = pd.DataFrame(rows)
    frame["loss"] = avg_param_law(frame.N_avg, frame.D, **true) * np.exp(noise * rng.standard_normal(len(frame)))
    return frame


def test_fit_law_recovers_the_law_of_its_inputs():
    frame = law_runs(noise=1e-5)
    result = fit_law(avg_param_law, frame, starts=8)
    assert np.mean(np.abs(frame.loss - predict_law(result, frame))) < 1e-3
    assert result.params["b_N"] == pytest.approx(0.3, rel=0.05)
    with pytest.raises(ValueError, match="fit_law knows"):
        fit_law(lambda N, D, a: N, frame)


@pytest.mark.parametrize("seed", range(2))
def test_law_predictions_in_and_out_of_sample(seed):
    frame = law_runs(seed=seed)
    groups = [k if isinstance(k, str) else None for k in frame.schedule]
    train, test = (frame.N < 1e5).to_numpy(), (frame.N == 1e5).to_numpy()
    fits, predicted = law_predictions({"N": dense_law, "N_avg": avg_param_law}, frame, groups, train, test, starts=8)
    assert set(fits) == {"N", "N_avg"} and set(predicted) == {"in-sample", "leave one group out", "held out"}
    assert list(predicted["in-sample"].index) == list(frame.index)
    assert list(predicted["leave one group out"].index) == list(frame.index[frame.S > 0])
    assert list(predicted["held out"].index) == list(frame.index[test])
    errors = {k: p.sub(frame.loss[p.index], axis=0).abs().mean() for k, p in predicted.items()}
    for evaluation, mae in errors.items():  # the true law is in N_avg: it wins every evaluation
        assert mae["N_avg"] < 0.01 < mae["N"], evaluation
    with pytest.raises(ValueError, match="give both train and test"):
        law_predictions({"N": dense_law}, frame, train=train)
    with pytest.raises(ValueError, match="disjoint"):
        law_predictions({"N": dense_law}, frame, train=train, test=train)


def test_leave_one_group_out_refits_equal_fits_without_the_group():
    # one group is shifted by +0.05 nats: its held-out predictions come from the other runs only,
    # and equal a fit to those runs from the same start
    frame = law_runs(seed=3)
    frame.loc[frame.schedule == "y", "loss"] += 0.05
    groups = [k if isinstance(k, str) else None for k in frame.schedule]
    fits, predicted = law_predictions({"N_avg": avg_param_law}, frame, groups, starts=8)
    held = (frame.schedule == "y").to_numpy()
    alone = predict_law(fit_law(avg_param_law, frame[~held], starts=[fits["N_avg"].params]), frame[held])
    np.testing.assert_allclose(predicted["leave one group out"].loc[frame.index[held], "N_avg"], alone, rtol=1e-5)
    shift = frame.loss[held] - predicted["leave one group out"].loc[frame.index[held], "N_avg"]
    assert shift.mean() == pytest.approx(0.05, abs=0.01)  # the shift is not absorbed by the refit


@pytest.mark.parametrize("seed", range(4))
def test_fit_law_with_per_sparsity_noise_trusts_the_quiet_runs(seed):
    # avg_param_law at three sparsities; the dense runs are exact, the sparse ones carry 5% noise in log L
    N, D, S = (x.ravel() for x in np.meshgrid([1e4, 3e4, 1e5], [1e6, 4e6, 1.6e7], [0.0, 0.5, 0.75]))
    truth = dict(a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
    runs = pd.DataFrame({"S": S, "N": N, "N_avg": N * (1 + 2 * S), "D": D})
    noisy = np.where(S > 0, np.random.default_rng(seed).normal(0, 0.05, len(S)), 0.0)
    runs["loss"] = avg_param_law(runs.N_avg, runs.D, **truth) * np.exp(noisy)
    noise = {0.0: {1e6: 1e-4, 1.6e7: 1e-4}, 0.5: {1e6: 0.05, 1.6e7: 0.05}, 0.75: {1e6: 0.05, 1.6e7: 0.05}}
    error = lambda result: abs(predict_law(result, runs) / avg_param_law(runs.N_avg, runs.D, **truth) - 1).max()
    weighted, equal = fit_law(avg_param_law, runs, starts=8, noise=noise), fit_law(avg_param_law, runs, starts=8)
    assert error(weighted) < 0.01 < error(equal)  # the dense runs pin the law once the noisy ones count less
