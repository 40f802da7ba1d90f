"""Gradual magnitude pruning (Zhu & Gupta, 2017) as an optax transformation.

As in Frantar et al. (Appendix A): every prunable kernel is pruned to the same sparsity, by
magnitude, following a schedule (kit.schedules) with a mask update every `update_every` steps;
pruned weights never come back. n:m patterns use the paper's iterative n:m pruning
(Algorithm 1): within each group of m consecutive input weights the n largest are protected
(ranked above everything, the paper's "set to infinity") before the unstructured top-k, so
gradual pruning ends with exactly n non-zeros in every group at sparsity 1 - n/m.

Masks are a pytree shaped like the parameters: a bool array (True = kept) on every prunable
leaf, None elsewhere. A prunable leaf is a Dense kernel [d_in, d_out] (kit.model.is_prunable).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kit import schedules

SCOPES = ("layer", "global")


def _is_none(x) -> bool:
    return x is None


def _name(path) -> str:
    return jax.tree_util.keystr(path, simple=True, separator="/")


def _prunable_leaves(params, prunable) -> list[tuple[str, Any]]:
    """(path string, leaf) for every prunable leaf, in tree order."""
    named = jax.tree_util.tree_flatten_with_path(params)[0]
    flags = jax.tree.leaves(prunable)
    if len(named) != len(flags):
        raise ValueError(f"prunable has {len(flags)} leaves but params has {len(named)}; "
                         "build it with kit.model.is_prunable(params)")
    return [(_name(path), leaf) for (path, leaf), flag in zip(named, flags) if flag]


def _check_nm(name: str, shape: tuple, m: int) -> None:
    if len(shape) != 2 or shape[0] % m:
        raise ValueError(f"n:m pruning with m={m} needs m to divide the input dimension (axis 0) of "
                         f"every pruned kernel; layer {name} has shape {tuple(shape)}")


PROTECTED = np.uint32(0xFFFFFFFF)  # key of the n:m-protected entries: above every |w|


def _magnitude_key(w, mask):
    """uint32 keys ordered like |w| (the bits of a non-negative float32 order like its value),
    with the entries a previous mask pruned (mask False) at 0, below every kept one."""
    key = jax.lax.bitcast_convert_type(jnp.abs(w), jnp.uint32) + 1
    return key if mask is None else jnp.where(mask, key, 0)


def _keep_largest(key, n_keep):
    """Bool mask keeping exactly n_keep (may be traced) of the entries with the largest uint32
    keys, ties going to the lower flat index. The n_keep-th largest key t is found bit by bit
    (32 counting passes over the array, much faster than a sort on XLA:CPU)."""
    def try_bit(i, t):
        candidate = t | (jnp.uint32(1) << (31 - i).astype(jnp.uint32))
        return jnp.where(jnp.sum(key >= candidate) >= n_keep, candidate, t)
    t = jax.lax.fori_loop(0, 32, try_bit, jnp.uint32(0))
    tie = key == t
    n_ties_kept = n_keep - jnp.sum(key > t)
    return (key > t) | (tie & (jnp.cumsum(tie.ravel()).reshape(key.shape) <= n_ties_kept))


def _protect_nm(key_IxO, n: int, m: int):
    """Algorithm 1: give the n largest keys of each group of m consecutive rows (input weights)
    the PROTECTED key, so that the unstructured selection always keeps them."""
    d_in, d_out = key_IxO.shape
    key_GxMxO = key_IxO.reshape(d_in // m, m, d_out)
    key_i = key_GxMxO[:, :, None, :]  # [G, m(i), 1, O]
    key_j = key_GxMxO[:, None, :, :]  # [G, 1, m(j), O]
    j_before_i = (np.arange(m)[None, :] < np.arange(m)[:, None])[:, :, None]  # [m(i), m(j), 1]
    rank_GxMxO = jnp.sum((key_j > key_i) | ((key_j == key_i) & j_before_i), axis=2)  # entries ahead of i
    return jnp.where(rank_GxMxO < n, PROTECTED, key_GxMxO).reshape(d_in, d_out)


def magnitude_masks(params, prunable, sparsity, *, scope: str = "layer", nm: tuple[int, int] | None = None,
                    masks=None):
    """Keep-masks that prune fraction `sparsity` of the prunable weights with the smallest |w|.

    scope 'layer': every prunable kernel keeps exactly round((1 - sparsity) * size) entries;
    'global': one threshold over all prunable kernels, exactly round((1 - sparsity) * total) kept.
    nm=(n, m): Algorithm 1 (at least n kept per group of m along the input dimension; exactly n
    at sparsity 1 - n/m); needs scope 'layer' and sparsity <= 1 - n/m.
    masks: the previous masks; entries they prune rank below every kept one, so with a
    non-decreasing sparsity they stay pruned (monotone pruning).
    `sparsity` may be a traced scalar; keep counts are then computed in float32.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r}: allowed {SCOPES}")
    if isinstance(sparsity, (int, float)) and not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity={sparsity!r}: must be in [0, 1)")
    if nm is not None:
        n, m = nm
        if scope != "layer":
            raise ValueError(f"nm={nm!r}: n:m pruning is per layer; scope must be 'layer', not {scope!r}")
        if isinstance(sparsity, (int, float)) and sparsity > 1 - n / m + 1e-9:
            raise ValueError(f"sparsity={sparsity!r}: n:m pruning with nm={nm!r} "
                             f"cannot exceed 1 - n/m = {1 - n / m}")

    named, treedef = jax.tree_util.tree_flatten_with_path(params)
    flags = jax.tree.leaves(prunable)
    old = [None] * len(named) if masks is None else jax.tree.leaves(masks, is_leaf=_is_none)
    if not len(flags) == len(old) == len(named):
        raise ValueError(f"params ({len(named)} leaves), prunable ({len(flags)}) and masks ({len(old)}) "
                         "must have the same structure; build prunable with kit.model.is_prunable(params)")
    keys = []
    for (path, w), flag, mask in zip(named, flags, old):
        if not flag:
            continue
        key = _magnitude_key(w, mask)
        if nm is not None:
            _check_nm(_name(path), w.shape, nm[1])
            key = _protect_nm(key, *nm)
        keys.append(key)

    density = 1.0 - jnp.asarray(sparsity, jnp.float32)
    n_keep = lambda size: jnp.round(density * size).astype(jnp.int32)
    if scope == "layer":
        kept = [_keep_largest(k, n_keep(k.size)) for k in keys]
    else:
        flat = _keep_largest(jnp.concatenate([k.ravel() for k in keys]), n_keep(sum(k.size for k in keys)))
        splits = np.cumsum([k.size for k in keys])[:-1]
        kept = [f.reshape(k.shape) for f, k in zip(jnp.split(flat, splits), keys)]
    kept = iter(kept)
    return treedef.unflatten([next(kept) if flag else None for flag in flags])


