"""Train one configuration: a width-scaled transformer, gradually pruned, with exact accounting.

`run(config)` checks the config against the corpus before anything trains, trains with AdamW
(linear warmup, cosine decay) wrapped in the gradual pruner, evaluates the final validation loss
on a fixed held-out token set, and returns (and stores) a record:

- metrics.final_loss: mean next-byte cross-entropy (nats) on config.eval_tokens held-out tokens;
- metrics.nnz / n_dense / d_model: non-zero prunable weights at the end, prunable weights
  of the dense model trained, its width;
- metrics.dense_flops = 6 * n_dense * D: cost of training the dense model of the same width;
- metrics.sparse_flops = 6 * sum_t nnz_t * tokens_t: the prunable-weight FLOPs actually spent
  under the schedule, if sparsity were exploited as soon as it appears (Frantar et al. Sec. 3.3 (b)),
  nnz_t being the non-zeros of the params step t starts from (a mask set in step t counts from t+1);
  metrics.cmul_measured = sparse_flops / (6 N D) is the measured counterpart of kit.laws.cmul;
- metrics.n_avg = sum_t nnz_t * tokens_t / D: the average non-zero count over training (Jin et al.);
- metrics.model_flops: all training FLOPs of the dense-shaped model (attention and logits included);
- metrics.layer_sparsity: final fraction of zeros in every prunable kernel.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import time
from datetime import datetime, timezone

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from kit import data, model, pruning
from kit.config import ConfigError, RunConfig
from kit.store import RunStore

CURVE_POINTS = 100  # train-loss points kept per run
DIVERGED_LOSS = 2 * math.log(256)  # a train loss this far above uniform guessing counts as divergence


def learning_rate(config: RunConfig) -> optax.Schedule:
    """Linear warmup over warmup_frac of the steps, then cosine decay to lr_min_ratio * lr."""
    warmup = max(1, round(config.warmup_frac * config.steps))
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=config.lr, warmup_steps=warmup,
        decay_steps=config.steps, end_value=config.lr * config.lr_min_ratio)


def optimizer(config: RunConfig, prunable) -> optax.GradientTransformation:
    """AdamW with gradient clipping, wrapped in gradual magnitude pruning when S > 0."""
    adamw = optax.chain(
        optax.clip_by_global_norm(config.grad_clip),
        optax.adamw(learning_rate(config), b1=0.9, b2=0.95, weight_decay=config.weight_decay))
    if config.sparsity == 0.0:
        return adamw
    return pruning.gradual_pruning(
        adamw, prunable=prunable, sparsity_fn=pruning.schedule_fn(config),
        update_every=pruning.update_every(config), scope=config.prune_scope, nm=config.nm)


def make_step(shape: model.Shape, tx: optax.GradientTransformation):
    @jax.jit
    def step(params, opt_state, batch_BxT1):
        loss, grads = jax.value_and_grad(model.loss_fn)(params, shape, batch_BxT1)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss
    return step


def evaluate(params, shape: model.Shape, batches) -> float:
    """Mean cross-entropy per token over the fixed held-out batches (the last may be smaller)."""
    loss = jax.jit(model.loss_fn, static_argnums=1)
    sizes = [len(b) for b in batches]
    return float(np.average([loss(params, shape, jnp.asarray(b)) for b in batches], weights=sizes))


def save_checkpoint(params, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = traverse_util.flatten_dict(jax.device_get(params), sep="/")
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **flat)
    tmp.replace(path)


def load_checkpoint(path, like):
    """Params saved by save_checkpoint, checked against the structure and shapes of `like`."""
    with np.load(path) as f:
        flat = {k: f[k] for k in f.files}
    expected = traverse_util.flatten_dict(like, sep="/")
    if set(flat) != set(expected) or any(flat[k].shape != expected[k].shape for k in flat):
        raise ConfigError(f"checkpoint {path} does not match the model of this config "
                          f"(init_from needs the same width, depth and sequence length)")
    return traverse_util.unflatten_dict({k: jnp.asarray(v) for k, v in flat.items()}, sep="/")


def versions() -> dict:
    pkgs = ("jax", "jaxlib", "flax", "optax", "numpy")
    return {"python": platform.python_version(),
            **{p: importlib.metadata.version(p) for p in pkgs}}


def continued_run(config: RunConfig, store: RunStore) -> dict | None:
    """The record of the run `config` continues (config.init_from), checked: it must be finished,
    have a checkpoint, and share the seed and seq_len, because the continuation reads that run's
    data order from where it stopped (so no token is seen twice across both)."""
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


def run(config: RunConfig, *, corpus=None, store: RunStore | None = None) -> dict:
    """Train `config` unless the store already holds it; store and return the record.

    Invalid configs (budget over the corpus, bad init_from) raise ConfigError before training.
    A run whose loss becomes NaN or diverges is recorded with status 'failed' and the reason.
    """
    corpus = corpus if isinstance(corpus, data.Corpus) else data.load_corpus(corpus)
    store = store if store is not None else RunStore()
    run_id = store.run_id(config, corpus.fingerprint)
    if store.has(run_id):
        return store.get(run_id)
    parent = continued_run(config, store)
    skip_tokens = 0 if parent is None else parent["metrics"].get("data_offset", 0) + parent["metrics"]["tokens_trained"]
    data.check_budget(corpus, config, skip_tokens)

    shape = model.shape_for(config)
    params = model.init_params(shape, config.seed)
    if parent is not None:
        params = load_checkpoint(store.root / parent["checkpoint"], params)
    eval_set = data.eval_batches(corpus, config)
    prunable = model.is_prunable(params)
    tx = optimizer(config, prunable)
    opt_state = tx.init(params)
    step_fn = make_step(shape, tx)
    count_nnz = lambda p: pruning.nnz(p, prunable)

    log_every = max(1, config.steps // CURVE_POINTS)
    curve = {"step": [], "train_loss": [], "nnz": []}
    nnz = int(count_nnz(params))
    nnz_token_sum = 0  # sum over steps of non-zeros * tokens, for sparse FLOPs and N_avg
    status, reason = "ok", None
    start = time.perf_counter()
    for step, batch in enumerate(data.train_batches(corpus, config, skip_tokens)):
        nnz_token_sum += nnz * config.tokens_per_step  # the step computes with the params it starts from
        params, opt_state, loss = step_fn(params, opt_state, jnp.asarray(batch))
        if config.sparsity > 0:
            nnz = int(count_nnz(params))  # masks change on update steps and on the schedule's last jump
        if step % log_every == 0 or step == config.steps - 1:
            loss = float(loss)
            curve["step"].append(step)
            curve["train_loss"].append(loss)
            curve["nnz"].append(nnz)
            if not math.isfinite(loss) or loss > DIVERGED_LOSS:
                status, reason = "failed", f"train loss {loss} at step {step} (NaN or diverged)"
                break
    nnz = int(count_nnz(params))
    wall = time.perf_counter() - start

    final_loss = evaluate(params, shape, eval_set) if status == "ok" else float("nan")
    if status == "ok" and not math.isfinite(final_loss):
        status, reason = "failed", f"validation loss {final_loss}"
    tokens = config.steps * config.tokens_per_step
    n_dense = model.prunable_count(shape.d_model, shape.n_layers)
    record = {
        "id": run_id, "status": status, "reason": reason, "config": config.to_dict(),
        "corpus": data.describe(corpus),
        "metrics": {
            "final_loss": final_loss, "nnz": nnz, "n_dense": n_dense,
            "d_model": shape.d_model, "sparsity_actual": 1 - nnz / n_dense, "tokens_trained": tokens,
            "steps": config.steps, "data_offset": skip_tokens, "dense_flops": 6.0 * n_dense * tokens,
            "sparse_flops": 6.0 * nnz_token_sum, "cmul_measured": nnz_token_sum / (nnz * tokens),
            "n_avg": nnz_token_sum / tokens,
            "model_flops": model.flops_per_token(shape) * tokens, "wall_s": wall,
            "layer_sparsity": pruning.sparsity_report(params, prunable),
            "nm_violations": (pruning.nm_violations(params, prunable, *config.nm)
                              if config.nm else None),
        },
        "curve": curve, "versions": versions(), "checkpoint": None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if config.save_checkpoint and status == "ok":
        path = store.checkpoint_path(run_id)
        save_checkpoint(params, path)
        record["checkpoint"] = str(path.relative_to(store.root))
    store.put(record)
    return record
