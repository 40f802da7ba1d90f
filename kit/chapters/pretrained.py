"""Pruning pretrained models (Frantar et al. 2024, Section 4.2, Table 4): how much data sparsifying
from scratch needs to reach the loss of a model pruned from a dense checkpoint, by Eq. 1 solved for
the data, and that data as a multiple of the data the checkpoint route used.

Frames are kit.engine.store.law_frame's (one row per run: config fields, metrics, S, N, D, loss).

    pruned = pretrained.with_parents(law_frame(sparsified), law_frame(dense))
    table = pretrained.efficiency(pruned, fit.params)             # D_scratch, exc, inc
    D_BxM = pretrained.scratch_data_samples(pruned, coeff_samples, log_noise, seed=0)
    measured = pretrained.scratch_data_from_runs(pruned, law_frame(main_grid_runs))   # no law
    estimate, low, high = pretrained.geometric_mean_interval(measured.exc.dropna())
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.chapters import corelaw
from kit import laws


def with_parents(pruned: pd.DataFrame, dense: pd.DataFrame) -> pd.DataFrame:
    """The pruned runs with their dense parents' numbers (matched by init_from = the parent's id):
    N_dense, d_dense (its width), D_pretrain (its tokens), L_dense (its loss), and contiguous, whether
    the pruning phase read the data right after the parent's (data_offset = parent's offset + D)."""
    parents = dense.set_index("id")
    lacking = sorted(set(pruned.init_from) - set(parents.index))
    if lacking:
        raise ValueError(f"pruned runs start from {lacking}, which are not among the dense runs given")
    parent = parents.loc[pruned.init_from]
    return pruned.assign(N_dense=parent.N.to_numpy(), d_dense=parent.d_model.to_numpy(),
                         D_pretrain=parent.D.to_numpy(), L_dense=parent.loss.to_numpy(),
                         contiguous=(pruned.data_offset.to_numpy() == (parent.data_offset + parent.D).to_numpy()))


def scratch_limit(S, N, coeffs):
    """The law's loss for D -> infinity at (S, N): (a_S (1 - S)^b_S + c_S) N^-b_N + c (Eq. 1)."""
    return laws.sparse_law(S, N, np.inf, **coeffs)


def scratch_data(L, S, N, coeffs) -> np.ndarray:
    """Eq. 1 solved for D (kit.laws.data_for_loss): the data from which sparsifying from scratch
    reaches loss L at sparsity S with N non-zeros; inf where L is at or below the law's limit for
    D -> infinity (scratch_limit), which no finite D reaches."""
    L, S, N = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (L, S, N)))
    out = np.full(L.shape, np.inf)
    reachable = L > scratch_limit(S, N, coeffs)
    if reachable.any():
        out[reachable] = laws.data_for_loss(L[reachable], S[reachable], N[reachable], coeffs)
    return out


def efficiency(pruned: pd.DataFrame, coeffs: dict) -> pd.DataFrame:
    """Table 4 for models pruned from checkpoints. pruned: one row per pruned model with S, N, loss,
    D (the pruning phase's tokens) and D_pretrain. Adds L_limit (scratch_limit), D_scratch
    (scratch_data at its loss), exc = D_scratch / D (the checkpoint's data advantage with the
    pretraining not counted: from scratch needs exc times the pruning data) and inc = D_scratch /
    (D_pretrain + D) (with it counted: from scratch needs inc times the data of pretraining plus
    pruning; inc < 1 means pruning throughout training is the cheaper route, by 1 / inc)."""
    missing = [c for c in ("S", "N", "loss", "D", "D_pretrain") if c not in pruned.columns]
    if missing:
        raise ValueError(f"pruned lacks columns {missing}")
    D_scratch = scratch_data(pruned.loss, pruned.S, pruned.N, coeffs)
    return pruned.assign(L_limit=scratch_limit(pruned.S.to_numpy(), pruned.N.to_numpy(), coeffs),
                         D_scratch=D_scratch, exc=D_scratch / pruned.D.to_numpy(),
                         inc=D_scratch / (pruned.D_pretrain + pruned.D).to_numpy())


def scratch_data_samples(pruned: pd.DataFrame, coeff_samples: pd.DataFrame, log_noise: float = 0.0,
                         seed=0) -> np.ndarray:
    """D_scratch of every pruned model (columns) under every row of coeff_samples (e.g. bootstrap
    refits of the from-scratch law), each row also redrawing each pruned model's log loss from a
    normal distribution around its measured one with sd log_noise (one run's scatter, e.g. the
    fit's rms residual of log L; 0: the measured loss). Returns D_BxM, inf where unreachable and
    NaN where a row's coefficients are missing."""
    if not (np.isfinite(log_noise) and log_noise >= 0):
        raise ValueError(f"log_noise = {log_noise!r}: need a spread >= 0 (sd of log L)")
    rng = np.random.default_rng(seed)
    B, M = len(coeff_samples), len(pruned)
    loss_BxM = pruned.loss.to_numpy()[None, :] * np.exp(log_noise * rng.standard_normal((B, M)))
    D_BxM = np.full((B, M), np.nan)
    for b, row in enumerate(coeff_samples[list(laws.COEFF_NAMES)].itertuples(index=False)):
        coeffs = dict(zip(laws.COEFF_NAMES, row))
        if all(np.isfinite(v) and v > 0 for v in coeffs.values()):
            D_BxM[b] = scratch_data(loss_BxM[b], pruned.S.to_numpy(), pruned.N.to_numpy(), coeffs)
    return D_BxM


