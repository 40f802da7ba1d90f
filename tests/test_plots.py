import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from kit import plots


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
    # the axes hold every point, the extra one included: range 1.45-3.6 padded by 3%
    assert ax.get_xlim() == pytest.approx((1.45 - 0.0645, 3.6 + 0.0645))
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
