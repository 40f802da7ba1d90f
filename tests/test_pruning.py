import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from kit.engine import model, pruning
from kit.laws import schedules
from kit.engine.config import RunConfig

KERNELS = {"qkv": (8, 24), "out": (8, 8), "up": (8, 32), "down": (32, 8)}


def toy_params(seed=0):
    """Dense-kernel-shaped params named like kit.engine.model's, plus a non-prunable LayerNorm scale."""
    rng = np.random.default_rng(seed)
    params = {name: {"kernel": jnp.asarray(rng.normal(size=shape), jnp.float32)} for name, shape in KERNELS.items()}
    params["ln"] = {"scale": jnp.ones(8)}
    return params


PRUNABLE = model.prunable_groups(toy_params())


def kept_count(size, sparsity):
    return round((1 - sparsity) * size)


def group_counts(mask_IxO, m):
    d_in, d_out = mask_IxO.shape
    return np.asarray(mask_IxO).reshape(d_in // m, m, d_out).sum(axis=1)


def config(**changes):
    """A RunConfig of 200 steps (1 x 2 tokens each) unless `tokens` says otherwise."""
    return RunConfig(**{"tokens": 400, "batch_size": 1, "seq_len": 2, "eval_tokens": 2, **changes})


def test_prunable_flags_pick_the_kernels():
    assert PRUNABLE == {"qkv": {"kernel": "backbone"}, "out": {"kernel": "backbone"}, "up": {"kernel": "backbone"},
                        "down": {"kernel": "backbone"}, "ln": {"scale": False}}


@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.3, 0.5, 0.75, 0.875, 0.9])
def test_layer_scope_keeps_exactly_the_largest_of_every_kernel(sparsity):
    params = toy_params()
    masks = pruning.magnitude_masks(params, PRUNABLE, sparsity)
    assert masks["ln"]["scale"] is None
    for name in KERNELS:
        w, mask = np.abs(params[name]["kernel"]), np.asarray(masks[name]["kernel"])
        assert mask.dtype == bool and mask.shape == w.shape
        assert mask.sum() == kept_count(w.size, sparsity)
        if 0 < mask.sum() < mask.size:
            assert w[mask].min() > w[~mask].max()


@pytest.mark.parametrize("sparsity", [0.2, 0.5, 0.8])
def test_global_scope_uses_one_threshold_and_an_exact_total(sparsity):
    params = toy_params()
    params["up"]["kernel"] = 10 * params["up"]["kernel"]  # one layer of much larger weights
    masks = pruning.magnitude_masks(params, PRUNABLE, sparsity, scope="global")
    kept = np.concatenate([np.abs(params[n]["kernel"])[masks[n]["kernel"]] for n in KERNELS])
    pruned = np.concatenate([np.abs(params[n]["kernel"])[~masks[n]["kernel"]] for n in KERNELS])
    assert kept.size == kept_count(kept.size + pruned.size, sparsity)
    assert kept.min() > pruned.max()
    assert np.mean(masks["up"]["kernel"]) > np.mean(masks["qkv"]["kernel"])  # not uniform per layer


def test_ties_keep_an_exact_count_lowest_index_first():
    params = {name: {"kernel": jnp.ones(shape)} for name, shape in KERNELS.items()}
    masks = pruning.magnitude_masks(params, model.prunable_groups(params), 0.3)
    for name, shape in KERNELS.items():
        k = kept_count(math.prod(shape), 0.3)
        np.testing.assert_array_equal(np.asarray(masks[name]["kernel"]).ravel(), np.arange(math.prod(shape)) < k)


def test_previous_masks_make_pruning_monotone():
    first = pruning.magnitude_masks(toy_params(0), PRUNABLE, 0.5)
    new_weights = toy_params(1)  # pruned entries would otherwise come back
    fresh = pruning.magnitude_masks(new_weights, PRUNABLE, 0.7)
    second = pruning.magnitude_masks(new_weights, PRUNABLE, 0.7, masks=first)
    assert any(np.any(fresh[n]["kernel"] & ~first[n]["kernel"]) for n in KERNELS)
    for name, shape in KERNELS.items():
        assert not np.any(second[name]["kernel"] & ~first[name]["kernel"])
        assert second[name]["kernel"].sum() == kept_count(math.prod(shape), 0.7)


