import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kit.engine.store import CONFIG_FIELDS
from kit.fit import noise


def test_t_interval_is_student_t():
    estimate, low, high = noise.t_interval(0.5, 0.1, 4, level=0.95)
    assert estimate == 0.5
    assert high - estimate == pytest.approx(2.776445 * 0.1, rel=1e-6)  # t_{0.975, 4}
    assert estimate - low == pytest.approx(high - estimate)
    # more degrees of freedom, a narrower interval; a lower level, a narrower one too
    assert noise.t_interval(0.5, 0.1, 40)[2] < high
    assert noise.t_interval(0.5, 0.1, 4, level=0.5)[2] < high
    for bad in (dict(se=-1.0), dict(se=np.nan), dict(dof=0), dict(level=1.0)):
        with pytest.raises(ValueError):
            noise.t_interval(**{"estimate": 0.0, "se": 0.1, "dof": 3, **bad})


def test_seed_noise_pools_points_per_budget():
    frame = pd.DataFrame({"n_nonzero": [10] * 5 + [20] * 3 + [10] * 2 + [30],
                          "tokens": [1] * 8 + [4] * 2 + [4],
                          "seed": [0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 0],
                          "loss": [2.0, 2.1, 2.2, 2.3, 2.4, 1.0, 1.2, 1.4, 3.0, 3.5, 9.0]})
    table = noise.seed_noise(frame, ["n_nonzero"], by="tokens")
    assert list(table.index) == [1, 4]
    # budget 1: var 0.025 on 4 dof and 0.04 on 2 dof -> (4 * 0.025 + 2 * 0.04) / 6 = 0.03
    assert table.loc[1, "sigma"] == pytest.approx(np.sqrt(0.03))
    assert table.loc[1, ["dof", "points", "runs"]].tolist() == [6, 2, 8]
    # budget 4: one point with two runs; the single run of n_nonzero 30 adds nothing
    assert table.loc[4, "sigma"] == pytest.approx(np.std([3.0, 3.5], ddof=1))
    assert table.loc[4, ["dof", "points", "runs"]].tolist() == [1, 1, 2]
    with pytest.raises(ValueError, match="no point has 2 or more runs"):
        noise.seed_noise(frame[frame.seed == 0], ["n_nonzero"])


def test_noise_at_interpolates_in_log_log_and_holds_the_ends():
    table = pd.DataFrame({"sigma": [0.04, 0.01], "dof": [8, 12]}, index=pd.Index([1e6, 4e6], name="tokens"))
    assert noise.noise_at(table, 2e6) == (pytest.approx(0.02), 8)  # the geometric midpoint
    assert noise.noise_at(table, 1e6) == (pytest.approx(0.04), 8)
    assert noise.noise_at(table, 4e6) == (pytest.approx(0.01), 12)
    assert noise.noise_at(table, 1e5) == (pytest.approx(0.04), 8)  # held at the nearest end
    assert noise.noise_at(table, 1e8) == (pytest.approx(0.01), 12)
    with pytest.raises(ValueError, match="positive"):
        noise.noise_at(table, 0)


def test_average_seeds_makes_one_point_per_config():
    frame = pd.DataFrame({"n_nonzero": [10, 10, 10, 20, 10], "sparsity": [0.5, 0.5, 0.5, 0.5, 0.0],
                          "nm": [None] * 5, "seed": [0, 1, 2, 0, 0], "id": list("abcde"),
                          "loss": [2.0, 2.3, 2.6, 1.0, 3.0], "N_avg": [15.0, 15.0, 15.0, 30.0, 10.0]})
    points = noise.average_seeds(frame, CONFIG_FIELDS, ["loss", "N_avg"])
    assert points.id.tolist() == ["a", "d", "e"]  # the first run of each config, in order
    assert points.loss.tolist() == pytest.approx([2.3, 1.0, 3.0])
    assert points.seeds.tolist() == [3, 1, 1]
    assert noise.config_key(frame, CONFIG_FIELDS).nunique() == 3
    with pytest.raises(ValueError, match="lacks columns"):
        noise.average_seeds(frame, CONFIG_FIELDS, ["N"])


@pytest.mark.parametrize("seed", range(3))
def test_interval_of_a_difference_of_seed_means_covers(seed):
    # two configs, 3 seeds each, equal true loss: the 95% interval of the difference of their
    # means, with the std pooled over 4 other points of 6 repeats (20 dof), contains 0 in 95% of draws
    rng = np.random.default_rng(seed)
    draws = 4000
    repeats = rng.normal(0, 0.02, (draws, 4, 6))
    sigma = np.sqrt(np.mean(np.var(repeats, axis=2, ddof=1), axis=1))
    a, b = rng.normal(2.0, 0.02, (draws, 3)), rng.normal(2.0, 0.02, (draws, 3))
    hits = sum(low <= 0 <= high for low, high in
               (noise.t_interval(d, s * np.sqrt(2 / 3), 20)[1:] for d, s in zip(a.mean(1) - b.mean(1), sigma)))
    assert abs(hits / draws - 0.95) < 4 * np.sqrt(0.95 * 0.05 / draws)
    assert stats.t.ppf(0.975, 20) == pytest.approx(2.086, abs=1e-3)
