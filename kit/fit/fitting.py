"""Fitting scaling-law coefficients to runs, and intervals for them that cover.

The paper (Section 3.2, Appendix C) fits its laws, following Hoffmann et al. (2022), by
minimising a Huber loss of the prediction error with BFGS from several random starting points:
on log L with delta = 1e-3 for T5/C4, on L with delta = 1e-2 for ViT/JFT and n:m sparsity.

Objective convention: the *mean* of the per-run Huber terms. Evaluated at Table 7's published
coefficients on the authors' data this gives 7.64e-6 (T5, log L, delta 1e-3; Table 7: 7.6e-6)
and 4.95e-4 (ViT, L, delta 1e-2; Table 7: 4.93e-4); the sum would be 48x and 112x larger.

Optimiser. The authors' notebook runs scipy's BFGS with default settings on the raw objective
(~1e-6), N in millions and D in billions, from 25 random starts: scipy's gradient tolerance
(1e-5) stops BFGS early, at scattered points, the best at 8.3e-6 on the T5 data. Here the same
objective is minimised by Levenberg-Marquardt in the form of iteratively reweighted least squares
(the Huber loss of a residual r is majorised by its square weighted min(1, delta / |r|)), with
geodesic acceleration (Transtrum and Sethna 2012) so that steps follow the long curved valleys
of these laws, exact Jacobians from JAX, in float64, jitted and vectorised over all starts (in
`bootstrap` and `fit_intervals` also over all resamples and profile points) at once. Every random
start then reaches one optimum on the T5 data, 4.88e-6, with b_S = 1.34, b_D = 0.38, c = 0.83
instead of Table 7's 0.722, 0.203, 0.651; started from Table 7 it goes to the same point. The ViT
fit reproduces Table 7 to three digits. scripts/bench_fits.py times it against the authors'
procedure.

Every coefficient of the laws in kit.laws is positive, so the optimiser works on logs, except the
irreducible loss c, which it takes as it is and keeps >= 0 (see LINEAR). It also never sees raw
magnitudes like a_D = 7e8 tokens: each coefficient that carries the units of N or D is
represented by the log of its term evaluated at a reference size r_N and data r_D (the geometric
means over the runs), e.g. a_S -> log(a_S / r_N^b_N) and a_D -> b_D log(a_D / r_D). This is the
"normalise N and D" of the authors' notebook, done as a reparameterisation so the law itself is
always called with the data and coefficients in their original units.

Intervals (`fit_intervals`), chosen by measured coverage: the share of synthetic datasets drawn
from Eq. 1 whose 95% interval held the truth, on the designs of tests/test_coverage.py (the
paper's T5 grid, 48 runs, 0.5% noise; a grid like ours, 64 runs, 1% noise), for the 7
coefficients, the gains at S = 0.5, 0.75, 0.875, an extrapolated loss and an optimal sparsity:
- percentile bootstrap over runs, each resample refitted from the full fit (200 datasets per
  grid): 0.96 to 0.99, but 0.92 for a_D on the T5 grid (0.87 for a_D, 0.91 for c while c was
  fitted on a log scale, 120 datasets). Three budgets spanning 4x cannot pin the data term: in
  a quarter of the T5-grid datasets the fit puts c at 0, the boundary, and so do nearly all of its
  resamples, so the bootstrap reports a narrow interval away from the truth (a
  bootstrap is known to fail at a boundary). Refitting each resample from more random starts
  changed 0.4% of the resample fits in a trial; a residual bootstrap covered less (0.82 to
  0.95), its basic and bias-corrected variants less again.
- profile likelihood (see `profile_threshold`): 0.90 to 0.98 with the plain robust
  likelihood-ratio threshold (120 datasets per grid; lowest b_D, c and the gains at S >= 0.75 on
  our grid), 0.975 to 1.0 with Huber's small-sample factor (200 datasets per grid).
- their hull, chosen: 0.98 to 1.0 for every quantity on both grids (200 datasets per grid, seed
  13). It is conservative: its median width is 1.2x to 1.7x the bootstrap interval's (a_D 1.5x
  to 2.4x). `fit_intervals` reports both parts beside it, and flags a quantity whose profile
  finds no bound on a side (`bounded`): on the T5 grid c (96% of datasets: c = 0 cannot be
  excluded), on ours c_S (53%) and c (12%).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy import special, stats

from kit import laws

# Coefficients the optimiser takes as they are, bounded below by 0 (a projected step; held at 0
# while the gradient pushes below), every other one as a log: the irreducible loss c, so that it
# can reach 0, where fits put it when the runs cannot pin the data term (our runs; a quarter of
# synthetic datasets on the paper's T5 grid). On a log scale the optimiser only creeps towards
# c = 0, and a refit that needs c back above 0 (a profile point) sees no gradient there:
# log c = -77 gives a gradient of order 1e-34.
LINEAR = {"c"}

# Coefficients that carry the units of an input: name -> (input, exponent coefficient, form).
# 'times': the coefficient multiplies (1/N)^b, as a_S and c_S in Eq. 1.
# 'over':  the coefficient sits inside (a/N)^b, as a_N and a_D in Eq. 2.
SCALED = {
    "a_S": ("N", "b_N", "times"),
    "c_S": ("N", "b_N", "times"),
    "a_N": ("N", "b_N", "over"),
    "a_D": ("D", "b_D", "over"),
}

# The laws `fit` accepts, written for the optimiser: functions of the logs of their inputs
# (log(1 - S) for S, log x for the others) that take no power and no log of an array, only exp,
# which XLA evaluates several times faster in float64. tests/test_fitting.py checks each against
# kit.laws.
LOG_FORMS = {
    laws.sparse_law: lambda S, N, D, a_S, b_S, c_S, b_N, a_D, b_D, c:
        (a_S * jnp.exp(b_S * S) + c_S) * jnp.exp(-b_N * N) + jnp.exp(b_D * (jnp.log(a_D) - D)) + c,
    laws.dense_law: lambda N, D, a_N, b_N, a_D, b_D, c:
        jnp.exp(b_N * (jnp.log(a_N) - N)) + jnp.exp(b_D * (jnp.log(a_D) - D)) + c,
    laws.avg_param_law: lambda N_avg, D, a_N, b_N, a_D, b_D, c:
        jnp.exp(b_N * (jnp.log(a_N) - N_avg)) + jnp.exp(b_D * (jnp.log(a_D) - D)) + c,
}


def _log_inputs(inputs: dict) -> dict:
    """The arguments of LOG_FORMS: log(1 - S) for S, log x for every other input."""
    return {k: np.log1p(-v) if k == "S" else np.log(v) for k, v in inputs.items()}


# Quantities a fit reports, beyond its coefficients, by kind, each with the arguments it takes:
# Eq. 7's gain at S; Eq. 1's loss at one point (e.g. T5-XL); Eq. 6's optimal sparsity for
# dense costs at N and C, with k FLOPs per parameter and token. `profile_intervals` works on
# each as a smooth function of the coefficients (logs of the positive ones; for the optimal
# sparsity its compression r = -log(1 - S), negative where dense is best: S_opt = max(0, 1 - e^-r)).
KINDS = {"coefficient": ("name",), "gain": ("S",), "loss": ("S", "N", "D"), "s_opt": ("N", "C", "k")}
SPARSE_COEFFS = set(laws.COEFF_NAMES)


def _quantity(kind: str, args, params: dict, order: Sequence[str]):
    """One quantity (see KINDS) of the coefficients `params` (JAX scalars), on the scale
    `profile_intervals` works on. args: the kind's arguments as JAX scalars; a coefficient's
    name as its index in `order`."""
    if kind == "coefficient":
        return jnp.stack([params[name] if name in LINEAR else jnp.log(params[name]) for name in order])[
            args[0].astype(int)]
    a_S, b_S, c_S, b_N, a_D, b_D, c = (params[name] for name in laws.COEFF_NAMES)
    if kind == "gain":  # Eq. 7, as kit.laws.gain
        return -jnp.log((a_S * (1.0 - args[0]) ** b_S + c_S) / (a_S + c_S)) / b_N
    if kind == "loss":  # Eq. 1, as kit.laws.sparse_law
        return jnp.log(LOG_FORMS[laws.sparse_law](jnp.log1p(-args[0]), jnp.log(args[1]), jnp.log(args[2]), **params))
    N, C, k = args  # Eq. 6, as kit.laws.s_opt_closed_form before its max(., 0)
    log_D0 = jnp.log(C / (k * N))
    return -(jnp.log(b_D) + b_D * jnp.log(a_D) - jnp.log(a_S * b_S) + b_N * jnp.log(N) - b_D * log_D0) / (b_D + b_S)


def _natural(quantity: tuple, q):
    """A quantity (kind, *args) from the scale `_quantity` returns back to its own units."""
    q = np.asarray(q, dtype=float)
    if quantity[0] == "s_opt":
        return np.maximum(-np.expm1(-q), 0.0)
    if quantity[0] == "gain":  # Eq. 7: at least 1 for positive coefficients
        return np.exp(np.maximum(q, 0.0))
    return np.maximum(q, 0.0) if quantity[0] == "coefficient" and quantity[1] in LINEAR else np.exp(q)


# Levenberg-Marquardt: a start has converged when an accepted step lowers the objective by at
# most F_TOL relative and moves no optimiser coordinate by more than X_TOL (relative to the
# largest), when PLATEAU_STEPS steps together lower it by at most PLATEAU_TOL relative (a fit
# drifting along a flat valley, e.g. c -> 0), or when no step, however damped, lowers it.
F_TOL, X_TOL, PLATEAU_STEPS, PLATEAU_TOL, MAX_DAMPING, MAX_STEPS = 1e-10, 1e-6, 16, 1e-9, 1e12, 1000
GEODESIC_H = 0.1  # Transtrum and Sethna's step for the finite difference
# A resample's refit starts at the full fit: in 300 steps 99% of T5 resamples met the convergence
# test, and the rest were within 4e-4 of their objective at 1000 steps.
RESAMPLE_STEPS = 300
FIRST_STEPS = 40
CHUNK = 32  # starts per call of the jitted optimiser: one compiled shape for every use


def huber(r, delta):
    """Huber loss of residuals r: r^2 / 2 where |r| <= delta, delta (|r| - delta / 2) beyond.

        >>> huber(np.array([0.0, 5e-4, 3e-3]), delta=1e-3)
        array([0.00e+00, 1.25e-07, 2.50e-06])
    """
    if not delta > 0:
        raise ValueError(f"delta={delta!r}: must be > 0")
    a = np.abs(r)
    return np.where(a <= delta, 0.5 * a**2, delta * (a - 0.5 * delta))


@dataclasses.dataclass(frozen=True)
class FitResult:
    """What `fit` returns: the fitted coefficients, the objective at them, the residuals per run, and
    the law, so that `predict` evaluates it; `problem` keeps the fit for refits (bootstrap, profiles).

        >>> result = FitResult(params=dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5), objective=0.0,
        ...                    residuals=np.zeros(0), n_starts=1, converged=True, law=laws.dense_law)
        >>> round(float(result.predict(N=1e8, D=1e10)), 3)
        3.675
    """
    params: dict  # every coefficient of the law, fitted and fixed, in original units
    objective: float  # mean Huber loss of the residuals
    residuals: np.ndarray  # per run: log pred - log y if log_loss else pred - y
    n_starts: int
    converged: bool  # whether the best start met the convergence test (see F_TOL) in MAX_STEPS
    law: Callable = dataclasses.field(repr=False, compare=False, default=None)
    problem: "Problem" = dataclasses.field(repr=False, compare=False, default=None)  # for refits

    def predict(self, **data):
        """The fitted law at the given inputs (S, N, D or N_avg, D)."""
        return self.law(**data, **self.params)


def _references(inputs: dict) -> dict:
    """Reference values r_N, r_D: geometric means of the size (N or N_avg) and data inputs."""
    refs = {}
    size = inputs.get("N", inputs.get("N_avg"))
    if size is not None:
        refs["N"] = float(np.exp(np.mean(np.log(size))))
    if "D" in inputs:
        refs["D"] = float(np.exp(np.mean(np.log(inputs["D"]))))
    return refs


def _scaling(name: str, coefficients, refs):
    """SCALED's entry for `name` if it applies to this law and data, else None (plain log)."""
    rule = SCALED.get(name)
    if rule is None or rule[0] not in refs or rule[1] not in coefficients:
        return None
    return rule


