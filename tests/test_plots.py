import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from kit.report import plots


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_plot_cmul(ax):
    S = np.array([0.0, 0.5, 0.75])
    out = plots.plot_cmul(ax, S, {"Eq. 4": np.array([1.0, 1.375, 2.125])}, dense=np.array([1.0, 2.0, 4.0]))
    assert out is ax
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
    assert "sparsity" in ax.get_xlabel() and "c_" in ax.get_ylabel()
    eq4, dense = ax.get_lines()
    np.testing.assert_array_equal(eq4.get_ydata(), [1.0, 1.375, 2.125])
    np.testing.assert_array_equal(dense.get_ydata(), [1.0, 2.0, 4.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Eq. 4", "dense cost $1/(1-S)$"]


def test_plot_sopt_contours(ax):
    N, C = np.logspace(6, 9, 7), np.logspace(15, 20, 9)
    # a field rising to the lower right, like S_opt: zero above the line N = C^0.5 / 10^1.5
    S_opt_NxC = np.clip(0.2 * (np.log10(C)[None, :] / 2 - 1.5 - np.log10(N)[:, None]), 0.0, 0.99)
    chinchilla = (C, C**0.5 / 1e2)
    out = plots.plot_sopt_contours(ax, N, C, S_opt_NxC, chinchilla=chinchilla, lines=(0.25,))
    assert out is ax
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert ax.get_xlim() == pytest.approx((1e15, 1e20)) and ax.get_ylim() == pytest.approx((1e6, 1e9))
    assert "compute" in ax.get_xlabel() and "FLOPs" in ax.get_xlabel() and "parameters" in ax.get_ylabel()
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), C**0.5 / 1e2)
    colorbar_ax = ax.figure.axes[1]
    assert "S_" in colorbar_ax.get_ylabel()


def test_plot_sopt_contours_rejects_transposed_field(ax):
    N, C = np.logspace(6, 9, 7), np.logspace(15, 20, 9)
    with pytest.raises(ValueError, match=r"shape \(len\(N\), len\(C\)\) = \(7, 9\); got \(9, 7\)"):
        plots.plot_sopt_contours(ax, N, C, np.zeros((9, 7)))


def test_plot_chinchilla_multiple(ax):
    S = np.array([0.0, 0.5, 0.75])
    out = plots.plot_chinchilla_multiple(ax, S, {"ViT, dense": np.array([1.27, 4.82, 18.3])})
    assert out is ax
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "log")
    assert "sparsity" in ax.get_xlabel() and "Chinchilla" in ax.get_ylabel()
    curve, chinchilla = ax.get_lines()
    np.testing.assert_array_equal(curve.get_ydata(), [1.27, 4.82, 18.3])
    np.testing.assert_array_equal(chinchilla.get_ydata(), [1.0, 1.0])


def test_plot_predicted_vs_actual(ax):
    actual, predicted = np.array([2.0, 2.5, 3.0, 3.5]), np.array([2.1, 2.4, 3.0, 3.6])
    hue = np.array([0.0, 0.5, 0.0, 0.5])
    out = plots.plot_predicted_vs_actual(ax, actual, predicted, hue=hue, points={"XL": (1.5, 1.45)},
                                         quantity="loss (nats/token)")
    assert out is ax
    assert ax.get_xlabel() == "measured loss (nats/token)" and ax.get_ylabel() == "predicted loss (nats/token)"
    dense, sparse, xl = ax.collections  # one scatter per hue value, then the extra point
    np.testing.assert_array_equal(dense.get_offsets(), [[2.0, 2.1], [3.0, 3.0]])
    np.testing.assert_array_equal(sparse.get_offsets(), [[2.5, 2.4], [3.5, 3.6]])
    np.testing.assert_array_equal(xl.get_offsets(), [[1.5, 1.45]])
    (diagonal,) = ax.get_lines()
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
    # the axes hold every point, the extra one included: range 1.45-3.6 padded by 8%
    assert ax.get_xlim() == pytest.approx((1.45 - 0.172, 3.6 + 0.172))
    assert [t.get_text() for t in ax.get_legend().get_texts()][:3] == ["S = 0", "S = 0.5", "XL"]


