"""The transient of pruning: how long a pruned run must train before its gap to dense stops closing.

Frantar et al.'s law (Eq. 1) describes runs trained long enough to recover from pruning: at equal
non-zeros N, a sparse model's loss differs from the dense model's by a factor that depends on S
only. A run pruned late in a short budget has not recovered yet: its gap to the dense run of
equal N, g(D) = L_sparse(D) - L_dense(D), still falls as training goes on. We model it as

    g(x) = g_inf + A x^-gamma    (x: tokens D, or steps)

where g_inf is the gap the law sees and A x^-gamma the transient that is left at x (A < 0: a gap still
rising towards g_inf, as on the pilot where a sparse run starts as a wider dense model). The regime
starts at the budget x* from which the transient left is below a threshold eps (the seed noise of
a gap, say): |A| x*^-gamma = eps, x* = (|A| / eps)^(1 / gamma).

The fit and the regime start are plain functions of arrays (copy them into a notebook with numpy
and scipy); the rest reads a run store's frame: `gaps` pairs sparse runs with their dense runs,
`gap_curves` averages them per budget, `fit_curves` fits each sparsity with intervals, and
`in_regime_verdict` is the claim's rule (chapter "How long must a pruned run train?"):

    per_run = transient.gaps(store_frame)                      # one gap per sparse run
    fits = transient.fit_curves(per_run, x="steps", eps=0.01)  # per sparsity: g_inf, gamma, x*
    verdict, reason = transient.in_regime_verdict(fits, largest=per_run["steps"].max())
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize

EPS = 0.01  # nats: the transient a run may have left to count as in regime (about one gap's seed noise)
MIN_BUDGETS = 3  # budgets a sparsity needs before its transient is fitted
LEVEL = 0.95  # coverage of the intervals


def transient(x, g_inf, a, gamma):
    """g(x) = g_inf + a x^-gamma: the sparse-minus-dense gap after x tokens (or steps).

        >>> round(float(transient(1000, -0.05, 10.0, 1.0)), 4)
        -0.04
    """
    return g_inf + a * np.asarray(x, float) ** -gamma


def regime_start(a, gamma, eps):
    """x* = (|a| / eps)^(1 / gamma): the budget from which the transient left, |a| x^-gamma, is
    below eps (> 0). a < 0 is a gap still rising towards g_inf (a sparse run's early advantage
    fading), as much a transient as one still falling; 0 only where a = 0.

        >>> float(regime_start(10.0, 1.0, 0.01)), float(regime_start(-1.0, 1.0, 0.01)), float(regime_start(0.0, 1.0, 0.01))
        (1000.0, 100.0, 0.0)
    """
    a, gamma = np.abs(np.asarray(a, float)), np.asarray(gamma, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, (a / eps) ** (1 / gamma), 0.0)


def fit_transient(x, gap, sigma=None, gamma=None, gamma_bounds=(0.05, 3.0)):
    """Least-squares fit of g(x) = g_inf + a x^-gamma to gaps measured at budgets x (weights
    1/sigma^2 if given: sigma per gap, or one number). Returns {'g_inf', 'a', 'gamma', 'rms'}
    (rms: of the residuals over sigma, or in nats without sigma). Needs gaps at 3 or more distinct
    budgets, and at least 4 gaps when gamma is fitted too. With `gamma` given, only g_inf and a
    are fitted (a few budgets over a short range cannot tell a slow decay from a lower g_inf;
    fixing gamma = 1 is one answer).

    For each gamma on a grid the model is linear in (g_inf, a), so the fit is a 1-D search over
    gamma (a grid, then a bounded scalar minimisation around the best point): no starting values
    to choose, and the same answer every time.

        >>> x = np.array([250, 500, 1000, 2000])
        >>> fit = fit_transient(x, transient(x, -0.03, 10.0, 1.0), gamma=1.0)
        >>> round(fit["g_inf"], 4), round(fit["a"], 2)
        (-0.03, 10.0)
    """
    x, gap = np.asarray(x, float), np.asarray(gap, float)
    if x.shape != gap.shape or x.ndim != 1:
        raise ValueError(f"x and gap must be 1-D arrays of one length; got shapes {x.shape} and {gap.shape}")
    if len(x) < (3 if gamma is not None else 4) or len(np.unique(x)) < 3:
        raise ValueError(f"need gaps at 3 or more distinct budgets (4 or more gaps when gamma is fitted too); "
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
    (a gamma near 0 with a > 0). `gamma`: fixed in the fit and every refit, as in fit_transient.

        >>> x = np.array([250, 500, 1000, 2000])
        >>> boot = bootstrap_transient(x, transient(x, -0.03, 10.0, 1.0), 0.002, eps=0.01, n_boot=100, gamma=1.0)
        >>> round(boot["x_star"]), boot["samples"].shape
        (1000, (100, 3))
    """
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
    and tokens_after_pruning likewise.

        >>> frame = pd.DataFrame({"n_nonzero": 100, "tokens": 4096, "batch_size": 32, "seed": 0, "status": "ok",
        ...                       "steps": 2, "prune_end": 0.75, "sparsity": [0.0, 0.5], "final_loss": [2.0, 2.1]})
        >>> gaps(frame)[["sparsity", "dense_loss", "gap", "steps_after_pruning"]].round(3)
           sparsity  dense_loss  gap  steps_after_pruning
        0       0.5         2.0  0.1                  0.5
    """
    ok = frame[frame["status"] == "ok"]
    dense = ok[ok["sparsity"] == 0][[*keys, "final_loss"]].rename(columns={"final_loss": "dense_loss"})
    if dense.duplicated(list(keys)).any():
        raise ValueError(f"two dense runs share {list(keys)}; add the field that tells them apart to keys")
    out = ok[ok["sparsity"] > 0].merge(dense, on=list(keys), how="inner")
    after = 1.0 - out["prune_end"]
    return out.assign(gap=out["final_loss"] - out["dense_loss"], steps_after_pruning=out["steps"] * after,
                      tokens_after_pruning=out["tokens"] * after)


def budgets_text(configs) -> str:
    """The step budgets of `configs` per sparsity, as the chapter lists them: 'S = 0: 1,172, 2,344;
    S = 0.5: 1,172' (or 'none' for no config).

        >>> from kit.engine.config import RunConfig
        >>> budgets_text([RunConfig(tokens=2048 * n, sparsity=s) for n, s in [(1172, 0.0), (2344, 0.0), (1172, 0.5)]])
        'S = 0: 1,172, 2,344; S = 0.5: 1,172'
    """
    by_S = {}
    for config in configs:
        by_S.setdefault(config.sparsity, set()).add(config.steps)
    return "; ".join(f"S = {S:g}: " + ", ".join(f"{n:,}" for n in sorted(steps)) for S, steps in sorted(by_S.items())) or "none"


def gap_curves(per_run: pd.DataFrame, x: str = "steps") -> pd.DataFrame:
    """The mean gap per (sparsity, budget x) of `gaps`' rows, with its standard error over the runs
    averaged (NaN for a single run) and their count: columns sparsity, x, gap, sem, runs.

        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [100, 100, 200], "gap": [0.1, 0.3, 0.05]})
        >>> gap_curves(per_run).round(3)
           sparsity  steps   gap  sem  runs
        0       0.5    100  0.20  0.1     2
        1       0.5    200  0.05  NaN     1
    """
    grouped = per_run.groupby(["sparsity", x])["gap"]
    out = grouped.agg(gap="mean", sem="sem", runs="count").reset_index()
    return out.sort_values(["sparsity", x], ignore_index=True)


def fit_curves(per_run: pd.DataFrame, x: str = "steps", eps: float = EPS, n_boot: int = 200,
               level: float = LEVEL, seed: int = 0, gamma=None, noise: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per sparsity of `gaps`' rows with MIN_BUDGETS or more budgets: the transient fitted to every
    run's gap against x (each gap weighted by the spread of the gaps at its budget, so a budget's
    scatter over sizes and seeds is the noise; or, given `noise`, a seed-noise table of one gap
    indexed by x such as kit.chapters.pilot.gap_noise's, by that noise at its budget,
    kit.fit.noise.noise_at), and bootstrap_transient's intervals. Columns:
    sparsity, budgets, largest (x), g_inf and its interval, a, gamma, x_star (the budget from which
    the transient left is below eps) and its interval, left (the transient left at the largest
    budget), closing (the change of the mean gap over the last doubling of x: < 0 while it closes;
    NaN when the last two budgets are not a doubling apart). A sparsity with fewer budgets is left out.

        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [250, 500, 1000, 2000], "gap": [0.09, 0.05, 0.03, 0.02]})
        >>> fits = fit_curves(per_run, x="steps", eps=0.01, n_boot=20, gamma=1.0)
        >>> fits[["sparsity", "budgets", "g_inf", "x_star", "closing"]].round(3)
           sparsity  budgets  g_inf  x_star  closing
        0       0.5        4   0.01  2000.0    -0.01
        >>> noise = pd.DataFrame({"sigma": [0.004], "dof": [3]}, index=[250])  # one gap's seed noise at 250 steps
        >>> round(fit_curves(per_run, eps=0.01, n_boot=20, gamma=1.0, noise=noise).x_star[0])
        2000
    """
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r}: the transient's threshold must be a number of nats > 0")
    rows = []
    for S, runs in per_run.groupby("sparsity", sort=True):
        budgets = np.sort(runs[x].unique())
        if len(budgets) < MIN_BUDGETS:
            continue
        if gamma is None and len(runs) < 4:
            continue  # three gaps cannot fix three coefficients
        if noise is not None and len(noise):
            from kit.fit.noise import noise_at

            sigma = np.array([noise_at(noise, v)[0] for v in runs[x]])
        else:  # one run at a budget: the spread of the sparsity's gaps over every budget (an overestimate)
            sigma = np.maximum(runs.groupby(x)["gap"].transform("std").fillna(runs["gap"].std()).to_numpy(), 1e-3)
        boot = bootstrap_transient(runs[x].to_numpy(float), runs["gap"].to_numpy(float), sigma, eps, n_boot,
                                   level, seed, gamma)
        fit, means = boot["fit"], runs.groupby(x)["gap"].mean()
        doubling = np.isclose(budgets[-1], 2 * budgets[-2], rtol=0.02)
        rows.append({"sparsity": S, "budgets": len(budgets), "largest": float(budgets[-1]),
                     "g_inf": fit["g_inf"], "g_inf_low": boot["g_inf_interval"][0],
                     "g_inf_high": boot["g_inf_interval"][1], "a": fit["a"], "gamma": fit["gamma"],
                     "x_star": boot["x_star"], "x_star_low": boot["x_star_interval"][0],
                     "x_star_high": boot["x_star_interval"][1],
                     "left": float(transient(budgets[-1], 0.0, abs(fit["a"]), fit["gamma"])),
                     "closing": float(means[budgets[-1]] - means[budgets[-2]]) if doubling else np.nan})
    return pd.DataFrame(rows, columns=["sparsity", "budgets", "largest", "g_inf", "g_inf_low", "g_inf_high", "a",
                                       "gamma", "x_star", "x_star_low", "x_star_high", "left", "closing"])


