import warnings

import jax
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kit import laws
from kit.fit import fitting, paper
from kit.fit.fitting import LOG_FORMS, bootstrap, fit, huber, intervals, problem, profile_threshold
from kit.fit.fitting import fit_intervals as intervals_of
from kit.laws import COEFF_NAMES, TABLE7, avg_param_law, dense_law, gain, s_opt, sparse_law

def table1_grid(coeffs, noise, seed=0):
    """A Table-1-like sweep: 4 sizes x 3 budgets x 4 sparsities of the sparse law, with
    multiplicative log-normal noise of scale `noise`."""
    S, N, D = (x.ravel() for x in np.meshgrid(
        [0.0, 0.5, 0.75, 0.875], [2e6, 8e6, 3e7, 1e8], [1e9, 4e9, 1.6e10], indexing="ij"))
    loss = sparse_law(S, N, D, **coeffs) * np.exp(noise * np.random.default_rng(seed).standard_normal(S.shape))
    return pd.DataFrame(dict(S=S, N=N, D=D, loss=loss))


def rel_err(fitted, true):
    return {k: abs(fitted[k] / true[k] - 1) for k in true}


def test_huber_is_quadratic_then_linear():
    r = np.array([0.0, 5e-4, -5e-4, 3e-3, -3e-3])
    np.testing.assert_allclose(huber(r, 1e-3), [0.0, 1.25e-7, 1.25e-7, 2.5e-6, 2.5e-6])
    with pytest.raises(ValueError, match="delta"):
        huber(r, 0.0)


@pytest.mark.parametrize("key", ["t5", "vit"])
def test_recovers_sparse_law_coefficients(key):
    true = TABLE7[key]
    runs = table1_grid(true, noise=3e-4)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4)
    assert result.converged
    assert max(rel_err(result.params, true).values()) < 0.03
    assert list(result.params) == list(COEFF_NAMES)  # in the law's order


def test_exact_data_from_the_true_point_stays_there():
    # Encoding a start into the optimiser's coordinates and decoding it back is the identity.
    runs = table1_grid(TABLE7["t5"], noise=0.0)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=[TABLE7["t5"]])
    assert result.objective < 1e-20
    assert max(rel_err(result.params, TABLE7["t5"]).values()) < 1e-6


def test_fixed_subset_fits_only_the_sparsity_term():
    # Section 4.1 (n:m): the dense part is known, only a_S, b_S, c_S are refit.
    true = {**TABLE7["t5"], **TABLE7["t5_nm"]}
    dense_part = {k: TABLE7["t5"][k] for k in ("b_N", "a_D", "b_D", "c")}
    runs = table1_grid(true, noise=1e-3)
    result = fit(sparse_law, runs, runs.loss, ["a_S", "b_S", "c_S"], fixed=dense_part,
                 log_loss=False, delta=1e-2, starts=4)
    assert {k: result.params[k] for k in dense_part} == dense_part
    assert max(rel_err({k: result.params[k] for k in TABLE7["t5_nm"]}, TABLE7["t5_nm"]).values()) < 0.03


def test_recovers_average_parameter_law():
    # a_N sits inside (a_N / N_avg)^b_N: the other way a coefficient carries units.
    true = dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5)
    N_avg, D = (x.ravel() for x in np.meshgrid([1e6, 4e6, 1.6e7, 6.4e7], [1e8, 4e8, 1.6e9], indexing="ij"))
    loss = avg_param_law(N_avg, D, **true)
    result = fit(avg_param_law, dict(N_avg=N_avg, D=D), loss, list(true), starts=4)
    assert max(rel_err(result.params, true).values()) < 1e-3


def test_objective_is_the_mean_huber_of_the_residuals():
    runs = table1_grid(TABLE7["vit"], noise=1e-2)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, log_loss=False, delta=1e-2, starts=2)
    pred = sparse_law(runs.S, runs.N, runs.D, **result.params)
    np.testing.assert_allclose(result.residuals, pred - runs.loss)
    assert result.objective == pytest.approx(np.mean(huber(result.residuals, 1e-2)), rel=1e-12)
    np.testing.assert_allclose(result.predict(S=runs.S, N=runs.N, D=runs.D), pred)
    assert result.n_starts == 2


