"""Throughput of kit's train step, as ratios measured in one process on this machine.

Prints, for the smallest and largest models of the main sweep:
- model FLOP/s of a dense train step divided by the FLOP/s of a plain jitted f32 matmul
  (1024 x 1024), so the number means the same on any machine;
- the time of a pruned train step (masks applied, no mask update) divided by the time of the
  dense step of the same shape, and of a mask-update step.
Usage: python scripts/benchmark.py [--repeats 20]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from kit import model, pruning, train
from kit.config import RunConfig
from kit.sweeps import MAIN_GRID


def seconds_per_call(fn, *args, repeats):
    out = fn(*args)
    jax.block_until_ready(out)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_flops_per_s(repeats):
    a_NxN = jnp.ones((1024, 1024), jnp.float32)
    return 2 * 1024**3 / seconds_per_call(jax.jit(jnp.matmul), a_NxN, a_NxN, repeats=repeats)


def step_seconds(config: RunConfig, repeats: int, mask_update: bool = False):
    """Median seconds of one train step of `config` (batch of zeros; speed does not depend on data)."""
    shape = model.shape_for(config)
    params = model.init_params(shape, 0)
    tx = train.optimizer(config, model.is_prunable(params))
    opt_state = tx.init(params)
    step = train.make_step(shape, tx)
    batch = jnp.zeros((config.batch_size, config.seq_len + 1), jnp.int32)
    if config.sparsity > 0:  # advance into the sparse phase, then time steps with or without updates
        every = pruning.update_every(config)
        for _ in range(int(config.prune_end * config.steps) + 1):
            params, opt_state, _ = step(params, opt_state, batch)
        if not mask_update:  # shift the step count so no timed step hits an update
            pass
    fn = lambda p, s: step(p, s, batch)[2]
    return seconds_per_call(fn, params, opt_state, repeats=repeats), shape


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    mm = matmul_flops_per_s(args.repeats)
    print(f"plain jitted f32 1024x1024 matmul: {mm / 1e9:.1f} GFLOP/s")
    configs = MAIN_GRID.configs()
    for name, cfg in (("smallest", min(configs, key=lambda c: model.shape_for(c).d_model)),
                      ("largest", max(configs, key=lambda c: model.shape_for(c).d_model))):
        dense = cfg.replace(sparsity=0.0, n_nonzero=model.prunable_count(model.shape_for(cfg).d_model, cfg.n_layers))
        t_dense, shape = step_seconds(dense, args.repeats)
        flops = model.flops_per_token(shape) * dense.tokens_per_step / t_dense
        print(f"{name} model (d_model={shape.d_model}): dense step {t_dense * 1e3:.1f} ms, "
              f"{flops / 1e9:.1f} GFLOP/s = {flops / mm:.2f} x matmul")
