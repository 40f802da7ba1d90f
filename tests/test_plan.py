import dataclasses
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from kit import cli, laws, plan
from kit.laws import TABLE7
from kit.plan import Run, SpeedupCurve

T5, VIT = TABLE7["t5"], TABLE7["vit"]
SPARSITY_KEYS = ("a_S", "b_S", "c_S", "b_N")
IDEAL = SpeedupCurve("ideal", (0.5, 0.9, 0.95), (2.0, 10.0, 20.0))  # s = 1 / (1 - S): zeros free
SLOW = SpeedupCurve("slow", (0.5, 0.95), (0.3, 0.9))  # sparse kernel never faster: dense costs
# A curve that pays only at high sparsity, as a real kernel does.
REAL = SpeedupCurve("csr-like", (0.5, 0.6, 0.7, 0.8, 0.9, 0.95), (0.4, 0.55, 0.8, 1.4, 3.6, 6.8))
RUNS = [Run(N=1e9, D=20e9), Run(N=200e6, D=100e9, S=0.8), Run(N=3e8, C=1e21, S=0.5), Run(N=2e8, C=6e19, S=None)]


def k_of(coeffs):
    return 3 if coeffs is T5 else 6


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
    C_chin = k * N * plan.chinchilla_tokens(N, coeffs)
    assert plan.s_opt(N, m * 0.999 * C_chin, coeffs, cost, k=k) < S <= plan.s_opt(N, m * 1.001 * C_chin, coeffs, cost, k=k)


def test_section_3_3_multiples_as_planner_queries():
    # "50% sparsity is already optimal for < 2x (ViT) and < 3x (T5) longer training than Chinchilla;
    # for dense FLOPs it is ~5x and ~70x"
    from_ = {(name, cost): plan.plan(c, Run(N=1e8, D=1e10, S=0.5), cost, k=k_of(c)).optimal_from
             for name, c in (("vit", VIT), ("t5", T5)) for cost in laws.COSTS}
    assert from_["vit", "sparse"] < 2 and from_["t5", "sparse"] < 3
    assert from_["vit", "dense"] == pytest.approx(5, rel=0.15) and from_["t5", "dense"] == pytest.approx(70, rel=0.15)


def test_chinchilla_tokens_inverts_chinchilla_n_opt():
    N = np.geomspace(1e6, 1e11, 6)
    for coeffs in (T5, VIT):
        D = plan.chinchilla_tokens(N, coeffs)
        np.testing.assert_allclose(laws.chinchilla_n_opt(6 * N * D, coeffs, 6), N, rtol=1e-10)


# ----------------------------------------------------------------------------- measured costs


def test_ideal_and_slow_curves_give_the_sparse_and_dense_costs():
    S = np.linspace(0.0, 0.95, 40)
    for start, end, kind in ((0.25, 0.75, "cubic"), (0.0, 1.0, "geometric"), (0.5, 0.9, "cubic")):
        np.testing.assert_allclose(plan.cmul_measured(S, IDEAL, start, end, kind), laws.cmul(S, start, end, kind), rtol=2e-6)
        np.testing.assert_allclose(plan.cmul_measured(S, SLOW, start, end, kind), laws.cmul_dense(S), rtol=1e-12)


def test_a_curve_given_as_lists_is_stored_as_tuples():
    curve = SpeedupCurve("lists", [0.5, 0.9], [np.float32(0.5), 2])
    assert curve.S == (0.5, 0.9) and curve.speedup == (0.5, 2.0)
    assert plan.s_opt(1e8, 1e20, T5, curve, 3) == plan.s_opt(1e8, 1e20, T5, curve, 3)  # cached grid


def test_speedup_interpolates_log_speedup_in_log_compression():
    # halfway in r = -ln(1 - S) between 0.5 (r = ln 2) and 0.95 (r = ln 20): r = ln sqrt(40)
    S_mid = 1 - 1 / np.sqrt(40)
    assert plan.speedup_at(S_mid, SLOW) == pytest.approx(np.sqrt(0.3 * 0.9))
    assert plan.speedup_at(0.0, SLOW) == 1.0  # a dense model runs the dense kernel
    np.testing.assert_allclose(plan.speedup_at(np.array([0.5, 0.95]), SLOW), [0.3, 0.9])


@pytest.mark.parametrize("coeffs", [T5, VIT])
def test_ideal_curve_reproduces_the_sparse_cost_optimum(coeffs):
    k, N = k_of(coeffs), np.array([1e7, 1e8, 1e9])
    C = k * N * plan.chinchilla_tokens(N, coeffs) * np.array([0.5, 4.0, 30.0])
    expected = laws.s_opt(N, C, coeffs, "sparse", k)
    assert np.all(expected < 0.94)  # inside the curve's range
    np.testing.assert_allclose(plan.s_opt(N, C, coeffs, IDEAL, k), expected, atol=2e-6)
    assert plan.optimal_from(0.75, 1e8, coeffs, IDEAL, k) == pytest.approx(
        laws.chinchilla_multiple(0.75, 1e8, coeffs, "sparse"), rel=1e-4)