def _encode(values: Mapping, names: Sequence[str], refs: dict) -> np.ndarray:
    """Coefficients in original units -> the optimiser's vector for the free `names`."""
    z = []
    log = lambda x: np.log(np.maximum(x, np.finfo(float).tiny))  # a coefficient whose exp underflowed to 0
    for name in names:
        rule = _scaling(name, values, refs)
        if rule is None:
            z.append(values[name] if name in LINEAR else log(values[name]))
            continue
        ref, b, form = refs[rule[0]], values[rule[1]], rule[2]
        z.append(log(values[name]) - b * np.log(ref) if form == "times"
                 else b * (log(values[name]) - np.log(ref)))
    return np.array(z, dtype=float)


def _decode(z, names: Sequence[str], fixed: Mapping, refs: dict, order: Sequence[str], xp=np) -> dict:
    """The optimiser's vector -> every coefficient in original units, listed in `order`.
    xp: numpy, or jax.numpy inside the jitted optimiser."""
    values = dict(fixed)
    free = dict(zip(names, z))
    scaled = {name for name in names if _scaling(name, set(names) | set(fixed), refs)}
    for name in names:
        if name not in scaled:
            values[name] = free[name] if name in LINEAR else xp.exp(free[name])
    for name in (n for n in names if n in scaled):  # after the exponents they depend on
        ref_key, b_name, form = SCALED[name]
        log_ref, b = xp.log(refs[ref_key]), values[b_name]
        values[name] = xp.exp(free[name] + b * log_ref if form == "times" else free[name] / b + log_ref)
    return {name: values[name] for name in order}


