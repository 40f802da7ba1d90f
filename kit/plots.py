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
    return _log_log(ax, xlabel, ylabel)


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


NM_STYLES = [("s", "--"), ("^", ":"), ("D", "-.")]  # marker, line style per n:m group size m (sorted)


def plot_nm_scaling(ax, points, curves=None, xlabel="non-zero parameters $N$", ylabel="validation loss"):
    """Loss against size for n:m patterns beside unstructured sparsity (Section 4.1, Fig. 6), log-log.

    points and curves map a key (S, m) to a pair (x, loss): measured runs as markers, a law's curves
    as lines. m is the group size of the n:m pattern n:m with n = (1 - S) m, or None for unstructured
    sparsity S (S = 0: dense). Colour follows S, so a pattern takes the colour of the unstructured
    runs at its sparsity; marker and line style follow m: unstructured filled dots and solid lines,
    the smallest m open squares and dashed lines, the next open triangles and dotted lines, then
    open diamonds (open, so that runs at the same size stay visible over each other)."""
    curves = curves or {}
    keys = list(dict.fromkeys([*points, *curves]))
    group_sizes = sorted({m for _, m in keys if m is not None})
    if len(group_sizes) > len(NM_STYLES):
        raise ValueError(f"group sizes m = {group_sizes}: at most {len(NM_STYLES)} can be told apart")
    for S, m in keys:
        if m is not None and abs((1 - S) * m - round((1 - S) * m)) > 1e-9:
            raise ValueError(f"key (S={S!r}, m={m!r}): (1 - S) m = {(1 - S) * m:g} is not an integer n, "
                             f"so S is not the sparsity 1 - n/m of an n:m pattern")
    styles = {None: ("o", "-"), **dict(zip(group_sizes, NM_STYLES))}
    colours = _colours(sorted({S for S, _ in keys}))

    def label(S, m):
        if m is not None:
            return f"{round((1 - S) * m)}:{m}"
        return "dense" if S == 0 else f"unstructured {S:.4g}"

    for (S, m), (x, loss) in points.items():
        open_marker = {} if m is None else dict(markerfacecolor="none", markeredgewidth=1.5, markersize=8)
        ax.plot(x, loss, styles[m][0], color=colours[S], label=label(S, m), **open_marker)
    for (S, m), (x, loss) in curves.items():
        ax.plot(x, loss, styles[m][1], color=colours[S], label=None if (S, m) in points else label(S, m))
    return _log_log(ax, xlabel, ylabel)


def plot_schedule_heatmap(ax, starts, ends, loss_SxE, mark=None, vmax=None, colorbar=True):
    """Final loss over pruning windows (Jin et al.'s schedule sweep): one cell per (start, end),
    rows `starts` (top to bottom), columns `ends`; loss_SxE[i, j] is the loss at starts[i],
    ends[j], NaN where there is no run (start >= end). Colour and the second line of each cell
    are the gap to the panel's best loss (outlined black); mark, a (start, end) pair, is outlined
    dashed blue (e.g. 25%-75%). vmax: gap at the top of the colour scale (to share it)."""
    starts, ends, loss_SxE = np.asarray(starts), np.asarray(ends), np.asarray(loss_SxE, dtype=float)
    if loss_SxE.shape != (starts.size, ends.size):
        raise ValueError(f"loss_SxE must have shape (len(starts), len(ends)) = {(starts.size, ends.size)}; "
                         f"got {loss_SxE.shape}")
    if np.isnan(loss_SxE).all():
        raise ValueError("loss_SxE holds no loss (all NaN)")
    gap_SxE = loss_SxE - np.nanmin(loss_SxE)
    vmax = vmax if vmax is not None else np.nanmax(gap_SxE)
    image = ax.imshow(gap_SxE, cmap="YlOrRd", vmin=0.0, vmax=vmax)
    for i, j in zip(*np.nonzero(~np.isnan(gap_SxE))):
        ax.text(j, i, f"{loss_SxE[i, j]:.3f}\n+{gap_SxE[i, j]:.3f}", ha="center", va="center", fontsize=8,
                color="white" if gap_SxE[i, j] > 0.6 * vmax else "black")
    best = np.unravel_index(np.nanargmin(loss_SxE), loss_SxE.shape)
    ax.add_patch(matplotlib.patches.Rectangle((best[1] - 0.5, best[0] - 0.5), 1, 1, fill=False, ec="k", lw=2.5))
    if mark is not None:
        i, j = np.flatnonzero(np.isclose(starts, mark[0])), np.flatnonzero(np.isclose(ends, mark[1]))
        if i.size and j.size:
            ax.add_patch(matplotlib.patches.Rectangle((j[0] - 0.42, i[0] - 0.42), 0.84, 0.84, fill=False,
                                                      ec="C0", lw=2, ls="--"))
    ax.set_xticks(range(ends.size), [f"{e:.0%}" for e in ends])
    ax.set_yticks(range(starts.size), [f"{s:.0%}" for s in starts])
    ax.set_xlabel("pruning ends at (fraction of compute)")
    ax.set_ylabel("pruning starts at")
    ax.grid(False)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label="loss − panel best (nats)")
    return ax