def _zero_pruned(mask, x):
    return x if mask is None else jnp.where(mask, x, 0)


class GradualPruningState(NamedTuple):
    inner_state: optax.OptState
    masks: Any  # bool arrays on prunable leaves (True = kept), None elsewhere
    sparsity: jax.Array  # the target sparsity the current masks were computed at
    count: jax.Array  # steps done


def gradual_pruning(inner: optax.GradientTransformation, *, prunable, sparsity_fn: Callable,
                    update_every: int, scope: str = "layer",
                    nm: tuple[int, int] | None = None) -> optax.GradientTransformation:
    """Wrap the whole optimizer `inner` (learning rate included; this must be the outermost
    transformation, since its updates are applied as params + updates) with gradual pruning.

    Masks are recomputed from the current params at sparsity_fn(step) when step % update_every
    == 0, and whenever sparsity_fn(step) differs from the sparsity of the current masks (so a
    piecewise-constant schedule such as `schedule_fn`'s is followed exactly, including its final
    jump to the target). The top-k runs only on those steps (jax.lax.cond). Every step, gradients
    of pruned weights are zeroed before `inner`, and the updates of pruned weights are -params,
    so pruned weights are exactly zero after every step. On a mask update the inner state's
    params-shaped trees (e.g. Adam moments) are zeroed where pruned.

    prunable: python bools shaped like params (kit.model.is_prunable), closed over, not traced.
    sparsity_fn(step) must be jax-traceable and non-decreasing; a continuously varying one
    would update the masks on every step of the pruning window.
    """
    if update_every < 1:
        raise ValueError(f"update_every={update_every!r}: must be >= 1")

    def init_fn(params):
        for name, w in _prunable_leaves(params, prunable):
            if nm is not None:
                _check_nm(name, w.shape, nm[1])  # fail before training, naming the layer
        masks = jax.tree.map(lambda w, p: jnp.ones(w.shape, bool) if p else None, params, prunable)
        return GradualPruningState(inner.init(params), masks, sparsity=jnp.zeros([], jnp.float32),
                                   count=jnp.zeros([], jnp.int32))

    def update_fn(grads, state, params=None):
        if params is None:
            raise ValueError("gradual_pruning needs params: call update(grads, state, params)")
        target = jnp.asarray(sparsity_fn(state.count), jnp.float32)
        refresh = (state.count % update_every == 0) | (target != state.sparsity)

        def new_masks():
            masks = magnitude_masks(params, prunable, target, scope=scope, nm=nm, masks=state.masks)
            inner_state = optax.tree_utils.tree_map_params(
                inner, lambda x, mask: _zero_pruned(mask, x), state.inner_state, masks)
            return masks, inner_state

        masks, inner_state = jax.lax.cond(refresh, new_masks, lambda: (state.masks, state.inner_state))
        grads = jax.tree.map(_zero_pruned, masks, grads, is_leaf=_is_none)
        updates, inner_state = inner.update(grads, inner_state, params)
        # params + updates is exactly 0 where pruned (x + -x == 0 in floating point).
        updates = jax.tree.map(lambda mask, u, p: u if mask is None else jnp.where(mask, u, -p),
                               masks, updates, params, is_leaf=_is_none)
        sparsity = jnp.where(refresh, target, state.sparsity)
        return updates, GradualPruningState(inner_state, masks, sparsity, state.count + 1)

    return optax.GradientTransformation(init_fn, update_fn)


