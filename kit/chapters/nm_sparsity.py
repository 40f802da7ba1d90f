"""n:m sparsity (Frantar et al. 2024, Section 4.1): whether gradual n:m pruning (Algorithm 1) ended
in exact patterns, how each n:m run compares with its unstructured twin, and Table 3's dense size
multipliers from a law whose sparsity term alone is refitted to the n:m runs.

Frames are kit.engine.store.law_frame's: one row per run with its config fields (nm as a tuple (n, m) or
None), its metrics (nm_violations, layer_sparsity) and the laws' inputs S, N, D, loss.

    check = nm_sparsity.masks(nm_runs)                      # exact n:m in every kernel?
    pairs = nm_sparsity.twins(main_runs, nm_runs)           # log-loss gap to the unstructured twin
    term = nm_sparsity.fit_sparsity_term(group, unstructured.params)   # a_S, b_S, c_S only
    gains = nm_sparsity.gain(term.params, 0.5)                         # Eq. 7

Chapter 4 (book/chapters/04_nm_sparsity.ipynb) calls the rest, section by section:
`check_patterns` (its parameters), `masks_claim`; `versus_dense`, `budget_table`, `law_words` (the
unstructured law); `fit_groups`, `term_table`, `group_words` (the n:m laws), `table3`;
`twin_intervals` and `twin_figure` (each pattern minus its twin, with the seed noise of a run);
`gap_summary`, `findings_claims` (MARGIN; rules set after the run table was seen), `finding_words`,
`gap_words`, `step_shares`.
"""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pandas as pd
from scipy import stats

from kit import laws
from kit.chapters import corelaw
from kit.fit import fitting, lawfit, noise
from kit.report import claims, plots
from kit.report.claims import Claim

SPARSITY_TERM = ("a_S", "b_S", "c_S")  # what an n:m fit refits (Appendix C)
DENSE_TERMS = ("b_N", "a_D", "b_D", "c")  # held at the unstructured fit's values
# Section 4.1: "Huber delta = 0.01 as 0.75 patterns will otherwise be treated as an outlier"; the
# Huber loss of log L as in the unstructured T5 fit (Section 3.2), whose delta it replaces.
FIT = dict(log_loss=True, delta=1e-2)
TWIN_KEYS = ("n_nonzero", "tokens", "sparsity", "seed")  # an n:m run and its unstructured twin share these


def label(nm) -> str:
    """'2:4' for the pattern (2, 4); 'unstructured' for None.

        >>> label((2, 4)), label(None)
        ('2:4', 'unstructured')
    """
    if nm is None or (isinstance(nm, float) and np.isnan(nm)):
        return "unstructured"
    n, m = nm
    return f"{int(n)}:{int(m)}"


def _backbone(layer_sparsity: dict) -> dict:
    """The pruned kernels counted in N (the tied embedding, 'embed/...', left out)."""
    return {name: s for name, s in layer_sparsity.items() if not name.startswith("embed")}


def masks(runs: pd.DataFrame) -> pd.DataFrame:
    """Per n:m pattern of `runs` (index 'pattern', '2:4', in order of appearance): runs; kernels, the
    pruned backbone kernels of all its runs; violations, groups of m consecutive input weights with
    more than n non-zeros (the records' nm_violations, counted by kit.engine.pruning.nm_violations on the
    final weights); target, 1 - n/m; min_sparsity and max_sparsity, the fewest and most zeros of any
    kernel (as fractions); exact: no violation and every kernel at exactly the target.

        >>> kernels = {"block_0/mlp/up/kernel": 0.5, "block_0/mlp/down/kernel": 0.5, "embed/embedding": 0.3}
        >>> nm_runs = pd.DataFrame({"nm": [(2, 4), (2, 4)], "nm_violations": 0, "layer_sparsity": [kernels, kernels]})
        >>> masks(nm_runs)
                 runs  kernels  violations  target  min_sparsity  max_sparsity  exact
        pattern
        2:4         2        4           0     0.5           0.5           0.5   True
    """
    missing = [c for c in ("nm", "nm_violations", "layer_sparsity") if c not in runs.columns]
    if missing:
        raise ValueError(f"runs lack columns {missing}: pass kit.engine.store.law_frame of the n:m runs")
    if runs.nm.isna().any():
        raise ValueError(f"{int(runs.nm.isna().sum())} of the runs are not n:m runs (nm is None)")
    rows = []
    for nm, at in runs.groupby(runs.nm.map(tuple), sort=False):
        n, m = nm
        kernels = np.array([s for report in at.layer_sparsity for s in _backbone(report).values()])
        target = 1 - n / m
        violations = int(at.nm_violations.sum())
        rows.append({"pattern": label(nm), "runs": len(at), "kernels": len(kernels), "violations": violations,
                     "target": target, "min_sparsity": kernels.min(), "max_sparsity": kernels.max(),
                     "exact": violations == 0 and bool(np.all(np.abs(kernels - target) < 1e-9))})
    return pd.DataFrame(rows).set_index("pattern")