@pytest.mark.parametrize("nm", [(2, 4), (1, 4), (4, 8), (2, 8)])
def test_gradual_nm_pruning_ends_with_exactly_n_per_group(nm):
    n, m = nm
    rng = np.random.default_rng(0)
    update = jax.jit(lambda p, s, previous: pruning.magnitude_masks(p, PRUNABLE, s, nm=nm, masks=previous))
    params = toy_params()
    masks = {name: {"kernel": np.ones(shape, bool)} for name, shape in KERNELS.items()} | {"ln": {"scale": None}}
    for sparsity in np.linspace(0.0, 1 - n / m, 6):
        masks = update(params, sparsity, masks)
        for name, shape in KERNELS.items():
            assert masks[name]["kernel"].sum() == kept_count(math.prod(shape), sparsity)
            assert group_counts(masks[name]["kernel"], m).min() >= n
        # train a little: surviving weights move, pruned ones stay zero
        for name, shape in KERNELS.items():
            moved = params[name]["kernel"] + 0.5 * rng.normal(size=shape)
            params[name]["kernel"] = jnp.where(masks[name]["kernel"], moved, 0)
    for name in KERNELS:
        assert np.all(group_counts(masks[name]["kernel"], m) == n)


@pytest.mark.parametrize("nm", [(2, 4), (1, 4)])
def test_one_shot_nm_keeps_the_largest_n_of_each_group(nm):
    n, m = nm
    params = toy_params()
    masks = pruning.magnitude_masks(params, PRUNABLE, 1 - n / m, nm=nm)
    for name, (d_in, d_out) in KERNELS.items():
        w_GxMxO = np.abs(np.asarray(params[name]["kernel"])).reshape(d_in // m, m, d_out)
        nth_largest = -np.sort(-w_GxMxO, axis=1)[:, n - 1 : n, :]
        expected = (w_GxMxO >= nth_largest).reshape(d_in, d_out)
        np.testing.assert_array_equal(masks[name]["kernel"], expected)


def test_nm_needs_m_to_divide_the_input_dimension():
    params = toy_params()
    params["qkv"]["kernel"] = jnp.ones((6, 24))
    with pytest.raises(ValueError, match=r"m=4 .* qkv/kernel has shape \(6, 24\)"):
        pruning.magnitude_masks(params, PRUNABLE, 0.5, nm=(2, 4))
    tx = pruning.gradual_pruning(optax.sgd(0.1), prunable=PRUNABLE, sparsity_fn=lambda step: 0.5,
                                 update_every=1, nm=(2, 4))
    with pytest.raises(ValueError, match=r"qkv/kernel has shape \(6, 24\)"):
        tx.init(params)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="sparsity=0.6.*1 - n/m = 0.5"):
        pruning.magnitude_masks(toy_params(), PRUNABLE, 0.6, nm=(2, 4))
    with pytest.raises(ValueError, match="scope='row'"):
        pruning.magnitude_masks(toy_params(), PRUNABLE, 0.5, scope="row")
    with pytest.raises(ValueError, match="sparsity=1.0"):
        pruning.magnitude_masks(toy_params(), PRUNABLE, 1.0)