def test_plot_predicted_vs_actual_rejects_mismatched_runs(ax):
    with pytest.raises(ValueError, match=r"shapes \(3,\), \(2,\)"):
        plots.plot_predicted_vs_actual(ax, [1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="hue needs one value per run"):
        plots.plot_predicted_vs_actual(ax, [1.0, 2.0], [1.0, 2.0], hue=[0.0])


def test_plot_scaling_curves(ax):
    N = np.array([1e6, 4e6, 1.6e7])
    points = {"S = 0": (N, np.array([3.0, 2.5, 2.1])), "S = 0.5": (N, np.array([2.8, 2.3, 2.0]))}
    curves = {"S = 0": (N, np.array([3.1, 2.5, 2.0])), "S = 0.5": (N, np.array([2.7, 2.3, 1.9]))}
    out = plots.plot_scaling_curves(ax, points, curves, offset=1.0, ylabel="loss - 1")
    assert out is ax
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    assert "non-zero" in ax.get_xlabel() and ax.get_ylabel() == "loss - 1"
    dots0, dots5, line0, line5 = ax.get_lines()
    np.testing.assert_allclose(dots0.get_ydata(), [2.0, 1.5, 1.1])  # offset subtracted
    np.testing.assert_allclose(line5.get_ydata(), [1.7, 1.3, 0.9])
    assert (dots0.get_linestyle(), line0.get_linestyle()) == ("None", "-")
    assert line0.get_color() == dots0.get_color() != dots5.get_color() == line5.get_color()


def test_plot_scaling_curves_keeps_colours_across_panels():
    fig, (left, right) = plt.subplots(1, 2)
    order = ["N = 1M", "N = 2M", "N = 4M"]
    x, y = np.array([1e8, 2e8]), np.array([6.0, 5.5])
    plots.plot_scaling_curves(left, {label: (x, y) for label in order}, order=order)
    plots.plot_scaling_curves(right, {"N = 4M": (x, y)}, order=order)  # a panel lacking the smaller sizes
    assert right.get_lines()[0].get_color() == left.get_lines()[2].get_color()
    with pytest.raises(ValueError, match=r"\['N = 8M'\] are not in order"):
        plots.plot_scaling_curves(right, {"N = 8M": (x, y)}, order=order)
    plt.close(fig)


def test_plot_intervals(ax):
    table = pd.DataFrame({"estimate": [2.0, 0.5], "low": [1.0, 0.4], "high": [4.0, 0.6]},
                         index=pd.Index(["a_S", "b_N"], name="quantity"))
    out = plots.plot_intervals(ax, table, reference={"a_S": 3.0, "b_N": 0.5}, reference_label="Table 7")
    assert out is ax
    assert ax.get_xscale() == "log"
    (spans,) = ax.collections
    # rows top to bottom in table order; each interval relative to its estimate
    np.testing.assert_allclose([seg[:, 0] for seg in spans.get_segments()], [[0.5, 2.0], [0.8, 1.2]])
    np.testing.assert_allclose([seg[0, 1] for seg in spans.get_segments()], [1, 0])
    estimate, reference = ax.get_lines()[:2]
    np.testing.assert_allclose(estimate.get_xdata(), [1.0, 1.0])
    np.testing.assert_allclose(reference.get_xdata(), [1.5, 1.0])
    labels = {tick: label.get_text() for tick, label in zip(ax.get_yticks(), ax.get_yticklabels())}
    assert labels == {1: "a_S", 0: "b_N"}  # first quantity on top
    with pytest.raises(ValueError, match=r"lacks columns \['high'\]"):
        plots.plot_intervals(ax, table.drop(columns="high"))


def test_plot_profile(ax):
    values, objective = np.array([0.2, 0.25, 0.3]), np.array([5.4e-6, 4.9e-6, 8.7e-6])
    out = plots.plot_profile(ax, values, objective, "$b_N$ (held fixed)", "objective",
                             marks={"ours": 0.232, "Table 7": 0.245}, level=("measured", 5e-6))
    assert out is ax
    curve, ours, table7, measured = ax.get_lines()
    np.testing.assert_array_equal(curve.get_ydata(), objective)
    assert list(ours.get_xdata()) == [0.232, 0.232] and list(table7.get_xdata()) == [0.245, 0.245]
    assert list(measured.get_ydata()) == [5e-6, 5e-6]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["ours", "Table 7", "measured"]


def test_plot_pruned_vs_scratch(ax):
    D = np.array([1e5, 1e6, 1e7])
    curves = {"dense": np.array([3.0, 2.5, 2.2]), "S = 0.5": np.array([3.2, 2.7, 2.4])}
    pruned = {"S = 0.5": (2e5, 4e6, 2.6, 1.5e6)}
    out = plots.plot_pruned_vs_scratch(ax, D, curves, pruned, dense=(3.8e6, 2.3), fit_range=(1e5, 1e6))
    assert out is ax
    assert ax.get_xscale() == "log" and "tokens" in ax.get_xlabel()
    dense_curve, sparse_curve, segment, open_dot, filled_dot, star, square = ax.get_lines()
    np.testing.assert_array_equal(sparse_curve.get_ydata(), [3.2, 2.7, 2.4])
    assert list(segment.get_xdata()) == [2e5, 4e6] and list(segment.get_ydata()) == [2.6, 2.6]
    assert (open_dot.get_xdata()[0], filled_dot.get_xdata()[0], star.get_xdata()[0]) == (2e5, 4e6, 1.5e6)
    assert star.get_marker() == "*" and square.get_marker() == "s"
    assert star.get_color() == sparse_curve.get_color() != dense_curve.get_color()
    (span,) = ax.patches
    np.testing.assert_allclose([span.get_x(), span.get_x() + span.get_width()], [1e5, 1e6])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["dense", "S = 0.5", "pruned: pruning data only"] and labels[-1] == "data range of the fit"


def test_plot_pruned_vs_scratch_skips_unreachable_and_checks_labels(ax):
    D, curves = np.array([1e5, 1e6]), {"S = 0.5": np.array([3.0, 2.8])}
    plots.plot_pruned_vs_scratch(ax, D, curves, {"S = 0.5": (1e5, 1e6, 2.0, np.inf)})
    assert [line.get_marker() for line in ax.get_lines()] == ["None", "None", "o", "o"]  # no star
    with pytest.raises(ValueError, match=r"pruned labels \['S = 0.9'\] have no curve"):
        plots.plot_pruned_vs_scratch(ax, D, curves, {"S = 0.9": (1e5, 1e6, 2.0, 3e5)})


def test_plot_schedule_heatmap(ax):
    starts, ends = [0.0, 0.25, 0.5], [0.5, 0.75, 1.0]
    loss_SxE = np.array([[2.10, 2.05, 2.08], [2.04, 2.00, 2.03], [np.nan, 2.02, 2.06]])
    out = plots.plot_schedule_heatmap(ax, starts, ends, loss_SxE, mark=(0.25, 0.75), vmax=0.2)
    assert out is ax
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_array().filled(np.nan), loss_SxE - 2.00, atol=1e-12)
    assert image.get_clim() == (0.0, 0.2)
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 8 and "2.100\n+0.100" in texts  # one per run, none for the empty cell
    best, mark = ax.patches
    assert best.get_xy() == (0.5, 0.5) and mark.get_xy() == pytest.approx((0.58, 0.58))  # both (0.25, 0.75)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["50%", "75%", "100%"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0%", "25%", "50%"]
    assert "end" in ax.get_xlabel() and "start" in ax.get_ylabel()
    with pytest.raises(ValueError, match=r"shape \(len\(starts\), len\(ends\)\) = \(3, 3\); got \(3, 2\)"):
        plots.plot_schedule_heatmap(ax, starts, ends, loss_SxE[:, :2])
    ax.clear()
    plots.plot_schedule_heatmap(ax, starts, ends, loss_SxE, vmax=0.2, colorbar=False, cells="gap")
    assert sorted(t.get_text() for t in ax.texts)[:2] == ["+0.000", "+0.020"] and len(ax.texts) == 8
    with pytest.raises(ValueError, match=r"cells = 'loss': need 'loss and gap' or 'gap'"):
        plots.plot_schedule_heatmap(ax, starts, ends, loss_SxE, cells="loss")