def twins(main: pd.DataFrame, nm_runs: pd.DataFrame) -> pd.DataFrame:
    """Each n:m run beside its unstructured twin, the run of `main` with the same n_nonzero, tokens,
    sparsity and seed (so the same width and the same non-zero count N). One row per n:m run:
    pattern, m, n_nonzero, tokens, S, N, D, loss, twin_N, twin_loss and gap = log(loss / twin_loss)
    (> 0: the pattern ends at a higher loss than unstructured pruning). ValueError names any n:m
    run without a twin.

        >>> main = pd.DataFrame({"n_nonzero": 100, "tokens": [10, 10, 20, 20], "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.7, 2.6]})  # unstructured runs
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.9, 2.85, 2.71, 2.66])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> twins(main, nm_runs)[["pattern", "tokens", "loss", "twin_loss", "gap"]].round(4)
          pattern  tokens  loss  twin_loss     gap
        0     2:4      10  2.90        2.9  0.0000
        1     1:4      10  2.85        2.8  0.0177
        2     2:4      20  2.71        2.7  0.0037
        3     1:4      20  2.66        2.6  0.0228
    """
    keys = list(TWIN_KEYS)
    unstructured = main[main.nm.isna()].drop_duplicates(keys).set_index(keys)
    at = pd.MultiIndex.from_frame(nm_runs[keys])
    lacking = [tuple(k) for k in at if k not in unstructured.index]
    if lacking:
        raise ValueError(f"n:m runs at {lacking[:3]} ({', '.join(keys)}) have no unstructured twin in the main runs: "
                         f"the main grid must hold every n:m point at the pattern's sparsity")
    twin = unstructured.loc[at]
    out = pd.DataFrame({"pattern": nm_runs.nm.map(label).to_numpy(), "m": [m for _, m in nm_runs.nm],
                        **{k: nm_runs[k].to_numpy() for k in ("n_nonzero", "tokens", "S", "N", "D", "loss")},
                        "twin_N": twin.N.to_numpy(), "twin_loss": twin.loss.to_numpy()})
    out["gap"] = np.log(out.loss / out.twin_loss)
    return out