def test_table7_error_is_the_mean_not_the_sum():
    t5, vit = paper.load_t5(), paper.load_vit()
    t5_terms = huber(np.log(sparse_law(t5.S, t5.N, t5.D, **TABLE7["t5"])) - np.log(t5.loss), 1e-3)
    vit_terms = huber(sparse_law(vit.S, vit.N, vit.D, **TABLE7["vit"]) - vit.loss, 1e-2)
    # Table 7 rounds coefficients to 3 digits: the mean matches its Error to 1%, the sum is 48x / 112x off.
    assert t5_terms.mean() == pytest.approx(paper.TABLE7_ERROR["t5"], rel=0.01)
    assert vit_terms.mean() == pytest.approx(paper.TABLE7_ERROR["vit"], rel=0.01)


def test_t5_fit_beats_table7():
    # Our optimum: objective 4.88e-6 with b_S = 1.34, b_D = 0.38, c = 0.83 (Table 7: 7.6e-6 with
    # 0.722, 0.203, 0.651). Started from Table 7's coefficients, BFGS moves to the same point.
    t5 = paper.load_t5()
    result = fit(sparse_law, t5, t5.loss, COEFF_NAMES, log_loss=True, delta=1e-3, starts=4)
    assert result.converged
    assert result.objective <= paper.TABLE7_ERROR["t5"]
    assert result.objective == pytest.approx(4.880e-6, rel=1e-3)
    assert result.params["b_S"] == pytest.approx(1.345, rel=0.01)


def test_vit_fit_matches_table7():
    vit = paper.load_vit()
    result = fit(sparse_law, vit, vit.loss, COEFF_NAMES, log_loss=False, delta=1e-2, starts=4)
    assert result.converged
    assert result.objective <= paper.TABLE7_ERROR["vit"]  # 4.9291e-4
    assert max(rel_err(result.params, TABLE7["vit"]).values()) < 0.01


def test_bootstrap_refits_every_resample_as_a_separate_fit_would():
    # All resamples at once, as run weights, reach what a fit of each resampled table reaches.
    runs = table1_grid(TABLE7["vit"], noise=1e-3)
    refit = lambda df, starts=2: fit(sparse_law, df, df.loss, COEFF_NAMES, delta=1e-2, starts=starts)
    gain75 = lambda p: float(gain(0.75, p["a_S"], p["b_S"], p["c_S"], p["b_N"]))
    samples = bootstrap(refit, runs, n_boot=3, seed=5, derived={"gain_0.75": gain75})
    assert samples.shape == (3, 8)
    full = refit(runs)
    rng = np.random.default_rng(5)
    for _, row in samples.iterrows():
        sample = runs.iloc[rng.integers(0, len(runs), len(runs))].reset_index(drop=True)
        alone = refit(sample, starts=[full.params]).params
        assert max(rel_err(row[list(COEFF_NAMES)], alone).values()) < 1e-5
        assert row["gain_0.75"] == pytest.approx(gain75(row), rel=1e-12)


def test_bootstrap_needs_the_fit_of_its_rows():
    runs = table1_grid(TABLE7["vit"], noise=1e-3)
    half = lambda df, starts=2: fit(sparse_law, df[:24], df.loss[:24], COEFF_NAMES, starts=starts)
    with pytest.raises(ValueError, match="48 rows of df"):
        bootstrap(half, runs, n_boot=2)


def test_intervals_are_percentiles():
    samples = pd.DataFrame({"x": np.arange(1001.0)})
    table = intervals(samples, level=0.9)
    np.testing.assert_allclose(table.loc["x"], [500.0, 50.0, 950.0])
    assert intervals(samples, estimate={"x": 7.0}).loc["x", "estimate"] == 7.0


@pytest.mark.parametrize("kwargs, message", [
    (dict(params=["a_S", "b_Z"]), r"\['b_Z'\]: not coefficients"),
    (dict(params=["a_S"], fixed={"a_S": 1.0}), "both"),
    (dict(params=["a_S"]), "data lacks"),
    (dict(params=COEFF_NAMES, starts=0), "starts=0"),
    (dict(params=COEFF_NAMES, starts=[{"a_S": 1.0}]), "a start lacks"),
])
def test_bad_input_is_named(kwargs, message):
    runs = table1_grid(TABLE7["t5"], noise=0.0)
    with pytest.raises(ValueError, match=message):
        fit(sparse_law, runs, runs.loss, **kwargs)


def test_log_loss_needs_positive_losses():
    runs = table1_grid(TABLE7["t5"], noise=0.0)
    with pytest.raises(ValueError, match="> 0"):
        fit(sparse_law, runs, -runs.loss, COEFF_NAMES)


