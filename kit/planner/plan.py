"""Should I sparsify? The sparse scaling law of kit.laws as a planner.

A query is a law (a kit.laws.Law: kit.laws.TABLE7["t5"] or ["vit"], `load_law("t5-refit")`, a law
file; or any dict with the keys kit.laws.COEFF_NAMES, such as a fit's params), a run (`Run`: non-zeros
N, tokens D or training FLOPs C, sparsity S or None for the optimal one), a pruning schedule (start,
end, kind, as in kit.laws.cmul) and a cost model, one of

  "dense"        a zero costs as much as a weight: Section 3.3's cost (a), c_mul = 1 / (1 - S);
  "sparse"       every zero is free as soon as it appears: cost (b), Eq. 4 (kit.laws.cmul);
  SpeedupCurve   a measured speedup s(S) = dense time / sparse time of a layer's matmul at sparsity S
                 on named hardware (kit.planner.sparse_speed); each step runs the faster kernel (`cmul_measured`).

The answer (`Plan`) holds the run's loss and cost, the optimal sparsity at its budget, the dense
models of equal loss and their cost, the training length beyond which the run's sparsity pays off,
and warnings: where the query leaves the range of the runs the law was fitted on (`outside_data`),
and budgets no run could have (`budget_warnings`). `intervals` adds percentile intervals over
bootstrap samples of the coefficients, which every Law of the repository ships. Equation numbers are
Frantar et al. (ICLR 2024)'s, as in kit.laws. Notation as there: C = k N D c_mul(S) with k FLOPs per
non-zero parameter and token: a Law's own k (3 for the encoder-decoder T5, 6 for ViT), 6 for a plain
dict, unless k is given.

    plan(TABLE7["t5"], Run(N=200e6, D=100e9, S=0.8), cost="sparse")

`python -m kit plan` is the same from the shell (kit.cli.plan_command).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from kit import laws
from kit.laws.schedules import SCHEDULES
from kit.planner.speedup import SpeedupCurve

LAW_FILES = {"t5-refit": laws.LAWS_DIR / "t5-refit.json"}  # named laws besides Table 7's (scripts/fit_laws.py)
NAMED_LAWS = ("t5", "vit", *LAW_FILES)
LAW_FILE_KEYS = ("name", "k", "data", "samples", "source")  # a law file's keys besides the coefficients
LEVEL = 0.95  # the intervals' coverage
N_QUADRATURE = 512  # midpoint nodes over the pruning window in cmul_measured
N_GRID = 1001  # sparsity grid of the numerical optimum under a measured cost


@dataclasses.dataclass(frozen=True)
class Run:
    """A training run: N non-zero parameters at the end, and its budget: D tokens or C training
    FLOPs (under the cost model). S is the final sparsity, or None for the optimal one at (N, C);
    with S=None a budget given as D means C = k N D, the compute of the dense N model on D tokens.

        >>> Run(N=200e6, D=100e9, S=0.8)
        Run(N=200000000.0, D=100000000000.0, C=None, S=0.8)
        >>> Run(N=200e6, C=1e20, S=None)  # the optimal sparsity for 1e20 FLOPs
        Run(N=200000000.0, D=None, C=1e+20, S=None)
    """
    N: float
    D: float | None = None
    C: float | None = None
    S: float | None = 0.0

    def __post_init__(self):
        if (self.D is None) == (self.C is None):
            raise ValueError(f"a run needs exactly one budget, tokens D or FLOPs C; got D={self.D}, C={self.C}")
        for name in ("N", "D", "C"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}={value}: must be a finite number > 0")
        if self.S is not None and not 0.0 <= self.S < 1.0:
            raise ValueError(f"S={self.S}: sparsity must lie in [0, 1)")


@dataclasses.dataclass(frozen=True)
class Plan:
    """The planner's answer for one run under one cost model (see `plan`).

        >>> answer = plan(laws.TABLE7["t5"], Run(N=200e6, D=100e9, S=0.8))
        >>> Plan(**vars(answer)) == answer  # a record of the fields below, which plan fills
        True
        >>> round(answer.loss, 3), round(answer.S_opt, 3), round(answer.gain_N / answer.N, 2)
        (1.48, 0.703, 2.33)
    """
    cost: str  # the cost model's label
    S: float  # final sparsity (the given one, or the optimal one)
    N: float  # non-zero parameters
    D: float  # tokens the run trains on
    C: float  # its training FLOPs, k N D c_mul(S) (measured costs: the FLOPs a dense run does in that time)
    c_mul: float  # its cost multiplier over dense training of N parameters on D tokens
    chinchilla: float  # C / C_chin(N): its compute in multiples of the Chinchilla compute of N
    loss: float  # predicted loss, Eq. 1
    S_opt: float  # the optimal sparsity at this N and C (Eq. 5)
    loss_opt: float  # the loss at S_opt for this N and C
    dense_loss: float  # the dense model of N parameters for the same C (D = C / (k N))
    gain_N: float  # Eq. 7: the dense size of equal loss on the same D tokens, gain(S) N ...
    gain_C: float  # ... and its training FLOPs, k gain(S) N D
    cheapest_N: float  # the compute-optimal dense model of equal loss: its size N ...
    cheapest_D: float  # ... tokens ...
    cheapest_C: float  # ... and training FLOPs
    payoff_D: float  # tokens beyond which sparsity S beats the dense N model at equal compute ...
    payoff_chinchilla: float  # ... and that compute in multiples of C_chin(N) (NaN for S = 0)
    optimal_from: float  # C / C_chin(N) from which S is the optimal sparsity (NaN for S = 0)
    outside: tuple = ()  # where S, N, D or S_opt leave the law's data (outside_data), one dict each
    warnings: tuple = ()  # one line each: those, then degenerate budgets (budget_warnings)


LABELS = {  # Plan field -> its row label in tables (unique)
    "S": "sparsity S", "N": "non-zero parameters N", "D": "tokens D", "C": "training FLOPs C",
    "c_mul": "cost multiplier c_mul", "chinchilla": "C / C_chin(N), the Chinchilla compute of N",
    "loss": "predicted loss", "S_opt": "optimal sparsity at this N, C", "loss_opt": "loss at the optimal sparsity",
    "dense_loss": "loss of the dense N model, same C", "gain_N": "dense model of equal loss on the same D: N (Eq. 7)",
    "gain_C": "dense model of equal loss on the same D: FLOPs", "cheapest_N": "cheapest dense model of equal loss: N",
    "cheapest_D": "cheapest dense model of equal loss: D", "cheapest_C": "cheapest dense model of equal loss: FLOPs",
    "payoff_D": "S beats the dense N model at equal C from: D",
    "payoff_chinchilla": "S beats the dense N model at equal C from: C / C_chin(N)",
    "optimal_from": "S is optimal from: C / C_chin(N)",
}


# ----------------------------------------------------------------------------- checks


def check_cost(cost, start=0.25, end=0.75, kind="cubic") -> str:
    """The cost model's label (a measured one names its kernel, layer, hardware, backend and date);
    raises on anything but 'dense', 'sparse' or a SpeedupCurve.

        >>> check_cost("sparse")
        'sparse'
    """
    laws.check_window(start, end, kind)
    if isinstance(cost, SpeedupCurve):
        return f"measured: {cost.describe()}"
    if cost not in laws.COSTS:
        raise ValueError(f"cost={cost!r}: allowed 'dense', 'sparse' or a measured SpeedupCurve")
    return cost


def _check_on_curve(S, curve: SpeedupCurve):
    S = laws.check_sparsity(S)
    if np.any(S > curve.S[-1]):
        raise ValueError(f"sparsity {np.max(S):g} is beyond the speedup curve {curve.label!r}, "
                         f"measured up to S={curve.S[-1]:g}")
    return S


# ----------------------------------------------------------------------------- costs


def speedup_at(S, curve: SpeedupCurve):
    """The measured speedup s(S), interpolated: log s linear in the log compression r = -ln(1 - S)
    between the measured points (exact for the ideal s = 1 / (1 - S)), and s(0) = 1 (a dense
    model runs the dense kernel) when the curve starts above S = 0.

        >>> curve = SpeedupCurve("scipy-csr", S=(0.5, 0.9), speedup=(0.8, 3.0), hardware="one CPU core",
        ...                      backend="scipy CSR vs numpy dense", layer="768 -> 3072, 512 tokens", date="2026-11-29")
        >>> speedup_at([0.0, 0.5, 0.9], curve)
        array([1. , 0.8, 3. ])
    """
    S = _check_on_curve(S, curve)
    S_k, s_k = np.asarray(curve.S, dtype=float), np.asarray(curve.speedup, dtype=float)
    if S_k[0] > 0:
        S_k, s_k = np.r_[0.0, S_k], np.r_[1.0, s_k]
    return np.exp(np.interp(-np.log1p(-S), -np.log1p(-S_k), np.log(s_k)))


def cmul_measured(S, curve: SpeedupCurve, start=0.25, end=0.75, kind="cubic"):
    """Training-cost multiplier under a measured speedup curve (Eq. 4 with real kernels).

    A step at sparsity S_t of a model ending with N non-zeros holds N / (1 - S) weights; the faster
    of the dense and the sparse kernel does it in 1 / max(s(S_t), 1) of the dense step's time, so

      c_mul = [start + (end - start) int_0^1 du / max(s(S_u), 1) + (1 - end) / max(s(S), 1)] / (1 - S),

    S_u the schedule across the window (kit.laws.schedules), integrated by the midpoint rule. The ideal
    s = 1 / (1 - S) gives kit.laws.cmul; s <= 1 everywhere gives the dense cost 1 / (1 - S).

        >>> curve = SpeedupCurve("scipy-csr", S=(0.5, 0.9), speedup=(0.8, 3.0), hardware="one CPU core",
        ...                      backend="scipy CSR vs numpy dense", layer="768 -> 3072, 512 tokens", date="2026-11-29")
        >>> round(float(cmul_measured(0.9, curve)), 3), round(float(laws.cmul(0.9)), 3)  # vs ideal kernels
        (6.666, 4.375)
    """
    S = _check_on_curve(S, curve)
    laws.check_window(start, end, kind)
    u = (np.arange(N_QUADRATURE) + 0.5) / N_QUADRATURE
    S_u = SCHEDULES[kind](u, S[..., None], 0.0, 1.0)
    window = np.mean(1.0 / np.maximum(speedup_at(S_u, curve), 1.0), axis=-1)
    final = 1.0 / np.maximum(speedup_at(S, curve), 1.0)
    return ((start + (end - start) * window + (1.0 - end) * final) / (1.0 - S))[()]


def cost_multiplier(S, cost, start=0.25, end=0.75, kind="cubic"):
    """c_mul(S) of a cost model: kit.laws.cmul_dense, kit.laws.cmul (Eq. 4 generalised) or cmul_measured.

        >>> float(cost_multiplier(0.5, "dense")), float(cost_multiplier(0.5, "sparse"))
        (2.0, 1.375)
    """
    check_cost(cost, start, end, kind)
    if isinstance(cost, SpeedupCurve):
        return cmul_measured(S, cost, start, end, kind)
    return laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, start, end, kind)


def loss_at_compute(S, N, C, coeffs, cost, k=None, start=0.25, end=0.75, kind="cubic"):
    """Eq. 1 at fixed compute: L(S, N, D_S) with D_S = C / (k N c_mul(S)) (Section 3.3); k: the law's
    unless given (kit.laws.flops_per_token).

        >>> round(float(loss_at_compute(0.5, 1e8, 1e20, laws.TABLE7["t5"], "sparse")), 4)
        1.5603
    """
    k = laws.flops_per_token(coeffs, k)
    c_mul = cost_multiplier(S, cost, start, end, kind)
    return laws.sparse_law(S, N, C / (k * np.asarray(N) * c_mul), **coeffs)


# ----------------------------------------------------------------------------- optima


def s_opt(N, C, coeffs, cost, k=None, start=0.25, end=0.75, kind="cubic"):
    """Optimal sparsity S_opt(N, C) (Section 3.3, Eq. 5) under any cost model (k: the law's unless given).

    Dense and sparse costs: kit.laws.s_opt (Eq. 5 by bisection). A measured curve: the minimum of
    loss_at_compute over S in [0, largest measured S], found on a grid of N_GRID sparsities and
    refined by bounded Brent search between the grid neighbours of the best point (c_mul is
    then only piecewise smooth, and the loss need not have a single minimum).

        >>> curve = SpeedupCurve("scipy-csr", S=(0.5, 0.9), speedup=(0.8, 3.0), hardware="one CPU core",
        ...                      backend="scipy CSR vs numpy dense", layer="768 -> 3072, 512 tokens", date="2026-11-29")
        >>> t5 = laws.TABLE7["t5"]
        >>> round(float(s_opt(1e8, 1e20, t5, "sparse")), 3), round(float(s_opt(1e8, 1e20, t5, curve)), 3)
        (0.756, 0.75)
    """
    k = laws.flops_per_token(coeffs, k)
    coeffs = laws.check_coefficients(coeffs)
    check_cost(cost, start, end, kind)
    if not isinstance(cost, SpeedupCurve):
        return laws.s_opt(N, C, coeffs, cost, k, start, end, kind)
    N, C = np.broadcast_arrays(laws.check_positive("N", N), laws.check_positive("C", C))
    S_grid, c_grid = _measured_grid(cost, start, end, kind)
    out = np.empty(N.shape)
    for idx in np.ndindex(N.shape):
        loss = laws.sparse_law(S_grid, N[idx], C[idx] / (k * N[idx] * c_grid), **coeffs)
        i = int(np.argmin(loss))
        f = lambda s: float(loss_at_compute(s, N[idx], C[idx], coeffs, cost, k, start, end, kind))
        found = optimize.minimize_scalar(f, bounds=(S_grid[max(i - 1, 0)], S_grid[min(i + 1, N_GRID - 1)]),
                                         method="bounded", options={"xatol": 1e-10})
        out[idx] = found.x if found.fun < loss[i] else S_grid[i]
    return out[()]


@functools.lru_cache(maxsize=64)
def _measured_grid(curve: SpeedupCurve, start, end, kind):
    """(S, c_mul(S)) on s_opt's grid over [0, largest measured S]; computed once per curve and schedule."""
    S_grid = np.linspace(0.0, curve.S[-1], N_GRID)
    return S_grid, cmul_measured(S_grid, curve, start, end, kind)


def cheapest_dense(L, coeffs, k=None):
    """The dense model that reaches loss L with the least compute (Eq. 2 with S = 0): minimising
    k N D subject to (a_S + c_S) N^-b_N + (a_D / D)^b_D = L - c puts the share b_D / (b_N + b_D) of
    L - c on the capacity term and b_N / (b_N + b_D) on the data term. Returns (N, D, C); k: the
    law's unless given.

        >>> N, D, C = cheapest_dense(3.0, laws.TABLE7["t5"])
        >>> f"N = {N:.3g}, D = {D:.3g}, C = {C:.3g}"
        'N = 1.58e+07, D = 2.01e+08, C = 9.54e+15'
    """
    k = laws.flops_per_token(coeffs, k)
    coeffs = laws.check_coefficients(coeffs)
    L = np.asarray(L, dtype=float)
    a_S, c_S, b_N, a_D, b_D, c = (coeffs[name] for name in ("a_S", "c_S", "b_N", "a_D", "b_D", "c"))
    if not np.all(L > c):
        raise ValueError(f"loss L={L} is at or below the law's irreducible loss c={c}: no model reaches it")
    excess = L - c
    N = ((a_S + c_S) / (excess * b_D / (b_N + b_D))) ** (1.0 / b_N)
    D = a_D * (excess * b_N / (b_N + b_D)) ** (-1.0 / b_D)
    return N[()], D[()], (k * N * D)[()]


def optimal_from(S, N, coeffs, cost, k=None, start=0.25, end=0.75, kind="cubic"):
    """C / C_chin(N) from which sparsity S is the optimal sparsity for N non-zeros (Section 3.3:
    "how much longer [than Chinchilla] training is necessary").

    Dense and sparse costs: kit.laws.chinchilla_multiple (Eq. 5 solved for the data). A measured
    curve: the smallest multiple, on a scan of 4 per decade over [1e-3, 1e12] refined by bisection,
    at which s_opt reaches S; inf if it never does. NaN at S = 0. k: the law's unless given.

        >>> round(optimal_from(0.5, 1e8, laws.TABLE7["t5"], "sparse"), 2)  # S = 0.5 is optimal from 2.44x C_chin(N)
        2.44
    """
    k = laws.flops_per_token(coeffs, k)
    coeffs = laws.check_coefficients(coeffs)
    check_cost(cost, start, end, kind)
    S = float(laws.check_sparsity(S))
    if S == 0:
        return np.nan
    if not isinstance(cost, SpeedupCurve):
        return float(laws.chinchilla_multiple(S, N, coeffs, cost, start, end, kind))
    _check_on_curve(S, cost)
    C_chin = k * N * laws.chinchilla_tokens(N, coeffs)
    reaches = lambda m: s_opt(N, m * C_chin, coeffs, cost, k, start, end, kind) >= S
    scan = np.logspace(-3, 12, 61)
    hit = next((j for j, m in enumerate(scan) if reaches(m)), None)
    if hit is None:
        return np.inf
    if hit == 0:
        return float(scan[0])
    lo, hi = np.log(scan[hit - 1]), np.log(scan[hit])
    for _ in range(24):  # 24 halvings of a quarter decade: relative precision ~3e-8
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if reaches(np.exp(mid)) else (mid, hi)
    return float(np.exp(hi))


# ----------------------------------------------------------------------------- the planner


def plan(coeffs, run: Run, cost="sparse", k=None, start=0.25, end=0.75, kind="cubic") -> Plan:
    """Everything the law says about one run under one cost model (fields: see Plan).

    The run's S (or S_opt at its N and C, if S is None) and budget give D and C through
    C = k N D c_mul(S), k the law's unless given; loss is Eq. 1, S_opt Eq. 5 at that N and C, gain_N
    Eq. 7. A Law with a data range adds where the run's S, N, D and its S_opt leave it (outside_data);
    every plan warns of a degenerate budget (budget_warnings).

        >>> answer = plan(laws.TABLE7["t5"], Run(N=200e6, D=100e9, S=0.8), cost="sparse")
        >>> round(answer.loss, 3), round(answer.S_opt, 3), f"{answer.C:.3g}"
        (1.48, 0.703, '1.5e+20')
        >>> answer.warnings[0]
        'N = 2e8 is 2.35x the largest N of the data this law was fitted on (8.49e7)'
    """
    k = laws.flops_per_token(coeffs, k)
    data = getattr(coeffs, "data", {})
    coeffs = laws.check_coefficients(coeffs)
    label = check_cost(cost, start, end, kind)
    N = run.N
    if run.S is None:
        C = run.C if run.C is not None else k * N * run.D
        S = float(s_opt(N, C, coeffs, cost, k, start, end, kind))
        c_mul = float(cost_multiplier(S, cost, start, end, kind))
        D = C / (k * N * c_mul)
    else:
        S = run.S
        c_mul = float(cost_multiplier(S, cost, start, end, kind))
        D = run.D if run.D is not None else run.C / (k * N * c_mul)
        C = k * N * D * c_mul
    loss = float(laws.sparse_law(S, N, D, **coeffs))
    S_best = float(s_opt(N, C, coeffs, cost, k, start, end, kind)) if run.S is not None else S
    gain_N = float(laws.gain(S, **coeffs)) * N
    cheapest_N, cheapest_D, cheapest_C = cheapest_dense(loss, coeffs, k)
    D_chin = float(laws.chinchilla_tokens(N, coeffs))
    payoff = float(laws.payoff_tokens(S, N, coeffs, c_mul))
    answer = Plan(
        cost=label, S=S, N=N, D=D, C=C, c_mul=c_mul, chinchilla=C / (k * N * D_chin), loss=loss,
        S_opt=S_best, loss_opt=float(loss_at_compute(S_best, N, C, coeffs, cost, k, start, end, kind)),
        dense_loss=float(laws.sparse_law(0.0, N, C / (k * N), **coeffs)),
        gain_N=gain_N, gain_C=k * gain_N * D,
        cheapest_N=float(cheapest_N), cheapest_D=float(cheapest_D), cheapest_C=float(cheapest_C),
        payoff_D=payoff / c_mul, payoff_chinchilla=payoff / D_chin,
        optimal_from=optimal_from(S, N, coeffs, cost, k, start, end, kind),
    )
    outside = outside_data(data, S=S, N=N, D=D, **({"S_opt": S_best} if run.S is not None else {}))
    return dataclasses.replace(answer, outside=tuple(outside),
                               warnings=tuple(map(outside_text, outside)) + tuple(budget_warnings(answer)))


NUMBERS = [f.name for f in dataclasses.fields(Plan) if f.type == "float"]


# ----------------------------------------------------------------------------- warnings


def outside_data(data, **values) -> list[dict]:
    """Where a query leaves the runs a law was fitted on (data: kit.laws.Law.data, {} if unknown): for
    each value (S, N, D; S_opt is held against the data's S) beyond the data's range, a dict of
    quantity, value, side ("above" or "below"), limit (the data's bound it passes) and factor, how
    far beyond: value / limit for N and D (its inverse below), the ratio of densities 1 - S for a
    sparsity (S = 0.95 against the data's largest S = 0.875: 0.125 / 0.05 = 2.5).

        >>> outside_data(laws.TABLE7["t5"].data, N=7e9, S=0.5)
        [{'quantity': 'N', 'value': 7000000000.0, 'side': 'above', 'limit': 84934656.0, 'factor': 82.41629894868827}]
    """
    out = []
    for quantity, value in values.items():
        low, high = data.get("S" if quantity == "S_opt" else quantity, (-math.inf, math.inf))
        if low <= value <= high:
            continue
        side, limit = ("above", high) if value > high else ("below", low)
        ratio = (1.0 - limit) / (1.0 - value) if quantity in ("S", "S_opt") else value / limit
        out.append(dict(quantity=quantity, value=float(value), side=side, limit=limit,
                        factor=ratio if side == "above" else 1.0 / ratio))
    return out


def outside_text(item: dict) -> str:
    """One line for an item of outside_data, e.g. "N = 7e9 is 82.4x the largest N of the data this law
    was fitted on (8.49e7)".

        >>> outside_text({"quantity": "N", "value": 7e9, "side": "above", "limit": 8.49e7, "factor": 82.4})
        'N = 7e9 is 82.4x the largest N of the data this law was fitted on (8.49e7)'
    """
    quantity, value, limit, above = item["quantity"], item["value"], item["limit"], item["side"] == "above"
    where = f"{'largest' if above else 'smallest'} {quantity[0]} of the data this law was fitted on"
    if quantity in ("S", "S_opt"):
        return (f"{'the optimal sparsity S_opt' if quantity == 'S_opt' else 'S'} = {value:.4g} is beyond the {where} "
                f"({limit:.4g}): its density 1 - S = {1 - value:.4g} is {item['factor']:.4g}x "
                f"{'below' if above else 'above'} the data's")
    return (f"{quantity} = {format_value(quantity, value)} is {format_value('factor', item['factor'])}x "
            f"{'' if above else 'below '}the {where} "
            f"({format_value(quantity, limit)})")


def budget_warnings(p: Plan) -> list[str]:
    """One line for each sign of a degenerate budget, where the law's numbers describe no run: fewer
    than one non-zero parameter (N < 1); a budget that buys less than one token (D < 1) or fewer
    tokens than the run has non-zeros (D < N, far below any compute-optimal run); a predicted loss so
    high that the cheapest dense model reaching it has less than one parameter or token.

        >>> budget_warnings(plan(laws.TABLE7["t5"], Run(N=1e8, D=1e7)))
        ['D = 1e7 tokens is fewer than the N = 1e8 non-zero parameters it trains
          (0.00538x the Chinchilla compute of N)']
    """
    lines = []
    if p.N < 1:
        lines.append(f"N = {format_value('N', p.N)} is less than one non-zero parameter")
    if p.D < 1:
        lines.append(f"C = {format_value('C', p.C)} FLOPs buys D = {format_value('D', p.D)} tokens, "
                     f"less than one token")
    elif p.D < p.N:
        lines.append(f"D = {format_value('D', p.D)} tokens is fewer than the N = {format_value('N', p.N)} non-zero "
                     f"parameters it trains ({format_value('chinchilla', p.chinchilla)}x the Chinchilla compute of N)")
    if p.cheapest_N < 1 or p.cheapest_D < 1:
        lines.append(f"the predicted loss {p.loss:.4g} is so high that the cheapest dense model reaching it has "
                     f"N = {format_value('N', p.cheapest_N)} parameters and "
                     f"D = {format_value('D', p.cheapest_D)} tokens")
    return lines


# ----------------------------------------------------------------------------- intervals


def intervals(coeffs, samples: pd.DataFrame, run: Run, cost="sparse", k=None, start=0.25, end=0.75,
              kind="cubic", level=LEVEL) -> pd.DataFrame:
    """The plan from coeffs (column estimate) with percentile intervals (low, high) over bootstrap
    samples of the coefficients: one row per resample, columns the coefficient names (further
    columns are ignored), e.g. kit.fit.fitting.bootstrap's output or a Law's samples file. Every sample
    is planned with the k of coeffs (or the k given). One row per Plan number; quantiles skip NaN (a
    payoff at S = 0) and count inf.

        >>> t5 = laws.TABLE7["t5"]
        >>> table = intervals(t5, read_samples(t5.samples), Run(N=200e6, D=100e9, S=0.8))
        >>> table.loc[["loss", "S_opt"]].round(3)
                  estimate    low   high
        quantity
        loss         1.480  1.456  1.519
        S_opt        0.703  0.595  0.789
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")
    missing = [name for name in laws.COEFF_NAMES if name not in samples.columns]
    if missing or len(samples) == 0:
        raise ValueError(f"bootstrap samples need one row per resample and the columns {', '.join(laws.COEFF_NAMES)}; "
                         f"got {len(samples)} rows" + (f", lacking {', '.join(missing)}" if missing else ""))
    k = laws.flops_per_token(coeffs, k)
    estimate = dataclasses.asdict(plan(coeffs, run, cost, k, start, end, kind))
    resampled = pd.DataFrame([dataclasses.asdict(plan(row, run, cost, k, start, end, kind))
                              for row in samples[list(laws.COEFF_NAMES)].to_dict("records")])[NUMBERS]
    tail = (1 - level) / 2
    table = pd.DataFrame({"estimate": pd.Series(estimate)[NUMBERS].astype(float),
                          "low": resampled.quantile(tail), "high": resampled.quantile(1 - tail)})
    table.index.name = "quantity"
    return table


def outside_interval(table: pd.DataFrame) -> list[str]:
    """The quantities of an intervals table whose estimate lies outside its interval (beyond rounding):
    the bootstrap refits of the law's data land elsewhere than the law itself.

        >>> table = pd.DataFrame({"estimate": [1.48, 0.9], "low": [1.46, 0.6], "high": [1.52, 0.8]},
        ...                      index=["loss", "S_opt"])
        >>> outside_interval(table)
        ['S_opt']
    """
    est, low, high = table.estimate, table.low, table.high
    return [q for q in table.index if est[q] < low[q] - 1e-9 * abs(low[q]) or est[q] > high[q] + 1e-9 * abs(high[q])]


# ----------------------------------------------------------------------------- reading queries and laws


def parse_run(spec) -> Run:
    """A Run from 'S=0.8,N=200e6,D=100e9' (the shell's --run) or {"S": 0.8, "N": 200e6, "D": 100e9}
    (a chapter's parameters): keys S, N, and D or C; S defaults to 0, S="opt" asks for the optimal
    sparsity.

        >>> parse_run("S=0.8,N=200e6,D=100e9")
        Run(N=200000000.0, D=100000000000.0, C=None, S=0.8)
        >>> parse_run({"S": "opt", "N": 200e6, "C": 1e20})
        Run(N=200000000.0, D=None, C=1e+20, S=None)
    """
    if isinstance(spec, str):
        items = [item.partition("=") for item in spec.split(",")]
        bad = next((key + sep + value for key, sep, value in items if not sep), None)
        if bad is not None:
            raise ValueError(f"run {spec!r}: expected comma-separated S=..., N=..., and D=... or C=... "
                             f"(e.g. S=0.8,N=200e6,D=100e9); got {bad!r}")
        keys = [key.strip() for key, _, _ in items]
        fields = {key: value.strip() for key, (_, _, value) in zip(keys, items)}
        if len(set(keys)) < len(keys):
            raise ValueError(f"run {spec!r}: {next(k for k in keys if keys.count(k) > 1)} given twice")
    elif isinstance(spec, dict):
        fields = dict(spec)
    else:
        raise ValueError(f"run {spec!r}: expected a string such as 'S=0.8,N=200e6,D=100e9' or a dict of S, N, D or C")
    unknown = [key for key in fields if key not in ("S", "N", "D", "C")]
    if unknown:
        raise ValueError(f"run {spec!r}: unknown key {unknown[0]!r}; a run has S (default 0, or opt), N, and D or C "
                         f"(e.g. S=0.8,N=200e6,D=100e9)")
    if "N" not in fields:
        raise ValueError(f"run {spec!r}: needs N, the non-zero parameters")
    out = {}
    for key, value in fields.items():
        if key == "S" and value in ("opt", None):
            out[key] = None
            continue
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"run {spec!r}: {key}={value!r} is not a number") from None
    return Run(**out)


def load_law(spec) -> laws.Law:
    """--law: 't5' or 'vit' (Table 7), 't5-refit' (the book's refit of the authors' T5 runs,
    data/laws/t5-refit.json) or the path of a law file (read_law).

        >>> law = load_law("t5-refit")
        >>> law.name, law.k, round(law["c"], 2)
        ("T5/C4 law (the book's refit of the authors' 48 runs)", 3.0, 0.83)
    """
    if spec in ("t5", "vit"):
        return laws.TABLE7[spec]
    return read_law(LAW_FILES.get(spec, spec))


def read_law(path) -> laws.Law:
    """A law file: one JSON object with the seven coefficients of Eq. 1 and k, the FLOPs per non-zero
    parameter and token (6 for decoder-only models and ViT, 3 for encoder-decoders such as T5), and
    optionally name, data ({"S": [lowest, highest], "N": [...], "D": [...]}: the range of the runs it
    was fitted on, for the range warnings), samples (a CSV of bootstrap samples, one row per resample
    with the seven coefficients as columns, its path relative to the file's folder) and source (how
    it was made). data/laws/t5-refit.json is one.

        >>> law = read_law(LAW_FILES["t5-refit"])
        >>> law.k, law.data["N"], law.samples.name
        (3.0, (1327104.0, 84934656.0), 't5-bootstrap.csv')
    """
    try:
        law = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"--law {str(path)!r}: neither {', '.join(NAMED_LAWS)} nor a readable JSON law file "
                         f"({err})") from None
    if not isinstance(law, dict):
        raise ValueError(f"law file {str(path)!r}: must hold one JSON object (the coefficients, k, ...)")
    unknown = [key for key in law if key not in (*laws.COEFF_NAMES, *LAW_FILE_KEYS)]
    if unknown:
        raise ValueError(f"law file {str(path)!r}: unknown key {unknown[0]!r}; a law file holds "
                         f"{', '.join(laws.COEFF_NAMES)}, k and optionally "
                         f"{', '.join(key for key in LAW_FILE_KEYS if key != 'k')}")
    if "k" not in law:
        raise ValueError(f"law file {str(path)!r} states no k, the FLOPs per non-zero parameter and token: add "
                         f"\"k\": 6 (decoder-only or ViT) or 3 (an encoder-decoder such as T5)")
    texts = [key for key in ("name", "samples", "source") if key in law and not isinstance(law[key], str)]
    if texts:
        raise ValueError(f"law file {str(path)!r}: {texts[0]} must be a string; got {law[texts[0]]!r}")
    try:
        return laws.Law(laws.check_coefficients(law), name=law.get("name", f"law from {path}"), k=law["k"], data=law.get("data"),
                        samples=Path(path).parent / law["samples"] if "samples" in law else None)
    except ValueError as err:
        raise ValueError(f"law file {str(path)!r}: {err}") from None


def read_samples(path) -> pd.DataFrame:
    """Bootstrap samples of the coefficients from a CSV file (one row per resample, see intervals).

        >>> samples = read_samples(laws.TABLE7["t5"].samples)
        >>> samples.shape, list(samples.columns) == list(laws.COEFF_NAMES)
        ((200, 7), True)
    """
    try:
        return pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"bootstrap samples {str(path)!r}: not a readable CSV file ({err})") from None


def _number(name, text):
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={text!r}: expected a number") from None


def format_value(name, value) -> str:
    """A Plan number as the tables print it: sparsities to 3 decimals, losses to 4, the rest to 3
    significant digits (6e19); NaN as "-" (not defined, e.g. the payoff of S = 0), inf as "never".

        >>> format_value("C", 1.5e20), format_value("S", 0.70303), format_value("payoff_D", float("nan"))
        ('1.5e20', '0.703', '-')
    """
    if isinstance(value, str):
        return value
    if not np.isfinite(value):
        return "-" if np.isnan(value) else "never"
    if name in ("S", "S_opt"):
        return f"{value:.3f}"
    if name in ("loss", "loss_opt", "dense_loss"):
        return f"{value:.4f}"
    return f"{value:.3g}".replace("e+0", "e").replace("e+", "e")


def table(plans: list[Plan], names: list[str]) -> pd.DataFrame:
    """Plans side by side: one column per plan (headed by names), one row per Plan number.

        >>> t5 = laws.TABLE7["t5"]
        >>> plans = [plan(t5, Run(N=200e6, D=100e9, S=0.8)), plan(t5, Run(N=200e6, D=100e9, S=None))]
        >>> table(plans, ["S = 0.8", "optimal S"]).loc[["sparsity S", "predicted loss", "training FLOPs C"]]
                         S = 0.8 optimal S
        sparsity S         0.800     0.653
        predicted loss    1.4801    1.5456
        training FLOPs C  1.5e20      6e19
    """
    return pd.DataFrame({name: {LABELS[f]: format_value(f, getattr(p, f)) for f in NUMBERS}
                         for name, p in zip(names, plans)})
