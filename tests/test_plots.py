import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
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