@pytest.mark.parametrize("law, inputs, true", [
    (sparse_law, ("S", "N", "D"), TABLE7["t5"]),
    (dense_law, ("N", "D"), dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5)),
    (avg_param_law, ("N_avg", "D"), dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5)),
])
def test_log_forms_are_the_laws(law, inputs, true):
    rng = np.random.default_rng(0)
    data = {"S": rng.uniform(0, 0.95, 50), "N": 10 ** rng.uniform(4, 10, 50), "N_avg": 10 ** rng.uniform(4, 10, 50),
            "D": 10 ** rng.uniform(6, 12, 50)}
    data = {k: data[k] for k in inputs}
    with jax.enable_x64(True):
        form = np.asarray(LOG_FORMS[law](**fitting._log_inputs(data), **true))
    np.testing.assert_allclose(form, law(**data, **true), rtol=1e-12)


def test_irreducible_loss_reaches_zero():
    # c is optimised as it is, not as a log, so a fit can put it at the boundary c = 0.
    true = {**TABLE7["t5"], "c": 0.0}
    runs = table1_grid(true, noise=0.0)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4)
    assert result.converged and result.objective < 1e-12
    assert 0.0 <= result.params["c"] < 1e-6


def test_derived_quantities_are_the_laws():
    result = fit(sparse_law, t := table1_grid(TABLE7["t5"], noise=3e-3), t.loss, COEFF_NAMES, starts=4)
    p = result.params
    table = intervals_of(result, {"g": ("gain", 0.75), "L": ("loss", 0.5, 3e9, 1e11),
                                  "S": ("s_opt", 3e9, 1e22, 6), "S0": ("s_opt", 1e6, 1e11, 6)}, n_boot=8)
    assert table.loc["g", "estimate"] == pytest.approx(gain(0.75, p["a_S"], p["b_S"], p["c_S"], p["b_N"]), rel=1e-10)
    assert table.loc["L", "estimate"] == pytest.approx(sparse_law(0.5, 3e9, 1e11, **p), rel=1e-10)
    assert table.loc["S", "estimate"] == pytest.approx(s_opt(3e9, 1e22, p), rel=1e-8)
    assert 0 < table.loc["S", "estimate"] < 1 and table.loc["S0", "estimate"] == s_opt(1e6, 1e11, p) == 0.0
    assert list(table.index) == [*COEFF_NAMES, "g", "L", "S", "S0"]
    assert (table.estimate[list(COEFF_NAMES)] == pd.Series(p)).all()


def test_intervals_hold_both_parts_and_the_estimate():
    runs = table1_grid(TABLE7["t5"], noise=1e-3)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4)
    table = intervals_of(result, {"g": ("gain", 0.5)}, n_boot=50)
    assert (table.low == np.fmin(table.boot_low, table.profile_low)).all()
    assert (table.high == np.fmax(table.boot_high, table.profile_high)).all()
    assert ((table.profile_low < table.estimate) & (table.estimate < table.profile_high)).all()
    assert table.bounded.all()  # 4 sizes x 3 budgets x 4 sparsities at 0.1% noise pin everything


def test_profile_threshold_is_the_f_test_for_squares():
    # Residuals all inside delta: the Huber loss is r^2 / 2 and the threshold the F-test's,
    # sigma^2 F(1, n - p) / (2 n) with sigma^2 = sum r^2 / (n - p).
    runs = table1_grid(TABLE7["t5"], noise=1e-4)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, delta=1.0, starts=4)
    n, r = len(runs), result.residuals
    expected = np.sum(r**2) / (n - 7) * stats.f.ppf(0.95, 1, n - 7) / (2 * n)
    assert profile_threshold(result) == pytest.approx(expected, rel=1e-3)


def test_unidentifiable_coefficients_are_flagged():
    # One budget: the data term (a_D / D)^b_D + c is one number, so a_D and b_D are free along
    # a curve; their intervals reach 0 and inf and say so, while b_N stays bounded.
    runs = table1_grid(TABLE7["t5"], noise=3e-3)
    one_budget = runs[runs.D == 4e9].reset_index(drop=True)
    result = fit(sparse_law, one_budget, one_budget.loss, COEFF_NAMES, starts=8)
    table = intervals_of(result, n_boot=50)
    assert not table.loc["a_D", "bounded"] and not table.loc["b_D", "bounded"]
    assert table.loc["a_D", "profile_low"] == 0.0 and table.loc["a_D", "profile_high"] == np.inf
    assert table.loc["b_N", "bounded"] and table.loc["b_N", "high"] < 2 * table.loc["b_N", "estimate"]