def random_starts(names, y, n, seed) -> np.ndarray:
    """n random starts (rows) in the optimiser's coordinates, log-uniform in ranges relative to
    the loss: exponents b_* in [0.1, 3], c in [0.1, 0.95] * min(y), every other term's value at
    the reference point in [0.01, 1] * mean(y).

        >>> random_starts(["b_N", "c"], y=[3.0, 2.5], n=4, seed=0).shape
        (4, 2)
    """
    rng = np.random.default_rng(seed)
    y_min, y_mean = float(np.min(np.abs(y))), float(np.mean(np.abs(y)))
    ranges = [(0.1, 3.0) if name.startswith("b_") else
              (0.1 * y_min, 0.95 * y_min) if name == "c" else
              (0.01 * y_mean, y_mean) for name in names]
    lo, hi = np.log(np.array(ranges)).T
    z_BxP = np.array([rng.uniform(lo, hi) for _ in range(n)]).reshape(n, len(names))
    linear = [name in LINEAR for name in names]
    z_BxP[:, linear] = np.exp(z_BxP[:, linear])
    return z_BxP


def _bucket(n: int) -> int:
    """The smallest power of two >= max(n, 16): the runs are padded to it so that the jitted
    functions compile once per bucket rather than once per number of runs."""
    return max(16, 1 << (int(n) - 1).bit_length())


@functools.lru_cache(maxsize=None)
def _compiled(law, names: tuple, fixed_names: tuple, order: tuple, ref_names: tuple, log_loss: bool):
    """The jitted functions for one law, set of free coefficients and loss, vectorised over rows b:

    optimise(z0_BxP, weight_BxR, row_BxK, pull_B, at_B, *data, max_steps) -> (z_BxP, O_B, done_B),
        compiled twice (without the penalty, and with it for profiles): Levenberg-Marquardt from
        start z0_BxP[b] on the mean Huber loss of the runs weighted by weight_BxR[b] (0 for
        padding rows, counts for a resample) plus the penalty (pull_B[b] q - at_B[b])^2 / 2, q the
        quantity of row_BxK[b] (kind index into KINDS, then its arguments) at the coefficients;
        O_B includes the penalty, done_B says whether the start met the convergence test.
    measure(z_BxP, weight_R, table_MxK, *data) -> (O_B, Q_BxM, dQ/dz_BxMxP, curvature_BxPxP):
        the mean Huber loss (no penalty), the quantities, their gradients and the IRLS curvature
        of the loss (the matrix the optimiser steps with).
    data: the runs' inputs {name: array of R}, target_R (log) losses, fixed_F coefficients, the
    logs of the reference values, delta_R (delta times each run's noise scale: with weights
    1 / scale^2 this is the Huber loss of the residuals over their scale, see Problem).
    """
    form = LOG_FORMS[law]
    kinds = list(KINDS)
    linear_P = np.array([name in LINEAR for name in names])
    lower_P = np.where(linear_P, 0.0, -np.inf)

    def coefficients(z_P, fixed_F, log_refs):
        refs = dict(zip(ref_names, jnp.exp(log_refs)))
        return _decode(z_P, names, dict(zip(fixed_names, fixed_F)), refs, order, jnp)

    def quantity(params, row_K):
        values = [_quantity("coefficient", row_K[1:], params, order)]
        if SPARSE_COEFFS <= set(params):
            values += [_quantity(kind, row_K[1:1 + len(KINDS[kind])], params, order) for kind in kinds[1:]]
        return jnp.stack(values)[jnp.minimum(row_K[0].astype(int), len(values) - 1)]

    def residuals(z_P, inputs, target_R, fixed_F, log_refs):
        pred = form(**inputs, **coefficients(z_P, fixed_F, log_refs))
        return (jnp.log(pred) if log_loss else pred) - target_R

    def huber_mean(r_R, weight_R, delta_R):
        a = jnp.abs(r_R)
        value = jnp.sum(weight_R * jnp.where(a <= delta_R, 0.5 * a * a, delta_R * (a - 0.5 * delta_R)))
        return jnp.where(jnp.isfinite(value), value, jnp.inf)

    def curvature(J_RxP, r_R, weight_R, delta_R):
        # IRLS: the Huber loss of r is majorised by its square weighted min(1, delta / |r|),
        # whose gradient is the Huber loss's: w r = psi(r).
        w_R = weight_R * jnp.minimum(1.0, delta_R / jnp.maximum(jnp.abs(r_R), 1e-300))
        return (J_RxP * w_R[:, None]).T @ J_RxP, w_R

    def optimise_one(penalised, z0_P, weight_R, row_K, pull, at, inputs, target_R, fixed_F, log_refs, delta,
                     max_steps):
        def r_of(z_P):  # the runs' residuals, then the penalty's (compiled only where used)
            r_R = residuals(z_P, inputs, target_R, fixed_F, log_refs)
            if not penalised:
                return r_R
            return jnp.append(r_R, pull * quantity(coefficients(z_P, fixed_F, log_refs), row_K) - at)

        weights_R = (jnp.append(weight_R, jnp.sum(weight_R)) if penalised else weight_R) / jnp.sum(weight_R)
        delta_R = jnp.broadcast_to(delta, target_R.shape)  # per run: delta x its noise scale (Problem.scale)
        delta_R = jnp.append(delta_R, jnp.inf) if penalised else delta_R  # the penalty is a square

        def step(state):
            z_P, value, damping, steps, _, checkpoint = state
            J_RxP, r_R = jax.jacfwd(lambda z: (r_of(z), r_of(z)), has_aux=True)(z_P)
            H_PxP, w_R = curvature(J_RxP, r_R, weights_R, delta_R)
            g_P = J_RxP.T @ (w_R * r_R)
            # A coefficient of LINEAR at 0 that the gradient pushes below 0 is held there.
            held_P = linear_P & (z_P <= 0.0) & (g_P > 0.0)
            free_PxP = ~(held_P[:, None] | held_P[None, :])
            diag_P = jnp.diag(H_PxP)
            A_PxP = jnp.where(free_PxP, H_PxP + damping * jnp.diag(diag_P + 1e-9 * jnp.max(diag_P) + 1e-300),
                              jnp.diag(held_P.astype(float)))
            L = jax.scipy.linalg.cho_factor(A_PxP)
            v_P = jax.scipy.linalg.cho_solve(L, jnp.where(held_P, 0.0, -g_P))
            # Geodesic acceleration: a second-order correction along v (5-10x fewer steps here),
            # from the residuals' second derivative along v by a finite difference.
            rvv_R = 2.0 / GEODESIC_H * ((r_of(z_P + GEODESIC_H * v_P) - r_R) / GEODESIC_H - J_RxP @ v_P)
            a_P = jax.scipy.linalg.cho_solve(L, jnp.where(held_P, 0.0, -(J_RxP.T @ (w_R * rvv_R))))
            small_a = 2.0 * jnp.sqrt(jnp.sum(diag_P * a_P**2)) <= 0.75 * jnp.sqrt(jnp.sum(diag_P * v_P**2))
            s_P = jnp.maximum(z_P + jnp.where(small_a, v_P + 0.5 * a_P, v_P), lower_P) - z_P  # LINEAR >= 0
            trial = huber_mean(r_of(z_P + s_P), weights_R, delta_R)
            better = jnp.all(jnp.isfinite(s_P)) & (trial <= value)
            small = ((value - trial <= F_TOL * value) &
                     (jnp.max(jnp.abs(s_P)) <= X_TOL * (1.0 + jnp.max(jnp.abs(z_P)))))
            value_new = jnp.where(better, trial, value)
            at_check = steps % PLATEAU_STEPS == PLATEAU_STEPS - 1
            plateau = at_check & (checkpoint - value_new <= PLATEAU_TOL * value_new)
            done = (better & small) | (damping > MAX_DAMPING) | plateau
            return (jnp.where(better, z_P + s_P, z_P), value_new,
                    jnp.where(better, damping * 0.3, damping * 10.0), steps + 1, done,
                    jnp.where(at_check, value_new, checkpoint))

        value0 = huber_mean(r_of(z0_P), weights_R, delta_R)
        start = (z0_P, value0, jnp.asarray(1e-3), 0, jnp.asarray(False), value0)
        z_P, value, _, _, done, _ = jax.lax.while_loop(lambda s: (~s[4]) & (s[3] < max_steps), step, start)
        return z_P, value, done

    def measure_one(z_P, weight_R, table_MxK, inputs, target_R, fixed_F, log_refs, delta):
        r_of = lambda z: residuals(z, inputs, target_R, fixed_F, log_refs)
        q_of = lambda z: jax.vmap(lambda row_K: quantity(coefficients(z, fixed_F, log_refs), row_K))(table_MxK)
        weight_R = weight_R / jnp.sum(weight_R)
        delta_R = jnp.broadcast_to(delta, target_R.shape)
        H_PxP, _ = curvature(jax.jacfwd(r_of)(z_P), r_of(z_P), weight_R, delta_R)
        return huber_mean(r_of(z_P), weight_R, delta_R), q_of(z_P), jax.jacfwd(q_of)(z_P), H_PxP

    data = (None,) * 5  # inputs, target, fixed, log_refs, delta: the same for every row
    optimise = (0, 0, 0, 0, 0, *data, None)
    return (jax.jit(jax.vmap(functools.partial(optimise_one, False), in_axes=optimise)),
            jax.jit(jax.vmap(measure_one, in_axes=(0, None, None, *data))),
            jax.jit(jax.vmap(functools.partial(optimise_one, True), in_axes=optimise)))


