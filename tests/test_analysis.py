import numpy as np
import pandas as pd
import pytest

from kit.fit.analysis import crossover, pooled_std, seed_spread


def test_seed_spread_groups_repeats_by_point():
    frame = pd.DataFrame({"n_nonzero": [10, 10, 10, 20, 20, 30], "sparsity": [0.5] * 6,
                          "seed": [0, 1, 2, 0, 1, 0], "loss": [2.0, 2.2, 2.4, 1.5, 1.6, 1.0]})
    table = seed_spread(frame, ["n_nonzero", "sparsity"])
    assert table.index.names == ["n_nonzero", "sparsity"]
    np.testing.assert_allclose(table["mean"], [2.2, 1.55, 1.0])
    np.testing.assert_allclose(table["std"].iloc[:2], [0.2, np.sqrt(0.005)])
    assert np.isnan(table["std"].iloc[2])  # a single run has no spread
    assert table["runs"].tolist() == [3, 2, 1]
    with pytest.raises(ValueError, match=r"lacks columns \['tokens'\]"):
        seed_spread(frame, ["tokens"])


def test_pooled_std_weights_groups_by_degrees_of_freedom():
    # (2 * 0.1^2 + 1 * 0.4^2) / 3 = 0.06; the single-run group is skipped
    assert pooled_std([0.1, 0.4, np.nan], [3, 2, 1]) == pytest.approx(np.sqrt(0.06))
    with pytest.raises(ValueError, match="no group has 2 or more runs"):
        pooled_std([np.nan], [1])
    with pytest.raises(ValueError, match="one value per group"):
        pooled_std([0.1, 0.2], [3])


def test_crossover_of_power_laws_is_exact():
    # reference x^-0.1, curve 1.2 x^-0.2: equal where x^0.1 = 1.2; both straight in log-log
    x_ref, x = np.array([1.0, 10.0, 100.0]), np.array([2.0, 30.0, 1000.0])
    assert crossover(x_ref, x_ref**-0.1, x, 1.2 * x**-0.2) == pytest.approx(1.2**10)
    # unsorted input is sorted first
    assert crossover(x_ref[::-1], x_ref[::-1] ** -0.1, x, 1.2 * x**-0.2) == pytest.approx(1.2**10)


def test_crossover_is_nan_without_a_downward_crossing():
    x = np.array([1.0, 10.0, 100.0])
    assert np.isnan(crossover(x, x**-0.1, x, 2 * x**-0.1))  # always above
    assert np.isnan(crossover(x, x**-0.1, x, 0.5 * x**-0.1))  # below from the start
    assert np.isnan(crossover(x, x**-0.1, x * 1e3, x**-0.2))  # no common range
    assert np.isnan(crossover(x, x**-0.1, x, 0.9 * x**-0.05))  # crosses upward only


def test_crossover_rejects_bad_curves():
    with pytest.raises(ValueError, match="at least 2 points"):
        crossover([1.0], [1.0], [1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="must be > 0"):
        crossover([1.0, 2.0], [1.0, -1.0], [1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="repeated values"):
        crossover([1.0, 2.0], [1.0, 1.0], [2.0, 2.0], [1.0, 0.5])
