"""Optimal sparsity (Frantar et al. 2024, Section 3.3): when a sparsity pays off, in multiples of the
dense compute-optimal ("Chinchilla") compute of a model's non-zeros, and how measured runs compare.

At fixed non-zeros N and training compute C = k N D c_mul(S), two training lengths say when a
sparsity S pays, both as C / C_chin(N) and both independent of N and of k:

- `optimal_multiple` (kit.laws.chinchilla_multiple): from when S is the *optimal* sparsity, the contour
  S_opt(N, C) = S of Eq. 5. The paper's "50% sparsity is already optimal for < 3x (T5) longer
  training than Chinchilla" is this number.
- `beats_dense_from`: from when S reaches a lower loss than the dense model
  of the same N and C, L(S, N, C / (k N c_mul(S))) < L(0, N, C / (k N)): where its curve passes
  below the dense one in Fig. 5.

At fixed (N, C) the loss has a single minimum in S (see kit.laws._eq5_residual), so at the compute
where S is optimal it also beats dense: beats_dense_from <= optimal_multiple, and between the two S
beats dense while a smaller sparsity does better still. Multiples are capped at NEVER (10^12
Chinchilla multiples, as in kit.planner.plan), so that bootstrap percentiles stay finite where a
resample's law makes sparsity never pay.

Measured runs (Fig. 5) are compared as chapter 1 compares them (kit.chapters.fairness): a sparse run against
the dense curve of its target N read at the sparse run's compute. `line_summary` labels each line
(one N and S over the budgets) from those pairs, and `gap_change` measures whether the sparse runs'
advantage grows with training. `bound_verdict` and `factor_verdict` turn an interval of a multiple
into a verdict for claims such as "< 3x" and "about 70x".

Chapter 3 (book/chapters/03_optimal_sparsity.ipynb) calls the rest, section by section; each claim
function writes its rule sentence from the module constant its check applies:

- the laws: `fit_our_law` (Eq. 1 on our runs with intervals, an `OurLaw`), `derived_quantities`,
  `sparsity_term`; Table 7's laws are kit.laws.TABLE7.
- what a sparse run costs: `SCHEDULES`, `cost_claim` (COST_MARGIN).
- optimal-sparsity contours: `sopt_maps`, `uniform_laws`, `contour_figure`, `line_table`,
  `parallel_claim` (SPREAD_TOLERANCE, LINE_POINTS), `line_claims`, `line_words`.
- how much longer than Chinchilla: `multiple_table` (intervals from a law's bootstrap samples,
  `multiple_samples`; TOKENS_PER_PARAMETER), `multiples_claim_table7` and `multiple_claims_ours`
  (PAPER_S, PAPER_MULTIPLE, FACTOR), `multiple_words`, `multiple_figure`, `pay_table`, `pay_words`.
- Table 2: `table2_tested` (only the sparsities a rerun tests), `gain_table`, `gains_claims`
  (GAIN_MAX_WIDTH), `gain_words`.
- Fig. 5: `read_runs`, `overtaking_figure`, `line_summary`, `gap_change`, `overtaking_claim`,
  `overtaking_words`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from kit import laws
from kit.chapters import corelaw, fairness
from kit.engine.store import law_frame
from kit.engine.sweep import run_sweep
from kit.fit import fitting, lawfit
from kit.report import claims, plots
from kit.report.claims import Claim

NEVER = 1e12  # Chinchilla multiples: beyond this a sparsity "never" pays


def optimal_multiple(S, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """C / C_chin(N) from which sparsity S is the optimal sparsity (Eq. 5; kit.laws.chinchilla_multiple),
    capped at NEVER. At S = 0: the compute from which any sparsity is better than dense.

        >>> [round(float(optimal_multiple(0.5, laws.TABLE7["t5"], cost)), 2) for cost in ("sparse", "dense")]
        [2.44, 70.16]
    """
    return np.minimum(laws.chinchilla_multiple(S, 1.0, coeffs, cost, start, end, kind), NEVER)[()]


def beats_dense_from(S, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """C / C_chin(N) from which sparsity S > 0 has a lower loss than the dense model of the same N
    trained with the same compute: kit.laws.payoff_tokens over kit.laws.chinchilla_tokens (the ratio
    is the same at every N, so it is read at N = 1), capped at NEVER; 0 where S costs no more than
    dense (c_mul <= 1).

        >>> [round(float(beats_dense_from(0.5, laws.TABLE7["t5"], cost)), 2) for cost in ("sparse", "dense")]
        [0.25, 13.8]
    """
    S = laws.check_sparsity(S)
    if np.any(S <= 0):
        raise ValueError(f"S = {S}: beats_dense_from needs sparsities > 0 (S = 0 is the dense model itself)")
    c_mul = laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, start, end, kind)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a law without capacity gain: inf / inf
        multiple = laws.payoff_tokens(S, 1.0, coeffs, c_mul) / laws.chinchilla_tokens(1.0, coeffs)
    return np.where(c_mul > 1.0, np.minimum(np.nan_to_num(multiple, nan=NEVER, posinf=NEVER), NEVER), 0.0)[()]


def run_multiples(S, N, D, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """Where runs sit on the same scale: C / C_chin(N) of runs with final sparsity S, N non-zeros and
    D tokens, C = k N D c_mul(S) in the law's units (the dense-equivalent data D c_mul(S) over the
    Chinchilla data of N, so k cancels).

        >>> D_chin = laws.chinchilla_tokens(1e8, laws.TABLE7["t5"])  # the Chinchilla data of N = 1e8
        >>> run_multiples([0.0, 0.75], 1e8, D_chin, laws.TABLE7["t5"], "dense").round(6)  # S = 0.75: 4 x the compute
        array([1., 4.])
    """
    c_mul = laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, start, end, kind)
    return (np.asarray(D, dtype=float) * c_mul / laws.chinchilla_tokens(N, coeffs))[()]


def chinchilla_line(C, coeffs, cost, k=6, start=0.25, end=0.75, kind="cubic"):
    """The optimal sparsity along the dense compute-optimal line: S_opt(N_chin(C), C) (Section 3.3:
    "the Chinchilla line does not necessarily correspond to the S = 0 case").

        >>> chinchilla_line(np.logspace(18, 24, 3), laws.TABLE7["t5"], "sparse", k=3).round(3)
        array([0.425, 0.425, 0.425])
    """
    return laws.s_opt(laws.chinchilla_n_opt(C, coeffs, k), C, coeffs, cost, k, start, end, kind)


def multiple_text(value, low=None, high=None) -> str:
    """A multiple (and its interval) as the book prints it: "2.44x", "2.44x [1.3x, 7.9x]"; "never"
    at NEVER, "> 1e10x" from 1e10 on (an interval's end that bootstrap percentiles put between
    a finite multiple and NEVER), "14,000x" with thousands separated from 1e4 on, and "< 0.001x"
    below 1e-3 but above 0 (a law whose sparsity term
    is a step, b_S in the hundreds, makes the smallest sparsity pay at once).

        >>> multiple_text(2.4357), multiple_text(2.4357, 1.3, NEVER), multiple_text(14_036), multiple_text(3e-148)
        ('2.44x', '2.44x [1.3x, never]', '14,000x', '< 0.001x')
    """
    show = lambda v: ("never" if v >= NEVER else "> 1e10x" if v >= 1e10 else "< 0.001x" if 0 < v < 1e-3
                      else f"{float(f'{v:.3g}'):,.0f}x" if v >= 1e4 else f"{v:.3g}x")
    text = show(float(value))
    return text if low is None else f"{text} [{show(float(low))}, {show(float(high))}]"


# ----------------------------------------------------------------------------- verdicts


def _checked(estimate, low, high):
    values = [float(v) for v in (estimate, low, high)]
    if any(math.isnan(v) for v in values) or values[1] > values[2]:
        raise ValueError(f"need estimate, low <= high (not NaN); got {estimate!r}, {low!r}, {high!r}")
    return values


def _said(estimate, low, high) -> str:
    """A multiple and its interval as a verdict's reason states them ("never" says what it means)."""
    text = multiple_text(estimate, *((low, high) if low < high else ()))
    return text + (" (no compute is enough)" if estimate >= NEVER else "")


def bound_verdict(estimate, low, high, bound, side, *, quantity="our multiple"):
    """Is a multiple below (side = -1) or above (side = +1) `bound`, as a claim says ("< 3x")?
    Holds if the whole interval [low, high] lies on the claimed side of the bound, does not hold if
    it lies wholly on the other side, not resolved if it contains the bound. A point value is
    low = high = estimate. Returns (verdict, one-sentence reason).

        >>> bound_verdict(2.0, 1.5, 2.9, 3, -1)  # "< 3x"
        ('holds', 'Our multiple is 2x [1.5x, 2.9x]: below 3x, as claimed.')
        >>> bound_verdict(2.5, 1.0, 4.0, 3, -1)[0]
        'not resolved'
    """
    estimate, low, high = _checked(estimate, low, high)
    if side not in (1, -1):
        raise ValueError(f"side must be -1 (the claim: below the bound) or +1 (above); got {side!r}")
    said, name = _said(estimate, low, high), quantity[:1].upper() + quantity[1:]
    claimed, other = ("below", "above") if side < 0 else ("above", "below")
    if high < bound if side < 0 else low > bound:
        return "holds", f"{name} is {said}: {claimed} {bound:g}x, as claimed."
    if low > bound if side < 0 else high < bound:
        return "does not hold", f"{name} is {said}: {other} {bound:g}x, against the claim."
    return "not resolved", (f"{name} is {said}: the interval contains {bound:g}x, "
                            f"so which side of it the multiple lies on is not resolved.")


