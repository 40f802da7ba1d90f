import argparse
import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kit import cli, laws
from kit.chapters import corelaw
from kit.fit import fitting, lawfit, paper
from kit.planner import plan
from kit.laws import TABLE7
from kit.planner.plan import Run, SpeedupCurve

T5, VIT = TABLE7["t5"], TABLE7["vit"]
SPARSITY_KEYS = ("a_S", "b_S", "c_S", "b_N")


def curve(label, S, speedup):
    return SpeedupCurve(label, S, speedup, hardware="a test machine", backend="none", layer="16 -> 64, 8 tokens",
                        date="2026-01-02")


IDEAL = curve("ideal", (0.5, 0.9, 0.95), (2.0, 10.0, 20.0))  # s = 1 / (1 - S): zeros free
SLOW = curve("slow", (0.5, 0.95), (0.3, 0.9))  # sparse kernel never faster: dense costs
# A curve that pays only at high sparsity, as a real kernel does.
REAL = curve("csr-like", (0.5, 0.6, 0.7, 0.8, 0.9, 0.95), (0.4, 0.55, 0.8, 1.4, 3.6, 6.8))
RUNS = [Run(N=1e9, D=20e9), Run(N=200e6, D=100e9, S=0.8), Run(N=3e8, C=1e21, S=0.5), Run(N=2e8, C=6e19, S=None)]


def k_of(coeffs):
    return coeffs.k  # Table 7's laws carry theirs: 3 for T5, 6 for ViT


# ----------------------------------------------------------------------------- the plan against the law


@pytest.mark.parametrize("coeffs", [T5, VIT])
@pytest.mark.parametrize("cost", ["dense", "sparse", REAL])
@pytest.mark.parametrize("run", RUNS)
def test_plan_matches_the_law_evaluated_directly(coeffs, cost, run):
    k = k_of(coeffs)
    p = plan.plan(coeffs, run, cost, k=k)
    c_of = lambda S: plan.cost_multiplier(S, cost)
    # budget: C = k N D c_mul(S), with the given D or C
    assert p.c_mul == pytest.approx(c_of(p.S), rel=1e-12)
    assert p.C == pytest.approx(k * p.N * p.D * p.c_mul, rel=1e-12)
    assert (p.D == run.D) if run.D is not None and run.S is not None else (p.C == pytest.approx(run.C or k * run.N * run.D))
    # loss: Eq. 3; the dense N model at the same compute sees C / (k N) tokens
    assert p.loss == pytest.approx(laws.sparse_law(p.S, p.N, p.D, **coeffs), rel=1e-12)
    assert p.dense_loss == pytest.approx(laws.sparse_law(0.0, p.N, p.C / (k * p.N), **coeffs), rel=1e-12)
    # S_opt: no sparsity on a fine grid (within a measured curve's range) does better at this N and C
    S_grid = np.linspace(0.0, IDEAL.S[-1] if isinstance(cost, SpeedupCurve) else 0.999, 4001)
    grid_loss = laws.sparse_law(S_grid, p.N, p.C / (k * p.N * c_of(S_grid)), **coeffs)
    assert p.loss_opt <= grid_loss.min() + 1e-12
    assert p.loss_opt == pytest.approx(laws.sparse_law(p.S_opt, p.N, p.C / (k * p.N * c_of(p.S_opt)), **coeffs), rel=1e-12)
    assert p.loss_opt <= p.loss + 1e-12 and p.loss_opt <= p.dense_loss + 1e-12
    if run.S is None:
        assert p.S == p.S_opt and p.loss == pytest.approx(p.loss_opt, rel=1e-12)
    # the dense model of Eq. 7 reaches the same loss on the same tokens
    assert laws.sparse_law(0.0, p.gain_N, p.D, **coeffs) == pytest.approx(p.loss, rel=1e-10)
    assert p.gain_C == pytest.approx(k * p.gain_N * p.D, rel=1e-12)
    # the cheapest dense model reaches the same loss, is compute-optimal, and beats both neighbours on the loss curve
    assert laws.sparse_law(0.0, p.cheapest_N, p.cheapest_D, **coeffs) == pytest.approx(p.loss, rel=1e-10)
    assert laws.chinchilla_n_opt(p.cheapest_C, coeffs, k) == pytest.approx(p.cheapest_N, rel=1e-9)
    assert p.cheapest_C <= p.gain_C * (1 + 1e-12)
    # chinchilla: the run's compute over C_chin(N), where N is compute optimal
    C_chin = p.C / p.chinchilla
    assert laws.chinchilla_n_opt(C_chin, coeffs, k) == pytest.approx(p.N, rel=1e-9)


