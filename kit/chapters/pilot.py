"""What the pilot of grid v3 tells about the transient of pruning (chapter "How long must a pruned run train?").

The pilot (kit.engine.grids.pilot_parts) trains N = 13,824 at four sparsities for budgets doubling
from 1,172 to 37,504 steps, and beside it a few variants, each of which changes one thing:
a larger N, pruning over the whole run, a 4x smaller batch, another seed. This module reads its
gaps (kit.chapters.transient.gaps: sparse minus dense loss at equal N, tokens, batch and seed):

    study = pilot.read_pilot(store)                      # stored runs, gaps, seed noise, fitted transient
    table = pilot.contrast_table(study.gaps_all)         # each variant's gap minus the base run's
    found = pilot.contrast_claims(table, study.eps, "pilot")  # does it depend on N, window, batch?

and the runs' learning curves (`learning_curves`, `plot_learning_curves`), which show the gap
opening and closing around the pruning window.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from kit.chapters import transient
from kit.engine.grids import BASE, CORPUS_V3, GRID_V3, PILOT, PILOT_STEPS, pilot_grid
from kit.fit import noise as fit_noise
from kit.report.claims import Claim, direction_verdict, equivalence_verdict, interval_text

LEVEL = 0.95
# The runs every variant is compared with: the pilot's size, the paper's window, the full batch.
BASE_RUNS = {"n_nonzero": PILOT["n_nonzero"], "batch_size": BASE.batch_size, "prune_start": BASE.prune_start,
             "prune_end": BASE.prune_end}
# name: (the variant's fields, the fields a variant run and its base run share besides them)
CONTRASTS = {
    "size": ({"n_nonzero": PILOT["n_nonzero_large"]}, ("sparsity", "steps", "seed")),
    "window": ({"prune_start": 0.0, "prune_end": 1.0}, ("sparsity", "steps", "seed")),
    "batch, equal steps": ({"batch_size": PILOT["small_batch"]}, ("sparsity", "steps", "seed")),
    "batch, equal tokens": ({"batch_size": PILOT["small_batch"]}, ("sparsity", "tokens", "seed")),
}
CONTRAST_TEXT = {"size": f"N = {PILOT['n_nonzero_large']:,} against {PILOT['n_nonzero']:,}, at equal steps",
                 "window": "pruning over the whole run against the 25%-75% window, at equal steps",
                 "batch, equal steps": f"batch {PILOT['small_batch']} against {BASE.batch_size}, at equal steps",
                 "batch, equal tokens": f"batch {PILOT['small_batch']} against {BASE.batch_size}, at equal tokens"}


@dataclasses.dataclass(frozen=True)
class PilotStudy:
    """The pilot's runs as the chapter reads them (read_pilot): `runs`, their store frame; `gaps_all`,
    transient.gaps of every run; `gaps`, those of the base runs (base_runs), the transient's budgets;
    `noise`, gap_noise of every run; `eps`, the threshold in nats; `fits`, transient.fit_curves of
    `gaps` at `eps`, weighted by `noise`.

        >>> empty = pd.DataFrame()
        >>> PilotStudy(empty, empty, empty, empty, eps=0.05, fits=empty).eps
        0.05
    """

    runs: pd.DataFrame
    gaps_all: pd.DataFrame
    gaps: pd.DataFrame
    noise: pd.DataFrame
    eps: float
    fits: pd.DataFrame


def read_pilot(store, steps="stored", eps="seeds", default_eps: float = transient.EPS, n_boot: int = 200,
               gamma=1.0, configs=None) -> PilotStudy:
    """The pilot's runs from `store` (a kit.engine.store.RunStore): every run of `configs` (default:
    kit.engine.grids.pilot_grid) that is stored for steps="stored", or those of the budgets listed in
    `steps`, trained on the pycode corpus where missing; their gaps, the seed noise of a gap and the
    transient fitted to the base runs. `eps`: "seeds" (noise_threshold, `default_eps` without
    repeats) or nats.

        >>> from kit.engine.store import RunStore
        >>> study = read_pilot(RunStore(), n_boot=20)
        >>> len(study.runs) > 0, bool((study.gaps["n_nonzero"] == PILOT["n_nonzero"]).all()), study.eps > 0
        (True, True, True)
    """
    from kit.engine import data
    from kit.engine.sweep import run_sweep

    configs = pilot_grid() if configs is None else configs
    fingerprint = data.load_corpus(CORPUS_V3).fingerprint
    configs = ([c for c in configs if store.has(store.run_id(c, fingerprint))] if steps == "stored"
               else [c for c in configs if c.steps in steps])
    runs = run_sweep(configs, store=store, corpus=CORPUS_V3, progress=False)
    gaps_all = transient.gaps(runs) if len(runs) else pd.DataFrame(
        {c: pd.Series(dtype=float) for c in ["sparsity", "steps", "tokens", "seed", "n_nonzero", "batch_size",
                                             "prune_start", "prune_end", "final_loss", "dense_loss", "gap"]})
    noise = gap_noise(gaps_all)
    eps = noise_threshold(noise, default_eps) if eps == "seeds" else float(eps)
    gaps = base_runs(gaps_all)
    fits = transient.fit_curves(gaps, "steps", eps=eps, n_boot=n_boot, gamma=gamma, noise=noise)
    return PilotStudy(runs, gaps_all, gaps, noise, eps, fits)


def _select(per_run: pd.DataFrame, fields: dict) -> pd.DataFrame:
    keep = np.logical_and.reduce([np.isclose(per_run[k].to_numpy(float), v) for k, v in fields.items()])
    return per_run[keep]


def base_runs(frame: pd.DataFrame, base: dict = BASE_RUNS) -> pd.DataFrame:
    """The rows of `frame` (a store frame, or transient.gaps' rows) that are base runs: the pilot's
    N, the full batch and the paper's 25%-75% window (BASE_RUNS), every sparsity, budget and seed.

        >>> frame = pd.DataFrame({"n_nonzero": [13_824, 55_296], "batch_size": 32, "prune_start": 0.25,
        ...                       "prune_end": 0.75})
        >>> len(base_runs(frame))
        1
    """
    return _select(frame, base)


def longest_complete(frame: pd.DataFrame, sparsities=PILOT["sparsities"]) -> int | None:
    """The largest budget (steps) at which `frame` (base_runs of a store frame) holds a seed-0 run at
    every one of `sparsities`; None if there is none.

        >>> frame = pd.DataFrame({"sparsity": [0.0, 0.5, 0.0], "steps": [100, 100, 200], "seed": 0})
        >>> longest_complete(frame, [0.0, 0.5]), longest_complete(frame, [0.0, 0.75])
        (100, None)
    """
    first = frame[frame["seed"] == 0]
    complete = [n for n, runs in first.groupby("steps") if all(np.isclose(runs["sparsity"], S).any() for S in sparsities)]
    return int(max(complete)) if complete else None


def gap_noise(per_run: pd.DataFrame, x: str = "steps") -> pd.DataFrame:
    """The seed noise of one gap per budget x: kit.fit.noise.seed_noise of the gaps of runs equal in
    every field but their seed, over the budgets where some run has two or more seeds (empty
    without repeats). Index x; columns sigma (nats), dof, points, runs.

        >>> per_run = pd.DataFrame({"sparsity": [0.5, 0.5, 0.75, 0.75], "steps": 100, "seed": [0, 1, 0, 1],
        ...                         "n_nonzero": 64, "batch_size": 32, "prune_start": 0.25, "prune_end": 0.75,
        ...                         "gap": [-0.10, -0.14, -0.09, -0.13]})
        >>> gap_noise(per_run).round(4)
                sigma  dof  points  runs
        steps
        100    0.0283    2       2     4
    """
    point = ["sparsity", "n_nonzero", "batch_size", "prune_start", "prune_end"]
    repeats = (per_run.groupby([x, *point])["seed"].transform("nunique") >= 2) if len(per_run) else per_run["seed"] > 0
    if not repeats.any():
        return pd.DataFrame(columns=["sigma", "dof", "points", "runs"], index=pd.Index([], name=x))
    return fit_noise.seed_noise(per_run[repeats], point=point, by=x, value="gap")


def noise_threshold(noise: pd.DataFrame, default: float) -> float:
    """The seed noise of one gap at the largest budget with repeats (gap_noise's table): the
    threshold below which the transient left is lost in the noise. `default` if there is none.

        >>> noise = pd.DataFrame({"sigma": [0.05, 0.02], "dof": [3, 3]}, index=[1172, 37504])
        >>> noise_threshold(noise, 0.01), noise_threshold(noise.iloc[:0], 0.01)
        (0.02, 0.01)
    """
    return float(noise["sigma"].iloc[-1]) if len(noise) else float(default)


def noise_text(noise: pd.DataFrame) -> str:
    """gap_noise's table in a sentence: the seed noise of one gap at each budget with repeats.

        >>> noise_text(pd.DataFrame({"sigma": [0.051], "dof": [3], "points": [3], "runs": [6]}, index=[1172]))
        '0.051 nats at 1,172 steps (3 pairs of runs that differ only in seed, 3 degrees of freedom)'
    """
    if not len(noise):
        return "not measured yet (no budget with two seeds is stored)"
    return "; ".join(f"{r.sigma:.3f} nats at {x:,.0f} steps ({r.points:.0f} pairs of runs that differ only in seed, "
                     f"{r.dof:.0f} degrees of freedom)" if r.runs == 2 * r.points else
                     f"{r.sigma:.3f} nats at {x:,.0f} steps ({r.runs:.0f} runs at {r.points:.0f} configs, {r.dof:.0f} "
                     f"degrees of freedom)" for x, r in noise.iterrows())


def contrast(per_run: pd.DataFrame, variant: dict, on, base: dict = BASE_RUNS) -> pd.DataFrame:
    """Each run of `per_run` (transient.gaps' rows) that differs from `base` by `variant`, paired with
    the base run equal to it in the columns `on`: columns *on, gap_base, gap_variant and difference
    = gap_variant - gap_base (nats; < 0: the variant leaves a smaller gap, i.e. it is nearer dense or
    further below it).

        >>> per_run = pd.DataFrame({"sparsity": 0.5, "steps": [100, 100], "seed": 0, "n_nonzero": [64, 256],
        ...                         "batch_size": 32, "prune_start": 0.25, "prune_end": 0.75, "gap": [0.10, 0.07]})
        >>> contrast(per_run, {"n_nonzero": 256}, ("sparsity", "steps", "seed"), base={"n_nonzero": 64}).round(3)
           sparsity  steps  seed  gap_base  gap_variant  difference
        0       0.5    100     0       0.1         0.07       -0.03
    """
    on = list(on)
    base_runs, variant_runs = _select(per_run, base), _select(per_run, {**base, **variant})
    if base_runs.duplicated(on).any():
        raise ValueError(f"two base runs share {on}: add the column that tells them apart")
    pairs = variant_runs[[*on, "gap"]].merge(base_runs[[*on, "gap"]], on=on, suffixes=("_variant", "_base"))
    return pairs.assign(difference=pairs["gap_variant"] - pairs["gap_base"])[
        [*on, "gap_base", "gap_variant", "difference"]].sort_values(on, ignore_index=True)


def mean_interval(differences, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high): the mean of paired differences with its Student-t interval (their spread
    over the pairs as the noise, len - 1 degrees of freedom); NaN ends for fewer than two pairs.

        >>> [round(v, 3) for v in mean_interval([-0.02, -0.04, -0.03])]
        [-0.03, -0.055, -0.005]
    """
    d = np.asarray(differences, float)
    if len(d) < 2:
        return (float(d.mean()) if len(d) else np.nan), np.nan, np.nan
    return fit_noise.t_interval(d.mean(), d.std(ddof=1) / np.sqrt(len(d)), len(d) - 1, level)


def contrast_table(per_run: pd.DataFrame, contrasts: dict = CONTRASTS, base: dict = BASE_RUNS,
                   level: float = LEVEL) -> pd.DataFrame:
    """One row per contrast of `contrasts` (name: (variant, on), see contrast): what it compares, its
    pairs and budgets, the mean difference in gap with its interval (mean_interval) and the mean
    difference per sparsity (columns 'S = 0.5', ...).

        >>> per_run = pd.DataFrame({"sparsity": [0.5, 0.5, 0.75, 0.75], "steps": 100, "seed": 0,
        ...                         "n_nonzero": [64, 256] * 2, "gap": [0.10, 0.07, 0.20, 0.15]})
        >>> table = contrast_table(per_run, {"size": ({"n_nonzero": 256}, ("sparsity", "steps", "seed"))},
        ...                        base={"n_nonzero": 64})
        >>> table[["contrast", "pairs", "budgets", "difference", "low", "high", "S = 0.5"]].round(3)
          contrast  pairs budgets  difference    low   high  S = 0.5
        0     size      2     100       -0.04 -0.167  0.087    -0.03
    """
    rows = []
    for name, (variant, on) in contrasts.items():
        pairs = contrast(per_run, variant, on, base)
        estimate, low, high = mean_interval(pairs["difference"], level)
        by_S = pairs.groupby("sparsity")["difference"].mean()
        rows.append({"contrast": name, "compares": CONTRAST_TEXT.get(name, name), "pairs": len(pairs),
                     "budgets": ", ".join(f"{v / 1e6:.1f}M tokens" if on[1] == "tokens" else f"{v:,.0f}"
                                          for v in sorted(pairs[on[1]].unique())) or "none",
                     "difference": estimate, "low": low, "high": high,
                     **{f"S = {S:g}": by_S.get(S, np.nan) for S in PILOT["sparsities"] if S > 0}})
    return pd.DataFrame(rows)


def _resolved(row) -> bool:
    return row["pairs"] >= 2 and np.isfinite(row["low"])


def contrast_claims(table: pd.DataFrame, margin: float, scope: str) -> list[Claim]:
    """The pilot's three questions about the transient, judged on contrast_table's `table` (kind
    "question"; 'not resolved' while a contrast has fewer than two pairs): does the gap depend on
    N (equivalence within `margin`, the seed noise of one gap), does pruning over the whole run
    leave a smaller gap (sign), and is the transient counted in steps rather than tokens.

        >>> table = pd.DataFrame({"contrast": list(CONTRASTS), "pairs": [6, 6, 3, 3],
        ...                       "difference": [0.004, -0.03, 0.001, -0.05], "low": [-0.01, -0.05, -0.02, -0.07],
        ...                       "high": [0.018, -0.01, 0.022, -0.03]})
        >>> [(c.key, c.verdict) for c in contrast_claims(table, margin=0.03, scope="pilot")]
        [('pilot-gap-size', 'holds'), ('pilot-window', 'holds'), ('pilot-steps-not-tokens', 'holds')]
    """
    row = table.set_index("contrast").to_dict("index")
    said = lambda r: interval_text(r["difference"], r["low"], r["high"], "+.3f", " nats") if _resolved(r) else "n/a"
    missing = lambda *names: (f"Fewer than two pairs are stored for {' and '.join(names)}: "
                              f"{', '.join(str(row[n]['pairs']) for n in names)} pair(s).")
    size, window = row["size"], row["window"]
    steps, tokens = row["batch, equal steps"], row["batch, equal tokens"]
    size_rule = (f"Holds if the {LEVEL:.0%} interval of the mean difference in gap (N = {PILOT['n_nonzero_large']:,} "
                 f"minus N = {PILOT['n_nonzero']:,}, at equal steps, sparsity and seed) lies within ± the seed noise "
                 f"of one gap, {margin:.3f} nats; does not hold if it lies outside it; not resolved otherwise.")
    size_verdict = (equivalence_verdict(size["difference"], size["low"], size["high"], margin, unit=" nats",
                                        fmt="+.3f", quantity="the mean difference in gap")
                    if _resolved(size) else ("not resolved", missing("size")))
    window_rule = (f"Holds if the {LEVEL:.0%} interval of the mean difference in gap (whole-run window minus the "
                   f"25%-75% window, at equal steps, sparsity and seed) lies below 0; does not hold if above; "
                   f"not resolved otherwise.")
    window_verdict = (direction_verdict(window["difference"], window["low"], window["high"], -1, unit=" nats",
                                        fmt="+.3f", quantity="the mean difference in gap")
                      if _resolved(window) else ("not resolved", missing("window")))
    batch_rule = (f"With a {PILOT['small_batch']}-sequence batch trained 4x the steps: holds if the {LEVEL:.0%} "
                  f"interval of its mean difference in gap from the full batch at equal steps contains 0 and the "
                  f"one at equal tokens excludes 0; does not hold (counted in tokens) if the reverse; not resolved "
                  f"otherwise.")
    if not (_resolved(steps) and _resolved(tokens)):
        batch_verdict = ("not resolved", missing("batch, equal steps", "batch, equal tokens"))
    else:
        zero_in = {name: r["low"] <= 0 <= r["high"] for name, r in (("steps", steps), ("tokens", tokens))}
        text = f"at equal steps {said(steps)}, at equal tokens {said(tokens)}"
        batch_verdict = (("holds", f"The gap matches equal steps, not equal tokens: {text}.")
                         if zero_in["steps"] and not zero_in["tokens"] else
                         ("does not hold", f"The gap matches equal tokens, not equal steps: {text}.")
                         if zero_in["tokens"] and not zero_in["steps"] else
                         ("not resolved", f"Both or neither interval contains 0: {text}."))
    numbers = lambda r: {"difference": r["difference"], "low": r["low"], "high": r["high"], "pairs": r["pairs"]}
    return [
        Claim("pilot-gap-size", "Frantar et al. 2024", f"At equal steps, the gap to dense does not depend on N: "
              f"N = {PILOT['n_nonzero_large']:,} leaves the gap of N = {PILOT['n_nonzero']:,}.", "pilot-contrasts",
              None, None, said(size), *size_verdict[:1], size_rule, size_verdict[1], numbers(size) | {"margin": margin},
              kind="question", scope=scope),
        Claim("pilot-window", "Jin et al. 2025", "Pruning over the whole run leaves a smaller gap to dense than the "
              "paper's 25%-75% window at the same budget.", "pilot-contrasts", None, None, said(window),
              window_verdict[0], window_rule, window_verdict[1], numbers(window), kind="question", scope=scope),
        Claim("pilot-steps-not-tokens", "Frantar et al. 2024", "The transient is counted in steps, not tokens: a 4x "
              "smaller batch trained 4x the steps leaves the full batch's gap at equal steps, not at equal tokens.",
              "pilot-contrasts", None, None, f"equal steps {said(steps)}; equal tokens {said(tokens)}",
              batch_verdict[0], batch_rule, batch_verdict[1],
              {"steps_" + k: v for k, v in numbers(steps).items()} | {"tokens_" + k: v for k, v in numbers(tokens).items()},
              kind="question", scope=scope, rule_after=True),
    ]


def learning_curves(records) -> pd.DataFrame:
    """One row per curve point of each run record (kit.engine.store): id, sparsity, budget (the run's
    steps), step, train_loss (the mean over the span of steps ending there; on a corpus read once,
    every batch is new, so it is a held-out loss), nnz, and the pruning window read off the non-zeros
    (window_start: the first point below the starting count; window_end: the first point at the
    final count; NaN for a dense run).

        >>> record = {"id": "a", "config": {"sparsity": 0.5, "tokens": 8192, "batch_size": 32, "seq_len": 64},
        ...           "curve": {"step": [0, 1, 2, 3], "train_loss": [3.0, 2.8, 2.9, 2.7], "nnz": [8, 6, 4, 4]}}
        >>> learning_curves([record])[["step", "nnz", "window_start", "window_end"]]
           step  nnz  window_start  window_end
        0     0    8           1.0         2.0
        1     1    6           1.0         2.0
        2     2    4           1.0         2.0
        3     3    4           1.0         2.0
    """
    frames = []
    for record in records:
        curve, config = pd.DataFrame(record["curve"]), record["config"]
        nnz = curve["nnz"].to_numpy()
        pruned = nnz < nnz[0]
        start = float(curve["step"][pruned.argmax()]) if pruned.any() else np.nan
        end = float(curve["step"][(nnz == nnz.min()).argmax()]) if pruned.any() else np.nan
        frames.append(curve.assign(id=record["id"], sparsity=config["sparsity"], window_start=start, window_end=end,
                                   budget=config["tokens"] // (config["batch_size"] * config["seq_len"])))
    return pd.concat(frames, ignore_index=True)[["id", "sparsity", "budget", "step", "train_loss", "nnz",
                                                 "window_start", "window_end"]]


def plot_learning_curves(axes, curves: pd.DataFrame):
    """Two panels for runs of one budget (learning_curves' rows, a dense run among them): (left) the
    training loss against steps per sparsity; (right) each sparse run's loss minus the dense run's
    at the same step, which shows the gap open while pruning and close after it. The pruning
    window is shaded. Returns the axes.

        >>> import matplotlib.pyplot as plt
        >>> curves = pd.DataFrame({"sparsity": [0.0] * 3 + [0.5] * 3, "step": [0, 1, 2] * 2,
        ...                        "train_loss": [3.0, 2.5, 2.2, 3.0, 2.7, 2.1], "window_start": [np.nan] * 3 + [1.0] * 3,
        ...                        "window_end": [np.nan] * 3 + [2.0] * 3})
        >>> fig, axes = plt.subplots(1, 2)
        >>> left, right = plot_learning_curves(axes, curves)
        >>> [round(float(v), 2) for v in right.lines[0].get_ydata()]
        [0.0, 0.2, -0.1]
        >>> plt.close(fig)
    """
    from kit.report import plots

    left, right = axes
    dense = curves[curves["sparsity"] == 0].set_index("step")["train_loss"]
    for S, curve in curves.groupby("sparsity", sort=True):
        colour = plots.sparsity_colour(S)
        left.plot(curve["step"], curve["train_loss"], color=colour, lw=1.2, label=f"S = {S:g}" if S > 0 else "dense")
        if S > 0:
            right.plot(curve["step"], curve["train_loss"].to_numpy() - dense.reindex(curve["step"]).to_numpy(),
                       color=colour, lw=1.2, label=f"S = {S:g}")
    window = curves[["window_start", "window_end"]].dropna()
    for ax in axes:
        if len(window):
            ax.axvspan(window["window_start"].min(), window["window_end"].max(), color="0.9", zorder=0,
                       label="pruning window")
        ax.set_xlabel("training step")
    late = curves["step"] >= 0.1 * curves["step"].max()  # the first steps' losses would squash the rest
    left.set(ylim=(curves["train_loss"].min() - 0.05, curves.loc[late, "train_loss"].max()),
             ylabel="training loss (nats)")
    gaps = np.concatenate([line.get_ydata()[late[curves["sparsity"] == S].to_numpy()]
                           for line, S in zip(right.lines, sorted(set(curves["sparsity"]) - {0.0}))] or [[0.0]])
    right.axhline(0.0, color="0.3", lw=0.8)
    right.set(ylim=(min(gaps.min(), 0.0) - 0.03, max(gaps.max(), 0.0) + 0.03), ylabel="sparse − dense training loss (nats)")
    return axes


WHOLE_RUN = (0.0, 1.0)  # the window of CONTRASTS["window"]


def grid_window(window_claim: Claim) -> tuple[float, float]:
    """The pruning window (prune_start, prune_end) grid v3 uses, from the pilot's window claim
    (contrast_claims): the whole run if it holds, else the paper's 25%-75% (BASE's).

        >>> claim = Claim("pilot-window", "Jin et al. 2025", "s", "x", None, None, None, "holds", "r", "q")
        >>> grid_window(claim), grid_window(dataclasses.replace(claim, verdict="not resolved"))
        ((0.0, 1.0), (0.25, 0.75))
    """
    return WHOLE_RUN if window_claim.verdict == "holds" else (BASE.prune_start, BASE.prune_end)


def next_window(window_claim: Claim) -> str:
    """grid_window's choice, and why, in words.

        >>> claim = Claim("pilot-window", "Jin et al. 2025", "s", "x", None, None, None, "holds", "r", "q")
        >>> next_window(claim)
        'pruning over the whole run (prune_start 0, prune_end 1): it left the smaller gap at equal budgets'
    """
    if grid_window(window_claim) == WHOLE_RUN:
        return "pruning over the whole run (prune_start 0, prune_end 1): it left the smaller gap at equal budgets"
    why = ("it left the smaller gap at equal budgets" if window_claim.verdict == "does not hold" else
           "the pilot cannot tell the two windows apart, and it is the window Frantar et al. use")
    return f"the paper's 25%-75% window: {why}"


def sign_text(per_run: pd.DataFrame) -> str:
    """The base runs' mean gap per sparsity at the smallest budget and at the largest budget stored
    at every sparsity, in a sentence (per_run: base_runs of transient.gaps' rows).

        >>> per_run = pd.DataFrame({"sparsity": [0.5, 0.5, 0.75, 0.75], "steps": [100, 200] * 2,
        ...                         "gap": [-0.10, -0.15, -0.09, -0.23]})
        >>> sign_text(per_run)
        'sparse minus dense at equal N is -0.100 / -0.090 nats at S = 0.5 / 0.75 after 100 steps, and -0.150 / -0.230 after 200'
    """
    if not len(per_run):
        return "no pilot gap is stored yet"
    means = per_run.groupby(["steps", "sparsity"])["gap"].mean().unstack()
    complete = means.dropna()
    first, last = means.index.min(), (complete.index.max() if len(complete) else means.index.max())
    row = lambda n: " / ".join(f"{v:+.3f}" for v in means.loc[n].dropna())
    names = " / ".join(f"{S:g}" for S in means.loc[first].dropna().index)
    return (f"sparse minus dense at equal N is {row(first)} nats at S = {names} after {first:,.0f} steps, "
            f"and {row(last)} after {last:,.0f}")


def contrast_rows(table: pd.DataFrame) -> pd.DataFrame:
    """contrast_table as the chapter prints it: the mean difference with its interval as text ('n/a'
    below two pairs), without the short names and the interval's ends.

        >>> table = pd.DataFrame({"contrast": ["size"], "compares": ["N"], "pairs": [2], "budgets": ["100"],
        ...                       "difference": [-0.04], "low": [-0.167], "high": [0.087], "S = 0.5": [-0.03]})
        >>> contrast_rows(table)["difference"].tolist()
        ['-0.040 [-0.167, +0.087]']
    """
    said = [interval_text(r.difference, r.low, r.high, "+.3f") if r.pairs >= 2 else "n/a" for r in table.itertuples()]
    return table.assign(difference=said).drop(columns=["contrast", "low", "high"])


ROW_FORMATS = {f"S = {S:g}": "{:+.3f}" for S in PILOT["sparsities"] if S > 0}  # contrast_rows', for markdown_table


def steps_text(frame: pd.DataFrame) -> str:
    """The range of budgets in `frame` (a 'steps' column), for a claim's scope.

        >>> steps_text(pd.DataFrame({"steps": [1172, 4688, 18752]})), steps_text(pd.DataFrame({"steps": []}))
        ('1,172-18,752 steps', 'no runs stored')
    """
    return f"{frame['steps'].min():,.0f}-{frame['steps'].max():,.0f} steps" if len(frame) else "no runs stored"


def _curve_budget(study: PilotStudy) -> tuple[pd.DataFrame, int | None]:
    """The pilot's base runs (store frame) and the longest budget stored at every sparsity."""
    base = base_runs(study.runs) if len(study.runs) else study.runs
    return base, (longest_complete(base) if len(base) else None)


def texts(study: PilotStudy, prune_end: float = BASE.prune_end) -> dict:
    """The chapter's glued texts on the pilot (prefix 'tr_'): its base budgets, seed noise and
    threshold, the sign of its gaps, the longest budget stored at every sparsity and the steps
    after pruning there, and x* counted in steps after pruning ends.

        >>> from kit.engine.store import RunStore
        >>> t = texts(read_pilot(RunStore(), n_boot=20))
        >>> sorted(t)
        ['tr_after_text', 'tr_curve_after', 'tr_curve_budget', 'tr_pilot_budgets', 'tr_pilot_noise', 'tr_pilot_sign']
    """
    base, budget = _curve_budget(study)
    return {
        "tr_pilot_budgets": transient.budgets_text(base.itertuples()) if len(base) else "none",
        "tr_pilot_noise": noise_text(study.noise) + f"; so ε = {study.eps:.3f} nats",
        "tr_pilot_sign": sign_text(study.gaps),
        "tr_curve_budget": f"{budget:,}" if budget else "none",
        "tr_curve_after": f"{round(budget * (1 - prune_end)):,}" if budget else "none",
        "tr_after_text": "; ".join(f"{transient.budget_text(r.x_star * (1 - prune_end))} steps after pruning at "
                                   f"S = {r.sparsity:g}" for r in study.fits.itertuples()) or "not fitted yet",
    }


def curve_records(store, study: PilotStudy) -> list[dict]:
    """The records of the seed-0 base runs at the longest budget stored at every sparsity (for
    learning_curves); empty if there is none.

        >>> from kit.engine.store import RunStore
        >>> store = RunStore()
        >>> sorted({r["config"]["sparsity"] for r in curve_records(store, read_pilot(store, n_boot=20))})
        [0.0, 0.5, 0.75, 0.875]
    """
    base, budget = _curve_budget(study)
    if budget is None:
        return []
    return [store.get(i) for i in base[(base["steps"] == budget) & (base["seed"] == 0)]["id"]]


def claims(study: PilotStudy, contrasts: pd.DataFrame) -> list[Claim]:
    """The pilot's four claims: its runs reach the regime (transient.in_regime_claim, each sparsity
    judged at its own largest budget, at the threshold study.eps), then contrast_claims on
    `contrasts` (contrast_table of study.gaps_all) with study.eps as the margin.

        >>> from kit.engine.store import RunStore
        >>> study = read_pilot(RunStore(), n_boot=20)
        >>> [c.key for c in claims(study, contrast_table(study.gaps_all))]
        ['transient-pilot-in-regime', 'pilot-gap-size', 'pilot-window', 'pilot-steps-not-tokens']
    """
    in_regime = transient.in_regime_claim(
        "transient-pilot-in-regime", f"The pilot's longest runs (N = {PILOT['n_nonzero']:,}, up to "
        f"{max(PILOT_STEPS):,} steps) reach the regime: their gap to dense has stopped closing.", "transient-pilot",
        study.fits, None, [S for S in PILOT["sparsities"] if S > 0], study.eps,
        scope=f"pilot: N {PILOT['n_nonzero']:,}, pycode, {steps_text(study.gaps)}")
    scope = (f"pilot: N {PILOT['n_nonzero']:,} and {PILOT['n_nonzero_large']:,}, pycode, "
             f"{steps_text(study.gaps_all)}")
    return [in_regime, *contrast_claims(contrasts, study.eps, scope)]


def claim_texts(pilot_claims: list[Claim], fits: pd.DataFrame, runs: pd.DataFrame | None = None) -> dict:
    """The chapter's glued texts on claims' four claims (prefix 'tr_'): the in-regime verdict in a
    sentence and in the key findings, each contrast's rule and verdict, the next grid's window, and
    grid v3 as the pilot's `fits` (transient.fit_curves) and that window size it (grid_v3_text, with
    the cost at the rates the pilot's `runs` recorded where given).

        >>> from kit.engine.store import RunStore
        >>> study = read_pilot(RunStore(), n_boot=20)
        >>> t = claim_texts(claims(study, contrast_table(study.gaps_all)), study.fits)
        >>> t["tr_size_verdict"] in ("holds", "does not hold", "not resolved"), t["tr_next_window"][:11]
        (True, "the paper's")
    """
    from kit.report.claims import verb

    in_regime, *contrasts = pilot_claims
    out = {"tr_pilot_verdict_text": f"The pilot's claim {verb(in_regime.verdict)}: {in_regime.reason}",
           "tr_pilot_summary": f"the claim that its longest runs reach the regime {verb(in_regime.verdict)}: "
                               f"{in_regime.reason}",
           "tr_next_window": next_window(contrasts[1]),
           "tr_grid_v3": grid_v3_text(fits, grid_window(contrasts[1]), recorded=runs), "tr_grid_v3_sizing": sizing_text(fits)}
    for name, claim in zip(["size", "window", "batch"], contrasts):
        out[f"tr_{name}_rule"] = claim.rule
        out[f"tr_{name}_verdict"], out[f"tr_{name}_reason"] = claim.verdict, claim.reason
    return out


def gaps_markdown(study: PilotStudy) -> str:
    """The base runs' mean gap per sparsity and budget (transient.gap_curves) as a markdown table
    named for a reader, or a line saying none is stored: what the chapter shows while no transient
    can be fitted yet.

        >>> from kit.engine.store import RunStore
        >>> gaps_markdown(read_pilot(RunStore(), n_boot=20)).splitlines()[0]
        '| S | steps | gap (nats) | sem | runs |'
    """
    from kit.report.results import markdown_table

    if not len(study.gaps):
        return "*No pilot budget is stored yet.*"
    table = transient.gap_curves(study.gaps).rename(columns={"sparsity": "S", "gap": "gap (nats)"})
    return markdown_table(table, {"S": "{:g}", "steps": "{:,.0f}", "gap (nats)": "{:+.3f}", "sem": "{:.3f}"})


STEP_UNIT = 293  # grid v2's budgets are multiples of 293 steps (600,064 tokens): a budget off the pilot's ladder is one too


def regime_budget(fits: pd.DataFrame, sparsities=None, budgets=PILOT_STEPS, capacity_steps: float = np.inf,
                  doublings: int = GRID_V3["doublings"]) -> int | None:
    """Grid v3's smallest budget in steps: the smallest of the pilot's `budgets` at or beyond the
    upper end of every sparsity's interval of x* (transient.fit_curves' table), so that the grid
    reuses the pilot's runs; where doubling that budget `doublings` times would read more than the
    corpus holds once (`capacity_steps`, data.capacity in steps), the upper end itself rounded up to
    a multiple of STEP_UNIT steps, if doubling that fits. None while a sparsity of `sparsities`
    (default: the pilot's pruned ones) has no fit or an interval that ends beyond every budget, or
    when no budget in regime fits the corpus.

        >>> fits = pd.DataFrame({"sparsity": [0.5, 0.75, 0.875], "x_star_high": [4274.0, 5734.0, 8503.0]})
        >>> regime_budget(fits), regime_budget(fits.iloc[:2]), regime_budget(fits.assign(x_star_high=1e6))
        (9376, None, None)
        >>> regime_budget(fits, capacity_steps=36_000), regime_budget(fits, capacity_steps=30_000)  # 8,503 -> 8,790
        (8790, None)
    """
    wanted = [S for S in PILOT["sparsities"] if S > 0] if sparsities is None else list(sparsities)
    if not all(np.isclose(fits["sparsity"], S).any() for S in wanted):
        return None
    needed = float(fits[[np.isclose(wanted, S).any() for S in fits["sparsity"]]]["x_star_high"].max())
    if not needed <= max(budgets):
        return None
    fits_corpus = lambda n: n * 2**doublings <= capacity_steps
    on_ladder = next((int(n) for n in sorted(budgets) if n >= needed and fits_corpus(n)), None)
    if on_ladder is not None:
        return on_ladder
    rounded = int(STEP_UNIT * np.ceil(needed / STEP_UNIT))
    return rounded if fits_corpus(rounded) else None


def capacity_steps(corpus_name: str = CORPUS_V3, config=BASE) -> int:
    """Steps of config's batch that corpus `corpus_name` holds, each token read once (data.capacity).

        >>> capacity_steps("shakespeare")  # 4,857,920 tokens / 2,048 per step
        2372
    """
    from kit.engine import data

    return data.capacity(data.load_corpus(corpus_name), config.seq_len) // config.tokens_per_step


def machine_hours(configs, table: dict) -> float:
    """Hours of the whole machine to train `configs` (RunConfigs) by `table` (kit.engine.throughput's
    layout: kit.engine.throughput.machine_seconds).

        >>> table = {"rows": [{"d_model": 16, "lanes": {"2": 2.0}}]}  # 2 steps/s at every width
        >>> machine_hours([BASE.replace(n_nonzero=13_824, tokens=7_200 * BASE.tokens_per_step)], table)
        1.0
    """
    from kit.engine import model, throughput

    return throughput.machine_seconds([(model.shape_for(c).d_model, c.steps) for c in configs], table) / 3600


def grid_v3_text(fits: pd.DataFrame, window=(BASE.prune_start, BASE.prune_end), table: dict | None = None,
                 capacity: int | None = None, recorded: pd.DataFrame | None = None) -> str:
    """Grid v3 as the pilot sizes it (regime_budget, kit.engine.grids.grid_v3_parts) in a sentence:
    its budgets, sizes, runs and the machine time they take by the throughput table `table`
    (default: the measured one, kit.engine.throughput.load_table); `capacity`: the steps pycode
    holds read once (default capacity_steps()); `recorded`: finished runs (the pilot's, read_pilot's
    runs) whose loop times give a second estimate (kit.engine.throughput.recorded_table).

        >>> fits = pd.DataFrame({"sparsity": [0.5, 0.75, 0.875], "x_star_high": [4274.0, 5734.0, 8503.0]})
        >>> grid_v3_text(fits)
        'has budgets of 9,376, 18,752 and 37,504 steps (19M to 77M tokens), N = 3,456, 13,824 and 55,296 at
        every sparsity: 45 runs (36 in the grid, 8 seeds, 1 held out), about ... hours of this machine by its
        throughput table'
    """
    from kit.engine import grids, throughput

    smallest = regime_budget(fits, capacity_steps=capacity_steps() if capacity is None else capacity)
    if smallest is None:
        return ("cannot be sized yet: some sparsity's interval of x* is not fitted, or no budget at or beyond it "
                "doubles twice within what pycode holds read once")
    parts = grids.grid_v3_parts(smallest, window)
    configs = grids.grid_v3(smallest, window)
    table = throughput.load_table() if table is None else table
    hours = machine_hours(configs, table)
    budgets = sorted({c.steps for c in parts["grid"]})
    sizes = sorted({c.n_nonzero for c in parts["grid"]})
    listed = lambda xs: ", ".join(f"{x:,}" for x in xs[:-1]) + f" and {xs[-1]:,}"
    return (f"has budgets of {listed(budgets)} steps ({budgets[0] * BASE.tokens_per_step / 1e6:.0f}M to "
            f"{budgets[-1] * BASE.tokens_per_step / 1e6:.0f}M tokens), N = {listed(sizes)} at every sparsity: "
            f"{len(configs)} runs ({len(parts['grid'])} in the grid, {len(parts['seeds'])} seeds, "
            f"{len(parts['held_out'])} held out), about {hours:.0f} hours of this machine by its throughput table"
            + ("" if recorded is None or not len(recorded) else
               f", {machine_hours(configs, throughput.recorded_table(recorded)):.0f} at the rates the pilot's runs "
               f"recorded, two at a time"))


def sizing_text(fits: pd.DataFrame, capacity: int | None = None) -> str:
    """Which branch of regime_budget sized grid v3, in a sentence: the pilot's ladder (its runs
    reused) or, where the ladder's budget doubled twice would not fit `capacity` (the steps pycode
    holds read once; default capacity_steps()), the upper end of x*'s interval itself.

        >>> fits = pd.DataFrame({"sparsity": [0.5, 0.75, 0.875], "x_star_high": [4274.0, 5734.0, 8503.0]})
        >>> sizing_text(fits, capacity=40_000)[:60]
        "9,376 steps is one of the pilot's budgets, so grid v3 reuses"
        >>> sizing_text(fits, capacity=36_000)[:71]
        'The pilot budget at or beyond every interval, 9,376 steps, would need 3'
    """
    capacity = capacity_steps() if capacity is None else capacity
    smallest, ladder = regime_budget(fits, capacity_steps=capacity), regime_budget(fits)
    if smallest is None:
        return "No budget is chosen yet."
    top = smallest * 2 ** GRID_V3["doublings"]
    if smallest == ladder:
        return (f"{smallest:,} steps is one of the pilot's budgets, so grid v3 reuses the pilot's runs at its sizes "
                f"and budgets; its largest budget, {top:,} steps, reads {top / capacity:.0%} of pycode once.")
    return (f"The pilot budget at or beyond every interval, {ladder:,} steps, would need "
            f"{ladder * 2 ** GRID_V3['doublings']:,} steps at the top, more than pycode holds read once "
            f"({capacity:,} steps), so grid v3 starts at the upper end of the intervals rounded up to a multiple "
            f"of {STEP_UNIT} steps, {smallest:,}, and reuses none of the pilot's runs; this branch of the rule was "
            f"added after the pilot's fits were seen (†).")


def grid_v3_sizing(store) -> tuple[int, tuple[float, float]] | None:
    """Grid v3's smallest budget (regime_budget) and pruning window (grid_window of the window
    claim) as the pilot stored in `store` sets them; None while the pilot does not size it yet.

        >>> from kit.engine.store import RunStore
        >>> sizing = grid_v3_sizing(RunStore())
        >>> sizing is None or sizing[0] * 2 ** GRID_V3["doublings"] <= capacity_steps()
        True
    """
    study = read_pilot(store)
    smallest = regime_budget(study.fits, capacity_steps=capacity_steps())
    if smallest is None:
        return None
    return smallest, grid_window(claims(study, contrast_table(study.gaps_all))[2])


def v3_records(store, configs) -> list:
    """The record `store` holds of each of `configs` on grid v3's corpus (CORPUS_V3), or None where
    it holds none, in the configs' order.

        >>> from kit.engine.store import RunStore
        >>> records = v3_records(RunStore(), pilot_grid()[:2])
        >>> [r["status"] for r in records]
        ['ok', 'ok']
    """
    from kit.engine import data

    fingerprint = data.load_corpus(CORPUS_V3).fingerprint
    ids = [store.run_id(c, fingerprint) for c in configs]
    return [store.get(i) if store.has(i) else None for i in ids]


def grid_v3_configs(store) -> list | None:
    """Grid v3 as the pilot stored in `store` sizes it (grid_v3_sizing); None while it does not.

        >>> from kit.engine.store import RunStore
        >>> configs = grid_v3_configs(RunStore())
        >>> configs is None or len(configs) == 45
        True
    """
    from kit.engine import grids

    sizing = grid_v3_sizing(store)
    return None if sizing is None else grids.grid_v3(*sizing)


def grid_v3_gaps(store, eps: float) -> tuple[pd.DataFrame | None, dict]:
    """Grid v3's own gaps as stored in `store`: transient.gaps of its stored main-grid runs (seed 0),
    per requested N and sparsity the gap at each of its budgets ("·" where a run of the pair is not
    stored yet); and texts: the pairs stored, and how many changes of a gap from one budget to the
    next are smaller than `eps` (the pilot's threshold, one gap's seed noise), with the largest. The
    pilot sized grid v3 so that its gaps no longer move from its smallest budget on; this reads
    whether they do. None (and texts saying why) while the pilot does not size grid v3.

        >>> from kit.engine.store import RunStore
        >>> table, texts = grid_v3_gaps(RunStore(), eps=0.012)
        >>> table.shape, texts["v3_gap_eps"]
        ((3, 3), '0.012')
    """
    from kit.chapters import corelaw
    from kit.engine import grids

    keys = ["v3_gap_pairs", "v3_gap_changes", "v3_gap_largest", "v3_gap_eps"]
    sizing = grid_v3_sizing(store)
    if sizing is None:
        return None, dict.fromkeys(keys, "– (no pilot stored)")
    configs = grids.grid_v3_parts(*sizing)["grid"]
    main = corelaw.our_runs_v3(store.root, train=False).main
    found = transient.gaps(main) if len(main) else pd.DataFrame(columns=["n_nonzero", "sparsity", "steps", "gap"])
    gap = found.set_index(["n_nonzero", "sparsity", "steps"]).gap
    budgets = sorted({c.steps for c in configs})
    sizes, sparsities = sorted({c.n_nonzero for c in configs}), sorted({c.sparsity for c in configs if c.sparsity > 0})
    cells = {f"S = {S:g}": {f"{n:,}": " / ".join(f"{gap[(n, S, b)]:+.3f}" if (n, S, b) in gap.index else "·" for b in budgets)
                           for n in sizes} for S in sparsities}
    changes = [(abs(gap[(n, S, b)] - gap[(n, S, a)]), n, S, a, b) for n in sizes for S in sparsities
               for a, b in zip(budgets, budgets[1:]) if (n, S, a) in gap.index and (n, S, b) in gap.index]
    largest = max(changes, default=None)
    texts = {"v3_gap_pairs": f"{len(gap)} of {len(sizes) * len(sparsities) * len(budgets)}",
             "v3_gap_changes": f"{sum(c[0] < eps for c in changes)} of {len(changes)}",
             "v3_gap_largest": "–" if largest is None else (f"{largest[0]:.3f} nats, at N = {largest[1]:,}, S = {largest[2]:g} "
                                                           f"from {largest[3]:,} to {largest[4]:,} steps"),
             "v3_gap_eps": f"{eps:.2g}"}
    return pd.DataFrame(cells).rename_axis("requested N"), texts