def gap_summary(pairs: pd.DataFrame, level=0.95) -> pd.DataFrame:
    """Per pattern (in order of appearance), how much higher its runs end than their unstructured
    twins (twins' output), in percent of the twin's loss, 100 (exp(gap) - 1): points, mean with a
    Student-t `level` interval over the points (each point one paired difference; NaN for a single
    point), least and most.

        >>> pairs = pd.DataFrame({"pattern": ["2:4"] * 3 + ["1:4"], "gap": [0.01, 0.02, 0.03, 0.05]})
        >>> gap_summary(pairs).round(2)
                 points  mean   low  high  least  most
        pattern
        2:4           3  2.02 -0.48  4.59   1.01  3.05
        1:4           1  5.13   NaN   NaN   5.13  5.13
    """
    rows = {}
    for pattern, gap in pairs.groupby("pattern", sort=False).gap:
        n, mean = len(gap), gap.mean()
        half = stats.t.ppf((1 + level) / 2, n - 1) * gap.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        rows[pattern] = {"points": n, "mean": mean, "low": mean - half, "high": mean + half, "least": gap.min(),
                         "most": gap.max()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table[["mean", "low", "high", "least", "most"]] = 100 * np.expm1(table[["mean", "low", "high", "least", "most"]])
    table.index.name = "pattern"
    return table


def step_shares(pairs: pd.DataFrame) -> pd.DataFrame:
    """How much of unstructured pruning's step from 50% to 75% sparsity each n:m group keeps, run by
    run: for every pair of patterns with the same m at sparsities 0.5 and 0.75 (2:4 and 1:4, 4:8
    and 2:8), at the points where both ran, the mean over points of log L(75% pattern) -
    log L(50% pattern) (pattern_step, < 0: the sparser pattern is better) and of the same difference
    of their unstructured twins (unstructured_step), and share = pattern_step / unstructured_step
    (1: the pattern keeps the whole unstructured step; 0: none of it). pairs: twins' output.

        >>> pairs = pd.DataFrame({"pattern": ["2:4", "1:4"] * 2, "m": 4, "n_nonzero": [100, 100, 200, 200],
        ...                       "tokens": 10, "S": [0.5, 0.75] * 2, "loss": np.exp([1.0, 0.99, 0.9, 0.89]),
        ...                       "twin_loss": np.exp([1.0, 0.96, 0.9, 0.86])})  # 2:4 -> 1:4 keeps 1/4 of the step
        >>> step_shares(pairs).round(3)
              from   to  points  pattern_step  unstructured_step  share
        group
        n:4    2:4  1:4       2         -0.01              -0.04   0.25
    """
    rows = []
    for m, group in pairs.groupby("m"):
        half, quarter = group[np.isclose(group.S, 0.5)], group[np.isclose(group.S, 0.75)]
        if half.empty or quarter.empty:
            continue
        both = half.merge(quarter, on=["n_nonzero", "tokens"], suffixes=("_50", "_75"))
        if both.empty:
            continue
        pattern = np.log(both.loss_75 / both.loss_50).mean()
        unstructured = np.log(both.twin_loss_75 / both.twin_loss_50).mean()
        rows.append({"group": f"n:{m}", "from": both.pattern_50.iloc[0], "to": both.pattern_75.iloc[0],
                     "points": len(both), "pattern_step": pattern, "unstructured_step": unstructured,
                     "share": pattern / unstructured})
    return pd.DataFrame(rows).set_index("group") if rows else pd.DataFrame(
        columns=["from", "to", "points", "pattern_step", "unstructured_step", "share"])


def fit_sparsity_term(runs: pd.DataFrame, base: dict, *, starts=16, seed=0, **settings) -> fitting.FitResult:
    """Eq. 1 with only a_S, b_S, c_S fitted to `runs` (columns S, N, D, loss) and b_N, a_D, b_D, c
    held at `base` (e.g. the unstructured fit's params): Frantar et al.'s n:m fit, "we only refit
    the sparsity coefficients a_S, b_S and c_S, preserving the other values from the corresponding
    unstructured results" (Appendix C). settings: log_loss, delta (default FIT).

        >>> true = {**laws.TABLE7["t5"], **laws.TABLE7["t5_nm"]}  # Table 7's T5 law with its n:m sparsity term
        >>> S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **true)})
        >>> fit = fit_sparsity_term(runs, laws.TABLE7["t5"])  # b_N, a_D, b_D, c: Table 7's unstructured T5 row
        >>> round(gain(fit.params, 0.5), 2), round(gain(fit.params, 0.75), 2)  # Table 3's n:8 gains
        (1.67, 1.81)
    """
    fixed = {k: base[k] for k in DENSE_TERMS}
    return fitting.fit(laws.sparse_law, runs, runs.loss, list(SPARSITY_TERM), fixed=fixed, starts=starts, seed=seed,
                       **{**FIT, **settings})


def gain(params: dict, S) -> float:
    """Eq. 7, the dense size multiplier of sparsity S under a fit's params (kit.laws.gain).

        >>> round(gain(laws.TABLE7["t5"], 0.5), 3)  # Table 2's 1.59x for T5
        1.587
    """
    return float(laws.gain(S, params["a_S"], params["b_S"], params["c_S"], params["b_N"]))



# ----------------------------------------------------------------------------- chapter 4

PAPER = "Frantar et al. 2024"
LEVEL = 0.95  # coverage of chapter 4's intervals
SEED = 0  # seeds the random starts and the resampling
U = "unstructured"
GAIN_S = (0.5, 0.75)  # the sparsities of Table 3
PAPER_GAINS = {"n:4": {0.5: 1.56, 0.75: 1.62}, "n:8": {0.5: 1.67, 0.75: 1.81},  # Table 3
               U: {0.5: 1.59, 0.75: 2.16}}  # Table 2, T5/C4
MARGIN = 1.0  # percent of the loss: a 50% pattern "performs like" unstructured 50% within this


def masks_claim(masks_table: pd.DataFrame) -> Claim:
    """Gradual n:m pruning ends in exact patterns (masks' table): holds if no group of any run
    holds more than n non-zeros and every kernel ends at exactly 1 - n/m; does not hold otherwise.

        >>> kernels = {"block_0/mlp/up/kernel": 0.5, "block_0/mlp/down/kernel": 0.5, "embed/embedding": 0.3}
        >>> nm_runs = pd.DataFrame({"nm": [(2, 4), (2, 4)], "nm_violations": 0, "layer_sparsity": [kernels, kernels]})
        >>> masks_claim(masks(nm_runs)).verdict
        'holds'
    """
    violations, kernels, runs = (int(masks_table[c].sum()) for c in ("violations", "kernels", "runs"))
    exact = bool(masks_table.exact.all())
    return Claim(
        "nm-exact-masks", PAPER,
        "Gradual n:m pruning (Algorithm 1) ends with exactly n non-zeros in every group of m consecutive weights.",
        "ch4-exact-masks", "exact by construction", None, f"{violations} violating groups in {kernels} kernels",
        "holds" if exact else "does not hold",
        "Holds if no group of m consecutive input weights of any n:m run's final backbone holds more than n "
        "non-zeros and every kernel ends at sparsity exactly 1 − n/m; does not hold otherwise.",
        f"{violations} groups with more than n non-zeros over {runs} runs and {kernels} kernels; kernel sparsities "
        f"{masks_table.min_sparsity.min():.4f} to {masks_table.max_sparsity.max():.4f}; patterns not exact: "
        f"{', '.join(masks_table.index[~masks_table.exact]) or 'none'}.",
        {"violations": violations, "runs": runs, "kernels": kernels, "patterns_exact": float(masks_table.exact.sum()),
         "patterns": float(len(masks_table))}, kind="implementation")


def versus_dense(main_runs: pd.DataFrame) -> pd.DataFrame:
    """Each sparse run of the main grid against the dense run of the same n_nonzero and tokens:
    its rows with diff, 100 (loss / dense loss - 1) (> 0: the sparse run ends higher).

        >>> main_runs = pd.DataFrame({"n_nonzero": 100, "tokens": 10, "sparsity": [0.0, 0.5, 0.75],
        ...                           "loss": [3.0, 2.97, 3.03]})
        >>> versus_dense(main_runs)[["sparsity", "loss", "diff"]].round(2)
           sparsity  loss  diff
        1      0.50  2.97  -1.0
        2      0.75  3.03   1.0
    """
    dense_loss = main_runs[main_runs.sparsity == 0].set_index(["n_nonzero", "tokens"]).loss
    sparse = main_runs[main_runs.sparsity > 0]
    at = dense_loss.loc[list(zip(sparse.n_nonzero, sparse.tokens))].to_numpy()
    return sparse.assign(diff=100 * (sparse.loss.to_numpy() / at - 1))


def rms(fit: fitting.FitResult) -> float:
    """The rms residual of a fit (of log L for the Huber fits of log L).

        >>> from kit.fit.fitting import FitResult
        >>> round(rms(FitResult({}, objective=0.0, residuals=np.array([0.01, -0.01]), n_starts=1, converged=True)), 4)
        0.01
    """
    return float(np.sqrt(np.mean(fit.residuals ** 2)))


def fit_groups(main_runs: pd.DataFrame, nm_runs: pd.DataFrame, base: dict, points, *, starts=16, seed=SEED,
               noise: dict | None = None) -> dict:
    """One law per group size m, as in Table 3 (fit_sparsity_term on top of base, the unstructured
    fit's params): the n:m runs of that m together with the main grid's dense runs at the n:m
    `points` ((n_nonzero, tokens) pairs), which anchor f(0) = a_S + c_S. nm_runs need a column m.
    `noise`: {S: {D: seed std}} (kit.fit.lawfit.sparsity_noise), each run's residual then taken over
    its own (kit.fit.lawfit.run_noise); None: equal noise. Returns {"n:m": (runs, fit)}.

        >>> true = {**laws.TABLE7["t5"], **laws.TABLE7["t5_nm"]}  # Table 7's T5 law with its n:m sparsity term
        >>> S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **true)})
        >>> points = list(zip(runs.n_nonzero, runs.tokens))  # every (N, D) of the grid
        >>> fits = fit_groups(runs, runs[runs.S > 0].assign(m=8), laws.TABLE7["t5"], points)
        >>> group, fit = fits["n:8"]
        >>> len(group), round(gain(fit.params, 0.5), 2)  # 6 dense runs and 12 n:8 runs
        (18, 1.67)
    """
    at_points = np.array([(n, d) in set(points) for n, d in zip(main_runs.n_nonzero, main_runs.tokens)])
    dense = main_runs[at_points & (main_runs.sparsity == 0)]
    out = {}
    for m in sorted(set(nm_runs.m)):
        runs = pd.concat([dense, nm_runs[nm_runs.m == m]], ignore_index=True)
        scale = None if noise is None else lawfit.run_noise(runs, noise)
        out[f"n:{m}"] = (runs, fit_sparsity_term(runs, base, starts=starts, seed=seed, scale=scale))
    return out


def term_table(fits: dict) -> pd.DataFrame:
    """Per law (name -> (runs, fit)): runs, a_S, b_S, c_S, f(0) = a_S + c_S and the rms residual.

        >>> true = {**laws.TABLE7["t5"], **laws.TABLE7["t5_nm"]}  # Table 7's T5 law with its n:m sparsity term
        >>> S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **true)})
        >>> points = list(zip(runs.n_nonzero, runs.tokens))
        >>> fits = fit_groups(runs, runs[runs.S > 0].assign(m=8), laws.TABLE7["t5"], points)
        >>> term_table(fits).round(3)
              runs   a_S    b_S    c_S  f(0) = a_S + c_S  rms residual of log L
        n:8   18.0  86.4  2.752  536.0             622.4                    0.0
    """
    return pd.DataFrame({g: {"runs": len(runs), **{c: f.params[c] for c in SPARSITY_TERM},
                             "f(0) = a_S + c_S": f.params["a_S"] + f.params["c_S"], "rms residual of log L": rms(f)}
                         for g, (runs, f) in fits.items()}).T


def table3(intervals: dict) -> pd.DataFrame:
    """Our gains at GAIN_S per law (name -> kit.fit.fitting.fit_intervals' table with "gain(S)" rows)
    beside the paper's (Table 3 for n:4 and n:8, Table 2's T5 row for unstructured).

        >>> n4 = pd.DataFrame({"estimate": [1.5, 1.6], "low": [1.4, 1.5], "high": [1.6, np.inf]},
        ...                   index=["gain(0.5)", "gain(0.75)"])  # as kit.fit.fitting.fit_intervals gives them
        >>> table3({"n:4": n4})
                         S = 0.5            S = 0.75 paper, S = 0.5 paper, S = 0.75
        law
        n:4   1.50x [1.40, 1.60]  1.60x [1.50, unbounded]          1.56x           1.62x
    """
    text = lambda row: claims.interval_text(row.estimate, row.low, row.high, ".2f", "x")
    table = pd.DataFrame({f"S = {s:g}": {g: text(t.loc[f"gain({s:g})"]) for g, t in intervals.items()} for s in GAIN_S})
    for s in GAIN_S:
        table[f"paper, S = {s:g}"] = [f"{PAPER_GAINS[g][s]:.2f}x" if g in PAPER_GAINS else "–" for g in intervals]
    return table.rename_axis("law")


def pattern_sparsity(label_text: str) -> float:
    """The sparsity 1 - n/m of a pattern's label.

        >>> pattern_sparsity("2:4"), pattern_sparsity("2:8")
        (0.5, 0.75)
    """
    n, m = (int(x) for x in label_text.split(":"))
    return 1 - n / m


def nm_scope(nm_runs: pd.DataFrame) -> str:
    """The n:m points a verdict covers, for a claim's scope: "every N 13.8k–221k at D 600k, every D
    600k–4.8M at N 13.8k" (the n:m grid: every size at the smallest budget, every budget at the
    smallest size).

        >>> nm_scope(pd.DataFrame({"n_nonzero": [13_824, 221_184, 13_824], "tokens": [600_064, 600_064, 4_800_512]}))
        'every N 13.8k–221k at D 600k, every D 600k–4.8M at N 13.8k'
    """
    n, d, short = nm_runs.n_nonzero, nm_runs.tokens, plots.short_number
    return (f"every N {short(n.min())}–{short(n.max())} at D {short(d.min())}, "
            f"every D {short(d.min())}–{short(d.max())} at N {short(n.min())}")


def findings_claims(gaps: pd.DataFrame, level=LEVEL, scope=None) -> tuple[list, pd.DataFrame]:
    """Section 4.1's findings, run against run (gaps: gap_summary's table, in percent): each 50%
    pattern performs like unstructured 50% (claims.equivalence_verdict within ±MARGIN percent), each
    75% pattern falls behind unstructured 75%, so it ends above its twin (claims.direction_verdict,
    above 0). Patterns at other sparsities are not claimed. Returns (claims, a table of them); the
    rules were set after the run table was seen (rule_after).

        >>> pairs = pd.DataFrame({"pattern": ["2:4"] * 3 + ["1:4"] * 3, "gap": [0.001, -0.002, 0.0, 0.02, 0.03, 0.025]})
        >>> found, table = findings_claims(gap_summary(pairs))
        >>> table[["pattern", "claim", "verdict"]]
          pattern                     claim verdict
        0     2:4  like unstructured (±1%)   holds
        1     1:4            above its twin   holds
    """
    out, rows = [], []
    for label_text in gaps.index:
        s, m = pattern_sparsity(label_text), int(label_text.split(":")[1])
        est, lo, hi = (float(gaps.loc[label_text, k]) for k in ("mean", "low", "high"))
        quantity = f"the mean loss difference of {label_text} from its unstructured twin"
        g, key_tail = f"n:{m}", label_text.replace(":", "-")
        paper = (f"gain {PAPER_GAINS[g][s]:.2f}x vs {PAPER_GAINS[U][s]:.2f}x"
                 if g in PAPER_GAINS and s in PAPER_GAINS[g] and s in PAPER_GAINS[U] else None)
        numbers = {"estimate": est, "low": lo, "high": hi, "points": float(gaps.loc[label_text, "points"]), "sparsity": s}
        interval = (f"the {level:.0%} Student-t interval, over the n:m points, of the mean loss difference of the "
                    f"{s:.0%} pattern from its unstructured twin")
        if np.isclose(s, 0.5):
            verdict, reason = claims.equivalence_verdict(est, lo, hi, MARGIN, quantity=quantity, unit="%", fmt="+.2f")
            key, numbers["margin"] = f"nm-50-like-unstructured-{key_tail}", MARGIN
            statement = f"The 50% pattern {label_text} performs very similar to unstructured 50% sparsity."
            rule = (f"Holds if {interval} (same N, D, sparsity, width and seed) lies within ±{MARGIN:g}% of the loss; "
                    f"does not hold if it lies wholly outside; not resolved otherwise.")
            said = f"like unstructured (±{MARGIN:g}%)"
        elif np.isclose(s, 0.75):
            verdict, reason = claims.direction_verdict(est, lo, hi, +1, quantity=quantity, unit="%", fmt="+.2f")
            key = f"nm-75-behind-unstructured-{key_tail}"
            statement = (f"The 75% pattern {label_text} falls behind unstructured 75% sparsity (Table 3), so it ends at "
                         f"a higher loss than its unstructured twin.")
            rule = (f"Holds if {interval} lies above 0 (the pattern ends higher); does not hold if it lies below 0; not "
                    f"resolved otherwise.")
            said = "above its twin"
        else:
            continue
        ours = f"{claims.interval_text(est, lo, hi, '+.2f', '%')} in loss"
        out.append(Claim(key, PAPER, statement, "ch4-findings", paper, None, ours, verdict, rule, reason, numbers,
                         kind="own runs", scope=scope, rule_after=True))
        rows.append({"pattern": label_text, "claim": said, "ours": ours, "paper (Table 3)": paper or "–",
                     "verdict": verdict})
    return out, pd.DataFrame(rows)


def twin_intervals(pairs: pd.DataFrame, seed_noise: pd.DataFrame, level=LEVEL) -> pd.DataFrame:
    """Each n:m run's loss relative to its unstructured twin (twins' output), in percent,
    100 (exp(gap) - 1), with the `level` interval of one pair from the seed noise of a run
    (kit.fit.noise.seed_noise's table by tokens, read at each pair's budget by noise_at): two
    independent runs, so the std of their difference is sqrt(2) sigma, as a share of the twin's
    loss, and Student's t with the noise's degrees of freedom. Columns of pairs plus percent,
    low, high.

        >>> main = pd.DataFrame({"n_nonzero": 100, "tokens": [10, 10, 20, 20], "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.7, 2.6]})  # unstructured runs
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.9, 2.85, 2.71, 2.66])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> seed_noise = pd.DataFrame({"sigma": [0.02, 0.01], "dof": 4}, index=pd.Index([10, 20], name="tokens"))
        >>> twin_intervals(twins(main, nm_runs), seed_noise)[["pattern", "tokens", "percent", "low", "high"]].round(2)
          pattern  tokens  percent   low  high
        0     2:4      10     0.00 -2.67  2.74
        1     1:4      10     1.79 -1.03  4.68
        2     2:4      20     0.37 -1.08  1.84
        3     1:4      20     2.31  0.77  3.86
    """
    found = [noise.noise_at(seed_noise, float(d)) for d in pairs.tokens]
    sigma = np.array([s for s, _ in found])
    t = stats.t.ppf((1 + level) / 2, [dof for _, dof in found])
    half = t * np.sqrt(2) * sigma / pairs.twin_loss.to_numpy()
    return pairs.assign(percent=100 * np.expm1(pairs.gap), low=100 * np.expm1(pairs.gap - half),
                        high=100 * np.expm1(pairs.gap + half))


def twin_figure(differences: pd.DataFrame, margin=MARGIN):
    """Fig. 6's comparison drawn as a difference: each n:m run's loss minus its unstructured twin's
    (twin_intervals, percent, with its seed-noise interval as error bars), against N at the smallest
    token budget (left) and against D at the smallest size (right); one series per pattern, colour
    its sparsity (plots.sparsity_colour), marker its group size; the ±margin band of the 50% claims
    shaded; line style by group size too. Returns the figure.

        >>> main = pd.DataFrame({"n_nonzero": 100, "tokens": [10, 10, 20, 20], "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.7, 2.6]})  # unstructured runs
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.9, 2.85, 2.71, 2.66])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> seed_noise = pd.DataFrame({"sigma": [0.02, 0.01], "dof": 4}, index=pd.Index([10, 20], name="tokens"))
        >>> fig = twin_figure(twin_intervals(twins(main, nm_runs), seed_noise))
        >>> [ax.get_title() for ax in fig.axes]
        ['D = 10', 'N = 100']
    """
    fig, axes = plots.panel_grid(2, aspect=0.8, sharey=True)
    slices = [("tokens", differences.tokens.min(), "N", "non-zero parameters $N$"),
              ("n_nonzero", differences.n_nonzero.min(), "D", "training tokens $D$")]
    markers = dict(zip(sorted(set(differences.m)), ("o", "s", "^", "D")))
    styles = dict(zip(sorted(set(differences.m)), ("-", "--", ":", "-.")))
    patterns = list(dict.fromkeys(differences.pattern))
    for ax, (column, value, x, xlabel) in zip(axes, slices):
        here = differences[differences[column] == value]
        for i, pattern in enumerate(patterns):
            runs = here[here.pattern == pattern].sort_values(x)
            shift = 1.0 + 0.03 * (i - (len(patterns) - 1) / 2)  # side by side at the same x
            m = int(pattern.split(":")[1])
            ax.errorbar(runs[x] * shift, runs.percent, yerr=[runs.percent - runs.low, runs.high - runs.percent],
                        marker=markers[m], ls=styles[m], lw=1, capsize=3, ms=5,
                        color=plots.sparsity_colour(pattern_sparsity(pattern)),
                        label=f"{pattern} − unstructured {pattern_sparsity(pattern):g}")
        ax.axhline(0.0, color="k", lw=0.8)
        ax.axhspan(-margin, margin, color="0.9", zorder=0, label=f"±{margin:g}% (the 50% claims' margin)")
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: plots.short_number(v)))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_title(f"{'D' if column == 'tokens' else 'N'} = {plots.short_number(value)}")
    axes[0].set_ylabel("n:m − its twin (% of loss)")
    plots.legend_outside(fig, ncols=3)
    return fig