def plot_errors(ax, table, reference=None, reference_label="reference"):
    """Mean absolute errors with intervals, one row per (evaluation, law), grouped by evaluation
    (top to bottom), one colour per law.

    table: index (evaluation, law), columns estimate, low, high (as kit.fitting.intervals gives).
    reference, if given, is drawn as a vertical dotted line (e.g. a published error)."""
    missing = {"estimate", "low", "high"} - set(table.columns)
    if missing or table.index.nlevels != 2:
        raise ValueError(f"table needs index (evaluation, law) and columns estimate, low, high; "
                         f"got index {list(table.index.names)}, lacking columns {sorted(missing)}")
    laws = list(dict.fromkeys(table.index.get_level_values(1)))
    evaluations = list(dict.fromkeys(table.index.get_level_values(0)))
    colours = {law: f"C{k}" for k, law in enumerate(laws)}
    row, ticks = 0.0, []
    for evaluation in evaluations:
        rows = table.loc[evaluation]
        ticks.append((row - (len(rows) - 1) / 2, evaluation))
        for law, r in rows.iterrows():
            ax.plot([r["low"], r["high"]], [row, row], color=colours[law], lw=3)
            ax.plot(r["estimate"], row, "o", color=colours[law], label=law if evaluation == evaluations[0] else None)
            row -= 1.0
        row -= 0.8
    if reference is not None:
        ax.axvline(reference, color="k", ls=":", label=reference_label)
    ax.set_yticks([y for y, _ in ticks], [label for _, label in ticks])
    ax.set_xlim(left=0.0)
    ax.set_xlabel("mean absolute error in loss (nats)")
    ax.legend(fontsize="small")
    return ax


def plot_pruned_vs_scratch(ax, D, curves, pruned, dense=None, fit_range=None, ylabel="validation loss"):
    """Models pruned from a pretrained checkpoint against a law's from-scratch curves (Section 4.2,
    Table 4): loss against training data D, log x.

    curves maps a label (e.g. "S = 0.5") to the law's loss at the data values D for that run's
    sparsity and non-zeros. pruned maps a label of curves to (D_prune, D_total, loss, D_scratch):
    the pruned model's loss as a dotted segment from D_prune (open circle: the pruning phase alone)
    to D_total (filled circle: pretraining included), and a star at D_scratch, where its curve
    reaches that loss (left out where not finite). dense, a pair (D, loss), is the pretrained dense
    model (black square); fit_range, a pair (D_min, D_max), shades the data the law was fitted on."""
    unknown = [label for label in pruned if label not in curves]
    if unknown:
        raise ValueError(f"pruned labels {unknown} have no curve; curves has {list(curves)}")
    colours = _colours(list(curves))
    if fit_range is not None:
        ax.axvspan(*fit_range, color="0.9", zorder=0)
    for label, loss in curves.items():
        ax.plot(D, loss, "-", color=colours[label], label=label)
    for label, (d_prune, d_total, loss, d_scratch) in pruned.items():
        colour = colours[label]
        ax.plot([d_prune, d_total], [loss, loss], ":", color=colour)
        ax.plot([d_prune], [loss], "o", mfc="white", color=colour)
        ax.plot([d_total], [loss], "o", color=colour)
        if np.isfinite(d_scratch):
            ax.plot([d_scratch], [loss], "*", ms=14, mec="k", color=colour)
    if dense is not None:
        ax.plot(*([v] for v in dense), "ks", ms=8)
    Line2D = matplotlib.lines.Line2D
    keys = [Line2D([], [], ls="", marker="o", mfc="white", color="k", label="pruned: pruning data only"),
            Line2D([], [], ls="", marker="o", color="k", label="pruned: with pretraining"),
            Line2D([], [], ls="", marker="*", ms=12, color="k", label="same loss from scratch (law)")]
    if dense is not None:
        keys.append(Line2D([], [], ls="", marker="s", color="k", label="dense pretrained"))
    if fit_range is not None:
        keys.append(matplotlib.patches.Patch(color="0.9", label="data range of the fit"))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + keys, fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("training data $D$ (tokens)")
    ax.set_ylabel(ylabel)
    return ax