def prune_window(config) -> tuple[float, float]:
    """(start, end) of pruning as fractions of training steps; for prune_clock 'compute' they are
    converted from fractions of sparse compute (kit.schedules.steps_from_compute)."""
    if config.prune_clock == "compute":
        return schedules.steps_from_compute(config.prune_start, config.prune_end, config.sparsity,
                                            config.schedule)
    return config.prune_start, config.prune_end


def update_every(config) -> int:
    """Mask update interval in steps: prune_every of all training steps, at least 1."""
    return max(1, round(config.prune_every * config.steps))


def schedule_fn(config) -> Callable:
    """Discretised target sparsity of a `kit.config.RunConfig`, as a jax-traceable function of
    the step: at every update step k * update_every it is kit.schedules.sparsity_at(step / steps),
    in between it holds the value of the last update step, and from the end step on (the first
    step at or after prune_end, capped at the last step so the final model always reaches it)
    it is exactly config.sparsity."""
    start, end = prune_window(config)
    every = update_every(config)
    end_step = min(math.ceil(end * config.steps - 1e-6), config.steps - 1)  # 1e-6: float noise in end * steps
    final = config.sparsity

    def fn(step):
        t = (step // every) * every / config.steps
        s = schedules.sparsity_at(t, final, start, end, config.schedule)
        return jnp.where(step >= end_step, final, s).astype(jnp.float32)

    return fn


def sparsity_report(params, prunable) -> dict[str, float]:
    """Fraction of exact zeros in every prunable leaf, keyed by its path ('block_0/attn/qkv/kernel')."""
    return {name: float(np.mean(np.asarray(w) == 0)) for name, w in _prunable_leaves(params, prunable)}


def nnz(params, prunable) -> int:
    """Number of non-zero prunable weights (the paper's N for a pruned model)."""
    return int(sum(np.count_nonzero(np.asarray(w)) for _, w in _prunable_leaves(params, prunable)))


def nm_violations(params, prunable, n: int, m: int) -> int:
    """Number of groups of m consecutive input weights (axis 0) holding more than n non-zeros."""
    total = 0
    for name, w in _prunable_leaves(params, prunable):
        _check_nm(name, w.shape, m)
        w = np.asarray(w)
        nonzero_GxO = np.count_nonzero(w.reshape(w.shape[0] // m, m, w.shape[1]), axis=1)
        total += int(np.sum(nonzero_GxO > n))
    return total