def gap_words(differences: pd.DataFrame) -> dict:
    """Chapter 4's words on where the gaps come from (twin_intervals' frame): gap_short, the range
    at the smallest budget; gap_long_50 and gap_long_75, the ranges of the 50% and 75% patterns at
    the smallest size and the two longest budgets; and those budgets and size.

        >>> main = pd.DataFrame({"n_nonzero": 100, "tokens": [10, 10, 20, 20], "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.7, 2.6]})  # unstructured runs
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.9, 2.85, 2.71, 2.66])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> seed_noise = pd.DataFrame({"sigma": [0.02, 0.01], "dof": 4}, index=pd.Index([10, 20], name="tokens"))
        >>> words = gap_words(twin_intervals(twins(main, nm_runs), seed_noise))
        >>> words["gap_short"], words["gap_long_75"]
        ('+0.00% to +1.79%', '+1.79% to +2.31%')
    """
    budgets = sorted(set(differences.tokens))
    short = differences[differences.tokens == budgets[0]]
    longer = differences[(differences.n_nonzero == differences.n_nonzero.min()) & (differences.tokens >= budgets[-2])]
    span = lambda d: f"{d.percent.min():+.2f}% to {d.percent.max():+.2f}%" if len(d) else "–"
    S = longer.pattern.map(pattern_sparsity)
    return {"gap_short": span(short), "gap_long_50": span(longer[np.isclose(S, 0.5)]),
            "gap_long_75": span(longer[np.isclose(S, 0.75)]),
            "long_budgets": " and ".join(plots.short_number(t) for t in budgets[-2:]),
            "short_budget": plots.short_number(budgets[0]),
            "small_size": plots.short_number(differences.n_nonzero.min())}


