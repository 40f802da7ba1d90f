"""Train one configuration: a width-scaled transformer, gradually pruned, with exact accounting.

`run(config)` checks the config against the corpus and the store before anything trains, trains
with AdamW (linear warmup, cosine decay) wrapped in the gradual pruner, evaluates the final
validation loss on a fixed held-out token set, and returns (and stores) a record:

- metrics.final_loss: mean next-byte cross-entropy (nats) on config.eval_tokens held-out tokens;
- metrics.nnz / n_dense / d_model / n_heads: non-zero prunable (backbone) weights at the end,
  prunable weights of the dense model trained, its width and heads;
- metrics.nnz_embed, n_total = nnz + nnz_embed: the tied embedding's non-zeros (pruned to the
  dense model of equal N, kit.engine.model.embed_sparsity) and all non-zero parameters;
- metrics.dense_flops = 6 * n_dense * D: prunable-layer FLOPs of training the dense model of the
  same width; metrics.sparse_flops = 6 * sum_t nnz_t * tokens_t: those actually spent under the
  schedule, if sparsity were exploited as soon as it appears (Frantar et al. Sec. 3.3 (b)), nnz_t
  being the non-zeros step t starts from; cmul_measured = sparse_flops / (6 N D) is the measured
  counterpart of kit.laws.cmul; n_avg = sum_t nnz_t tokens_t / D (Jin et al.);
- metrics.model_flops: all training FLOPs of the dense-shaped model (attention and logits
  included, kit.engine.model.flops_per_token); model_flops_sparse: the same with every step's non-zero
  backbone and embedding weights only. These, not 6 N D, enter equal-compute comparisons;
- metrics.wall_s (the training loop), compile_s (compiling initialisation, loop and evaluation:
  zero when this process already compiled the model shape, short when the on-disk cache has it),
  eval_s (the evaluation itself);
- metrics.layer_sparsity: final fraction of zeros in every pruned leaf;
- engine: the engine version (3: kit.engine.model.causal_attention, resumable runs; records without it
  are engine v2's), the backend and device that trained it ('cpu', or 'gpu' for a run trained on
  a lent GPU, scripts/device_train.py: its losses differ from a CPU run's by float rounding),
  XLA:CPU's threads in its process (kit.engine.threads) and the step it resumed from (0: trained in one
  go). None of these changes the run's id.

Stops. A run saves its state every few minutes to the store's scratch area and a rerun of the
same config resumes from there (kit.engine.resume), so a killed run loses minutes, not the run.

Speed. Everything that may differ between runs of one model shape (learning rate, weight decay,
clipping, run length, pruning targets and window) is a runtime input of one compiled loop, so a
sweep compiles each width once (and JAX's persistent cache keeps it across processes). The loop
runs CHUNK steps per call inside `lax.fori_loop`, gathers its batches from the corpus on the
device, counts non-zeros from the masks on the device, and hands back the chunk's losses in one
transfer: an ordinary step never copies to the host.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.metadata
import math
import platform
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from kit.engine import data, model, pruning, resume, threads
from kit.engine.cache import enable_compilation_cache
from kit.engine.config import ConfigError, RunConfig
from kit.engine.store import RunStore

ENGINE_VERSION = 3  # recorded in every record: 3 = attention of kit.engine.model.causal_attention, resumable runs
CHUNK = 64  # steps per call of the compiled loop
CURVE_POINTS = 100  # train-loss points kept per run (means over equal spans of steps)
UNIFORM_LOSS = math.log(256)  # the loss of guessing bytes uniformly
DIVERGED_LOSS = 2 * UNIFORM_LOSS  # a train loss this far above uniform guessing counts as divergence


class _Hyper(NamedTuple):
    """What may change between runs of one compiled loop: runtime scalars."""
    lr: float  # peak learning rate
    lr_min: float  # final learning rate
    warmup: int  # warmup steps
    steps: int  # steps of the run
    weight_decay: float
    grad_clip: float
    prune: pruning.Schedule


@dataclasses.dataclass(frozen=True)
class _Static:
    """What a compiled loop depends on: the model shape and the structure of the optimizer."""
    shape: model.Shape
    batch_size: int
    pruned: bool
    scope: str
    nm: tuple[int, int] | None
    kind: str  # pruning schedule shape, 'cubic' or 'geometric'


def static_for(config: RunConfig) -> _Static:
    """What the compiled loop of `config` depends on: its model shape, batch size, whether anything
    is pruned, and how.

        >>> static = static_for(RunConfig(n_nonzero=1536, sparsity=0.75, n_layers=2, seq_len=16, batch_size=8))
        >>> static.shape.d_model, static.batch_size, static.pruned, static.kind
        (16, 8, True, 'cubic')
    """
    pruned = config.sparsity > 0 or model.embed_sparsity(config) > 0
    return _Static(shape=model.shape_for(config), batch_size=config.batch_size, pruned=pruned,
                  scope=config.prune_scope, nm=config.nm, kind=config.schedule)


def hyper_for(config: RunConfig) -> _Hyper:
    """The run's runtime scalars, as float32 / int32 so every run of a shape matches one compiled loop.

        >>> hp = hyper_for(RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=100 * 128))
        >>> int(hp.steps), int(hp.warmup), hp.lr.dtype
        (100, 5, dtype('float32'))
    """
    hp = _Hyper(lr=config.lr, lr_min=config.lr * config.lr_min_ratio,
               warmup=max(1, round(config.warmup_frac * config.steps)), steps=config.steps,
               weight_decay=config.weight_decay, grad_clip=config.grad_clip,
               prune=pruning.schedule_for(config, model.embed_sparsity(config)))
    return jax.tree.map(lambda x: np.int32(x) if isinstance(x, int) else np.float32(x), hp)


def learning_rate(step, hp: _Hyper):
    """Linear warmup from 0 to hp.lr over hp.warmup steps, then cosine decay to hp.lr_min at hp.steps
    (optax.warmup_cosine_decay_schedule, written out so its numbers can be traced).

        >>> hp = hyper_for(RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=100 * 128, lr=1e-2))
        >>> [round(float(learning_rate(step, hp)), 6) for step in (0, 1, 5, 100)]  # warmup: 5 steps
        [0.0, 0.002, 0.01, 0.001]
    """
    warm = hp.lr * step / hp.warmup
    progress = jnp.clip((step - hp.warmup) / jnp.maximum(hp.steps - hp.warmup, 1), 0.0, 1.0)
    cosine = hp.lr_min + 0.5 * (hp.lr - hp.lr_min) * (1.0 + jnp.cos(jnp.pi * progress))
    return jnp.where(step < hp.warmup, warm, cosine)


def optimizer(static: _Static, hp: _Hyper, prunable) -> optax.GradientTransformation:
    """AdamW with gradient clipping, wrapped in gradual magnitude pruning when anything is pruned.

        >>> config = RunConfig(n_nonzero=1536, sparsity=0.75, n_layers=2, seq_len=16, batch_size=8)
        >>> params = model.init_params(model.shape_for(config), seed=0)
        >>> opt_state = optimizer(static_for(config), hyper_for(config), model.prunable_groups(params)).init(params)
        >>> int(opt_state.kept["backbone"])  # nothing pruned yet: all 6,144 weights of d_model 16
        6144
    """
    adamw = optax.chain(
        optax.clip_by_global_norm(hp.grad_clip),
        optax.adamw(lambda count: learning_rate(count, hp), b1=0.9, b2=0.95, weight_decay=hp.weight_decay))
    if not static.pruned:
        return adamw
    return pruning.gradual_pruning(
        adamw, prunable=prunable, sparsity_fn=lambda step: pruning.target_sparsity(step, hp.prune, static.kind),
        update_every=hp.prune.every, scope=static.scope, nm=static.nm)


def _windows(stream, starts_B, seq_len: int):
    """Int32 batch [B, seq_len + 1] of the windows of `stream` starting at starts_B."""
    return stream[starts_B[:, None] + jnp.arange(seq_len + 1)].astype(jnp.int32)


def _nonzeros(static: _Static, opt_state, n_dense: int, n_embed: int):
    """(backbone, embedding) non-zeros the next step starts from, on the device."""
    if not static.pruned:
        return jnp.int32(n_dense), jnp.int32(n_embed)
    return opt_state.kept["backbone"], opt_state.kept["embed"]


@functools.partial(jax.jit, static_argnames="static", donate_argnames="state")
def train_chunk(state, hp: _Hyper, stream, starts_KxB, n, *, static: _Static):
    """Steps 0 .. n-1 (n <= K, traced) of a chunk: state = (params, opt_state); the batches are the
    windows of the device-resident training stream at starts_KxB. Returns the new state and, per
    step, the train loss and the backbone and embedding non-zeros the step started from."""
    params, opt_state = state
    prunable = model.prunable_groups(params)
    tx = optimizer(static, hp, prunable)
    n_dense = model.prunable_count(static.shape.d_model, static.shape.n_layers)
    n_embed = static.shape.vocab * static.shape.d_model

    def step(i, carry):
        params, opt_state, loss_K, nnz_K, embed_K = carry
        nnz, nnz_embed = _nonzeros(static, opt_state, n_dense, n_embed)
        batch_BxT1 = _windows(stream, starts_KxB[i], static.shape.seq_len)
        loss, grads = jax.value_and_grad(model.loss_fn)(params, static.shape, batch_BxT1)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state,
                loss_K.at[i].set(loss), nnz_K.at[i].set(nnz), embed_K.at[i].set(nnz_embed))

    K = starts_KxB.shape[0]
    init = (params, opt_state, jnp.zeros(K), jnp.zeros(K, jnp.int32), jnp.zeros(K, jnp.int32))
    params, opt_state, loss_K, nnz_K, embed_K = jax.lax.fori_loop(0, n, step, init)
    return (params, opt_state), (loss_K, nnz_K, embed_K)


@functools.partial(jax.jit, static_argnames="shape")
def eval_loss(params, batches_NxBxT1, weights_NxB, *, shape: model.Shape):
    """Mean next-token loss over the weighted windows (weight 0: padding)."""
    def batch_sum(args):
        batch_BxT1, weight_B = args
        return jnp.sum(model.token_losses(params, shape, batch_BxT1).mean(axis=1) * weight_B)
    return jnp.sum(jax.lax.map(batch_sum, (batches_NxBxT1, weights_NxB))) / jnp.sum(weights_NxB)


_COMPILED = {}  # (function, argument shapes, static values) -> executable


def compiled(fn, *args, **static):
    """The jitted `fn` compiled ahead of time for the shapes and dtypes of `args` and these static
    values, at most once per process (and from the on-disk cache when another process compiled
    it); returns (executable, seconds spent compiling now). The executable takes `args` only.

        >>> key, shape = jax.random.PRNGKey(0), model.shape_for(RunConfig(n_nonzero=1536, n_layers=2, seq_len=16))
        >>> init, seconds = compiled(model.init_from_key, key, shape=shape)
        >>> init(key)["embed"]["embedding"].shape
        (256, 8)
        >>> compiled(model.init_from_key, key, shape=shape)[1]  # compiled once per process
        0.0
    """
    leaves, treedef = jax.tree.flatten(args)
    shapes = tuple((np.shape(x), x.dtype if hasattr(x, "dtype") else np.result_type(x)) for x in leaves)
    key = (fn, treedef, shapes, tuple(sorted(static.items())))
    if key in _COMPILED:
        return _COMPILED[key], 0.0
    enable_compilation_cache()
    start = time.perf_counter()
    _COMPILED[key] = fn.lower(*args, **static).compile()
    return _COMPILED[key], time.perf_counter() - start


def compiled_chunk(static: _Static, state, hp, stream, starts_KxB):
    """train_chunk compiled for this static setting and these shapes: (executable, compile seconds).

        >>> config = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8)
        >>> static, hp = static_for(config), hyper_for(config)
        >>> params = model.init_params(model.shape_for(config), seed=0)
        >>> state = (params, optimizer(static, hp, model.prunable_groups(params)).init(params))
        >>> stream, starts_KxB = jnp.asarray(data.load_corpus().train), np.zeros((CHUNK, 8), np.int32)
        >>> run_chunk, seconds = compiled_chunk(static, state, hp, stream, starts_KxB)
        >>> state, (loss_K, nnz_K, embed_K) = run_chunk(state, hp, stream, starts_KxB, np.int32(3))  # 3 steps
        >>> loss_K.shape, int((loss_K > 0).sum()), int(nnz_K[0])
        ((64,), 3, 1536)
    """
    return compiled(train_chunk, state, hp, stream, starts_KxB, np.int32(0), static=static)


def evaluate(params, corpus: data.Corpus, config: RunConfig, shape: model.Shape) -> tuple[float, float]:
    """(validation loss on the fixed held-out windows, seconds spent compiling the evaluation).

        >>> config = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=50 * 128, eval_tokens=1024)
        >>> shape = model.shape_for(config)
        >>> loss, seconds = evaluate(model.init_params(shape, seed=0), data.load_corpus(), config, shape)
        >>> bool(loss > UNIFORM_LOSS)  # untrained: worse than guessing bytes uniformly (ln 256)
        True
    """
    batches_NxBxT1, weights_NxB = eval_set(corpus, config)
    loss, compile_s = compiled(eval_loss, params, batches_NxBxT1, weights_NxB, shape=shape)
    return float(loss(params, batches_NxBxT1, weights_NxB)), compile_s


_STREAMS: dict[str, jax.Array] = {}  # corpus fingerprint -> its training stream on the device
MAX_STREAMS = 2


def _device_stream(corpus: data.Corpus) -> jax.Array:
    """The corpus's training bytes on the device, copied once per process (the last MAX_STREAMS
    corpora kept: the second corpus is 177 MB)."""
    if corpus.fingerprint not in _STREAMS:
        while len(_STREAMS) >= MAX_STREAMS:
            _STREAMS.pop(next(iter(_STREAMS)))
        _STREAMS[corpus.fingerprint] = jnp.asarray(corpus.train)
    return _STREAMS[corpus.fingerprint]


def eval_set(corpus: data.Corpus, config: RunConfig):
    """The fixed validation windows as [n_batches, B, T + 1] with weights [n_batches, B] (0: padding).

        >>> batches, weights = eval_set(data.load_corpus(), RunConfig(seq_len=16, batch_size=8, eval_tokens=1008))
        >>> batches.shape, int(weights.sum())  # 63 windows: the last batch has one padding row
        ((8, 8, 17), 63)
    """
    batches = data.eval_batches(corpus, config)
    B = config.batch_size
    weights_NxB = np.zeros((len(batches), B), np.float32)
    padded = np.zeros((len(batches), B, config.seq_len + 1), np.int32)
    for i, batch in enumerate(batches):
        padded[i, : len(batch)] = batch
        weights_NxB[i, : len(batch)] = 1.0
    return padded, weights_NxB


def save_checkpoint(params, path) -> None:
    """Write params to the .npz file `path` (a pathlib.Path; folders created), atomically, one array
    per leaf named by its path in the tree ('a/b/c'); load_checkpoint reads it back.

        >>> import tempfile
        >>> params = model.init_params(model.shape_for(RunConfig(n_nonzero=1536, n_layers=2, seq_len=16)), seed=0)
        >>> path = Path(tempfile.mkdtemp()) / "ckpt" / "run.npz"
        >>> save_checkpoint(params, path)
        >>> with np.load(path) as f:
        ...     sorted(f.files)[-2:]
        ['block_1/mlp/up/kernel', 'embed/embedding']
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = traverse_util.flatten_dict(jax.device_get(params), sep="/")
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **flat)
    tmp.replace(path)


