"""Throughput of kit's training, as ratios measured in one process on this machine.

Full `kit.train.run` calls (into a temporary store) of the main grid's smallest and largest
configs at its smallest token budget, and of the largest config's dense twin (same width, S = 0),
against two references timed in the same process:
- its own linear-layer GEMMs timed alone: the forward and both backward GEMMs of every Dense
  layer and of the tied logits, at the run's tokens per step (what a step cannot go below);
- a plain jitted f32 1024 x 1024 matmul (the machine's dense FLOP/s).
Printed per run: step time / GEMM time, model FLOP/s / matmul FLOP/s, compilation / loop time
(the first run of a width in a process compiles, from JAX's on-disk cache if another process
compiled it before; later runs of that width compile nothing, as a sweep's do); and the pruned
run's wall time / its dense twin's. Usage: python scripts/benchmark.py
"""

import argparse
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from kit import data, grids, model, train
from kit.store import RunStore


def seconds_per_call(fn, *args, repeats=20):
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def matmul_flops_per_s():
    a_NxN = jnp.ones((1024, 1024), jnp.float32)
    return 2 * 1024**3 / seconds_per_call(jax.jit(jnp.matmul), a_NxN, a_NxN)


def gemm_seconds(shape: model.Shape, tokens: int) -> float:
    """Seconds of a step's linear-layer GEMMs alone: for every kernel [k, n] (four per block and
    the tied logits [d, V]) the forward x @ w, and the backward g @ w.T and x.T @ g, on `tokens` rows."""
    d = shape.d_model
    kernels = [(d, 3 * d), (d, d), (d, 4 * d), (4 * d, d)] * shape.n_layers + [(d, shape.vocab)]
    args = [(jnp.ones((tokens, k)), jnp.ones((k, n)), jnp.ones((tokens, n))) for k, n in kernels]
    gemms = jax.jit(lambda args: [(x @ w, g @ w.T, x.T @ g) for x, w, g in args])
    return seconds_per_call(gemms, args, repeats=10)


def timed_run(config, corpus, store):
    start = time.perf_counter()
    record = train.run(config, corpus=corpus, store=store)
    return record, time.perf_counter() - start


def main():
    argparse.ArgumentParser(description=__doc__).parse_args()
    corpus = data.load_corpus()
    matmul = matmul_flops_per_s()
    print(f"plain jitted f32 1024x1024 matmul: {matmul / 1e9:.0f} GFLOP/s")
    configs = grids.main_grid(tokens=[min(grids.MAIN["tokens"])])
    by_cost = sorted(configs, key=lambda c: model.flops_per_token(model.shape_for(c)))
    smallest, largest = by_cost[0], by_cost[-1]
    twin = largest.replace(sparsity=0.0, n_nonzero=model.prunable_count(model.shape_for(largest).d_model,
                                                                         largest.n_layers))
    store = RunStore(tempfile.mkdtemp(prefix="bench-runs-"))
    walls = {}
    for name, config in (("smallest", smallest), ("largest", largest), ("dense twin of the largest", twin)):
        record, total = timed_run(config, corpus, store)
        m = record["metrics"]
        shape = model.shape_for(config)
        step = m["wall_s"] / m["steps"]
        gemm = gemm_seconds(shape, config.tokens_per_step)
        walls[name] = m["wall_s"]
        print(f"{name}: N={config.n_nonzero} S={config.sparsity} d_model={shape.d_model} heads={shape.n_heads}, "
              f"{m['steps']} steps: step {step * 1e3:.1f} ms = {step / gemm:.2f} x its GEMMs alone "
              f"({gemm * 1e3:.1f} ms); model {m['model_flops'] / m['wall_s'] / 1e9:.0f} GFLOP/s = "
              f"{m['model_flops'] / m['wall_s'] / matmul:.2f} x matmul; compile {m['compile_s']:.2f} s = "
              f"{m['compile_s'] / m['wall_s']:.1%} of the loop ({m['wall_s']:.1f} s); whole call {total:.1f} s",
              flush=True)
    print(f"pruned run (S={largest.sparsity}) wall time / its dense twin's: "
          f"{walls['largest'] / walls['dense twin of the largest']:.3f}")
    again, _ = timed_run(smallest.replace(seed=smallest.seed + 1), corpus, store)
    print(f"a second run of the smallest width in the same process (as in a sweep): compile "
          f"{again['metrics']['compile_s']:.2f} s = {again['metrics']['compile_s'] / again['metrics']['wall_s']:.1%} "
          f"of its loop ({again['metrics']['wall_s']:.1f} s)")


if __name__ == "__main__":
    main()