def test_plot_errors(ax):
    index = pd.MultiIndex.from_product([["in-sample", "held out"], ["N", "N_avg"]], names=["evaluation", "law"])
    table = pd.DataFrame({"estimate": [0.02, 0.01, 0.05, 0.03], "low": [0.015, 0.008, 0.04, 0.02],
                          "high": [0.025, 0.012, 0.07, 0.04]}, index=index)
    out = plots.plot_errors(ax, table, reference=0.016, reference_label="Jin et al.")
    assert out is ax
    lines = ax.get_lines()  # interval, estimate per row, then the reference
    np.testing.assert_allclose([l.get_xdata()[0] for l in lines[1:8:2]], table["estimate"])
    np.testing.assert_allclose([l.get_ydata()[0] for l in lines[1:8:2]], [0.0, -1.0, -2.8, -3.8])
    np.testing.assert_allclose(lines[4].get_xdata(), [0.04, 0.07])  # held out, N
    assert lines[1].get_color() == lines[5].get_color() != lines[3].get_color()  # one colour per law
    assert lines[8].get_xdata()[0] == 0.016
    assert [t.get_text() for t in ax.get_yticklabels()] == ["in-sample", "held out"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["N", "N_avg", "Jin et al."]
    with pytest.raises(ValueError, match="index \\(evaluation, law\\)"):
        plots.plot_errors(ax, table.reset_index(level=1))


def test_plot_residuals(ax):
    x, residuals = np.array([2.0, 2.5, 3.0, 3.5]), np.array([0.01, -0.02, 0.0, 0.03])
    out = plots.plot_residuals(ax, x, residuals, hue=np.array([0.0, 0.5, 0.0, 0.5]),
                               bands={"seed std": 0.01, "2 x seed std": 0.02})
    assert out is ax
    dense, sparse = ax.collections  # one scatter per hue value
    np.testing.assert_array_equal(dense.get_offsets(), [[2.0, 0.01], [3.0, 0.0]])
    np.testing.assert_array_equal(sparse.get_offsets(), [[2.5, -0.02], [3.5, 0.03]])
    wide, narrow = ax.patches  # widest band first, so the narrower one is drawn on top
    assert (wide.get_y(), wide.get_height()) == pytest.approx((-0.02, 0.04))
    assert (narrow.get_y(), narrow.get_height()) == pytest.approx((-0.01, 0.02))
    (zero,) = ax.get_lines()
    assert list(zero.get_ydata()) == [0.0, 0.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["2 x seed std", "seed std", "S = 0", "S = 0.5"]
    with pytest.raises(ValueError, match=r"shapes \(4,\), \(3,\)"):
        plots.plot_residuals(ax, x, residuals[:3])


def test_use_book_style_sets_legible_page_width_defaults():
    with matplotlib.rc_context():
        plots.use_book_style()
        rc = matplotlib.rcParams
        assert tuple(rc["figure.figsize"]) == plots.FIGSIZE and plots.FIGSIZE[0] * 96 <= 700
        assert rc["savefig.dpi"] >= 150 and rc["figure.constrained_layout.use"]
        # at page width a figure shows at its own size, so 9 pt is 12 px: the smallest text allowed
        sizes = [matplotlib.font_manager.FontProperties(size=rc[key]).get_size_in_points()
                 for key in ("font.size", "axes.labelsize", "axes.titlesize", "xtick.labelsize", "ytick.labelsize",
                             "legend.fontsize")]
        assert min(sizes) >= 9
        assert rc["axes.facecolor"] == "white" and rc["axes.grid"]  # seaborn's whitegrid


def test_use_book_style_renders_svg_in_a_kernel():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        with matplotlib.rc_context():
            plots.use_book_style()
            fig, ax = plt.subplots()
            ax.plot([0, 1], [0, 1])
            data, _ = shell.display_formatter.format(fig)
            plt.close(fig)
        assert "image/svg+xml" in data and "image/png" not in data
        assert "<dc:date>" not in data["image/svg+xml"]  # no build date: the same figure gives the same file
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.parametrize("n, rows", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (7, 3)])
def test_panel_grid_puts_at_most_three_panels_in_a_row(n, rows):
    fig, axes = plots.panel_grid(n)
    assert len(axes) == n == len(fig.axes)  # the grid's unused cells are removed
    assert fig.get_figwidth() == plots.PAGE_WIDTH
    lefts = sorted({round(ax.get_position().x0, 3) for ax in axes})
    tops = sorted({round(ax.get_position().y1, 3) for ax in axes})
    assert len(lefts) == min(n, 3) and len(tops) == rows
    assert axes[0].get_position().y1 == max(ax.get_position().y1 for ax in axes)  # row by row, top first
    plt.close(fig)


def test_panel_grid_refuses_more_than_three_per_row():
    with pytest.raises(ValueError, match="per_row = 4: need 1 to 3 panels per row at page width"):
        plots.panel_grid(4, per_row=4)
    with pytest.raises(ValueError, match="n = 0: need a whole number of panels >= 1"):
        plots.panel_grid(0)


def overlap(a, b) -> float:
    """Area shared by two display-space bounding boxes."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def test_legend_outside_collects_each_label_once_below_the_panels():
    fig, axes = plots.panel_grid(3, sharey=True)
    for i, ax in enumerate(axes):
        ax.plot([1, 2], [1, 2], label="S = 0")
        ax.plot([1, 2], [2, 3], label=f"S = 0.{5 + i}")
        ax.legend()
    legend = plots.legend_outside(fig)
    fig.canvas.draw()
    assert [t.get_text() for t in legend.get_texts()] == ["S = 0", "S = 0.5", "S = 0.6", "S = 0.7"]
    assert all(ax.get_legend() is None for ax in axes)
    box = legend.get_window_extent()
    assert all(overlap(box, ax.bbox) == 0 for ax in axes)
    assert box.y1 <= min(ax.get_tightbbox().y0 for ax in axes) + 1  # under the panels and their labels
    plt.close(fig)


def star_boxes(ax):
    """Display-space boxes of the star markers (their full extent, not only their centres)."""
    out = []
    for collection in ax.collections:
        if collection.get_paths() and collection.get_sizes().size and np.isclose(collection.get_sizes()[0],
                                                                                  plots.STAR_SIZE):
            radius = np.sqrt(collection.get_sizes()[0]) / 2 * ax.figure.dpi / 72
            for x, y in ax.transData.transform(collection.get_offsets()):
                out.append(matplotlib.transforms.Bbox([[x - radius, y - radius], [x + radius, y + radius]]))
    return out


def test_predicted_vs_actual_stars_sit_inside_the_frame_at_a_third_of_the_page():
    fig, axes = plots.panel_grid(3)
    actual = np.linspace(2.0, 3.0, 12)
    # the stars are the extremes: bottom-left and top-right corners
    plots.plot_predicted_vs_actual(axes[0], actual, actual + 0.01, points={"low": (1.8, 1.79), "high": (3.2, 3.22)},
                                   legend=None)
    fig.canvas.draw()
    stars = star_boxes(axes[0])
    assert len(stars) == 2
    frame = axes[0].bbox
    for star in stars:
        assert frame.x0 < star.x0 and star.x1 < frame.x1 and frame.y0 < star.y0 and star.y1 < frame.y1
    plt.close(fig)


def draw_panel(name, ax):
    S = np.array([0.0, 0.5, 0.75])
    table = pd.DataFrame({"estimate": [2.0, 0.5], "low": [1.0, 0.4], "high": [4.0, 0.6]}, index=["a_S", "b_N"])
    index = pd.MultiIndex.from_product([["in-sample"], ["N", "N_avg"]])
    errors = pd.DataFrame({"estimate": [0.02, 0.01], "low": [0.015, 0.008], "high": [0.025, 0.012]}, index=index)
    x = np.linspace(2.0, 3.0, 30)
    calls = {
        "cmul": lambda: plots.plot_cmul(ax, S, {"Eq. 4": 1 + S, "geometric": 1 + 2 * S}, dense=1 / (1 - S)),
        "chinchilla_multiple": lambda: plots.plot_chinchilla_multiple(ax, S, {"T5": 1 + 10 * S}),
        "predicted_vs_actual": lambda: plots.plot_predicted_vs_actual(ax, x, x + 0.01 * np.sin(9 * x),
                                                                      hue=np.repeat([0.0, 0.5, 0.75], 10)),
        "intervals": lambda: plots.plot_intervals(ax, table, reference={"a_S": 3.0}, reference_label="Table 7"),
        "profile": lambda: plots.plot_profile(ax, S, S ** 2, "b_N", "objective", marks={"ours": 0.3}, level=("m", 0.2)),
        "errors": lambda: plots.plot_errors(ax, errors, reference=0.016),
        "pruned_vs_scratch": lambda: plots.plot_pruned_vs_scratch(
            ax, np.array([1e5, 1e6, 1e7]), {"dense": np.array([3.0, 2.5, 2.2]), "S = 0.5": np.array([3.2, 2.7, 2.4])},
            {"S = 0.5": (2e5, 4e6, 2.6, 1.5e6)}, dense=(3.8e6, 2.3), fit_range=(1e5, 1e6)),
        "residuals": lambda: plots.plot_residuals(ax, x, 0.01 * np.sin(9 * x), bands={"seed std": 0.005}),
        "sopt_contours": lambda: plots.plot_sopt_contours(
            ax, np.logspace(6, 9, 5), np.logspace(15, 20, 6),
            np.clip(np.linspace(-0.5, 1.2, 30).reshape(5, 6), 0, 0.99), chinchilla=(np.logspace(15, 20, 6), np.logspace(6, 9, 6))),
    }
    calls[name]()


PANELS_WITH_LEGENDS = ["cmul", "chinchilla_multiple", "predicted_vs_actual", "intervals", "profile", "errors",
                       "pruned_vs_scratch", "residuals", "sopt_contours"]


@pytest.mark.parametrize("name", PANELS_WITH_LEGENDS)
def test_panel_legends_stay_off_the_data(name):
    with matplotlib.rc_context():
        plots.use_book_style()
        fig, ax = plt.subplots(figsize=plots.FIGSIZE)
        draw_panel(name, ax)
        fig.canvas.draw()
        legend = ax.get_legend()
        assert legend is not None and overlap(legend.get_window_extent(), ax.bbox) == 0
        # and inside the figure, where the page shows it
        assert fig.bbox.contains(*legend.get_window_extent().p0) and fig.bbox.contains(*legend.get_window_extent().p1)
        plt.close(fig)


def test_panel_legend_none_leaves_it_to_the_figure():
    fig, ax = plt.subplots()
    S, cmuls = np.array([0.0, 0.5]), {"Eq. 4": np.array([1.0, 1.4])}
    with pytest.raises(ValueError, match=r"legend = 'top': need one of \['right', 'below', 'inside', None\]"):
        plots.plot_cmul(ax, S, cmuls, legend="top")
    ax.clear()
    plots.plot_cmul(ax, S, cmuls, legend=None)
    assert ax.get_legend() is None
    assert [t.get_text() for t in plots.legend_outside(fig, where="right").get_texts()] == ["Eq. 4"]
    plt.close(fig)


@pytest.mark.parametrize("x, text", [(500, "500"), (6912, "6.91k"), (20_000, "20k"), (1.5e6, "1.5M"),
                                     (2e9, "2B"), (3e15, "3e15"), (1e12, "1e12")])
def test_short_number(x, text):
    assert plots.short_number(x) == text


def test_log_log_x_labels_stay_apart_in_a_third_of_the_page():
    fig, axes = plots.panel_grid(3)
    N = np.array([1e4, 2e4, 4e4, 8e4])  # under a decade: matplotlib labels minor ticks too
    plots.plot_scaling_curves(axes[0], {"S = 0": (N, 3 - 0.1 * np.log(N))})
    fig.canvas.draw()
    x0, x1 = axes[0].get_xlim()
    labels = [t for t in axes[0].xaxis.get_ticklabels(which="both") if t.get_text() and x0 <= t.get_position()[0] <= x1]
    assert [t.get_text() for t in labels] == ["10k", "20k", "50k"]
    boxes = sorted((t.get_window_extent() for t in labels), key=lambda b: b.x0)
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), [t.get_text() for t in labels]
    plt.close(fig)


def test_pruned_vs_scratch_keys_explain_the_markers_in_a_figure_legend():
    keys = plots.pruned_vs_scratch_keys(dense=False, fit_range=True)
    assert [k.get_label() for k in keys] == ["pruned: pruning data only", "pruned: with pretraining",
                                             "same loss from scratch (law)", "data range of the fit"]
    fig, axes = plots.panel_grid(2, sharey=True)
    D, curves = np.array([1e5, 1e6]), {"dense": np.array([3.0, 2.5]), "S = 0.5": np.array([3.2, 2.7])}
    for ax in axes:
        plots.plot_pruned_vs_scratch(ax, D, curves, {"S = 0.5": (2e5, 8e5, 2.6, 5e5)}, dense=(8e5, 2.55),
                                     fit_range=(1e5, 1e6), legend=None)
    assert all(ax.get_legend() is None for ax in axes)
    legend = plots.legend_outside(fig, extra=plots.pruned_vs_scratch_keys(), ncols=3)
    fig.canvas.draw()
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels == ["dense", "S = 0.5", "pruned: pruning data only", "pruned: with pretraining",
                      "same loss from scratch (law)", "dense pretrained", "data range of the fit"]
    box = legend.get_window_extent()
    assert all(overlap(box, ax.bbox) == 0 for ax in axes) and fig.bbox.contains(*box.p0) and fig.bbox.contains(*box.p1)
    plt.close(fig)


def test_every_sparsity_of_the_book_has_a_colour_of_its_own():
    book = [0.0, 0.25, 0.5, 0.625, 0.75, 0.8, 0.875, 0.9, 0.9375, 0.95]
    colours = [tuple(np.round(plots.sparsity_colour(S)[:3], 3)) for S in book]
    assert len(set(colours)) == len(book)
    assert all(max(abs(a - b) for a, b in zip(c1, c2)) > 0.1 for i, c1 in enumerate(colours) for c2 in colours[i + 1:])
    assert plots.sparsity_colour(0.875) == plots.sparsity_palette([0.5, 0.875])[0.875]
    assert plots.sparsity_colour(0.6) not in colours  # off the list: a colour of the cividis map
    with pytest.raises(ValueError, match="S in \\[0, 1\\)"):
        plots.sparsity_colour(1.0)


def test_labels_that_name_a_sparsity_take_its_colour_and_others_a_colormap():
    by_label = plots._colours(["S = 0", "S = 0.5", "S=0.875 (ours)", "dense (Chinchilla)"])
    assert list(by_label.values()) == [plots.sparsity_colour(S) for S in (0.0, 0.5, 0.875, 0.0)]
    others = plots._colours(["2:4", "Eq. 4"])
    assert len(set(others.values())) == 2 and plots.sparsity_colour(0.5) not in others.values()