def test_measured_costs_lie_between_the_ideal_ones():
    S = np.linspace(0.0, 0.95, 30)
    c = plan.cmul_measured(S, REAL)
    assert np.all(c >= laws.cmul(S) * (1 - 1e-6)) and np.all(c <= laws.cmul_dense(S) * (1 + 1e-12))
    N, C = 1e8, 3 * 1e8 * plan.chinchilla_tokens(1e8, T5) * 100
    s_dense, s_real, s_sparse = (plan.s_opt(N, C, T5, cost, 3) for cost in ("dense", REAL, "sparse"))
    assert s_dense <= s_real <= s_sparse


def test_optimal_from_is_inf_beyond_the_scan():
    flat = SpeedupCurve("flat", (0.5, 0.9), (1.0, 1.0))  # dense costs
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
    (lambda: SpeedupCurve("neg", (0.5, 0.9), (1.0, -2.0)), r"speedups \[1.0, -2.0\] must be finite and > 0"),
    (lambda: SpeedupCurve("nan", (0.5, 0.9), (1.0, float("nan"))), "must be finite and > 0"),
    (lambda: SpeedupCurve("order", (0.9, 0.5), (1.0, 2.0)), "must increase strictly within"),
    (lambda: SpeedupCurve("one", (1.0,), (2.0,)), "must increase strictly within"),
    (lambda: SpeedupCurve("len", (0.5, 0.9), (2.0,)), "needs one speedup per sparsity"),
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


def test_python_m_kit_plan_compares_two_runs():
    argv = ["plan", "--law", "t5", "--run", "N=1e9,D=20e9", "--run", "S=0.8,N=200e6,D=100e9"]
    done = subprocess.run([sys.executable, "-m", "kit", *argv, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["k"] == 3 and out["coeffs"] == T5
    by = {(p["cost"].split(":")[0], p["run"]): p for p in out["plans"]}
    assert len(by) == 6  # two runs under dense, sparse and measured costs
    dense_1b, sparse_200m = by["dense", "N=1e9,D=20e9"], by["sparse", "S=0.8,N=200e6,D=100e9"]
    assert dense_1b["loss"] == pytest.approx(laws.sparse_law(0.0, 1e9, 20e9, **T5), rel=1e-12)
    assert dense_1b["C"] == pytest.approx(3 * 1e9 * 20e9) and dense_1b["payoff_D"] is None
    assert sparse_200m["loss"] == pytest.approx(laws.sparse_law(0.8, 200e6, 100e9, **T5), rel=1e-12)
    assert sparse_200m["C"] == pytest.approx(3 * 200e6 * 100e9 * laws.cmul(0.8))
    assert by["dense", "S=0.8,N=200e6,D=100e9"]["C"] == pytest.approx(3 * 200e6 * 100e9 / 0.2)
    measured = by["measured", "S=0.8,N=200e6,D=100e9"]["C"]
    assert sparse_200m["C"] <= measured <= 3 * 200e6 * 100e9 / 0.2 * (1 + 1e-12)
    table = subprocess.run([sys.executable, "-m", "kit", *argv, "--cost", "sparse"], capture_output=True, text=True,
                           timeout=300)
    assert table.returncode == 0 and "lowest loss: run 2" in table.stdout and "predicted loss" in table.stdout


def test_plan_with_samples_and_a_coefficient_file(tmp_path, capsys):
    law = tmp_path / "fit.json"
    law.write_text(json.dumps(VIT))
    samples = tmp_path / "boot.csv"
    pd.DataFrame([VIT, {**VIT, "b_D": 0.8}] * 10).to_csv(samples, index=False)
    assert cli.main(["plan", "--law", str(law), "--run", "S=0.5,N=1e8,D=1e10", "--cost", "sparse",
                     "--samples", str(samples), "--json"]) == 0
    (p,) = json.loads(capsys.readouterr().out)["plans"]
    low, high = p["intervals"]["loss"]
    assert p["loss"] == pytest.approx(laws.sparse_law(0.5, 1e8, 1e10, **VIT))
    assert low == pytest.approx(p["loss"]) and high == pytest.approx(laws.sparse_law(0.5, 1e8, 1e10, **{**VIT, "b_D": 0.8}))


@pytest.mark.parametrize("argv, message", [
    (["--run", "S=1,N=2e8,D=1e11"], "S=1.0: sparsity must lie in [0, 1)"),
    (["--run", "S=0.5,N=-2e8,D=1e11"], "N=-200000000.0: must be a finite number > 0"),
    (["--run", "S=0.5,N=2e8"], "exactly one budget"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--cost", "free"], "--cost 'free': allowed dense, sparse, measured"),
    (["--run", "S=0.98,N=2e8,D=1e11", "--cost", "measured"], "is beyond the speedup curve"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--cost", "measured", "--kernel", "cusparse"], "no unstructured measurements"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--law", "gpt"], "--law 'gpt': neither 't5', 'vit' nor a readable JSON"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--window", "0.5", "x"], "--window='x': expected a number"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--schedule", "linear"], "kind='linear'"),
    (["--run", "S=0.5,N=2e8,D=1e11", "--k", "-6"], "k=-6.0: FLOPs per parameter"),
    ([], "give at least one --run"),
])
def test_plan_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert cli.main(["plan", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err and err.count("\n") == 1
