"""Gradual magnitude pruning (Zhu & Gupta, 2017) as an optax transformation.

As in Frantar et al. (Appendix A): every prunable kernel is pruned to the same sparsity, by
magnitude, following a schedule (kit.laws.schedules) with a mask update every `update_every` steps;
pruned weights never come back. n:m patterns use the paper's iterative n:m pruning
(Algorithm 1): within each group of m consecutive input weights the n largest are protected
(ranked above everything, the paper's "set to infinity") before the unstructured top-k, so
gradual pruning ends with exactly n non-zeros in every group at sparsity 1 - n/m.

Masks are a pytree shaped like the parameters: a bool array (True = kept) on every pruned leaf,
None elsewhere. Pruned leaves come in groups with targets of their own (kit.engine.model.prunable_groups):
'backbone', the Dense kernels [d_in, d_out] counted in N, and 'embed', the tied embedding, pruned
to match the dense model of equal N.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from kit.laws import schedules

SCOPES = ("layer", "global")


def _is_none(x) -> bool:
    return x is None


def _name(path) -> str:
    return jax.tree_util.keystr(path, simple=True, separator="/")


def _prunable_leaves(params, prunable, group: str | None = None) -> list[tuple[str, Any]]:
    """(path string, leaf) for every pruned leaf (of `group` if given), in tree order."""
    named = jax.tree_util.tree_flatten_with_path(params)[0]
    flags = jax.tree.leaves(prunable, is_leaf=_is_none)
    if len(named) != len(flags):
        raise ValueError(f"prunable has {len(flags)} leaves but params has {len(named)}; "
                         "build it with kit.engine.model.prunable_groups(params)")
    return [(_name(path), leaf) for (path, leaf), flag in zip(named, flags)
            if _group(flag) and (group is None or _group(flag) == group)]


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


def _keep_largest(keys: list, n_keeps: list) -> list:
    """For every uint32 key array and its n_keep (may be traced): a bool mask keeping exactly n_keep
    of the entries with the largest keys, ties going to the lower flat index. The n_keep-th
    largest key t of each array is found bit by bit, all arrays in the same 32 counting passes
    (much faster than a sort on XLA:CPU, and one loop rather than one per array)."""
    n_keep_K = jnp.stack([jnp.asarray(n, jnp.int32) for n in n_keeps])

    def try_bit(i, t_K):
        bit = jnp.uint32(1) << (31 - i).astype(jnp.uint32)
        count_K = jnp.stack([jnp.sum(key >= (t_K[k] | bit), dtype=jnp.int32) for k, key in enumerate(keys)])
        return jnp.where(count_K >= n_keep_K, t_K | bit, t_K)

    t_K = jax.lax.fori_loop(0, 32, try_bit, jnp.zeros(len(keys), jnp.uint32))
    masks = []
    for k, key in enumerate(keys):
        tie = key == t_K[k]
        n_ties_kept = n_keep_K[k] - jnp.sum(key > t_K[k], dtype=jnp.int32)
        masks.append((key > t_K[k]) | (tie & (jnp.cumsum(tie.ravel()).reshape(key.shape) <= n_ties_kept)))
    return masks


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


def _group(flag) -> str | None:
    """The group of a leaf of `prunable`: its label, 'backbone' for True, None for False."""
    if flag is True:
        return "backbone"
    return flag or None


def _per_group(sparsity, groups) -> dict:
    """{group: sparsity} from a scalar (the same for every group) or a dict naming every group."""
    if isinstance(sparsity, dict):
        missing = sorted(set(groups) - set(sparsity))
        if missing:
            raise ValueError(f"sparsity has no value for the pruned groups {missing}; got {sorted(sparsity)}")
        return {g: sparsity[g] for g in groups}
    return {g: sparsity for g in groups}


def magnitude_masks(params, prunable, sparsity, *, scope: str = "layer", nm: tuple[int, int] | None = None,
                    masks=None):
    """Keep-masks that prune fraction `sparsity` of the prunable weights with the smallest |w|.

    prunable: shaped like params; on every pruned leaf its group ('backbone', 'embed'; True means
    'backbone'), False elsewhere (kit.engine.model.prunable_groups). sparsity: one target for
    every group, or {group: target}.
    scope 'layer': every pruned leaf keeps exactly round((1 - sparsity) * size) entries;
    'global': one threshold over all leaves of a group, exactly round((1 - sparsity) * total) kept.
    nm=(n, m): Algorithm 1 on the 'backbone' group (at least n kept per group of m along the
    input dimension; exactly n at sparsity 1 - n/m); needs scope 'layer' and sparsity <= 1 - n/m.
    masks: the previous masks; entries they prune rank below every kept one, so with a
    non-decreasing sparsity they stay pruned (monotone pruning).
    Targets may be traced scalars; keep counts are then computed in float32.

        >>> params = {"w": jnp.array([[0.1, -2.0], [3.0, 0.5]]), "scale": jnp.ones(2)}
        >>> masks = magnitude_masks(params, {"w": "backbone", "scale": False}, sparsity=0.5)
        >>> masks["w"].tolist(), masks["scale"]
        ([[False, True], [True, False]], None)
    """
    if scope not in SCOPES:
        raise ValueError(f"scope={scope!r}: allowed {SCOPES}")
    named, treedef = jax.tree_util.tree_flatten_with_path(params)
    groups = [_group(f) for f in jax.tree.leaves(prunable, is_leaf=_is_none)]
    old = [None] * len(named) if masks is None else jax.tree.leaves(masks, is_leaf=_is_none)
    if not len(groups) == len(old) == len(named):
        raise ValueError(f"params ({len(named)} leaves), prunable ({len(groups)}) and masks ({len(old)}) "
                         "must have the same structure; build prunable with kit.engine.model.prunable_groups(params)")
    targets = _per_group(sparsity, dict.fromkeys(g for g in groups if g))
    for group, target in targets.items():
        if isinstance(target, (int, float)) and not 0.0 <= target < 1.0:
            raise ValueError(f"sparsity={target!r} (group {group}): must be in [0, 1)")
    if nm is not None:
        n, m = nm
        if scope != "layer":
            raise ValueError(f"nm={nm!r}: n:m pruning is per layer; scope must be 'layer', not {scope!r}")
        target = targets.get("backbone", 0.0)
        if isinstance(target, (int, float)) and target > 1 - n / m + 1e-9:
            raise ValueError(f"sparsity={target!r}: n:m pruning with nm={nm!r} "
                             f"cannot exceed 1 - n/m = {1 - n / m}")

    keys = {}  # leaf index -> uint32 key
    for i, ((path, w), group, mask) in enumerate(zip(named, groups, old)):
        if group is None:
            continue
        key = _magnitude_key(w, mask)
        if nm is not None and group == "backbone":
            _check_nm(_name(path), w.shape, nm[1])
            key = _protect_nm(key, *nm)
        keys[i] = key

    n_keep = lambda size, group: jnp.round((1.0 - jnp.asarray(targets[group], jnp.float32)) * size).astype(jnp.int32)
    # What one threshold applies to: every leaf ('layer'), or all leaves of a group ('global').
    units = ([[i] for i in keys] if scope == "layer" else
             [[i for i in keys if groups[i] == group] for group in targets])
    flat = [keys[u[0]] if len(u) == 1 else jnp.concatenate([keys[i].ravel() for i in u]) for u in units]
    found = _keep_largest(flat, [n_keep(f.size, groups[u[0]]) for u, f in zip(units, flat)])
    kept = {}
    for u, mask in zip(units, found):
        splits = np.cumsum([keys[i].size for i in u])[:-1]
        kept.update({i: part.reshape(keys[i].shape) for i, part in zip(u, jnp.split(mask.ravel(), splits))})
    return treedef.unflatten([kept.get(i) for i in range(len(named))])


def _zero_pruned(mask, x):
    return x if mask is None else jnp.where(mask, x, 0)


class _GradualPruningState(NamedTuple):
    inner_state: optax.OptState
    masks: Any  # bool arrays on pruned leaves (True = kept), None elsewhere
    sparsity: dict  # {group: the target sparsity the current masks were computed at}
    kept: dict  # {group: the number of True mask entries, the non-zeros the next step starts from}
    count: jax.Array  # steps done


def gradual_pruning(inner: optax.GradientTransformation, *, prunable, sparsity_fn: Callable,
                    update_every, scope: str = "layer",
                    nm: tuple[int, int] | None = None) -> optax.GradientTransformation:
    """Wrap the whole optimizer `inner` (learning rate included; this must be the outermost
    transformation, since its updates are applied as params + updates) with gradual pruning.

    Masks are recomputed from the current params at sparsity_fn(step) when step % update_every
    == 0, and whenever sparsity_fn(step) differs from the sparsity of the current masks (so a
    piecewise-constant schedule such as `schedule_fn`'s is followed exactly, including its final
    jump to the target). The top-k runs only on those steps (jax.lax.cond). Every step, gradients
    of pruned weights are zeroed before `inner`, and the updates of pruned weights are -params,
    so pruned weights are exactly zero after every step. The inner state (e.g. Adam moments) of a
    pruned weight is left alone: its gradient is zero and its update overridden, and a pruned
    weight never returns, so it never acts (and keeping it out of the lax.cond keeps a step cheap).

    prunable: groups shaped like params (kit.engine.model.prunable_groups), closed over, not traced.
    sparsity_fn(step) -> one target, or {group: target}; jax-traceable and non-decreasing (a
    continuously varying one would update the masks on every step of the pruning window).
    update_every may be a traced integer (so one compiled step serves runs of any length).

        >>> params = {"w": jnp.array([[0.1, -2.0], [3.0, 0.5]])}
        >>> tx = gradual_pruning(optax.sgd(0.5), prunable={"w": "backbone"}, sparsity_fn=lambda step: 0.5,
        ...                      update_every=1)
        >>> updates, state = tx.update(params, tx.init(params), params)  # the params as gradients
        >>> optax.apply_updates(params, updates)["w"].tolist(), int(state.kept["backbone"])
        ([[0.0, -1.0], [1.5, 0.0]], 2)
    """
    if isinstance(update_every, int) and update_every < 1:
        raise ValueError(f"update_every={update_every!r}: must be >= 1")
    groups = list(dict.fromkeys(g for g in map(_group, jax.tree.leaves(prunable, is_leaf=_is_none)) if g))

    def targets(count):
        return {g: jnp.asarray(v, jnp.float32) for g, v in _per_group(sparsity_fn(count), groups).items()}

    def init_fn(params):
        for name, w in _prunable_leaves(params, prunable, "backbone"):
            if nm is not None:
                _check_nm(name, w.shape, nm[1])  # fail before training, naming the layer
        masks = jax.tree.map(lambda w, g: jnp.ones(w.shape, bool) if _group(g) else None, params, prunable)
        return _GradualPruningState(inner.init(params), masks, sparsity={g: jnp.zeros([], jnp.float32) for g in groups},
                                   kept={g: kept_count(masks, prunable, g) for g in groups},
                                   count=jnp.zeros([], jnp.int32))

    def update_fn(grads, state, params=None):
        if params is None:
            raise ValueError("gradual_pruning needs params: call update(grads, state, params)")
        target = targets(state.count)
        changed = jnp.any(jnp.stack([target[g] != state.sparsity[g] for g in groups]))
        refresh = (state.count % update_every == 0) | changed

        def new_masks():
            masks = magnitude_masks(params, prunable, target, scope=scope, nm=nm, masks=state.masks)
            return masks, {g: kept_count(masks, prunable, g) for g in groups}

        masks, kept = jax.lax.cond(refresh, new_masks, lambda: (state.masks, state.kept))
        grads = jax.tree.map(_zero_pruned, masks, grads, is_leaf=_is_none)
        updates, inner_state = inner.update(grads, state.inner_state, params)
        # params + updates is exactly 0 where pruned (x + -x == 0 in floating point).
        updates = jax.tree.map(lambda mask, u, p: u if mask is None else jnp.where(mask, u, -p),
                               masks, updates, params, is_leaf=_is_none)
        sparsity = {g: jnp.where(refresh, target[g], state.sparsity[g]) for g in groups}
        return updates, _GradualPruningState(inner_state, masks, sparsity, kept, state.count + 1)

    return optax.GradientTransformation(init_fn, update_fn)


def kept_count(masks, prunable, group: str = "backbone") -> jax.Array:
    """Number of kept (True) mask entries of a group, on device: the non-zeros the next step starts from.

        >>> int(kept_count({"w": jnp.array([True, False, True])}, {"w": "backbone"}))
        2
    """
    leaves = [m for m, g in zip(jax.tree.leaves(masks, is_leaf=_is_none), jax.tree.leaves(prunable, is_leaf=_is_none))
              if _group(g) == group]
    return sum(jnp.sum(m, dtype=jnp.int32) for m in leaves)


def prune_window(config) -> tuple[float, float]:
    """(start, end) of pruning as fractions of training steps; for prune_clock 'compute' they are
    converted from fractions of sparse compute (kit.laws.schedules.steps_from_compute).

        >>> from kit.engine.config import RunConfig
        >>> prune_window(RunConfig(sparsity=0.5))
        (0.25, 0.75)
        >>> [round(f, 3) for f in prune_window(RunConfig(sparsity=0.5, prune_clock="compute"))]
        [0.161, 0.677]
    """
    if config.prune_clock == "compute":
        return schedules.steps_from_compute(config.prune_start, config.prune_end, config.sparsity,
                                            config.schedule)
    return config.prune_start, config.prune_end


def update_every(config) -> int:
    """Mask update interval in steps: prune_every of all training steps, at least 1.

        >>> from kit.engine.config import RunConfig
        >>> update_every(RunConfig()), RunConfig().steps  # 1% of 512 steps
        (5, 512)
    """
    return max(1, round(config.prune_every * config.steps))


class Schedule(NamedTuple):
    """Gradual pruning of one run as plain numbers. Inside a jitted step they are traced scalars,
    so one compiled step serves every run of a model shape whatever its length and targets.

        >>> schedule = Schedule(final={"backbone": 0.5}, start=0.25, end=0.75, end_step=15, every=1, steps=20)
        >>> float(target_sparsity(10, schedule)["backbone"])  # halfway through the window: 0.5 - 0.5 x 0.5^3
        0.4375
    """
    final: dict  # {group: final sparsity}
    start: float  # fraction of the steps at which pruning starts ...
    end: float  # ... and at which it reaches the final sparsity (step clock)
    end_step: int  # first step at which the final sparsity holds exactly
    every: int  # mask update interval in steps
    steps: int  # steps of the run


def schedule_for(config, embed_sparsity: float = 0.0) -> Schedule:
    """The Schedule of a `kit.engine.config.RunConfig`, the embedding group pruned to embed_sparsity
    (kit.engine.model.embed_sparsity) with the same schedule. The end step is the first step at or
    after prune_end, capped at the last step so the final model always reaches the target.

        >>> from kit.engine.config import RunConfig
        >>> schedule_for(RunConfig(n_nonzero=3072, sparsity=0.5, seq_len=16, batch_size=8, tokens=2560))
        Schedule(final={'backbone': 0.5, 'embed': 0.0}, start=0.25, end=0.75, end_step=15, every=1, steps=20)
    """
    start, end = prune_window(config)
    end_step = min(math.ceil(end * config.steps - 1e-6), config.steps - 1)  # 1e-6: float noise in end * steps
    return Schedule(final={"backbone": config.sparsity, "embed": embed_sparsity}, start=start, end=end,
                    end_step=end_step, every=update_every(config), steps=config.steps)


def target_sparsity(step, schedule: Schedule, kind: str = "cubic") -> dict:
    """{group: target sparsity at `step`}: at every update step k * every it is
    kit.laws.schedules.sparsity_at(step / steps) of the group's final sparsity, in between it holds the
    value of the last update step, and from end_step on it is exactly the final sparsity.

        >>> from kit.engine.config import RunConfig
        >>> schedule = schedule_for(RunConfig(n_nonzero=3072, sparsity=0.5, seq_len=16, batch_size=8, tokens=2560))
        >>> [round(float(target_sparsity(step, schedule)["backbone"]), 4) for step in (0, 5, 10, 15, 19)]
        [0.0, 0.0, 0.4375, 0.5, 0.5]
    """
    t = (step // schedule.every) * schedule.every / schedule.steps
    return {g: jnp.where(step >= schedule.end_step, final,
                         schedules.sparsity_at(t, final, schedule.start, schedule.end, kind)).astype(jnp.float32)
            for g, final in schedule.final.items()}


def schedule_fn(config, embed_sparsity: float = 0.0) -> Callable:
    """target_sparsity of a RunConfig as a jax-traceable function of the step.

        >>> from kit.engine.config import RunConfig
        >>> sparsity_fn = schedule_fn(RunConfig(n_nonzero=3072, sparsity=0.5, seq_len=16, batch_size=8, tokens=2560))
        >>> float(jax.jit(sparsity_fn)(10)["backbone"])
        0.4375
    """
    schedule = schedule_for(config, embed_sparsity)
    return lambda step: target_sparsity(step, schedule, config.schedule)


def sparsity_report(params, prunable) -> dict[str, float]:
    """Fraction of exact zeros in every pruned leaf, keyed by its path ('block_0/attn/qkv/kernel').

        >>> params = {"mlp": {"kernel": jnp.array([[0.0, -2.0], [3.0, 0.0]])}, "scale": jnp.ones(2)}
        >>> sparsity_report(params, {"mlp": {"kernel": "backbone"}, "scale": False})
        {'mlp/kernel': 0.5}
    """
    return {name: float(np.mean(np.asarray(w) == 0)) for name, w in _prunable_leaves(params, prunable)}


def nnz(params, prunable, group: str = "backbone") -> int:
    """Number of non-zero weights of a group ('backbone': the paper's N for a pruned model).

        >>> nnz({"w": jnp.array([[0.0, -2.0], [3.0, 0.0]])}, {"w": "backbone"})
        2
    """
    return int(sum(np.count_nonzero(np.asarray(w)) for _, w in _prunable_leaves(params, prunable, group)))


def nm_violations(params, prunable, n: int, m: int) -> int:
    """Number of groups of m consecutive input weights (axis 0) of the backbone holding more than n non-zeros.

        >>> w = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # [d_in 4, d_out 2]
        >>> nm_violations({"w": w}, {"w": "backbone"}, n=2, m=4)  # column 0 has 3 non-zeros in its 4
        1
    """
    total = 0
    for name, w in _prunable_leaves(params, prunable, "backbone"):
        _check_nm(name, w.shape, m)
        w = np.asarray(w)
        nonzero_GxO = np.count_nonzero(w.reshape(w.shape[0] // m, m, w.shape[1]), axis=1)
        total += int(np.sum(nonzero_GxO > n))
    return total
