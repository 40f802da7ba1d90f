"""A decoder-only byte-level Transformer whose width is its only scaling knob.

Pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, in the style of
google-deepmind/nanodo, float32, no biases in any Dense layer. Tensor names carry their shapes:
B batch, T sequence, D d_model, H heads, K head dim (D/H), F = 4D MLP hidden, V vocab (256 bytes).

What N counts. The paper's N is the number of non-zero parameters in the linear layers of the
Transformer backbone, the layers it prunes uniformly (Frantar et al., Appendix A; the authors'
T5 sweep data count N = n_blocks x 12 d^2 x (1 - S)). Here
those are the four kernels of every block, 'qkv' [D, 3D], 'out' [D, D], 'up' [D, 4D] and
'down' [4D, D]: 12 D^2 per block (`prunable_count`), the only parameters pruned. The tied token
embedding / output projection (256 x D), the learned position embedding (seq_len x D) and the
LayerNorm scales and biases stay dense and are not counted in N: they grow linearly with the
width while the backbone grows quadratically, so counting them would bend N(d) at the small
widths studied here and break the comparison with the paper's N.

Parameters are the plain `params` dict of flax (what `init_params` returns); every function
here takes that dict, not the `{'params': ...}` variables wrapper.
"""

from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

VOCAB = 256
PRUNABLE = ("qkv", "out", "up", "down")  # Dense layers whose 'kernel' is pruned and counted in N


@dataclasses.dataclass(frozen=True)
class Shape:
    d_model: int
    n_layers: int
    n_heads: int
    seq_len: int
    vocab: int = VOCAB

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")


def _dense(features: int, name: str) -> nn.Dense:
    return nn.Dense(features, use_bias=False, kernel_init=nn.initializers.xavier_uniform(), name=name)


class CausalAttention(nn.Module):
    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD, mask_TxT):
        B, T, D = x_BxTxD.shape
        H = self.shape.n_heads
        K = D // H
        qkv_BxTx3xHxK = _dense(3 * D, "qkv")(x_BxTxD).reshape(B, T, 3, H, K)
        q_BxTxHxK = qkv_BxTx3xHxK[:, :, 0] * K**-0.5
        k_BxTxHxK = qkv_BxTx3xHxK[:, :, 1]
        v_BxTxHxK = qkv_BxTx3xHxK[:, :, 2]
        att_BxHxTxT = jnp.einsum("bqhk,bshk->bhqs", q_BxTxHxK, k_BxTxHxK)
        att_BxHxTxT = jax.nn.softmax(jnp.where(mask_TxT, att_BxHxTxT, -1e30), axis=-1)
        y_BxTxHxK = jnp.einsum("bhqs,bshk->bqhk", att_BxHxTxT, v_BxTxHxK)
        return _dense(D, "out")(y_BxTxHxK.reshape(B, T, D))


class Mlp(nn.Module):
    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD):
        D = self.shape.d_model
        h_BxTxF = jax.nn.gelu(_dense(4 * D, "up")(x_BxTxD))
        return _dense(D, "down")(h_BxTxF)


class Block(nn.Module):
    shape: Shape

    @nn.compact
    def __call__(self, x_BxTxD, mask_TxT):
        h_BxTxD = nn.LayerNorm(name="ln_attn")(x_BxTxD)
        x_BxTxD = x_BxTxD + CausalAttention(self.shape, name="attn")(h_BxTxD, mask_TxT)
        h_BxTxD = nn.LayerNorm(name="ln_mlp")(x_BxTxD)
        return x_BxTxD + Mlp(self.shape, name="mlp")(h_BxTxD)


class Transformer(nn.Module):
    shape: Shape

    @nn.compact
    def __call__(self, tokens_BxT):
        s = self.shape
        T = tokens_BxT.shape[1]
        if T > s.seq_len:
            raise ValueError(f"sequence of {T} tokens is longer than seq_len={s.seq_len}")
        init = nn.initializers.normal(stddev=s.d_model**-0.5)
        embed = nn.Embed(s.vocab, s.d_model, embedding_init=init, name="embed")
        pos_TxD = self.param("pos_embed", init, (s.seq_len, s.d_model))[:T]
        x_BxTxD = embed(tokens_BxT) + pos_TxD
        mask_TxT = np.tril(np.ones((T, T), dtype=bool))  # a trace-time constant
        for i in range(s.n_layers):
            x_BxTxD = Block(s, name=f"block_{i}")(x_BxTxD, mask_TxT)
        return embed.attend(nn.LayerNorm(name="ln_out")(x_BxTxD))  # tied output projection


def init_params(shape: Shape, seed: int) -> dict:
    """Fresh parameters of `Transformer(shape)`; the same seed gives the same parameters."""
    tokens_1xT = jnp.zeros((1, shape.seq_len), jnp.int32)
    return Transformer(shape).init(jax.random.PRNGKey(seed), tokens_1xT)["params"]


def loss_fn(params: dict, shape: Shape, batch_BxT1) -> jax.Array:
    """Mean next-token cross-entropy (nats) of batch[:, 1:] given batch[:, :-1]."""
    logits_BxTxV = Transformer(shape).apply({"params": params}, batch_BxT1[:, :-1])
    logp_BxTxV = jax.nn.log_softmax(logits_BxTxV, axis=-1)
    target_BxT = batch_BxT1[:, 1:]
    return -jnp.take_along_axis(logp_BxTxV, target_BxT[..., None], axis=-1).mean()


def is_prunable(params: dict) -> dict:
    """Same structure as params: True on the 'kernel' of every 'qkv', 'out', 'up', 'down' layer."""
    def prunable(path, _):
        names = [getattr(k, "key", None) for k in path]
        return len(names) >= 2 and names[-1] == "kernel" and names[-2] in PRUNABLE
    return jax.tree_util.tree_map_with_path(prunable, params)


def prunable_count(d_model: int, n_layers: int) -> int:
    """Prunable (N-counted) parameters: 12 d^2 per block (qkv 3d^2, out d^2, up 4d^2, down 4d^2)."""
    return 12 * n_layers * d_model**2


def width_for(n_dense: float, n_layers: int, multiple: int) -> int:
    """The d_model, a multiple of `multiple` and at least `multiple`, whose prunable_count is
    nearest to n_dense in log space (ties go to the narrower model)."""
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
    """Model shape of a `kit.config.RunConfig`: the dense model of about N/(1-S) prunable
    parameters, widened to the nearest multiple of config.width_multiple."""
    n_dense = config.n_nonzero / (1.0 - config.sparsity)
    d_model = width_for(n_dense, config.n_layers, config.width_multiple)
    return Shape(d_model=d_model, n_layers=config.n_layers, n_heads=config.n_heads, seq_len=config.seq_len)


def flops_per_token(shape: Shape, density: float = 1.0) -> float:
    """Training FLOPs per token: 3 x forward (backward = 2 x forward, Kaplan et al. 2020).

    Forward counts 2 FLOPs per multiply-add of: the prunable kernels at the given density
    (density x 12 L d^2), the tied output projection (V d; the input embedding is a lookup),
    and attention scores plus the weighted sum of values over the full context
    (2 x seq_len x d per layer, the causal mask's halving not taken). LayerNorms, GELU,
    softmax and residual adds are not counted."""
    d, L = shape.d_model, shape.n_layers
    linear = density * prunable_count(d, L) + shape.vocab * d
    attention = 2 * shape.seq_len * d * L
    return 3.0 * 2.0 * (linear + attention)