@dataclasses.dataclass(frozen=True)
class Problem:
    """A fit without its starts: the law, its free and fixed coefficients, the runs and the loss.
    `solve` runs the optimiser from many starts, on many weightings of the runs, at once.
    `problem` builds one with its arguments checked; `fit` solves it from random starts.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> spec = Problem(laws.sparse_law, names=laws.COEFF_NAMES, fixed={}, order=laws.COEFF_NAMES,
        ...                inputs={x: t5[x].to_numpy() for x in "SND"}, y=t5.loss.to_numpy(), log_loss=True, delta=1e-3)
        >>> z_BxP, objective_B, converged_B = spec.solve([spec.encode(laws.TABLE7["t5"])])  # from Table 7
        >>> round(spec.decode(z_BxP[0])["c"], 2), bool(converged_B[0])
        (0.83, True)
    """
    law: Callable
    names: tuple  # the free coefficients, in the optimiser's order
    fixed: dict
    order: tuple  # every coefficient, in the law's order
    inputs: dict  # the law's inputs, one array of R runs each
    y: np.ndarray
    log_loss: bool
    delta: float
    scale: np.ndarray | None = None  # per run: its noise relative to the others' (mean 1 / scale^2 = 1); None: equal

    @property
    def run_weights(self) -> np.ndarray:
        """1 / scale^2 per run: with delta x scale, the Huber loss of r / scale is the Huber loss of r
        with threshold delta scale, over scale^2 (exactly, in both of its regimes)."""
        return np.ones(len(self.y)) if self.scale is None else 1.0 / np.asarray(self.scale, float) ** 2

    @property
    def standardized(self) -> Callable:
        """r -> r / scale: residuals on the scale of delta."""
        return (lambda r: r) if self.scale is None else (lambda r: r / np.asarray(self.scale, float))

    @property
    def refs(self) -> dict:
        return _references(self.inputs)

    @property
    def target(self) -> np.ndarray:
        return np.log(self.y) if self.log_loss else self.y

    def encode(self, values: Mapping) -> np.ndarray:
        return _encode({**values, **self.fixed}, self.names, self.refs)

    def decode(self, z_P) -> dict:
        return {k: float(v) for k, v in _decode(z_P, self.names, self.fixed, self.refs, self.order).items()}

    def table(self, quantities: Sequence[tuple]) -> np.ndarray:
        """Rows for the jitted functions: kind index into KINDS, then the kind's arguments (a
        coefficient by its index in `order`)."""
        table_MxK = np.zeros((len(quantities), 4))
        for m, (kind, *args) in enumerate(quantities):
            row = [list(KINDS).index(kind), *([self.order.index(args[0])] if kind == "coefficient" else args)]
            table_MxK[m, :len(row)] = row
        return table_MxK

    def _run(self, which: int, batched: list, shared: list) -> list:
        """Calls the jitted function `which` (0: optimise, 1: measure, 2: optimise with a
        penalty) on the rows of `batched` (arrays of B rows, z first) in chunks of CHUNK rows,
        with the runs padded to their bucket; shared: its further arguments for every row."""
        R = len(self.y)
        rows = _bucket(R)
        refs = self.refs
        data = ({k: np.pad(v, (0, rows - R), mode="edge") for k, v in _log_inputs(self.inputs).items()},
                np.pad(self.target, (0, rows - R), mode="edge"), np.array(list(self.fixed.values()), dtype=float),
                np.log(list(refs.values())), np.pad(self.delta * np.sqrt(1.0 / self.run_weights), (0, rows - R), mode="edge"))
        function = _compiled(self.law, self.names, tuple(self.fixed), self.order, tuple(refs), self.log_loss)[which]
        outputs = []
        with jax.enable_x64(True):
            for lo in range(0, len(batched[0]), CHUNK):
                part = [np.asarray(x[lo:lo + CHUNK], dtype=float) for x in batched]
                n = len(part[0])
                part = [np.concatenate([x, np.repeat(x[:1], CHUNK - n, axis=0)]) for x in part]
                outputs.append([np.asarray(o)[:n] for o in function(*part, *shared, *data)]
                               if which == 1 else
                               [np.asarray(o)[:n] for o in function(*part, *data, *shared)])
        return [np.concatenate(parts) for parts in zip(*outputs)]

    def _weights(self, weight_BxR) -> np.ndarray:
        """Per-run weights (times run_weights) padded with zeros to the runs' bucket."""
        weight_BxR = np.asarray(weight_BxR, dtype=float) * self.run_weights
        return np.pad(weight_BxR, ((0, 0), (0, _bucket(len(self.y)) - len(self.y))))

    def solve(self, z0_BxP, weight_BxR=None, quantity_B=None, pull_B=None, at_B=None, max_steps=MAX_STEPS):
        """End points z_BxP, objectives O_B and convergence flags of the optimiser run from each
        start z0_BxP[b], on the runs weighted by weight_BxR[b] (default 1; times run_weights), plus the penalty
        (pull_B[b] q - at_B[b])^2 / 2 on the quantity q = quantity_B[b] (see KINDS; default none),
        each for at most max_steps steps."""
        z_BxP = np.array(np.atleast_2d(z0_BxP), dtype=float)
        B = len(z_BxP)
        zeros = np.zeros(B)
        batched = [self._weights(np.ones((B, len(self.y))) if weight_BxR is None else weight_BxR),
                   np.zeros((B, 4)) if quantity_B is None else self.table(quantity_B),
                   zeros if pull_B is None else np.asarray(pull_B, dtype=float),
                   zeros if at_B is None else np.asarray(at_B, dtype=float)]
        value_B, done_B = np.full(B, np.inf), np.zeros(B, dtype=bool)
        # A chunk runs until its slowest start stops: first FIRST_STEPS steps for all, then the
        # starts still going, packed together, for the rest.
        todo = np.arange(B)
        for steps in (min(FIRST_STEPS, max_steps), max_steps - min(FIRST_STEPS, max_steps)):
            if steps == 0 or len(todo) == 0:
                break
            z, value, done = self._run(0 if quantity_B is None else 2, [z_BxP[todo], *(x[todo] for x in batched)],
                                       [int(steps)])
            z_BxP[todo], value_B[todo], done_B[todo] = z, value, done
            todo = todo[~done]
        return z_BxP, value_B, done_B

    def measure(self, z_BxP, quantities=()):
        """At each row of z_BxP: the mean Huber loss O_B, the quantities Q_BxM (on the scale of
        `_quantity`), their gradients G_BxMxP and the IRLS curvature H_BxPxP of the loss."""
        z_BxP = np.atleast_2d(np.asarray(z_BxP, dtype=float))
        table = self.table(quantities)
        padded = np.zeros((_bucket(len(table)), 4))  # one compile per bucket of quantities
        padded[:len(table)] = table
        O, Q, G, H = self._run(1, [z_BxP], [self._weights(np.ones((1, len(self.y))))[0], padded])
        return O, Q[:, :len(table)], G[:, :len(table)], H

    def result(self, z_P, n_starts: int, converged: bool) -> FitResult:
        params = self.decode(z_P)
        pred = self.law(**self.inputs, **params)
        with np.errstate(all="ignore"):
            residuals = (np.log(pred) if self.log_loss else pred) - self.target
        return FitResult(params=params, objective=float(np.mean(huber(self.standardized(residuals), self.delta))),
                         residuals=residuals, n_starts=n_starts, converged=bool(converged),
                         law=self.law, problem=self)


