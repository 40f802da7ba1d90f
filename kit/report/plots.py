"""Figures of the book: one book style, page-width layouts, and one small function per panel,
each drawing on a given matplotlib Axes.

Every panel function takes precomputed arrays (from kit.laws or a fit) and returns the Axes, so the
math stays in kit.laws and a figure is one call per panel. Legends go outside the data (`legend`:
"right" of the panel, "below" it, "inside" where matplotlib finds room, or None for no legend, e.g.
when legend_outside draws one for the whole figure):

    plots.use_book_style()  # once per chapter: SVG figures, page-width fonts, seaborn theme
    fig, axes = plots.panel_grid(2)  # rows of at most three panels at page width
    plots.plot_cmul(axes[0], S, {"Eq. 4": laws.cmul(S)}, dense=laws.cmul_dense(S), legend=None)
    plots.legend_outside(fig)
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

PAGE_WIDTH = 7.2  # inches: the book's content column, about 700 px at 96 px per inch
FIGSIZE = (PAGE_WIDTH, 3.6)  # default: one row of panels at page width
MAX_PER_ROW = 3  # panels per row at page width, beyond which tick labels are unreadable
BOOK_RC = {
    "figure.figsize": FIGSIZE,
    "figure.dpi": 150,  # for raster output; the chapters render SVG (use_book_style)
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "figure.titlesize": 11,
    "svg.hashsalt": "kit.report.plots",  # stable element ids: the same figure gives the same SVG
}
LEGEND_PLACES = ("right", "below", "inside", None)
# The book's one sparsity palette: every sparsity the book trains or quotes has a colour of its own
# (dense is near-black), distinct for readers with the common colour-vision deficiencies (seaborn's
# "colorblind" set); any other S takes a colour from the "cividis" map, away from these.
SPARSITY_COLOURS = dict(zip((0.5, 0.75, 0.875, 0.9, 0.625, 0.9375, 0.25, 0.8, 0.95),
                            sns.color_palette("colorblind", 10)[:4] + sns.color_palette("colorblind", 10)[5:10]))
SPARSITY_COLOURS[0.0] = (0.15, 0.15, 0.15)
STAR_SIZE = 160  # marker area (points^2) of the stars that mark single runs, e.g. held-out ones


def use_book_style() -> None:
    """The book's figure style, once per chapter: seaborn's whitegrid theme, font sizes legible
    when a figure of PAGE_WIDTH inches is shown at the page's ~700 px, constrained layout, and, in
    a notebook kernel, figures rendered as SVG (vector: sharp at any zoom and in print).

        >>> with plt.rc_context():  # here only inside the block; a chapter calls it once, at its top
        ...     use_book_style()
        ...     print(plt.rcParams["figure.figsize"], plt.rcParams["font.size"])
        [7.2, 3.6] 10.0
    """
    sns.set_theme(style="whitegrid", rc=BOOK_RC)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing is displayed inline
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("svg", metadata={"Date": None})


def panel_grid(n: int, aspect: float = 0.9, per_row: int = MAX_PER_ROW, width: float = PAGE_WIDTH, **subplots):
    """A page-width figure of n panels in rows of at most per_row (<= 3). Returns (fig, axes), axes
    a list of n Axes, row by row; the grid's unused cells are removed. aspect is a panel's
    height / width (capped so a single panel is not taller than 3.2 in); subplots go to
    plt.subplots (e.g. sharey=True).

        >>> fig, axes = panel_grid(5)  # two rows: three panels, then two
        >>> len(axes), fig.get_size_inches().round(2).tolist()
        (5, [7.2, 5.52])
        >>> plt.close(fig)
    """
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n = {n!r}: need a whole number of panels >= 1")
    if per_row not in range(1, MAX_PER_ROW + 1):
        raise ValueError(f"per_row = {per_row!r}: need 1 to {MAX_PER_ROW} panels per row at page width")
    ncols = min(n, per_row)
    nrows = math.ceil(n / ncols)
    row_height = min(width / ncols * aspect, 3.2) + 0.6  # + titles and labels
    fig, grid = plt.subplots(nrows, ncols, figsize=(width, nrows * row_height), squeeze=False,
                             layout="constrained", **subplots)
    cells = list(grid.ravel())
    for ax in cells[n:]:
        ax.remove()
    return fig, cells[:n]


def legend_outside(fig, axes=None, where="below", title=None, ncols=None, extra=None):
    """One legend for the whole figure, outside its panels ("below" them, in up to 4 columns, or
    to the "right"): the entries of `axes` (default: all of the figure's), each label once, in
    order of appearance, then the labelled artists `extra` (e.g. pruned_vs_scratch_keys: entries
    that explain markers rather than name a line). The panels' own legends are removed. Returns
    the Legend.

        >>> fig, axes = panel_grid(2)
        >>> for ax, S in zip(axes, (0.5, 0.75)):
        ...     _ = ax.plot([1, 2], [3.0, 2.5], label="dense"), ax.plot([1, 2], [3.2, 2.6], label=f"S = {S}")
        >>> [text.get_text() for text in legend_outside(fig).get_texts()]
        ['dense', 'S = 0.5', 'S = 0.75']
        >>> plt.close(fig)
    """
    if where not in ("below", "right"):
        raise ValueError(f"where = {where!r}: need 'below' or 'right'")
    entries = {}
    for ax in fig.axes if axes is None else axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    for handle in extra or []:
        entries.setdefault(handle.get_label(), handle)
    if not entries:
        raise ValueError("no labelled artists in these axes: nothing to put in a legend")
    if not isinstance(fig.get_layout_engine(), matplotlib.layout_engine.ConstrainedLayoutEngine):
        fig.set_layout_engine("constrained")  # "outside" legends need it to make room
    loc, ncols = (("outside lower center", ncols or min(len(entries), 4)) if where == "below"
                  else ("outside right upper", ncols or 1))
    return fig.legend(list(entries.values()), list(entries), loc=loc, ncols=ncols, title=title, frameon=False)


def _legend(ax, where, **kwargs):
    """The panel's legend at `where` (LEGEND_PLACES): outside the data unless "inside"."""
    if where not in LEGEND_PLACES:
        raise ValueError(f"legend = {where!r}: need one of {list(LEGEND_PLACES)}")
    if where is None:
        return None
    if where == "right":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False, **kwargs)
    if where == "below":  # under the x tick labels and the x label
        below = matplotlib.transforms.offset_copy(ax.transAxes, ax.figure, y=-36, units="points")
        return ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, frameon=False,
                         ncols=kwargs.pop("ncols", 3), **kwargs)
    return ax.legend(loc="best", **kwargs)