def test_update_every():
    assert pruning.update_every(config(prune_every=0.05)) == 10
    assert pruning.update_every(config(prune_every=0.001)) == 1
    assert pruning.update_every(config(prune_every=1.0)) == 200


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
@pytest.mark.parametrize("clock", ["steps", "compute"])
def test_schedule_fn_follows_kit_schedules_at_update_steps(kind, clock):
    cfg = config(sparsity=0.75, schedule=kind, prune_clock=clock, prune_every=0.03)  # every 6 steps
    schedule_fn, every = pruning.schedule_fn(cfg), pruning.update_every(cfg)
    fn = lambda step: schedule_fn(step)["backbone"]
    start, end = (0.25, 0.75) if clock == "steps" else schedules.steps_from_compute(0.25, 0.75, 0.75, kind)
    end_step = math.ceil(end * cfg.steps - 1e-6)
    values = np.asarray(jax.vmap(fn)(jnp.arange(cfg.steps)))
    for step in range(0, end_step, every):
        expected = schedules.sparsity_at(step / cfg.steps, 0.75, start, end, kind)
        assert values[step] == pytest.approx(expected, abs=1e-6)
        np.testing.assert_array_equal(values[step : min(step + every, end_step)], values[step])  # held in between
    assert values[end_step - 1] < 0.75
    assert np.all(values[end_step:] == np.float32(0.75)) and fn(10**6) == np.float32(0.75)
    assert 0 < values[end_step // 2] < 0.75


def test_schedule_fn_jumps_to_the_target_at_the_end_step():
    fn = pruning.schedule_fn(config(sparsity=0.5, prune_end=0.74, prune_every=0.03), embed_sparsity=0.25)
    assert fn(144)["backbone"] < 0.5 and fn(147)["backbone"] == fn(144)["backbone"] and fn(148)["backbone"] == np.float32(0.5)
    assert 0 < fn(144)["embed"] < 0.25 and fn(148)["embed"] == np.float32(0.25)  # the same schedule, its own target
    fn = pruning.schedule_fn(config(sparsity=0.5, prune_end=1.0, prune_every=0.03))  # capped at the last step
    assert fn(198)["backbone"] < 0.5 and fn(199)["backbone"] == np.float32(0.5) and fn(199)["embed"] == 0


def test_utilities_count_zeros_non_zeros_and_nm_groups():
    up_4x2 = jnp.array([[1.0, 0.0], [5.0, 0.0], [2.0, 3.0], [0.0, 0.0]])
    params = {"up": {"kernel": up_4x2}, "ln": {"scale": jnp.zeros(2)}}
    prunable = model.prunable_groups(params)
    assert pruning.sparsity_report(params, prunable) == {"up/kernel": 0.5}
    assert pruning.nnz(params, prunable) == 4
    assert pruning.nm_violations(params, prunable, 1, 2) == 1  # rows (0, 1) of column 0
    assert pruning.nm_violations(params, prunable, 2, 2) == 0
    assert pruning.nm_violations(params, prunable, 0, 4) == 2


def _train(tx, params, steps, target):
    """Pull every weight towards `target` (so pruned weights feel a gradient) with optimizer `tx`,
    yielding (params, state) after every step."""
    loss = lambda p: sum(jnp.sum((w - target) ** 2) for w in jax.tree.leaves(p))

    @jax.jit
    def step(p, state):
        updates, state = tx.update(jax.grad(loss)(p), state, p)
        return optax.apply_updates(p, updates), state

    state = tx.init(params)
    for _ in range(steps):
        params, state = step(params, state)
        yield params, state


@pytest.mark.parametrize("scope, nm, sparsity", [("layer", None, 0.75), ("global", None, 0.75),
                                                 ("layer", (2, 4), 0.5), ("layer", (1, 8), 0.875)])
def test_pruned_weights_stay_exactly_zero_under_adamw(scope, nm, sparsity):
    cfg = config(tokens=120, sparsity=sparsity, prune_scope=scope, nm=nm, prune_every=0.05)  # 60 steps, every 3
    inner = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(0.05, b1=0.9, weight_decay=0.1))
    tx = pruning.gradual_pruning(inner, prunable=PRUNABLE, sparsity_fn=pruning.schedule_fn(cfg),
                                 update_every=pruning.update_every(cfg), scope=scope, nm=nm)
    params0 = toy_params()
    previous = jax.tree.map(lambda w: np.ones(w.shape, bool), params0)
    for params, state in _train(tx, params0, cfg.steps, target=3.0):
        for name in KERNELS:
            mask = np.asarray(state.masks[name]["kernel"])
            assert not np.any(mask & ~previous[name]["kernel"])  # monotone
            assert np.all(np.asarray(params[name]["kernel"])[~mask] == 0)
            previous[name]["kernel"] = mask
        assert int(state.kept["backbone"]) == sum(int(np.sum(previous[name]["kernel"])) for name in KERNELS)
    assert float(state.sparsity["backbone"]) == np.float32(sparsity)
    sizes = [math.prod(shape) for shape in KERNELS.values()]
    if scope == "layer":
        for name, size in zip(KERNELS, sizes):
            assert np.count_nonzero(params[name]["kernel"]) == kept_count(size, sparsity)
    assert pruning.nnz(params, PRUNABLE) == (sum(kept_count(s, sparsity) for s in sizes) if scope == "layer"
                                             else kept_count(sum(sizes), sparsity))
    if nm is not None:
        assert pruning.nm_violations(params, PRUNABLE, *nm) == 0
    assert np.all(np.asarray(params["ln"]["scale"]) > 1.5)  # non-prunable leaves train as usual


def test_wrapper_is_the_inner_optimizer_while_dense():
    cfg = config(sparsity=0.5)
    inner = optax.adamw(0.05, weight_decay=0.1)
    tx = pruning.gradual_pruning(inner, prunable=PRUNABLE, sparsity_fn=pruning.schedule_fn(cfg),
                                 update_every=pruning.update_every(cfg))
    for (wrapped, _), (plain, _) in zip(_train(tx, toy_params(), 5, 3.0), _train(inner, toy_params(), 5, 3.0)):
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), wrapped, plain)