def check_patterns(patterns, sparsities, n_nonzero, tokens) -> None:
    """Chapter 4's parameters fit together, else ValueError: sparsities hold 0.0 (the dense runs that
    anchor the n:m fits) and every pattern's sparsity 1 - n/m (its unstructured twins), and n_nonzero
    or tokens two or more values (two or more n:m points per pattern).

        >>> check_patterns([(2, 4), (1, 4)], [0.0, 0.5, 0.75], [13_824, 27_648], [600_064])  # passes
        >>> check_patterns([(2, 4), (1, 8)], [0.0, 0.5, 0.75], [13_824, 27_648], [600_064])
        Traceback (most recent call last):
        ValueError: patterns = [[2, 4], [1, 8]]: 1:8 ends at sparsity 0.875, which is not in sparsities = ...
    """
    if 0.0 not in sparsities:
        raise ValueError(f"sparsities = {sparsities}: need 0.0, the dense runs that anchor the n:m fits")
    for n, m in patterns:
        if not np.isclose(sparsities, 1 - n / m).any():
            raise ValueError(f"patterns = {[list(p) for p in patterns]}: {n}:{m} ends at sparsity {1 - n / m:g}, which "
                             f"is not in sparsities = {sparsities}; every pattern needs unstructured twins at its sparsity")
    if len(n_nonzero) < 2 and len(tokens) < 2:
        raise ValueError(f"n_nonzero = {n_nonzero}, tokens = {tokens}: need two or more values in one of them, so the "
                         f"n:m grid has two or more points to compare each pattern with its unstructured twin over")