def problem(law, data, y, params, *, fixed=None, log_loss=True, delta=1e-3, scale=None) -> Problem:
    """The Problem that `fit` solves (see there), its arguments checked.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> spec = problem(laws.sparse_law, t5, t5.loss, ["a_S", "b_S", "c_S"],
        ...                fixed=dict(b_N=0.23, a_D=7e8, b_D=0.38, c=0.83))  # only the sparsity term free
        >>> spec.names, len(spec.y)
        (('a_S', 'b_S', 'c_S'), 48)
    """
    fixed = {k: float(v) for k, v in (fixed or {}).items()}
    names = list(params)
    if law not in LOG_FORMS:
        raise ValueError(f"law {getattr(law, '__name__', law)!r}: fit knows "
                         f"{[f.__name__ for f in LOG_FORMS]} (add others to kit.fit.fitting.LOG_FORMS)")
    arguments = list(inspect.signature(law).parameters)
    coefficients = set(names) | set(fixed)
    unknown = sorted(coefficients - set(arguments))
    if unknown:
        raise ValueError(f"{unknown}: not coefficients of {law.__name__}{tuple(arguments)}")
    both = sorted(set(names) & set(fixed))
    if both:
        raise ValueError(f"{both}: given both as params to fit and as fixed values")
    if not names:
        raise ValueError("params is empty: name at least one coefficient to fit")
    order = [a for a in arguments if a in coefficients]
    input_names = [a for a in arguments if a not in coefficients]
    missing = [a for a in input_names if a not in data]
    if missing:
        raise ValueError(f"data lacks {missing}, needed by {law.__name__}; it has {list(data)}; "
                         f"coefficients not in params or fixed count as inputs")
    inputs = {a: np.asarray(data[a], dtype=float) for a in input_names}
    y = np.asarray(y, dtype=float)
    for a, x in inputs.items():
        if x.shape != y.shape:
            raise ValueError(f"data[{a!r}] has shape {x.shape}, y has shape {y.shape}: need one value per run")
    if not np.all(np.isfinite(y)) or (log_loss and np.any(y <= 0)):
        raise ValueError("y must be finite" + (" and > 0 (log_loss=True)" if log_loss else ""))
    if not delta > 0:
        raise ValueError(f"delta={delta!r}: must be > 0")
    return Problem(law=law, names=tuple(names), fixed=fixed, order=tuple(order), inputs=inputs, y=y,
                   log_loss=bool(log_loss), delta=float(delta), scale=noise_scale(scale, len(y)))