def load_checkpoint(path, like):
    """Params saved by save_checkpoint, checked against the structure and shapes of `like`.

        >>> import tempfile
        >>> params = model.init_params(model.shape_for(RunConfig(n_nonzero=1536, n_layers=2, seq_len=16)), seed=0)
        >>> path = Path(tempfile.mkdtemp()) / "run.npz"
        >>> save_checkpoint(params, path)
        >>> restored = load_checkpoint(path, like=params)
        >>> all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(params)))
        True
    """
    with np.load(path) as f:
        flat = {k: f[k] for k in f.files}
    expected = traverse_util.flatten_dict(like, sep="/")
    if set(flat) != set(expected) or any(flat[k].shape != expected[k].shape for k in flat):
        raise ConfigError(f"checkpoint {path} does not match the model of this config "
                          f"(init_from needs the same width, depth and sequence length)")
    return traverse_util.unflatten_dict({k: jnp.asarray(v) for k, v in flat.items()}, sep="/")


def versions() -> dict:
    """The versions of Python and of the packages a run's numbers depend on (every record keeps them).

        >>> sorted(versions())
        ['flax', 'jax', 'jaxlib', 'numpy', 'optax', 'python']
    """
    pkgs = ("jax", "jaxlib", "flax", "optax", "numpy")
    return {"python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in pkgs}}


def continued_run(config: RunConfig, store: RunStore) -> dict | None:
    """The record of the run `config` continues (config.init_from), checked: it must be finished,
    have a checkpoint, and share the seed and seq_len, because the continuation reads that run's
    data order from where it stopped (so no token is seen twice across both).

        >>> store = RunStore("runs")  # the repository's store, only read here
        >>> continued_run(RunConfig(), store) is None  # not a continuation
        True
        >>> continued_run(RunConfig(init_from="0123456789abcdef"), store)
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: init_from='0123456789abcdef': no finished run with a saved checkpoint
        in .../runs (train it first with save_checkpoint=True)
    """
    if config.init_from is None:
        return None
    parent = store.get(config.init_from) if store.has(config.init_from) else None
    if parent is None or parent["status"] != "ok" or not parent.get("checkpoint"):
        raise ConfigError(f"init_from={config.init_from!r}: no finished run with a saved checkpoint "
                          f"in {store.root} (train it first with save_checkpoint=True)")
    for field in ("seed", "seq_len"):
        if parent["config"][field] != getattr(config, field):
            raise ConfigError(f"init_from={config.init_from!r}: {field}={getattr(config, field)} differs from "
                              f"that run's {parent['config'][field]}; a continuation reads its data stream "
                              f"onward and needs the same {field}")
    return parent


def _curve(loss_S, nnz_S) -> dict:
    """At most CURVE_POINTS points: the mean train loss over equal spans of steps, at each span's
    last step, with the non-zeros that step started from."""
    ends = np.unique(np.linspace(0, len(loss_S), min(CURVE_POINTS, len(loss_S)) + 1).round().astype(int))
    spans = list(zip(ends[:-1], ends[1:]))
    return {"step": [int(b - 1) for a, b in spans], "train_loss": [float(np.mean(loss_S[a:b])) for a, b in spans],
            "nnz": [int(nnz_S[b - 1]) for a, b in spans]}


def train(config: RunConfig, corpus: data.Corpus, params, skip_tokens: int = 0, scratch: Path | None = None):
    """Train params on the config's batches. Returns (params, per-step losses, backbone and
    embedding non-zeros each step started from, status, reason, compile seconds, loop seconds,
    the step it resumed from); stops after the first chunk with a NaN or diverged loss (status
    'failed'; the per-step arrays end at that step). Given `scratch`, the loop state is saved
    there every kit.engine.resume.save_every_s() seconds and, if a state is saved there already, the
    run continues from it (kit.engine.resume); the caller deletes it once the record is stored.

        >>> config = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=50 * 128, eval_tokens=1024)
        >>> params = model.init_params(model.shape_for(config), seed=config.seed)
        >>> out = train(config, data.load_corpus(), params)
        >>> params, loss_S, nnz_S, embed_S, status, reason, compile_s, wall_s, resumed_at = out
        >>> loss_S.shape, int(nnz_S[-1]), status, reason, resumed_at
        ((50,), 1536, 'ok', None, 0)
    """
    static, hp = static_for(config), hyper_for(config)
    prunable = model.prunable_groups(params)
    state = (params, optimizer(static, hp, prunable).init(params))
    history = {"loss": np.zeros(0, np.float32), "nnz": np.zeros(0, np.int32), "embed": np.zeros(0, np.int32)}
    start_step, wall_before = 0, 0.0
    saved = resume.load(scratch, state) if scratch is not None else None
    if saved is not None:
        state, start_step, history, wall_before = saved
    stream = _device_stream(corpus)
    starts_SxB = data.window_starts(corpus, config, skip_tokens).reshape(config.steps, config.batch_size)
    starts_SxB = np.concatenate([starts_SxB, np.zeros((-config.steps % CHUNK, config.batch_size), starts_SxB.dtype)])
    starts_SxB = starts_SxB.astype(np.int32)
    run_chunk, compile_s = compiled_chunk(static, state, hp, stream, starts_SxB[:CHUNK])
    losses, nnz, nnz_embed = [history["loss"]], [history["nnz"]], [history["embed"]]
    status, reason = "ok", None
    start = last_save = time.perf_counter()
    every = resume.save_every_s() if scratch is not None else math.inf
    for first in range(start_step, config.steps, CHUNK):
        n = min(CHUNK, config.steps - first)
        state, outputs = run_chunk(state, hp, stream, starts_SxB[first: first + CHUNK], np.int32(n))
        loss_K, nnz_K, embed_K = (np.asarray(x)[:n] for x in outputs)
        bad = ~np.isfinite(loss_K) | (loss_K > DIVERGED_LOSS)
        if bad.any():  # keep the steps up to the first bad one
            n = int(np.argmax(bad)) + 1
            status, reason = "failed", f"train loss {loss_K[n - 1]} at step {first + n - 1} (NaN or diverged)"
        losses.append(loss_K[:n]), nnz.append(nnz_K[:n]), nnz_embed.append(embed_K[:n])
        if status != "ok":
            break
        now = time.perf_counter()
        if now - last_save >= every and first + n < config.steps:
            history = {"loss": np.concatenate(losses), "nnz": np.concatenate(nnz), "embed": np.concatenate(nnz_embed)}
            resume.save(scratch, state, first + n, config.steps, history, wall_before + now - start)
            last_save = time.perf_counter()
    params = jax.block_until_ready(state[0])
    wall = wall_before + time.perf_counter() - start
    return (params, *(np.concatenate(x) for x in (losses, nnz, nnz_embed)), status, reason, compile_s, wall, start_step)


def run(config: RunConfig, *, corpus=None, store: RunStore | None = None) -> dict:
    """Train `config` unless the store already holds it; store and return the record.

    Invalid configs (budget over the corpus, bad init_from) and an unwritable store raise before
    training, and so does a run another process is training now (kit.engine.resume.RunInProgress). A run whose loss becomes NaN or diverges, or whose validation loss is not below that
    of guessing bytes uniformly (ln 256), is recorded with status 'failed' and the reason.

        >>> import tempfile
        >>> config = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=50 * 128, eval_tokens=1024)
        >>> record = run(config, store=RunStore(tempfile.mkdtemp()))  # the default corpus, Shakespeare
        >>> m = record["metrics"]
        >>> record["status"], m["steps"], m["nnz"], bool(m["final_loss"] < UNIFORM_LOSS)
        ('ok', 50, 1536, True)
    """
    corpus = corpus if isinstance(corpus, data.Corpus) else data.load_corpus(corpus)
    store = store if store is not None else RunStore()
    run_id = store.run_id(config, corpus.fingerprint)
    if store.has(run_id):
        return store.get(run_id)
    parent = continued_run(config, store)
    skip_tokens = 0 if parent is None else parent["metrics"].get("data_offset", 0) + parent["metrics"]["tokens_trained"]
    data.check_budget(corpus, config, skip_tokens)
    config.check_trainable()  # the model built has the size asked for and fits in memory (kit.engine.memory)
    store.check_writable()
    with resume.claim(store.root, run_id):
        if store.has(run_id):  # another process finished it between the check above and the lock
            return store.get(run_id)
        return _train_and_store(config, corpus, store, run_id, parent, skip_tokens)


def _train_and_store(config: RunConfig, corpus: data.Corpus, store: RunStore, run_id: str, parent: dict | None,
                     skip_tokens: int) -> dict:
    """run's work once it holds the run's lock: train (resuming a saved state), evaluate, store the record."""
    shape = model.shape_for(config)
    key = jax.random.PRNGKey(config.seed)
    init, init_compile_s = compiled(model.init_from_key, key, shape=shape)
    params = init(key)
    if parent is not None:
        params = load_checkpoint(store.root / parent["checkpoint"], params)
    scratch = resume.path(store.root, run_id)
    params, loss_S, nnz_S, embed_S, status, reason, compile_s, wall, resumed_at = train(
        config, corpus, params, skip_tokens, scratch)

    start = time.perf_counter()
    final_loss, eval_compile_s = float("nan"), 0.0
    if status == "ok":
        final_loss, eval_compile_s = evaluate(params, corpus, config, shape)
        if not final_loss < UNIFORM_LOSS:
            status, reason = "failed", (f"validation loss {final_loss} is not below ln 256 = {UNIFORM_LOSS:.3f}, "
                                        f"the loss of guessing bytes uniformly")
    eval_s = time.perf_counter() - start
    prunable = model.prunable_groups(params)
    nnz, nnz_embed = pruning.nnz(params, prunable, "backbone"), pruning.nnz(params, prunable, "embed")
    tokens = len(loss_S) * config.tokens_per_step
    n_dense = model.prunable_count(shape.d_model, shape.n_layers)
    nnz_tokens = float(np.sum(nnz_S, dtype=np.float64)) * config.tokens_per_step  # sum_t nnz_t tokens_t
    per_token = model.flops_per_token
    record = {
        "id": run_id, "status": status, "reason": reason, "config": config.to_dict(),
        "corpus": data.describe(corpus),
        "metrics": {
            "final_loss": final_loss, "nnz": nnz, "nnz_embed": nnz_embed, "n_total": nnz + nnz_embed,
            "n_dense": n_dense, "d_model": shape.d_model, "n_heads": shape.n_heads,
            "sparsity_actual": 1 - nnz / n_dense, "embed_sparsity_actual": 1 - nnz_embed / (shape.vocab * shape.d_model),
            "tokens_trained": tokens, "steps": len(loss_S), "data_offset": skip_tokens,
            "dense_flops": 6.0 * n_dense * tokens, "sparse_flops": 6.0 * nnz_tokens,
            "cmul_measured": nnz_tokens / (nnz * tokens), "n_avg": nnz_tokens / tokens,
            "model_flops": per_token(shape) * tokens,
            "model_flops_sparse": float(np.sum(per_token(shape, nnz_S / n_dense, embed_S / (shape.vocab * shape.d_model))))
                                  * config.tokens_per_step,
            "wall_s": wall, "compile_s": init_compile_s + compile_s + eval_compile_s, "eval_s": eval_s - eval_compile_s,
            "layer_sparsity": pruning.sparsity_report(params, prunable),
            "nm_violations": (pruning.nm_violations(params, prunable, *config.nm) if config.nm else None),
        },
        "curve": _curve(loss_S, nnz_S), "versions": versions(), "checkpoint": None,
        "engine": {"version": ENGINE_VERSION, "backend": jax.default_backend(), "device": jax.devices()[0].device_kind,
                   "xla_threads": threads.xla_threads(), "resumed_at_step": resumed_at},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if config.save_checkpoint and status == "ok":
        path = store.checkpoint_path(run_id)
        save_checkpoint(params, path)
        record["checkpoint"] = str(path.relative_to(store.root))
    store.put(record)
    resume.clear(store.root, run_id)
    return record
