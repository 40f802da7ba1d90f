import numpy as np
import pandas as pd
import pytest

from kit.compare import bootstrap_means, leave_one_group_out, mean_abs_error, pooled_std
from kit.fitting import fit
from kit.laws import avg_param_law


def test_mean_abs_error():
    assert mean_abs_error([2.0, 3.0, 4.0], [2.1, 2.8, 4.0]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"shapes \(3,\) \(actual\), \(2,\)"):
        mean_abs_error([2.0, 3.0, 4.0], [2.1, 2.8])


def test_leave_one_group_out_never_sees_the_group_it_predicts():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0, 20.0]})
    groups = [("a", 0.25), ("a", 0.25), ("b", 0.5), ("b", 0.5), None]
    seen = []

    def fit_predict(train, test):  # predicts the mean of the training runs
        seen.append((sorted(train.x), sorted(test.x)))
        return np.full(len(test), train.x.mean())

    predicted = leave_one_group_out(fit_predict, frame, groups)
    np.testing.assert_allclose(predicted, [11.0, 11.0, 23.0 / 3, 23.0 / 3, np.nan])
    assert seen == [([3.0, 10.0, 20.0], [1.0, 2.0]), ([1.0, 2.0, 20.0], [3.0, 10.0])]


def test_leave_one_group_out_rejects_bad_groups():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    constant = lambda train, test: np.zeros(len(test))
    with pytest.raises(ValueError, match="2 labels for 3 runs"):
        leave_one_group_out(constant, frame, ["a", "b"])
    with pytest.raises(ValueError, match="at least two groups"):
        leave_one_group_out(constant, frame, ["a", "a", None])
    with pytest.raises(ValueError, match=r"shape \(1,\) for group 'a' of 2 runs"):
        leave_one_group_out(lambda train, test: np.zeros(1), frame, ["a", "a", "b"])


def test_leave_one_group_out_recovers_a_law_from_the_other_groups():
    rng = np.random.default_rng(0)
    true = dict(a_N=2e4, b_N=0.3, a_D=1e5, b_D=0.25, c=1.0)
    N, D = (x.ravel() for x in np.meshgrid([1e4, 3e4, 1e5], [1e6, 4e6, 1.6e7], indexing="ij"))
    frame = pd.DataFrame({"N_avg": N, "D": D, "loss": avg_param_law(N, D, **true)})
    frame["loss"] *= np.exp(1e-4 * rng.standard_normal(len(frame)))

    def fit_predict(train, test):
        result = fit(avg_param_law, train, train.loss, list(true), starts=[true])
        return result.predict(N_avg=test.N_avg, D=test.D)

    predicted = leave_one_group_out(fit_predict, frame, frame.D)  # hold out one budget at a time
    assert mean_abs_error(frame.loss, predicted) < 2e-3


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


def test_pooled_std():
    values = [1.0, 2.0, 3.0, 10.0, 14.0, 7.0]
    groups = ["x", "x", "x", "y", "y", "z"]  # z: a single run adds nothing
    # squares: x 1 + 0 + 1, y 4 + 4; degrees of freedom 2 + 1
    assert pooled_std(values, groups) == pytest.approx(np.sqrt(10.0 / 3.0))
    with pytest.raises(ValueError, match="two or more runs"):
        pooled_std([1.0, 2.0], ["x", "y"])