@pytest.mark.parametrize("derived, message", [
    ({"x": ("gain",)}, r"derived\['x'\]"),
    ({"x": ("slope", 0.5)}, "allowed"),
    ({"b_N": ("gain", 0.5)}, "coefficient names"),
])
def test_bad_derived_quantities_are_named(derived, message):
    runs = table1_grid(TABLE7["t5"], noise=0.0)
    result = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=[TABLE7["t5"]])
    with pytest.raises(ValueError, match=message):
        intervals_of(result, derived, n_boot=2)


def test_derived_quantities_need_the_sparse_law():
    N_avg, D = (x.ravel() for x in np.meshgrid([1e6, 4e6, 1.6e7, 6.4e7], [1e8, 4e8, 1.6e9], indexing="ij"))
    true = dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5)
    result = fit(avg_param_law, dict(N_avg=N_avg, D=D), avg_param_law(N_avg, D, **true), list(true), starts=[true])
    with pytest.raises(ValueError, match="sparse_law"):
        intervals_of(result, {"g": ("gain", 0.5)}, n_boot=2)


def test_bootstrap_starts_free_resamples_from_a_boundary_the_full_fit_is_stuck_at():
    # A fit started at a_S ~ 0 stays there (on the optimiser's log scale no gradient leads back)
    # and so does every resample refitted from it; refitted also from a start with a sparsity
    # term, each resample finds the gain the data have.
    runs = table1_grid(TABLE7["t5"], noise=1e-3)
    stuck = lambda df: fit(sparse_law, df, df.loss, COEFF_NAMES, starts=[{**TABLE7["t5"], "a_S": 1e-60}])
    gain75 = {"gain_0.75": lambda p: float(gain(0.75, p["a_S"], p["b_S"], p["c_S"], p["b_N"]))}
    alone = bootstrap(stuck, runs, n_boot=6, seed=2, derived=gain75)
    np.testing.assert_allclose(alone["gain_0.75"], 1.0, atol=1e-9)
    freed = bootstrap(stuck, runs, n_boot=6, seed=2, derived=gain75, starts=[{"a_S": 1.0, "b_S": 1.0}])
    assert list(freed.columns) == list(alone.columns)
    true = gain(0.75, *(TABLE7["t5"][c] for c in ("a_S", "b_S", "c_S", "b_N")))
    np.testing.assert_allclose(freed["gain_0.75"], true, rtol=0.05)
    with pytest.raises(ValueError, match=r"names \['x'\], not free coefficients"):
        bootstrap(stuck, runs, n_boot=2, starts=[{"x": 1.0}])


def test_an_unbounded_side_ends_at_the_edge_of_the_quantitys_range():
    """Eq. 7's gain is at least 1, S_opt lies in [0, 1], a coefficient is positive: a side the
    profile cannot bound ends there, not beyond."""
    assert fitting._natural(("gain", 0.5), [-np.inf, np.inf]).tolist() == [1.0, np.inf]
    assert fitting._natural(("gain", 0.5), np.log(1.7)) == pytest.approx(1.7)
    assert fitting._natural(("s_opt", 1e5, 1e15, 6.0), [-np.inf, np.inf]).tolist() == [0.0, 1.0]
    assert fitting._natural(("coefficient", "b_N"), [-np.inf, np.inf]).tolist() == [0.0, np.inf]


@pytest.mark.parametrize("family", ["t5", "vit"])
def test_the_reported_quantities_are_kit_laws_equations(family):
    """The JAX forms a fit reports intervals for (Eq. 7's gain, Eq. 1's loss, Eq. 6's optimal
    sparsity) equal kit.laws' numpy functions on Table 7's coefficients."""
    coeffs = dict(TABLE7[family])
    order = tuple(laws.COEFF_NAMES)
    with jax.enable_x64(True):
        params = {k: jax.numpy.asarray(float(v)) for k, v in coeffs.items()}
        value = lambda kind, *args: fitting._natural((kind, *args), fitting._quantity(
            kind, [jax.numpy.asarray(float(a)) for a in args], params, order))
        for S in (0.5, 0.75, 0.875):
            assert value("gain", S) == pytest.approx(laws.gain(S, **coeffs), rel=1e-10)
            assert value("loss", S, 1e9, 1e11) == pytest.approx(laws.sparse_law(S, 1e9, 1e11, **coeffs), rel=1e-10)
        k = TABLE7[family].k
        for N, C in [(1e8, 1e21), (1e9, 1e23)]:
            assert value("s_opt", N, C, k) == pytest.approx(laws.s_opt_closed_form(N, C, TABLE7[family]), abs=1e-10)