@pytest.mark.parametrize("coeffs", [T5, VIT])
@pytest.mark.parametrize("cost", ["dense", "sparse", REAL])
def test_payoff_is_where_sparse_passes_dense_at_equal_compute(coeffs, cost):
    k, N, S = k_of(coeffs), 2e8, 0.9
    p = plan.plan(coeffs, Run(N=N, D=1e10, S=S), cost, k=k)
    C_pay = k * N * p.payoff_D * p.c_mul
    assert p.payoff_chinchilla == pytest.approx(C_pay / (p.C / p.chinchilla), rel=1e-12)
    for factor, sparse_better in ((0.99, False), (1.01, True)):
        C = C_pay * factor
        sparse = laws.sparse_law(S, N, C / (k * N * p.c_mul), **coeffs)
        dense = laws.sparse_law(0.0, N, C / (k * N), **coeffs)
        assert (sparse < dense) == sparse_better


@pytest.mark.parametrize("coeffs", [T5, VIT])
@pytest.mark.parametrize("cost", ["dense", "sparse", REAL])
def test_optimal_from_is_where_s_opt_reaches_s(coeffs, cost):
    k, N, S = k_of(coeffs), 5e7, 0.85
    m = plan.optimal_from(S, N, coeffs, cost, k=k)
    C_chin = k * N * laws.chinchilla_tokens(N, coeffs)
    assert plan.s_opt(N, m * 0.999 * C_chin, coeffs, cost, k=k) < S <= plan.s_opt(N, m * 1.001 * C_chin, coeffs, cost, k=k)


def test_section_3_3_multiples_as_planner_queries():
    # "50% sparsity is already optimal for < 2x (ViT) and < 3x (T5) longer training than Chinchilla;
    # for dense FLOPs it is ~5x and ~70x"
    from_ = {(name, cost): plan.plan(c, Run(N=1e8, D=1e10, S=0.5), cost, k=k_of(c)).optimal_from
             for name, c in (("vit", VIT), ("t5", T5)) for cost in laws.COSTS}
    assert from_["vit", "sparse"] < 2 and from_["t5", "sparse"] < 3
    assert from_["vit", "dense"] == pytest.approx(5, rel=0.15) and from_["t5", "dense"] == pytest.approx(70, rel=0.15)


# ----------------------------------------------------------------------------- measured costs


def test_ideal_and_slow_curves_give_the_sparse_and_dense_costs():
    S = np.linspace(0.0, 0.95, 40)
    for start, end, kind in ((0.25, 0.75, "cubic"), (0.0, 1.0, "geometric"), (0.5, 0.9, "cubic")):
        np.testing.assert_allclose(plan.cmul_measured(S, IDEAL, start, end, kind), laws.cmul(S, start, end, kind), rtol=2e-6)
        np.testing.assert_allclose(plan.cmul_measured(S, SLOW, start, end, kind), laws.cmul_dense(S), rtol=1e-12)


def test_a_curve_given_as_lists_is_stored_as_tuples():
    lists = curve("lists", [0.5, 0.9], [np.float32(0.5), 2])
    assert lists.S == (0.5, 0.9) and lists.speedup == (0.5, 2.0)
    assert plan.s_opt(1e8, 1e20, T5, lists, 3) == plan.s_opt(1e8, 1e20, T5, lists, 3)  # cached grid


def test_speedup_interpolates_log_speedup_in_log_compression():
    # halfway in r = -ln(1 - S) between 0.5 (r = ln 2) and 0.95 (r = ln 20): r = ln sqrt(40)
    S_mid = 1 - 1 / np.sqrt(40)
    assert plan.speedup_at(S_mid, SLOW) == pytest.approx(np.sqrt(0.3 * 0.9))
    assert plan.speedup_at(0.0, SLOW) == 1.0  # a dense model runs the dense kernel
    np.testing.assert_allclose(plan.speedup_at(np.array([0.5, 0.95]), SLOW), [0.3, 0.9])


