"""Whether a claim's runs are in the regime the law describes, and the verdict "out of regime".

A pruned run's gap to the dense run of equal N still closes for thousands of steps after pruning
(the transient, chapter 1b). A claim about trained sparse models judged only on runs that end
before the transient has faded says something about the transient, not about the law: the book
then reports it as *out of regime* (its rule's verdict on those runs stays in its reason). The
budget x* from which the transient left is below EPS nats comes from the transient of grid v2's
main grid, as chapter 1b fits it (kit.chapters.transient, gamma = 1):

    fits = regime.grid_v2_fits(RunStore("runs"))            # x* per sparsity, from stored runs only
    claim_list = regime.judge(claim_list, fits, largest=2_344, sparsities=[0.5, 0.75, 0.875])
    claim_list = regime.judge_runs(claim_list, fits, main_configs)  # largest and sparsities from the runs

A claim is out of regime when, at some sparsity of its evidence, the whole interval of x* lies
above the longest budget of its runs; in regime when every interval ends at or below it; and keeps
its verdict, with the regime left open in its scope, when an interval contains the budget or a
sparsity has no fitted transient (as for tiny test grids).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from kit.chapters import transient
from kit.engine import data, grids
from kit.engine.sweep import run_sweep
from kit.report.claims import OUT_OF_REGIME, Claim

JUDGED_KINDS = ("own runs", "question")  # the kinds of claim whose evidence is our trained runs
GAMMA = 1.0  # the transient's exponent in the regime fit, as chapter 1b's default


def grid_v2_fits(store, corpus=None, eps: float = transient.EPS, gamma: float | None = GAMMA,
                 n_boot: int = 200) -> pd.DataFrame:
    """The transient of grid v2's main grid (kit.engine.grids.main_grid on `corpus`), fitted per
    sparsity as chapter 1b fits it (transient.fit_curves against steps), on the runs `store`
    holds: nothing is trained, and a store without them gives an empty table.

        >>> from kit.engine.store import RunStore
        >>> fits = grid_v2_fits(RunStore("runs"), n_boot=20)
        >>> [f"{S:g}" for S in fits["sparsity"]]
        ['0.5', '0.75', '0.875']
    """
    fingerprint = data.load_corpus(corpus).fingerprint
    stored = [c for c in grids.main_grid() if store.has(store.run_id(c, fingerprint))]
    frame = run_sweep(stored, store=store, corpus=corpus, progress=False) if stored else None
    if frame is None or not len(frame):
        return transient.fit_curves(pd.DataFrame(columns=["sparsity", "steps", "gap"]), "steps", eps=eps)
    return transient.fit_curves(transient.gaps(frame), "steps", eps=eps, n_boot=n_boot, gamma=gamma)


def regime_of(fits: pd.DataFrame, largest, sparsities) -> tuple[str | None, str, str]:
    """Whether runs at `sparsities` (> 0) are in regime, by `fits` (transient.fit_curves' table):
    `largest` is their longest budget in steps, one number for all or a dict {S: steps} per
    sparsity. Returns (OUT_OF_REGIME, "in regime" or None when it cannot tell; a short note for a
    claim's scope; the sentence why).

        >>> fits = pd.DataFrame({"sparsity": [0.5, 0.75], "x_star": [3000.0, 7000.0],
        ...                      "x_star_low": [1800.0, 6000.0], "x_star_high": [4200.0, 8500.0]})
        >>> regime_of(fits, 2344, [0.5, 0.75])[:2]
        ('out of regime', 'out of regime: runs end by 2,344 steps, x* 6,000-8,500 at S = 0.75')
        >>> regime_of(fits, 9000, [0.5, 0.75])[0]
        'in regime'
        >>> regime_of(fits, {0.5: 9000, 0.75: 2344}, [0.5, 0.75])[0]
        'out of regime'
    """
    wanted = [float(S) for S in sparsities if S > 0]
    at = {S: float(largest[S] if isinstance(largest, dict) else largest) for S in wanted}
    rows = [fits[np.isclose(fits["sparsity"], S)] for S in wanted]
    if not wanted or any(r.empty for r in rows):
        missing = ", ".join(f"{S:g}" for S, r in zip(wanted, rows) if r.empty) or "–"
        return None, f"regime not known (no transient fitted at S = {missing})", (
            f"no transient is fitted at S = {missing}, so whether its runs are in regime is not known")
    low, high = ([float(getattr(r, col).iloc[0]) for r in rows] for col in ("x_star_low", "x_star_high"))
    text = "; ".join(f"S = {S:g}: x* = {transient.budget_text(r.x_star.iloc[0])} [{transient.budget_text(lo)}, "
                     f"{transient.budget_text(hi)}], runs to {at[S]:,.0f}" for S, r, lo, hi in zip(wanted, rows, low, high))
    above = [i for i, S in enumerate(wanted) if low[i] > at[S]]
    if above:
        worst = max(above, key=lambda i: low[i] - at[wanted[i]])
        note = (f"out of regime: runs end by {at[wanted[worst]]:,.0f} steps, x* {transient.budget_text(low[worst])}-"
                f"{transient.budget_text(high[worst])} at S = {wanted[worst]:g}")
        return OUT_OF_REGIME, note, (f"its runs end before the transient of pruning has faded at S = "
                                     f"{', '.join(f'{wanted[i]:g}' for i in above)} (chapter 1b, in steps: {text})")
    if all(high[i] <= at[S] for i, S in enumerate(wanted)):
        return "in regime", f"in regime: runs reach past every x* ({max(at.values()):,.0f} steps)", (
            f"its runs reach past every x* ({text})")
    return None, "regime not known: an interval of x* contains its longest budget", (
        f"an interval of x* contains its longest budget ({text})")


def judge(claim_list, fits: pd.DataFrame, largest, sparsities) -> list[Claim]:
    """The claims with the regime of their evidence set (Claim.regime): those of JUDGED_KINDS with
    a number on our runs get regime_of's answer for runs up to `largest` steps (or {S: steps}) at `sparsities`,
    noted in their scope (and, out of regime, why in their reason, before the rule's own); other
    claims are returned as they are. A claim out of regime reads OUT_OF_REGIME in the chapters'
    claim tables and on the results page; its rule's verdict on its runs stays its `verdict`.

        >>> c = Claim("k", "Frantar et al. 2024", "Sparse wins.", "sec", None, None, "-0.05 nats", "does not hold",
        ...           "Holds if ...", "It does not.", kind="own runs", scope="N 13.8k-221k")
        >>> fits = pd.DataFrame({"sparsity": [0.75], "x_star": [7e3], "x_star_low": [6e3], "x_star_high": [8.5e3]})
        >>> judged = judge([c], fits, largest=2344, sparsities=[0.75])[0]
        >>> judged.regime, judged.verdict, judged.scope
        ('out of regime', 'does not hold', 'N 13.8k-221k; out of regime: runs end by 2,344 steps, x* 6,000-8,500 at S = 0.75')
    """
    regime, note, why = regime_of(fits, largest, sparsities)
    out = []
    for c in claim_list:
        if c.kind not in JUDGED_KINDS or c.our_runs is None:
            out.append(c)
            continue
        reason = f"Out of regime: {why}; on these runs the rule gives: {c.reason}" if regime == OUT_OF_REGIME else c.reason
        out.append(dataclasses.replace(c, regime=regime, scope=f"{c.scope}; {note}" if c.scope else note, reason=reason))
    return out


def judge_runs(claim_list, fits: pd.DataFrame, runs) -> list[Claim]:
    """judge() for claims that rest on `runs` (RunConfigs, or a frame with columns steps and
    sparsity), by `fits` (grid_v2_fits' table): each claim against the longest budget in
    steps at each sparsity > 0 of the runs, or, for a claim whose numbers name a "sparsity", of the
    runs at that sparsity alone.

        >>> from kit.engine.store import RunStore
        >>> c = Claim("k", "Frantar et al. 2024", "Sparse wins.", "sec", None, None, "-0.05 nats", "does not hold",
        ...           "Holds if ...", "It does not.", kind="own runs")
        >>> fits = grid_v2_fits(RunStore("runs"), n_boot=20)
        >>> judge_runs([c], fits, grids.main_grid())[0].regime
        'out of regime'
        >>> at_half = dataclasses.replace(c, numbers={"sparsity": 0.5})  # x*'s interval at S = 0.5 contains 2,344 steps
        >>> judge_runs([at_half], fits, grids.main_grid())[0].regime is None
        True
    """
    if isinstance(runs, pd.DataFrame):
        steps, sparsities = runs["steps"].astype(float).to_numpy(), runs["sparsity"].astype(float).to_numpy()
    else:
        steps, sparsities = np.array([c.steps for c in runs], float), np.array([c.sparsity for c in runs], float)
    if not len(steps) or not claim_list:
        return list(claim_list)
    out = []
    for c in claim_list:
        S = c.numbers.get("sparsity")
        mine = (sparsities > 0) if S is None else np.isclose(sparsities, S)
        longest = {float(s): float(steps[mine & (sparsities == s)].max()) for s in set(sparsities[mine])}
        out += judge([c], fits, longest, sorted(longest)) if longest else [c]
    return out