def plot_cmul(ax, S, cmuls, dense=None, legend="right"):
    """Sparse training-cost multiplier c_mul(S) (Eq. 4 and other schedules) against final sparsity.

    cmuls maps a legend label to c_mul evaluated at the sparsities S; dense, if given, is the
    dense-cost multiplier 1 / (1 - S) at S, drawn dashed black. Log y axis.

        >>> S = np.linspace(0.0, 0.9, 10)
        >>> fig, ax = plt.subplots()
        >>> ax = plot_cmul(ax, S, {"cheap schedule": 1 + S}, dense=1 / (1 - S))
        >>> len(ax.get_lines()), ax.get_yscale()
        (2, 'log')
        >>> plt.close(fig)
    """
    for label, c_mul in cmuls.items():
        ax.plot(S, c_mul, label=label)
    if dense is not None:
        ax.plot(S, dense, "k--", label="dense cost $1/(1-S)$")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.set_xlabel("final sparsity $S$")
    ax.set_ylabel(r"$c_\mathrm{mul}(S)$ (× FLOPs of dense training at $N$)")
    _legend(ax, legend)
    return ax


def plot_sopt_contours(ax, N, C, S_opt_NxC, chinchilla=None, levels=(0.25, 0.5, 0.75, 0.875, 0.9375),
                       lines=(0.5, 0.75, 0.875), dense_below=0.01, colorbar=True, legend="below"):
    """Optimal sparsity S_opt(N, C) (Section 3.3, Fig. 1 right / Fig. 4) as filled contours over
    training compute C (x, log) and non-zero parameters N (y, log).

    S_opt_NxC[i, j] is S_opt at N[i], C[j]. Filled bands have the boundaries `levels` (and 1); grey
    is S_opt < dense_below, where dense is optimal or nearly so (a threshold a little above 0 puts that
    boundary between grid points rather than on them, where S_opt = 0 exactly). `lines` are drawn as
    labelled contour lines.
    chinchilla, if given, is a pair (C, N_opt(C)) drawn as the dense compute-optimal line.

        >>> N, C = np.logspace(6, 9, 7), np.logspace(15, 20, 9)
        >>> S_opt = np.clip(0.2 * (np.log10(C) / 2 - 1.5 - np.log10(N)[:, None]), 0.0, 0.99)  # S_opt[i, j] at N[i], C[j]
        >>> fig, ax = plt.subplots()
        >>> ax = plot_sopt_contours(ax, N, C, S_opt, chinchilla=(C, C**0.5 / 1e2), lines=(0.25,))
        >>> ax.get_xscale(), ax.get_ylabel(), len(ax.get_lines())
        ('log', 'non-zero parameters $N$', 1)
        >>> plt.close(fig)
    """
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
        _legend(ax, legend)
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


