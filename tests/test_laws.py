import warnings

import numpy as np
import pytest
from scipy import integrate, optimize

from kit import laws
from kit.fit import paper
from kit.laws import TABLE7
from kit.laws.schedules import sparsity_at

SPARSITY_KEYS = ("a_S", "b_S", "c_S", "b_N")


def sparsity_coeffs(coeffs):
    return {k: coeffs[k] for k in SPARSITY_KEYS}


# ----------------------------------------------------------------------------- laws


def test_dense_law_by_hand():
    # (10/100)^0.5 + (10/1000)^0.5 + 1 = 0.316227766 + 0.1 + 1
    assert laws.dense_law(100, 1000, a_N=10, b_N=0.5, a_D=10, b_D=0.5, c=1) == pytest.approx(1.416227766017)


def test_sparse_law_by_hand():
    # (4 * 0.25^0.5 + 1) * 16^-0.5 + (1/4)^1 + 0.5 = 3/4 + 1/4 + 1/2
    kw = dict(a_S=4, b_S=0.5, c_S=1, b_N=0.5, a_D=1, b_D=1, c=0.5)
    assert laws.sparse_law(0.75, 16, 4, **kw) == pytest.approx(1.5)
    # S = 0: (4 + 1) / 4 + 1/4 + 1/2
    assert laws.sparse_law(0.0, 16, 4, **kw) == pytest.approx(2.0)


def test_sparse_law_at_zero_sparsity_is_dense_law():
    t5 = TABLE7["t5"]
    a_N = (t5["a_S"] + t5["c_S"]) ** (1 / t5["b_N"])
    N, D = np.geomspace(1e6, 1e9, 4), np.geomspace(1e9, 1e11, 4)
    dense = laws.dense_law(N, D, a_N, t5["b_N"], t5["a_D"], t5["b_D"], t5["c"])
    np.testing.assert_allclose(laws.sparse_law(0.0, N, D, **t5), dense, rtol=1e-12)


def test_t5_law_at_the_largest_grid_point():
    # N = 85M, 1M steps at 128 x 512 tokens: (16.8 + 45) 85e6^-0.245 + (6.9e8 / 6.5536e10)^0.203 + 0.651
    #   = 61.8 e^-4.47325 + e^(0.203 * -4.55366) + 0.651 = 0.70515 + 0.39677 + 0.651 = 1.75292
    # (the authors' run at this point, dense at 1M steps, measured 1.7401)
    assert laws.sparse_law(0.0, 85e6, 65536e6, **TABLE7["t5"]) == pytest.approx(1.75292, abs=2e-5)


def test_avg_param_law_is_dense_law_in_average_count():
    # (10/40)^0.5 + (20/80)^1 + 2 = 0.5 + 0.25 + 2
    assert laws.avg_param_law(40, 80, a_N=10, b_N=0.5, a_D=20, b_D=1, c=2) == pytest.approx(2.75)


