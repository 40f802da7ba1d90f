import numpy as np
import pandas as pd
import pytest

from kit.fit import lawfit, paper
from kit import laws
from kit.laws import COEFF_NAMES, TABLE7


def sweep(coeffs, noise, seed=0):
    """4 sizes x 3 budgets x 4 sparsities of Eq. 1 with log-normal noise, as a law frame."""
    S, N, D = (x.ravel() for x in np.meshgrid(
        [0.0, 0.5, 0.75, 0.875], [2e6, 8e6, 3e7, 1e8], [1e9, 4e9, 1.6e10], indexing="ij"))
    loss = laws.sparse_law(S, N, D, **coeffs) * np.exp(noise * np.random.default_rng(seed).standard_normal(S.shape))
    return pd.DataFrame(dict(S=S, N=N, D=D, loss=loss))


def test_families_fit_with_their_settings():
    runs = sweep(TABLE7["vit"], noise=1e-3)
    vit = lawfit.fit_family(runs, "vit", starts=4)
    assert vit.problem.log_loss is False and vit.problem.delta == 1e-2
    assert max(abs(vit.params[k] / v - 1) for k, v in TABLE7["vit"].items()) < 0.05
    ours = lawfit.fit_family(runs, starts=[vit.params])
    assert ours.problem.log_loss is True and ours.problem.delta == 1e-3
    assert list(ours.params) == list(COEFF_NAMES)


def test_fixed_coefficients_are_not_fitted():
    # Chapter 4's n:m fit: the dense part held at the unstructured fit's values.
    true = {**TABLE7["t5"], **TABLE7["t5_nm"]}
    runs = sweep(true, noise=1e-3)
    dense_part = {k: TABLE7["t5"][k] for k in ("b_N", "a_D", "b_D", "c")}
    result = lawfit.fit_family(runs, "nm", fixed=dense_part, starts=4)
    assert result.problem.names == ("a_S", "b_S", "c_S")
    assert {k: result.params[k] for k in dense_part} == dense_part


def test_dense_laws_fit_their_own_coefficients():
    true = dict(a_N=3e8, b_N=0.3, a_D=5e9, b_D=0.35, c=1.5)
    N_avg, D = (x.ravel() for x in np.meshgrid([1e6, 4e6, 1.6e7, 6.4e7], [1e8, 4e8, 1.6e9], indexing="ij"))
    runs = pd.DataFrame(dict(N_avg=N_avg, D=D, loss=laws.avg_param_law(N_avg, D, **true)))
    result = lawfit.fit_family(runs, law=laws.avg_param_law, starts=4)
    assert max(abs(result.params[k] / v - 1) for k, v in true.items()) < 1e-3


def test_derived_quantities_are_named_for_the_book():
    derived = lawfit.derived_quantities(points={"T5-XL": (0.75, 6e8, 3.3e10)}, optima={"N=6e8": (6e8, 1e22)},
                                        flops_per_param_token=3)
    assert derived == {"gain(0.5)": ("gain", 0.5), "gain(0.75)": ("gain", 0.75), "gain(0.875)": ("gain", 0.875),
                       "L(T5-XL)": ("loss", 0.75, 6e8, 3.3e10), "S_opt(N=6e8)": ("s_opt", 6e8, 1e22, 3.0)}


def test_fit_with_intervals_reports_every_coefficient_and_quantity():
    runs = sweep(TABLE7["t5"], noise=3e-3)
    derived = lawfit.derived_quantities(points={"XL": (0.75, 6e8, 3.3e10)})
    fitted = lawfit.fit_with_intervals(runs, "t5", derived=derived, starts=8, n_boot=40)
    table, p = fitted.intervals, fitted.result.params
    assert list(table.index) == [*COEFF_NAMES, "gain(0.5)", "gain(0.75)", "gain(0.875)", "L(XL)"]
    assert table.loc["L(XL)", "estimate"] == pytest.approx(laws.sparse_law(0.75, 6e8, 3.3e10, **p), rel=1e-10)
    assert ((table.low <= table.estimate) & (table.estimate <= table.high)).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(family="gpt"), "family='gpt'"),
    (dict(law=laws.gain), "law 'gain'"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lawfit.fit_family(sweep(TABLE7["t5"], noise=0.0), **kwargs)


def test_frame_needs_a_loss_column():
    with pytest.raises(ValueError, match="'loss'"):
        lawfit.fit_family(sweep(TABLE7["t5"], noise=0.0).rename(columns={"loss": "val_loss"}))


def test_sparsity_noise_pools_the_seed_spread_of_each_sparsity_and_budget_on_log_loss():
    truth, ratios = {(0.0, 1e6): 0.02, (0.0, 4e6): 0.004, (0.75, 1e6): 0.02, (0.75, 4e6): 0.02}, {}
    for seed in range(12):
        rng = np.random.default_rng(seed)
        rows = [{"S": S, "N": N, "D": D, "loss": 2.0 * np.exp(sigma * rng.standard_normal())}
                for (S, D), sigma in truth.items() for N in (1e4, 4e4, 1.6e5) for _ in range(6)]
        found = lawfit.sparsity_noise(pd.DataFrame(rows))
        assert {(S, D) for S, by_D in found.items() for D in by_D} == set(truth)
        for (S, D), sigma in truth.items():
            ratios.setdefault((S, D), []).append(found[S][D] / sigma)
    for key, r in ratios.items():  # 15 degrees of freedom per dataset: each within 60%, the mean of 12 within 12%
        assert max(abs(np.array(r) - 1)) < 0.6 and np.mean(r) == pytest.approx(1.0, abs=0.12), key


def test_fit_family_with_noise_per_sparsity_scales_each_run_by_its_noise():
    runs = paper.load_t5()
    D = sorted(runs.D.unique())
    noise = {0.0: {D[0]: 0.002, D[-1]: 0.002}, 0.875: {D[0]: 0.008, D[-1]: 0.008}}
    result = lawfit.fit_family(runs, "t5", starts=2, noise=noise)
    scale = result.problem.scale
    dense, sparse = scale[runs.S.to_numpy() == 0].mean(), scale[runs.S.to_numpy() == 0.875].mean()
    assert sparse / dense == pytest.approx(4.0)
    np.testing.assert_allclose(lawfit.run_noise(runs, noise)[runs.S.to_numpy() == 0.5], 0.002 + 0.5 / 0.875 * 0.006)