def plot_chinchilla_multiple(ax, S, multiples, legend="right"):
    """How many times the Chinchilla-optimal compute a fixed N needs before sparsity S is optimal
    (Section 3.3), against S. multiples maps a legend label to the multiple at S. Log y axis.

        >>> fig, ax = plt.subplots()
        >>> ax = plot_chinchilla_multiple(ax, np.array([0.0, 0.5, 0.75]), {"ViT": np.array([1.27, 4.82, 18.3])})
        >>> len(ax.get_lines()), ax.get_yscale()
        (2, 'log')
        >>> plt.close(fig)
    """
    for label, multiple in multiples.items():
        ax.plot(S, multiple, label=label)
    ax.axhline(1.0, color="k", ls=":", label="Chinchilla")
    ax.set_yscale("log")
    ax.set_xlabel("sparsity $S$")
    ax.set_ylabel(r"$C / C_\mathrm{Chinchilla}(N)$ at which $S$ is optimal")
    _legend(ax, legend)
    return ax


def sparsity_colour(S):
    """The book's colour of sparsity S (SPARSITY_COLOURS; an S not listed there takes the colour
    of its value on the "cividis" map), the same in every figure: dense is near-black, S = 0.5 blue,
    0.75 orange, 0.875 green, 0.9 red.

        >>> sparsity_colour(0.0), sparsity_colour(0.5) == SPARSITY_COLOURS[0.5]
        ((0.15, 0.15, 0.15), True)
    """
    S = float(S)
    if not 0.0 <= S < 1.0:
        raise ValueError(f"sparsity {S!r}: a colour needs S in [0, 1)")
    for known, colour in SPARSITY_COLOURS.items():
        if abs(S - known) < 1e-9:
            return colour
    return matplotlib.colormaps["cividis"](S)


def sparsity_palette(values) -> dict:
    """{S: colour} for every sparsity in `values` (see sparsity_colour), for seaborn's `palette=`.

        >>> palette = sparsity_palette([0.0, 0.5, 0.75])
        >>> list(palette), palette[0.0]
        ([0.0, 0.5, 0.75], (0.15, 0.15, 0.15))
    """
    return {S: sparsity_colour(S) for S in values}


