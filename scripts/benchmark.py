"""Throughput of kit's training, as ratios measured in one process on this machine.

1. Engine: full `kit.engine.train.run` calls (into a temporary store) of the main grid's smallest and
   largest configs at its smallest token budget, and of the largest config's dense twin (same
   width, S = 0), against two references timed in the same process:
   - its own linear-layer GEMMs timed alone: the forward and both backward GEMMs of every Dense
     layer and of the tied logits, at the run's tokens per step (what a step cannot go below);
   - a plain jitted f32 1024 x 1024 matmul (the machine's dense FLOP/s).
   Printed per run: step time / GEMM time, model FLOP/s / matmul FLOP/s, compilation / loop time
   (the first run of a width in a process compiles, from JAX's on-disk cache if another process
   compiled it before; later runs of that width compile nothing, as a sweep's do); and the pruned
   run's wall time / its dense twin's.
2. Attention at d_model 16 and 48: the step with kit's attention (engine v3), with engine v2's,
   and with none (attention replaced by its values), against the step's GEMMs alone.
3. The throughput table (kit.engine.throughput): per width, steps per second of one run on all cores and
   of two single-threaded runs side by side, written to data/engine/throughput.json; sweeps read it.
4. Runs per hour as a sweep trains them (wall clock, compilation from a warm disk cache included),
   engine v3 (kit's attention, scheduled by the table) against engine v2 (v2's attention, one run
   at a time on all cores) on the same runs: the pilot's shapes (N = 13,824 at the four
   sparsities, d_model 16-48) and a slice of the main grid with every width.
Usage: python scripts/benchmark.py [engine] [attention] [table] [pilot] [slice] (default: all; measure on an
idle machine and read ratios, not times)
"""

import argparse
import contextlib
import tempfile
import time
from datetime import datetime, timezone

import jax
import jax.numpy as jnp
import numpy as np

from kit.engine import data, grids, model, throughput, train
from kit.planner import sparse_speed
from kit.engine.store import RunStore
from kit.engine.sweep import run_sweep

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


def engine_section(corpus, matmul):
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


@contextlib.contextmanager
def attention(kind: str):
    """kit.engine.model's attention swapped for engine v2's ('v2') or for none ('none': the values
    pass through), in this process; 'v3' leaves kit's."""
    swaps = {"v3": model.causal_attention, "v2": model.engine_v2_attention, "none": lambda q, k, v: v}
    kept = model.causal_attention
    model.causal_attention = swaps[kind]
    train._COMPILED.clear()  # compiled loops, and JAX's traces, hold the attention they were traced with
    jax.clear_caches()
    try:
        yield
    finally:
        model.causal_attention = kept
        train._COMPILED.clear()
        jax.clear_caches()


def step_seconds(config, corpus, seed=100):
    """Seconds per step of the run's loop, compilation excluded (a fresh store each time)."""
    record = train.run(config.replace(seed=seed), corpus=corpus, store=RunStore(tempfile.mkdtemp(prefix="bench-")))
    return record["metrics"]["wall_s"] / record["metrics"]["steps"]


def attention_section(corpus, repeats=3):
    """The step with each attention, REPEATS times interleaved, the fastest of each counted
    (this machine's speed drifts by 2x over minutes: a single timing can mislead)."""
    for d in (16, 48):
        config = grids.BASE.replace(n_nonzero=model.prunable_count(d, grids.BASE.n_layers), tokens=grids.steps(192))
        runs = {"v3": [], "v2": [], "none": []}
        for k in range(repeats):
            for kind, seconds in runs.items():
                with attention(kind):
                    seconds.append(step_seconds(config, corpus, seed=100 + k))
        times = {kind: min(seconds) for kind, seconds in runs.items()}
        gemm = gemm_seconds(model.shape_for(config), config.tokens_per_step)
        share = {k: (times[k] - times["none"]) / times[k] for k in ("v3", "v2")}
        print(f"d_model {d}: step {times['v3'] * 1e3:.1f} ms = {times['v3'] / gemm:.2f} x its GEMMs, "
              f"{times['v3'] / times['none']:.2f} x the step without attention; attention costs "
              f"{(times['v3'] - times['none']) / (times['v2'] - times['none']):.2f} x engine v2's "
              f"(its share of the step {share['v3']:.0%}, v2 {share['v2']:.0%}; v2 step {times['v2'] * 1e3:.1f} ms, "
              f"without attention {times['none'] * 1e3:.1f} ms; fastest of {repeats})", flush=True)


TABLE_WIDTHS = (16, 24, 32, 48, 64, 96, 136, 192)