def budget_table(versus: pd.DataFrame) -> pd.DataFrame:
    """versus_dense's diff averaged per token budget (rows) and sparsity (columns "S = 0.5", ...).

        >>> main_runs = pd.DataFrame({"n_nonzero": 100, "tokens": [10] * 3 + [20] * 3, "sparsity": [0.0, 0.5, 0.75] * 2,
        ...                           "loss": [3.0, 2.97, 3.03, 2.8, 2.8, 2.828]})
        >>> budget_table(versus_dense(main_runs)).round(2)
                  S = 0.5  S = 0.75
        tokens D
        10           -1.0       1.0
        20            0.0       1.0
    """
    table = versus.pivot_table(index="tokens", columns="sparsity", values="diff", aggfunc="mean")
    table.columns = [f"S = {s:g}" for s in table.columns]
    return table.rename_axis("tokens D")


def law_words(unstructured: fitting.FitResult, runs: pd.DataFrame, by_budget: pd.DataFrame) -> dict:
    """Chapter 4's words on the unstructured law fitted to `runs` and on budget_table's frame: rms
    residual, runs, a_S, c_S, the gains at the runs' sparsities, the term's form (u_term_*:
    kit.chapters.corelaw.term_texts), and the range of sparse-minus-dense differences at the
    shortest and longest budgets.

        >>> from kit.fit.fitting import FitResult
        >>> main_runs = pd.DataFrame({"n_nonzero": 100, "tokens": [10] * 3 + [20] * 3, "sparsity": [0.0, 0.5, 0.75] * 2,
        ...                           "loss": [3.0, 2.97, 3.03, 2.8, 2.8, 2.828]})
        >>> unstructured = FitResult(dict(laws.TABLE7["t5"]), objective=0.0, residuals=np.full(6, 0.01), n_starts=1,
        ...                          converged=True)  # a fit of Eq. 1 to main_runs: here Table 7's T5 law
        >>> words = law_words(unstructured, main_runs, budget_table(versus_dense(main_runs)))
        >>> words["u_gains"], words["u_term_form"], words["vs_dense_short"]
        ('1.587x at 0.5, 2.160x at 0.75', 'graded', '-1.0% to +1.0%')
    """
    gains = {s: gain(unstructured.params, s) for s in sorted(set(runs.sparsity)) if s > 0}
    first, last = by_budget.iloc[0], by_budget.iloc[-1]
    return {"u_rms": f"{rms(unstructured):.2%}", "u_runs": f"{len(runs)}", "u_a_S": f"{unstructured.params['a_S']:.2g}",
            "u_c_S": f"{unstructured.params['c_S']:.3g}", "u_gains": ", ".join(f"{g:.3f}x at {s:g}" for s, g in gains.items()),
            **corelaw.term_texts(unstructured.params, list(gains), prefix="u_term"),
            "vs_dense_short": f"{first.min():+.1f}% to {first.max():+.1f}%",
            "vs_dense_long": f"{last.min():+.1f}% to {last.max():+.1f}%",
            "budget_short": f"{by_budget.index[0]:,}", "budget_long": f"{by_budget.index[-1]:,}"}


