import numpy as np
import pandas as pd
import pytest

from kit.fit.analysis import pooled_std, seed_spread


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