def fits_table(fits: pd.DataFrame) -> pd.DataFrame:
    """fit_curves' table as the chapter prints it: g_inf and x* with their intervals as text, the
    columns named for a reader.

        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [250, 500, 1000, 2000], "gap": [0.09, 0.05, 0.03, 0.02]})
        >>> fits_table(fit_curves(per_run, n_boot=20, gamma=1.0))[["S", "x* (steps)"]]
             S    x* (steps)
        0  0.5  2,000 [...]
    """
    from kit.report.claims import interval_text

    return fits.assign(
        g_inf=[interval_text(r.g_inf, r.g_inf_low, r.g_inf_high, "+.3f") for r in fits.itertuples()],
        x_star=[f"{budget_text(r.x_star)} [{budget_text(r.x_star_low)}, {budget_text(r.x_star_high)}]"
                for r in fits.itertuples()],
    )[["sparsity", "budgets", "largest", "g_inf", "gamma", "x_star", "left", "closing"]].rename(columns={
        "sparsity": "S", "largest": "largest budget (steps)", "g_inf": "g∞ (nats)", "gamma": "γ",
        "x_star": "x* (steps)", "left": "transient left at the largest budget (nats)",
        "closing": "gap change over the last doubling (nats)"})


TABLE_FORMATS = {"S": "{:g}", "largest budget (steps)": "{:,.0f}", "γ": "{:.2f}",
                 "transient left at the largest budget (nats)": "{:.3f}",
                 "gap change over the last doubling (nats)": "{:+.3f}"}  # fits_table's, for kit.report.results.markdown_table


