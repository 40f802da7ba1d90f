"""n:m sparsity (Frantar et al. 2024, Section 4.1): whether gradual n:m pruning (Algorithm 1) ended
in exact patterns, how each n:m run compares with its unstructured twin, and Table 3's dense size
multipliers from a law whose sparsity term alone is refitted to the n:m runs.

Frames are kit.engine.store.law_frame's: one row per run with its config fields (nm as a tuple (n, m) or
None), its metrics (nm_violations, layer_sparsity) and the laws' inputs S, N, D, loss.

    check = nm_sparsity.masks(nm_runs)                      # exact n:m in every kernel?
    pairs = nm_sparsity.twins(main_runs, nm_runs)           # log-loss gap to the unstructured twin
    term = nm_sparsity.fit_sparsity_term(group, unstructured.params)   # a_S, b_S, c_S only
    gains = nm_sparsity.gain(term.params, 0.5)                         # Eq. 7
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from kit.fit import fitting
from kit import laws

SPARSITY_TERM = ("a_S", "b_S", "c_S")  # what an n:m fit refits (Appendix C)
DENSE_TERMS = ("b_N", "a_D", "b_D", "c")  # held at the unstructured fit's values
# Section 4.1: "Huber delta = 0.01 as 0.75 patterns will otherwise be treated as an outlier"; the
# Huber loss of log L as in the unstructured T5 fit (Section 3.2), whose delta it replaces.
FIT = dict(log_loss=True, delta=1e-2)
TWIN_KEYS = ("n_nonzero", "tokens", "sparsity", "seed")  # an n:m run and its unstructured twin share these


def label(nm) -> str:
    """'2:4' for the pattern (2, 4); 'unstructured' for None."""
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
    kernel (as fractions); exact: no violation and every kernel at exactly the target."""
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
    run without a twin."""
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
    point), least and most."""
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
    (1: the pattern keeps the whole unstructured step; 0: none of it). pairs: twins' output."""
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
    unstructured results" (Appendix C). settings: log_loss, delta (default FIT)."""
    fixed = {k: base[k] for k in DENSE_TERMS}
    return fitting.fit(laws.sparse_law, runs, runs.loss, list(SPARSITY_TERM), fixed=fixed, starts=starts, seed=seed,
                       **{**FIT, **settings})


def gain(params: dict, S) -> float:
    """Eq. 7, the dense size multiplier of sparsity S under a fit's params (kit.laws.gain)."""
    return float(laws.gain(S, params["a_S"], params["b_S"], params["c_S"], params["b_N"]))

