"""A decoder-only byte-level Transformer whose width is its only scaling knob.

Pre-norm blocks of causal attention and a ReLU MLP, float32, no biases, in the style of
google-deepmind/nanodo and of T5 (the paper's model: ReLU MLP, RMS norm). Tensor names carry
their shapes: B batch, T sequence, D d_model, H heads, K head dim (D/H), F = 4D MLP hidden,
V vocab (256 bytes).

The family. Depth, context and vocabulary are fixed; only d_model changes (the paper scales "only
the Transformer's hidden dimension", Appendix A). Heads have dimension >= 32 where the width
allows it: H = the largest power of two <= min(8, D / 32) (one head below D = 64), so the head
dimension is never below 16 in the book's grids. Nothing but the kernels and the embedding has
parameters: norms are parameter-free RMS norms and positions are fixed sinusoids, so that the
parameters a law does not count stay few.

What N counts. The paper's N is the number of non-zero parameters in the linear layers of the
Transformer backbone, the layers it prunes uniformly (Frantar et al., Appendix A; the authors'
T5 sweep data count N = n_blocks x 12 d^2 x (1 - S)). Here those are the four kernels of every
block, 'qkv' [D, 3D], 'out' [D, D], 'up' [D, 4D] and 'down' [4D, D]: 12 D^2 per block
(`prunable_count`). The only other parameters are the tied token embedding / output projection
[V, D]. A sparse model is wider than the dense model of equal N, so its embedding would be larger
too; as the paper does for T5 ("we also sparsify the rather large embeddings to the amount
necessary for parameter matching a smaller dense version", Appendix A), the embedding of a run
at sparsity S is pruned to the 256 x d non-zeros of the dense model of equal N (`embed_sparsity`).
So at equal N every model has the same number of non-zero parameters in total, N_total = N +
V d_dense(N) (`total_count`), whatever its sparsity.

Parameters are the plain `params` dict of flax (what `init_params` returns).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

VOCAB = 256
PRUNABLE = ("qkv", "out", "up", "down")  # Dense layers whose 'kernel' is pruned and counted in N
EMBED = "embed"  # the tied embedding, pruned to match the dense model of equal N
HEAD_DIM = 32  # target head dimension ...
MAX_HEADS = 8  # ... with at most this many heads


def heads_for(d_model: int) -> int:
    """Number of heads at width d_model: the largest power of two h <= min(MAX_HEADS, d_model /
    HEAD_DIM) that divides d_model, at least 1.

        >>> [heads_for(d) for d in (16, 64, 96, 128, 256, 1024)]
        [1, 2, 2, 4, 8, 8]
    """
    h = 1
    while 2 * h <= min(MAX_HEADS, d_model // HEAD_DIM) and d_model % (2 * h) == 0:
        h *= 2
    return h


@dataclasses.dataclass(frozen=True)
class Shape:
    """A model of the family: width, depth, context and vocabulary; the heads follow the width
    (`heads_for`).

        >>> shape = Shape(d_model=64, n_layers=4, seq_len=64)
        >>> shape.n_heads, shape.vocab
        (2, 256)
    """

    d_model: int
    n_layers: int
    seq_len: int
    vocab: int = VOCAB

    @property
    def n_heads(self) -> int:
        return heads_for(self.d_model)


def rms_norm(x_BxTxD):
    """Parameter-free RMS norm over the last axis.

        >>> np.asarray(rms_norm(jnp.array([3.0, 4.0]))).round(3)  # divided by sqrt((9 + 16) / 2)
        array([0.849, 1.131], dtype=float32)
    """
    return x_BxTxD * jax.lax.rsqrt(jnp.mean(x_BxTxD * x_BxTxD, axis=-1, keepdims=True) + 1e-6)


def sinusoids(T: int, D: int) -> np.ndarray:
    """Fixed sinusoidal positions [T, D] (Vaswani et al. 2017), a trace-time constant.

        >>> sinusoids(3, 4).round(3)  # columns: sin(t), cos(t), sin(t / 100), cos(t / 100)
        array([[ 0.   ,  1.   ,  0.   ,  1.   ],
               [ 0.841,  0.54 ,  0.01 ,  1.   ],
               [ 0.909, -0.416,  0.02 ,  1.   ]], dtype=float32)
    """
    angle_TxD2 = np.arange(T)[:, None] / 10_000 ** (2 * np.arange(D // 2)[None] / D)
    pos_TxD = np.zeros((T, D), np.float32)
    pos_TxD[:, 0::2], pos_TxD[:, 1::2] = np.sin(angle_TxD2), np.cos(angle_TxD2[:, : D - D // 2])
    return pos_TxD


def _dense(features: int, name: str) -> nn.Dense:
    return nn.Dense(features, use_bias=False, kernel_init=nn.initializers.xavier_uniform(), name=name)


def _causal_softmax(q_GxTxK, k_GxTxK):
    """Attention weights [G, T, T] of queries over keys at or before them."""
    T = q_GxTxK.shape[1]
    mask_TxT = np.where(np.tril(np.ones((T, T), bool)), 0.0, -1e30).astype(np.float32)  # trace-time constant
    s_GxTxT = jnp.einsum("gqk,gsk->gqs", q_GxTxK, k_GxTxK) + mask_TxT
    e_GxTxT = jnp.exp(s_GxTxT - s_GxTxT.max(axis=-1, keepdims=True))
    return e_GxTxT * (1.0 / e_GxTxT.sum(axis=-1, keepdims=True))


@jax.custom_vjp
def _attend(q_GxTxK, k_GxTxK, v_GxTxK):
    """softmax(q k^T + causal mask) v over G = batch x heads independent sequences."""
    return jnp.einsum("gqs,gsk->gqk", _causal_softmax(q_GxTxK, k_GxTxK), v_GxTxK)


def _attend_fwd(q_GxTxK, k_GxTxK, v_GxTxK):
    p_GxTxT = _causal_softmax(q_GxTxK, k_GxTxK)
    return jnp.einsum("gqs,gsk->gqk", p_GxTxT, v_GxTxK), (q_GxTxK, k_GxTxK, v_GxTxK, p_GxTxT)


def _attend_bwd(saved, dy_GxTxK):
    """The softmax's backward written out, ds = p (dp - sum(dp p)): XLA:CPU's own derivative of
    the masked softmax is several more elementwise passes over [G, T, T]."""
    q_GxTxK, k_GxTxK, v_GxTxK, p_GxTxT = saved
    dv_GxTxK = jnp.einsum("gqs,gqk->gsk", p_GxTxT, dy_GxTxK)
    dp_GxTxT = jnp.einsum("gqk,gsk->gqs", dy_GxTxK, v_GxTxK)
    ds_GxTxT = p_GxTxT * (dp_GxTxT - jnp.sum(dp_GxTxT * p_GxTxT, axis=-1, keepdims=True))
    return (jnp.einsum("gqs,gsk->gqk", ds_GxTxT, k_GxTxK), jnp.einsum("gqs,gqk->gsk", ds_GxTxT, q_GxTxK),
            dv_GxTxK)


_attend.defvjp(_attend_fwd, _attend_bwd)


def causal_attention(q_BxTxHxK, k_BxTxHxK, v_BxTxHxK):
    """Causal scaled dot-product attention, [B, T, H, K] -> [B, T, H, K]: the same function as
    `jax.nn.dot_product_attention(q, k, v, is_causal=True)`, shaped for XLA:CPU at small widths
    (engine v3): heads folded into the batch, an additive mask, and the backward written out, which
    roughly halves attention's share of a d_model 16-48 step (README, Performance).

        >>> q, k, v = jax.random.normal(jax.random.PRNGKey(0), (3, 2, 8, 4, 16))  # each [B, T, H, K]
        >>> y = causal_attention(q, k, v)
        >>> y.shape, bool(jnp.allclose(y, jax.nn.dot_product_attention(q, k, v, is_causal=True), atol=1e-5))
        ((2, 8, 4, 16), True)
    """
    B, T, H, K = q_BxTxHxK.shape
    fold = lambda x_BxTxHxK: x_BxTxHxK.transpose(0, 2, 1, 3).reshape(B * H, T, K)
    y_GxTxK = _attend(fold(q_BxTxHxK) * K**-0.5, fold(k_BxTxHxK), fold(v_BxTxHxK))
    return y_GxTxK.reshape(B, H, T, K).transpose(0, 2, 1, 3)


def engine_v2_attention(q_BxTxHxK, k_BxTxHxK, v_BxTxHxK):
    """causal_attention as engine v2 computed it (a boolean mask and jax.nn.softmax, left to
    autodiff): the reference the tests compare with, and the baseline `make bench` times.

        >>> q, k, v = jax.random.normal(jax.random.PRNGKey(0), (3, 2, 8, 4, 16))  # each [B, T, H, K]
        >>> bool(jnp.allclose(engine_v2_attention(q, k, v), causal_attention(q, k, v), atol=1e-5))
        True
    """
    T, K = q_BxTxHxK.shape[1], q_BxTxHxK.shape[3]
    causal_TxT = np.tril(np.ones((T, T), dtype=bool))
    att_BxHxTxT = jnp.einsum("bqhk,bshk->bhqs", q_BxTxHxK * K**-0.5, k_BxTxHxK)
    att_BxHxTxT = jax.nn.softmax(jnp.where(causal_TxT, att_BxHxTxT, -1e30), axis=-1)
    return jnp.einsum("bhqs,bshk->bqhk", att_BxHxTxT, v_BxTxHxK)


class CausalAttention(nn.Module):
    """Causal self-attention of a block: the prunable kernels 'qkv' [D, 3D] and 'out' [D, D], no
    biases, shape.n_heads heads (`causal_attention`).

        >>> attention = CausalAttention(Shape(d_model=16, n_layers=1, seq_len=8))
        >>> params = attention.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 16)))["params"]
        >>> {name: layer["kernel"].shape for name, layer in params.items()}
        {'qkv': (16, 48), 'out': (16, 16)}
    """

    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD):
        B, T, D = x_BxTxD.shape
        H = self.shape.n_heads
        qkv_BxTx3xHxK = _dense(3 * D, "qkv")(x_BxTxD).reshape(B, T, 3, H, D // H)
        y_BxTxHxK = causal_attention(qkv_BxTx3xHxK[:, :, 0], qkv_BxTx3xHxK[:, :, 1], qkv_BxTx3xHxK[:, :, 2])
        return _dense(D, "out")(y_BxTxHxK.reshape(B, T, D))


class Mlp(nn.Module):
    """The ReLU MLP of a block: the prunable kernels 'up' [D, 4D] and 'down' [4D, D], no biases.

        >>> mlp = Mlp(Shape(d_model=16, n_layers=1, seq_len=8))
        >>> params = mlp.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 16)))["params"]
        >>> {name: layer["kernel"].shape for name, layer in params.items()}
        {'up': (16, 64), 'down': (64, 16)}
    """

    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD):
        D = self.shape.d_model
        return _dense(D, "down")(jax.nn.relu(_dense(4 * D, "up")(x_BxTxD)))


class Block(nn.Module):
    """One pre-norm block, x + attn(rms_norm(x)) then x + mlp(rms_norm(x)): 12 D^2 parameters,
    all of them prunable (`prunable_count`).

        >>> block = Block(Shape(d_model=16, n_layers=1, seq_len=8))
        >>> params = block.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 16)))["params"]
        >>> sorted(params), sum(w.size for w in jax.tree.leaves(params)) == prunable_count(16, 1)
        (['attn', 'mlp'], True)
    """

    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD):
        x_BxTxD = x_BxTxD + CausalAttention(self.shape, name="attn")(rms_norm(x_BxTxD))
        return x_BxTxD + Mlp(self.shape, name="mlp")(rms_norm(x_BxTxD))


class Transformer(nn.Module):
    """The model: the token embedding plus fixed sinusoids, n_layers Blocks, a final RMS norm and
    the tied output projection; tokens [B, T] (T <= seq_len) -> logits [B, T, V].

        >>> shape = Shape(d_model=16, n_layers=2, seq_len=8)
        >>> Transformer(shape).apply({"params": init_params(shape, seed=0)}, jnp.zeros((3, 8), jnp.int32)).shape
        (3, 8, 256)
    """

    shape: Shape

    @nn.compact
    def __call__(self, tokens_BxT):
        s = self.shape
        T = tokens_BxT.shape[1]
        if T > s.seq_len:
            raise ValueError(f"sequence of {T} tokens is longer than seq_len={s.seq_len}")
        scale = s.d_model**-0.5
        embed = nn.Embed(s.vocab, s.d_model, embedding_init=nn.initializers.normal(stddev=scale), name=EMBED)
        x_BxTxD = embed(tokens_BxT) + scale * sinusoids(T, s.d_model)
        for i in range(s.n_layers):
            x_BxTxD = Block(s, name=f"block_{i}")(x_BxTxD)
        return embed.attend(rms_norm(x_BxTxD))  # tied output projection


def init_params(shape: Shape, seed: int) -> dict:
    """Fresh parameters of `Transformer(shape)`; the same seed gives the same parameters.

        >>> params = init_params(Shape(d_model=16, n_layers=2, seq_len=8), seed=0)
        >>> sorted(params), params["embed"]["embedding"].shape
        (['block_0', 'block_1', 'embed'], (256, 16))
    """
    return init_from_key(jax.random.PRNGKey(seed), shape=shape)


@functools.partial(jax.jit, static_argnames="shape")
def init_from_key(key, *, shape: Shape) -> dict:
    """init_params from a PRNG key, jitted (one compilation per shape).

        >>> shape = Shape(d_model=16, n_layers=2, seq_len=8)
        >>> params = init_from_key(jax.random.PRNGKey(0), shape=shape)
        >>> bool(jnp.array_equal(params["embed"]["embedding"], init_params(shape, seed=0)["embed"]["embedding"]))
        True
    """
    return Transformer(shape).init(key, jnp.zeros((1, shape.seq_len), jnp.int32))["params"]


def token_losses(params: dict, shape: Shape, batch_BxT1) -> jax.Array:
    """Next-token cross-entropy (nats) [B, T] of batch[:, 1:] given batch[:, :-1].

        >>> shape = Shape(d_model=16, n_layers=2, seq_len=8)
        >>> batch = jnp.zeros((3, 9), jnp.int32)  # [B, T + 1] bytes
        >>> token_losses(init_params(shape, seed=0), shape, batch).shape
        (3, 8)
    """
    logits_BxTxV = Transformer(shape).apply({"params": params}, batch_BxT1[:, :-1])
    target_BxT = batch_BxT1[:, 1:]
    picked_BxT = jnp.take_along_axis(logits_BxTxV, target_BxT[..., None], axis=-1)[..., 0]
    return jax.nn.logsumexp(logits_BxTxV, axis=-1) - picked_BxT


def loss_fn(params: dict, shape: Shape, batch_BxT1) -> jax.Array:
    """Mean next-token cross-entropy (nats) of batch[:, 1:] given batch[:, :-1].

        >>> shape = Shape(d_model=16, n_layers=2, seq_len=8)
        >>> batch = jax.random.randint(jax.random.PRNGKey(1), (3, 9), 0, VOCAB)  # [B, T + 1] bytes
        >>> loss = loss_fn(init_params(shape, seed=0), shape, batch)
        >>> bool(abs(loss - math.log(VOCAB)) < 1)  # about ln 256 = 5.5 nats before training
        True
    """
    return token_losses(params, shape, batch_BxT1).mean()


def prunable_groups(params: dict) -> dict:
    """Same structure as params: on every pruned leaf the name of its group, 'backbone' for the
    'kernel' of every 'qkv', 'out', 'up', 'down' layer (counted in N) and 'embed' for the tied
    embedding (pruned to match the dense model of equal N, not counted in N); False elsewhere.

        >>> groups = prunable_groups(init_params(Shape(d_model=16, n_layers=1, seq_len=8), seed=0))
        >>> groups["embed"], groups["block_0"]["mlp"]
        ({'embedding': 'embed'}, {'down': {'kernel': 'backbone'}, 'up': {'kernel': 'backbone'}})
    """
    def group(path, _):
        names = [getattr(k, "key", None) for k in path]
        if len(names) >= 2 and names[-1] == "kernel" and names[-2] in PRUNABLE:
            return "backbone"
        return "embed" if names[0] == EMBED else False
    return jax.tree_util.tree_map_with_path(group, params)


def prunable_count(d_model: int, n_layers: int) -> int:
    """Prunable (N-counted) parameters: 12 d^2 per block (qkv 3d^2, out d^2, up 4d^2, down 4d^2).

        >>> prunable_count(d_model=16, n_layers=2)
        6144
    """
    return 12 * n_layers * d_model**2


def width_for(n_dense: float, n_layers: int, multiple: int) -> int:
    """The d_model, a multiple of `multiple` and at least `multiple`, whose prunable_count is
    nearest to n_dense in log space (ties go to the narrower model).

        >>> width_for(27_648, n_layers=4, multiple=8), width_for(15_000, n_layers=4, multiple=8)
        (24, 16)
    """
    if not n_dense > 0:
        raise ValueError(f"n_dense={n_dense!r}: must be > 0")
    if not (n_layers >= 1 and multiple >= 1):
        raise ValueError(f"n_layers={n_layers!r}, multiple={multiple!r}: both must be >= 1")
    d_exact = math.sqrt(n_dense / (12 * n_layers))
    below = max(multiple, multiple * math.floor(d_exact / multiple))
    above = max(multiple, multiple * math.ceil(d_exact / multiple))
    log_error = lambda d: abs(math.log(prunable_count(d, n_layers)) - math.log(n_dense))
    return min((below, above), key=log_error)


def shape_for(config) -> Shape:
    """Model shape of a `kit.engine.config.RunConfig`: the dense model of about N/(1-S) prunable
    parameters, widened to the nearest multiple of config.width_multiple.

        >>> from kit.engine.config import RunConfig
        >>> shape_for(RunConfig(n_nonzero=13_824, sparsity=0.5))  # N / (1 - S) = 27,648 = 12 x 4 x 24^2
        Shape(d_model=24, n_layers=4, seq_len=64, vocab=256)
    """
    d_model = width_for(config.n_nonzero / (1.0 - config.sparsity), config.n_layers, config.width_multiple)
    return Shape(d_model=d_model, n_layers=config.n_layers, seq_len=config.seq_len)


def dense_width(config) -> int:
    """Width of the dense model of equal N (the S = 0 run of the same target N).

        >>> from kit.engine.config import RunConfig
        >>> dense_width(RunConfig(n_nonzero=13_824, sparsity=0.5))  # the sparse model has d_model 24
        16
    """
    return width_for(config.n_nonzero, config.n_layers, config.width_multiple)


def embed_sparsity(config) -> float:
    """Final sparsity of the tied embedding [V, d]: 1 - d_dense / d, so that it keeps the V x d_dense
    non-zeros of the dense model of equal N (0 for a dense run, or with config.embed_match off).

        >>> from kit.engine.config import RunConfig
        >>> round(embed_sparsity(RunConfig(n_nonzero=13_824, sparsity=0.5)), 4)  # 1 - 16 / 24
        0.3333
    """
    if not config.embed_match:
        return 0.0
    return 1.0 - dense_width(config) / shape_for(config).d_model


def total_count(n_nonzero, d_embed, vocab: int = VOCAB):
    """N_total: all non-zero parameters, the backbone's N plus the embedding's vocab x d_embed
    (d_embed = the dense width of equal N when the embedding is matched).

        >>> total_count(13_824, d_embed=16)  # 13,824 + 256 x 16
        17920
    """
    return n_nonzero + vocab * d_embed


def flops_per_token(shape: Shape, density: float = 1.0, embed_density: float = 1.0) -> float:
    """Training FLOPs per token: 3 x forward (backward = 2 x forward, Kaplan et al. 2020).

    Forward counts 2 FLOPs per multiply-add of: the prunable kernels at the given density
    (density x 12 L d^2), the tied output projection at embed_density (V d; the input embedding
    is a lookup), and attention scores plus the weighted sum of values over the full context
    (2 x seq_len x d per layer, the causal mask's halving not taken). Norms, ReLU, softmax and
    residual adds are not counted. density = embed_density = 1 is the dense-shaped model.

        >>> shape = Shape(d_model=16, n_layers=2, seq_len=8)
        >>> flops_per_token(shape), flops_per_token(shape, density=0.5)  # 6 x (6144 + 4096 + 512)
        (64512.0, 46080.0)
    """
    d, L = shape.d_model, shape.n_layers
    linear = density * prunable_count(d, L) + embed_density * shape.vocab * d
    attention = 2 * shape.seq_len * d * L
    return 3.0 * 2.0 * (linear + attention)


def size_row(config) -> dict:
    """One row of the model-size table of a `kit.engine.config.RunConfig`: its width, depth, heads and
    context, its N (non-zero backbone weights at the end) and the dense backbone it prunes, its
    embedding (all and non-zero) and N_total, the uncounted non-zeros as a fraction of N, its
    training FLOPs per token (dense-shaped and at the final non-zeros) and tokens per step.

        >>> from kit.engine.config import RunConfig
        >>> row = size_row(RunConfig(n_nonzero=13_824, sparsity=0.5))
        >>> row["d_model"], row["heads"], row["N"], row["embedding non-zeros"], row["N_total"]
        (24, 1, 13824, 4096, 17920)
    """
    shape = shape_for(config)
    n_dense = prunable_count(shape.d_model, shape.n_layers)
    n = round((1 - config.sparsity) * n_dense)
    embed_kept = round((1 - embed_sparsity(config)) * shape.vocab * shape.d_model)
    return {"N target": config.n_nonzero, "S": config.sparsity, "d_model": shape.d_model, "layers": shape.n_layers,
            "heads": shape.n_heads, "head dim": shape.d_model // shape.n_heads, "context": shape.seq_len,
            "N": n, "dense backbone": n_dense, "embedding": shape.vocab * shape.d_model,
            "embedding non-zeros": embed_kept, "N_total": n + embed_kept, "uncounted / N": embed_kept / n,
            "FLOPs/token (dense-shaped)": flops_per_token(shape),
            "FLOPs/token (final non-zeros)": flops_per_token(shape, n / n_dense, embed_kept / (shape.vocab * shape.d_model)),
            "tokens/step": config.tokens_per_step}