def group_words(fits: dict, versus: pd.DataFrame, points, patterns) -> dict:
    """Chapter 4's words on the n:m fits (fit_groups' output): their gains at GAIN_S (nm_gains); how
    the unstructured runs at the n:m points and the sparsities of `patterns` ([n, m] pairs) end against dense
    (nm_points_vs_dense, versus_dense's frame); and Table 7's f(0) = a_S + c_S for its unstructured
    and n:m T5 rows and their ratio.

        >>> true = {**laws.TABLE7["t5"], **laws.TABLE7["t5_nm"]}  # Table 7's T5 law with its n:m sparsity term
        >>> S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **true)})
        >>> points = list(zip(runs.n_nonzero, runs.tokens))
        >>> fits = fit_groups(runs, runs[runs.S > 0].assign(m=8), laws.TABLE7["t5"], points)
        >>> words = group_words(fits, versus_dense(runs), points, [(4, 8), (2, 8)])
        >>> words["nm_gains"], words["t7_f0_ratio"]
        ('n:8 1.671x at 0.5, 1.814x at 0.75', '10.1')
    """
    at = versus[[(n, d) in set(points) for n, d in zip(versus.n_nonzero, versus.tokens)]]
    at_patterns = np.isclose(at.sparsity.to_numpy()[:, None], [1 - n / m for n, m in patterns]).any(axis=1)
    f0 = {row: laws.TABLE7[row]["a_S"] + laws.TABLE7[row]["c_S"] for row in ("t5", "t5_nm")}
    return {"nm_gains": "; ".join(f"{g} {', '.join(f'{gain(fit.params, s):.3f}x at {s:g}' for s in GAIN_S)}"
                                  for g, (_, fit) in fits.items()),
            "nm_forms": ", ".join(f"{g} {corelaw.term_form(fit.params, GAIN_S)}" for g, (_, fit) in fits.items()),
            "nm_points_vs_dense": f"{at[at_patterns]['diff'].mean():+.1f}%",
            "t7_f0_u": f"{f0['t5']:.1f}", "t7_f0_nm": f"{f0['t5_nm']:.1f}", "t7_f0_ratio": f"{f0['t5_nm'] / f0['t5']:.1f}"}