def plot_residuals(ax, x, residuals, hue=None, hue_name="S", bands=None, xlabel="predicted loss",
                   ylabel="measured − predicted loss"):
    """A fit's residuals, one dot per run, against x (e.g. the predicted loss), around a zero line.

    hue, if given, holds one category per run, coloured and labelled f"{hue_name} = {value:g}".
    bands maps a label to a half-width w, drawn as a shaded band from -w to w (e.g. the
    seed-to-seed standard deviation of the loss, and twice it), widest at the back."""
    x, residuals = np.asarray(x, dtype=float), np.asarray(residuals, dtype=float)
    if x.shape != residuals.shape:
        raise ValueError(f"x and residuals need one value per run; got shapes {x.shape}, {residuals.shape}")
    for i, (label, w) in enumerate(sorted((bands or {}).items(), key=lambda item: -item[1])):
        ax.axhspan(-w, w, color="0.5", alpha=0.15 + 0.15 * i, lw=0, label=label)
    if hue is None:
        ax.scatter(x, residuals, s=20, label="runs")
    else:
        hue = np.asarray(hue)
        if hue.shape != x.shape:
            raise ValueError(f"hue needs one value per run; got shape {hue.shape}, runs {x.shape}")
        for value, colour in _colours(np.unique(hue)).items():
            ax.scatter(x[hue == value], residuals[hue == value], s=20, color=colour,
                       label=f"{hue_name} = {value:g}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    return ax


def plot_loss_gaps(ax, labels, gaps, xlabel="loss of the dense reference − loss of the sparse run (nats)"):
    """Paired comparisons (Section 2) as a dot plot: one row per sparse run, labelled by `labels`
    (top to bottom), one marker series per reference. gaps maps a legend label to one gap per row,
    reference loss minus sparse loss, so > 0 means the sparse run reached the lower loss; NaN
    where a run has no such reference (not drawn). Series are offset a little vertically; the legend
    sits under the x label."""
    labels = [str(label) for label in labels]
    gaps = {name: np.asarray(g, dtype=float) for name, g in gaps.items()}
    wrong = {name: g.shape for name, g in gaps.items() if g.shape != (len(labels),)}
    if wrong:
        raise ValueError(f"gaps need one value per label ({len(labels)}); got shapes {wrong}")
    rows = np.arange(len(labels))[::-1]  # first label on top
    offsets = 0.3 * (np.arange(len(gaps)) - (len(gaps) - 1) / 2) if len(gaps) > 1 else [0.0]
    for i, ((name, g), offset) in enumerate(zip(gaps.items(), offsets)):
        ax.plot(g, rows - offset, ls="none", marker="osD^v"[i % 5], color=f"C{i}", label=name)
    ax.axvline(0.0, color="k", lw=0.8)
    ax.set_yticks(rows, labels)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel)
    below = matplotlib.transforms.offset_copy(ax.transAxes, ax.figure, y=-38, units="points")  # under the x label
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, frameon=False)
    return ax


def _log_log(ax, xlabel, ylabel):
    """Log-log axes with plain tick labels on y (losses like 2, 3 rather than 10^0.3), labelled."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
