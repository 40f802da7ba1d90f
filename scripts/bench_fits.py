"""Speed of kit.fit.fitting against the authors' fitting procedure, as ratios measured in one process.

On the authors' T5/C4 runs (48 runs, Eq. 1, 7 coefficients, Huber loss of log L, delta 1e-3):
- one fit from 25 random starts: the authors' notebook procedure (scipy.optimize.minimize with
  default settings, BFGS with finite differences, on the raw mean Huber loss, coefficients
  a_S, b_S, c_S, b_N, a_D^b_D, b_D, c with N in millions and D in billions, starts uniform in
  [0, 1)) against kit.fit.fitting.fit with 25 starts;
- a 200-resample bootstrap: that procedure refitting each resample from the full fit, against
  kit.fit.fitting.bootstrap (all resamples at once, each refitted to convergence); scipy's BFGS stops
  after few iterations there, so the printed iteration counts say what its time buys;
- kit.fit.fitting.fit_intervals (the bootstrap plus profile likelihood) for the coefficients.
kit.fit.fitting's first calls compile its optimiser; that time is printed apart.
Usage: python scripts/bench_fits.py [--n-boot 200] [--starts 25]
"""

import argparse
import time

import numpy as np
from scipy import optimize

from kit.fit import fitting, paper
from kit import laws


def authors_objective(t5):
    """The authors' notebook objective: mean Huber loss of log L, in their units."""
    S, N, D, y = t5.S.to_numpy(), t5.N.to_numpy() / 1e6, t5.D.to_numpy() / 1e9, t5.loss.to_numpy()

    def mean_huber(p):
        a_S, b_S, c_S, b_N, e, b_D, c = p
        with np.errstate(all="ignore"):
            pred = (a_S * (1 - S) ** b_S + c_S) * N**-b_N + e * D**-b_D + c
            value = np.mean(fitting.huber(np.log(pred) - np.log(y), 1e-3))
        return value if np.isfinite(value) else np.inf

    return mean_huber


def in_authors_units(p):
    return [p["a_S"] * 1e6 ** -p["b_N"], p["b_S"], p["c_S"] * 1e6 ** -p["b_N"], p["b_N"],
            (p["a_D"] / 1e9) ** p["b_D"], p["b_D"], p["c"]]


def authors_fit(t5, starts, seed):
    objective = authors_objective(t5)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        return min((optimize.minimize(objective, rng.uniform(size=7)) for _ in range(starts)), key=lambda r: r.fun)


def authors_bootstrap(t5, start, n_boot, seed):
    rng = np.random.default_rng(seed)
    iterations = []
    for _ in range(n_boot):
        sample = t5.iloc[rng.integers(0, len(t5), len(t5))].reset_index(drop=True)
        with np.errstate(all="ignore"):
            iterations.append(optimize.minimize(authors_objective(sample), start).nit)
    return np.array(iterations)


def seconds(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--starts", type=int, default=25)
    args = parser.parse_args()
    t5 = paper.load_t5()
    ours = lambda df, starts=args.starts: fitting.fit(laws.sparse_law, df, df.loss, laws.COEFF_NAMES, starts=starts)

    compile_fit, _ = seconds(lambda: ours(t5))
    fit_s, fit = seconds(lambda: ours(t5))
    authors_fit_s, theirs = seconds(lambda: authors_fit(t5, args.starts, seed=0))
    print(f"one fit, {args.starts} random starts: kit.fit.fitting {fit_s:.3f} s (objective {fit.objective:.4g}), "
          f"authors' procedure {authors_fit_s:.2f} s (objective {theirs.fun:.4g}): "
          f"{authors_fit_s / fit_s:.0f}x faster")

    compile_boot, _ = seconds(lambda: fitting.bootstrap(ours, t5, n_boot=8))
    boot_s, _ = seconds(lambda: fitting.bootstrap(ours, t5, n_boot=args.n_boot))
    authors_boot_s, nit = seconds(lambda: authors_bootstrap(t5, in_authors_units(fit.params), args.n_boot, seed=0))
    print(f"bootstrap, {args.n_boot} resamples: kit.fit.fitting {boot_s:.2f} s, authors' procedure "
          f"{authors_boot_s:.1f} s: {authors_boot_s / boot_s:.1f}x faster (the authors' refits stop early: median "
          f"{np.median(nit):.0f} BFGS iterations, {np.mean(nit == 0):.0%} none)")

    compile_intervals, _ = seconds(lambda: fitting.fit_intervals(fit, n_boot=8))
    intervals_s, _ = seconds(lambda: fitting.fit_intervals(fit, n_boot=args.n_boot))
    print(f"fit_intervals (bootstrap of {args.n_boot} and profile likelihood, 7 coefficients): {intervals_s:.2f} s, "
          f"{intervals_s / boot_s:.1f}x the bootstrap alone")
    print(f"compilation on first use (once per law, free coefficients, loss and size bucket): fit "
          f"{compile_fit - fit_s:.1f} s, bootstrap {compile_boot:.1f} s, fit_intervals {compile_intervals:.1f} s")


if __name__ == "__main__":
    main()