def _sparsity_of(label):
    """The sparsity a label names (0.5, "0.5", "S = 0.5", "S=0.875 (ours)", "dense" for 0), or None."""
    if isinstance(label, (int, float, np.floating, np.integer)) and not isinstance(label, bool):
        return float(label)
    if str(label).strip().lower().startswith("dense"):
        return 0.0
    import re
    found = re.fullmatch(r"\s*(?:S\s*=\s*)?([01]?\.?\d*)\b.*", str(label))
    try:
        S = float(found.group(1)) if found else None
    except ValueError:
        return None
    return S if S is not None and 0.0 <= S < 1.0 else None


def _colours(labels, palette="sparsity"):
    """One colour per label: by default the book's sparsity colour when every label names a
    sparsity (sparsity_colour), else evenly spaced along the matplotlib colormap `palette`
    ("viridis" when palette is "sparsity"; ends trimmed for contrast)."""
    if palette == "sparsity":
        sparsities = [_sparsity_of(label) for label in labels]
        if len(labels) and all(S is not None for S in sparsities):
            return {label: sparsity_colour(S) for label, S in zip(labels, sparsities)}
        palette = "viridis"
    cmap = matplotlib.colormaps[palette]
    return {label: cmap(0.9 * i / max(len(labels) - 1, 1)) for i, label in enumerate(labels)}


def _scatter_by_hue(ax, x, y, hue, hue_name):
    """One dot per run, coloured by its category in `hue` (one value per run, labelled
    f"{hue_name} = {value:g}") or in one colour without."""
    if hue is None:
        ax.scatter(x, y, s=20, label="runs")
        return
    hue = np.asarray(hue)
    if hue.shape != x.shape:
        raise ValueError(f"hue needs one value per run; got shape {hue.shape}, runs {x.shape}")
    for value, colour in _colours(np.unique(hue)).items():
        ax.scatter(x[hue == value], y[hue == value], s=20, color=colour, label=f"{hue_name} = {value:g}")


def plot_predicted_vs_actual(ax, actual, predicted, hue=None, hue_name="S", points=None,
                             quantity="validation loss", legend="right"):
    """Fitted law against measurement, one dot per run, with the diagonal (Fig. 1, left).

    hue, if given, holds one category per run (e.g. its sparsity), coloured and labelled
    f"{hue_name} = {value:g}". points maps a label to one (actual, predicted) pair drawn as a large
    star, e.g. an extrapolation run not used in the fit. Both axes span every dot and star with a
    margin of 8% of that range: a star at the extremes stays inside the frame down to panels of a
    third of the page width (legend=None there, and one legend_outside for the figure).

        >>> fig, ax = plt.subplots()
        >>> ax = plot_predicted_vs_actual(ax, [2.0, 2.5, 3.0], [2.1, 2.4, 3.0], hue=[0.0, 0.5, 0.5])
        >>> ax.get_xlabel(), len(ax.collections)  # one set of dots per sparsity
        ('measured validation loss', 2)
        >>> plt.close(fig)
    """
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if actual.shape != predicted.shape:
        raise ValueError(f"actual and predicted need one value per run; "
                         f"got shapes {actual.shape}, {predicted.shape}")
    _scatter_by_hue(ax, actual, predicted, hue, hue_name)
    extremes = [actual.min(), actual.max(), predicted.min(), predicted.max()]
    for i, (label, (x, y)) in enumerate((points or {}).items()):
        ax.scatter([x], [y], marker="*", s=STAR_SIZE, color=f"C{3 + i}", edgecolor="k", zorder=3, label=label,
                   clip_on=False)
        extremes += [x, y]
    lo, hi = min(extremes), max(extremes)
    pad = 0.08 * (hi - lo) if hi > lo else 0.05 * max(abs(lo), 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="predicted = measured")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel(f"measured {quantity}")
    ax.set_ylabel(f"predicted {quantity}")
    _legend(ax, legend)
    return ax