def noise_scale(sigma, runs: int) -> np.ndarray | None:
    """Each run's noise relative to the others', from its noise `sigma` (one per run, e.g. the seed
    std of its sparsity: kit.fit.lawfit.sparsity_noise), normalised so that mean 1 / scale^2 = 1:
    a fit then weighs run i's residual by 1 / scale_i and its objective keeps the units of equal
    noise. None (equal noise) passes through.

        >>> noise_scale([0.01, 0.01, 0.02, 0.02], 4).round(3).tolist()
        [0.791, 0.791, 1.581, 1.581]
        >>> noise_scale(None, 4) is None
        True
    """
    if sigma is None:
        return None
    sigma = np.asarray(sigma, dtype=float)
    if sigma.shape != (runs,) or not np.all(np.isfinite(sigma) & (sigma > 0)):
        raise ValueError(f"scale: need one finite noise > 0 per run ({runs}); got shape {sigma.shape}")
    return sigma * np.sqrt(np.mean(1.0 / sigma**2))


def fit(law, data, y, params, *, fixed=None, log_loss=True, delta=1e-3, starts=16, seed=0, scale=None) -> FitResult:
    """Fit the coefficients `params` of `law` to runs by minimising the mean Huber loss of
    (log pred - log y) if log_loss else (pred - y), from several starting points.

    law: one of kit.laws' laws (sparse_law, dense_law, avg_param_law; see LOG_FORMS).
    data: dict or DataFrame holding the law's inputs (S, N, D, or N_avg, D) by name.
    y: the measured losses, one per run.
    params: names of the coefficients to fit (all positive).
    fixed: coefficients held at given values (e.g. Section 4.1's n:m fit: only a_S, b_S, c_S
        free, the rest from the unstructured fit).
    starts: number of random starts (seeded by `seed`), or a sequence of dicts giving starting
        values, in original units, for every coefficient in `params` (e.g. a previous fit).
    scale: each run's noise (one value per run, e.g. the seed std of its sparsity in log loss), or
        None for equal noise: the Huber loss is taken of each residual over its run's relative
        noise (noise_scale), so noisier runs pull less; intervals and profiles follow.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> result = fit(laws.sparse_law, t5, t5.loss, laws.COEFF_NAMES, starts=4)
        >>> f"{result.objective:.3g}", round(result.params["c"], 2), result.converged  # Table 7: 7.6e-6, c = 0.651
        ('4.88e-06', 0.83, True)
    """
    spec = problem(law, data, y, params, fixed=fixed, log_loss=log_loss, delta=delta, scale=scale)
    if isinstance(starts, (int, np.integer)):
        if starts < 1:
            raise ValueError(f"starts={starts}: need at least 1")
        z0_BxP = random_starts(spec.names, spec.y, starts, seed)
    else:
        starts = list(starts)
        if not starts:
            raise ValueError("starts is an empty sequence")
        for start in starts:
            lacking = [n for n in spec.names if n not in start]
            if lacking:
                raise ValueError(f"a start lacks {lacking}; each start needs every coefficient in params")
        z0_BxP = np.array([spec.encode(start) for start in starts])
    z_BxP, value_B, done_B = spec.solve(z0_BxP)
    if not np.isfinite(value_B).any():
        raise RuntimeError(f"no start gave a finite objective for {law.__name__}; pass starts near a solution")
    best = int(np.argmin(value_B))
    return spec.result(z_BxP[best], n_starts=len(z0_BxP), converged=done_B[best])


def _resample_fits(result: FitResult, n_boot: int, seed: int, starts: Sequence[Mapping] = ()) -> np.ndarray:
    """The optimiser's end points z_BxP for n_boot resamples of the runs (drawn with replacement,
    as counts per run), each refitted from the full fit and from each of `starts` (the full fit
    with the coefficients a start names set to its values), keeping the refit with the lowest
    objective."""
    spec = result.problem
    R = len(spec.y)
    rng = np.random.default_rng(seed)
    counts_BxR = np.array([np.bincount(rng.integers(0, R, R), minlength=R) for _ in range(n_boot)])
    for start in starts:
        unknown = sorted(set(start) - set(spec.names))
        if unknown:
            raise ValueError(f"a start names {unknown}, not free coefficients of the fit ({list(spec.names)})")
    z0_KxP = np.array([spec.encode({**result.params, **start}) for start in [{}, *starts]])
    K = len(z0_KxP)
    z_BxP, value_B, _ = spec.solve(np.repeat(z0_KxP, n_boot, axis=0), weight_BxR=np.tile(counts_BxR, (K, 1)),
                                   max_steps=RESAMPLE_STEPS)
    best_B = np.argmin(np.nan_to_num(value_B.reshape(K, n_boot), nan=np.inf), axis=0)
    return z_BxP.reshape(K, n_boot, -1)[best_B, np.arange(n_boot)]


