"""Optimal sparsity (Frantar et al. 2024, Section 3.3): when a sparsity pays off, in multiples of the
dense compute-optimal ("Chinchilla") compute of a model's non-zeros, and how measured runs compare.

At fixed non-zeros N and training compute C = k N D c_mul(S), two training lengths say when a
sparsity S pays, both as C / C_chin(N) and both independent of N and of k:

- `optimal_from` (kit.laws.chinchilla_multiple): from when S is the *optimal* sparsity, the contour
  S_opt(N, C) = S of Eq. 5. The paper's "50% sparsity is already optimal for < 3x (T5) longer
  training than Chinchilla" is this number.
- `beats_dense_from`: from when S reaches a lower loss than the dense model
  of the same N and C, L(S, N, C / (k N c_mul(S))) < L(0, N, C / (k N)): where its curve passes
  below the dense one in Fig. 5.

At fixed (N, C) the loss has a single minimum in S (see kit.laws._eq5_residual), so at the compute
where S is optimal it also beats dense: beats_dense_from <= optimal_from, and between the two S
beats dense while a smaller sparsity does better still. Multiples are capped at NEVER (10^12
Chinchilla multiples, as in kit.planner.plan), so that bootstrap percentiles stay finite where a
resample's law makes sparsity never pay.

Measured runs (Fig. 5) are compared as chapter 1 compares them (kit.chapters.fairness): a sparse run against
the dense curve of its target N read at the sparse run's compute. `line_summary` labels each line
(one N and S over the budgets) from those pairs, and `gap_change` measures whether the sparse runs'
advantage grows with training. `bound_verdict` and `factor_verdict` turn an interval of a multiple
into a verdict for claims such as "< 3x" and "about 70x".
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kit.chapters import fairness
from kit import laws

NEVER = 1e12  # Chinchilla multiples: beyond this a sparsity "never" pays


def optimal_from(S, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """C / C_chin(N) from which sparsity S is the optimal sparsity (Eq. 5; kit.laws.chinchilla_multiple),
    capped at NEVER. At S = 0: the compute from which any sparsity is better than dense."""
    return np.minimum(laws.chinchilla_multiple(S, 1.0, coeffs, cost, start, end, kind), NEVER)[()]


def beats_dense_from(S, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """C / C_chin(N) from which sparsity S > 0 has a lower loss than the dense model of the same N
    trained with the same compute (Eq. 1 at equal C), capped at NEVER; 0 where S costs no more
    than dense (c_mul <= 1).

    At equal C the dense model sees D = C / (k N) and the sparse one D / c_mul, so by Eq. 1 the
    sparse one is better where (a_D / D)^b_D (c_mul^b_D - 1) < a_S (1 - (1 - S)^b_S) N^-b_N. Over
    the Chinchilla data of N (chinchilla_tokens) that threshold is

      multiple = [(c_mul^b_D - 1) b_N (a_S + c_S) / (b_D a_S (1 - (1 - S)^b_S))]^(1 / b_D),

    independent of N, a_D and k; evaluated in logs (kit.planner.plan.payoff_tokens gives the same in tokens)."""
    S = laws._check_sparsity(S)
    if np.any(S <= 0):
        raise ValueError(f"S = {S}: beats_dense_from needs sparsities > 0 (S = 0 is the dense model itself)")
    a_S, b_S, c_S, b_N, b_D = _coefficients(coeffs, "a_S", "b_S", "c_S", "b_N", "b_D")
    c_mul = laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, start, end, kind)
    costs_more = c_mul > 1.0
    capacity = a_S * -np.expm1(b_S * np.log1p(-S))  # what sparsity removes from the capacity term
    pays = costs_more & (capacity > 0)
    log_ratio = (np.log(np.where(pays, np.expm1(b_D * np.log(c_mul)), 1.0))
                 + np.log(np.where(pays, b_N * (a_S + c_S) / b_D, 1.0)) - np.log(np.where(pays, capacity, 1.0)))
    log_multiple = np.where(pays, log_ratio / b_D, np.inf)
    multiple = np.minimum(np.exp(np.minimum(log_multiple, 2 * np.log(NEVER))), NEVER)
    return np.where(costs_more, multiple, 0.0)[()]


def chinchilla_tokens(N, coeffs):
    """Tokens for which a dense model of N parameters is compute optimal under the S = 0 law
    (kit.laws.chinchilla_n_opt inverted): D_chin^b_D = b_D a_D^b_D N^b_N / (b_N (a_S + c_S))."""
    a_S, c_S, b_N, a_D, b_D = _coefficients(coeffs, "a_S", "c_S", "b_N", "a_D", "b_D")
    N = laws._check_positive("N", N)
    return (a_D * (b_D * N**b_N / (b_N * (a_S + c_S))) ** (1.0 / b_D))[()]


def run_multiples(S, N, D, coeffs, cost, start=0.25, end=0.75, kind="cubic"):
    """Where runs sit on the same scale: C / C_chin(N) of runs with final sparsity S, N non-zeros and
    D tokens, C = k N D c_mul(S) in the law's units (the dense-equivalent data D c_mul(S) over the
    Chinchilla data of N, so k cancels)."""
    c_mul = laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, start, end, kind)
    return (np.asarray(D, dtype=float) * c_mul / chinchilla_tokens(N, coeffs))[()]


def _coefficients(coeffs, *names):
    """The named coefficients as floats: each >= 0 and finite (a fit may drive one to 0), the
    exponents b_N and b_D > 0."""
    missing = [name for name in names if name not in coeffs]
    if missing:
        raise ValueError(f"coefficient set lacks {missing}; needs all of {laws.COEFF_NAMES}")
    values = [float(coeffs[name]) for name in names]
    for name, value in zip(names, values):
        if not (np.isfinite(value) and (value > 0 if name in ("b_N", "b_D") else value >= 0)):
            raise ValueError(f"coefficient {name} = {value}: need a finite number {'> 0' if name in ('b_N', 'b_D') else '>= 0'}")
    return values


def chinchilla_line(C, coeffs, cost, k=6, start=0.25, end=0.75, kind="cubic"):
    """The optimal sparsity along the dense compute-optimal line: S_opt(N_chin(C), C) (Section 3.3:
    "the Chinchilla line does not necessarily correspond to the S = 0 case")."""
    return laws.s_opt(laws.chinchilla_n_opt(C, coeffs, k), C, coeffs, cost, k, start, end, kind)


def multiple_text(value, low=None, high=None) -> str:
    """A multiple (and its interval) as the book prints it: "2.44x", "2.44x [1.3x, 7.9x]"; "never"
    at NEVER, "> 1e10x" from 1e10 on (an interval's end that bootstrap percentiles put between
    a finite multiple and NEVER), and "< 0.001x" below 1e-3 but above 0 (a law whose sparsity term
    is a step, b_S in the hundreds, makes the smallest sparsity pay at once)."""
    show = lambda v: ("never" if v >= NEVER else "> 1e10x" if v >= 1e10 else "< 0.001x" if 0 < v < 1e-3
                      else f"{v:.3g}x")
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
    low = high = estimate. Returns (verdict, one-sentence reason)."""
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
    wholly outside, not resolved if it straddles an end. Returns (verdict, one-sentence reason)."""
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
    reference at equal compute". runs needs the columns of `line` and tokens."""
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
    counts once). Returns estimate, se, half_width, low, high and lines (NaN without such a line)."""
    line = list(line)
    found = runs.loc[pairs["gap"].notna(), [*line, "tokens"]]
    ends = found.groupby(line)["tokens"].agg(["idxmin", "idxmax", "size"])
    ends = ends[ends["size"] >= 2]
    if ends.empty:
        return {"estimate": np.nan, "se": np.nan, "half_width": np.nan, "low": np.nan, "high": np.nan, "lines": 0}
    change = fairness.difference(pairs.loc[ends["idxmax"]], pairs.loc[ends["idxmin"]], sigma, dof, level)
    return {**change, "lines": len(ends)}