@pytest.mark.parametrize("coeffs", [T5, VIT])
def test_ideal_curve_reproduces_the_sparse_cost_optimum(coeffs):
    k, N = k_of(coeffs), np.array([1e7, 1e8, 1e9])
    C = k * N * laws.chinchilla_tokens(N, coeffs) * np.array([0.5, 4.0, 30.0])
    expected = laws.s_opt(N, C, coeffs, "sparse", k)
    assert np.all(expected < 0.94)  # inside the curve's range
    np.testing.assert_allclose(plan.s_opt(N, C, coeffs, IDEAL, k), expected, atol=2e-6)
    assert plan.optimal_from(0.75, 1e8, coeffs, IDEAL, k) == pytest.approx(
        laws.chinchilla_multiple(0.75, 1e8, coeffs, "sparse"), rel=1e-4)


def test_measured_costs_lie_between_the_ideal_ones():
    S = np.linspace(0.0, 0.95, 30)
    c = plan.cmul_measured(S, REAL)
    assert np.all(c >= laws.cmul(S) * (1 - 1e-6)) and np.all(c <= laws.cmul_dense(S) * (1 + 1e-12))
    N, C = 1e8, 3 * 1e8 * laws.chinchilla_tokens(1e8, T5) * 100
    s_dense, s_real, s_sparse = (plan.s_opt(N, C, T5, cost, 3) for cost in ("dense", REAL, "sparse"))
    assert s_dense <= s_real <= s_sparse


def test_optimal_from_is_inf_beyond_the_scan():
    flat = curve("flat", (0.5, 0.9), (1.0, 1.0))  # dense costs
    slow_data = {**T5, "b_D": 0.03}  # data barely helps: S = 0.9 is optimal only far beyond 1e12 Chinchilla
    assert laws.chinchilla_multiple(0.9, 1e8, slow_data, "dense") > 1e12
    assert plan.optimal_from(0.9, 1e8, slow_data, flat, 3) == np.inf
    assert plan.optimal_from(0.9, 1e8, T5, flat, 3) == pytest.approx(laws.chinchilla_multiple(0.9, 1e8, T5, "dense"), rel=1e-4)


# ----------------------------------------------------------------------------- intervals


def test_intervals_span_the_resampled_plans():
    other = {**T5, "b_D": 0.25, "a_S": 20.0}
    samples = pd.DataFrame([T5] * 20 + [other] * 20).assign(derived=1.0)  # extra columns are ignored
    run = Run(N=2e8, D=1e11, S=0.8)
    table = plan.intervals(T5, samples, run, "sparse", k=3)
    a, b = (dataclasses.asdict(plan.plan(c, run, "sparse", k=3)) for c in (T5, other))
    assert list(table.index) == plan.NUMBERS
    for q in plan.NUMBERS:
        assert table.loc[q, "estimate"] == pytest.approx(a[q])
        assert table.loc[q, "low"] == pytest.approx(min(a[q], b[q])) and table.loc[q, "high"] == pytest.approx(max(a[q], b[q]))