def budget_text(x) -> str:
    """A budget as the chapter prints it: 8,232 below ten million, 1.2e+08 above, 'never' for inf.

        >>> budget_text(8232.4), budget_text(1.2e8), budget_text(float("inf"))
        ('8,232', '1.2e+08', 'never')
    """
    x = float(x)
    return "never" if np.isinf(x) else f"{x:,.0f}" if x < 1e7 else f"{x:.1e}"


def in_regime_rule(eps: float = EPS, level: float = LEVEL) -> str:
    """The rule of in_regime_verdict, in one sentence, from the same thresholds.

        >>> in_regime_rule(eps=0.01, level=0.95)
        'Holds if, at every sparsity, the 95% interval of the budget x* from which the transient left is below
        0.01 nats ends at or below the largest budget trained; ...'
    """
    return (f"Holds if, at every sparsity, the {level:.0%} interval of the budget x* from which the transient "
            f"left is below {eps:g} nats ends at or below the largest budget trained; does not hold if, at some "
            f"sparsity, the whole interval lies above it; not resolved otherwise, or when a sparsity has fewer "
            f"than {MIN_BUDGETS} budgets.")


def in_regime_verdict(fits: pd.DataFrame, largest: float | None, sparsities=None, unit: str = "steps") -> tuple[str, str]:
    """Are the runs up to budget `largest` in regime (in_regime_rule)? `fits`: fit_curves' table;
    `sparsities`: those that must be there (default: fits'); `largest` None: each sparsity's own
    largest budget (fits' column 'largest'), for a grid whose sparsities reach different budgets.
    Returns (verdict, reason).

        >>> fits = pd.DataFrame({"sparsity": [0.5, 0.75], "x_star": [1500.0, 3000.0], "x_star_low": [1200.0, 2500.0],
        ...                      "x_star_high": [1900.0, 3600.0], "largest": [2344.0, 4688.0]})
        >>> in_regime_verdict(fits.iloc[:1], largest=2344)
        ('holds', 'every interval of x* ends at or below the largest budget, 2,344 steps
                   (S = 0.5: x* = 1,500 [1,200, 1,900]).')
        >>> in_regime_verdict(fits, largest=None)[0], in_regime_verdict(fits, largest=2344)[0]
        ('holds', 'does not hold')
    """
    wanted = list(fits["sparsity"]) if sparsities is None else list(sparsities)
    missing = [S for S in wanted if not np.isclose(fits["sparsity"], S).any()]
    if missing or not wanted:
        return "not resolved", (f"the sparsities {missing or wanted} have fewer than {MIN_BUDGETS} budgets: "
                                f"no transient was fitted")
    rows = fits[[np.isclose(wanted, S).any() for S in fits["sparsity"]]]
    limit = rows["largest"] if largest is None else largest
    where = (f"the largest budget stored at its sparsity ({', '.join(f'{budget_text(v)}' for v in rows['largest'])} "
             f"{unit})" if largest is None else f"the largest budget, {budget_text(largest)} {unit}")
    text = "; ".join(f"S = {r.sparsity:g}: x* = {budget_text(r.x_star)} [{budget_text(r.x_star_low)}, "
                     f"{budget_text(r.x_star_high)}]" for r in rows.itertuples())
    if (rows["x_star_high"] <= limit).all():
        return "holds", f"every interval of x* ends at or below {where} ({text})."
    above = rows[rows["x_star_low"] > limit]
    if len(above):
        names = ", ".join(f"{S:g}" for S in above["sparsity"])
        return "does not hold", f"at S = {names} the whole interval of x* lies above {where} ({text})."
    return "not resolved", f"an interval of x* contains {where} ({text})."