def plot_scaling_curves(ax, points, curves=None, xlabel="non-zero parameters $N$", ylabel="validation loss",
                        offset=0.0, palette="sparsity", order=None):
    """Measured losses as dots and a law's curves as lines, one colour per label, log-log
    (Fig. 2 against size, Fig. 3 against data).

    points and curves map a label (e.g. "S = 0.5") to a pair (x, loss); a curve takes the colour of
    the points with its label. The y axis shows loss - offset (Fig. 2 subtracts 1). order lists
    every label of a multi-panel figure, so that a label keeps its colour in every panel (default:
    the labels of this panel).

        >>> N = np.array([1e4, 2e4, 4e4])
        >>> fig, ax = plt.subplots()
        >>> ax = plot_scaling_curves(ax, {"S = 0.5": (N, [3.1, 2.9, 2.8])}, {"S = 0.5": (N, [3.1, 2.95, 2.8])})
        >>> len(ax.get_lines()), ax.get_xscale(), ax.get_ylabel()
        (2, 'log', 'validation loss')
        >>> plt.close(fig)
    """
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


def plot_intervals(ax, table, reference=None, reference_label="reference", legend="below"):
    """Bootstrap intervals of fitted quantities relative to their estimates, one row per quantity.

    table: kit.fit.fitting.intervals' output (index quantity; columns estimate, low, high). Each row
    spans [low, high] / estimate on a log axis, so widths compare across quantities; reference
    maps quantities to other values (e.g. Table 7's), drawn as crosses at value / estimate.

        >>> import pandas as pd
        >>> table = pd.DataFrame({"estimate": [2.0, 0.5], "low": [1.0, 0.4], "high": [4.0, 0.6]}, index=["a_S", "b_N"])
        >>> fig, ax = plt.subplots()
        >>> [t.get_text() for t in plot_intervals(ax, table, reference={"a_S": 3.0}).get_yticklabels()]  # top first
        ['a_S', 'b_N']
        >>> plt.close(fig)
    """
    missing = {"estimate", "low", "high"} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; kit.fit.fitting.intervals gives estimate, low, high")
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
    _legend(ax, legend)
    return ax


def plot_profile(ax, values, y, xlabel, ylabel, marks=None, level=None, legend="right"):
    """A quantity along a profile of the fit: y[i] at the refit with one coefficient held at
    values[i]. marks maps a label to a coefficient value drawn as a vertical line (e.g. our
    optimum, Table 7's value); level, a pair (label, y value), a horizontal line (e.g. a measured loss).

        >>> fig, ax = plt.subplots()
        >>> ax = plot_profile(ax, [0.2, 0.25, 0.3], [5.4e-6, 4.9e-6, 8.7e-6], "$b_N$ (held fixed)", "objective",
        ...                   marks={"ours": 0.232, "Table 7": 0.245})
        >>> len(ax.get_lines()), ax.get_xlabel()
        (3, '$b_N$ (held fixed)')
        >>> plt.close(fig)
    """
    ax.plot(values, y, "o-", color="C0", ms=4)
    for i, (label, value) in enumerate((marks or {}).items()):
        ax.axvline(value, color=f"C{1 + i}", ls="--", label=label)
    if level is not None:
        ax.axhline(level[1], color="k", ls=":", label=level[0])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if marks or level is not None:
        _legend(ax, legend)
    return ax


