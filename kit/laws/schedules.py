"""Pruning schedules: target sparsity as a pure function of training progress.

`t` is the fraction of training steps done, in [0, 1]. Pruning runs from `start` to `end`;
before `start` the model is dense, after `end` it holds the final sparsity `s`. Functions work
on floats, numpy arrays and jax arrays alike, so the same formula drives the pruner (kit.engine.pruning)
and the cost integrals (kit.laws).
"""

from __future__ import annotations

import numpy as np


def progress(t, start, end):
    """Fraction of the pruning window done at training fraction t, clipped to [0, 1].

        progress(0.5, 0.25, 0.75)  # 0.5"""
    u = (t - start) / (end - start)
    return np.clip(u, 0.0, 1.0) if isinstance(u, (float, int, np.ndarray)) else u.clip(0.0, 1.0)


def cubic(t, s, start=0.25, end=0.75):
    """Zhu & Gupta (2017) cubic schedule, as in Frantar et al. Appendix D: S_t = s - s (1 - u)^3.

        cubic(0.5, 0.75)  # 0.6562"""
    u = progress(t, start, end)
    return s - s * (1.0 - u) ** 3


def geometric(t, s, start=0.25, end=0.75):
    """Jin et al. (2025) geometric schedule: each pruning event keeps the same fraction of what is
    left, so density is (1 - s)^u, i.e. S_t = 1 - (1 - s)^u (the continuous limit of
    keep_k = (1 - s_step)^k with s_step = 1 - (1 - s)^(1/K)).

        geometric(0.5, 0.75)  # 0.5"""
    u = progress(t, start, end)
    return 1.0 - (1.0 - s) ** u


SCHEDULES = {"cubic": cubic, "geometric": geometric}


def sparsity_at(t, s, start=0.25, end=0.75, kind="cubic"):
    """Target sparsity at training fraction t for schedule `kind` ('cubic' or 'geometric').

        sparsity_at(0.5, 0.75, kind="geometric")  # 0.5"""
    if kind not in SCHEDULES:
        raise ValueError(f"schedule kind={kind!r}: allowed {tuple(SCHEDULES)}")
    return SCHEDULES[kind](t, s, start, end)


def window_density(s, kind="cubic"):
    """Mean density 1 - S_t over the pruning window: 1 - 3s/4 for cubic (the integral of
    s (1 - u)^3 over u in [0, 1] is s/4), -s / ln(1 - s) for geometric (the mean of (1 - s)^u).

        window_density(0.75)  # 0.4375"""
    if kind == "cubic":
        return 1.0 - 0.75 * s
    if kind == "geometric":
        return s / -np.log1p(-s) if s > 0 else 1.0
    raise ValueError(f"schedule kind={kind!r}: allowed {tuple(SCHEDULES)}")


def steps_from_compute(start_c, end_c, s, kind="cubic"):
    """Step fractions (start, end) at which pruning must start and end so that it starts after
    fraction start_c and ends after fraction end_c of the run's sparse compute, as Jin et al.
    measure their schedules. Closed form: with m the window's mean density and T the run's mean
    density, start_c = start / T, end_c = (start + (end - start) m) / T and
    1 - end_c = (1 - end)(1 - s) / T, so T = 1 / (start_c + (end_c - start_c)/m + (1 - end_c)/(1 - s)).

        steps_from_compute(0.25, 0.75, 0.875)  # (0.06748, 0.4601)"""
    if not 0.0 <= start_c < end_c <= 1.0:
        raise ValueError(f"start_c={start_c!r}, end_c={end_c!r}: need 0 <= start < end <= 1")
    if s == 0.0:
        return float(start_c), float(end_c)
    m = window_density(s, kind)
    T = 1.0 / (start_c + (end_c - start_c) / m + (1.0 - end_c) / (1.0 - s))
    start = start_c * T
    return float(start), float(min(start + (end_c - start_c) * T / m, 1.0))
