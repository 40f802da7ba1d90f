"""Sparse-times-dense matmul speed against dense, as ratios measured in one run (kit.planner.sparse_speed).

Prints, for scipy.sparse CSR (vs numpy BLAS) and jax.experimental.sparse BCOO and BCSR (vs XLA dense), at the
MLP up-projection of our model family (d_model 16 to 272, 2048 tokens) and a T5-base-sized layer
(768 x 3072, 512 tokens), dense time / sparse time for unstructured sparsity 0.5 to 0.95 and the
2:4 and 1:4 patterns (> 1: the sparse kernel is faster), all on one core (kit.planner.sparse_speed explains
why). Takes a few minutes.
Usage: python scripts/bench_sparse.py [--repeats 7] [--save data/sparse_speed/measured.json]
"""

import argparse

from kit.planner import sparse_speed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per kernel (the minimum is kept)")
    parser.add_argument("--save", default=None, metavar="PATH", help="also write the measurements as JSON "
                        "(the book reads data/sparse_speed/measured.json)")
    args = parser.parse_args()
    frame, info = sparse_speed.benchmark(repeats=args.repeats)
    print(f"sparse matmul speedup (dense time / sparse time; > 1: sparse is faster) on {info['cpu']}, "
          f"one of {info['cores']} cores, load average {info['load_average_1min']:.1f} before and "
          f"{info['load_average_1min_after']:.1f} after the {info['seconds']:.0f} s of timing")
    print(sparse_speed.speedup_table(frame).to_string(float_format=lambda x: f"{x:.2f}"))
    if args.save:
        sparse_speed.save(frame, args.save, info)


if __name__ == "__main__":
    main()