def test_laws_broadcast():
    out = laws.sparse_law(np.array([0.0, 0.5, 0.75])[:, None], np.geomspace(1e6, 1e8, 5), 1e10, **TABLE7["vit"])
    assert out.shape == (3, 5)
    assert np.all(np.diff(out, axis=0) < 0)  # more sparsity, lower loss at fixed non-zeros
    assert np.all(np.diff(out, axis=1) < 0)  # more non-zeros, lower loss


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: laws.sparse_law(1.0, 1e6, 1e9, **TABLE7["t5"]), "sparsity S must lie in"),
        (lambda: laws.sparse_law(0.5, -1.0, 1e9, **TABLE7["t5"]), "N must be > 0"),
        (lambda: laws.dense_law(1e6, 0.0, 1, 1, 1, 1, 1), "D must be > 0"),
        (lambda: laws.cmul(0.5, start=0.8, end=0.2), "start <= end"),
        (lambda: laws.cmul(0.5, kind="linear"), "kind='linear'"),
        (lambda: laws.s_opt(1e6, 1e15, TABLE7["t5_nm"]), "coefficient set lacks b_N, a_D, b_D, c"),
        (lambda: laws.s_opt(1e6, 1e15, TABLE7["t5"], cost="flops"), "cost='flops'"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- costs


def test_cmul_eq4_by_hand():
    # S=0.5: (0.25 + 0.5 * 0.625) / 0.5 + 0.25 = 1.375;  S=0.75: (0.25 + 0.5 * 0.4375) / 0.25 + 0.25 = 2.125
    # S=0.875: (0.25 + 0.5 * 0.34375) / 0.125 + 0.25 = 3.625
    np.testing.assert_allclose(laws.cmul([0.0, 0.5, 0.75, 0.875]), [1.0, 1.375, 2.125, 3.625], rtol=1e-14)


def test_cmul_is_eq4_literally():
    S = np.linspace(0, 0.99, 100)
    np.testing.assert_allclose(laws.cmul(S), (0.25 + 0.50 * (1 - 0.75 * S)) / (1 - S) + 0.25, rtol=1e-14)


def test_cmul_geometric_by_hand():
    # window mean density 0.75 / ln 4 = 0.5410106; (0.25 + 0.5 * 0.5410106) / 0.25 + 0.25 = 2.3320213
    assert laws.cmul(0.75, kind="geometric") == pytest.approx(2.3320213, abs=1e-7)
    assert laws.cmul(0.0, kind="geometric") == 1.0


def test_cmul_dense_by_hand():
    np.testing.assert_allclose(laws.cmul_dense([0.0, 0.5, 0.75, 0.875]), [1, 2, 4, 8])


def test_cmul_degenerate_windows():
    S = np.array([0.3, 0.9])
    for kind in ("cubic", "geometric"):
        np.testing.assert_allclose(laws.cmul(S, start=0.0, end=0.0, kind=kind), 1.0)  # sparse all along
        np.testing.assert_allclose(laws.cmul(S, start=1.0, end=1.0, kind=kind), laws.cmul_dense(S))  # never pruned


@pytest.mark.parametrize("kind", ["cubic", "geometric"])
@pytest.mark.parametrize("start, end", [(0.25, 0.75), (0.0, 1.0), (0.1, 0.3), (0.5, 0.9)])
def test_cmul_and_n_avg_match_integrated_schedule(kind, start, end):
    for S in (1e-6, 0.5, 0.875, 0.99):
        density = lambda t: 1.0 - sparsity_at(t, S, start, end, kind)
        mean_density = integrate.quad(density, 0.0, 1.0, points=[start, end], epsabs=1e-13)[0]
        assert laws.cmul(S, start, end, kind) == pytest.approx(mean_density / (1 - S), rel=1e-10)
        # a run ending at N non-zeros has N (1 - S_t) / (1 - S) of them at fraction t
        assert laws.n_avg(1e6, S, start, end, kind) == pytest.approx(1e6 * mean_density / (1 - S), rel=1e-10)


@pytest.mark.parametrize("cost, kind", [("dense", "cubic"), ("sparse", "cubic"), ("sparse", "geometric")])
def test_cost_slope_is_derivative_in_log_compression(cost, kind):
    # s_opt and chinchilla_multiple use d c_mul / d r, r = -ln(1 - S); check it by central differences,
    # including r < 1e-3 where the geometric slope switches to its series
    r, h = np.array([1e-5, 5e-4, 2e-3, 0.7, 3.0]), 1e-6
    c_of_r = lambda r: laws._cost_and_slope(np.exp(-r), cost, 0.1, 0.8, kind)[0]
    slope = laws._cost_and_slope(np.exp(-r), cost, 0.1, 0.8, kind)[1]
    np.testing.assert_allclose(slope, (c_of_r(r + h) - c_of_r(r - h)) / (2 * h), rtol=1e-8)
    np.testing.assert_allclose(c_of_r(r), laws.cmul_dense(-np.expm1(-r)) if cost == "dense"
                               else laws.cmul(-np.expm1(-r), 0.1, 0.8, kind), rtol=1e-12)


def test_n_avg_by_hand():
    # 100 * c_mul(0.5) = 100 * 1.375; dense runs keep N
    assert laws.n_avg(100, 0.5) == pytest.approx(137.5)
    assert laws.n_avg(100, 0.0, kind="geometric") == 100


# ----------------------------------------------------------------------------- optimal sparsity

GRID_N = np.geomspace(1e5, 1e10, 11)[:, None]
GRID_D0 = np.geomspace(1e6, 1e15, 13)[None, :]


@pytest.mark.parametrize("family", ["vit", "t5"])
@pytest.mark.parametrize("k", [6, 3])
def test_s_opt_eq5_matches_eq6(family, k):
    C = k * GRID_N * GRID_D0
    numeric = laws.s_opt(GRID_N, C, TABLE7[family], "dense", flops_per_param_token=k)
    closed = laws.s_opt_closed_form(GRID_N, C, TABLE7[family], flops_per_param_token=k)
    assert numeric.shape == (11, 13)
    assert 0.2 < np.mean(closed == 0.0) < 0.8  # the grid covers both regimes
    np.testing.assert_allclose(numeric, closed, atol=1e-6)


def brute_s_opt(N, C, coeffs, cost, kind):
    # minimise the loss itself over r = -ln(1 - S) in [0, 30], at dense-equivalent data C / (k N), the law's k
    def loss(r):
        S = -np.expm1(-r)
        c_mul = laws.cmul_dense(S) if cost == "dense" else laws.cmul(S, kind=kind)
        return laws.sparse_law(S, N, C / (coeffs.k * N) / c_mul, **coeffs)

    r = optimize.minimize_scalar(loss, bounds=(0.0, 30.0), method="bounded", options={"xatol": 1e-10}).x
    return -np.expm1(-r)


@pytest.mark.parametrize("family", ["vit", "t5"])
@pytest.mark.parametrize("cost, kind", [("dense", "cubic"), ("sparse", "cubic"), ("sparse", "geometric")])
def test_s_opt_minimises_the_loss(family, cost, kind):
    N = np.array([1e6, 1e8, 1e8])
    C = 6 * N * np.array([1e12, 1e11, 1e14])
    got = laws.s_opt(N, C, TABLE7[family], cost, kind=kind)
    want = [brute_s_opt(n, c, TABLE7[family], cost, kind) for n, c in zip(N, C)]
    assert np.all(got > 0.05)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_s_opt_is_zero_when_dense_is_best_and_grows_with_compute():
    # T5, N = 1e8: Chinchilla compute is about 6 N * 3e7 = 1.8e16 (chinchilla_tokens)
    C = np.geomspace(1e15, 1e25, 30)
    s = laws.s_opt(1e8, C, TABLE7["t5"], "dense")
    assert s[0] == 0.0 and np.all(np.diff(s) >= 0) and s[-1] > 0.9
    assert laws.s_opt(1e8, 1e15, TABLE7["t5"]) == 0.0 and np.ndim(laws.s_opt(1e8, 1e15, TABLE7["t5"])) == 0


def test_sparse_costs_favour_sparsity_more_than_dense_costs():
    C = 6 * GRID_N * GRID_D0
    dense = laws.s_opt(GRID_N, C, TABLE7["vit"], "dense")
    sparse = laws.s_opt(GRID_N, C, TABLE7["vit"], "sparse")
    assert np.all(sparse >= dense) and np.any(sparse > dense + 0.05)


# ----------------------------------------------------------------------------- Chinchilla


@pytest.mark.parametrize("family", ["vit", "t5"])
@pytest.mark.parametrize("C", [1e15, 1e19, 1e23])
def test_chinchilla_n_opt_closed_form_matches_numeric(family, C):
    coeffs = TABLE7[family]  # its own k: 3 FLOPs per parameter and token for T5, 6 for ViT
    loss = lambda log_n: laws.sparse_law(0.0, np.exp(log_n), C / (coeffs.k * np.exp(log_n)), **coeffs)
    n_numeric = np.exp(optimize.minimize_scalar(loss, bounds=(0.0, 60.0), method="bounded",
                                                options={"xatol": 1e-10}).x)
    assert laws.chinchilla_n_opt(C, coeffs) == pytest.approx(n_numeric, rel=1e-4)
    n_opt = laws.chinchilla_n_opt(C, coeffs)  # and its tokens are chinchilla_tokens(n_opt): C = k N D
    assert coeffs.k * n_opt * laws.chinchilla_tokens(n_opt, coeffs) == pytest.approx(C, rel=1e-9)


def test_chinchilla_by_hand():
    # b_N = b_D = 0.5, a_S + c_S = 2, a_D = 4, k = 2, C = 32: N^1 = (0.5 * 2 / (0.5 * 2)) (C / k)^0.5 = 4; D = 32 / 8
    coeffs = dict(a_S=1, b_S=1, c_S=1, b_N=0.5, a_D=4, b_D=0.5, c=0)
    assert laws.chinchilla_n_opt(32, coeffs, flops_per_param_token=2) == pytest.approx(4.0)
    assert laws.chinchilla_tokens(4.0, coeffs) == pytest.approx(4.0)  # D = C / (k N) = 32 / 8


# ----------------------------------------------------------------------------- gains (Section 3.3.1)


def test_gain_by_hand():
    # ((4 * 0.25^0.5 + 1) / 5)^(-1/0.5) = (3/5)^-2
    assert laws.gain(0.75, a_S=4, b_S=0.5, c_S=1, b_N=0.5) == pytest.approx(25 / 9)


@pytest.mark.parametrize("family, table2", [("vit", [1.60, 2.17, 2.63]), ("t5", [1.59, 2.16, 2.63])])
def test_gains_reproduce_table2(family, table2):
    g = laws.gain(np.array([0.5, 0.75, 0.875]), **sparsity_coeffs(TABLE7[family]))
    np.testing.assert_array_equal(np.round(g, 2), table2)  # ViT 1.5959 2.1722 2.6335; T5 1.5874 2.1598 2.6345


def test_nm_gains_give_table3_n8_row():
    # Table 7 lists one n:m row; it gives Table 3's n:8 row (1.67x, 1.81x). The n:4 row (1.56x, 1.62x)
    # comes from coefficients the paper does not list.
    g = laws.gain(np.array([0.5, 0.75]), b_N=TABLE7["t5"]["b_N"], **TABLE7["t5_nm"])
    np.testing.assert_allclose(g, [1.6711, 1.8140], atol=1e-4)
    np.testing.assert_array_equal(np.round(g, 2), [1.67, 1.81])


# ----------------------------------------------------------------------------- Section 3.3 multiples


def chinchilla_d_for_n(N, coeffs):
    # the data at which N is compute-optimal: invert chinchilla_n_opt numerically in log C
    log_c = optimize.brentq(lambda lc: np.log(laws.chinchilla_n_opt(np.exp(lc), coeffs)) - np.log(N), 0, 200,
                            xtol=1e-14)
    return np.exp(log_c) / (6 * N)


def test_chinchilla_multiples_reproduce_section_3_3():
    # Paper: 50% sparsity is optimal for "< 2x (ViT) and < 3x (T5) longer training than Chinchilla" with
    # sparse FLOPs, "~5x and ~70x" with dense FLOPs. Computed from Table 7 the multiples come out as
    # ViT 1.676 / 4.816 and T5 2.436 / 70.16. They match when "longer" is measured in compute,
    # C / C_chin(N) = (C / 6N) / D_chin(N); the data the sparse run actually sees, (C / 6N) / c_mul(0.5),
    # would give ViT 1.22 / 2.41 and T5 1.77 / 35.1, which misses ~5x and ~70x. The multiple is independent
    # of N and of the flops constant (3ND for encoder-decoder T5 cancels), so units do not matter.
    m = {(f, cost): laws.chinchilla_multiple(0.5, 1e8, TABLE7[f], cost) for f in ("vit", "t5") for cost in laws.COSTS}
    assert m["vit", "sparse"] == pytest.approx(1.6757, abs=1e-4) and m["vit", "sparse"] < 2
    assert m["t5", "sparse"] == pytest.approx(2.4357, abs=1e-4) and m["t5", "sparse"] < 3
    assert m["vit", "dense"] == pytest.approx(4.8163, abs=1e-4) and round(m["vit", "dense"]) == 5
    assert m["t5", "dense"] == pytest.approx(70.164, abs=1e-3) and round(m["t5", "dense"], -1) == 70


def test_chinchilla_multiple_by_hand_vit_dense():
    # [2^(b_D + b_S) b_N (a_S + c_S) / (b_S a_S)]^(1/b_D) = [2^1.711 * 298.70 / 241.37]^(1/0.89)
    #   = [3.2739 * 1.23752]^1.12360 = 4.0515^1.12360 = 4.816
    assert laws.chinchilla_multiple(0.5, 1.0, TABLE7["vit"], "dense") == pytest.approx(4.816, abs=1e-3)


@pytest.mark.parametrize("family", ["vit", "t5"])
@pytest.mark.parametrize("cost", ["dense", "sparse"])
def test_chinchilla_multiple_is_where_s_opt_equals_s(family, cost):
    coeffs = TABLE7[family]
    S = np.array([0.5, 0.75, 0.875])
    for N in (1e6, 1e9):
        multiple = laws.chinchilla_multiple(S, N, coeffs, cost)
        C = 6 * N * chinchilla_d_for_n(N, coeffs) * multiple
        np.testing.assert_allclose(laws.s_opt(N, C, coeffs, cost), S, atol=1e-8)
    np.testing.assert_allclose(laws.chinchilla_multiple(S, np.array([[1e6], [1e9]]), coeffs, cost),
                               np.broadcast_to(laws.chinchilla_multiple(S, 1.0, coeffs, cost), (2, 3)), rtol=1e-12)


def test_chinchilla_point_is_dense_for_dense_costs_and_sparse_for_sparse_costs():
    # Section 3.3: "the Chinchilla line does not necessarily correspond to the S = 0 case [...] (this is
    # the case for sparse-FLOPs)". The S = 0 boundary lies past Chinchilla for dense costs (ViT 1.27x,
    # T5 2.98x) and before it for sparse costs (ViT 0.42x, T5 0.024x).
    for family in ("vit", "t5"):
        assert laws.chinchilla_multiple(0.0, 1e8, TABLE7[family], "dense") > 1
        assert laws.chinchilla_multiple(0.0, 1e8, TABLE7[family], "sparse") < 1
        C = 6e8 * chinchilla_d_for_n(1e8, TABLE7[family])
        assert laws.s_opt(1e8, C, TABLE7[family], "dense") == 0.0
        assert laws.s_opt(1e8, C, TABLE7[family], "sparse") > 0.1


# ----------------------------------------------------------------------------- inversion


def test_data_for_loss_by_hand():
    # (4 * 0.25^0.5 + 1) * 16^-0.5 + c = 3/4 + 1/2; L = 1.5 leaves (a_D / D)^b_D = 1/4, so D = 2 * 4 = 8
    kw = dict(a_S=4, b_S=0.5, c_S=1, b_N=0.5, a_D=2, b_D=1, c=0.5)
    assert laws.data_for_loss(1.5, 0.75, 16, kw) == pytest.approx(8.0)
    # b_D = 0.5: (2 / D)^0.5 = 1/4 gives D = 32
    assert laws.data_for_loss(1.5, 0.75, 16, {**kw, "b_D": 0.5}) == pytest.approx(32.0)


@pytest.mark.parametrize("family", ["vit", "t5"])
def test_data_for_loss_inverts_sparse_law(family):
    S, N, D = np.array([0.0, 0.5, 0.875]), np.array([[1e6], [1e8]]), 3e9
    L = laws.sparse_law(S, N, D, **TABLE7[family])
    np.testing.assert_allclose(laws.data_for_loss(L, S, N, TABLE7[family]), np.full((2, 3), D), rtol=1e-9)


def test_data_for_loss_refuses_losses_below_the_limit():
    limit = laws.sparse_law(0.5, 1e6, np.inf, **TABLE7["t5"])  # D -> infinity
    assert laws.data_for_loss(limit + 1e-3, 0.5, 1e6, TABLE7["t5"]) > 1e12
    with pytest.raises(ValueError, match=r"at or below the law's D -> infinity limit"):
        laws.data_for_loss([limit + 0.1, limit - 0.1], 0.5, 1e6, TABLE7["t5"])
    with pytest.raises(ValueError, match="at or below"):
        laws.data_for_loss(limit, 0.5, 1e6, TABLE7["t5"])


def test_chinchilla_multiple_is_silent_at_degenerate_coefficients():
    # A fit can drive a_S to 0 (sparsity buys no capacity: S is never optimal) or put a_S (1 - S)^b_S
    # below the smallest float; the multiple, evaluated in logs, is then inf or still finite, and
    # nothing warns (chapter 3 once showed "divide by zero" from the bootstrap of such fits).
    at = dict(a_S=1.0, b_S=120.0, c_S=2.0, b_N=0.3, a_D=1e6, b_D=2.0, c=1.0)
    S = np.array([0.5, 0.9999])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        multiple = laws.chinchilla_multiple(S, 1.0, at, "dense")
        assert np.all(np.isinf(laws.chinchilla_multiple(S, 1.0, {**at, "a_S": 0.0}, "sparse")))
        assert np.isinf(laws.chinchilla_multiple(0.9999, 1.0, {**at, "b_D": 0.5}, "dense"))  # beyond float range
    # dense costs: [c_mul^b_D b_N (a_S + c_S) / (b_S a_S (1 - S)^b_S)]^(1 / b_D), in logs by hand
    x = 1 - S
    by_hand = np.exp((-at["b_D"] * np.log(x) + np.log(at["b_N"] * 3.0 / 120.0) - 120.0 * np.log(x)) / at["b_D"])
    np.testing.assert_allclose(multiple, by_hand, rtol=1e-12)
    assert np.isfinite(multiple[1]) and multiple[1] > 1e200


# ----------------------------------------------------------------------------- a Law: coefficients that carry their k


def test_a_law_is_its_coefficients_and_carries_k_range_and_samples():
    t5 = TABLE7["t5"]
    assert t5 == dict(a_S=16.8, b_S=0.722, c_S=45.0, b_N=0.245, a_D=6.9e8, b_D=0.203, c=0.651)
    assert (t5.k, TABLE7["vit"].k) == (3.0, 6.0) and t5.samples.name == "t5-bootstrap.csv"
    assert laws.sparse_law(0.5, 1e8, 1e10, **t5) == laws.sparse_law(0.5, 1e8, 1e10, **dict(t5))
    assert laws.flops_per_token(t5) == 3 and laws.flops_per_token(t5, 6) == 6 and laws.flops_per_token(dict(t5)) == 6
    # every function that needs k takes the law's: C = 3 N D for T5
    assert 3 * laws.chinchilla_n_opt(1e21, t5) * laws.chinchilla_tokens(laws.chinchilla_n_opt(1e21, t5), t5) == pytest.approx(1e21)
    np.testing.assert_allclose(laws.s_opt_closed_form(1e9, [1e19, 1e23], t5),
                               laws.s_opt_closed_form(1e9, [1e19, 1e23], dict(t5), flops_per_param_token=3), rtol=1e-15)
    assert laws.s_opt(1e9, 1e23, t5) == pytest.approx(laws.s_opt_closed_form(1e9, 1e23, t5), abs=1e-6)


def test_table7_ranges_are_the_authors_runs():
    assert TABLE7["t5"].data == laws.T5_DATA == paper.data_range(paper.load_t5())
    assert TABLE7["vit"].data == laws.VIT_DATA == paper.data_range(paper.load_vit())


def test_gain_takes_a_whole_coefficient_set():
    # Eq. 7 at S = 0.5, T5: ((16.8 * 0.5^0.722 + 45) / 61.8)^(-1 / 0.245) = (55.143 / 61.8)^-4.0816 = 1.5874
    assert laws.gain(0.5, **TABLE7["t5"]) == pytest.approx(1.5874, abs=1e-4)
    assert laws.gain(0.5, **TABLE7["t5"]) == laws.gain(0.5, *sparsity_coeffs(TABLE7["t5"]).values())


@pytest.mark.parametrize("make, match", [
    (lambda: laws.Law(TABLE7["t5_nm"], name="nm", k=3), "law 'nm': needs exactly the coefficients"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=None), "law 'x' states no k"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=0), "k=0: FLOPs per parameter and token must be a finite number > 0"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k="3"), "k='3': FLOPs per parameter"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=float("nan")), "k=nan"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=3, data={"N": (2e7, 1e6)}), r"data range 'N': \(20000000.0, 1000000.0\)"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=3, data={"tokens": (1, 2)}), "data range 'tokens'"),
    (lambda: laws.Law(TABLE7["t5"], name="x", k=3, data={"D": 5}), "data range 'D': 5"),
    (lambda: laws.s_opt(1e9, 1e21, TABLE7["t5"], flops_per_param_token=-3), "k=-3: FLOPs per parameter"),
])
def test_bad_laws_raise_one_clear_line(make, match):
    with pytest.raises(ValueError, match=match) as err:
        make()
    assert "\n" not in str(err.value)


