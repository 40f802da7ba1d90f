"""Chapter 7, "Should I sparsify?": the questions the chapter asks of the planner (kit.planner.plan),
each a table or a few numbers, and the chapter's figures.

    order_check()  # Section 3.3's claim that S_opt is lower for dense than for sparse FLOPs, on a grid
    relative_costs(np.linspace(0, 0.9, 10), {"dense FLOPs": "dense", "sparse FLOPs": "sparse"})
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit import laws
from kit.planner.plan import (LABELS, LEVEL, Run, cost_multiplier, format_value,
                              loss_at_compute, optimal_from, plan, s_opt, table)
from kit.planner.speedup import SpeedupCurve


# ----------------------------------------------------------------------------- questions

PAPER_WINDOW = dict(start=0.25, end=0.75, kind="cubic")  # the paper's pruning schedule (Section 3.3)
FAMILIES = {"ViT/JFT": "vit", "T5/C4": "t5"}  # Table 7's laws (kit.laws.TABLE7), by the paper's names
# Section 3.3: "In terms of sparse FLOPs, 50% sparsity is already optimal for < 2x (ViT) and < 3x (T5) longer
# training than Chinchilla; for dense FLOPs it is ≈ 5x and ≈ 70x": (family, cost) -> (number, as printed).
SECTION_3_3 = {("ViT/JFT", "sparse"): (2, "< 2x"), ("T5/C4", "sparse"): (3, "< 3x"),
               ("ViT/JFT", "dense"): (5, "≈ 5x"), ("T5/C4", "dense"): (70, "≈ 70x")}
SECTION_3_3_S = 0.5  # the sparsity of those multiples
ORDER_NONZERO = np.logspace(6, 11, 21)  # the budgets of order_check: N ...
ORDER_MULTIPLES = np.logspace(-1, 5, 25)  # ... and compute in multiples of C_chin(N)
ORDER_GRID = (f"N {format_value('N', ORDER_NONZERO[0])} to {format_value('N', ORDER_NONZERO[-1])}, "
              f"{format_value('', ORDER_MULTIPLES[0])} to {format_value('', ORDER_MULTIPLES[-1])} Chinchilla multiples, "
              f"{' and '.join(name.split('/')[0] for name in FAMILIES)} laws")


def section_3_3(N) -> pd.DataFrame:
    """Section 3.3's multiples as planner queries, with Table 7's laws and the paper's schedule: for
    each (family, cost) of SECTION_3_3, the compute in Chinchilla multiples from which S = 0.5 is
    optimal for N non-zeros (`optimal_from`), the planner's S_opt at that compute (S left to it),
    and whether the rule is met: below the paper's bound with sparse FLOPs, equal to its number at
    one significant figure with dense FLOPs, and S_opt = 0.5 there.

        >>> section_3_3(200e6)["multiple"].round(2).tolist()
        [1.68, 2.44, 4.82, 70.16]
    """
    rows = []
    for (family, cost), (value, text) in SECTION_3_3.items():
        law = laws.TABLE7[FAMILIES[family]]
        m = optimal_from(SECTION_3_3_S, N, law, cost, **PAPER_WINDOW)
        query = plan(law, Run(N=N, C=m * law.k * N * float(laws.chinchilla_tokens(N, law)), S=None), cost, **PAPER_WINDOW)
        near = m < value if cost == "sparse" else float(f"{m:.1g}") == value
        rows.append({"family": family, "cost": f"{cost} FLOPs", "paper": text, "multiple": m, "S_opt": query.S,
                     "met": bool(near and abs(query.S - SECTION_3_3_S) < 1e-6)})
    return pd.DataFrame(rows)


def order_check(nonzero=ORDER_NONZERO, multiples=ORDER_MULTIPLES) -> dict:
    """Section 3.3: "the optimal sparsity at a given point (N, C) is lower for dense than sparse
    FLOPs", over every budget of N (non-zeros) x multiples (of C_chin(N)) for both of Table 7's laws,
    the paper's schedule. Returns max_dense_minus_sparse, the largest S_opt(dense) - S_opt(sparse);
    strict, 1.0 if S_opt(dense) < S_opt(sparse) wherever the latter is above 0, else 0.0; points,
    the number of budgets.

        >>> order_check([1e8], [1.0, 100.0])
        {'max_dense_minus_sparse': -0.0416..., 'strict': 1.0, 'points': 4.0}
    """
    N = np.asarray(nonzero, dtype=float)[:, None]
    worst, strict, points = -np.inf, True, 0
    for name in FAMILIES.values():
        law = laws.TABLE7[name]
        C = np.asarray(multiples, dtype=float)[None, :] * law.k * N * laws.chinchilla_tokens(N, law)
        dense, sparse = (s_opt(N, C, law, cost, **PAPER_WINDOW) for cost in ("dense", "sparse"))
        worst = max(worst, float(np.max(dense - sparse)))
        strict &= bool(np.all(dense[sparse > 0] < sparse[sparse > 0]))
        points += dense.size
    return {"max_dense_minus_sparse": worst, "strict": float(strict), "points": float(points)}


def format_multiple(value) -> str:
    """A compute in Chinchilla multiples as the chapter's tables print it: "13.8x", "1.65e3x", "never".

        >>> format_multiple(13.79), format_multiple(1650.0), format_multiple(np.inf)
        ('13.8x', '1.65e3x', 'never')
    """
    return format_value("optimal_from", value) + ("" if np.isinf(value) else "x")


def describe(run: Run) -> str:
    """A run as the chapter's tables head it: "S = 0.800, N = 2e8, D = 1e11" ("S = optimal, ..." for S None).

        >>> describe(Run(N=2e8, D=1e11, S=0.8))
        'S = 0.800, N = 2e8, D = 1e11'
        >>> describe(Run(N=1e9, C=6e19, S=None))
        'S = optimal, N = 1e9, C = 6e19'
    """
    given = ", ".join(f"{key} = {format_value(key, value)}" for key, value in (("S", run.S), ("N", run.N),
                                                                            ("D", run.D), ("C", run.C))
                      if value is not None)
    return ("S = optimal, " if run.S is None else "") + given


QUESTION_ROWS = ("C", "c_mul", "loss", "dense_loss", "S_opt", "loss_opt", "cheapest_N", "cheapest_C", "payoff_chinchilla")


def question_table(plans: dict) -> pd.DataFrame:
    """One run's plans under several cost models ({cost name: Plan}) side by side: a row per
    quantity of QUESTION_ROWS (labelled with LABELS), a column per cost model, values formatted.

        >>> run = Run(N=2e8, D=1e11, S=0.8)
        >>> table = question_table({cost: plan(laws.TABLE7["t5"], run, cost) for cost in ("dense", "sparse")})
        >>> table.loc[["training FLOPs C", "cost multiplier c_mul", "predicted loss"]]
                                dense  sparse
        training FLOPs C         3e20  1.5e20
        cost multiplier c_mul       5     2.5
        predicted loss         1.4801  1.4801
    """
    return pd.DataFrame({cost: {LABELS[f]: format_value(f, getattr(p, f)) for f in QUESTION_ROWS}
                         for cost, p in plans.items()})


def answer(runs: list, answers: dict) -> str:
    """The answer to "which run?": the run of lowest loss, and what its training costs against the
    cheapest dense model of the same loss under each cost model (answers: {cost name: [Plan per run]}).

        >>> run = Run(N=1e9, D=20e9)
        >>> answer([run], {"dense FLOPs": [plan(laws.TABLE7["t5"], run, "dense")]})
        'Run 1 is the better model. Its training costs 1x (dense FLOPs) the compute of the cheapest dense model of
        the same loss, so it is itself about the cheapest way to that loss'
    """
    losses = [p.loss for p in next(iter(answers.values()))]  # a run's loss does not depend on how it is priced
    best = int(np.argmin(losses))
    dearer = {cost: plans[best].C / plans[best].cheapest_C for cost, plans in answers.items()}
    bill = ", ".join(f"{ratio:.2g}x ({cost})" for cost, ratio in dearer.items())
    cheaper = [cost for cost, ratio in dearer.items() if ratio < 1]
    if cheaper:
        then = f"it is the cheaper way to that loss under {', '.join(cheaper)}"
    elif (runs[best].S or 0) > 0:
        then = ("under every cost model a dense model is the cheaper way to that loss; what the sparse run buys is a "
                "model with fewer non-zeros, for cheaper inference")
    else:
        then = "it is itself about the cheapest way to that loss"
    return (f"Run {best + 1} is the better model. Its training costs {bill} the compute of the cheapest dense model "
            f"of the same loss, so {then}")


def relative_costs(S, costs: dict, start=0.25, end=0.75, kind="cubic") -> pd.DataFrame:
    """Each cost model's training cost as a fraction of dense training's, c_mul(S) (1 - S), at the
    final sparsities S (index): 1 for dense FLOPs and for a kernel never faster than dense, lower
    the more the zeros save. costs: {name: "dense", "sparse" or a SpeedupCurve}.

        >>> relative_costs([0.0, 0.5], {"dense FLOPs": "dense", "sparse FLOPs": "sparse"})  # c_mul(0.5) (1 - 0.5)
             dense FLOPs  sparse FLOPs
        S
        0.0          1.0        1.0000
        0.5          1.0        0.6875
    """
    S = np.asarray(S, dtype=float)
    frame = pd.DataFrame({name: cost_multiplier(S, cost, start, end, kind) / laws.cmul_dense(S)
                          for name, cost in costs.items()}, index=pd.Index(S, name="S"))
    return frame


def cheaper_from(frame: pd.DataFrame) -> pd.Series:
    """For each cost model of a relative_costs table, the smallest final sparsity of its index at
    which a run costs less than dense training (beyond 1e-9); NaN if none does.

        >>> cheaper_from(relative_costs([0.0, 0.5, 0.9], {"free": "sparse", "dense": "dense"}))
        free     0.5
        dense    NaN
        dtype: float64
    """
    below = frame < 1 - 1e-9
    return pd.Series({name: frame.index[below[name].to_numpy()][0] if below[name].any() else np.nan
                      for name in frame.columns}, dtype=float)


def optimum_table(coeffs, costs: dict, N, multiples, k=None, start=0.25, end=0.75, kind="cubic") -> pd.DataFrame:
    """The optimal sparsity at N non-zeros and compute `multiples` x C_chin(N), under each cost model
    ({name: cost}): index C / C_chin, columns "C (FLOPs)", then "S_opt, <name>" and "gain (nats), <name>",
    the loss the optimal sparsity saves over the dense N model at the same compute.

        >>> optimum_table(laws.TABLE7["t5"], {"dense FLOPs": "dense"}, 2e8, [1, 100]).round(3).iloc[:, 1:]
                    S_opt, dense FLOPs  gain (nats), dense FLOPs
        C / C_chin
        1.0                      0.000                     0.00
        100.0                    0.537                     0.02
    """
    k = laws.flops_per_token(coeffs, k)
    C = np.asarray(multiples, dtype=float) * k * N * float(laws.chinchilla_tokens(N, coeffs))
    dense = laws.sparse_law(0.0, N, C / (k * N), **laws.check_coefficients(coeffs))
    table = {"C (FLOPs)": C}
    for name, cost in costs.items():
        s = np.atleast_1d(s_opt(N, C, coeffs, cost, k, start, end, kind))
        table[f"S_opt, {name}"] = s
        table[f"gain (nats), {name}"] = dense - loss_at_compute(s, N, C, coeffs, cost, k, start, end, kind)
    return pd.DataFrame(table, index=pd.Index(np.asarray(multiples, dtype=float), name="C / C_chin"))


def measured_optimum(multiples, s_dense, s_sparse, s_measured, near=0.01, jump=0.03) -> tuple[str, str]:
    """Two sentences on where the optimum under a measured cost lies against the ideal ones, along
    the budgets `multiples`: whether it lies between the dense- and sparse-FLOPs optima (to 1e-6,
    the numerical optimum's precision), and up to which budget it stays within `near` of the
    dense-FLOPs optimum, and whether it then jumps by more than `jump` within one budget step.

        >>> where, how = measured_optimum([1, 10, 100], [0.0, 0.2, 0.4], [0.5, 0.6, 0.7], [0.0, 0.2, 0.65])
        >>> where
        'at every one of the 3 budgets of the figure'
        >>> print(how)
        It stays within 0.01 of the dense-FLOPs optimum up to 10 Chinchilla multiples and then jumps from S = 0.20
        to 0.65 within one step of the figure's grid: ...
    """
    multiples, dense, sparse, measured = (np.asarray(a, dtype=float) for a in (multiples, s_dense, s_sparse, s_measured))
    between = (dense <= measured + 1e-6) & (measured <= sparse + 1e-6)
    above = measured > sparse + 1e-6
    where = (f"at every one of the {between.size} budgets of the figure" if between.all()
             else f"at {between.sum()} of the {between.size} budgets of the figure" + (
                 " (at the others it lies above the sparse-FLOPs one: the optimum follows how fast a run's cost grows "
                 "with S, not how large the cost is, and where the kernel's speedup climbs steeply the measured cost "
                 "grows more slowly with S than the cost with free zeros)" if above.any() else ""))
    apart = np.flatnonzero(np.abs(measured - dense) > near)
    if apart.size == 0:
        return where, (f"It stays within {near:g} of the dense-FLOPs optimum at every budget plotted: over the "
                       f"sparsities these budgets call for, the kernel does not beat dense.")
    first = apart[0]
    if first == 0:
        return where, "It leaves the dense-FLOPs optimum already at the smallest budget plotted."
    if measured[first] - measured[first - 1] > jump:
        return where, (f"It stays within {near:g} of the dense-FLOPs optimum up to {format_value('', multiples[first - 1])} "
                       f"Chinchilla multiples and then jumps from S = {measured[first - 1]:.2f} to {measured[first]:.2f} "
                       f"within one step of the figure's grid: the loss then has two minima in S, one below the "
                       f"sparsities where the kernel beats dense and one above, and the second has become the lower.")
    return where, (f"It follows the dense-FLOPs optimum up to {format_value('', multiples[first - 1])} Chinchilla "
                   f"multiples and then rises above it.")


def payoff_table(coeffs, costs: dict, sparsities, N, k=None, start=0.25, end=0.75, kind="cubic") -> pd.DataFrame:
    """For each sparsity (index S) and cost model ({name: cost}): from which compute, in multiples of
    C_chin(N), it beats the dense N model at equal compute ("beats dense from, <name>") and is the
    optimal sparsity ("optimal from, <name>"); NaN where a measured curve stops below S. The last
    column is Eq. 7, the dense size of equal loss on the same data.

        >>> payoff_table(laws.TABLE7["t5"], {"dense FLOPs": "dense"}, [0.5, 0.75], 2e8).round(1).iloc[:, :2]
              beats dense from, dense FLOPs  optimal from, dense FLOPs
        S
        0.50                           13.8                       70.2
        0.75                           58.2                     1651.2
    """
    rows = []
    for s in sparsities:
        row = {"S": s}
        for name, cost in costs.items():
            if isinstance(cost, SpeedupCurve) and s > cost.S[-1]:
                row[f"beats dense from, {name}"] = row[f"optimal from, {name}"] = np.nan
                continue
            p = plan(coeffs, Run(N=N, D=1e9, S=s), cost, k, start, end, kind)
            row[f"beats dense from, {name}"] = p.payoff_chinchilla
            row[f"optimal from, {name}"] = p.optimal_from
        row["dense size of equal loss (Eq. 7)"] = float(laws.gain(s, **laws.check_coefficients(coeffs)))
        rows.append(row)
    return pd.DataFrame(rows).set_index("S")


def far_answers(coeffs, N, D, sparsities, k=None) -> dict:
    """What one law answers about a dense run of N non-zeros on D tokens far from its data, with the
    paper's schedule and dense FLOPs: Section 3.3's multiples for S = 0.5, Eq. 7's dense sizes at
    `sparsities`, and the run's loss, its optimal sparsity, the loss there, and the loss at S = 0.5
    with the same non-zeros and compute. Keys name the quantity and the run.

        >>> round(far_answers(laws.TABLE7["t5"], 7e9, 2e12, [0.5])["N = 7e9, D = 2e12: optimal sparsity"], 4)
        0.1539
    """
    k = laws.flops_per_token(coeffs, k)
    c = laws.check_coefficients(coeffs)
    label = f"N = {format_value('N', N)}, D = {format_value('D', D)}"
    dense = plan(c, Run(N=N, D=D), "dense", k)
    half = plan(c, Run(N=N, C=k * N * D, S=SECTION_3_3_S), "dense", k)
    return {**{f"S = 0.5 optimal from (× Chinchilla), {cost} FLOPs": float(laws.chinchilla_multiple(0.5, 1.0, c, cost))
               for cost in ("dense", "sparse")},
            **{f"dense size of equal loss at S = {s:g} (Eq. 7)": float(laws.gain(s, **c)) for s in sparsities},
            f"{label}: loss": dense.loss, f"{label}: optimal sparsity": dense.S_opt,
            f"{label}: loss at the optimal sparsity": dense.loss_opt,
            f"{label}: loss at S = 0.5, same compute": half.loss}


def compare_laws(named: dict, samples: pd.DataFrame, N, D, sparsities, k=None, level=LEVEL) -> pd.DataFrame:
    """far_answers of several laws ({name: coefficients}) side by side, one column each, with the
    percentile interval (columns low, high) of the same answers over bootstrap samples of the
    coefficients (one row per resample, see intervals); k: the first law's unless given.

        >>> from kit.planner.plan import load_law, read_samples
        >>> law = load_law("t5-refit")
        >>> table = compare_laws({"Table 7": laws.TABLE7["t5"], "refit": law}, read_samples(law.samples).iloc[:20],
        ...                      7e9, 2e12, [0.5])
        >>> table.loc["N = 7e9, D = 2e12: optimal sparsity"].round(3).tolist()
        [0.154, 0.566, 0.093, 0.743]
    """
    k = laws.flops_per_token(next(iter(named.values())), k)
    table = pd.DataFrame({name: far_answers(c, N, D, sparsities, k) for name, c in named.items()})
    resampled = pd.DataFrame([far_answers(row, N, D, sparsities, k)
                              for row in samples[list(laws.COEFF_NAMES)].to_dict("records")])
    tail = (1 - level) / 2
    return table.assign(low=resampled.quantile(tail), high=resampled.quantile(1 - tail))


# ----------------------------------------------------------------------------- figures


def plot_speedups(axes, speed: pd.DataFrame, implementations: dict, layers: list):
    """Measured speedup against S, one of `axes` per implementation ({name: its dense partner}, e.g.
    kit.planner.sparse_speed.IMPLEMENTATIONS): a line per layer (sized in order, on viridis) through
    its unstructured points, open markers for the n:m patterns, the ideal 1/(1-S) dashed, break-even
    dotted. speed: kit.planner.sparse_speed's frame (implementation, layer, pattern, S, speedup).

        >>> import matplotlib.pyplot as plt
        >>> from kit.planner import sparse_speed
        >>> speed, machine = sparse_speed.load()  # data/sparse_speed/measured.json
        >>> fig, axes = plt.subplots(1, 3, figsize=(12, 4))
        >>> plot_speedups(axes, speed, sparse_speed.IMPLEMENTATIONS, list(sparse_speed.LAYERS))
        >>> [ax.get_title() for ax in axes]
        ['scipy-csr vs numpy-blas', 'jax-bcoo vs xla-dense', 'jax-bcsr vs xla-dense']
    """
    import matplotlib

    markers = {"2:4": "s", "1:4": "D"}
    colours = {name: matplotlib.colormaps["viridis"](0.9 * i / max(len(layers) - 1, 1)) for i, name in enumerate(layers)}
    S_line = np.linspace(0.45, 0.96, 100)
    for ax, (implementation, partner) in zip(axes, implementations.items()):
        for name in layers:
            at = speed[(speed.implementation == implementation) & (speed.layer == name)]
            line = at[at.pattern == "unstructured"].sort_values("S")
            ax.plot(line.S, line.speedup, "o-", color=colours[name], ms=3, label=name)
            for pattern, point in at[at.pattern != "unstructured"].groupby("pattern"):
                ax.plot(point.S, point.speedup, markers[pattern], mfc="none", mew=1.3, color=colours[name])
        ax.plot(S_line, 1 / (1 - S_line), "k--", lw=1, label="ideal $1/(1-S)$")
        ax.axhline(1.0, color="k", ls=":", lw=1, label="break-even")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
        ax.set_xlabel("sparsity $S$")
        ax.set_title(f"{implementation} vs {partner}")
    axes[0].set_ylabel("speedup (dense time / sparse time)")
    for pattern, marker in markers.items():
        n, m = map(int, pattern.split(":"))
        axes[0].plot([], [], "k" + marker, mfc="none", label=f"{pattern} (at S = {1 - n / m:g})")


MARKERS = "osD^v<>"  # the markers of the lines that may coincide, in turn


def _staggered(i: int, lines: int, points: int) -> dict:
    """The style of line i of `lines` of `points` points each: a grey of its own (these figures plot
    S, or are read beside figures that colour by it: only sparsities take the book's colours) and a
    marker of its own on every step-th point, starting i/lines of a step later than line 0, so that
    lines that coincide still show each other's markers."""
    step = max(points // 8, 1)
    return dict(color=str(round(0.1 + 0.5 * i / max(lines - 1, 1), 3)), marker=MARKERS[i % len(MARKERS)], ms=5,
                mfc="none", markevery=(i * step // max(lines, 1), step))


def plot_relative_costs(ax, frame: pd.DataFrame):
    """relative_costs' table as lines against S: dense training the dashed line at 1, every cost model
    of the table a line in a grey and with markers of its own. Where lines coincide (a kernel never faster than dense costs
    exactly what dense training does, 1) each line's markers sit at sparsities of their own,
    staggered along S, so that every line shows.

        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> plot_relative_costs(ax, relative_costs(np.linspace(0, 0.9, 10), {"sparse FLOPs": "sparse"}))
        >>> [line.get_label() for line in ax.get_lines()]
        ['dense FLOPs (zeros cost as much as weights)', 'sparse FLOPs']
    """
    ax.axhline(1.0, color="k", ls="--", lw=1.2, label="dense FLOPs (zeros cost as much as weights)", zorder=1)
    for i, name in enumerate(frame.columns):
        ax.plot(frame.index, frame[name], label=name, zorder=2 + i, **_staggered(i, len(frame.columns), len(frame)))
    ax.set_xlabel("final sparsity $S$")
    ax.set_ylabel("training cost / dense training's")
    ax.set_ylim(0, 1.08)


def plot_optimum(axes, table: pd.DataFrame, costs: list):
    """optimum_table's S_opt (axes[0]) and gain (axes[1]) against compute, one line per cost model in
    `costs`: "dense FLOPs" dashed black, the others with markers staggered along the compute axis, so
    that lines that coincide still show.

        >>> import matplotlib.pyplot as plt
        >>> costs = {"dense FLOPs": "dense", "sparse FLOPs": "sparse"}
        >>> fig, axes = plt.subplots(1, 2)
        >>> plot_optimum(axes, optimum_table(laws.TABLE7["t5"], costs, 2e8, np.logspace(0, 3, 20)), list(costs))
        >>> [line.get_label() for line in axes[0].get_lines()]
        ['dense FLOPs', 'sparse FLOPs']
    """
    others = [name for name in costs if name != "dense FLOPs"]
    for ax, column in zip(axes, ("S_opt", "gain (nats)")):
        if "dense FLOPs" in costs:
            ax.plot(table.index, table[f"{column}, dense FLOPs"], "k--", label="dense FLOPs")
        for i, name in enumerate(others):
            ax.plot(table.index, table[f"{column}, {name}"], label=name, **_staggered(i, len(others), len(table)))
        ax.set_xscale("log")
        ax.set_xlabel(r"compute $C / C_\mathrm{chin}(N)$")
    axes[0].set_ylabel(r"optimal sparsity $S_\mathrm{opt}$")
    axes[1].set_ylabel("loss of dense − loss at $S_\\mathrm{opt}$ (nats)")
    axes[1].set_title("what the optimal sparsity gains")


# ----------------------------------------------------------------------------- the chapter's claim and texts


def order_claim(order: dict):
    """Section 3.3's "the optimal sparsity is lower for dense than for sparse FLOPs" as a claim, from
    order_check's numbers (kind "published": arithmetic on Table 7's laws).

        >>> order_claim(order_check()).verdict
        'holds'
    """
    from kit.report.claims import Claim

    worst, strict, points = order["max_dense_minus_sparse"], bool(order["strict"]), int(order["points"])
    return Claim(
        key="planner-dense-below-sparse", paper="Frantar et al. 2024",
        statement="The optimal sparsity at a given point (N, C) is lower for dense than for sparse FLOPs.",
        section="ch7-section-3-3", paper_value=None,
        authors_data=f"S_opt(dense) − S_opt(sparse) ≤ {worst:+.3f} at {points} budgets", our_runs=None,
        verdict="holds" if worst <= 0 and strict else "does not hold",
        rule=f"Holds if on a grid of budgets ({ORDER_GRID}) S_opt under dense FLOPs never exceeds S_opt under sparse "
             "FLOPs and is lower wherever the latter is above 0.",
        reason=f"Over {points} budgets the largest S_opt(dense) − S_opt(sparse) is {worst:+.3f}, and the dense-FLOPs "
               f"optimum is {'strictly lower wherever' if strict else 'not always lower where'} the sparse-FLOPs one is above 0.",
        numbers=order, kind="published", rule_after=False,
        scope=f"Table 7's laws; {ORDER_GRID.rsplit(', ', 1)[0]}; cubic pruning "
              f"{PAPER_WINDOW['start']:.0%}–{PAPER_WINDOW['end']:.0%}")


def speed_texts(speed: pd.DataFrame, measured: SpeedupCurve, machine: dict) -> dict:
    """The chapter's glued texts on the measured kernels (keys speed_*): the machine, its load, how
    many unstructured timings beat dense, each implementation's best, the best at the highest
    sparsity against the ideal, where `measured` breaks even, and its curve.

        >>> from kit.planner import sparse_speed
        >>> speed, machine = sparse_speed.load()  # data/sparse_speed/measured.json
        >>> texts = speed_texts(speed, sparse_speed.curve(speed, "jax-bcsr", "t5-base", machine), machine)
        >>> texts["speed_faster"], texts["speed_break_even"]
        ('28 of 90', 'S = 0.9')
    """
    load = [machine.get("load_average_1min"), machine.get("load_average_1min_after")]
    unstructured = speed[speed.pattern == "unstructured"]
    at_top = unstructured[unstructured.S == unstructured.S.max()]
    break_even = [s for s, v in zip(measured.S, measured.speedup) if v >= 1]
    return {
        "speed_machine": f"one core of a {machine['cores']}-core {machine['cpu']} ({machine['blas']}, jax {machine['jax']}, "
                         f"scipy {machine['scipy']}, {machine['date']})",
        "speed_load": " and ".join(f"{v:.1f}" for v in load if v is not None),
        "speed_faster": f"{int((unstructured.speedup > 1).sum())} of {len(unstructured)}",
        "speed_best": ", ".join(f"{i} {g.speedup.max():.2f}x" for i, g in unstructured.groupby("implementation", sort=False)),
        "speed_top": f"{at_top.speedup.max():.2f}x against an ideal {1 / (1 - unstructured.S.max()):.0f}x",
        "speed_break_even": f"S = {break_even[0]:g}" if break_even else "no measured sparsity",
        "speed_curve": ", ".join(f"{v:.2f}x at {s:g}" for s, v in zip(measured.S, measured.speedup)),
    }


def beyond(named: dict, samples: pd.DataFrame, N, D, sparsities) -> tuple[pd.DataFrame, dict]:
    """The chapter's last question, a run far beyond the T5 data (N non-zeros, D tokens), asked of
    the T5 laws `named` ({"Table 7": ..., "refit": ...}, with the refit's bootstrap `samples`): the
    table to show (compare_laws with a 95% interval column) and the glued texts (keys t5_range,
    beyond_text, far_warnings, refit_objective, refit_coeffs, far_sopt, far_half, refit_multiple,
    table7_outside, far_numbers).

        >>> from kit.planner.plan import load_law, read_samples
        >>> named = {"Table 7": load_law("t5"), "refit": load_law("t5-refit")}
        >>> shown, texts = beyond(named, read_samples(named["refit"].samples).iloc[:20], 7e9, 2e12, [0.5])
        >>> list(shown.columns)
        ['Table 7', 'refit', '95% interval']
        >>> texts["far_sopt"]
        '0.154 (Table 7) and 0.566 (refit), with an interval of [0.093, 0.743]'
    """
    import json

    from kit.chapters import corelaw
    from kit.fit import paper

    compare = compare_laws(named, samples, N, D, sparsities)
    low, high = compare.pop("low"), compare.pop("high")
    shown = compare.assign(**{"95% interval": [f"[{format_value('', a)}, {format_value('', b)}]" for a, b in zip(low, high)]})
    objective = {name: corelaw.objective(paper.load_t5(), c, "t5") for name, c in named.items()}
    far_plan = plan(named["Table 7"], Run(N=N, D=D), "dense")
    far_label = f"N = {format_value('N', N)}, D = {format_value('D', D)}"
    key = lambda q: f"{far_label}: {q}"
    half, dense = compare.loc[key("loss at S = 0.5, same compute")], compare.loc[key("loss")]
    dense_from = "S = 0.5 optimal from (× Chinchilla), dense FLOPs"
    outside = [q for q in compare.index if not low[q] <= compare.loc[q, "Table 7"] <= high[q]]
    texts = {
        "t5_range": " and ".join(f"{q} from {format_value(q, lo)} to {format_value(q, hi)}"
                                 for q, (lo, hi) in named["refit"].data.items() if q != "S") + " tokens",
        "beyond_text": f"{format_value('N', N)} non-zeros trained on {format_value('D', D)} tokens",
        "far_warnings": "; ".join(far_plan.warnings) if far_plan.warnings else "it does not",
        "refit_objective": f"objective {format_value('', objective['refit'])} against "
                           f"{format_value('', objective['Table 7'])} at Table 7's coefficients",
        "refit_coeffs": ", ".join(f"{c} = {named['refit'][c]:.3g}" for c in ("b_S", "b_D", "c")) + " where Table 7 has "
                        + ", ".join(f"{named['Table 7'][c]:.3g}" for c in ("b_S", "b_D", "c")),
        "far_sopt": " and ".join(f"{compare.loc[key('optimal sparsity'), n]:.3f} ({n})" for n in named)
                    + f", with an interval of [{low[key('optimal sparsity')]:.3f}, {high[key('optimal sparsity')]:.3f}]",
        "far_half": "; ".join(f"under {'the ' if n == 'refit' else ''}{n}, a 50%-sparse model with the same non-zeros and "
                              f"compute {'beats' if half[n] < dense[n] else 'loses to'} the dense one ({half[n]:.4f} against "
                              f"{dense[n]:.4f})" for n in named),
        "refit_multiple": f"{compare.loc[dense_from, 'refit']:.3g}x instead of {compare.loc[dense_from, 'Table 7']:.3g}x "
                          f"(interval [{format_value('', low[dense_from])}, {format_value('', high[dense_from])}])",
        "table7_outside": (f"Table 7's own number lies outside the interval of the refits for the {'; the '.join(outside)}: "
                           f"the resampled runs do not lead back to it there" if outside else
                           "Table 7's own numbers all lie inside the intervals of the refits"),
        "far_numbers": json.dumps(compare.to_dict() | {"low": low.to_dict(), "high": high.to_dict(),
                                                       "warnings": list(far_plan.warnings)}),
    }
    return shown, texts