def geometric_mean(x_BxM, axis=-1) -> np.ndarray:
    """Geometric mean along `axis` (e.g. over the pretrained model sizes): inf if any value is
    inf, NaN if any is NaN."""
    x = np.asarray(x_BxM, dtype=float)
    with np.errstate(divide="ignore"):
        return np.exp(np.mean(np.log(x), axis=axis))


def percentile_interval(samples, level=0.95) -> tuple[float, float]:
    """The (1 - level)/2 and (1 + level)/2 quantiles of samples (NaN dropped), taken as order
    statistics (no interpolation), so that samples holding inf give inf, not NaN, at the ends."""
    x = np.asarray(samples, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError("no samples (all NaN)")
    tail = (1 - level) / 2
    low, high = np.quantile(x, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def scratch_twins(pruned: pd.DataFrame, scratch: pd.DataFrame) -> dict:
    """For every pruned model (index of `pruned`), its from-scratch twins: the runs of `scratch`
    (e.g. the main grid's law frame) with the same target sparsity (config field `sparsity`) and
    the same non-zero count N, sorted by D. Models without a twin are left out."""
    for name, frame in (("pruned", pruned), ("scratch", scratch)):
        missing = [c for c in ("sparsity", "N", "D", "loss") if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    groups = {(round(float(s), 6), int(n)): runs.sort_values("D")
              for (s, n), runs in scratch.groupby([scratch.sparsity.round(6), scratch.N.astype(int)])}
    return {i: groups[key] for i, key in zip(pruned.index, zip(pruned.sparsity.round(6), pruned.N.astype(int)))
            if key in groups}


def x_at_loss(x_K, L_K, L) -> float:
    """Where a curve of runs (x_K: their budgets D, or sizes N; L_K: their final losses) reaches
    loss L: log x linear in log L between the two consecutive runs whose losses bracket L (the
    first such pair from the smallest x on); NaN where L lies outside the losses of every pair
    (below the curve's reach or above its first run)."""
    order = np.argsort(x_K)
    log_x, log_L = np.log(np.asarray(x_K, dtype=float)[order]), np.log(np.asarray(L_K, dtype=float)[order])
    target = np.log(float(L))
    for k in range(len(log_x) - 1):
        hi, lo = log_L[k], log_L[k + 1]
        if min(hi, lo) <= target <= max(hi, lo) and hi != lo:
            return float(np.exp(log_x[k] + (log_x[k + 1] - log_x[k]) * (target - hi) / (lo - hi)))
    return float("nan")


def scratch_data_from_runs(pruned: pd.DataFrame, scratch: pd.DataFrame) -> pd.DataFrame:
    """Table 4 without a law: for every pruned model (columns sparsity, N, loss, D, D_pretrain),
    the data D_scratch at which its from-scratch twins (scratch_twins) reach its loss, read off
    their measured losses by x_at_loss, and exc = D_scratch / D, inc = D_scratch /
    (D_pretrain + D) as in `efficiency`. Adds twins (how many runs the curve has) and twin_D_min,
    twin_D_max (its budgets); D_scratch is NaN where a model has fewer than two twins or its loss
    lies outside their range (then the twins' range bounds it: see twin_loss_min, twin_loss_max)."""
    twins = scratch_twins(pruned, scratch)
    D_scratch, count, D_min, D_max, L_min, L_max = ([] for _ in range(6))
    for i, loss in zip(pruned.index, pruned.loss):
        runs = twins.get(i)
        has = runs is not None and len(runs) >= 2
        D_scratch.append(x_at_loss(runs.D, runs.loss, loss) if has else np.nan)
        count.append(0 if runs is None else len(runs))
        D_min.append(runs.D.min() if runs is not None else np.nan)
        D_max.append(runs.D.max() if runs is not None else np.nan)
        L_min.append(runs.loss.min() if runs is not None else np.nan)
        L_max.append(runs.loss.max() if runs is not None else np.nan)
    D_scratch = np.array(D_scratch)
    return pruned.assign(twins=count, twin_D_min=D_min, twin_D_max=D_max, twin_loss_min=L_min, twin_loss_max=L_max,
                         D_scratch=D_scratch, exc=D_scratch / pruned.D.to_numpy(),
                         inc=D_scratch / (pruned.D_pretrain + pruned.D).to_numpy())


def geometric_mean_interval(values, level=0.95) -> tuple[float, float, float]:
    """The geometric mean of positive values (e.g. one exc per pretrained model) and its Student-t
    `level` interval, from the mean of their logs (kit.chapters.corelaw.mean_interval): (estimate, low,
    high); NaN ends for fewer than two values."""
    values = np.asarray(values, dtype=float)
    if not (values.size and np.all(values > 0) and np.all(np.isfinite(values))):
        raise ValueError(f"values = {values.tolist()}: need one or more positive finite numbers")
    return tuple(float(np.exp(v)) for v in corelaw.mean_interval(np.log(values), level))