def test_chinchilla_tokens_invert_the_chinchilla_size():
    N = np.geomspace(1e6, 1e11, 6)
    for family in ("t5", "vit"):
        D = laws.chinchilla_tokens(N, TABLE7[family])
        np.testing.assert_allclose(laws.chinchilla_n_opt(6 * N * D, TABLE7[family], 6), N, rtol=1e-10)
    with pytest.raises(ValueError, match="coefficient b_D=0.0: must be a finite number > 0"):
        laws.chinchilla_tokens(1e8, {**TABLE7["t5"], "b_D": 0.0})


def test_one_coefficient_check_for_every_law_and_its_users():
    checked = laws.check_coefficients({**TABLE7["t5"], "gain_0.5": 1.6})  # other keys are ignored
    assert list(checked) == list(laws.COEFF_NAMES) and checked["b_N"] == TABLE7["t5"]["b_N"]
    assert laws.check_coefficients({**TABLE7["t5"], "a_S": 0.0})["a_S"] == 0.0  # a fit may drive one to 0
    for bad, message in [({"a_S": 1.0}, "coefficient set lacks b_S"), ({**TABLE7["t5"], "c": -1}, "c=-1.0: must be a finite number >= 0"),
                         ({**TABLE7["t5"], "b_N": 0.0}, "b_N=0.0: must be a finite number > 0"),
                         ({**TABLE7["t5"], "a_D": float("nan")}, "a_D=nan")]:
        with pytest.raises(ValueError, match=message):
            laws.check_coefficients(bad)
    with pytest.raises(ValueError, match="coefficient set lacks"):
        laws.s_opt(1e9, 1e21, {"a_S": 1.0})


def test_payoff_tokens_over_chinchilla_tokens_is_the_same_at_every_size():
    """Eq. 1 at equal compute: the dense-equivalent tokens from which sparsity pays, in Chinchilla
    multiples, do not depend on N; 0 where sparsity costs nothing, NaN for the dense model."""
    t5, c_mul = TABLE7["t5"], laws.cmul(0.5)
    multiples = [laws.payoff_tokens(0.5, N, t5, c_mul) / laws.chinchilla_tokens(N, t5) for N in (1e7, 1e9, 1e11)]
    np.testing.assert_allclose(multiples, multiples[0], rtol=1e-10)
    assert laws.payoff_tokens(0.5, 1e9, t5, 1.0) == 0.0 and np.isnan(laws.payoff_tokens(0.0, 1e9, t5, 2.0))
