"""Jin et al. (2025), The Journey Matters: their published numbers, and two of their claims as
analyses of measured runs (the third, the law in N_avg, compares laws with kit.fit.compare: law_fits,
law_claims).

- window_gaps: in a sweep of pruning windows, per panel (budget, sparsity, schedule), how far the
  loss at one window (their 25%-75% of compute) is above the panel's best window; pooled_gap
  averages that gap over the panels, with an interval from the seed noise (kit.fit.noise).
- matched_differences: sparse runs against dense runs of equal average non-zero count N_avg,
  per pair of configs: the difference of their mean losses over seeds, with a t interval.

Chapter 6's sections are one call each (check_parameters, read_groups and overview; the sweep:
window_in_steps, flagged, window_table, window_claim, plot_window_heatmaps; one law: law_points,
law_fits, mae_table, law_claims, schedule_spread; matched pairs: matched_table, matched_claims,
plot_matched), with a *_texts function for the numbers its prose glues. Every rule sentence is
written from the thresholds its verdict uses (WINDOW, NEAR, the interval's level); NO_RECOVERY and
NEARLY_ALL say which runs of the sweep prune to almost nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit import laws
from kit.fit.noise import t_interval
from kit.laws.schedules import steps_from_compute

WINDOW = (0.25, 0.75)  # their near-optimal pruning window, in fractions of training compute
MAE, FIT_RUNS = 0.016, 30  # their law's average absolute error, in-sample, over the 30 runs it was fitted to


def released_pairs() -> pd.DataFrame:
    """Their released 1B pairs (book/journey_matters.md, from the model cards): per sparsity S of
    the sparse model, the average linear-layer parameter counts (billions) of the sparse and the
    matched dense model, the tokens (billions) both trained on, their final training losses, and
    sparse - dense.

        >>> released_pairs()["sparse - dense"].round(3).tolist()
        [-0.006, -0.024, -0.027, -0.009]
    """
    pairs = pd.DataFrame({"S": [0.2, 0.4, 0.6, 0.8],
                          "N_avg sparse (B)": [1.02, 0.87, 0.69, 0.45], "N_avg dense (B)": [1.01, 0.82, 0.65, 0.42],
                          "tokens (B)": [89.6, 104.4, 131.0, 200.4],
                          "loss sparse": [2.133, 2.137, 2.182, 2.228], "loss dense": [2.139, 2.161, 2.209, 2.237]})
    return pairs.assign(**{"sparse - dense": pairs["loss sparse"] - pairs["loss dense"]})


def window_gaps(frame: pd.DataFrame, panel, window=WINDOW, start: str = "prune_start", end: str = "prune_end",
                value: str = "loss") -> pd.DataFrame:
    """Per panel (the runs equal in the columns `panel`), one row: the number of windows, the best
    window (lowest `value`; columns best_start, best_end, best), the value at `window` (at), the
    gap at - best (>= 0) and the window's rank (1 = best; ties share the better rank). Every panel
    must hold exactly one run at `window`. Index: the panel columns.

        >>> sweep = pd.DataFrame({"tokens": 600_064, "prune_start": [0.0, 0.25, 0.5], "prune_end": [0.5, 0.75, 1.0],
        ...                       "loss": [2.30, 2.25, 2.20]})
        >>> window_gaps(sweep, ["tokens"])[["best_start", "best_end", "at", "gap", "rank"]].round(3)
                best_start  best_end    at   gap  rank
        tokens
        600064         0.5       1.0  2.25  0.05     2
    """
    panel = list(panel)
    missing = [c for c in [*panel, start, end, value] if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    rows = {}
    for key, runs in frame.groupby(panel):
        at = runs[np.isclose(runs[start], window[0]) & np.isclose(runs[end], window[1])]
        if len(at) != 1:
            raise ValueError(f"panel {dict(zip(panel, np.atleast_1d(key)))} has {len(at)} runs at the window "
                             f"{window}; need exactly one")
        best = runs.loc[runs[value].idxmin()]
        loss = float(at[value].iloc[0])
        rows[key] = {"windows": len(runs), "best_start": best[start], "best_end": best[end], "best": float(best[value]),
                     "at": loss, "gap": loss - float(best[value]), "rank": int((runs[value] < loss).sum()) + 1}
    index = pd.MultiIndex.from_tuples([k if isinstance(k, tuple) else (k,) for k in rows], names=panel)
    return pd.DataFrame(list(rows.values()), index=index if len(panel) > 1 else index.get_level_values(0))


def pooled_gap(gap, sigma, dof, level=0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the gaps of several panels, each the difference of two single runs
    with seed std sigma (one per panel, or one for all): the mean's standard error is
    sqrt(sum 2 sigma^2) / panels, the interval Student's t with the smallest dof given. The
    interval treats the two runs of a gap as independent; runs that share a seed (initialisation
    and data order) differ less, so for them it is conservative.

        >>> [round(float(v), 4) for v in pooled_gap([0.01, 0.03], sigma=0.02, dof=8)]
        [0.02, -0.0261, 0.0661]
    """
    gap = np.asarray(gap, dtype=float)
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), gap.shape)
    if gap.ndim != 1 or gap.size == 0:
        raise ValueError(f"gap: need a non-empty list of gaps, one per panel; got shape {gap.shape}")
    se = float(np.sqrt(np.sum(2 * sigma**2)) / gap.size)
    return t_interval(gap.mean(), se, int(np.min(dof)), level)