def bootstrap(fit_fn, df: pd.DataFrame, n_boot=200, seed=0, derived=None,
              starts: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Refit on n_boot resamples of the runs (rows of df, drawn with replacement).

    fit_fn(df) -> FitResult: the full fit (e.g. kit.fit.fitting.fit with the law, coefficients and
    loss to use). Each resample is refitted with the same law, coefficients and loss, from the
    full fit's coefficients, all resamples at once; refitting from more random starts changed
    0.4% of the resample fits (see the module docstring).
    derived: name -> callable(params) -> float, quantities computed from each refit's
    coefficients (a gain, an optimal sparsity, an extrapolated loss).
    starts: further starting points, each a dict of some free coefficients (the others from the
    full fit); every resample is also refitted from each, and its lowest objective kept. Needed
    where the full fit sits at a boundary its optimiser cannot leave: a_S -> 0 (no sparsity
    term) on a log scale gives a refit no gradient back, so every resample would stay there.
    Returns one row per resample: every coefficient, then every derived quantity.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> refit = lambda runs: fit(laws.sparse_law, runs, runs.loss, laws.COEFF_NAMES, starts=4)
        >>> samples = bootstrap(refit, t5, n_boot=8, derived={"gain(0.5)": lambda p: float(laws.gain(0.5, **p))})
        >>> samples.shape, list(samples.columns[-2:])
        ((8, 8), ['c', 'gain(0.5)'])
    """
    derived = dict(derived or {})
    full = fit_fn(df)
    if full.problem is None or len(full.problem.y) != len(df):
        raise ValueError(f"fit_fn(df) must return kit.fit.fitting.fit's result on the {len(df)} rows of df, in order")
    rows = [full.problem.decode(z) for z in _resample_fits(full, n_boot, seed, starts)]
    return pd.DataFrame([{**params, **{name: f(params) for name, f in derived.items()}} for params in rows])


def intervals(samples: pd.DataFrame, level=0.95, estimate=None) -> pd.DataFrame:
    """Percentile intervals: one row per column of samples with estimate, low, high.

    estimate: a mapping of point estimates (e.g. the full fit's params and derived values);
    by default the sample median.

        >>> intervals(pd.DataFrame({"x": np.arange(1001.0)}), level=0.9)
                  estimate   low   high
        quantity
        x            500.0  50.0  950.0
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")
    tail = (1 - level) / 2
    table = pd.DataFrame({
        "estimate": samples.median() if estimate is None else pd.Series(estimate)[samples.columns],
        "low": samples.quantile(tail),
        "high": samples.quantile(1 - tail),
    })
    table.index.name = "quantity"
    return table


# Profile likelihood: the targets of each side's k-th refit lie RINGS[k] Wald half-widths from
# the estimate, until the quantity is SPAN (on its scale, e.g. log a_D) from its estimate (a side
# still under the threshold there is unbounded) or the objective has risen FAR times the
# threshold; REFINE secant refits then place the outermost crossing. PULL: the penalty's stiffness in units of the profile's own
# curvature at the estimate (the refits land within about 1/PULL of their targets; each refit
# is an exact point of the profile at the value it reaches, so this only spaces the points).
# PROFILE_STEPS: the optimiser's steps per refit; each side's refits continue from its last, and
# on the T5 data the intervals agreed with those from 1000 steps per refit to 3e-7, 10x faster.
RINGS, SPAN, FAR, REFINE, PULL, PROFILE_STEPS = tuple(0.5 * 1.6**k for k in range(40)), 25.0, 100.0, 4, 30.0, 100
STIFFER, MAX_STIFFNESS = 10.0, 1e6


def profile_threshold(result: FitResult, level=0.95) -> float:
    """The rise of the mean Huber loss above its minimum that bounds a `level` profile interval.

    The robust likelihood-ratio test (Schrader and Hettmansperger 1980): for one constraint,
    2 n (profile minimum - minimum) E psi' / (K E psi^2) is chi-squared with 1 degree of freedom,
    psi the derivative of the Huber loss; here F(1, n - p) for n runs and p free coefficients, with
    - E psi^2 = sum min(r^2, delta^2) / (n - p) over the residuals r;
    - m = E psi' = P(|e| <= delta), estimated with a normal kernel (Silverman's bandwidth from the
      residuals' MAD): the share of residuals inside delta over-counts the runs the fit passes
      through (0.27 for 0.16 on the T5 grid at 0.5% noise) and under-covered (0.88 to 0.93);
    - K = 1 + (p / n) (1 - m) / m, Huber's (1981, Sec. 7.6) small-sample factor for M-estimates,
      in his form for the objective's own curvature. Without it the profile held the truth in
      0.90 to 0.97 of synthetic datasets (120 per grid, see the module docstring), with it 0.97
      to 1.0.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> result = fit(laws.sparse_law, t5, t5.loss, laws.COEFF_NAMES, starts=4)
        >>> f"{profile_threshold(result):.2g}"  # against the objective's minimum 4.88e-6
        '7e-07'
    """
    spec = result.problem
    r = spec.standardized(np.asarray(result.residuals, dtype=float))
    n, p = len(r), len(spec.names)
    if n <= p:
        raise ValueError(f"{n} runs for {p} free coefficients: a profile interval needs more runs than coefficients")
    sigma = 1.4826 * np.median(np.abs(r - np.median(r))) * np.sqrt(n / (n - p))
    h = max(1.06 * sigma * n**-0.2, 1e-12 * spec.delta)
    m = np.mean(special.ndtr((spec.delta - r) / h) - special.ndtr((-spec.delta - r) / h))
    psi2 = np.sum(np.minimum(r**2, spec.delta**2)) / (n - p)
    K = 1 + p / n * (1 - m) / m
    return float(K * psi2 / m * stats.f.ppf(level, 1, n - p) / (2 * n))


def _quantities(result: FitResult, derived: Mapping | None) -> dict:
    """name -> (kind, *args): every free coefficient, then `derived` (see KINDS)."""
    derived = dict(derived or {})
    for name, (kind, *args) in derived.items():
        if kind not in KINDS or len(args) != len(KINDS[kind]) or kind == "coefficient":
            raise ValueError(f"derived[{name!r}] = {(kind, *args)}: allowed "
                             f"{[(k, *a) for k, a in KINDS.items() if k != 'coefficient']}")
        if not SPARSE_COEFFS <= set(result.params):
            raise ValueError(f"derived[{name!r}]: {kind} needs the coefficients of kit.laws.sparse_law")
    both = sorted(set(derived) & set(result.problem.names))
    if both:
        raise ValueError(f"derived names {both} are coefficient names")
    return {**{name: ("coefficient", name) for name in result.problem.names}, **derived}


def _profile(result: FitResult, named: dict, level: float, pool_z_BxP) -> pd.DataFrame:
    """Profile-likelihood intervals of the quantities `named` (name -> (kind, *args)): for each,
    the fit redone holding the quantity at values on both sides of its estimate (all refits at
    once, each a fit with the penalty (pull (q - target))^2 / 2), and the interval where the
    objective stays within `profile_threshold` of its minimum. Each refit starts from the point
    with the least penalised objective among the full fit, the bootstrap fits `pool_z_BxP` and
    every refit so far: starting from a side's last refit alone can leave it on a ridge between
    two valleys (e.g. c > 0 and c = 0) and miss one. A side still within the threshold SPAN out
    is unbounded: its bound is the edge of the quantity's range (0 or inf; a gain 1 or inf; S_opt 0 or 1), and
    `bounded` is False. Returns one row per quantity: estimate, low, high, bounded."""
    spec = result.problem
    quantities = list(named.values())
    M = len(quantities)
    z_hat = spec.encode(result.params)
    O_hat, Q_hat, G_MxP, H_PxP = (x[0] for x in spec.measure(z_hat, quantities))
    rise = profile_threshold(result, level)
    H_PxP = H_PxP + 1e-12 * np.trace(H_PxP) * np.eye(len(H_PxP))
    scale_M = np.sqrt(np.einsum("mp,pq,mq->m", G_MxP, np.linalg.inv(H_PxP), G_MxP))  # O ~ (dq/scale)^2 / 2
    half_M = np.sqrt(2 * rise) * scale_M  # Wald half-width at the threshold
    pool_z_BxP = np.concatenate([z_hat[None], pool_z_BxP])
    pool = list(spec.measure(pool_z_BxP, quantities)[:2]) + [pool_z_BxP]  # O_B, Q_BxM, z_BxP
    # Per side s = (m, direction): the outermost refit under the threshold so far, and the
    # nearest refit over it beyond that one. The rings go on past a first crossing (the objective
    # can rise over a ridge and fall again, e.g. into the valley where c -> 0) until the side is
    # SPAN out or its objective has risen past FAR times the threshold.
    sides = [(m, d) for m in range(M) for d in (-1.0, 1.0)]
    under, over = {s: (Q_hat[s[0]], O_hat, z_hat) for s in sides}, {}

    def refit(todo: list, targets: list):
        if not todo:  # no side left to move (none crossed the threshold, e.g. at an estimate on its bound)
            return []
        ms = [m for m, _ in todo]
        pull = np.array([stiffness[s] for s in todo])
        O_B, Q_BxM, z_BxP = pool
        score = [np.nan_to_num(O_B + 0.5 * np.clip(p * (Q_BxM[:, m] - t), -1e100, 1e100) ** 2, nan=np.inf)
                 for m, t, p in zip(ms, targets, pull)]
        z, _, _ = spec.solve(z_BxP[np.argmin(score, axis=1)], quantity_B=[quantities[m] for m in ms],
                             pull_B=pull, at_B=pull * np.array(targets), max_steps=PROFILE_STEPS)
        O, Q, _, _ = spec.measure(z, quantities)
        pool[:] = [np.concatenate([O_B, O]), np.concatenate([Q_BxM, Q]), np.concatenate([z_BxP, z])]
        return [(Q[i, m], O[i], z[i]) for i, m in enumerate(ms)]

    def record(s, point):
        q, o, _ = point
        if not s[1] * (q - under[s][0]) > 0:
            return  # not beyond the outermost point under the threshold
        if o - O_hat <= rise:
            under[s] = point
            if s in over and not s[1] * (over[s][0] - q) > 0:
                del over[s]  # this point lies beyond the crossing found so far
        elif s not in over or s[1] * (q - over[s][0]) < 0:
            over[s] = point

    # Each side's targets step out ring by ring, capped at SPAN; a refit that falls short of
    # half its step (the profile is stiffer there than at the estimate) is redone stiffer.
    stiffness = {s: PULL**0.5 / scale_M[s[0]] for s in sides}
    ring = {s: 0 for s in sides}
    active = set(sides)
    while active:
        todo = [s for s in sides if s in active]
        targets = [Q_hat[m] + d * min(RINGS[ring[(m, d)]] * half_M[m], SPAN) for m, d in todo]
        for s, target, point in zip(todo, targets, refit(todo, targets)):
            record(s, point)
            step, wanted = s[1] * (point[0] - Q_hat[s[0]]), s[1] * (target - Q_hat[s[0]])
            if step < wanted / 2 and point[1] - O_hat <= FAR * rise:
                stiffness[s] *= STIFFER
            else:
                ring[s] += 1
            if ((wanted >= SPAN and step >= wanted / 2) or point[1] - O_hat > FAR * rise
                    or ring[s] == len(RINGS) or stiffness[s] > MAX_STIFFNESS * PULL**0.5 / scale_M[s[0]]):
                active.discard(s)

    def crossing(s):  # where the root of the objective's rise reaches the threshold's, linearly
        (q0, o0, _), (q1, o1, _) = under[s], over[s]
        r0, r1 = np.sqrt(max(o0 - O_hat, 0.0)), np.sqrt(o1 - O_hat)
        return q0 + (q1 - q0) * (np.sqrt(rise) - r0) / (r1 - r0)

    for _ in range(REFINE):  # secant steps towards the outermost crossing
        todo = [s for s in sides if s in over]
        targets = [crossing(s) for s in todo]
        for s, target, point in zip(todo, targets, refit(todo, targets)):
            record(s, point)  # may drop over[s]: the point lay beyond the crossing, which is then sought again
            if s in over and abs(point[0] - target) > 0.1 * abs(over[s][0] - under[s][0]):
                stiffness[s] *= STIFFER  # fell short of the target: the next one stiffer
    rows = {}
    for m, (name, quantity) in enumerate(named.items()):
        ends = []
        for d in (-1.0, 1.0):
            s = (m, d)
            if s in over:
                ends.append(crossing(s))
            else:
                ends.append(d * np.inf)
        low, high = _natural(quantity, ends)
        estimate = result.params[quantity[1]] if quantity[0] == "coefficient" else _natural(quantity, Q_hat[m])
        rows[name] = {"estimate": float(estimate), "low": float(low), "high": float(high),
                      "bounded": all((m, d) in over for d in (-1.0, 1.0))}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "quantity"
    return table


def fit_intervals(result: FitResult, derived: Mapping | None = None, n_boot=200, level=0.95,
                  seed=0) -> pd.DataFrame:
    """Intervals that cover (see the module docstring) for every free coefficient of a fit and
    every derived quantity: the hull of the percentile bootstrap interval (n_boot resamples of
    the runs, seeded by `seed`, each refitted from the full fit) and the profile-likelihood
    interval (the fit redone with the quantity held at values around its estimate; the interval
    where the objective stays within `profile_threshold` of its minimum).

    result: a kit.fit.fitting.fit result. derived: name -> (kind, *args) (see KINDS), e.g.
    {"gain(0.5)": ("gain", 0.5), "L(T5-XL)": ("loss", 0.75, 6.0e8, 3.3e10),
    "S_opt": ("s_opt", 6.0e8, 1e22, 6)}.
    Returns one row per quantity: estimate (the fit's), low, high; bounded (False where the
    profile stays within the threshold out to SPAN on a side: that bound is then the edge of the
    quantity's range, 0 or inf (a gain 1 or inf, S_opt 0 or 1), and the data do not identify the quantity);
    and the two parts: profile_low, profile_high, boot_low, boot_high.

        >>> from kit.fit.paper import load_t5
        >>> t5 = load_t5()
        >>> result = fit(laws.sparse_law, t5, t5.loss, laws.COEFF_NAMES, starts=4)
        >>> table = fit_intervals(result, {"gain(0.5)": ("gain", 0.5)}, n_boot=8)
        >>> list(table.columns)
        ['estimate', 'low', 'high', 'profile_low', 'profile_high', 'bounded', 'boot_low', 'boot_high']
        >>> round(float(table.loc["gain(0.5)", "estimate"]), 2), bool((table.low <= table.estimate).all())
        (1.77, True)
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r}: must be in (0, 1)")
    named = _quantities(result, derived)
    quantities = list(named.values())
    boot_z_BxP = _resample_fits(result, n_boot, seed)
    _, Q_BxM, _, _ = result.problem.measure(boot_z_BxP, quantities)
    table = _profile(result, named, level, boot_z_BxP).rename(
        columns={"low": "profile_low", "high": "profile_high"})
    tail = (1 - level) / 2
    boot_low, boot_high = (np.array([_natural(quantity, np.nanquantile(Q_BxM[:, m], t))
                                     for m, quantity in enumerate(quantities)]) for t in (tail, 1 - tail))
    table.insert(1, "low", np.fmin(boot_low, table.profile_low))
    table.insert(2, "high", np.fmax(boot_high, table.profile_high))
    return table.assign(boot_low=boot_low, boot_high=boot_high)
