"""Throughput of kit's train step, as ratios measured in one process on this machine.

For the smallest and largest models of the main sweep (kit.grids.MAIN) it prints:
- the model FLOP/s of a dense train step divided by the FLOP/s of a plain jitted f32 matmul
  (1024 x 1024), so the ratio means the same on any machine;
- the time of a pruned train step (masks applied, no mask update) and of a mask-update step,
  each divided by the time of the dense step of the same shape.
Usage: python scripts/benchmark.py [--repeats 20]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from kit import grids, model, pruning, train
from kit.config import RunConfig


def seconds_per_call(fn, *args, repeats):
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_flops_per_s(repeats):
    a_NxN = jnp.ones((1024, 1024), jnp.float32)
    return 2 * 1024**3 / seconds_per_call(jax.jit(jnp.matmul), a_NxN, a_NxN, repeats=repeats)


def step_seconds(config: RunConfig, repeats: int, at_count: int | None = None) -> float:
    """Median seconds of one train step on a batch of zeros (speed does not depend on the data).
    For a pruned config, `at_count` sets the pruner's step count: a multiple of update_every
    times a mask-update step, any other count an ordinary masked step."""
    shape = model.shape_for(config)
    params = model.init_params(shape, 0)
    tx = train.optimizer(config, model.is_prunable(params))
    opt_state = tx.init(params)
    if at_count is not None:
        opt_state = opt_state._replace(count=jnp.int32(at_count))
    step = train.make_step(shape, tx)
    batch_BxT1 = jnp.zeros((config.batch_size, config.seq_len + 1), jnp.int32)
    return seconds_per_call(lambda p, s: step(p, s, batch_BxT1)[2], params, opt_state, repeats=repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    matmul = matmul_flops_per_s(args.repeats)
    print(f"plain jitted f32 1024x1024 matmul: {matmul / 1e9:.1f} GFLOP/s")
    configs = grids.main_grid()
    widths = {model.shape_for(c).d_model: c for c in configs}
    for name, d_model in (("smallest", min(widths)), ("largest", max(widths))):
        sparse = widths[d_model]
        dense = sparse.replace(sparsity=0.0, nm=None,
                               n_nonzero=model.prunable_count(d_model, sparse.n_layers))
        shape = model.shape_for(dense)
        t_dense = step_seconds(dense, args.repeats)
        flops = model.flops_per_token(shape) * dense.tokens_per_step / t_dense
        line = (f"{name} sweep model (d_model={d_model}): dense step {t_dense * 1e3:.1f} ms, "
                f"{flops / 1e9:.1f} GFLOP/s = {flops / matmul:.2f} x matmul")
        if sparse.sparsity > 0:
            every = pruning.update_every(sparse)
            t_masked = step_seconds(sparse, args.repeats, at_count=every + 1)
            t_update = step_seconds(sparse, args.repeats, at_count=every)
            line += (f"; pruned step (S={sparse.sparsity}) {t_masked / t_dense:.3f} x dense, "
                     f"mask-update step {t_update / t_dense:.3f} x dense")
        print(line, flush=True)


if __name__ == "__main__":
    main()