def heteroscedastic_grid(coeffs, noise_by_S, seed):
    """table1_grid with a noise of its own at each sparsity (log-normal, noise_by_S[S])."""
    runs = table1_grid(coeffs, noise=0.0)
    rng = np.random.default_rng(seed)
    sigma = runs["S"].map(noise_by_S).to_numpy()
    return runs.assign(loss=runs["loss"] * np.exp(sigma * rng.standard_normal(len(runs))), sigma=sigma)


def test_a_noise_scale_is_the_huber_loss_of_the_residuals_over_it():
    """The compiled objective (weights 1/scale^2, threshold delta x scale) equals the mean Huber loss
    of the standardized residuals that FitResult reports, and equal scales change nothing."""
    runs = heteroscedastic_grid(TABLE7["t5"], {0.0: 0.002, 0.5: 0.004, 0.75: 0.008, 0.875: 0.016}, seed=0)
    scaled = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4, scale=runs.sigma)
    spec = scaled.problem
    O_B = spec.measure(spec.encode(scaled.params))[0]
    assert O_B[0] == pytest.approx(scaled.objective, rel=1e-9)
    assert np.mean(1 / spec.scale**2) == pytest.approx(1.0)
    plain = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4)
    equal = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4, scale=np.full(len(runs), 0.01))
    assert equal.objective == pytest.approx(plain.objective, rel=1e-9)
    for k in COEFF_NAMES:
        assert equal.params[k] == pytest.approx(plain.params[k], rel=1e-6)


def test_weighing_runs_by_their_sparsitys_noise_predicts_better_than_equal_weights():
    """Noise 10x larger at S = 0.875 than dense: over several datasets, the fit that knows it
    predicts the noise-free losses better than the fit that weighs every run alike."""
    noise = {0.0: 0.002, 0.5: 0.004, 0.75: 0.01, 0.875: 0.02}
    true = TABLE7["t5"]
    errors = {"equal": [], "per sparsity": []}
    for seed in range(6):
        runs = heteroscedastic_grid(true, noise, seed)
        exact = sparse_law(runs.S, runs.N, runs.D, **true)
        for name, scale in (("equal", None), ("per sparsity", runs.sigma)):
            found = fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=4, scale=scale).params
            pred = sparse_law(runs.S, runs.N, runs.D, **found)
            errors[name].append(np.sqrt(np.mean(np.log(pred / exact) ** 2)))
    assert np.mean(errors["per sparsity"]) < 0.9 * np.mean(errors["equal"])  # 0.83x measured
    assert sum(a < b for a, b in zip(errors["per sparsity"], errors["equal"])) >= 4  # 5 of 6 measured


def test_a_bad_noise_scale_is_refused():
    runs = table1_grid(TABLE7["t5"], noise=1e-3)
    for bad in (np.zeros(len(runs)), np.ones(3), np.full(len(runs), np.nan)):
        with pytest.raises(ValueError, match="scale: need one finite noise > 0 per run"):
            fit(sparse_law, runs, runs.loss, COEFF_NAMES, starts=1, scale=bad)


def test_a_coefficient_that_underflowed_to_zero_encodes_to_a_finite_start():
    # a fit at an edge can decode a coefficient as exactly 0.0 (exp underflow); refits start from it
    S, N, D = (x.ravel() for x in np.meshgrid([0.0, 0.5, 0.75], [1e7, 3e7, 1e8], [1e9, 4e9], indexing="ij"))
    spec = problem(laws.sparse_law, {"S": S, "N": N, "D": D}, laws.sparse_law(S, N, D, **laws.TABLE7["t5"]),
                   list(laws.COEFF_NAMES))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = spec.encode({**laws.TABLE7["t5"], "c_S": 0.0})
    assert np.isfinite(z).all()
    assert spec.decode(z)["c_S"] < 1e-300 and spec.decode(z)["b_N"] == pytest.approx(laws.TABLE7["t5"]["b_N"])
