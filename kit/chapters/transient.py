"""The transient of pruning: how long a pruned run must train before its gap to dense stops closing.

Frantar et al.'s law (Eq. 1) describes runs trained long enough to recover from pruning: at equal
non-zeros N, a sparse model's loss differs from the dense model's by a factor that depends on S
only. A run pruned late in a short budget has not recovered yet: its gap to the dense run of
equal N, g(D) = L_sparse(D) - L_dense(D), still falls as training goes on. We model it as

    g(x) = g_inf + A x^-gamma    (x: tokens D, or steps)

where g_inf is the gap the law sees and A x^-gamma the transient that is left at x. The regime
starts at the budget x* from which the transient left is below a threshold eps (the seed noise of
a gap, say): A x*^-gamma = eps, x* = (A / eps)^(1 / gamma).

Everything here is a plain function of arrays (copy it into a notebook with numpy and scipy).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize


def transient(x, g_inf, a, gamma):
    """g(x) = g_inf + a x^-gamma: the sparse-minus-dense gap after x tokens (or steps)."""
    return g_inf + a * np.asarray(x, float) ** -gamma


def regime_start(a, gamma, eps):
    """x* = (a / eps)^(1 / gamma): the budget from which the transient left, a x^-gamma, is below
    eps (> 0); 0 where a <= 0 (nothing left to recover)."""
    a, gamma = np.asarray(a, float), np.asarray(gamma, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, (np.maximum(a, 0) / eps) ** (1 / gamma), 0.0)


def fit_transient(x, gap, sigma=None, gamma=None, gamma_bounds=(0.05, 3.0)):
    """Least-squares fit of g(x) = g_inf + a x^-gamma to gaps measured at budgets x (weights
    1/sigma^2 if given: sigma per gap, or one number). Returns {'g_inf', 'a', 'gamma', 'rms'}
    (rms: of the residuals over sigma, or in nats without sigma). Needs at least 4 gaps at 3 or
    more distinct budgets. With `gamma` given, only g_inf and a are fitted (a few budgets over a
    short range cannot tell a slow decay from a lower g_inf; fixing gamma = 1 is one answer).

    For each gamma on a grid the model is linear in (g_inf, a), so the fit is a 1-D search over
    gamma (a grid, then a bounded scalar minimisation around the best point): no starting values
    to choose, and the same answer every time."""
    x, gap = np.asarray(x, float), np.asarray(gap, float)
    if x.shape != gap.shape or x.ndim != 1:
        raise ValueError(f"x and gap must be 1-D arrays of one length; got shapes {x.shape} and {gap.shape}")
    if len(x) < 4 or len(np.unique(x)) < 3:
        raise ValueError(f"need at least 4 gaps at 3 or more distinct budgets to fit g_inf, a and gamma; "
                         f"got {len(x)} gaps at {len(np.unique(x))} budgets")
    if not (np.all(np.isfinite(x)) and np.all(x > 0) and np.all(np.isfinite(gap))):
        raise ValueError("x must be finite and > 0, and gap finite")
    w = np.ones_like(x) if sigma is None else 1.0 / np.broadcast_to(np.asarray(sigma, float), x.shape) ** 2
    scale = np.exp(np.mean(np.log(x)))  # fit in x / scale: a well-conditioned design

    def solve(gamma):
        design = np.stack([np.ones_like(x), (x / scale) ** -gamma], axis=1) * np.sqrt(w)[:, None]
        coef, *_ = np.linalg.lstsq(design, gap * np.sqrt(w), rcond=None)
        residual = design @ coef - gap * np.sqrt(w)
        return float(residual @ residual), coef

    if gamma is None:
        grid = np.geomspace(*gamma_bounds, 200)
        best = int(np.argmin([solve(g)[0] for g in grid]))
        low, high = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
        gamma = optimize.minimize_scalar(lambda g: solve(g)[0], bounds=(low, high), method="bounded").x
    sse, (g_inf, a_scaled) = solve(gamma)
    return {"g_inf": float(g_inf), "a": float(a_scaled * scale**gamma), "gamma": float(gamma),
            "rms": float(np.sqrt(sse / len(x)))}


def bootstrap_transient(x, gap, sigma, eps, n_boot=500, level=0.95, seed=0, gamma=None):
    """The fit, and a parametric bootstrap of it: gaps redrawn as fit + N(0, sigma^2), refitted.
    Returns {'fit': fit_transient(...), 'x_star': regime_start at eps, 'x_star_interval': (low,
    high) percentile interval at `level`, 'g_inf_interval': likewise, 'samples': [n_boot, 3]
    (g_inf, a, gamma)}. An interval end at inf means some resamples never leave the transient
    (a gamma near 0 with a > 0). `gamma`: fixed in the fit and every refit, as in fit_transient."""
    fit = fit_transient(x, gap, sigma, gamma)
    rng = np.random.default_rng(seed)
    mean = transient(x, fit["g_inf"], fit["a"], fit["gamma"])
    sigma = np.broadcast_to(np.asarray(sigma, float), np.shape(x))
    samples = []
    for _ in range(n_boot):
        refit = fit_transient(x, mean + rng.normal(0.0, sigma), sigma, gamma)
        samples.append((refit["g_inf"], refit["a"], refit["gamma"]))
    samples = np.array(samples)
    tails = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    x_stars = regime_start(samples[:, 1], samples[:, 2], eps)
    return {"fit": fit, "x_star": float(regime_start(fit["a"], fit["gamma"], eps)),
            "x_star_interval": tuple(float(v) for v in np.percentile(x_stars, tails)),
            "g_inf_interval": tuple(float(v) for v in np.percentile(samples[:, 0], tails)), "samples": samples}


def gaps(frame, keys=("n_nonzero", "tokens", "batch_size", "seed")):
    """One row per finished sparse run of `frame` (a kit.engine.store frame) that has a finished dense run
    (S = 0) of equal `keys`: the sparse run's columns, plus dense_loss, gap = final_loss -
    dense_loss (nats; > 0: the sparse run is worse), steps_after_pruning = steps x (1 - prune_end)
    and tokens_after_pruning likewise."""
    ok = frame[frame["status"] == "ok"]
    dense = ok[ok["sparsity"] == 0][[*keys, "final_loss"]].rename(columns={"final_loss": "dense_loss"})
    if dense.duplicated(list(keys)).any():
        raise ValueError(f"two dense runs share {list(keys)}; add the field that tells them apart to keys")
    out = ok[ok["sparsity"] > 0].merge(dense, on=list(keys), how="inner")
    after = 1.0 - out["prune_end"]
    return out.assign(gap=out["final_loss"] - out["dense_loss"], steps_after_pruning=out["steps"] * after,
                      tokens_after_pruning=out["tokens"] * after)