def factor_verdict(estimate, low, high, value, factor, *, quantity="our multiple"):
    """Is a multiple about `value` ("about 70x"), within a factor `factor` (> 1) either way? Holds
    if the whole interval lies inside [value / factor, value x factor], does not hold if it lies
    wholly outside, not resolved if it straddles an end. Returns (verdict, one-sentence reason).

        >>> factor_verdict(60, 50, 100, 70, 1.5)  # "about 70x"
        ('holds', "Our multiple is 60x [50x, 100x]: inside 46.7x to 105x (the paper's 70x within a factor 1.5).")
    """
    estimate, low, high = _checked(estimate, low, high)
    if not factor > 1:
        raise ValueError(f"factor = {factor!r}: need a number > 1")
    lo, hi = value / factor, value * factor
    said, name = _said(estimate, low, high), quantity[:1].upper() + quantity[1:]
    band = f"{lo:.3g}x to {hi:.3g}x (the paper's {value:g}x within a factor {factor:g})"
    if lo <= low and high <= hi:
        return "holds", f"{name} is {said}: inside {band}."
    if high < lo or low > hi:
        return "does not hold", f"{name} is {said}: outside {band}."
    return "not resolved", f"{name} is {said}: the interval straddles the band {band}."


# ----------------------------------------------------------------------------- measured runs (Fig. 5)


def line_summary(runs: pd.DataFrame, pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95,
                 line=("n_nonzero", "sparsity")) -> pd.DataFrame:
    """Per line of sparse runs (runs equal in `line`: one target N and sparsity over the token
    budgets), how its runs lie against their references in `pairs` (kit.chapters.fairness.match_compute's
    frame for the rows of `runs`, e.g. the dense curve at equal model FLOPs): compared (runs with a
    reference), below (gap > 0), resolved_below and resolved_above (the pair's own interval,
    kit.chapters.fairness.pair_intervals, excludes 0), and a label computed from these: "below at all k",
    "above at all k", "crosses below between D1 and D2 tokens" (every compared run before the
    crossing above, every one after it below), "crosses above ...", "below at i of k", or "no
    reference at equal compute". runs needs the columns of `line` and tokens.

        >>> dense = pd.DataFrame({"id": ["d1", "d2", "d4", "d8"], "n_nonzero": 100, "sparsity": 0.0,
        ...                       "tokens": [1000, 2000, 4000, 8000], "loss": [3.0, 2.8, 2.6, 2.4]})
        >>> sparse = pd.DataFrame({"id": ["s1", "s2", "s4"], "n_nonzero": 100, "sparsity": 0.5,
        ...                        "tokens": [1000, 2000, 4000], "loss": [2.85, 2.55, 2.3]})
        >>> dense["flops"], sparse["flops"] = dense.tokens, 2 * sparse.tokens  # a sparse run costs twice per token
        >>> pairs = fairness.match_compute(sparse, dense, "flops")  # the dense curve at each sparse run's compute
        >>> sigma = pd.Series(0.01, index=[*dense.id, *sparse.id])  # each run's seed std
        >>> pairs["gap"].round(3).tolist()  # dense minus sparse loss at equal compute: > 0, the sparse run is below
        [-0.05, 0.05, 0.1]
        >>> line_summary(sparse, pairs, sigma, dof=10)[["compared", "below", "label"]]
                            compared  below                                   label
        n_nonzero sparsity
        100       0.5              3      2  crosses below between 1k and 2k tokens
    """
    line = list(line)
    missing = [c for c in [*line, "tokens"] if c not in runs.columns]
    if missing:
        raise ValueError(f"runs lack columns {missing}; they have {list(runs.columns)}")
    if not pairs.index.equals(runs.index):
        raise ValueError("pairs must have one row per row of runs, with the same index (kit.chapters.fairness.match_compute)")
    intervals = fairness.pair_intervals(pairs, sigma, dof, level)
    frame = runs[[*line, "tokens"]].join(intervals)
    rows = {}
    for key, group in frame.sort_values("tokens").groupby(line):
        found = group[group["gap"].notna()]
        below = found["gap"].to_numpy() > 0
        k, n = len(found), int(below.sum())
        if k == 0:
            label = "no reference at equal compute"
        elif n == k:
            label = f"below at all {k}"
        elif n == 0:
            label = f"above at all {k}"
        else:
            switch = int(np.flatnonzero(below != below[0])[0])
            tokens = found["tokens"].to_numpy()
            between = f"between {_short(tokens[switch - 1])} and {_short(tokens[switch])} tokens"
            if np.all(below[switch:] != below[0]):
                label = f"crosses {'above' if below[0] else 'below'} {between}"
            else:
                label = f"below at {n} of {k}"
        rows[key] = {"compared": k, "below": n, "resolved_below": int((found["low"] > 0).sum()),
                     "resolved_above": int((found["high"] < 0).sum()), "label": label}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=line) if len(line) > 1 else table.index.rename(line[0])
    return table


def _short(tokens) -> str:
    return f"{tokens / 1e6:.3g}M" if tokens >= 1e6 else f"{tokens / 1e3:.3g}k"


def gap_change(runs: pd.DataFrame, pairs: pd.DataFrame, sigma: pd.Series, dof: float, level: float = 0.95,
               line=("n_nonzero", "sparsity")) -> dict:
    """Does the sparse runs' advantage at equal compute grow with training (Fig. 5: "allowing sparse
    models to overtake them")? Over the lines (runs equal in `line`) with two or more runs that have
    a reference in `pairs`, the mean of (gap at the line's longest compared budget - gap at its
    shortest), with its interval from the seed noise (kit.chapters.fairness.difference: a run in both ends
    counts once). Returns estimate, se, half_width, low, high and lines (NaN without such a line).

        >>> dense = pd.DataFrame({"id": ["d1", "d2", "d4", "d8"], "n_nonzero": 100, "sparsity": 0.0,
        ...                       "tokens": [1000, 2000, 4000, 8000], "loss": [3.0, 2.8, 2.6, 2.4]})
        >>> sparse = pd.DataFrame({"id": ["s1", "s2", "s4"], "n_nonzero": 100, "sparsity": 0.5,
        ...                        "tokens": [1000, 2000, 4000], "loss": [2.85, 2.55, 2.3]})
        >>> dense["flops"], sparse["flops"] = dense.tokens, 2 * sparse.tokens  # a sparse run costs twice per token
        >>> pairs = fairness.match_compute(sparse, dense, "flops")  # the dense curve at each sparse run's compute
        >>> sigma = pd.Series(0.01, index=[*dense.id, *sparse.id])  # each run's seed std
        >>> change = gap_change(sparse, pairs, sigma, dof=10)  # gap at 4k tokens minus gap at 1k tokens
        >>> round(change["estimate"], 3), round(change["low"], 3), round(change["high"], 3), change["lines"]
        (0.15, 0.105, 0.195, 1)
    """
    line = list(line)
    found = runs.loc[pairs["gap"].notna(), [*line, "tokens"]]
    ends = found.groupby(line)["tokens"].agg(["idxmin", "idxmax", "size"])
    ends = ends[ends["size"] >= 2]
    if ends.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan, "lines": 0}
    change = fairness.difference(pairs.loc[ends["idxmax"]], pairs.loc[ends["idxmin"]], sigma, dof, level)
    return {**change, "lines": len(ends)}


# ----------------------------------------------------------------------------- chapter 3: the laws

PAPER = "Frantar et al. 2024"
OURS = "our runs"
# k, FLOPs per non-zero parameter and token ("6ND ... or half for encoder-decoder architecture
# models"): T5 is an encoder-decoder, ViT and our models are not.
K = {"T5/C4": 3, "ViT/JFT": 6, OURS: 6}
PAPER_S = 0.5  # the sparsity of the paper's "how much longer than Chinchilla" multiples
NEGLIGIBLE = 1e-6  # nats: a sparsity term that changes no run's loss by more than this is no term at all
TOKENS_PER_PARAMETER = 20  # the usual reading of Chinchilla: about 20 training tokens per parameter


def derived_quantities(coeffs, sparsities) -> dict:
    """Every number chapter 3 reports from a law: for each cost, the multiple from which any sparsity
    is optimal ("optimal_multiple(0, cost)"), S_opt on the Chinchilla line ("s_opt_chinchilla(cost)",
    the same at every N; read at N = 1e5), and per sparsity s the multiples "optimal_multiple(s, cost)"
    and "beats_dense_from(s, cost)" and the gain "gain(s)" (Eq. 7).

        >>> found = derived_quantities(laws.TABLE7["t5"], [0.5])
        >>> round(found["optimal_multiple(0.5, sparse)"], 2), round(found["gain(0.5)"], 3)
        (2.44, 1.587)
    """
    out = {}
    for cost in laws.COSTS:
        out[f"optimal_multiple(0, {cost})"] = float(optimal_multiple(0.0, coeffs, cost))
        C_chin = 6 * 1e5 * float(laws.chinchilla_tokens(1e5, coeffs))
        out[f"s_opt_chinchilla({cost})"] = float(chinchilla_line(C_chin, coeffs, cost, 6))
        for s in sparsities:
            out[f"optimal_multiple({s:g}, {cost})"] = float(optimal_multiple(s, coeffs, cost))
            out[f"beats_dense_from({s:g}, {cost})"] = float(beats_dense_from(s, coeffs, cost))
    for s in sparsities:
        out[f"gain({s:g})"] = float(laws.gain(s, *(coeffs[c] for c in ("a_S", "b_S", "c_S", "b_N"))))
    return out