def plot_transient(axes, curves: pd.DataFrame, fits: pd.DataFrame, x: str = "steps", eps: float = EPS,
                   xlabel: str = "training steps"):
    """The chapter's figure, two panels: (left) the mean sparse-minus-dense gap per budget with its
    standard error, and the fitted transient (line), per sparsity in the book's colours; (right) the
    transient left, a x^-gamma, on log-log axes, with eps as a dashed line: each curve crosses it at
    its x*. `curves`: gap_curves' table; `fits`: fit_curves'. Returns the axes.

        >>> import matplotlib.pyplot as plt
        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [250, 500, 1000, 2000], "gap": [0.09, 0.05, 0.03, 0.02]})
        >>> fig, axes = plt.subplots(1, 2)
        >>> left, right = plot_transient(axes, gap_curves(per_run), fit_curves(per_run, n_boot=20, gamma=1.0))
        >>> plt.close(fig)
    """
    from kit.report import plots

    left, right = axes
    for S, curve in curves.groupby("sparsity", sort=True):
        colour = plots.sparsity_colour(S)
        left.errorbar(curve[x], curve["gap"], yerr=curve["sem"].fillna(0.0), fmt="o", ms=5, capsize=2,
                      color=colour, label=f"S = {S:g}")
        fit = fits[np.isclose(fits["sparsity"], S)]
        if len(fit):
            r = fit.iloc[0]
            reach = max(curve[x].max(), min(r.x_star, 64 * curve[x].max()) if np.isfinite(r.x_star) else 0.0)
            grid = np.geomspace(curve[x].min(), reach, 100)
            left.plot(grid, transient(grid, r.g_inf, r.a, r.gamma), "-", color=colour, lw=1.2)
            right.plot(grid, transient(grid, 0.0, abs(r.a), r.gamma), "-", color=colour, lw=1.5, label=f"S = {S:g}")
            if np.isfinite(r.x_star) and r.x_star <= grid[-1]:
                right.plot([r.x_star], [eps], "o", color=colour, ms=6)
    import matplotlib.ticker as ticker

    left.axhline(0.0, color="0.3", lw=0.8)
    left.set(xscale="log", xlabel=xlabel, ylabel="sparse − dense loss at equal N (nats)")
    right.axhline(eps, color="0.3", ls="--", lw=1, label=f"ε = {eps:g} nats")
    right.set(xscale="log", yscale="log", xlabel=xlabel, ylabel="transient left, |a| x^−γ (nats)")
    budgets = np.sort(curves[x].unique())
    left.set_xticks(budgets, [f"{b:,.0f}" for b in budgets])  # the budgets trained, and no crowded minor labels
    for ax in axes:
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    return axes


