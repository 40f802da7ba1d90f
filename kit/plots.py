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