@dataclass(frozen=True)
class OurLaw:
    """Eq. 1 fitted to our runs with its intervals (fit_our_law): fit, the kit.fit.fitting.FitResult;
    samples, one row per bootstrap resample with the coefficients and derived_quantities; table,
    estimate, low, high per coefficient and derived quantity; unidentified, True where the profile
    leaves a gain unbounded (the runs fit a sparsity term of any strength); scope, the range of the
    runs it was fitted on (grid_scope), which a verdict on the law covers. fit_our_law makes one; so
    can a law without intervals, here Table 7's T5 law:

        >>> t5 = dict(laws.TABLE7["t5"])
        >>> point = pd.Series({**t5, **derived_quantities(t5, [0.5])})  # every quantity's estimate = low = high
        >>> law = OurLaw(fitting.FitResult(t5, 0.0, np.zeros(0), 1, True), point.to_frame().T,
        ...              pd.DataFrame({"estimate": point, "low": point, "high": point}), False, "Table 7")
        >>> law.text("optimal_multiple(0.5, sparse)"), law.text("gain(0.5)", ".3g", "x")
        ('2.44x [2.44x, 2.44x]', '1.59x [1.59, 1.59]')
    """

    fit: fitting.FitResult
    samples: pd.DataFrame
    table: pd.DataFrame
    unidentified: bool
    scope: str

    @property
    def params(self) -> dict:
        return self.fit.params

    def text(self, quantity: str, fmt=None, unit="") -> str:
        """A quantity of `table` as the book prints it: a multiple with multiple_text, or, with fmt, a
        number with kit.report.claims.interval_text ("1x [1, unbounded]").

            our.text("gain(0.5)", ".3g", "x")  # "1x [1, unbounded]"
        """
        row = self.table.loc[quantity]
        if fmt is None:
            return multiple_text(row.estimate, row.low, row.high)
        return claims.interval_text(row.estimate, row.low, row.high, fmt, unit)


def fit_our_law(runs: pd.DataFrame, sparsities, *, starts=16, n_boot=200, level=0.95,
                repeats: pd.DataFrame | None = None) -> OurLaw:
    """Chapter 2's fit of Eq. 1 to `runs` (a law frame: S, N, D, loss; the paper's T5 procedure,
    kit.fit.lawfit.fit_family "ours") with intervals for every coefficient and derived_quantities at
    `sparsities`. With `repeats` (a law frame of seed repeats), each run's residual is taken over its
    sparsity's seed noise (kit.fit.lawfit.sparsity_noise), as chapter 2 fits; None: equal noise.
    Each bootstrap resample is refitted from the full fit and from four starts with a sparsity term
    (a_S a share of the capacity a_S + c_S, b_S from 1 to 100), keeping its best fit: where the full
    fit puts a_S at 0 it cannot leave that boundary alone. The coefficients and gains
    take the hull of that bootstrap and a profile likelihood (kit.fit.fitting.fit_intervals); the
    thresholds (optimal_multiple, beats_dense_from) the bootstrap's percentiles, widened to the whole
    range (1e-12 to NEVER) where the profile leaves a gain unbounded.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> round(our.params["a_S"], 6), our.scope  # the truth: the losses hold no noise
        (2.0, 'N 10k–80k, D 1M–4M tokens')
        >>> our.text("gain(0.5)", ".3g", "x"), our.text("optimal_multiple(0.5, sparse)")
        ('6.55x [6.55, 6.55]', '0.2x [0.2x, 0.2x]')
    """
    sigma = None if repeats is None else lawfit.sparsity_noise(repeats)
    fit_ours = lambda frame: lawfit.fit_family(frame, "ours", starts=starts, noise=sigma)
    fit = fit_ours(runs)
    capacity = fit.params["a_S"] + fit.params["c_S"]
    sparsity_starts = [{"a_S": share * capacity, "b_S": b_S}
                       for share, b_S in ((0.004, 1.0), (0.04, 1.0), (0.04, 10.0), (0.4, 100.0))]
    samples = fitting.bootstrap(fit_ours, runs, n_boot=n_boot, seed=0, starts=sparsity_starts)
    samples = samples.join(pd.DataFrame([derived_quantities(p, sparsities)
                                         for p in samples[list(laws.COEFF_NAMES)].to_dict("records")]))
    table = fitting.intervals(samples, level=level, estimate={**fit.params, **derived_quantities(fit.params, sparsities)})
    hull = fitting.fit_intervals(fit, lawfit.derived_quantities(sparsities), n_boot=n_boot, level=level)
    for name in hull.index.intersection(table.index):
        table.loc[name, ["low", "high"]] = hull.loc[name, ["low", "high"]].to_numpy(float)
    unidentified = bool(np.isinf(hull.loc[[f"gain({s:g})" for s in sparsities], "high"]).any())
    if unidentified:
        for name in table.index:
            if name.startswith(("optimal_multiple", "beats_dense_from")):
                table.loc[name, ["low", "high"]] = [1e-12, NEVER]
    return OurLaw(fit, samples, table, unidentified, grid_scope(runs))


def sparsity_term(runs: pd.DataFrame, our: OurLaw, sparsities) -> dict:
    """What our law's sparsity term does, as chapter 3 glues it: sparsity_effect (the most it lowers
    a run's loss against a dense model of the same N and D), sparsity_term ("vanishes" below
    NEGLIGIBLE), gain_free_share (the share of resamples whose fit has a sparsity term),
    step_share (how many of those find the same gain at every sparsity: a step), twin_gap (sparse
    minus dense loss at equal n_nonzero and tokens, averaged per budget, shortest and longest) and
    the full fit's form (term_*: kit.chapters.corelaw.term_texts). runs: a law frame with sparsity,
    n_nonzero, tokens, loss.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> words = sparsity_term(runs, our, [0.5])
        >>> words["sparsity_term"], words["twin_gap"], words["term_form"]
        ('does not vanish', '-0.072 nats at 1M tokens to -0.072 nats at 4M', 'graded')
    """
    effect_R = (laws.sparse_law(0.0, runs["N"], runs["D"], **our.params)
                - laws.sparse_law(runs["S"], runs["N"], runs["D"], **our.params))
    gain_samples = our.samples[[f"gain({s:g})" for s in sparsities]]
    with_term = gain_samples[gain_samples.max(axis=1) > 1 + NEGLIGIBLE]
    steps = (with_term.max(axis=1) / with_term.min(axis=1) < 1 + 1e-3).sum()
    twins = runs[runs["sparsity"] > 0].merge(runs[runs["sparsity"] == 0][["n_nonzero", "tokens", "loss"]],
                                             on=["n_nonzero", "tokens"], suffixes=("", "_dense"))
    twin_gap = (twins["loss"] - twins["loss_dense"]).groupby(twins["tokens"]).mean()
    return {"sparsity_effect": f"{effect_R.max():.1g} nats",
            "sparsity_term": "vanishes" if float(effect_R.max()) < NEGLIGIBLE else "does not vanish",
            "gain_free_share": f"{len(with_term) / len(gain_samples):.0%}",
            "step_share": f"all {steps}" if steps == len(with_term) else f"{steps} of {len(with_term)}",
            "twin_gap": f"{twin_gap.iloc[0]:+.3f} nats at {_short(twin_gap.index[0])} tokens to "
                        f"{twin_gap.iloc[-1]:+.3f} nats at {_short(twin_gap.index[-1])}",
            **corelaw.term_texts(our.params, [s for s in sparsities if s > 0])}


def grid_scope(runs: pd.DataFrame) -> str:
    """The range a verdict on `runs` covers, for a claim's scope: "N 13.8k–221k, D 600k–4.8M tokens"
    (n_nonzero and tokens of the runs).

        >>> grid_scope(pd.DataFrame({"n_nonzero": [13_824, 221_184], "tokens": [600_064, 4_800_512]}))
        'N 13.8k–221k, D 600k–4.8M tokens'
    """
    n, d = runs["n_nonzero"], runs["tokens"]
    return f"N {_short_count(n.min())}–{_short_count(n.max())}, D {_short(d.min())}–{_short(d.max())} tokens"


def _short_count(x) -> str:
    return f"{x / 1e6:.3g}M" if x >= 1e6 else f"{x / 1e3:.3g}k" if x >= 1e3 else f"{x:g}"


# ----------------------------------------------------------------------------- chapter 3: claims

COST_MARGIN = 0.02  # Eq. 4 describes our runs if every measured c_mul lies within this share of it
SPREAD_TOLERANCE = 1e-6  # contours parallel to the Chinchilla line: S_opt along it varies less than this
LINE_POINTS = 25  # points of the Chinchilla line across a map's compute range
PAPER_MULTIPLE = {("ViT/JFT", "sparse"): ("< 2x", 2), ("T5/C4", "sparse"): ("< 3x", 3),
                  ("ViT/JFT", "dense"): ("≈ 5x", 5), ("T5/C4", "dense"): ("≈ 70x", 70)}  # Section 3.3, at PAPER_S
FACTOR = 1.5  # "≈": within this factor either way
GAIN_MAX_WIDTH = 1.0  # Table 2 on our runs: each interval at most this wide (units of the gain)


