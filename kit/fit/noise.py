"""The seed-to-seed noise of a run's final loss, and intervals of differences judged against it.

Two runs that differ only in their seed (initialisation and data order) end at different losses;
a difference between two configs means something only against that spread. The book's seed
grid (kit.engine.grids.SEEDS) repeats a few configs with several seeds at two token budgets: seed_noise
pools their spread per budget, noise_at reads it off at another budget, and t_interval turns a
difference and its standard error into a Student-t interval:

    noise = noise.seed_noise(seed_runs, point=["n_nonzero", "sparsity"], by="tokens")
    sigma, dof = noise.noise_at(noise, 1_200_128)
    estimate, low, high = noise.t_interval(gap, sigma * np.sqrt(2), dof)  # two single runs

average_seeds turns repeats into one point per config, so a fit counts each config once; it and
config_key take the columns that name a config (for the run store's frames,
kit.engine.store.CONFIG_FIELDS), so this module needs no run store.
Plain functions of frames and arrays, like kit.fit.analysis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .analysis import pooled_std, seed_spread


def t_interval(estimate, se, dof, level=0.95) -> tuple[float, float, float]:
    """(estimate, low, high): estimate -+ t se, t the two-sided `level` quantile of Student's t
    with `dof` degrees of freedom (e.g. those of a pooled seed std).

        >>> [round(x, 4) for x in t_interval(0.05, 0.02, dof=4)]
        [0.05, -0.0055, 0.1055]
    """
    estimate, se = float(estimate), float(se)
    if not (np.isfinite(estimate) and np.isfinite(se) and se >= 0):
        raise ValueError(f"estimate = {estimate!r}, se = {se!r}: need finite numbers, se >= 0")
    if not (np.isfinite(dof) and dof >= 1):
        raise ValueError(f"dof = {dof!r}: need at least 1 degree of freedom")
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r}: need a probability strictly between 0 and 1")
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return estimate, estimate - half, estimate + half


def seed_noise(frame: pd.DataFrame, point, by: str = "tokens", value: str = "loss") -> pd.DataFrame:
    """Per value of `by` (e.g. the token budget): the seed-to-seed std of `value` pooled over the
    points (runs equal in the columns `point` and `by`; kit.fit.analysis.pooled_std), its degrees of
    freedom (runs minus points, over points with 2 or more runs), and the points and runs it
    rests on. Index: `by`, ascending.

        >>> runs = pd.DataFrame({"tokens": [10**8] * 4 + [4 * 10**8] * 4, "n_nonzero": [64, 64, 128, 128] * 2,
        ...                      "loss": [3.00, 3.02, 2.80, 2.83, 2.70, 2.71, 2.50, 2.52]})
        >>> seed_noise(runs, point=["n_nonzero"], by="tokens").round(4)
                    sigma  dof  points  runs
        tokens
        100000000  0.0180    2       2     4
        400000000  0.0112    2       2     4
    """
    point = [c for c in point if c != by]
    spread = seed_spread(frame, [by, *point], value)
    rows = {}
    for key, group in spread.groupby(level=0):
        repeated = group[group["runs"] >= 2]
        if repeated.empty:
            raise ValueError(f"{by} = {key}: no point has 2 or more runs, so its seed spread is undefined")
        rows[key] = {"sigma": pooled_std(repeated["std"], repeated["runs"]),
                     "dof": int((repeated["runs"] - 1).sum()), "points": len(repeated),
                     "runs": int(repeated["runs"].sum())}
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    table.index.name = by
    return table


def noise_at(noise: pd.DataFrame, x) -> tuple[float, int]:
    """(sigma, dof) at `x` (e.g. a token budget) from seed_noise's table: sigma interpolated
    linearly in log x and log sigma between the measured values, held at the nearest end outside
    them; dof the smallest of the measured values the interpolation uses.

        >>> table = pd.DataFrame({"sigma": [0.02, 0.01], "dof": [6, 4]}, index=[10**8, 4 * 10**8])
        >>> sigma, dof = noise_at(table, 2 * 10**8)
        >>> round(sigma, 4), dof
        (0.0141, 4)
    """
    xs = np.asarray(noise.index, dtype=float)
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"x = {x!r}: need a positive number (a budget)")
    sigma = float(np.exp(np.interp(np.log(x), np.log(xs), np.log(noise["sigma"].to_numpy(dtype=float)))))
    if x <= xs[0] or x >= xs[-1] or np.any(np.isclose(xs, x)):
        used = [int(np.argmin(np.abs(np.log(xs) - np.log(x))))]
    else:
        above = int(np.searchsorted(xs, x))
        used = [above - 1, above]
    return sigma, int(noise["dof"].to_numpy()[used].min())


def config_key(frame: pd.DataFrame, fields) -> pd.Series:
    """One string per run naming its config without the seed: runs with equal keys differ only in
    their seed. Built from those of `fields` (the columns that name a config, such as
    kit.engine.store.CONFIG_FIELDS) that are among the frame's columns, 'seed' left out.

        >>> runs = pd.DataFrame({"n_nonzero": [64, 64], "sparsity": [0.5, 0.5], "seed": [0, 1]})
        >>> config_key(runs, ["n_nonzero", "sparsity", "seed", "tokens"]).tolist()
        ['64|0.5', '64|0.5']
    """
    fields = [f for f in fields if f != "seed" and f in frame.columns]
    if not fields:
        raise ValueError(f"frame has no RunConfig field among its columns {list(frame.columns)}")
    return pd.Series(["|".join(map(str, row)) for row in frame[fields].itertuples(index=False)], index=frame.index)


def average_seeds(frame: pd.DataFrame, fields, columns=("loss", "S", "N", "N_avg", "D")) -> pd.DataFrame:
    """One row per config: the runs of `frame` equal in every one of `fields` (see config_key) except
    `seed` become one row with the mean of `columns`, the number of runs averaged (`seeds`) and
    the other columns of the first of them, in order of first appearance. A law fitted to the
    result counts each config once however many seeds it was run with.

        >>> runs = pd.DataFrame({"n_nonzero": [64, 64, 128], "seed": [0, 1, 0], "loss": [3.0, 3.2, 2.9]})
        >>> average_seeds(runs, ["n_nonzero", "seed"], columns=["loss"])
           n_nonzero  seed  loss  seeds
        0         64     0   3.1      2
        1        128     0   2.9      1
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks columns {missing}; it has {list(frame.columns)}")
    grouped = frame.groupby(config_key(frame, fields), sort=False)
    out = grouped.first()
    out[list(columns)] = grouped[list(columns)].mean()
    out["seeds"] = grouped.size()
    return out.reset_index(drop=True)
