import numpy as np
import pytest
from scipy import integrate

from kit import laws
from kit.laws import schedules


def compute_fraction(t, s, start=0.25, end=0.75, kind="cubic"):
    """Fraction of a run's sparse compute (counted on non-zero weights only) spent by training
    fraction t, C(t)/C(1) with C(t) = int_0^t (1 - S_tau) dtau, by quadrature: the independent
    check of the closed forms in kit.laws.cmul and kit.laws.schedules.steps_from_compute."""
    density = lambda tau: 1.0 - schedules.sparsity_at(tau, s, start, end, kind)
    points = [p for p in (start, end) if 0.0 < p < 1.0]
    total = integrate.quad(density, 0.0, 1.0, points=points)[0]
    return integrate.quad(density, 0.0, t, points=[p for p in points if p < t] or None)[0] / total


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
def test_sparsity_at_endpoints_and_midpoint(kind):
    t = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    s = schedules.sparsity_at(t, 0.75, 0.25, 0.75, kind)
    # cubic midpoint: 0.75 - 0.75 * 0.5^3 = 0.65625; geometric midpoint: 1 - 0.25^0.5 = 0.5
    mid = {"cubic": 0.65625, "geometric": 0.5}[kind]
    np.testing.assert_allclose(s, [0.0, 0.0, mid, 0.75, 0.75], rtol=1e-14)


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
def test_compute_fraction_at_start_matches_cmul(kind):
    # before `start` the run is dense: it has spent start / ((1 - S) c_mul(S)) of its sparse compute
    for s, start, end in [(0.5, 0.25, 0.75), (0.875, 0.1, 0.6)]:
        want = start / ((1 - s) * laws.cmul(s, start, end, kind))
        assert compute_fraction(start, s, start, end, kind) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
def test_steps_from_compute_round_trip(kind):
    start, end = schedules.steps_from_compute(0.25, 0.75, 0.8, kind)
    assert start < 0.25 and start < end <= 1.0  # early (dense) steps cost the most compute
    assert compute_fraction(start, 0.8, start, end, kind) == pytest.approx(0.25, abs=1e-8)
    assert compute_fraction(end, 0.8, start, end, kind) == pytest.approx(0.75, abs=1e-8)
    assert schedules.steps_from_compute(0.25, 0.75, 0.0, kind) == (0.25, 0.75)


def test_steps_from_compute_cubic_by_hand():
    # S = 0.8, steps (1/11, 6/11): compute 1/11 dense + (5/11)(1 - 0.6) pruning + (5/11)(0.2) sparse = 4/11,
    # of which 1/11 (a quarter) before pruning and 3/11 (three quarters) by its end
    np.testing.assert_allclose(schedules.steps_from_compute(0.25, 0.75, 0.8, "cubic"), (1 / 11, 6 / 11), atol=1e-9)


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
@pytest.mark.parametrize("start_c,end_c", [(0.0, 0.5), (0.0, 1.0), (0.25, 1.0), (0.5, 1.0), (0.25, 0.5)])
@pytest.mark.parametrize("s", [0.5, 0.75, 0.875])
def test_steps_from_compute_round_trips_at_window_edges(kind, start_c, end_c, s):
    start, end = schedules.steps_from_compute(start_c, end_c, s, kind)
    assert 0.0 <= start < end <= 1.0
    assert compute_fraction(start, s, start, end, kind) == pytest.approx(start_c, abs=1e-9)
    assert compute_fraction(end, s, start, end, kind) == pytest.approx(end_c, abs=1e-9)