def cost_claim(sparse_runs: pd.DataFrame, start=0.25, end=0.75, kind="cubic") -> tuple[pd.DataFrame, Claim]:
    """Does Eq. 4 (kit.laws.cmul with the window start, end, kind) describe what our sparse runs
    spend? Per sparsity a table of runs, Eq. 4, the smallest and largest measured c_mul and the
    largest relative deviation; and the claim: holds if every run's measured c_mul (cmul_measured)
    lies within ±COST_MARGIN of Eq. 4 at its final sparsity S (kit.report.claims.equivalence_verdict).

        >>> sparse_runs = pd.DataFrame({"sparsity": [0.5, 0.75], "S": [0.5, 0.75], "n_nonzero": 1000, "tokens": 1e6})
        >>> sparse_runs["cmul_measured"] = laws.cmul(sparse_runs.S.to_numpy()) * [1.005, 0.99]  # measured: within 1%
        >>> table, claim = cost_claim(sparse_runs)
        >>> claim.verdict, claim.our_runs
        ('holds', '-0.25% [-1.00%, +0.50%] vs Eq. 4')
    """
    eq4 = pd.Series(laws.cmul(sparse_runs["S"].to_numpy(), start, end, kind), index=sparse_runs.index)
    deviation = sparse_runs["cmul_measured"] / eq4 - 1
    by = sparse_runs["sparsity"]
    table = pd.DataFrame({"runs": deviation.groupby(by).size(), "Eq. 4": eq4.groupby(by).mean(),
                          "measured, smallest": sparse_runs.groupby("sparsity")["cmul_measured"].min(),
                          "measured, largest": sparse_runs.groupby("sparsity")["cmul_measured"].max(),
                          "largest deviation": deviation.groupby(by).agg(lambda d: d[d.abs().idxmax()])}).rename_axis("S")
    verdict, reason = claims.equivalence_verdict(
        deviation.mean(), deviation.min(), deviation.max(), COST_MARGIN,
        quantity="the measured c_mul relative to Eq. 4 (mean, [smallest, largest])", fmt="+.2%")
    claim = Claim(
        "optimal-cmul-eq4", PAPER,
        "A run pruned by the cubic 25–75% schedule costs $c_\\text{mul}(S)$ times the FLOPs of dense training at its "
        "final non-zeros, Eq. 4 (Section 3.3, Appendix D).",
        "ch3-cost", "Eq. 4", None,
        claims.interval_text(deviation.mean(), deviation.min(), deviation.max(), "+.2%") + " vs Eq. 4", verdict,
        f"Holds if every sparse run's measured c_mul lies within ±{COST_MARGIN:.0%} of Eq. 4 at its final sparsity; "
        f"does not hold if every one lies beyond it; otherwise not resolved.", reason,
        {"mean": deviation.mean(), "low": deviation.min(), "high": deviation.max(), "runs": len(deviation)},
        kind="implementation", scope=grid_scope(sparse_runs))
    return table, claim


def line_table(coefficient_sets: dict, compute_ranges: dict, our: OurLaw) -> pd.DataFrame:
    """S_opt along the Chinchilla line of each law (name -> coefficients; OURS for ours) and cost, at
    LINE_POINTS points across its map's compute range (name -> (log10 C low, high)): its mean
    (ours with its interval), its spread (max - min) and the multiple from which S_opt leaves 0.
    Index (law, FLOPs).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> lines = line_table({"T5/C4": laws.TABLE7["t5"], OURS: our.params}, {"T5/C4": (15, 27), OURS: (9, 16)}, our)
        >>> lines[["S_opt on the Chinchilla line"]]
                        S_opt on the Chinchilla line
        law      FLOPs
        T5/C4    dense                         0.000
                 sparse                        0.425
        our runs dense          0.469 [0.469, 0.469]
                 sparse         0.629 [0.629, 0.629]
    """
    rows = []
    for name, coeffs in coefficient_sets.items():
        C_line = np.logspace(*compute_ranges[name], LINE_POINTS)
        for cost in laws.COSTS:
            s_line = chinchilla_line(C_line, coeffs, cost, K[name])
            if name == OURS:
                on_line, leaves = our.text(f"s_opt_chinchilla({cost})", ".3f"), our.text(f"optimal_multiple(0, {cost})")
            else:
                on_line, leaves = f"{s_line.mean():.3f}", multiple_text(optimal_multiple(0.0, coeffs, cost))
            rows.append({"law": name, "FLOPs": cost, "S_opt on the Chinchilla line": on_line,
                         "its spread (max − min)": float(np.ptp(s_line)), "S_opt > 0 from (× Chinchilla)": leaves})
    return pd.DataFrame(rows).set_index(["law", "FLOPs"])


def parallel_claim(lines: pd.DataFrame) -> Claim:
    """All optimal-sparsity contours parallel to the Chinchilla line (line_table's spreads): holds if
    every law's and cost's spread is below SPREAD_TOLERANCE.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> lines = line_table({"T5/C4": laws.TABLE7["t5"], OURS: our.params}, {"T5/C4": (15, 27), OURS: (9, 16)}, our)
        >>> parallel_claim(lines).verdict
        'holds'
    """
    spread = lines["its spread (max − min)"]
    paper, ours, largest = spread.drop(OURS, level="law"), spread.xs(OURS, level="law"), float(spread.max())
    return Claim(
        "optimal-contours-parallel", PAPER,
        "All optimal-sparsity contours are parallel to the Chinchilla compute-optimal line (Section 3.3).",
        "ch3-contours", "parallel, by construction", f"S_opt spread along the line ≤ {paper.max():.1e}",
        f"S_opt spread along the line ≤ {ours.max():.1e}",
        "holds" if largest < SPREAD_TOLERANCE else "does not hold",
        f"Holds if, for each law (Table 7's T5 and ViT, ours) and cost, S_opt at {LINE_POINTS} points of the Chinchilla "
        f"line across the map's compute range varies by less than {SPREAD_TOLERANCE:.0e}.".replace("e-0", "e-"),
        f"The largest spread of S_opt along the Chinchilla line, over the three laws and both costs, is {largest:.1e}.",
        {"largest_spread": largest}, kind="published", scope=None)


def line_claims(table7: dict, our: OurLaw, level=0.95) -> tuple[Claim, Claim]:
    """Under sparse FLOPs a non-zero sparsity is already optimal on the Chinchilla line: from Table 7
    (table7: name -> coefficients of T5/C4 and ViT/JFT; holds if for both the multiple from which
    S_opt leaves 0 is below 1) and for our law (bound_verdict on its interval: below 1 holds, above 1
    does not hold, else not resolved).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> table7 = {"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}
        >>> claim_table7, claim_ours = line_claims(table7, our)
        >>> claim_table7.verdict, claim_ours.verdict
        ('holds', 'holds')
        >>> claim_table7.authors_data
        'T5/C4: S_opt 0.425, > 0 from 0.0238x, ViT/JFT: S_opt 0.351, > 0 from 0.422x'
    """
    leaves = {name: float(optimal_multiple(0.0, coeffs, "sparse")) for name, coeffs in table7.items()}
    on_line = {name: float(derived_quantities(coeffs, [])["s_opt_chinchilla(sparse)"]) for name, coeffs in table7.items()}
    below = all(m < 1 for m in leaves.values())
    statement = "Under sparse FLOPs a non-zero sparsity is already optimal on the Chinchilla line (Section 3.3)"
    claim_table7 = Claim(
        "optimal-chinchilla-line-table7", PAPER, statement + ", from Table 7.", "ch3-contours",
        "S_opt > 0 on the line (sparse FLOPs)",
        ", ".join(f"{name}: S_opt {on_line[name]:.3f}, > 0 from {multiple_text(m)}" for name, m in leaves.items()), None,
        "holds" if below else "does not hold",
        "Holds if, for both of Table 7's laws, the compute from which S_opt leaves 0 under sparse FLOPs is below the "
        "Chinchilla compute of the same N.",
        "S_opt leaves 0 at " + " and ".join(f"{multiple_text(m)} ({name})" for name, m in leaves.items())
        + (" the Chinchilla compute: below it for both." if below else " the Chinchilla compute: not below it for both."),
        {f"optimal_multiple_0_sparse_{name[:2].lower()}": m for name, m in leaves.items()}, kind="published")
    row = our.table.loc["optimal_multiple(0, sparse)"]
    verdict, reason = bound_verdict(row.estimate, row.low, row.high, 1, -1,
                                    quantity="the compute, in Chinchilla multiples, from which S_opt leaves 0")
    claim_ours = Claim(
        "optimal-chinchilla-line-ours", PAPER, statement + ", for our law.", "ch3-contours",
        "S_opt > 0 on the line (sparse FLOPs)", None, f"S_opt > 0 from {our.text('optimal_multiple(0, sparse)')}", verdict,
        f"Holds if the {level:.0%} interval of the compute from which S_opt leaves 0 under sparse FLOPs lies below the "
        f"Chinchilla compute (1x); does not hold if it lies above; otherwise not resolved.", reason,
        {"estimate": row.estimate, "low": row.low, "high": row.high}, kind="own runs", scope=our.scope)
    return claim_table7, claim_ours


def _multiple_verdict(estimate, low, high, name, cost, quantity):
    said, value = PAPER_MULTIPLE[name, cost]
    if cost == "sparse":
        return bound_verdict(estimate, low, high, value, -1, quantity=quantity)
    return factor_verdict(estimate, low, high, value, FACTOR, quantity=quantity)


def _band(name, cost) -> str:
    said, value = PAPER_MULTIPLE[name, cost]
    return f"below {value:g}x" if cost == "sparse" else f"within a factor {FACTOR:g} of {value:g}x"


def multiples_claim_table7(table7: dict) -> Claim:
    """Section 3.3's four multiples from Table 7 (table7: name -> coefficients of T5/C4 and ViT/JFT):
    PAPER_S optimal from below 2x (ViT) and 3x (T5) the Chinchilla compute under sparse FLOPs
    (bound_verdict) and within FACTOR of 5x and 70x under dense FLOPs (factor_verdict); holds if all
    four hold (kit.chapters.corelaw.combine_verdicts).

        >>> claim = multiples_claim_table7({"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]})
        >>> claim.verdict, claim.authors_data
        ('holds', '1.68x (ViT/JFT sparse), 2.44x (T5/C4 sparse), 4.82x (ViT/JFT dense), 70.2x (T5/C4 dense)')
    """
    found = {f"{name} {cost}": float(optimal_multiple(PAPER_S, table7[name], cost)) for name, cost in PAPER_MULTIPLE}
    parts = [_multiple_verdict(m, m, m, name, cost, f"the {name} multiple under {cost} FLOPs")
             for (name, cost), m in zip(PAPER_MULTIPLE, found.values())]
    verdict, reason = corelaw.combine_verdicts(parts)
    return Claim(
        "optimal-multiples-table7", PAPER,
        f"{PAPER_S:.0%} sparsity is optimal from < 2x (ViT) and < 3x (T5) the Chinchilla compute with sparse FLOPs, "
        f"from about 5x and 70x with dense FLOPs (Section 3.3), from Table 7.",
        "ch3-longer", "; ".join(", ".join(said for (_, c), (said, _) in PAPER_MULTIPLE.items() if c == cost)
                                for cost in ("sparse", "dense")),
        ", ".join(f"{multiple_text(m)} ({k})" for k, m in found.items()), None,
        verdict,
        f"Holds if, from Table 7, S = {PAPER_S:g} is optimal from " + "; ".join(
            f"{_band(name, cost)} the Chinchilla compute ({name}, {cost} FLOPs)" for name, cost in PAPER_MULTIPLE)
        + "; all four must hold.", reason, found, kind="published")


