import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from kit.engine import model
from kit.engine.config import RunConfig

SHAPE = model.Shape(d_model=16, n_layers=2, seq_len=8)


@pytest.fixture(scope="module")
def params():
    return model.init_params(SHAPE, seed=0)


def _named(tree):
    return {jax.tree_util.keystr(path, simple=True, separator="/"): leaf
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def test_pruned_leaves_are_the_four_kernels_of_every_block_and_the_embedding(params):
    groups = model.prunable_groups(params)
    assert jax.tree.structure(groups) == jax.tree.structure(params)
    named = {name: (w.shape, g) for (name, w), g in zip(_named(params).items(), jax.tree.leaves(groups))}
    assert named == {
        "embed/embedding": ((256, 16), "embed"),
        **{f"block_{i}/{layer}/kernel": (shape, "backbone")
           for i in range(2)
           for layer, shape in (("attn/qkv", (16, 48)), ("attn/out", (16, 16)), ("mlp/up", (16, 64)),
                                ("mlp/down", (64, 16)))},
    }
    backbone = [s for s, g in named.values() if g == "backbone"]
    assert sum(math.prod(s) for s in backbone) == model.prunable_count(16, 2) == 6144


def test_no_biases_norm_scales_or_position_parameters(params):
    assert all(name.endswith(("kernel", "embedding")) for name in _named(params))


@pytest.mark.parametrize("d_model, heads", [(8, 1), (16, 1), (24, 1), (56, 1), (64, 2), (96, 2), (128, 4),
                                            (136, 4), (192, 4), (256, 8), (272, 8), (1024, 8), (20, 1)])
def test_heads_are_powers_of_two_of_dimension_at_least_32(d_model, heads):
    assert model.heads_for(d_model) == heads
    assert d_model % heads == 0 and (heads == 1 or d_model // heads >= 32)


def test_sinusoids_are_fixed_unit_waves():
    pos_TxD = model.sinusoids(64, 16)
    assert pos_TxD.shape == (64, 16) and np.all(np.abs(pos_TxD) <= 1)
    np.testing.assert_allclose(pos_TxD[:, 0], np.sin(np.arange(64)), atol=1e-6)
    np.testing.assert_allclose(pos_TxD[:, 1], np.cos(np.arange(64)), atol=1e-6)
    assert len({tuple(np.round(row, 5)) for row in pos_TxD}) == 64  # every position distinct


def test_logits_shape_and_causality(params):
    tokens_BxT = jax.random.randint(jax.random.PRNGKey(1), (3, 8), 0, 256)
    apply = jax.jit(lambda tokens: model.Transformer(SHAPE).apply({"params": params}, tokens))
    logits_BxTxV = apply(tokens_BxT)
    assert logits_BxTxV.shape == (3, 8, 256)
    changed_BxT = tokens_BxT.at[:, 5].set((tokens_BxT[:, 5] + 1) % 256)
    changed_BxTxV = apply(changed_BxT)
    np.testing.assert_array_equal(changed_BxTxV[:, :5], logits_BxTxV[:, :5])
    assert np.abs(changed_BxTxV[:, 5:] - logits_BxTxV[:, 5:]).min(axis=-1).max() > 1e-4


def test_same_seed_same_params():
    a, b, c = (model.init_params(SHAPE, seed) for seed in (3, 3, 4))
    for x, y, z in zip(jax.tree.leaves(a), jax.tree.leaves(b), jax.tree.leaves(c)):
        np.testing.assert_array_equal(x, y)
        assert not np.array_equal(x, z)


def test_loss_fn_is_mean_next_token_cross_entropy(params):
    batch_BxT1 = jax.random.randint(jax.random.PRNGKey(2), (2, 9), 0, 256)
    logits = np.asarray(model.Transformer(SHAPE).apply({"params": params}, batch_BxT1[:, :-1]), np.float64)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.asarray(batch_BxT1[:, 1:])
    expected = -np.mean(np.take_along_axis(logp, targets[..., None], axis=-1))
    assert float(model.loss_fn(params, SHAPE, batch_BxT1)) == pytest.approx(expected, rel=1e-5)


def test_prunable_count():
    assert model.prunable_count(16, 2) == 6144
    assert model.prunable_count(64, 3) == 12 * 3 * 64 * 64


@pytest.mark.parametrize("n_layers", [1, 2, 4])
@pytest.mark.parametrize("multiple", [4, 8, 16])
def test_width_for_is_the_nearest_multiple_in_log_space(n_layers, multiple):
    for n_dense in [1, 500, 3000, 6000, 12_345, 1e5, 3.3e6]:
        d = model.width_for(n_dense, n_layers, multiple)
        assert d % multiple == 0 and d >= multiple
        candidates = range(multiple, 100 * multiple + 2000, multiple)
        log_error = lambda c: abs(math.log(model.prunable_count(c, n_layers) / n_dense))
        assert log_error(d) == min(log_error(c) for c in candidates)
    for d in (multiple, 3 * multiple, 10 * multiple):
        assert model.width_for(model.prunable_count(d, n_layers), n_layers, multiple) == d


def test_width_for_rejects_bad_input():
    with pytest.raises(ValueError, match="n_dense"):
        model.width_for(0, 2, 8)
    with pytest.raises(ValueError, match="multiple"):
        model.width_for(1000, 2, 0)


def test_shape_for_trains_the_dense_model_of_n_over_one_minus_s():
    n = model.prunable_count(64, 2)
    for sparsity, n_nonzero in ((0.0, n), (0.5, n // 2), (0.75, n // 4), (0.875, n // 8)):
        shape = model.shape_for(RunConfig(n_nonzero=n_nonzero, sparsity=sparsity, n_layers=2))
        assert shape == model.Shape(d_model=64, n_layers=2, seq_len=RunConfig().seq_len)
    shape = model.shape_for(RunConfig(n_nonzero=50_000, sparsity=0.5, n_layers=2, width_multiple=8))
    assert shape.d_model == model.width_for(100_000, 2, 8) == 64


def test_flops_per_token_by_hand():
    # prunable 12*2*16^2 = 6144, logits 256*16 = 4096, attention 2*2*8*16*2 = 1024 (per forward token)
    assert model.flops_per_token(SHAPE) == 3 * (2 * (6144 + 4096) + 1024) == 64512
    assert model.flops_per_token(SHAPE, density=0.5) == 3 * (2 * (3072 + 4096) + 1024) == 46080
    assert model.flops_per_token(SHAPE, density=0.5, embed_density=0.25) == 3 * (2 * (3072 + 1024) + 1024)


@pytest.mark.parametrize("n_nonzero", [13_824, 27_648, 55_296, 221_184])
def test_embedding_matches_the_dense_model_of_equal_n(n_nonzero):
    dense = RunConfig(n_nonzero=n_nonzero)
    d_dense = model.shape_for(dense).d_model
    assert model.embed_sparsity(dense) == 0.0
    for sparsity in (0.5, 0.75, 0.875):
        config = dense.replace(sparsity=sparsity)
        d = model.shape_for(config).d_model
        assert d > d_dense
        kept = round((1 - model.embed_sparsity(config)) * 256 * d)
        assert kept == 256 * d_dense  # the same non-zero embedding as the dense run of equal N
        assert model.embed_sparsity(config.replace(embed_match=False)) == 0.0
    assert model.total_count(n_nonzero, d_dense) == n_nonzero + 256 * d_dense


def test_size_row_counts_what_a_run_trains():
    config = RunConfig(n_nonzero=221_184, sparsity=0.875)
    row = model.size_row(config)
    assert row["d_model"] == 192 and row["layers"] == 4 and row["heads"] == 4 and row["head dim"] == 48
    assert row["N"] == 221_184 and row["dense backbone"] == 8 * 221_184
    assert row["embedding"] == 256 * 192 and row["embedding non-zeros"] == 256 * 64  # the dense width at N is 64
    assert row["N_total"] == 221_184 + 256 * 64 and row["uncounted / N"] == pytest.approx(16_384 / 221_184)
    assert row["FLOPs/token (dense-shaped)"] > row["FLOPs/token (final non-zeros)"] > 6 * 221_184
    assert row["tokens/step"] == 2048


@pytest.mark.parametrize("heads,head_dim,scale", [(1, 16, 1.0), (1, 48, 8.0), (4, 32, 3.0), (2, 16, 30.0)])
def test_attention_matches_engine_v2_in_value_and_gradient(heads, head_dim, scale):
    """kit.engine.model.causal_attention (custom backward) against the v2 formulation, to float32
    precision: outputs, and the gradients of a random projection of them, for all of q, k, v,
    on random inputs of several scales (large scores make the softmax peaked)."""
    keys = jax.random.split(jax.random.PRNGKey(heads * 100 + head_dim), 4)
    q, k, v = (scale * jax.random.normal(key, (8, 64, heads, head_dim)) for key in keys[:3])
    w = jax.random.normal(keys[3], q.shape)
    projected = lambda f: jax.jit(jax.value_and_grad(lambda q, k, v: jnp.sum(f(q, k, v) * w), argnums=(0, 1, 2)))
    (value_new, grads_new), (value_old, grads_old) = (projected(f)(q, k, v) for f in
                                                      (model.causal_attention, model.engine_v2_attention))
    np.testing.assert_allclose(model.causal_attention(q, k, v), model.engine_v2_attention(q, k, v), rtol=0, atol=2e-6 * scale)
    assert abs(float(value_new - value_old)) <= 1e-5 * abs(float(value_old)) + 1e-4
    for new, old in zip(grads_new, grads_old):
        assert float(jnp.max(jnp.abs(new - old))) <= 1e-5 * float(jnp.max(jnp.abs(old)))


def test_attention_is_causal():
    """Changing keys and values after position t leaves the outputs up to t unchanged."""
    q, k, v = (jax.random.normal(jax.random.PRNGKey(i), (2, 16, 1, 8)) for i in range(3))
    y = model.causal_attention(q, k, v)
    k2, v2 = k.at[:, 9:].set(5.0), v.at[:, 9:].set(-5.0)
    y2 = model.causal_attention(q, k2, v2)
    np.testing.assert_array_equal(np.asarray(y[:, :9]), np.asarray(y2[:, :9]))
    assert float(jnp.max(jnp.abs(y[:, 9:] - y2[:, 9:]))) > 0.1