def finding_words(found: list, gaps: pd.DataFrame, pairs: pd.DataFrame, seed_noise: pd.DataFrame,
                  runs: pd.DataFrame) -> dict:
    """Chapter 4's words on its findings: each claim's verdict and reason (verdict_<key>, reason_<key>,
    - as _), the margin, the smallest margin the 50% patterns' intervals meet (margin_needed),
    whether every pair has the same N (same_N, twins' frame), and the seed noise of one run as a
    share of the mean loss of `runs` at each budget of seed_noise's table.

        >>> main = pd.DataFrame({"n_nonzero": 100, "tokens": [10, 10, 20, 20], "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.7, 2.6]})  # unstructured runs
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.9, 2.85, 2.71, 2.66])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> seed_noise = pd.DataFrame({"sigma": [0.02, 0.01], "dof": 4}, index=pd.Index([10, 20], name="tokens"))
        >>> pairs = twins(main, nm_runs)
        >>> gaps = gap_summary(pairs)
        >>> words = finding_words(findings_claims(gaps)[0], gaps, pairs, seed_noise, main)
        >>> words["same_N"], words["seed_noise"]
        ('every', '0.70% at 10 tokens, 0.38% at 20 tokens')
    """
    half = gaps[np.isclose(gaps.index.map(pattern_sparsity), 0.5)]
    words = {"same_N": "every" if bool((pairs.N == pairs.twin_N).all()) else "not every", "margin": f"±{MARGIN:g}%",
             "margin_needed": f"±{half[['low', 'high']].abs().to_numpy().max():.2f}%" if len(half) else "–",
             "seed_noise": ", ".join(f"{100 * row.sigma / runs.loss[runs.tokens == d].mean():.2f}% at "
                                     f"{plots.short_number(d)} tokens" for d, row in seed_noise.iterrows())}
    for c in found:
        words |= {f"verdict_{c.key.replace('-', '_')}": c.verdict, f"reason_{c.key.replace('-', '_')}": c.reason}
    return words


V3_PLANNED = 14  # grid v3's n:m runs (kit.engine.grids.nm_v3_grid)


def v3_claims(main: pd.DataFrame, nm_runs: pd.DataFrame, planned: int = V3_PLANNED, level=LEVEL):
    """Section 4.1's findings on grid v3 (findings_claims on twins' pairs): each stored n:m run of
    `nm_runs` beside its unstructured twin in `main` (grid v3's main grid; runs whose twin is not
    stored yet wait), keys and section suffixed for grid v3 ("-v3", "ch4-grid-v3") and the scope
    saying how many of `planned` n:m runs were read. Returns (claims, their table, the n:m runs
    paired, texts); with no pair yet ([], None, None, texts).

        >>> main = pd.DataFrame({"n_nonzero": [100, 100, 400, 400], "tokens": 10, "sparsity": [0.5, 0.75] * 2, "seed": 0,
        ...                      "nm": None, "loss": [2.9, 2.8, 2.5, 2.4]})
        >>> nm_runs = main.assign(nm=[(2, 4), (1, 4)] * 2, loss=[2.91, 2.9, 2.51, 2.5])
        >>> main, nm_runs = (f.assign(S=f.sparsity, N=f.n_nonzero, D=f.tokens) for f in (main, nm_runs))
        >>> found, table, paired, texts = v3_claims(main, nm_runs)
        >>> [c.key for c in found], texts["nm_v3_stored"]
        (['nm-50-like-unstructured-2-4-v3', 'nm-75-behind-unstructured-1-4-v3'], '4 of 14')
    """
    texts = {"nm_v3_stored": f"{len(nm_runs)} of {planned}", "nm_v3_pairs": "0"}
    if nm_runs.empty or main.empty:
        return [], None, None, texts
    keys = list(TWIN_KEYS)
    stored = set(map(tuple, main[main.nm.isna()][keys].to_numpy().tolist()))
    paired = nm_runs[[tuple(k) in stored for k in nm_runs[keys].to_numpy().tolist()]]
    if paired.empty:
        return [], None, None, texts
    gaps = gap_summary(twins(main, paired), level)
    provisional = "" if len(nm_runs) >= planned else ", provisional until all are"
    scope = f"grid v3's n:m runs, {len(nm_runs)} of {planned} stored{provisional}: {nm_scope(paired)}"
    found, table = findings_claims(gaps, level, scope)
    found = [dataclasses.replace(c, key=f"{c.key}-v3", section="ch4-grid-v3") for c in found]
    return found, table, paired, texts | {"nm_v3_pairs": f"{len(paired)}"}


def grid_v3_nm(runs_dir=None, level=LEVEL):
    """v3_claims on what runs_dir (None: runs/) stores of grid v3 and of its n:m runs
    (kit.engine.grids.nm_v3_grid, sized by the stored pilot); nothing is trained. Without a pilot
    to size grid v3: ([], None, None, texts saying so).

        >>> found, table, paired, texts = grid_v3_nm()
        >>> texts["nm_v3_stored"].endswith(" of 14")
        True
    """
    from kit.chapters import pilot
    from kit.engine import grids
    from kit.engine.store import RunStore, law_frame, to_frame

    store = RunStore(runs_dir)
    sizing = pilot.grid_v3_sizing(store)
    if sizing is None:
        return [], None, None, {"nm_v3_stored": "– (no pilot stored)", "nm_v3_pairs": "0"}
    records = pilot.v3_records(store, grids.nm_v3_grid(*sizing))
    stored = [r for r in records if r is not None]
    nm_runs = law_frame(to_frame(stored)) if stored else pd.DataFrame()
    return v3_claims(corelaw.our_runs_v3(runs_dir, train=False).main, nm_runs, len(records), level)