def test_gradual_pruning_of_the_transformer_reaches_the_nm_pattern():
    cfg = RunConfig(n_nonzero=1500, sparsity=0.5, nm=(2, 4), tokens=2 * 8 * 24, batch_size=2, seq_len=8,
                    n_layers=1, eval_tokens=8, prune_every=0.1)
    shape = model.shape_for(cfg)
    params = model.init_params(shape, cfg.seed)
    prunable = model.prunable_groups(params)
    tx = pruning.gradual_pruning(optax.adamw(1e-2), prunable=prunable,
                                 sparsity_fn=pruning.schedule_fn(cfg, model.embed_sparsity(cfg)),
                                 update_every=pruning.update_every(cfg), nm=cfg.nm)
    batch_BxT1 = jax.random.randint(jax.random.PRNGKey(0), (2, 9), 0, 256)

    @jax.jit
    def step(params, state):
        grads = jax.grad(model.loss_fn)(params, shape, batch_BxT1)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for _ in range(cfg.steps):
        params, state = step(params, state)
    report = pruning.sparsity_report(params, prunable)
    embed = report.pop("embed/embedding")
    assert len(report) == 4 and all(v == 0.5 for v in report.values())
    assert embed == pytest.approx(model.embed_sparsity(cfg), abs=1 / (256 * shape.d_model)) and embed > 0
    assert pruning.nm_violations(params, prunable, 2, 4) == 0
    assert pruning.nnz(params, prunable) == model.prunable_count(shape.d_model, 1) // 2
    assert pruning.nnz(params, prunable, "embed") == 256 * model.dense_width(cfg)


@pytest.mark.parametrize("sparsity", [0.0, 0.35, 0.6, 0.95])
def test_many_ties_match_a_stable_sort(sparsity):
    rng = np.random.default_rng(5)
    params = {name: {"kernel": jnp.asarray(rng.integers(-3, 4, size=shape), jnp.float32)}
              for name, shape in KERNELS.items()}
    masks = pruning.magnitude_masks(params, model.prunable_groups(params), sparsity)
    for name in KERNELS:
        w = np.abs(np.asarray(params[name]["kernel"])).ravel()
        expected = np.zeros(w.size, bool)
        expected[np.argsort(-w, kind="stable")[: kept_count(w.size, sparsity)]] = True
        np.testing.assert_array_equal(np.asarray(masks[name]["kernel"]).ravel(), expected)


def test_target_is_reached_when_the_end_step_is_not_an_update_step():
    cfg = config(tokens=120, sparsity=0.75, prune_end=1.0, prune_every=0.07)  # 60 steps, every 4, end step 59
    assert pruning.update_every(cfg) == 4
    tx = pruning.gradual_pruning(optax.sgd(0.01), prunable=PRUNABLE, sparsity_fn=pruning.schedule_fn(cfg),
                                 update_every=pruning.update_every(cfg))
    *_, (params, state) = _train(tx, toy_params(), cfg.steps, target=3.0)
    assert float(state.sparsity["backbone"]) == np.float32(0.75)
    assert pruning.sparsity_report(params, PRUNABLE) == {f"{name}/kernel": 0.75 for name in KERNELS}


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_groups_have_targets_of_their_own(scope):
    params = {**toy_params(), "embed": {"embedding": jnp.asarray(np.random.default_rng(1).normal(size=(16, 8)),
                                                                  jnp.float32)}}
    prunable = {**PRUNABLE, "embed": {"embedding": "embed"}}
    masks = pruning.magnitude_masks(params, prunable, {"backbone": 0.75, "embed": 0.5}, scope=scope)
    backbone = sum(math.prod(shape) for shape in KERNELS.values())
    kept_backbone = sum(int(np.sum(masks[name]["kernel"])) for name in KERNELS)
    assert kept_backbone == (sum(kept_count(math.prod(s), 0.75) for s in KERNELS.values()) if scope == "layer"
                             else kept_count(backbone, 0.75))
    assert int(np.sum(masks["embed"]["embedding"])) == 64
    assert int(pruning.kept_count(masks, prunable, "backbone")) == kept_backbone
    assert int(pruning.kept_count(masks, prunable, "embed")) == 64
    with pytest.raises(ValueError, match=r"no value for the pruned groups \['embed'\]"):
        pruning.magnitude_masks(params, prunable, {"backbone": 0.5})