def multiple_claims_ours(our: OurLaw, level=0.95) -> dict:
    """The T5 multiples of Section 3.3 for our law (a language model, beside T5), one claim per cost
    (cost -> Claim): under sparse FLOPs holds if the `level` interval of our multiple at PAPER_S
    lies wholly below 3x (bound_verdict); under dense FLOPs if it lies wholly within FACTOR of 70x
    (factor_verdict); not resolved where the interval straddles the bound or band.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> found = multiple_claims_ours(our, level=0.95)
        >>> found["sparse"].verdict, found["dense"].verdict  # 0.2x: below 3x; 1.33x: not within 1.5 of 70x
        ('holds', 'does not hold')
    """
    out = {}
    for cost in ("sparse", "dense"):
        key = f"optimal_multiple({PAPER_S:g}, {cost})"
        row = our.table.loc[key]
        verdict, reason = _multiple_verdict(row.estimate, row.low, row.high, "T5/C4", cost,
                                            f"our multiple at S = {PAPER_S:g} under {cost} FLOPs")
        said, _ = PAPER_MULTIPLE["T5/C4", cost]
        vit, _ = PAPER_MULTIPLE["ViT/JFT", cost]
        out[cost] = Claim(
            f"optimal-multiple-{cost}-ours", PAPER,
            (f"With sparse FLOPs, {PAPER_S:.0%} sparsity is optimal from {said} the Chinchilla compute (T5; ViT: {vit}), "
             f"for our law." if cost == "sparse" else
             f"With dense FLOPs, {PAPER_S:.0%} sparsity is optimal from about {said[2:]} the Chinchilla compute (T5; ViT: "
             f"about {vit[2:]}), for our law."),
            "ch3-longer", said, None, f"{our.text(key)} at S = {PAPER_S:g}", verdict,
            f"Holds if the {level:.0%} interval of our multiple lies wholly {_band('T5/C4', cost)}, does not hold if "
            f"wholly {'above' if cost == 'sparse' else 'outside'}, otherwise not resolved.",
            reason, {"estimate": row.estimate, "low": row.low, "high": row.high}, kind="own runs", scope=our.scope)
    return out


def table2_tested(sparsities) -> dict:
    """Table 2's printed gains at those of `sparsities` it has: family -> {S: gain}.

        >>> table2_tested([0.5, 0.9])
        {'T5/C4': {0.5: 1.59}, 'ViT/JFT': {0.5: 1.6}}
    """
    return {family: {s: g for s, g in corelaw.TABLE2[family].items() if any(abs(s - t) < 1e-9 for t in sparsities)}
            for family in corelaw.TABLE2}


def _percent(s) -> str:
    return f"{100 * s:g}%"


def gains_claims(table7: dict, our: OurLaw, sparsities, level=0.95) -> list:
    """Table 2 at the sparsities of `sparsities` it prints (table2_tested; no claim where there is
    none): from Table 7 (table7: family -> coefficients; holds if every computed gain, Eq. 7, rounds
    to the printed one at two decimals) and for our law against T5's row (kit.chapters.corelaw.
    gains_verdict: each printed gain inside our `level` interval, every interval at most
    GAIN_MAX_WIDTH wide). Statements and numbers name the tested sparsities only.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> table7 = {"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}
        >>> [(c.key, c.verdict) for c in gains_claims(table7, our, [0.5])]  # our 6.55x is not T5's 1.59x
        [('optimal-table2-table7', 'holds'), ('optimal-table2-ours', 'does not hold')]
    """
    table2 = table2_tested(sparsities)
    if not table2["T5/C4"]:
        return []
    tested = list(table2["T5/C4"])
    at = ", ".join(_percent(s) for s in tested)
    printed_t5 = ", ".join(f"{g:.2f}x" for g in table2["T5/C4"].values())
    printed_vit = ", ".join(f"{g:.2f}x" for g in table2["ViT/JFT"].values())
    computed = {family: {s: float(laws.gain(s, *(table7[family][c] for c in ("a_S", "b_S", "c_S", "b_N"))))
                         for s in table2[family]} for family in table2}
    printed = [(family, s, g) for family in table2 for s, g in table2[family].items()]
    rounded = sum(round(computed[family][s], 2) == g for family, s, g in printed)
    claim_table7 = Claim(
        "optimal-table2-table7", PAPER,
        f"Table 2: a sparse model with $N$ non-zeros matches a dense one of {printed_t5} (T5) and {printed_vit} (ViT) "
        f"its size at {at} sparsity; from Table 7.",
        "ch3-gains", f"T5 {printed_t5}; ViT {printed_vit}",
        "; ".join(f"{family} " + ", ".join(f"{g:.3f}x" for g in computed[family].values()) for family in table2), None,
        "holds" if rounded == len(printed) else "does not hold",
        "Holds if every gain computed from Table 7 (Eq. 7) rounds to Table 2's at two decimals.",
        f"{rounded} of {len(printed)} computed gains round to Table 2's.", {"rounded": rounded, "printed": len(printed)},
        kind="published")
    verdict, reason = corelaw.gains_verdict(our.table, table2["T5/C4"], max_width=GAIN_MAX_WIDTH)
    claim_ours = Claim(
        "optimal-table2-ours", PAPER, f"Table 2's gains (T5: {printed_t5} at {at} sparsity), for our law.",
        "ch3-gains", printed_t5, None, ", ".join(our.text(f"gain({s:g})", ".3g", "x") for s in tested), verdict,
        f"Holds if each of T5's Table 2 gains lies inside our {level:.0%} interval and every interval is at most "
        f"{GAIN_MAX_WIDTH:g} wide; does not hold if any lies outside; otherwise not resolved.", reason,
        {f"gain_{s:g}": our.table.loc[f"gain({s:g})", "estimate"] for s in tested}, kind="own runs", scope=our.scope)
    return [claim_table7, claim_ours]


def overtaking_claim(change: dict, wins: dict, level=0.95, scope=None) -> Claim:
    """With longer training the comparison at equal sparse compute moves towards the sparse runs
    (Fig. 5): change is gap_change's output, wins kit.chapters.fairness.win_counts' for the same pairs.
    Holds if the `level` interval of the mean change of the gap excludes 0 above
    (kit.report.claims.direction_verdict), does not hold if below; not resolved without a line of two
    compared runs.

        >>> dense = pd.DataFrame({"id": ["d1", "d2", "d4", "d8"], "n_nonzero": 100, "sparsity": 0.0,
        ...                       "tokens": [1000, 2000, 4000, 8000], "loss": [3.0, 2.8, 2.6, 2.4]})
        >>> sparse = pd.DataFrame({"id": ["s1", "s2", "s4"], "n_nonzero": 100, "sparsity": 0.5,
        ...                        "tokens": [1000, 2000, 4000], "loss": [2.85, 2.55, 2.3]})
        >>> dense["flops"], sparse["flops"] = dense.tokens, 2 * sparse.tokens  # a sparse run costs twice per token
        >>> pairs = fairness.match_compute(sparse, dense, "flops")  # the dense curve at each sparse run's compute
        >>> sigma = pd.Series(0.01, index=[*dense.id, *sparse.id])  # each run's seed std
        >>> claim = overtaking_claim(gap_change(sparse, pairs, sigma, 10), fairness.win_counts(pairs, sigma, 10))
        >>> claim.verdict, claim.our_runs
        ('holds', 'gap change +0.150 nats [+0.105, +0.195] over 1 lines; 2 of 3 runs below the dense curve')
    """
    numbers = {k: float(v) for k, v in change.items() if np.isfinite(v)}
    numbers |= {f"wins_{k}": float(v) for k, v in wins.items()}
    if change["lines"]:
        verdict, reason = claims.direction_verdict(change["estimate"], change["low"], change["high"], +1,
                                                   quantity="the mean change of the gap", unit=" nats", fmt="+.3f")
        said = (f"gap change {claims.interval_text(change['estimate'], change['low'], change['high'], '+.3f', ' nats')} "
                f"over {change['lines']} lines; ")
    else:
        verdict, reason, said = "not resolved", "No line has two or more sparse runs with a dense run at equal compute.", ""
    return Claim(
        "optimal-overtaking", PAPER,
        "With longer training the comparison at equal (sparse) compute moves in the sparse models' favour: 'the gains "
        "of further training dense models start to slow down' (Section 3.3, Fig. 5). Whether sparse runs overtake dense "
        "ones within our budgets is chapter 1's equal-compute claim.",
        "ch3-overtaking", "the gap moves towards sparse (Fig. 5)", None,
        said + f"{wins['lower']} of {wins['pairs']} runs below the dense curve", verdict,
        f"Holds if the {level:.0%} interval of the mean change, over the lines of one target N and sparsity, of the gap "
        f"(dense at equal sparse model FLOPs − sparse) from the line's shortest to its longest compared budget excludes 0 "
        f"above; does not hold if it excludes 0 below; otherwise not resolved.", reason, numbers,
        kind="own runs", scope=scope)


# ----------------------------------------------------------------------------- chapter 3: tables