def plot_schedule_heatmap(ax, starts, ends, loss_SxE, mark=None, vmax=None, colorbar=True, cells="loss and gap"):
    """Final loss over pruning windows (Jin et al.'s schedule sweep): one cell per (start, end),
    rows `starts` (top to bottom), columns `ends`; loss_SxE[i, j] is the loss at starts[i],
    ends[j], NaN where there is no run (start >= end). Colour and the second line of each cell
    are the gap to the panel's best loss (outlined black); mark, a (start, end) pair, is outlined
    dashed blue (e.g. 25%-75%). vmax: gap at the top of the colour scale (to share it). cells:
    "loss and gap" (two lines per cell) or "gap" (one line, for small panels).

        >>> loss_SxE = np.array([[2.10, 2.05, 2.08], [2.04, 2.00, 2.03], [np.nan, 2.02, 2.06]])
        >>> fig, ax = plt.subplots()
        >>> ax = plot_schedule_heatmap(ax, [0.0, 0.25, 0.5], [0.5, 0.75, 1.0], loss_SxE, mark=(0.25, 0.75))
        >>> len(ax.texts), ax.texts[0].get_text()  # one cell per run: its loss, then its gap to the best
        (8, '2.100\\n+0.100')
        >>> plt.close(fig)
    """
    if cells not in ("loss and gap", "gap"):
        raise ValueError(f"cells = {cells!r}: need 'loss and gap' or 'gap'")
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
        label = f"+{gap_SxE[i, j]:.3f}" if cells == "gap" else f"{loss_SxE[i, j]:.3f}\n+{gap_SxE[i, j]:.3f}"
        ax.text(j, i, label, ha="center", va="center", fontsize=8,
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


def plot_errors(ax, table, reference=None, reference_label="reference", legend="right"):
    """Mean absolute errors with intervals, one row per (evaluation, law), grouped by evaluation
    (top to bottom), one colour per law.

    table: index (evaluation, law), columns estimate, low, high (as kit.fit.fitting.intervals gives).
    reference, if given, is drawn as a vertical dotted line (e.g. a published error).

        >>> import pandas as pd
        >>> table = pd.DataFrame({"estimate": [0.02, 0.03], "low": [0.01, 0.02], "high": [0.03, 0.05]},
        ...                      index=pd.MultiIndex.from_tuples([("held out", "Eq. 1"), ("held out", "Eq. 5")]))
        >>> fig, ax = plt.subplots()
        >>> [t.get_text() for t in plot_errors(ax, table, reference=0.025).get_legend().get_texts()]
        ['Eq. 1', 'Eq. 5', 'reference']
        >>> plt.close(fig)
    """
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
    _legend(ax, legend)
    return ax


def pruned_vs_scratch_keys(dense=True, fit_range=True) -> list:
    """The legend entries that explain plot_pruned_vs_scratch's markers (open and filled circles,
    star, and, if drawn, the dense square and the shaded fit range), in black: pass them as
    legend_outside(fig, extra=...) when the panels draw no legend of their own.

        >>> [key.get_label() for key in pruned_vs_scratch_keys(dense=False, fit_range=False)]
        ['pruned: pruning data only', 'pruned: with pretraining', 'same loss from scratch (law)']
    """
    Line2D = matplotlib.lines.Line2D
    keys = [Line2D([], [], ls="", marker="o", mfc="white", color="k", label="pruned: pruning data only"),
            Line2D([], [], ls="", marker="o", color="k", label="pruned: with pretraining"),
            Line2D([], [], ls="", marker="*", ms=12, color="k", label="same loss from scratch (law)")]
    if dense:
        keys.append(Line2D([], [], ls="", marker="s", color="k", label="dense pretrained"))
    if fit_range:
        keys.append(matplotlib.patches.Patch(color="0.9", label="data range of the fit"))
    return keys


def plot_pruned_vs_scratch(ax, D, curves, pruned, dense=None, fit_range=None, ylabel="validation loss",
                           legend="right"):
    """Models pruned from a pretrained checkpoint against a law's from-scratch curves (Section 4.2,
    Table 4): loss against training data D, log x.

    curves maps a label (e.g. "S = 0.5") to the law's loss at the data values D for that run's
    sparsity and non-zeros. pruned maps a label of curves to (D_prune, D_total, loss, D_scratch):
    the pruned model's loss as a dotted segment from D_prune (open circle: the pruning phase alone)
    to D_total (filled circle: pretraining included), and a star at D_scratch, where its curve
    reaches that loss (left out where not finite). dense, a pair (D, loss), is the pretrained dense
    model (black square); fit_range, a pair (D_min, D_max), shades the data the law was fitted on.

        >>> D, curves = np.array([1e5, 1e6, 1e7]), {"dense": [3.0, 2.5, 2.2], "S = 0.5": [3.2, 2.7, 2.4]}
        >>> fig, ax = plt.subplots()
        >>> ax = plot_pruned_vs_scratch(ax, D, curves, {"S = 0.5": (2e5, 4e6, 2.6, 1.5e6)}, dense=(3.8e6, 2.3))
        >>> len(ax.get_lines()), ax.get_xlabel()  # 2 curves, segment, 2 dots, star, square
        (7, 'training data $D$ (tokens)')
        >>> plt.close(fig)
    """
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
    handles, _ = ax.get_legend_handles_labels()
    _legend(ax, legend, handles=handles + pruned_vs_scratch_keys(dense is not None, fit_range is not None))
    ax.set_xscale("log")
    ax.set_xlabel("training data $D$ (tokens)")
    ax.set_ylabel(ylabel)
    return ax


def plot_residuals(ax, x, residuals, hue=None, hue_name="S", bands=None, xlabel="predicted loss",
                   ylabel="measured − predicted loss", legend="right"):
    """A fit's residuals, one dot per run, against x (e.g. the predicted loss), around a zero line.

    hue, if given, holds one category per run, coloured and labelled f"{hue_name} = {value:g}".
    bands maps a label to a half-width w, drawn as a shaded band from -w to w (e.g. the
    seed-to-seed standard deviation of the loss, and twice it), widest at the back.

        >>> fig, ax = plt.subplots()
        >>> ax = plot_residuals(ax, [2.0, 2.5, 3.0], [0.01, -0.02, 0.005], bands={"1 sd": 0.01, "2 sd": 0.02})
        >>> ax.get_ylabel(), len(ax.patches)
        ('measured − predicted loss', 2)
        >>> plt.close(fig)
    """
    x, residuals = np.asarray(x, dtype=float), np.asarray(residuals, dtype=float)
    if x.shape != residuals.shape:
        raise ValueError(f"x and residuals need one value per run; got shapes {x.shape}, {residuals.shape}")
    for i, (label, w) in enumerate(sorted((bands or {}).items(), key=lambda item: -item[1])):
        ax.axhspan(-w, w, color="0.5", alpha=0.15 + 0.15 * i, lw=0, label=label)
    _scatter_by_hue(ax, x, residuals, hue, hue_name)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _legend(ax, legend)
    return ax


def short_number(x) -> str:
    """A count as a short tick label: thousands k, millions M, billions B, from 1e12 on a power of ten.

        >>> [short_number(x) for x in (20000, 1.5e6, 2e9, 3e15)]
        ['20k', '1.5M', '2B', '3e15']
    """
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if 1e3 * scale > x >= scale:
            return f"{x / scale:.3g}{suffix}"
    if x >= 1e12:
        exponent = math.floor(math.log10(x) + 1e-9)
        return f"{x / 10 ** exponent:.3g}e{exponent}"
    return f"{x:.3g}"


class _ShortLogFormatter(matplotlib.ticker.LogFormatter):
    """Log tick labels by short_number: decades, and on an axis spanning about one decade or
    less also 2 and 5 times a decade (matplotlib would add 3, 4 and 6, which collide in narrow
    panels)."""

    def set_locs(self, locs=None):
        super().set_locs(locs)
        if self._sublabels is not None and len(self._sublabels) > 1:
            self._sublabels = {1.0, 2.0, 5.0}

    def _num_to_string(self, x, vmin, vmax):
        return short_number(x)


def _log_log(ax, xlabel, ylabel):
    """Log-log axes, labelled: short tick labels on x (10k, 20k, 1M), plain ones on y (losses like
    2, 3 rather than 10^0.3)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(_ShortLogFormatter())
    ax.xaxis.set_minor_formatter(_ShortLogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.StrMethodFormatter("{x:g}"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