def in_regime_claim(key: str, statement: str, section: str, fits: pd.DataFrame, largest: float | None, sparsities,
                    eps: float = EPS, scope: str | None = None, rule_after: bool = False):
    """The claim that runs up to `largest` steps (None: each sparsity's largest) are in regime, judged by in_regime_verdict on
    fit_curves' `fits` (kind "question": neither paper asks it), as kit.report.claims.Claim.

        >>> fits = pd.DataFrame({"sparsity": [0.5], "x_star": [1500.0], "x_star_low": [1200.0],
        ...                      "x_star_high": [1900.0]})
        >>> claim = in_regime_claim("runs-in-regime", "The runs are in regime.", "ch1b", fits, 2344, [0.5])
        >>> claim.verdict, claim.kind
        ('holds', 'question')
    """
    from kit.report.claims import Claim

    verdict, reason = in_regime_verdict(fits, largest, sparsities)
    ours = "; ".join(f"S = {r.sparsity:g}: x* = {budget_text(r.x_star)} steps" for r in fits.itertuples()) or None
    numbers = {f"x_star_{r.sparsity:g}": r.x_star for r in fits.itertuples()} | {"largest": np.nan if largest is None else largest, "eps": eps}
    return Claim(key, "Frantar et al. 2024", statement, section, None, None, ours, verdict, in_regime_rule(eps),
                 reason, numbers, kind="question", scope=scope, rule_after=rule_after)


def summary(per_run: pd.DataFrame, fits: pd.DataFrame, gamma) -> dict:
    """The chapter's glued texts for one set of runs (prefix 'tr_'): pairs, sizes, gamma, and per
    sparsity 0.5/0.75/0.875 its x* and the gap's change over the last doubling, and x* at 0.875 as
    a multiple of the largest budget ("(not in the grid)" where a sparsity was not fitted).

        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [250, 500, 1000, 2000], "gap": [0.09, 0.05, 0.03, 0.02],
        ...                         "n_nonzero": 13_824})
        >>> texts = summary(per_run, fit_curves(per_run, n_boot=20, gamma=1.0), 1.0)
        >>> texts["tr_xstar_50"], texts["tr_closing_50"], texts["tr_xstar_75"]
        ('2,000', '0.010', '(not in the grid)')
    """
    row = fits.set_index("sparsity")
    missing = "(not in the grid)"
    out = {"tr_pairs": f"{len(per_run)}", "tr_sizes": f"{per_run['n_nonzero'].nunique()}",
           "tr_gamma": "fitted" if gamma is None else f"{gamma:g}"}
    for S, key in [(0.5, "50"), (0.75, "75"), (0.875, "875")]:
        out[f"tr_xstar_{key}"] = budget_text(row.x_star[S]) if S in row.index else missing
        out[f"tr_closing_{key}"] = f"{-row.closing[S]:.3f}" if S in row.index else missing
    out["tr_multiple_875"] = (f"{row.x_star[0.875] / per_run['steps'].max():.1f}" if 0.875 in row.index else missing)
    return out