def multiple_samples(samples: pd.DataFrame, S, cost, level=0.95) -> tuple[float, float]:
    """The `level` percentile interval of optimal_multiple(S, ., cost) over bootstrap samples of a law's
    coefficients (one row per resample, columns kit.laws.COEFF_NAMES: a Law's samples file,
    kit.planner.plan.read_samples).

        >>> from kit.planner.plan import read_samples
        >>> vit_samples = read_samples(laws.TABLE7["vit"].samples)  # bootstrap refits of the authors' ViT runs
        >>> [round(v, 2) for v in multiple_samples(vit_samples, 0.5, "sparse")]
        [1.51, 1.84]
    """
    values = [optimal_multiple(S, row, cost) for row in samples[list(laws.COEFF_NAMES)].to_dict("records")]
    return tuple(float(v) for v in np.quantile(values, [(1 - level) / 2, (1 + level) / 2]))


def multiple_table(coefficient_sets: dict, samples: dict, our: OurLaw, level=0.95) -> pd.DataFrame:
    """From when PAPER_S is optimal, per law (name -> coefficients; OURS for ours) and cost: the
    paper's statement, C / C_chin(N) with its `level` interval (ours from our bootstrap; another law's
    from samples[name], its bootstrap samples, where given), the same read as training tokens per
    parameter at the usual TOKENS_PER_PARAMETER of Chinchilla, and the data the sparse run sees,
    D_S / D_chin(N) = the multiple / c_mul(S). Index (law, FLOPs).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> from kit.planner.plan import read_samples
        >>> vit_samples = read_samples(laws.TABLE7["vit"].samples)  # bootstrap refits of the authors' ViT runs
        >>> table = multiple_table({"ViT/JFT": laws.TABLE7["vit"], OURS: our.params}, {"ViT/JFT": vit_samples}, our)
        >>> table[["C / C_chin"]]
                                   C / C_chin
        law      FLOPs
        ViT/JFT  dense   4.82x [3.92x, 6.39x]
                 sparse  1.68x [1.51x, 1.84x]
        our runs dense   1.33x [1.33x, 1.33x]
                 sparse     0.2x [0.2x, 0.2x]
    """
    rows = []
    for name, coeffs in coefficient_sets.items():
        for cost in laws.COSTS:
            c_mul = laws.cmul_dense(PAPER_S) if cost == "dense" else laws.cmul(PAPER_S)
            if name == OURS:
                row = our.table.loc[f"optimal_multiple({PAPER_S:g}, {cost})"]
                m, low, high = row.estimate, row.low, row.high
            else:
                m = float(optimal_multiple(PAPER_S, coeffs, cost))
                low, high = multiple_samples(samples[name], PAPER_S, cost, level) if name in samples else (None, None)
            ends = () if low is None else (low, high)
            scaled = lambda factor: [v if v >= NEVER else v * factor for v in (m, *ends)]  # "never" stays never
            tokens = scaled(TOKENS_PER_PARAMETER)
            rows.append({"law": name, "FLOPs": cost, f"paper (S = {PAPER_S:g})": PAPER_MULTIPLE.get((name, cost), ("–",))[0],
                         "C / C_chin": multiple_text(m, *ends),
                         f"tokens per parameter (× {TOKENS_PER_PARAMETER})": multiple_text(*tokens).replace("x", ""),
                         "D_S / D_chin (data the run sees)": multiple_text(*scaled(1 / c_mul))})
    return pd.DataFrame(rows).set_index(["law", "FLOPs"])


def pay_table(coefficient_sets: dict, our: OurLaw, sparsities) -> pd.DataFrame:
    """Per law (OURS with intervals), cost and sparsity: the multiples from which it beats dense
    (beats_dense_from) and from which it is optimal (optimal_multiple). Index (law, FLOPs, S).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> pay_table({"T5/C4": laws.TABLE7["t5"], OURS: our.params}, our, [0.5])
                                       beats dense from          optimal from
        law      FLOPs  S
        T5/C4    dense  0.5                       13.8x                 70.2x
                 sparse 0.5                      0.247x                 2.44x
        our runs dense  0.5     0.231x [0.231x, 0.231x]  1.33x [1.33x, 1.33x]
                 sparse 0.5  0.0272x [0.0272x, 0.0272x]     0.2x [0.2x, 0.2x]
    """
    rows = {}
    for name, coeffs in coefficient_sets.items():
        for cost in laws.COSTS:
            for s in sparsities:
                keys = [f"beats_dense_from({s:g}, {cost})", f"optimal_multiple({s:g}, {cost})"]
                cells = ([our.text(k) for k in keys] if name == OURS else
                         [multiple_text(beats_dense_from(s, coeffs, cost)), multiple_text(optimal_multiple(s, coeffs, cost))])
                rows[(name, cost, f"{s:g}")] = dict(zip(["beats dense from", "optimal from"], cells))
    return pd.DataFrame(rows).T.rename_axis(["law", "FLOPs", "S"])


def gain_table(table7: dict, our: OurLaw, sparsities) -> pd.DataFrame:
    """Eq. 7's gains per law at `sparsities`: Table 7's (table7: family -> coefficients) with Table
    2's printed value in brackets where it has one, ours with its interval.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> gain_table({"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}, our, [0.5])
                                              S = 0.5
        law (Table 2 in brackets)
        T5/C4                          1.587x (1.59x)
        ViT/JFT                        1.596x (1.60x)
        our runs                   6.55x [6.55, 6.55]
    """
    printed = table2_tested(sparsities)
    rows = {family: {f"S = {s:g}": f"{laws.gain(s, *(coeffs[c] for c in ('a_S', 'b_S', 'c_S', 'b_N'))):.3f}x"
                     + (f" ({printed[family][s]:.2f}x)" if s in printed[family] else "") for s in sparsities}
            for family, coeffs in table7.items()}
    rows[OURS] = {f"S = {s:g}": our.text(f"gain({s:g})", ".3g", "x") for s in sparsities}
    return pd.DataFrame(rows).T.rename_axis("law (Table 2 in brackets)")


# ----------------------------------------------------------------------------- chapter 3: figures

# pruning windows whose c_mul the chapter compares (kit.laws.cmul's start, end, kind)
SCHEDULES = {"cubic 25–75% (Eq. 4, paper)": dict(start=0.25, end=0.75, kind="cubic"),
             "geometric 25–75%": dict(start=0.25, end=0.75, kind="geometric"),
             "cubic 0–100%": dict(start=0.0, end=1.0, kind="cubic"),
             "cubic 10–50%": dict(start=0.1, end=0.5, kind="cubic"),
             "cubic 50–90%": dict(start=0.5, end=0.9, kind="cubic")}
DENSE_BELOW = 0.01  # a map's grey: S_opt below this, dense optimal


def sopt_maps(coefficient_sets: dict, ranges: dict, n_grid: int) -> dict:
    """S_opt over each law's map (name -> (log10 N range, log10 C range)) for both costs:
    {(name, cost): (N, C, S_opt_NxC)} on n_grid x n_grid points (kit.laws.s_opt, k from K).

        >>> maps = sopt_maps({"T5/C4": laws.TABLE7["t5"]}, {"T5/C4": ((6, 11), (15, 27))}, 50)
        >>> N, C, S_opt_NxC = maps["T5/C4", "sparse"]
        >>> list(maps), S_opt_NxC.shape, round(float(S_opt_NxC.max()), 3)
        ([('T5/C4', 'dense'), ('T5/C4', 'sparse')], (50, 50), 0.9...)
    """
    out = {}
    for name, (range_N, range_C) in ranges.items():
        N, C = np.logspace(*range_N, n_grid), np.logspace(*range_C, n_grid)
        for cost in laws.COSTS:
            out[name, cost] = (N, C, laws.s_opt(N[:, None], C[None, :], coefficient_sets[name], cost, K[name]))
    return out


def uniform_laws(maps: dict) -> list:
    """The laws whose S_opt maps (sopt_maps) hold one colour at both costs: dense optimal (below
    DENSE_BELOW) everywhere, or one band throughout. Such a map is not drawn.

        >>> flat = {**laws.TABLE7["t5"], "a_S": 0.0}  # no sparsity term: dense is optimal everywhere
        >>> uniform_laws(sopt_maps({"T5/C4": laws.TABLE7["t5"], OURS: flat}, {"T5/C4": ((6, 11), (15, 27)),
        ...                                                                     OURS: ((3, 7), (9, 16))}, 20))
        ['our runs']
    """
    names = dict.fromkeys(name for name, _ in maps)
    return [name for name in names
            if all(np.ptp(S) < DENSE_BELOW or (S < DENSE_BELOW).all() for (n, _), (_, _, S) in maps.items() if n == name)]


def contour_figure(coefficient_sets: dict, maps: dict, sparsities, titles: dict, points=None):
    """Optimal-sparsity maps (sopt_maps), one column per law not in uniform_laws, dense costs on top
    and sparse costs below, with each law's Chinchilla line and the contours of `sparsities` in
    white; one colour bar. points: {(name, cost): (label, C, N)} runs to mark on a map. Returns the
    figure.

        >>> maps = sopt_maps({"T5/C4": laws.TABLE7["t5"]}, {"T5/C4": ((6, 11), (15, 27))}, 20)
        >>> fig = contour_figure({"T5/C4": laws.TABLE7["t5"]}, maps, [0.5, 0.75], {"T5/C4": "T5/C4 (Table 7)"})
        >>> sum(bool(ax.get_title()) for ax in fig.axes)  # a panel per cost: dense FLOPs above, sparse below
        2
    """
    names = [name for name in dict.fromkeys(n for n, _ in maps) if name not in uniform_laws(maps)]
    fig, axes = plots.panel_grid(2 * len(names), aspect=1.0, per_row=len(names))
    for row, cost in enumerate(laws.COSTS):
        for col, name in enumerate(names):
            ax, (N, C, S_opt_NxC) = axes[len(names) * row + col], maps[name, cost]
            plots.plot_sopt_contours(ax, N, C, S_opt_NxC, lines=(), colorbar=False, legend=None, dense_below=DENSE_BELOW,
                                     chinchilla=(C, laws.chinchilla_n_opt(C, coefficient_sets[name], K[name])))
            tabled = [s for s in sparsities if S_opt_NxC.min() < s < S_opt_NxC.max()]
            if tabled:  # the tabled sparsities as white lines, unlabelled: the colour bar names the bands
                ax.contour(C, N, S_opt_NxC, levels=tabled, colors="white", linewidths=0.8)
            if (name, cost) in (points or {}):
                label, C_runs, N_runs = points[name, cost]
                ax.scatter(C_runs, N_runs, s=5, color="k", label=label)
            ax.set_title(f"{titles[name]}\n{cost} FLOPs", fontsize=10)
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=3))
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=6))
            ax.set_ylabel("non-zeros $N$" if col == 0 else "")
            ax.set_xlabel("compute $C$ (FLOPs)" if row else "")
    bands = next(c for c in axes[0].collections if isinstance(c, matplotlib.contour.ContourSet))
    fig.colorbar(bands, ax=axes, orientation="horizontal", location="bottom", format="%g", shrink=0.6, aspect=40,
                 pad=0.02, label=f"optimal sparsity $S_\\mathrm{{opt}}$ (grey: below {DENSE_BELOW:g}, dense optimal)")
    plots.legend_outside(fig)
    return fig