def table_section(corpus):
    """Steps per second, per width, of one run on all cores and of two one-thread runs side by
    side, as a sweep schedules them (kit.engine.sweep parallel=1 and parallel=2); written to the table."""
    rows = []
    for d in TABLE_WIDTHS:
        base = grids.BASE.replace(n_nonzero=model.prunable_count(d, grids.BASE.n_layers))
        per_step = step_seconds(base.replace(tokens=grids.steps(64)), corpus)  # also compiles this width
        steps = int(min(1024, max(64, 4.0 / per_step // 64 * 64)))  # about 4 s a run on all cores
        configs = [base.replace(tokens=grids.steps(steps), seed=s) for s in (1, 2)]
        rates = {}
        for lanes in (1, 2):
            store = RunStore(tempfile.mkdtemp(prefix="bench-table-"))
            frame = run_sweep(configs if lanes == 2 else configs[:1], store=store, corpus=corpus, parallel=lanes,
                              progress=False)
            rates[str(lanes)] = float(lanes * steps / frame["wall_s"].mean())
        rows.append({"d_model": d, "steps": steps, "lanes": rates})
        print(f"d_model {d}: {rates['1']:.1f} steps/s on all cores, {rates['2']:.1f} with two one-thread runs side "
              f"by side ({rates['2'] / rates['1']:.2f}x): a sweep runs {throughput.best_lanes(rows[-1])} at a time",
              flush=True)
    table = {"machine": sparse_speed.machine(),
             "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": rows}
    throughput.write_table(table)
    print(f"wrote {throughput.TABLE}")


def sweep_hours(configs, corpus, engine: str) -> float:
    """Wall hours of a sweep of `configs` into a fresh store: 'v3' as kit schedules it, 'v2' one
    run at a time on all cores with engine v2's attention. Each width is compiled once before
    (so both read compiled programs from a warm cache, as in a long sweep)."""
    with attention(engine):
        warm = [c.replace(tokens=grids.steps(64), seed=99) for c in configs]
        run_sweep(warm, store=RunStore(tempfile.mkdtemp(prefix="bench-warm-")), corpus=corpus,
                  parallel=None if engine == "v3" else 1, progress=False)
        start = time.perf_counter()
        run_sweep(configs, store=RunStore(tempfile.mkdtemp(prefix="bench-sweep-")), corpus=corpus,
                  parallel=None if engine == "v3" else 1, progress=False)
        return (time.perf_counter() - start) / 3600


def pilot_section(corpus, repeats=2):
    pilot = grids.with_recipe([grids.BASE.replace(n_nonzero=13_824, sparsity=s, tokens=grids.steps(grids.PILOT_STEPS[0]))
                               for s in grids.MAIN["sparsity"]])
    hours = {e: min(sweep_hours(pilot, corpus, e) for _ in range(repeats)) for e in ("v2", "v3")}
    print(f"pilot shapes (N = 13,824, S = 0/0.5/0.75/0.875, d_model 16-48, {grids.PILOT_STEPS[0]:,} steps): "
          f"{len(pilot) / hours['v3']:.0f} runs/hour with engine v3, {len(pilot) / hours['v2']:.0f} with engine v2: "
          f"{hours['v2'] / hours['v3']:.2f}x (fastest of {repeats} sweeps each)", flush=True)


def slice_section(corpus):
    by_width = {}
    for c in grids.main_grid(tokens=[grids.steps(128)]):
        by_width.setdefault(model.shape_for(c).d_model, []).append(c)
    for d, configs in sorted(by_width.items()):
        configs = (configs * 2)[:2] if len(configs) == 1 else configs[:2]
        configs = [c.replace(seed=k) for k, c in enumerate(configs)]
        hours = {e: sweep_hours(configs, corpus, e) for e in ("v2", "v3")}
        print(f"main grid slice, d_model {d} (2 runs of 128 steps): {hours['v2'] / hours['v3']:.2f}x the runs per "
              f"hour of engine v2", flush=True)


SECTIONS = ("engine", "attention", "table", "pilot", "slice")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", choices=[[], *SECTIONS], metavar="SECTION",
                        help=f"any of {', '.join(SECTIONS)} (default: all; 'table' rewrites data/engine/throughput.json)")
    sections = parser.parse_args().sections or SECTIONS
    corpus = data.load_corpus()
    matmul = matmul_flops_per_s()
    print(f"plain jitted f32 1024x1024 matmul: {matmul / 1e9:.0f} GFLOP/s")
    if "engine" in sections:
        engine_section(corpus, matmul)
    if "attention" in sections:
        attention_section(corpus)
    if "table" in sections:
        table_section(corpus)
    if "pilot" in sections:
        pilot_section(corpus)
    if "slice" in sections:
        slice_section(corpus)


if __name__ == "__main__":
    main()
