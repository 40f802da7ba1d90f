"""Figures of the book: one small function per panel, each drawing on a given matplotlib Axes.

Every function takes precomputed arrays (from kit.laws or a fit) and returns the Axes, so the math
stays in kit.laws and a figure is one call per panel:

    fig, ax = plt.subplots()
    plot_cmul(ax, S, {"Eq. 4": laws.cmul(S)}, dense=laws.cmul_dense(S))
"""

from __future__ import annotations

import matplotlib
import numpy as np


def plot_cmul(ax, S, cmuls, dense=None):
    """Sparse training-cost multiplier c_mul(S) (Eq. 4 and other schedules) against final sparsity.

    cmuls maps a legend label to c_mul evaluated at the sparsities S; dense, if given, is the
    dense-cost multiplier 1 / (1 - S) at S, drawn dashed black. Log y axis."""
    for label, c_mul in cmuls.items():
        ax.plot(S, c_mul, label=label)
    if dense is not None:
        ax.plot(S, dense, "k--", label="dense cost $1/(1-S)$")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.set_xlabel("final sparsity $S$")
    ax.set_ylabel(r"$c_\mathrm{mul}(S)$ (× FLOPs of dense training at $N$)")
    ax.legend()
    return ax


def plot_sopt_contours(ax, N, C, S_opt_NxC, chinchilla=None, levels=(0.25, 0.5, 0.75, 0.875, 0.9375),
                       lines=(0.5, 0.75, 0.875), dense_below=0.01, colorbar=True):
    """Optimal sparsity S_opt(N, C) (Section 3.3, Fig. 1 right / Fig. 4) as filled contours over
    training compute C (x, log) and non-zero parameters N (y, log).

    S_opt_NxC[i, j] is S_opt at N[i], C[j]. Filled bands have the boundaries `levels` (and 1); grey
    is S_opt < dense_below, where dense is optimal or nearly so (a threshold a little above 0 puts that
    boundary between grid points rather than on them, where S_opt = 0 exactly). `lines` are drawn as
    labelled contour lines.
    chinchilla, if given, is a pair (C, N_opt(C)) drawn as the dense compute-optimal line."""
    N, C, S_opt_NxC = np.asarray(N), np.asarray(C), np.asarray(S_opt_NxC)
    if S_opt_NxC.shape != (N.size, C.size):
        raise ValueError(f"S_opt_NxC must have shape (len(N), len(C)) = {(N.size, C.size)}; "
                         f"got {S_opt_NxC.shape}")
    cmap = matplotlib.colormaps["viridis"].with_extremes(under="0.85")
    bands = ax.contourf(C, N, S_opt_NxC, levels=[dense_below, *levels, 1.0], cmap=cmap, extend="min")
    if lines:
        contour = ax.contour(C, N, S_opt_NxC, levels=sorted(lines), colors="white", linewidths=1.0)
        ax.clabel(contour, fmt=lambda s: f"{s:g}", fontsize=9)
    if chinchilla is not None:
        ax.plot(*chinchilla, "r--", lw=2, label="Chinchilla (dense compute-optimal)")
        ax.legend(loc="upper left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(C.min(), C.max())
    ax.set_ylim(N.min(), N.max())
    ax.set_xlabel("training compute $C$ (FLOPs)")
    ax.set_ylabel("non-zero parameters $N$")
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(bands, ax=ax, format="%g",
                           label=f"optimal sparsity $S_\\mathrm{{opt}}$ (grey: < {dense_below:g})")
    return ax


def plot_chinchilla_multiple(ax, S, multiples):
    """How many times the Chinchilla-optimal compute a fixed N needs before sparsity S is optimal
    (Section 3.3), against S. multiples maps a legend label to the multiple at S. Log y axis."""
    for label, multiple in multiples.items():
        ax.plot(S, multiple, label=label)
    ax.axhline(1.0, color="k", ls=":", label="Chinchilla")
    ax.set_yscale("log")
    ax.set_xlabel("sparsity $S$")
    ax.set_ylabel(r"$C / C_\mathrm{Chinchilla}(N)$ at which $S$ is optimal")
    ax.legend()
    return ax


def _colours(labels, palette="viridis"):
    """One colour per label, evenly spaced along a matplotlib colormap (ends trimmed for contrast)."""
    cmap = matplotlib.colormaps[palette]
    return {label: cmap(0.9 * i / max(len(labels) - 1, 1)) for i, label in enumerate(labels)}


def plot_predicted_vs_actual(ax, actual, predicted, hue=None, hue_name="S", points=None,
                             quantity="validation loss"):
    """Fitted law against measurement, one dot per run, with the diagonal (Fig. 1, left).

    hue, if given, holds one category per run (e.g. its sparsity), coloured and labelled
    f"{hue_name} = {value:g}". points maps a label to one (actual, predicted) pair drawn as a large
    star, e.g. an extrapolation run not used in the fit."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if actual.shape != predicted.shape:
        raise ValueError(f"actual and predicted need one value per run; "
                         f"got shapes {actual.shape}, {predicted.shape}")
    if hue is None:
        ax.scatter(actual, predicted, s=20, label="runs")
    else:
        hue = np.asarray(hue)
        if hue.shape != actual.shape:
            raise ValueError(f"hue needs one value per run; got shape {hue.shape}, runs {actual.shape}")
        values = np.unique(hue)
        for value, colour in _colours(values).items():
            ax.scatter(actual[hue == value], predicted[hue == value], s=20, color=colour,
                       label=f"{hue_name} = {value:g}")
    extremes = [actual.min(), actual.max(), predicted.min(), predicted.max()]
    for i, (label, (x, y)) in enumerate((points or {}).items()):
        ax.scatter([x], [y], marker="*", s=250, color=f"C{3 + i}", edgecolor="k", zorder=3, label=label)
        extremes += [x, y]
    lo, hi = min(extremes), max(extremes)
    pad = 0.03 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="predicted = measured")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"measured {quantity}")
    ax.set_ylabel(f"predicted {quantity}")
    ax.legend(fontsize="small")
    return ax


def plot_scaling_curves(ax, points, curves=None, xlabel="non-zero parameters $N$", ylabel="validation loss",
                        offset=0.0, palette="viridis", order=None):
    """Measured losses as dots and a law's curves as lines, one colour per label, log-log
    (Fig. 2 against size, Fig. 3 against data).

    points and curves map a label (e.g. "S = 0.5") to a pair (x, loss); a curve takes the colour of
    the points with its label. The y axis shows loss - offset (Fig. 2 subtracts 1). order lists
    every label of a multi-panel figure, so that a label keeps its colour in every panel (default:
    the labels of this panel)."""
    curves = curves or {}
    labels = list(dict.fromkeys([*points, *curves]))
    unknown = [label for label in labels if order is not None and label not in order]
    if unknown:
        raise ValueError(f"labels {unknown} are not in order={list(order)}")
    colours = _colours(labels if order is None else list(order), palette)
    for label, (x, loss) in points.items():
        ax.plot(x, np.asarray(loss) - offset, "o", color=colours[label], label=label)
    for label, (x, loss) in curves.items():
        ax.plot(x, np.asarray(loss) - offset, "-", color=colours[label],
                label=None if label in points else label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


def plot_intervals(ax, table, reference=None, reference_label="reference"):
    """Bootstrap intervals of fitted quantities relative to their estimates, one row per quantity.

    table: kit.fitting.intervals' output (index quantity; columns estimate, low, high). Each row
    spans [low, high] / estimate on a log axis, so widths compare across quantities; reference
    maps quantities to other values (e.g. Table 7's), drawn as crosses at value / estimate."""
    missing = {"estimate", "low", "high"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; kit.fitting.intervals gives estimate, low, high")
    rows = np.arange(len(table))[::-1]  # first quantity on top
    estimate = table["estimate"].to_numpy(dtype=float)
    low, high = table["low"].to_numpy(dtype=float) / estimate, table["high"].to_numpy(dtype=float) / estimate
    ax.hlines(rows, low, high, color="C0", lw=3, label="bootstrap interval")
    ax.plot(np.ones_like(rows), rows, "o", color="C0", label="our estimate")
    if reference is not None:
        ref = np.array([reference.get(name, np.nan) for name in table.index], dtype=float) / estimate
        ax.plot(ref, rows, "x", color="C3", ms=9, mew=2, label=reference_label)
    ax.set_yticks(rows, [str(name) for name in table.index])
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    lo, hi = ax.get_xlim()
    if hi / lo < 10:  # under a decade: label the minor ticks (0.6, 0.7, ...) too
        ax.xaxis.set_minor_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("value / our estimate")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    return ax


def plot_profile(ax, values, y, xlabel, ylabel, marks=None, level=None):
    """A quantity along a profile of the fit: y[i] at the refit with one coefficient held at
    values[i]. marks maps a label to a coefficient value drawn as a vertical line (e.g. our
    optimum, Table 7's value); level, a pair (label, y value), a horizontal line (e.g. a measured loss)."""
    ax.plot(values, y, "o-", color="C0", ms=4)
    for i, (label, value) in enumerate((marks or {}).items()):
        ax.axvline(value, color=f"C{1 + i}", ls="--", label=label)
    if level is not None:
        ax.axhline(level[1], color="k", ls=":", label=level[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if marks or level is not None:
        ax.legend(fontsize="small")
    return ax