def matched_differences(frame: pd.DataFrame, sigma: float, dof: int, level=0.95, pair: str = "pair",
                        role: str = "role", value: str = "loss", size: str = "N_avg") -> pd.DataFrame:
    """Per pair label (column `pair`, e.g. the sparse run's target sparsity), the runs whose
    column `role` is "sparse" against those whose role is "dense" (one run per seed each): the
    runs of each, their mean `size` (N_avg) and `value` (loss), the difference sparse - dense of
    the mean values, and its t interval: standard error sigma sqrt(1/n_sparse + 1/n_dense), sigma
    the seed std (e.g. pooled over the seed grid and these runs) with `dof` degrees of freedom.
    Index: the pair labels.

        >>> frame = pd.DataFrame({"pair": 0.5, "role": ["sparse", "sparse", "dense", "dense"],
        ...                       "loss": [2.1, 2.3, 2.0, 2.0], "N_avg": [15.0, 15.0, 14.0, 14.0]})
        >>> matched_differences(frame, sigma=0.05, dof=10)[["sparse runs", "dense runs", "difference"]].round(3)
              sparse runs  dense runs  difference
        pair
        0.5             2           2         0.2
    """
    missing = [c for c in (pair, role, value, size) if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    unknown = sorted(set(frame[role]) - {"sparse", "dense"})
    if unknown:
        raise ValueError(f"column {role!r} holds {unknown}; allowed 'sparse' and 'dense'")
    rows = {}
    for key, runs in frame.groupby(pair):
        sparse, dense = runs[runs[role] == "sparse"], runs[runs[role] == "dense"]
        if sparse.empty or dense.empty:
            raise ValueError(f"pair {key!r} has {len(sparse)} sparse and {len(dense)} dense runs; need both")
        difference = sparse[value].mean() - dense[value].mean()
        se = sigma * np.sqrt(1 / len(sparse) + 1 / len(dense))
        estimate, low, high = t_interval(difference, se, dof, level)
        rows[key] = {"sparse runs": len(sparse), "dense runs": len(dense),
                     f"{size} sparse": sparse[size].mean(), f"{size} dense": dense[size].mean(),
                     f"{value} sparse": sparse[value].mean(), f"{value} dense": dense[value].mean(),
                     "difference": estimate, "low": low, "high": high}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = pair
    return table


# The chapter's tests (book/chapters/06_average_parameters.ipynb), every rule's thresholds in one place.
PAPER = "Jin et al. 2025"
NEAR = 0.03  # nats: "nearly the same loss" (Jin et al.'s released pairs all differ by less; largest 0.027)
GAP_TOP = 5 * NEAR  # nats: top of the heatmaps' colour scale (larger gaps get its darkest colour)
NO_RECOVERY = 0.05  # a window that ends with less than this fraction of the steps left leaves no time to recover
NEARLY_ALL = 0.95  # a final sparsity from which on a run has removed almost all weights
LAWS = {"(a) final N": laws.dense_law, "(b) Frantar S, N": laws.sparse_law, "(c) N_avg (Jin)": laws.avg_param_law}
A, B, C = LAWS
EVALUATIONS = {"in-sample": "in-sample", "leave one group out": "leave one schedule out", "held out": "held-out size"}


def check_parameters(n_nonzero, seeds, starts, ends, kinds, schedule_sparsities, matched_sparsities, matched_seeds,
                     matched_tokens, seed_tokens) -> None:
    """Raise ValueError unless the chapter's grids can be analysed: two sizes (one held out), two seeds, a
    sweep holding WINDOW and two or more schedules, sparse schedules and matched runs, and a seed spread
    at the matched budget.

        >>> check_parameters([1, 2], [0, 1], [0.25], [0.75, 1.0], ["cubic"], [0.5], [0.5], [0, 1], 100, [100])  # passes
        >>> check_parameters([1], [0, 1], [0.25], [0.75, 1.0], ["cubic"], [0.5], [0.5], [0, 1], 100, [100])
        Traceback (most recent call last):
        ValueError: n_nonzero = [1]: need two or more sizes, to hold the largest out of the fits
    """
    if len(n_nonzero) < 2:
        raise ValueError(f"n_nonzero = {n_nonzero}: need two or more sizes, to hold the largest out of the fits")
    if len(seeds) < 2:
        raise ValueError(f"seeds = {seeds}: need two or more seeds for a seed-to-seed spread")
    if WINDOW[0] not in starts or WINDOW[1] not in ends:
        raise ValueError(f"starts = {starts}, ends = {ends}: the sweep must hold Jin et al.'s window, start "
                         f"{WINDOW[0]:g} and end {WINDOW[1]:g}")
    if len([(a, b) for a in starts for b in ends if a < b]) * len(kinds) < 2:
        raise ValueError(f"starts = {starts}, ends = {ends}, kinds = {kinds}: need two or more schedules "
                         f"(start < end) to leave one out")
    for name, values in (("schedule_sparsities", schedule_sparsities), ("matched_sparsities", matched_sparsities)):
        if 0.0 in values:
            raise ValueError(f"{name} = {values}: 0 is not a pruning schedule; need sparsities in (0, 1)")
    if len(matched_seeds) < 2 and matched_tokens not in seed_tokens:
        raise ValueError(f"matched_seeds = {matched_seeds}, seed_tokens = {seed_tokens}: the matched pairs need a "
                         f"seed spread at matched_tokens = {matched_tokens}: two or more matched_seeds, or "
                         f"matched_tokens in seed_tokens")


def read_groups(store, corpus, configs: dict):
    """Each group of configs ({name: [RunConfig]}) read from `store`, trained where it lacks them
    (kit.engine.sweep.run_sweep): (frames, runs), frames the sweep's records (failed runs included),
    runs the law frames of the runs that finished (kit.engine.store.law_frame).

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> frames, runs = read_groups(RunStore("runs"), data.load_corpus(None), {"main grid": grids.main_grid()})
        >>> len(frames["main grid"]), len(runs["main grid"])
        (80, 80)
    """
    from kit.engine.store import law_frame
    from kit.engine.sweep import run_sweep

    frames = {name: run_sweep(group, store=store, corpus=corpus, progress=False) for name, group in configs.items()}
    return frames, {name: law_frame(frame[frame.status == "ok"]) for name, frame in frames.items()}


def overview(frames: dict) -> pd.DataFrame:
    """Per group of read_groups' frames: runs, finished, failed, and training hours (wall, compile
    and evaluation time recorded).

        >>> frame = pd.DataFrame({"status": ["ok", "failed"], "wall_s": [3600.0, 0.0], "compile_s": 0.0,
        ...                       "eval_s": [0.0, 1800.0]})
        >>> overview({"schedule sweep": frame})
                        runs  finished  failed  training hours
        group
        schedule sweep   2.0       1.0     1.0             1.5
    """
    table = pd.DataFrame({name: {"runs": len(frame), "finished": int((frame.status == "ok").sum()),
                                 "failed": int((frame.status != "ok").sum()),
                                 "training hours": frame[["wall_s", "compile_s", "eval_s"]].sum(axis=1).sum() / 3600}
                          for name, frame in frames.items()}).T
    return table.rename_axis("group")


def window_in_steps(kinds, sparsities, window=WINDOW) -> pd.DataFrame:
    """Where `window` (fractions of compute counted on non-zero weights) falls in steps, per schedule
    kind and sparsity (kit.laws.schedules.steps_from_compute).

        >>> window_in_steps(["geometric"], [0.75]).round(2)
                        start (steps)  end (steps)
        schedule  S
        geometric 0.75           0.11         0.54
    """
    return pd.DataFrame([{"schedule": kind, "S": s, "start (steps)": a, "end (steps)": b}
                         for kind in kinds for s in sparsities
                         for a, b in [steps_from_compute(*window, s, kind)]]).set_index(["schedule", "S"])


def flagged(sched: pd.DataFrame) -> pd.Series:
    """The runs of a schedule sweep (law frame: prune_start, prune_end on the compute clock, schedule,
    sparsity, S) that prune to almost nothing: their window ends with less than NO_RECOVERY of the
    steps left to recover, or they end with S >= NEARLY_ALL. Index: sched's.

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> sched = read_groups(RunStore("runs"), data.load_corpus(None), {"sweep": grids.schedule_grid()})[1]["sweep"]
        >>> int(flagged(sched).sum()), len(sched)
        (40, 192)
    """
    end = np.array([steps_from_compute(a, b, s, kind)[1]
                    for a, b, s, kind in zip(sched.prune_start, sched.prune_end, sched.sparsity, sched.schedule)])
    return pd.Series((end > 1 - NO_RECOVERY) | (sched.S.to_numpy() >= NEARLY_ALL), index=sched.index)


def flagged_text(sched: pd.DataFrame) -> str:
    """One sentence on flagged(sched): how many runs end pruning with less than NO_RECOVERY of their steps
    left (and at which windows), and how many end at NEARLY_ALL sparsity or more.

        >>> sched = pd.DataFrame({"prune_start": [0.25, 0.5], "prune_end": [0.75, 1.0], "sparsity": 0.5,
        ...                       "schedule": "cubic", "S": 0.5})
        >>> flagged_text(sched)
        '1 of 2 runs end pruning with less than 5% of their steps left to recover (windows 50%–100%), and none end
        at 95% sparsity or more.'
    """
    marked = flagged(sched)
    nearly_all = sched.S >= NEARLY_ALL
    late = marked & ~nearly_all
    windows = sorted({f"{100 * a:g}%–{100 * b:g}%" for a, b in zip(sched.prune_start[late], sched.prune_end[late])})
    said = (f"{int(late.sum())} of {len(sched)} runs end pruning with less than {NO_RECOVERY:.0%} of their steps left "
            f"to recover (windows {', '.join(windows)})" if late.any() else
            f"no run of the sweep ends pruning with less than {NO_RECOVERY:.0%} of its steps left")
    removed = f"{int(nearly_all.sum())} of {len(sched)}" if nearly_all.any() else "none"
    return f"{said[:1].upper()}{said[1:]}, and {removed} end at {NEARLY_ALL:.0%} sparsity or more."


def plot_window_heatmaps(sched: pd.DataFrame, starts, ends, window=WINDOW):
    """The schedule sweep as one figure: one row of panels per (budget, sparsity), one panel per
    schedule kind, each cell one run's final loss above its panel's best (kit.report.plots.
    plot_schedule_heatmap, colour scale to GAP_TOP), `window` outlined dashed, the runs of `flagged`
    hatched. sched: law frame with tokens, sparsity, schedule, prune_start, prune_end, loss, S. Returns
    the figure.

        >>> import matplotlib.pyplot as plt
        >>> sched = pd.DataFrame([{"tokens": 600_064, "sparsity": 0.5, "S": 0.5, "schedule": "cubic", "prune_start": a,
        ...                        "prune_end": b, "loss": 2.0 + a + b / 10} for a in (0.0, 0.25) for b in (0.5, 1.0)])
        >>> fig = plot_window_heatmaps(sched, [0.0, 0.25], [0.5, 1.0])
        >>> fig.axes[0].get_title()
        'D = 600k, cubic, S = 0.5'
        >>> plt.close(fig)
    """
    import matplotlib
    import matplotlib.pyplot as plt

    from kit.report import plots

    keys = sorted(sched.groupby(["tokens", "sparsity", "schedule"]).groups)
    marked = flagged(sched)
    per_row = min(len({k[2] for k in keys}), plots.MAX_PER_ROW)
    fig, axes = plots.panel_grid(len(keys), aspect=0.55, per_row=per_row, sharex=True, sharey=True)
    for ax, key in zip(axes, keys):
        panel = sched[(sched.tokens == key[0]) & (sched.sparsity == key[1]) & (sched.schedule == key[2])]
        loss_SxE = panel.pivot_table(index="prune_start", columns="prune_end", values="loss").reindex(
            index=starts, columns=ends).to_numpy()
        plots.plot_schedule_heatmap(ax, starts, ends, loss_SxE, mark=window, vmax=GAP_TOP, colorbar=False, cells="gap")
        for a, b in zip(panel.prune_start[marked], panel.prune_end[marked]):
            i, j = list(starts).index(a), list(ends).index(b)
            ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", ec="0.35", lw=0))
        ax.set_aspect("auto")  # cells wider than tall: one line of text each, in a shorter figure
        ax.set_xticks(range(len(ends)), [f"{100 * e:g}%" for e in ends])
        ax.set_yticks(range(len(starts)), [f"{100 * a:g}%" for a in starts])
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_title(f"D = {plots.short_number(key[0])}, {key[2]}, S = {key[1]:g}")
    fig.colorbar(axes[0].images[0], ax=axes, extend="max", shrink=0.7, label="loss − panel best (nats)")
    fig.supxlabel("pruning ends at (fraction of compute)", fontsize=plt.rcParams["axes.labelsize"])
    fig.supylabel("pruning starts at", fontsize=plt.rcParams["axes.labelsize"])
    return fig


def window_table(sched: pd.DataFrame, noise_table: pd.DataFrame, level=0.95, window=WINDOW) -> pd.DataFrame:
    """window_gaps per panel (budget "tokens", sparsity, schedule) with the seed noise at the panel's
    budget (sigma, dof: kit.fit.noise.noise_at of noise_table) and the gap's t interval as the
    difference of two single runs (low, high).

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> from kit.fit.noise import seed_noise
        >>> groups = {"sweep": grids.schedule_grid(), "seeds": grids.seed_grid()}
        >>> runs = read_groups(RunStore("runs"), data.load_corpus(None), groups)[1]
        >>> gaps = window_table(runs["sweep"], seed_noise(runs["seeds"], ["n_nonzero", "sparsity"], by="tokens"), 0.95)
        >>> len(gaps), list(gaps.index.names)
        (8, ['tokens', 'sparsity', 'schedule'])
    """
    from kit.fit import noise

    gaps = window_gaps(sched, ["tokens", "sparsity", "schedule"], window)
    at = [noise.noise_at(noise_table, d) for d in gaps.index.get_level_values("tokens")]
    gaps["sigma"], gaps["dof"] = [s for s, _ in at], [k for _, k in at]
    bounds = [t_interval(g, np.sqrt(2) * s, k, level) for g, s, k in zip(gaps.gap, gaps.sigma, gaps.dof)]
    gaps["low"], gaps["high"] = [b[1] for b in bounds], [b[2] for b in bounds]
    gaps["best window"] = [f"{100 * a:g}%–{100 * b:g}%" for a, b in zip(gaps.best_start, gaps.best_end)]
    return gaps


def window_claim(gaps: pd.DataFrame, level=0.95, scope=None):
    """The claim that WINDOW is near-optimal, on window_table's gaps: the mean gap over the panels
    (pooled_gap) holds if its `level` interval lies within ±NEAR, does not hold if it lies wholly above
    NEAR, and is not resolved otherwise (kit.report.claims.equivalence_verdict).

        >>> gaps = pd.DataFrame({"gap": [0.004, 0.0], "sigma": 0.01, "dof": 8, "rank": [2, 1]})
        >>> claim = window_claim(gaps, 0.95, scope="N 13,824")
        >>> claim.verdict, claim.our_runs
        ('holds', '+0.0020 nats [-0.0211, +0.0251]')
    """
    from kit.report import claims

    gap, low, high = pooled_gap(gaps.gap, gaps.sigma, gaps.dof, level)
    window = f"{100 * WINDOW[0]:g}%–{100 * WINDOW[1]:g}%"
    verdict, reason = claims.equivalence_verdict(gap, low, high, NEAR, quantity=f"the mean gap of {window} to the best window",
                                                 unit=" nats", fmt="+.4f")
    return claims.Claim(
        "jin-window-25-75", PAPER,
        f"Pruning from {100 * WINDOW[0]:g}% to {100 * WINDOW[1]:g}% of the training compute reaches a final loss near the "
        f"best pruning window's.", "ch6-schedule-sweep", "near-optimal among 80 schedules (162M parameters)", None,
        claims.interval_text(gap, low, high, "+.4f", " nats"), verdict,
        f"Holds if the {level:.0%} interval of the mean gap ({window} minus the best window, over the panels) lies "
        f"within ±{NEAR} nats; does not hold if it lies wholly above {NEAR}; otherwise not resolved.", reason,
        {"gap": gap, "low": low, "high": high, "margin": NEAR, "panels": len(gaps),
         "best_in_panels": int((gaps["rank"] == 1).sum()), "max_gap": float(gaps.gap.max())},
        kind="own runs", scope=scope)


def window_texts(sched: pd.DataFrame, gaps: pd.DataFrame, starts, ends, kinds) -> dict:
    """The prose numbers of the schedule sweep (law frame `sched`, window_table's `gaps`): panels where
    WINDOW is best, its largest gap, the widest panel's spread, the best window on average over the
    panels and WINDOW's rank, how often the longest window is best per schedule kind, the mean gap of
    windows ending last against the others per kind, and how often the best window starts first.

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> from kit.fit.noise import seed_noise
        >>> groups = {"sweep": grids.schedule_grid(), "seeds": grids.seed_grid()}
        >>> sched, seeds = read_groups(RunStore("runs"), data.load_corpus(None), groups)[1].values()
        >>> gaps = window_table(sched, seed_noise(seeds, ["n_nonzero", "sparsity"], by="tokens"))
        >>> window_texts(sched, gaps, *(grids.SCHEDULE_SWEEP[k] for k in ("starts", "ends", "kinds")))["window_longest"]
        '0%–100%'
    """
    keys = ["tokens", "sparsity", "schedule"]
    run_gap = sched.loss - sched.groupby(keys).loss.transform("min")
    mean_gap = run_gap.groupby([sched.prune_start, sched.prune_end]).mean().sort_values()
    kind_of = gaps.index.get_level_values("schedule")
    longest = np.isclose(gaps.best_start, min(starts)) & np.isclose(gaps.best_end, max(ends))
    late = np.isclose(sched.prune_end, max(ends))
    return {"window_best_in": f"{int((gaps['rank'] == 1).sum())} of {len(gaps)}",
            "window_max_gap": f"{gaps.gap.max():.4f}",
            "window_spread": f"{sched.groupby(keys).loss.agg(np.ptp).max():.4f}",
            "window_best_overall": f"{100 * mean_gap.index[0][0]:g}%–{100 * mean_gap.index[0][1]:g}% (mean gap "
                                   f"{mean_gap.iloc[0]:.4f} nats)",
            "window_jin_rank": f"{int((mean_gap < mean_gap.loc[WINDOW]).sum()) + 1} of {len(mean_gap)} (mean gap "
                               f"{mean_gap.loc[WINDOW]:.4f} nats)",
            "window_longest_best": ", ".join(f"{int(longest[kind_of == k].sum())} of {int((kind_of == k).sum())} {k}"
                                             for k in kinds),
            "window_longest": f"{100 * min(starts):g}%–{100 * max(ends):g}%",
            "window_late_end": "; ".join(f"{k}, {run_gap[late & (sched.schedule == k)].mean():.3f} nats ending at "
                                         f"{100 * max(ends):g}% against {run_gap[~late & (sched.schedule == k)].mean():.3f} "
                                         f"ending earlier" for k in kinds),
            "window_best_early": f"{100 * min(starts):g}% in {int(np.isclose(gaps.best_start, min(starts)).sum())} of "
                                 f"{len(gaps)}", "flagged_sentence": flagged_text(sched)}


def law_points(runs: dict) -> pd.DataFrame:
    """The runs of every group ({name: law frame}, read_groups' runs) as fit points: each configuration
    once, its seeds averaged (kit.fit.noise.average_seeds; column seeds), with the first group that
    holds it (column group: a seed-0 repeat is the main grid's run).

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> groups = {"main grid": grids.main_grid(), "seed repeats": grids.seed_grid()}
        >>> points = law_points(read_groups(RunStore("runs"), data.load_corpus(None), groups)[1])
        >>> len(points), points.groupby("group").size().to_dict(), int(points.seeds.max())
        (80, {'main grid': 80}, 5)
    """
    from kit.engine.store import CONFIG_FIELDS
    from kit.fit import noise

    group_of = {}
    for name, frame in runs.items():
        for run_id in frame.id:
            group_of.setdefault(run_id, name)
    every_run = pd.concat(runs.values()).drop_duplicates("id")
    return noise.average_seeds(every_run.assign(group=every_run.id.map(group_of)), CONFIG_FIELDS).reset_index(drop=True)


def law_fits(points: pd.DataFrame, n_nonzero, n_starts=16, noise=None):
    """LAWS fitted to law_points' points and scored three ways (kit.fit.compare.law_predictions; each
    run's error over its sparsity's seed noise with `noise`, kit.fit.lawfit.sparsity_noise): in
    sample; leaving out each compute-clocked schedule (kind, start, end) of the sparse runs in turn;
    fitted to the points of target N up to the second largest of n_nonzero (the main grid's sizes) and
    scored on the main grid's points at the largest. Returns (fits, predicted, errors), the last two
    {evaluation: frame, one column per law} keyed by EVALUATIONS' names, errors absolute (nats).

        >>> from kit.engine import data, grids
        >>> from kit.engine.store import RunStore
        >>> groups = {"main grid": grids.main_grid(), "schedule sweep": grids.schedule_grid()}
        >>> points = law_points(read_groups(RunStore("runs"), data.load_corpus(None), groups)[1])
        >>> fits, predicted, errors = law_fits(points, grids.MAIN["n_nonzero"], n_starts=2)
        >>> {evaluation: len(e) for evaluation, e in errors.items()}
        {'in-sample': 272, 'leave one schedule out': 192, 'held-out size': 16}
    """
    from kit.fit import compare

    clocked = (points.prune_clock == "compute") & (points.sparsity > 0)
    labels = [(r.schedule, r.prune_start, r.prune_end) if c else None for r, c in zip(points.itertuples(), clocked)]
    train = (points.n_nonzero <= sorted(n_nonzero)[-2]).to_numpy()
    test = ((points.group == "main grid") & (points.n_nonzero == max(n_nonzero))).to_numpy()
    fits, predicted = compare.law_predictions(LAWS, points, labels, train, test, starts=n_starts, noise=noise)
    predicted = {EVALUATIONS[k]: p for k, p in predicted.items()}
    return fits, predicted, {k: p.sub(points.loss[p.index], axis=0).abs() for k, p in predicted.items()}


def coefficient_table(fits: dict) -> pd.DataFrame:
    """law_fits' fits as a table: one row per law, its coefficients, then its fit's objective.

        >>> from kit.fit.fitting import FitResult
        >>> fit = FitResult(dict(a_N=445.0, b_N=0.15, a_D=2e3, b_D=0.4, c=1.0), 3.2e-5, np.zeros(0), 16, True)
        >>> coefficient_table({C: fit})
                             a_N   b_N     a_D  b_D    c  objective
        law
        (c) N_avg (Jin)    445.0  0.15  2000.0  0.4  1.0    0.000032
    """
    table = pd.DataFrame({name: {**r.params, "objective": r.objective} for name, r in fits.items()}).T.rename_axis("law")
    return table[[c for c in table.columns if c != "objective"] + ["objective"]]


def plot_law_fits(points: pd.DataFrame, predicted: pd.DataFrame):
    """Each law's prediction (predicted: one column per law, e.g. law_fits' in-sample frame) against the
    measured loss of every point, coloured by sparsity, one panel per law titled with its mean absolute
    error. Returns the figure.

        >>> import matplotlib.pyplot as plt
        >>> points = pd.DataFrame({"loss": [3.0, 2.9, 2.8], "sparsity": [0.0, 0.5, 0.75]})
        >>> fig = plot_law_fits(points, pd.DataFrame({A: [3.02, 2.88, 2.81], C: [3.0, 2.91, 2.79]}))
        >>> [ax.get_title().split()[-1] for ax in fig.axes[:2]]  # the mean absolute error of each law
        ['0.0167', '0.0067']
        >>> plt.close(fig)
    """
    from kit.report import plots

    fig, axes = plots.panel_grid(predicted.shape[1], aspect=1.0)
    for ax, name in zip(axes, predicted.columns):
        plots.plot_predicted_vs_actual(ax, points.loss, predicted[name], hue=points.sparsity, legend=None)
        ax.set_title(f"{name}\nMAE {(predicted[name] - points.loss).abs().mean():.4f}")
    plots.legend_outside(fig, where="below", ncols=5)
    return fig


def mae_table(errors: dict, n_boot=1000, level=0.95) -> pd.DataFrame:
    """Per evaluation of law_fits' errors: each law's mean absolute error and the paired differences
    (c) − (a) and (c) − (b), with bootstrap intervals over the points (kit.fit.compare.mean_intervals,
    the same resamples for every law). Index (evaluation, quantity); column points first.

        >>> errors = {"in-sample": pd.DataFrame({A: [0.02, 0.03, 0.01], B: [0.02, 0.03, 0.01], C: [0.01, 0.02, 0.0]})}
        >>> mae_table(errors, n_boot=200, level=0.95).loc["in-sample", ["points", "estimate"]].round(4)
                                            points  estimate
        quantity
        (a) final N                              3      0.02
        (b) Frantar S, N                         3      0.02
        (c) N_avg (Jin)                          3      0.01
        (c) N_avg (Jin) − (a) final N            3     -0.01
        (c) N_avg (Jin) − (b) Frantar S, N       3     -0.01
    """
    from kit.fit import compare

    mae = pd.concat({evaluation: compare.mean_intervals(err, n_boot, level, differences=[(C, A), (C, B)])
                     for evaluation, err in errors.items()}, names=["evaluation", "quantity"])
    mae.insert(0, "points", [len(errors[evaluation]) for evaluation, _ in mae.index])
    return mae


def plot_mae(mae: pd.DataFrame, level=0.95):
    """mae_table's errors of each law per evaluation with their intervals, and Jin et al.'s in-sample MAE
    (dotted). Returns the figure.

        >>> import matplotlib.pyplot as plt
        >>> errors = {"in-sample": pd.DataFrame({A: [0.02, 0.03, 0.01], B: [0.02, 0.03, 0.01], C: [0.01, 0.02, 0.0]})}
        >>> fig = plot_mae(mae_table(errors, n_boot=200))
        >>> fig.axes[0].get_title()
        'Mean absolute error of each law (95% bootstrap intervals over points)'
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    from kit.report import plots

    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 3.4))
    evaluations = list(dict.fromkeys(mae.index.get_level_values(0)))
    plots.plot_errors(ax, mae.loc[[(e, law) for e in evaluations for law in LAWS]], reference=MAE,
                      reference_label="Jin et al. (c), in-sample", legend="right")
    ax.set_title(f"Mean absolute error of each law ({level:.0%} bootstrap intervals over points)")
    return fig


LAW_STATEMENTS = {
    "in-sample": ("jin-avg-law-in-sample", "Fitted to dense and sparse runs alike, the Chinchilla law in $N_\\text{avg}$ "
                  "has a smaller error than the same law in the final non-zero count $N$."),
    "leave one schedule out": ("jin-avg-law-held-out-schedule", "The law in $N_\\text{avg}$ predicts runs of a pruning "
                               "schedule it was not fitted to better than the law in the final $N$."),
    "held-out size": ("jin-avg-law-held-out-size", "The law in $N_\\text{avg}$ predicts runs of a larger size than it "
                      "was fitted to better than the law in the final $N$.")}


def law_claims(mae: pd.DataFrame, points: pd.DataFrame, n_nonzero, level=0.95) -> list:
    """Claim (2) per evaluation of mae_table: the paired difference of mean absolute errors, law (c)
    minus law (a), holds if its interval lies below 0, does not hold if above 0, and is not resolved
    otherwise (kit.report.claims.direction_verdict). In sample the paper's MAE of law (c) stands
    against ours (both MAEs; the paper gives none of law (a)); the held-out evaluations are the book's
    own questions (kind "question"): the paper reports no test on runs left out. points, n_nonzero:
    law_fits' inputs, for each claim's scope.

        >>> points = pd.DataFrame({"N": [13_824, 27_648, 27_648], "D": 6e5, "sparsity": [0.0, 0.0, 0.5],
        ...                        "prune_clock": "compute", "schedule": "cubic", "prune_start": 0.25,
        ...                        "prune_end": 0.75})
        >>> errors = {"in-sample": pd.DataFrame({A: [0.02, 0.03, 0.01], B: [0.02, 0.03, 0.01], C: [0.01, 0.02, 0.0]})}
        >>> found = law_claims(mae_table(errors, n_boot=200), points, [13_824, 27_648])
        >>> [(claim.key, claim.verdict) for claim in found]
        [('jin-avg-law-in-sample', 'holds')]
    """
    from kit.report import claims

    clocked = points[(points.prune_clock == "compute") & (points.sparsity > 0)]
    scopes = {"in-sample": f"{len(points)} points, N {points.N.min():,.0f}-{points.N.max():,.0f}, "
                           f"D {points.D.min() / 1e6:.1f}M-{points.D.max() / 1e6:.1f}M tokens",
              "leave one schedule out": f"{len(clocked.groupby(['schedule', 'prune_start', 'prune_end']))} "
                                        f"compute-clocked schedules, each left out once",
              "held-out size": f"fitted up to N {sorted(n_nonzero)[-2]:,}, tested at N {max(n_nonzero):,}"}
    out = []
    for evaluation, (key, statement) in LAW_STATEMENTS.items():
        if evaluation not in mae.index.get_level_values(0):
            continue
        d = mae.loc[(evaluation, f"{C} − {A}")]
        mae_of = {law: mae.loc[(evaluation, law), "estimate"] for law in LAWS}
        points = float(mae.loc[(evaluation, C), "points"])
        verdict, reason = claims.direction_verdict(
            d.estimate, d.low, d.high, -1, quantity=f"the {evaluation} MAE of the N_avg law (c) minus that of the final-N "
                                                    f"law (a)", unit=" nats", fmt="+.4f")
        own = evaluation == "in-sample"
        out.append(claims.Claim(
            key, PAPER, statement if own else statement + " (The book's test: the paper reports no fit to runs left out.)",
            "ch6-one-law", f"MAE of law (c) {MAE} nats in-sample ({FIT_RUNS} runs; law (a) not reported)" if own else None,
            None, f"MAE of law (c) {mae_of[C]:.4f} nats, of law (a) {mae_of[A]:.4f} ({points:.0f} points)" if own else
            claims.interval_text(d.estimate, d.low, d.high, "+.4f", " nats"), verdict,
            f"Holds if the {level:.0%} paired-bootstrap interval of the {evaluation} MAE of the N_avg law minus the "
            f"final-N law's lies below 0; does not hold if above 0; otherwise not resolved.", reason,
            {"difference": d.estimate, "low": d.low, "high": d.high, "points": points,
             "mae_a": mae_of[A], "mae_b": mae_of[B], "mae_c": mae_of[C]},
            kind="own runs" if own else "question", scope=scopes[evaluation]))
    return out


def law_texts(points: pd.DataFrame, fits: dict, predicted: dict, errors: dict, mae: pd.DataFrame) -> dict:
    """The prose numbers of the law comparison: per evaluation (slug in_sample, leave_one_schedule_out,
    held_out_size) the differences (c) − (a) and (c) − (b) with intervals and each law's MAE; law (c)'s
    in-sample error on dense and sparse points; law (a)'s mean residual on the main grid per sparsity;
    law (b)'s a_S; the points and the sizes they span.

        >>> from kit.fit.fitting import FitResult
        >>> points = pd.DataFrame({"group": "main grid", "N": 13_824, "S": [0.0, 0.5], "sparsity": [0.0, 0.5],
        ...                        "loss": [3.0, 2.9], "seeds": [2, 1]})
        >>> predicted = {"in-sample": pd.DataFrame({A: [3.02, 2.93], B: [3.02, 2.91], C: [3.01, 2.91]})}
        >>> errors = {k: p.sub(points.loss, axis=0).abs() for k, p in predicted.items()}
        >>> fits = {B: FitResult(dict(a_S=0.05, b_S=1.0, c_S=1.0), 0.0, np.zeros(0), 1, True)}
        >>> law_texts(points, fits, predicted, errors, mae_table(errors, n_boot=200))["residual_a_by_s"]
        '-0.0200 at S = 0, -0.0300 at S = 0.5'
    """
    from kit.report import claims

    out = {}
    for evaluation in errors:
        slug = evaluation.replace(" ", "_").replace("-", "_")
        for name, other in (("ca", A), ("cb", B)):
            d = mae.loc[(evaluation, f"{C} − {other}")]
            out[f"law_{slug}_{name}"] = claims.interval_text(d.estimate, d.low, d.high, "+.4f")
        out[f"law_{slug}_mae"] = ", ".join(f"{name[:3]} {mae.loc[(evaluation, name), 'estimate']:.4f}" for name in LAWS)
    dense, err = (points.S == 0).to_numpy(), errors["in-sample"][C]
    out["alike_c"] = f"{err[dense].mean():.4f} on dense points and {err[~dense].mean():.4f} on sparse ones"
    main = (points.group == "main grid").to_numpy()
    residual = (points.loss - predicted["in-sample"][A])[main].groupby(points.sparsity[main]).mean()
    out["residual_a_by_s"] = ", ".join(f"{r:+.4f} at S = {s:g}" for s, r in residual.items())
    out["b_a_s"] = f"{fits[B].params['a_S']:.1g}"
    out["jin_mae"] = f"{MAE}"
    out["points_text"] = (f"{int(points.seeds.sum())} runs make {len(points)} points ({int((points.seeds > 1).sum())} of "
                          f"them averages of {points.seeds[points.seeds > 1].min()} to {points.seeds.max()} seeds), "
                          f"{int((points.S == 0).sum())} dense and {int((points.S > 0).sum())} sparse")
    out["size_range"] = f"{points.N.min():,.0f} to {points.N.max():,.0f}"
    return out


def schedule_spread(panels: pd.DataFrame, predicted: pd.Series) -> pd.DataFrame:
    """Within each panel (tokens, sparsity, schedule) of the schedule sweep's points: the spread
    (max − min) of the measured losses and of a law's predictions (predicted, indexed as panels), their
    Spearman correlation (NaN for two windows or fewer), and the windows the law predicts best and
    worst with their measured gaps to the panel's best.

        >>> panels = pd.DataFrame({"tokens": 600_064, "sparsity": 0.5, "schedule": "cubic", "loss": [2.30, 2.25, 2.20],
        ...                        "prune_start": [0.0, 0.25, 0.5], "prune_end": [0.5, 0.75, 1.0]})
        >>> spread = schedule_spread(panels, pd.Series([2.26, 2.25, 2.24]))
        >>> spread.round(3).loc[(600_064, 0.5, "cubic")]
        measured spread                  0.1
        (c) spread                      0.02
        Spearman (c) vs measured         1.0
        (c)'s best window           50%–100%
        gap at (c)'s best                0.0
        (c)'s worst window            0%–50%
        gap at (c)'s worst               0.1
        Name: (600064, 0.5, cubic), dtype: object
    """
    from scipy import stats

    rows = {}
    for key, panel in panels.groupby(["tokens", "sparsity", "schedule"]):
        measured, law = panel.loss.to_numpy(), predicted.loc[panel.index].to_numpy()
        first, last = panel.iloc[np.argmin(law)], panel.iloc[np.argmax(law)]
        rows[key] = {"measured spread": np.ptp(measured), "(c) spread": np.ptp(law),
                     "Spearman (c) vs measured": stats.spearmanr(law, measured).statistic if len(panel) > 2 else np.nan,
                     "(c)'s best window": f"{100 * first.prune_start:g}%–{100 * first.prune_end:g}%",
                     "gap at (c)'s best": first.loss - measured.min(),
                     "(c)'s worst window": f"{100 * last.prune_start:g}%–{100 * last.prune_end:g}%",
                     "gap at (c)'s worst": last.loss - measured.min()}
    spread = pd.DataFrame.from_dict(rows, orient="index")
    spread.index = pd.MultiIndex.from_tuples(spread.index, names=["tokens", "sparsity", "schedule"])
    return spread


def spread_texts(spread: pd.DataFrame) -> dict:
    """The prose numbers of schedule_spread: mean spreads, the mean, sign and largest Spearman
    correlation, panels where the law's spread is the smaller, and the law's best and worst windows
    with their mean gaps.

        >>> panels = pd.DataFrame({"tokens": 600_064, "sparsity": 0.5, "schedule": "cubic", "loss": [2.30, 2.25, 2.20],
        ...                        "prune_start": [0.0, 0.25, 0.5], "prune_end": [0.5, 0.75, 1.0]})
        >>> texts = spread_texts(schedule_spread(panels, pd.Series([2.26, 2.25, 2.24])))
        >>> texts["spearman_c"], texts["c_first"]
        ('+1.00', '50%–100% (mean gap 0.0000 nats)')
    """
    rho, best_gap = spread["Spearman (c) vs measured"], "gap at (c)'s best"
    out = {"spread_measured": f"{spread['measured spread'].mean():.4f}", "spread_c": f"{spread['(c) spread'].mean():.4f}",
           "spearman_c": f"{rho.mean():+.2f}", "spearman_negative": f"{int((rho < 0).sum())} of {len(spread)}",
           "spearman_max": f"{rho.max():+.2f}",
           "spread_smaller": f"{int((spread['(c) spread'] < spread['measured spread']).sum())} of {len(spread)}",
           "c_first_worst": f"{int(np.isclose(spread[best_gap], spread['measured spread']).sum())} of {len(spread)}"}
    for name, window, gap in (("c_first", "(c)'s best window", "gap at (c)'s best"),
                              ("c_last", "(c)'s worst window", "gap at (c)'s worst")):
        out[name] = f"{', '.join(sorted(set(spread[window])))} (mean gap {spread[gap].mean():.4f} nats)"
    return out


def matched_table(matched: pd.DataFrame, seed_runs: pd.DataFrame, roles: dict, tokens: int, fits: dict, level=0.95):
    """Sparse against dense runs of equal N_avg (matched_differences), each run's pair and role from
    roles ({run id: (sparsity of the pair's sparse run, "sparse" or "dense")}), the seed noise pooled
    over the seed repeats at `tokens` and the matched runs' own seeds (kit.fit.noise.seed_noise over
    their configurations). Adds what law_fits' law (c) predicts from the pair's mean N_avg and law (a)
    from its mean final N, and the sign the interval resolves. Returns (table, sigma, dof).

        >>> from kit.fit.fitting import FitResult
        >>> matched = pd.DataFrame({"id": ["s0", "s1", "d0", "d1"], "n_nonzero": [200, 200, 150, 150], "tokens": 1000,
        ...                         "sparsity": [0.5, 0.5, 0.0, 0.0], "seed": [0, 1, 0, 1], "N": [100, 100, 150, 150],
        ...                         "N_avg": 150.0, "loss": [2.01, 2.03, 2.0, 2.02]})
        >>> roles = {i: (0.5, "sparse" if i.startswith("s") else "dense") for i in matched.id}
        >>> fit = FitResult(dict(a_N=50.0, b_N=0.5, a_D=100.0, b_D=0.4, c=1.0), 0.0, np.zeros(0), 1, True)
        >>> table, sigma, dof = matched_table(matched, matched.iloc[:0], roles, 1000, {A: fit, C: fit})
        >>> round(sigma, 4), dof
        (0.0141, 2)
        >>> table[["difference", "(c) predicts", "sign"]].round(3)
              difference  (c) predicts          sign
        pair
        0.5         0.01           0.0  not resolved
    """
    from kit.engine.store import CONFIG_FIELDS
    from kit.fit import noise

    matched = matched.assign(pair=[roles[i][0] for i in matched.id], role=[roles[i][1] for i in matched.id])
    pool = pd.concat([seed_runs[seed_runs.tokens == tokens], matched])
    spread = noise.seed_noise(pool.assign(point=noise.config_key(pool, CONFIG_FIELDS)), ["point"], by="tokens")
    sigma, dof = float(spread.sigma.iloc[0]), int(spread.dof.iloc[0])
    table = matched_differences(matched, sigma, dof, level)
    c, a = fits[C].params, fits[A].params
    table["(c) predicts"] = [float(laws.avg_param_law(row["N_avg sparse"], tokens, **c)
                                   - laws.avg_param_law(row["N_avg dense"], tokens, **c)) for _, row in table.iterrows()]
    final_n = matched.groupby(["pair", "role"]).N.mean()
    table["(a) predicts"] = [float(laws.dense_law(final_n[(s, "sparse")], tokens, **a)
                                   - laws.dense_law(final_n[(s, "dense")], tokens, **a)) for s in table.index]
    table["sign"] = ["sparse higher" if lo > 0 else "sparse lower" if hi < 0 else "not resolved"
                     for lo, hi in zip(table.low, table.high)]
    return table, sigma, dof


MATCHED_FORMATS = {"S": "{:g}", "N_avg sparse": ",.0f", "N_avg dense": ",.0f", "loss sparse": ".4f", "loss dense": ".4f",
                   "difference": "+.4f", "low": "+.4f", "high": "+.4f", "(c) predicts": "+.4f", "(a) predicts": "+.4f"}


def matched_markdown(table: pd.DataFrame) -> str:
    """matched_table's or matched_v3's table as the chapter shows it: one row per sparsity S, the
    runs' counts left out, each column in MATCHED_FORMATS.

        >>> table = pd.DataFrame({"sparse runs": [1], "dense runs": [1], "difference": [0.004], "low": [-0.01],
        ...                       "high": [0.018]}, index=pd.Index([0.5], name="pair"))
        >>> print(matched_markdown(table).splitlines()[2])
        | 0.5 | +0.0040 | -0.0100 | +0.0180 |
    """
    from kit.report import results

    shown = table.rename_axis("S").drop(columns=["sparse runs", "dense runs"])
    return results.markdown_table(shown, {k: f for k, f in MATCHED_FORMATS.items() if k in ("S", *shown.columns)})


def matched_claims(table: pd.DataFrame, sigma: float, dof: int, level=0.95, scope=None) -> list:
    """Claim (3) per sparsity of matched_table: sparse minus dense holds if its `level` interval lies
    within ±NEAR, does not hold if wholly outside, and is not resolved otherwise
    (kit.report.claims.equivalence_verdict). The paper's column: the released 1B pairs' differences,
    like ours a difference sparse − dense (training losses there, validation losses here).

        >>> table = pd.DataFrame({"difference": [0.004], "low": [-0.01], "high": [0.018], "N_avg sparse": [76_000.0],
        ...                       "N_avg dense": [76_633.0], "(a) predicts": [0.02], "(c) predicts": [0.0]},
        ...                      index=[0.5])
        >>> [(claim.key, claim.verdict) for claim in matched_claims(table, sigma=0.01, dof=8, level=0.95)]
        [('jin-matched-s0.5', 'holds')]
    """
    from kit.report import claims

    jin = released_pairs()["sparse - dense"]
    out = []
    for s, row in table.iterrows():
        verdict, reason = claims.equivalence_verdict(row.difference, row.low, row.high, NEAR,
                                                     quantity=f"sparse minus dense at S = {s:g}", unit=" nats", fmt="+.4f")
        article = "An" if f"{100 * s:g}".startswith("8") else "A"
        out.append(claims.Claim(
            f"jin-matched-s{s:g}", PAPER, f"{article} {100 * s:g}%-sparse run and a dense run of the same "
            f"$N_\\text{{avg}}$ on the same tokens reach nearly the same loss.", "ch6-matched",
            f"sparse − dense {jin.min():+.3f} to {jin.max():+.3f} (1B pairs)", None,
            claims.interval_text(row.difference, row.low, row.high, "+.4f", " nats"), verdict,
            f"Holds if the {level:.0%} interval of the mean loss of the sparse runs minus that of the dense runs lies "
            f"within ±{NEAR} nats; does not hold if wholly outside; otherwise not resolved.", reason,
            {"difference": row.difference, "low": row.low, "high": row.high, "margin": NEAR, "sigma": sigma, "dof": dof,
             "n_avg_sparse": row["N_avg sparse"], "n_avg_dense": row["N_avg dense"], "sparsity": float(s)},
            kind="own runs", scope=scope))
    return out


def plot_matched(table: pd.DataFrame, seeds: int, level=0.95):
    """matched_table's differences sparse − dense per sparsity with their intervals, what laws (a) and
    (c) predict, the ±NEAR band of the rule, and Jin et al.'s released pairs. Returns the figure.

        >>> import matplotlib.pyplot as plt
        >>> table = pd.DataFrame({"difference": [0.004], "low": [-0.01], "high": [0.018], "N_avg sparse": [76_000.0],
        ...                       "N_avg dense": [76_633.0], "(a) predicts": [0.02], "(c) predicts": [0.0]},
        ...                      index=[0.5])
        >>> fig = plot_matched(table, seeds=3)
        >>> fig.axes[0].get_ylabel()
        'sparse − dense loss (nats)'
        >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    from kit.report import plots

    jin = released_pairs()
    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 3.2))
    ax.axhspan(-NEAR, NEAR, color="0.9", zorder=0, label=f"±{NEAR} nats (the rule's margin)")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.errorbar(table.index, table.difference, yerr=[table.difference - table.low, table.high - table.difference],
                fmt="o", color="C0", capsize=4, label=f"ours: mean of {seeds} seeds, {level:.0%} interval")
    ax.plot(table.index, table["(a) predicts"], "x", color="C2", ms=8, mew=2, label="law (a) predicts (final N)")
    ax.plot(table.index, table["(c) predicts"], "+", color="C1", ms=9, mew=2, label="law (c) predicts ($N_\\mathrm{avg}$)")
    ax.plot(jin.S, jin["sparse - dense"], "s", color="C3", label="Jin et al.'s 1B pairs")
    ax.set_xlabel("sparsity $S$ of the sparse run")
    ax.set_ylabel("sparse − dense loss (nats)")
    ax.set_title("Sparse against dense runs of equal $N_\\mathrm{avg}$ on the same tokens")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def matched_texts(table: pd.DataFrame, found: list, sigma: float, dof: int) -> dict:
    """The prose numbers of matched_table and its claims (`found`): the noise, each difference with its
    interval and verdict, the pairs where sparse is higher, the largest difference law (c) predicts,
    law (a)'s predictions and what they leave, and the range of Jin et al.'s pairs.

        >>> table = pd.DataFrame({"difference": [0.004], "low": [-0.01], "high": [0.018], "N_avg sparse": [76_000.0],
        ...                       "N_avg dense": [76_633.0], "(a) predicts": [0.02], "(c) predicts": [0.0]},
        ...                      index=[0.5])
        >>> texts = matched_texts(table, matched_claims(table, 0.01, 8), 0.01, 8)
        >>> texts["matched_differences"], texts["matched_verdicts"]
        ('+0.0040 [-0.0100, +0.0180] at S = 0.5', 'holds at S = 0.5')
    """
    jin = released_pairs()["sparse - dense"]
    return {"matched_sigma": f"σ = {sigma:.4f} nats with {dof} degrees of freedom",
            "matched_differences": ", ".join(f"{row.difference:+.4f} [{row.low:+.4f}, {row.high:+.4f}] at S = {s:g}"
                                             for s, row in table.iterrows()),
            "matched_verdicts": ", ".join(f"{c.verdict} at S = {s:g}" for s, c in zip(table.index, found)),
            "matched_higher": f"{int((table.difference > 0).sum())} of {len(table)}",
            "matched_c_max": f"{table['(c) predicts'].abs().max():.4f}",
            "matched_a_predicts": ", ".join(f"{a:+.4f} at S = {s:g}" for s, a in table["(a) predicts"].items()),
            "matched_excess": ", ".join(f"{x:+.4f} at S = {s:g}" for s, x in (table.difference - table["(a) predicts"]).items()),
            "jin_pair_range": f"{-jin.max():.3f} to {-jin.min():.3f}"}


def matched_v3(runs_dir=None, level=0.95):
    """Jin et al.'s own design on grid v3 (kit.engine.grids.matched_v3_grid, sized by the pilot
    stored in runs_dir; nothing is trained): per sparsity, its pairs stored whole at grid v3's
    sizes, sparse minus dense averaged over the sizes (matched_differences, one run of each role
    per size), with grid v3's own seed noise at the pairs' budget (pooled over its seed pairs,
    kit.chapters.corelaw.our_runs_v3); matched_claims' rule, keys "-v3", section "ch6-grid-v3",
    provisional in scope while pairs are missing. Returns (table or None, claims, the runs paired,
    texts).

        >>> table, found, paired, texts = matched_v3()
        >>> texts["matched_v3_stored"].endswith(" of 9")
        True
    """
    import dataclasses

    from kit.chapters import corelaw, pilot
    from kit.engine import grids
    from kit.engine.store import RunStore, law_frame, to_frame
    from kit.fit import noise

    store = RunStore(runs_dir)
    sizing = pilot.grid_v3_sizing(store)
    if sizing is None:
        return None, [], pd.DataFrame(), {"matched_v3_stored": "– (no pilot stored)", "matched_v3_differences": "none yet"}
    pairs = grids.matched_v3_grid(sizing[0])
    records = pilot.v3_records(store, [c for pair in pairs for c in pair])
    whole = [(s, d, sparse.sparsity) for (sparse, _), s, d in zip(pairs, records[::2], records[1::2]) if s and d]
    texts = {"matched_v3_stored": f"{len(whole)} of {len(pairs)}", "matched_v3_differences": "none yet"}
    repeats = corelaw.our_runs_v3(runs_dir, train=False).repeats
    if not whole or repeats.empty:
        return None, [], pd.DataFrame(), texts
    roles = {s["id"]: (S, "sparse") for s, _, S in whole} | {d["id"]: (S, "dense") for _, d, S in whole}
    paired = law_frame(to_frame([r for s, d, _ in whole for r in (s, d)]))
    paired = paired.assign(pair=[roles[i][0] for i in paired.id], role=[roles[i][1] for i in paired.id])
    floor = noise.seed_noise(repeats, ["n_nonzero", "sparsity"], by="tokens")
    sigma, dof = noise.noise_at(floor, float(paired.tokens.iloc[0]))
    table = matched_differences(paired, sigma, dof, level)
    sizes = ", ".join(f"{n:,}" for n in sorted(paired.n_nonzero[paired.role == "sparse"].unique()))
    provisional = "" if len(whole) == len(pairs) else ", provisional until all are"
    scope = (f"grid v3, {len(whole)} of {len(pairs)} pairs stored{provisional}: N {sizes}, "
             f"{int(paired.steps.iloc[0]):,} steps, one seed")
    found = [dataclasses.replace(c, key=f"{c.key}-v3", section="ch6-grid-v3")
             for c in matched_claims(table, sigma, dof, level, scope)]
    texts["matched_v3_differences"] = ", ".join(f"{r.difference:+.4f} nats [{r.low:+.4f}, {r.high:+.4f}] at S = {s:g}"
                                                for s, r in table.iterrows())
    return table, found, paired, texts