def multiple_figure(coefficient_sets: dict, run_span, top=1e6):
    """The two multiples against S for every law (name -> coefficients): from when S is optimal
    (optimal_multiple, left) and from when it beats dense (beats_dense_from, right); colour the law,
    dashed dense FLOPs; a law that never pays is named "never: not drawn". run_span: the multiples
    our sparse runs span (run_multiples), a grey band. Returns the figure.

        >>> run_span = run_multiples(0.5, [1e8, 2e8], [1e10, 4e10], laws.TABLE7["t5"], "sparse")  # two runs
        >>> fig = multiple_figure({"T5/C4": laws.TABLE7["t5"]}, run_span)
        >>> [ax.get_title() for ax in fig.axes]
        ['from when $S$ is optimal', 'from when $S$ beats dense']
    """
    S_curve = np.linspace(0.02, 0.95, 120)
    fig, axes = plots.panel_grid(2, aspect=0.85, sharey=True)
    curves = {"from when $S$ is optimal": optimal_multiple, "from when $S$ beats dense": beats_dense_from}
    law_colour = dict(zip(coefficient_sets, ("C0", "C1", "k")))
    for ax, (title, f) in zip(axes, curves.items()):
        keys = [(name, cost) for name in coefficient_sets for cost in laws.COSTS]
        values = {key: f(S_curve, coefficient_sets[key[0]], key[1]) for key in keys}
        labelled = {f"{name}, {cost} FLOPs" + (" (never: not drawn)" if np.all(v >= NEVER) else
                                               " (above the panel)" if np.all(v > top) else ""): v
                    for (name, cost), v in values.items()}
        plots.plot_chinchilla_multiple(ax, S_curve, labelled, legend=None)
        for drawn, (name, cost) in zip(ax.lines, keys):  # colour: the law; dashed: dense FLOPs
            drawn.set(color=law_colour[name], linestyle="--" if cost == "dense" else "-")
        ax.set_title(title)
        ax.set_ylabel("$C / C_\\mathrm{chin}(N)$" if ax is axes[0] else "")
        ax.set_ylim(1e-2, top)
        ax.axhspan(np.min(run_span), np.max(run_span), color="0.85", zorder=0,
                   label="our sparse runs (sparse FLOPs, our law)")
    plots.legend_outside(fig, ncols=2)
    return fig


def overtaking_figure(runs: pd.DataFrame, gaps: pd.Series, n_nonzero):
    """Fig. 5's analogue: per target N (n_nonzero, one panel each), loss against sparse model FLOPs,
    one line per sparsity through its budgets in the book's sparsity colours; squares the dense
    curve, a filled circle a sparse run below it at equal compute (gaps > 0: fairness.match_compute's
    gap by run index), an open one above, a dot where no dense run brackets its compute. Returns the
    figure.

        >>> dense = pd.DataFrame({"id": ["d1", "d2", "d4", "d8"], "n_nonzero": 100, "sparsity": 0.0,
        ...                       "tokens": [1000, 2000, 4000, 8000], "loss": [3.0, 2.8, 2.6, 2.4]})
        >>> sparse = pd.DataFrame({"id": ["s1", "s2", "s4"], "n_nonzero": 100, "sparsity": 0.5,
        ...                        "tokens": [1000, 2000, 4000], "loss": [2.85, 2.55, 2.3]})
        >>> dense["flops"], sparse["flops"] = dense.tokens, 2 * sparse.tokens  # a sparse run costs twice per token
        >>> pairs = fairness.match_compute(sparse, dense, "flops")  # the dense curve at each sparse run's compute
        >>> sigma = pd.Series(0.01, index=[*dense.id, *sparse.id])  # each run's seed std
        >>> runs = pd.concat([dense, sparse]).assign(model_flops_sparse=lambda f: f.flops)
        >>> fig = overtaking_figure(runs, pairs["gap"], [100])
        >>> fig.axes[0].get_title()
        'target N = 100'
    """
    s_values = sorted(runs["sparsity"].unique())
    colours = plots.sparsity_palette(s_values)
    spare = len(n_nonzero) % 3 != 0  # a free cell in the last row holds the legend
    fig, axes = plots.panel_grid(len(n_nonzero) + spare, aspect=0.9, sharey=True)
    for ax, n in zip(axes, n_nonzero):
        for s in s_values:
            line = runs[(runs["n_nonzero"] == n) & (runs["sparsity"] == s)].sort_values("model_flops_sparse")
            if line.empty:
                continue
            C_line = line["model_flops_sparse"] / 1e12
            if s == 0:  # the dense curve itself
                ax.plot(C_line, line["loss"], "s-", ms=4, color=colours[s], lw=1.2, label="S = 0 (the dense curve)")
                continue
            ax.plot(C_line, line["loss"], "-", color=colours[s], lw=1.2, label=f"S = {s:g}")
            gap = gaps.reindex(line.index)
            for at, face in ((gap > 0, colours[s]), (gap <= 0, "white")):
                ax.plot(C_line[at], line.loc[at, "loss"], "o", ms=5, color=colours[s], mfc=face)
            ax.plot(C_line[gap.isna()], line.loc[gap.isna(), "loss"], ".", ms=4, color=colours[s])
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"target N = {plots.short_number(n)}")
    for ax in axes[::3]:
        ax.set_ylabel("validation loss (nats/byte)")
    fig.supxlabel("model FLOPs spent, sparse count ($10^{12}$)", fontsize=plt.rcParams["axes.labelsize"])
    axes[0].plot([], [], "ko", ms=5, label="sparse, below the dense curve")
    axes[0].plot([], [], "ko", ms=5, mfc="white", label="sparse, above it")
    axes[0].plot([], [], "k.", ms=4, label="no dense run at equal compute")
    if spare:
        entries = {}
        for ax in axes[:-1]:
            entries.update({label: h for h, label in zip(*ax.get_legend_handles_labels()) if label not in entries})
        axes[-1].axis("off")
        axes[-1].legend(list(entries.values()), list(entries), loc="center", frameon=False).set_in_layout(False)
    else:
        plots.legend_outside(fig, ncols=3)
    return fig


def gain_words(table7: dict, our: OurLaw, sparsities, found: list) -> dict:
    """Chapter 3's words on the gains at `sparsities`: the verdicts of gains_claims' claims (`found`;
    "is not tested" where there are none), gains_rounded (how many computed gains round to Table
    2's), gains_apart (the largest difference of Table 7's computed T5 and ViT gains),
    gains_printed_apart (of Table 2's printed ones, "–" where none is tested), gains_ours (ours with
    intervals), gain_ours_highest (the highest upper end of ours) and gains_ours_reading (what that
    end says).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> table7 = {"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}
        >>> words = gain_words(table7, our, [0.5], gains_claims(table7, our, [0.5]))
        >>> words["gains_rounded"], words["gains_ours"]
        ('2 of 2', '6.55x [6.55, 6.55] at S = 0.5')
    """
    untested = "is not tested (no sparsity of Table 2 among table_sparsities)"
    words = {f"{key}_verdict": next((claims.verb(c.verdict) for c in found if c.key == key), untested)
             for key in ("optimal-table2-table7", "optimal-table2-ours")}
    words["gains_rounded"] = (f"{found[0].numbers['rounded']:.0f} of {found[0].numbers['printed']:.0f}" if found
                              else "none")
    printed = table2_tested(sparsities)
    computed = {family: [laws.gain(s, *(coeffs[c] for c in ("a_S", "b_S", "c_S", "b_N"))) for s in sparsities]
                for family, coeffs in table7.items()}
    apart = max(abs(t5 - vit) for t5, vit in zip(computed["T5/C4"], computed["ViT/JFT"]))
    printed_apart = [abs(printed["T5/C4"][s] - printed["ViT/JFT"][s]) for s in printed["T5/C4"]]
    highest = max(our.table.loc[f"gain({s:g})", "high"] for s in sparsities)
    return words | {"gains_apart": f"{apart:.4f}", "gains_printed_apart": f"{max(printed_apart):.2f}" if printed_apart else "–",
            "gains_ours": ", ".join(f"{our.text(f'gain({s:g})', '.3g', 'x')} at S = {s:g}" for s in sparsities),
            "gain_ours_highest": corelaw.width_text(highest, ".3g") + ("" if np.isinf(highest) else "x"),
            "gains_ours_reading": "the profile leaves the upper ends of their intervals unbounded: our runs rule out "
            "neither T5's gains nor larger ones, and credit sparsity with nothing they can pin" if np.isinf(highest) else
            f"even the upper ends of their intervals, at most {highest:.3g}x, fall short of T5's smallest gain: at equal "
            "$N$ and $D$ our law credits sparsity with almost nothing"}


# ----------------------------------------------------------------------------- chapter 3: words