def test_intervals_of_the_optimum_and_of_a_dense_run():
    samples = pd.DataFrame([T5] * 5)
    opt = plan.intervals(T5, samples, Run(N=2e8, C=6e19, S=None), REAL, k=3)
    np.testing.assert_allclose(opt.low, opt.estimate) and np.testing.assert_allclose(opt.high, opt.estimate)
    dense = plan.intervals(T5, samples, Run(N=1e9, D=2e10), "dense", k=3)
    assert np.isnan(dense.loc["payoff_D", "low"]) and dense.loc["loss", "low"] == pytest.approx(dense.loc["loss", "estimate"])


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, match", [
    (lambda: Run(N=1e8, D=1e9, S=1.0), r"S=1.0: sparsity must lie in \[0, 1\)"),
    (lambda: Run(N=1e8, D=1e9, S=-0.1), r"S=-0.1: sparsity must lie in \[0, 1\)"),
    (lambda: Run(N=0.0, D=1e9), "N=0.0: must be a finite number > 0"),
    (lambda: Run(N=1e8, C=-1.0), "C=-1.0: must be a finite number > 0"),
    (lambda: Run(N=1e8, D=1e9, C=1e18), "exactly one budget"),
    (lambda: Run(N=1e8), "exactly one budget"),
    (lambda: plan.plan(TABLE7["t5_nm"], Run(N=1e8, D=1e9)), "coefficient set lacks b_N, a_D, b_D, c"),
    (lambda: plan.plan({**T5, "b_D": -0.2}, Run(N=1e8, D=1e9)), "coefficient b_D=-0.2: must be a finite number > 0"),
    (lambda: plan.plan(T5, Run(N=1e8, D=1e9), cost="flops"), "cost='flops': allowed"),
    (lambda: plan.plan(T5, Run(N=1e8, D=1e9), k=0), "k=0: FLOPs per parameter"),
    (lambda: plan.plan(T5, Run(N=1e8, D=1e9, S=0.5), start=0.8, end=0.2), "start <= end"),
    (lambda: plan.plan(T5, Run(N=1e8, D=1e9, S=0.97), cost=REAL), "sparsity 0.97 is beyond the speedup curve 'csr-like'"),
    (lambda: curve("neg", (0.5, 0.9), (1.0, -2.0)), r"speedups \[1.0, -2.0\] must be finite and > 0"),
    (lambda: curve("nan", (0.5, 0.9), (1.0, float("nan"))), "must be finite and > 0"),
    (lambda: curve("order", (0.9, 0.5), (1.0, 2.0)), "must increase strictly within"),
    (lambda: curve("one", (1.0,), (2.0,)), "must increase strictly within"),
    (lambda: curve("len", (0.5, 0.9), (2.0,)), "needs one speedup per sparsity"),
    (lambda: plan.intervals(T5, pd.DataFrame({"a_S": [1.0]}), Run(N=1e8, D=1e9)), "lacking b_S"),
    (lambda: plan.cheapest_dense(0.5, T5), "at or below the law's irreducible loss"),
    (lambda: plan.parse_run("S=0.8,N=2e8,tokens=1e9"), "unknown key 'tokens'"),
    (lambda: plan.parse_run("S=0.8,N=2e8,D1e9"), "got 'D1e9'"),
    (lambda: plan.parse_run("N=2e8,N=3e8,D=1e9"), "N given twice"),
    (lambda: plan.parse_run({"N": 2e8, "D": 1e9, "T": 1}), "unknown key 'T'"),
    (lambda: plan.parse_run(2e8), "expected a string such as"),
    (lambda: plan.parse_run("S=0.8,N=lots,D=1e9"), "N='lots' is not a number"),
    (lambda: plan.parse_run("S=0.8,D=1e9"), "needs N, the non-zero parameters"),
])
def test_bad_input_raises_one_clear_line(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


# ----------------------------------------------------------------------------- the shell


def test_parse_run():
    assert plan.parse_run("S=0.8,N=200e6,D=100e9") == Run(N=200e6, D=100e9, S=0.8)
    assert plan.parse_run("N=1e9,D=20e9") == Run(N=1e9, D=20e9, S=0.0)
    assert plan.parse_run("S=opt,N=1e9,C=6e19") == Run(N=1e9, C=6e19, S=None)
    assert plan.parse_run({"S": 0.8, "N": 200e6, "D": 100e9}) == Run(N=200e6, D=100e9, S=0.8)
    assert plan.parse_run({"S": "opt", "N": 1e9, "C": 6e19}) == plan.parse_run({"S": None, "N": 1e9, "C": 6e19})


def planned(capsys, *runs, **options):
    """`python -m kit plan` on runs with options (kit.cli.PLAN_OPTIONS' names), as JSON."""
    assert cli.plan_command(argparse.Namespace(run=list(runs), json=True, **options)) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_python_m_kit_plan_compares_two_runs():
    argv = ["plan", "--law", "t5", "--run", "N=1e9,D=20e9", "--run", "S=0.8,N=200e6,D=100e9", "--cost", "dense", "sparse"]
    done = subprocess.run([sys.executable, "-m", "kit", *argv, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["k"] == 3 and out["coeffs"] == T5 and out["level"] == 0.95
    by = {(p["cost"], p["run"]): p for p in out["plans"]}
    assert len(by) == 4  # two runs under dense and sparse costs
    dense_1b, sparse_200m = by["dense", "N=1e9,D=20e9"], by["sparse", "S=0.8,N=200e6,D=100e9"]
    assert dense_1b["loss"] == pytest.approx(laws.sparse_law(0.0, 1e9, 20e9, **T5), rel=1e-12)
    assert dense_1b["C"] == pytest.approx(3 * 1e9 * 20e9) and dense_1b["payoff_D"] is None
    assert sparse_200m["loss"] == pytest.approx(laws.sparse_law(0.8, 200e6, 100e9, **T5), rel=1e-12)
    assert sparse_200m["C"] == pytest.approx(3 * 200e6 * 100e9 * laws.cmul(0.8))
    assert by["dense", "S=0.8,N=200e6,D=100e9"]["C"] == pytest.approx(3 * 200e6 * 100e9 / 0.2)
    low, high = sparse_200m["intervals"]["loss"]  # intervals by default, from the law's own samples
    assert low < sparse_200m["loss"] < high
    table = subprocess.run([sys.executable, "-m", "kit", *argv[:-1]], capture_output=True, text=True, timeout=300)
    assert table.returncode == 0 and "lowest loss: run 2" in table.stdout and "predicted loss" in table.stdout
    assert "run 2 95% interval" in table.stdout


def test_plan_with_samples_and_a_law_file(tmp_path, capsys):
    law = tmp_path / "fit.json"
    law.write_text(json.dumps({**VIT, "k": 6}))
    samples = tmp_path / "boot.csv"
    pd.DataFrame([VIT, {**VIT, "b_D": 0.8}] * 10).to_csv(samples, index=False)
    assert cli.main(["plan", "--law", str(law), "--run", "S=0.5,N=1e8,D=1e10", "--cost", "sparse",
                     "--samples", str(samples), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (p,) = out["plans"]
    low, high = p["intervals"]["loss"]
    assert p["loss"] == pytest.approx(laws.sparse_law(0.5, 1e8, 1e10, **VIT))
    assert low == pytest.approx(p["loss"]) and high == pytest.approx(laws.sparse_law(0.5, 1e8, 1e10, **{**VIT, "b_D": 0.8}))
    assert out["notes"] == ["this law states no range of the runs it was fitted on: no query is checked against it"]
    # a law file may name its own samples, relative to itself; without any there are no intervals, and a note says so
    law.write_text(json.dumps({**VIT, "k": 6, "samples": "boot.csv", "data": {"N": [1e6, 1e7]}, "name": "my fit"}))
    out = planned(capsys, "S=0.5,N=1e8,D=1e10", law=str(law), cost=["sparse"])
    assert out["law"] == "my fit" and out["plans"][0]["intervals"]["loss"] == [low, high] and out["notes"] == []
    assert out["plans"][0]["warnings"] == ["N = 1e8 is 10x the largest N of the data this law was fitted on (1e7)"]
    law.write_text(json.dumps({**VIT, "k": 6}))
    out = planned(capsys, "S=0.5,N=1e8,D=1e10", law=str(law), cost=["sparse"])
    assert "intervals" not in out["plans"][0] and out["level"] is None
    assert "this law has no bootstrap samples: no intervals (give --samples CSV)" in out["notes"]


# ----------------------------------------------------------------------------- each law's k, data range and samples


def test_every_route_to_the_t5_law_uses_its_k_of_3(tmp_path, capsys):
    assert (T5.k, VIT.k, plan.load_law("t5-refit").k) == (3, 6, 3)
    S = laws.s_opt(1e9, 1e21, T5)
    assert S == pytest.approx(0.2512, abs=1e-4) and S == laws.s_opt(1e9, 1e21, dict(T5), flops_per_param_token=3)
    assert laws.s_opt(1e9, 1e21, dict(T5)) == pytest.approx(0.1282, abs=1e-4)  # a plain dict counts 6 FLOPs
    assert laws.chinchilla_n_opt(1e21, T5) == laws.chinchilla_n_opt(1e21, T5, 3) != laws.chinchilla_n_opt(1e21, dict(T5))
    assert plan.plan(T5, Run(N=1e9, C=1e21, S=None), "dense").S == S
    assert planned(capsys, "S=opt,N=1e9,C=1e21", cost=["dense"], no_intervals=True)["plans"][0]["S"] == S
    law = tmp_path / "t5.json"
    law.write_text(json.dumps({**T5, "k": 3}))
    out = planned(capsys, "S=opt,N=1e9,C=1e21", law=str(law), cost=["dense"], no_intervals=True)
    assert out["k"] == 3 and out["plans"][0]["S"] == S
    out = planned(capsys, "S=opt,N=1e9,C=1e21", cost=["dense"], k="6", no_intervals=True)  # --k overrides the law's
    assert out["k"] == 6 and out["plans"][0]["S"] == pytest.approx(0.1282, abs=1e-4)


@pytest.mark.parametrize("name", plan.NAMED_LAWS)
def test_every_named_law_carries_its_data_range_and_200_bootstrap_samples(name):
    law = plan.load_law(name)
    assert law.data == paper.data_range(paper.load_vit() if name == "vit" else paper.load_t5())
    samples = plan.read_samples(law.samples)
    assert list(samples.columns) == list(laws.COEFF_NAMES) and len(samples) == 200
    assert (samples.drop(columns="c") > 0).all().all() and (samples.c >= 0).all()
    # refits of resampled runs: they scatter around the fit of all runs (for ViT, Table 7 to three digits)
    centre = pd.Series(VIT if name == "vit" else plan.load_law("t5-refit"))
    assert ((samples.quantile(0.025) < centre) & (centre < samples.quantile(0.975))).all()


def test_t5_refit_is_the_books_fit_of_the_authors_runs_with_its_resamples():
    law, t5 = plan.load_law("t5-refit"), paper.load_t5()
    fit_fn = lambda df: lawfit.fit_family(df, "t5", starts=16, seed=0)
    fit = fit_fn(t5)
    assert dict(law) == pytest.approx(fit.params, rel=1e-6)
    assert corelaw.objective(t5, law, "t5") == pytest.approx(4.88e-6, rel=0.01)  # Table 7's: 7.64e-6
    assert corelaw.objective(t5, T5, "t5") == pytest.approx(7.64e-6, rel=0.01)
    assert (law["b_S"], law["b_D"], law["c"]) == pytest.approx((1.345, 0.3846, 0.8304), abs=1e-3)
    samples = plan.read_samples(law.samples)
    assert T5["b_S"] < samples.b_S.quantile(0.025)  # Table 7's b_S is not where refits of its runs land
    again = fitting.bootstrap(fit_fn, t5, n_boot=3, seed=0)  # scripts/fit_laws.py's first three resamples
    np.testing.assert_allclose(again[list(laws.COEFF_NAMES)], samples.head(3), rtol=1e-4, atol=1e-9)


def test_the_refit_flips_the_dense_flops_answer_to_the_7b_2t_question():
    refit, run, half = plan.load_law("t5-refit"), Run(N=7e9, D=2e12), Run(N=7e9, C=3 * 7e9 * 2e12, S=0.5)
    table7, ours = plan.plan(T5, run, "dense"), plan.plan(refit, run, "dense")
    assert table7.S_opt == pytest.approx(0.1539, abs=1e-4) and ours.S_opt == pytest.approx(0.5663, abs=1e-4)
    # at the dense model's compute, 50% sparsity (half the tokens) loses under Table 7 and wins under the refit
    assert plan.plan(T5, half, "dense").loss > table7.loss and plan.plan(refit, half, "dense").loss < ours.loss
    # the intervals from the same resamples span both answers: the T5 runs do not pin S_opt this far out
    bounds = plan.intervals(T5, plan.read_samples(T5.samples), run, "dense")
    assert bounds.loc["S_opt", "low"] < table7.S_opt < ours.S_opt < bounds.loc["S_opt", "high"]
    assert (bounds.loc["S_opt", "low"], bounds.loc["S_opt", "high"]) == pytest.approx((0.035, 0.793), abs=1e-3)


def test_the_7b_2t_question_warns_how_far_it_leaves_the_t5_data(capsys):
    p = plan.plan(T5, Run(N=7e9, D=2e12), "dense")
    assert [(o["quantity"], o["side"]) for o in p.outside] == [("N", "above"), ("D", "above")]
    assert p.outside[0]["factor"] == pytest.approx(7e9 / 84_934_656) and p.outside[1]["factor"] == pytest.approx(2e12 / 65_536e6)
    assert p.warnings == ("N = 7e9 is 82.4x the largest N of the data this law was fitted on (8.49e7)",
                          "D = 2e12 is 30.5x the largest D of the data this law was fitted on (6.55e10)")
    out = planned(capsys, "N=7e9,D=2e12", cost=["dense"], no_intervals=True)
    assert out["plans"][0]["warnings"] == list(p.warnings) and out["plans"][0]["outside"][0]["limit"] == 84_934_656
    assert cli.plan_command(argparse.Namespace(run=["N=7e9,D=2e12"], cost=["dense"])) == 0
    text = capsys.readouterr().out
    assert "warning: run 1: N = 7e9 is 82.4x the largest N of the data this law was fitted on (8.49e7)" in text
    assert "fitted on runs with S 0 to 0.875, N 1.33e6 to 8.49e7, D 1.64e10 to 6.55e10" in text
    assert "95% intervals: percentiles over the 200 bootstrap samples of" in text and "run 1 95% interval" in text


def test_range_warnings_below_the_data_and_beyond_its_sparsity():
    p = plan.plan(T5, Run(N=1e5, D=2e10, S=0.95), "sparse")
    assert [(o["quantity"], o["side"]) for o in p.outside] == [("S", "above"), ("N", "below"), ("S_opt", "above")]
    assert p.outside[0]["factor"] == pytest.approx(0.125 / 0.05) and p.outside[1]["factor"] == pytest.approx(1_327_104 / 1e5)
    assert p.warnings[:2] == ("S = 0.95 is beyond the largest S of the data this law was fitted on (0.875): its density "
                          "1 - S = 0.05 is 2.5x below the data's",
                          "N = 1e5 is 13.3x below the smallest N of the data this law was fitted on (1.33e6)")
    far = plan.plan(T5, Run(N=1.4e6, D=6.5e10, S=0.5), "sparse")  # inside the data, but its optimum is not
    assert far.S_opt == pytest.approx(0.8793, abs=1e-4) and [o["quantity"] for o in far.outside] == ["S_opt"]
    assert far.warnings == ("the optimal sparsity S_opt = 0.8793 is beyond the largest S of the data this law was "
                            "fitted on (0.875): its density 1 - S = 0.1207 is 1.035x below the data's",)
    assert plan.plan(T5, Run(N=5e7, D=3e10, S=0.5), "dense").warnings == ()
    assert plan.plan(dict(T5), Run(N=7e9, D=2e12), "dense", k=3).outside == ()  # a plain dict states no range


def test_degenerate_budgets_warn_one_line_each():
    one_flop = plan.plan(T5, Run(N=1e9, C=1.0), "dense")
    assert plan.budget_warnings(one_flop) == [
        "C = 1 FLOPs buys D = 3.33e-10 tokens, less than one token",
        "the predicted loss 5227 is so high that the cheapest dense model reaching it has N = 3.44e-07 parameters "
        "and D = 6.51e-09 tokens"]
    assert one_flop.warnings[-2:] == tuple(plan.budget_warnings(one_flop))
    assert plan.budget_warnings(plan.plan(T5, Run(N=1e8, D=1e7), "dense")) == [
        "D = 1e7 tokens is fewer than the N = 1e8 non-zero parameters it trains (0.00538x the Chinchilla compute of N)"]
    assert plan.budget_warnings(plan.plan(T5, Run(N=0.5, D=1e9), "dense"))[0] == "N = 0.5 is less than one non-zero parameter"
    assert plan.budget_warnings(plan.plan(T5, Run(N=1e8, D=1e7 * 1e3), "dense")) == []


def test_gain_and_friends_take_a_law():
    assert laws.gain(0.5, **T5) == laws.gain(0.5, *(T5[c] for c in SPARSITY_KEYS)) == pytest.approx(1.5874, abs=1e-4)
    p = plan.plan(T5, Run(N=1e8, D=1e10, S=0.5), "dense")
    assert p.gain_N == pytest.approx(laws.gain(0.5, **T5) * 1e8)
    assert plan.cheapest_dense(p.loss, T5)[2] == pytest.approx(3 * p.cheapest_N * p.cheapest_D)


# ----------------------------------------------------------------------------- measured costs from the shell


def test_the_measured_cost_names_its_hardware_and_date_and_is_not_a_default(capsys):
    assert "measured" not in cli.PLAN_OPTIONS["cost"]
    out = planned(capsys, "S=0.9,N=2e8,D=1e11", cost=["measured"], no_intervals=True)
    (m,) = out["measured"]
    assert (m["kernel"], m["hardware"], m["layer"], m["date"]) == (
        "jax-bcsr", "one core of a 2-core AMD EPYC CPU", "t5-base (768 -> 3072, 512 tokens)", "2026-11-29")
    assert m["backend"] == "jax 0.10.2 BCSR vs XLA dense, cpu" and m["S"] == [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    label = ("measured: jax-bcsr at t5-base (768 -> 3072, 512 tokens) on one core of a 2-core AMD EPYC CPU "
             "(jax 0.10.2 BCSR vs XLA dense, cpu), measured 2026-11-29")
    assert out["plans"][0]["cost"] == label
    assert cli.plan_command(argparse.Namespace(run=["S=0.9,N=2e8,D=1e11"], cost=["measured"], no_intervals=True)) == 0
    assert f"cost: {label}" in capsys.readouterr().out


SPEED_TABLE = {"kernel": "cusparselt-2:4", "hardware": "NVIDIA A100-SXM4-80GB", "backend": "cuSPARSELt 0.6",
               "layer": "4096 -> 16384, 8192 tokens", "date": "2025-03-01", "S": [0.5, 0.9], "speedup": [2.0, 10.0]}


def test_a_speed_table_of_ones_own_is_a_cost_model(tmp_path, capsys):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(SPEED_TABLE))  # the ideal speedup 1 / (1 - S): zeros free
    out = planned(capsys, "S=0.9,N=2e8,D=1e11", cost=["measured", "sparse"], speedup=str(path), no_intervals=True)
    measured, sparse = out["plans"]
    assert measured["c_mul"] == pytest.approx(sparse["c_mul"], rel=1e-5) and measured["loss"] == sparse["loss"]
    assert out["measured"][0] == SPEED_TABLE and "NVIDIA A100-SXM4-80GB" in measured["cost"]


@pytest.mark.parametrize("table, message", [
    ({**SPEED_TABLE, "date": "March 2025"}, "date 'March 2025' is not an ISO date"),
    ({**SPEED_TABLE, "hardware": ""}, "hardware must be a non-empty string"),
    ({k: v for k, v in SPEED_TABLE.items() if k != "date"}, "neither kit.planner.sparse_speed measurements nor a speed table"),
    ({**SPEED_TABLE, "S": ["half"], "speedup": [2.0]}, "S and speedup must be lists of numbers"),
    ({**SPEED_TABLE, "S": [0.9, 0.5]}, "must increase strictly"),
])
def test_bad_speed_tables_are_refused_with_one_line(tmp_path, capsys, table, message):
    path = tmp_path / "gpu.json"
    path.write_text(json.dumps(table))
    assert cli.main(["plan", "--run", "S=0.5,N=2e8,D=1e11", "--cost", "measured", "--speedup", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1


@pytest.mark.parametrize("content, message", [
    ({**VIT}, "states no k, the FLOPs per non-zero parameter and token: add \"k\": 6"),
    ({**VIT, "k": "6"}, "k='6': FLOPs per parameter and token must be a finite number > 0"),
    ({**VIT, "k": 0}, "k=0: FLOPs per parameter"),
    ({**VIT, "k": 6, "K": 6}, "unknown key 'K'"),
    ({**VIT, "k": 6, "data": {"N": [2e7, 1e6]}}, "data range 'N'"),
    ({**VIT, "k": 6, "data": {"tokens": [1, 2]}}, "data range 'tokens'"),
    ({"a_S": 1.0, "k": 6}, "coefficient set lacks b_S"),
    ({**VIT, "k": 6, "data": [[1, 2]]}, "data range [[1, 2]]; expected a dict"),
    ({**VIT, "k": 6, "samples": 3}, "samples must be a string; got 3"),
    ({**VIT, "k": 6, "c": -1}, "coefficient c=-1.0: must be a finite number >= 0"),
    ([1, 2], "must hold one JSON object"),
])
def test_bad_law_files_are_refused_with_one_line(tmp_path, capsys, content, message):
    path = tmp_path / "law.json"
    path.write_text(json.dumps(content))
    assert cli.main(["plan", "--run", "S=0.5,N=2e8,D=1e11", "--law", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["--run", "S=1,N=2e8,D=1e11"], "S=1.0: sparsity must lie in [0, 1)"),
    (["--run", "S=0.5,N=-2e8,D=1e11"], "N=-200000000.0: must be a finite number > 0"),
    (["--run", "S=0.5,N=2e8"], "exactly one budget"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--cost", "free"], "--cost 'free': allowed dense, sparse, measured"),
    (["--run", "S=0.98,N=2e8,D=1e11", "--cost", "measured"], "is beyond the speedup curve"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--cost", "measured", "--kernel", "cusparse"], "no unstructured measurements"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--law", "gpt"], "--law 'gpt': neither t5, vit, t5-refit nor a readable JSON law file"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--samples", "/nonexistent.csv"], "bootstrap samples '/nonexistent.csv': not a readable CSV"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--window", "0.5", "x"], "--window='x': expected a number"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--schedule", "linear"], "kind='linear'"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--k", "-6"], "k=-6.0: FLOPs per parameter"),
    ([], "give at least one --run"),
])
def test_plan_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert cli.main(["plan", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err and err.count("\n") == 1