def read_runs(store, corpus, grids_: dict) -> tuple[dict, pd.DataFrame]:
    """The runs of each grid (name -> list of RunConfig) from `store` (kit.engine.store.RunStore;
    missing runs are trained on `corpus`): ({name: law frame of its finished runs}, every run's
    record once, finished or not).

        >>> from kit.engine import data, grids, store
        >>> ok, every_run = read_runs(store.RunStore("runs"), data.load_corpus(None), {"main grid": grids.main_grid()})
        >>> len(ok["main grid"]), sorted(ok["main grid"].sparsity.unique().tolist())  # stored: nothing trains
        (80, [0.0, 0.5, 0.75, 0.875])
    """
    frames = {name: run_sweep(configs, store=store, corpus=corpus, progress=False) for name, configs in grids_.items()}
    ok = {name: law_frame(frame[frame["status"] == "ok"].reset_index(drop=True)) for name, frame in frames.items()}
    return ok, pd.concat(frames.values()).drop_duplicates("id")


def line_words(lines: pd.DataFrame, our: OurLaw) -> dict:
    """Chapter 3's words on the Chinchilla line (line_table's frame): the largest spread, the
    tolerance, our S_opt on the line and, per cost, the multiples from which S_opt leaves 0 (ours
    with intervals, leaves_ours_<cost>; Table 7's, leaves_t5_<cost> and leaves_vit_<cost>).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> table7 = {"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}
        >>> ranges = {"T5/C4": (15, 27), "ViT/JFT": (14, 23), OURS: (9, 16)}  # log10 C of each law's map
        >>> lines = line_table({**table7, OURS: our.params}, ranges, our)
        >>> words = line_words(lines, our)
        >>> words["leaves_t5_sparse"], words["leaves_vit_sparse"], words["line_ours_sparse"]
        ('0.0238x', '0.422x', '0.629 [0.629, 0.629]')
    """
    words = {"largest_spread": f"{lines['its spread (max − min)'].max():.1e}",
             "spread_tolerance": f"{SPREAD_TOLERANCE:.0e}".replace("e-0", "e-"),
             "line_ours_sparse": our.text("s_opt_chinchilla(sparse)", ".3f")}
    for cost in laws.COSTS:
        words[f"leaves_ours_{cost}"] = our.text(f"optimal_multiple(0, {cost})")
        for name, short in (("T5/C4", "t5"), ("ViT/JFT", "vit")):
            words[f"leaves_{short}_{cost}"] = lines.loc[(name, cost), "S_opt > 0 from (× Chinchilla)"]
    return words


def multiple_words(multiples: pd.DataFrame, our: OurLaw, table7_claim: Claim, refit: str) -> dict:
    """Chapter 3's words on the multiples (multiple_table's frame with the rows ViT/JFT and `refit`,
    the name of the refit of the authors' T5 runs): multiple_<law>_<cost> and tokens_<law>_<cost>
    (law vit or refit), multiple_ours_<cost>, Table 7's four (multiples_table7), the share of our
    resamples where PAPER_S never pays (never_share) and the constants.

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> table7 = {"T5/C4": laws.TABLE7["t5"], "ViT/JFT": laws.TABLE7["vit"]}
        >>> refit = "T5/C4, refit"  # a second law in the table: here Table 7's T5 law itself
        >>> multiples = multiple_table({**table7, refit: table7["T5/C4"], OURS: our.params}, {}, our)
        >>> words = multiple_words(multiples, our, multiples_claim_table7(table7), refit)
        >>> words["multiple_refit_sparse"], words["tokens_refit_sparse"], words["multiple_ours_sparse"]
        ('2.44x', '48.7', '0.2x [0.2x, 0.2x]')
    """
    tokens_column = f"tokens per parameter (× {TOKENS_PER_PARAMETER})"
    words = {"s_half": f"{PAPER_S:g}", "tokens_per_parameter": f"{TOKENS_PER_PARAMETER}", "factor": f"{FACTOR:g}",
             "never_share": f"{(our.samples[f'optimal_multiple({PAPER_S:g}, sparse)'] >= NEVER).mean():.0%}",
             "multiples_table7": ", ".join(f"{multiple_text(m)} ({k} FLOPs)" for k, m in table7_claim.numbers.items())}
    for cost in laws.COSTS:
        words[f"multiple_ours_{cost}"] = our.text(f"optimal_multiple({PAPER_S:g}, {cost})")
        for name, short in (("ViT/JFT", "vit"), (refit, "refit")):
            words[f"multiple_{short}_{cost}"] = multiples.loc[(name, cost), "C / C_chin"]
            words[f"tokens_{short}_{cost}"] = multiples.loc[(name, cost), tokens_column]
    return words


def pay_words(table7: dict, our: OurLaw, run_span) -> dict:
    """Chapter 3's words on beating dense at PAPER_S under sparse FLOPs: ours (pay_ours_sparse), where
    its lower end lies against run_span, the multiples our sparse runs span (pay_low_where), and T5's
    two multiples (pay_t5_sparse, opt_t5_sparse).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> run_span = run_multiples(runs.S[runs.S > 0], runs.N[runs.S > 0], runs.D[runs.S > 0], our.params, "sparse")
        >>> words = pay_words({"T5/C4": laws.TABLE7["t5"]}, our, run_span)
        >>> words["pay_ours_sparse"], words["pay_low_where"], words["pay_t5_sparse"]
        ('0.0272x [0.0272x, 0.0272x]', 'below', '0.247x')
    """
    low = our.table.loc[f"beats_dense_from({PAPER_S:g}, sparse)", "low"]
    return {"pay_ours_sparse": our.text(f"beats_dense_from({PAPER_S:g}, sparse)"),
            "pay_low_where": "beyond" if low > np.max(run_span) else "within" if low >= np.min(run_span) else "below",
            "pay_t5_sparse": multiple_text(beats_dense_from(PAPER_S, table7["T5/C4"], "sparse")),
            "opt_t5_sparse": multiple_text(optimal_multiple(PAPER_S, table7["T5/C4"], "sparse"))}


def overtaking_words(wins: dict, change: dict, lines: pd.DataFrame, our: OurLaw, spans: dict, sparsities) -> dict:
    """Chapter 3's words on Fig. 5's analogue: win counts per compute count (wins: {"sparse" | "dense":
    win_counts}), the gap change, how many lines cross (line_summary's frame), the multiples the
    dense and sparse runs span (spans: {"dense" | "sparse": run_multiples}) and where our law's
    earliest break-even at `sparsities` falls against the sparse runs' span (law_first).

        >>> S, N, D = (x.ravel() for x in np.meshgrid([0, 0.5, 0.75], [1e4, 2e4, 4e4, 8e4], [1e6, 2e6, 4e6],
        ...                                           indexing="ij"))  # 3 sparsities x 4 sizes x 3 budgets
        >>> truth = dict(a_S=2.0, b_S=1.5, c_S=1.0, b_N=0.3, a_D=3e4, b_D=0.4, c=0.9)  # Eq. 1 with a sparsity term
        >>> runs = pd.DataFrame({"sparsity": S, "n_nonzero": N, "tokens": D, "S": S, "N": N, "D": D,
        ...                      "loss": laws.sparse_law(S, N, D, **truth)})  # a law frame, its losses Eq. 1's
        >>> our = fit_our_law(runs, [0.5], starts=2, n_boot=4)
        >>> dense = pd.DataFrame({"id": ["d1", "d2", "d4", "d8"], "n_nonzero": 100, "sparsity": 0.0,
        ...                       "tokens": [1000, 2000, 4000, 8000], "loss": [3.0, 2.8, 2.6, 2.4]})
        >>> sparse = pd.DataFrame({"id": ["s1", "s2", "s4"], "n_nonzero": 100, "sparsity": 0.5,
        ...                        "tokens": [1000, 2000, 4000], "loss": [2.85, 2.55, 2.3]})
        >>> dense["flops"], sparse["flops"] = dense.tokens, 2 * sparse.tokens  # a sparse run costs twice per token
        >>> pairs = fairness.match_compute(sparse, dense, "flops")  # the dense curve at each sparse run's compute
        >>> sigma = pd.Series(0.01, index=[*dense.id, *sparse.id])  # each run's seed std
        >>> wins, change = fairness.win_counts(pairs, sigma, 10), gap_change(sparse, pairs, sigma, 10)
        >>> spans = {"sparse": run_multiples(0.5, 100, sparse.tokens, our.params, "sparse")}
        >>> lines = line_summary(sparse, pairs, sigma, 10)
        >>> words = overtaking_words({"sparse": wins}, change, lines, our, spans, [0.5])
        >>> words["wins_sparse"], words["gap_change"], words["lines_crossing"]
        ('2 of 3', '+0.150 nats [+0.105, +0.195] over 1 lines', '1 of 1')
    """
    words = {"gap_change": (f"{claims.interval_text(change['estimate'], change['low'], change['high'], '+.3f', ' nats')} "
                            f"over {change['lines']} lines") if change["lines"] else "– (no line has two compared runs)",
             "lines_crossing": f"{lines['label'].str.startswith('crosses').sum()} of {len(lines)}"}
    for name, w in wins.items():
        words |= {f"wins_{name}": f"{w['lower']} of {w['pairs']}", f"wins_{name}_resolved": f"{w['resolved_lower']}",
                  f"losses_{name}_resolved": f"{w['resolved_higher']}"}
    for name, span in spans.items():
        words[f"span_{name}"] = f"{multiple_text(np.min(span))} to {multiple_text(np.max(span))}"
    first, span = min(our.table.loc[f"beats_dense_from({s:g}, sparse)", "estimate"] for s in sparsities), spans["sparse"]
    words["law_first"] = ("never comes: no training length makes a tabled sparsity beat dense" if first >= NEVER else
                          f"comes at {multiple_text(first)}, " + (
                              "below the compute of our shortest sparse runs" if first < np.min(span) else
                              "within the compute our sparse runs span" if first <= np.max(span) else
                              "beyond the compute of our longest sparse runs"))
    return words
