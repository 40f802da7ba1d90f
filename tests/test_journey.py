import numpy as np
import pandas as pd
import pytest

from kit.chapters import journey
from kit.fit import noise


def sweep(loss_at):
    """A sweep of two panels over three windows; loss_at maps (panel, start, end) -> loss."""
    rows = [{"tokens": d, "sparsity": 0.5, "prune_start": a, "prune_end": b, "loss": loss_at(d, a, b)}
            for d in (100, 200) for a, b in [(0.0, 0.5), (0.25, 0.75), (0.5, 1.0)]]
    return pd.DataFrame(rows)


def test_window_gaps_measure_the_window_against_each_panels_best():
    losses = {(100, 0.0): 2.30, (100, 0.25): 2.25, (100, 0.5): 2.20, (200, 0.0): 2.10, (200, 0.25): 2.00,
              (200, 0.5): 2.05}
    gaps = journey.window_gaps(sweep(lambda d, a, b: losses[d, a]), ["tokens", "sparsity"])
    assert gaps.index.names == ["tokens", "sparsity"]
    assert gaps["gap"].tolist() == pytest.approx([0.05, 0.0])
    assert gaps["rank"].tolist() == [2, 1]
    assert gaps["best_start"].tolist() == [0.5, 0.25] and gaps["windows"].tolist() == [3, 3]
    assert gaps["at"].tolist() == pytest.approx([2.25, 2.00])
    one = journey.window_gaps(sweep(lambda d, a, b: losses[d, a]), ["tokens"])
    assert one.index.name == "tokens" and one["gap"].tolist() == pytest.approx([0.05, 0.0])


def test_window_gaps_need_the_window_in_every_panel():
    frame = sweep(lambda d, a, b: 2.0)
    with pytest.raises(ValueError, match=r"has 0 runs at the window \(0.3, 0.7\)"):
        journey.window_gaps(frame, ["tokens"], window=(0.3, 0.7))
    with pytest.raises(ValueError, match="lacks columns"):
        journey.window_gaps(frame.drop(columns="loss"), ["tokens"])


def test_pooled_gap_averages_panels_with_the_noise_of_two_runs_each():
    estimate, low, high = journey.pooled_gap([0.01, 0.03], [0.02, 0.04], [8, 12], level=0.95)
    assert estimate == pytest.approx(0.02)
    se = np.sqrt(2 * 0.02**2 + 2 * 0.04**2) / 2
    assert (high - low) / 2 == pytest.approx(noise.t_interval(0, se, 8)[2])  # the smallest dof
    # one sigma for every panel broadcasts
    assert journey.pooled_gap([0.0, 0.0, 0.0, 0.0], 0.02, 10)[2] == pytest.approx(
        noise.t_interval(0, np.sqrt(4 * 2 * 0.02**2) / 4, 10)[2])


def test_pooled_gap_interval_covers_the_true_mean_gap():
    # panels whose two runs differ by a true 0.01, with seed noise 0.02: the 95% interval of the
    # mean over 8 panels contains 0.01 in about 95% of draws (sigma known: many dof)
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(2000):
        gap = 0.01 + rng.normal(0, 0.02, 8) - rng.normal(0, 0.02, 8)
        _, low, high = journey.pooled_gap(gap, 0.02, 10_000)
        hits += low <= 0.01 <= high
    assert abs(hits / 2000 - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 2000)


def test_matched_differences_per_pair():
    frame = pd.DataFrame({"pair": [0.5] * 4 + [0.75] * 3, "role": ["sparse", "sparse", "dense", "dense",
                                                                    "sparse", "dense", "dense"],
                          "loss": [2.1, 2.3, 2.0, 2.0, 2.5, 2.2, 2.4], "N_avg": [15, 15, 14, 14, 30, 29, 29]})
    table = journey.matched_differences(frame, sigma=0.05, dof=10)
    assert table.index.name == "pair" and list(table.index) == [0.5, 0.75]
    assert table["difference"].tolist() == pytest.approx([0.2, 0.2])
    assert table["loss sparse"].tolist() == pytest.approx([2.2, 2.5])
    assert table[["sparse runs", "dense runs"]].values.tolist() == [[2, 2], [1, 2]]
    half = (table["high"] - table["low"]) / 2
    assert half.tolist() == pytest.approx([noise.t_interval(0, 0.05 * np.sqrt(1 / n + 1 / 2), 10)[2] for n in (2, 1)])
    with pytest.raises(ValueError, match="need both"):
        journey.matched_differences(frame[frame.role == "sparse"], 0.05, 10)
    with pytest.raises(ValueError, match="allowed 'sparse' and 'dense'"):
        journey.matched_differences(frame.assign(role="other"), 0.05, 10)


def test_released_pairs_are_the_model_cards():
    pairs = journey.released_pairs()
    assert pairs["S"].tolist() == [0.2, 0.4, 0.6, 0.8]
    assert pairs["sparse - dense"].tolist() == pytest.approx([-0.006, -0.024, -0.027, -0.009])
    assert (pairs["N_avg sparse (B)"] >= pairs["N_avg dense (B)"]).all()


# The chapter's analysis (book/chapters/06_average_parameters.ipynb), on synthetic frames.

from kit import laws  # noqa: E402
from kit.laws.schedules import steps_from_compute  # noqa: E402

STARTS, ENDS = [0.0, 0.25, 0.5], [0.5, 0.75, 1.0]


def test_check_parameters_refuses_grids_the_chapter_cannot_analyse():
    ok = dict(n_nonzero=[1, 2], seeds=[0, 1], starts=[0.25], ends=[0.75, 1.0], kinds=["cubic"], schedule_sparsities=[0.5],
              matched_sparsities=[0.5], matched_seeds=[0, 1], matched_tokens=100, seed_tokens=[100])
    journey.check_parameters(**ok)
    for change, message in [({"n_nonzero": [1]}, "need two or more sizes"), ({"seeds": [0]}, "need two or more seeds"),
                            ({"starts": [0.0]}, "the sweep must hold Jin et al.'s window, start 0.25 and end 0.75"),
                            ({"ends": [0.75]}, "need two or more schedules"),
                            ({"matched_sparsities": [0.0]}, "0 is not a pruning schedule"),
                            ({"matched_seeds": [0], "seed_tokens": [200]}, "the matched pairs need a seed spread")]:
        with pytest.raises(ValueError, match=message):
            journey.check_parameters(**{**ok, **change})


def schedule_sweep(loss_at, kinds=("cubic", "geometric"), S=0.5):
    """One budget, one sparsity, every window of STARTS x ENDS (start < end) per kind."""
    rows = [{"tokens": 1000, "sparsity": S, "S": S, "schedule": k, "prune_start": a, "prune_end": b,
             "prune_clock": "compute", "n_nonzero": 100, "seed": 0, "loss": loss_at(k, a, b)}
            for k in kinds for a in STARTS for b in ENDS if a < b]
    return pd.DataFrame(rows)


def test_flagged_marks_windows_that_end_with_no_steps_left_or_prune_almost_all():
    sched = schedule_sweep(lambda k, a, b: 2.0)
    marked = journey.flagged(sched)
    ends = [steps_from_compute(a, b, 0.5, k)[1] for a, b, k in zip(sched.prune_start, sched.prune_end, sched.schedule)]
    assert (marked == (np.array(ends) > 1 - journey.NO_RECOVERY)).all() and (marked == (sched.prune_end == 1.0)).all()
    assert journey.flagged_text(sched).startswith("6 of 16 runs end pruning with less than 5% of their steps left")
    almost_all = sched.assign(S=0.97)
    assert journey.flagged(almost_all).all() and "16 of 16 end at 95% sparsity" in journey.flagged_text(almost_all)
    early = sched[sched.prune_end < 1.0]
    assert journey.flagged_text(early) == ("No run of the sweep ends pruning with less than 5% of its steps left, and none "
                                           "end at 95% sparsity or more.")


def test_window_in_steps_is_steps_from_compute():
    table = journey.window_in_steps(["geometric"], [0.75])
    assert tuple(table.loc[("geometric", 0.75)]) == pytest.approx(steps_from_compute(0.25, 0.75, 0.75, "geometric"))


def seed_noise_table(sigma=0.02, tokens=1000):
    runs = pd.DataFrame({"tokens": tokens, "n_nonzero": 100, "sparsity": 0.0, "loss": [2.0 - sigma, 2.0 + sigma] * 5,
                         "seed": range(10)}).assign(n_nonzero=[100, 100, 200, 200, 300, 300, 400, 400, 500, 500])
    return noise.seed_noise(runs, ["n_nonzero", "sparsity"], by="tokens")


@pytest.mark.parametrize("gap, verdict", [(0.0, "holds"), (0.2, "does not hold"), (0.025, "not resolved")])
def test_window_claim_tests_the_mean_gap_against_the_margin(gap, verdict):
    # the window 0.25-0.75 is `gap` above the best run of each of the two panels
    sched = schedule_sweep(lambda k, a, b: 2.0 + (gap if (a, b) == journey.WINDOW else 0.0))
    gaps = journey.window_table(sched, seed_noise_table(0.005))
    assert gaps.gap.tolist() == pytest.approx([gap, gap]) and (gaps.sigma > 0).all()
    claim = journey.window_claim(gaps, 0.95, scope="one budget")
    assert claim.verdict == verdict and claim.numbers["gap"] == pytest.approx(gap)
    assert f"±{journey.NEAR} nats" in claim.rule and "95%" in claim.rule and "25%–75%" in claim.rule
    assert claim.kind == "own runs" and claim.scope == "one budget" and not claim.rule_after
    texts = journey.window_texts(sched, gaps, STARTS, ENDS, ["cubic", "geometric"])
    assert texts["window_best_in"] == ("2 of 2" if gap == 0 else "0 of 2") and "flagged_sentence" in texts


def test_plot_window_heatmaps_hatches_the_flagged_runs():
    import matplotlib
    matplotlib.use("agg")
    sched = schedule_sweep(lambda k, a, b: 2.0 + a + b / 10)
    fig = journey.plot_window_heatmaps(sched, STARTS, ENDS)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2
    hatched = [p for p in panels[0].patches if p.get_hatch()]
    assert len(hatched) == int(journey.flagged(sched[sched.schedule == "cubic"]).sum())


def runs_of(law_losses):
    """A main grid of dense runs and a sweep of sparse runs with losses from law_losses(frame); seeds 0 and 1 of
    one config."""
    main = pd.DataFrame([{"n_nonzero": n, "sparsity": 0.0, "tokens": d, "schedule": "cubic", "prune_start": 0.25,
                          "prune_end": 0.75, "prune_clock": "steps", "seed": 0}
                         for n in (100, 200, 400) for d in (1e3, 2e3, 4e3, 8e3)])
    sweep = pd.DataFrame([{"n_nonzero": 100, "sparsity": s, "tokens": d, "schedule": k, "prune_start": a, "prune_end": b,
                           "prune_clock": "compute", "seed": 0} for s in (0.5, 0.75) for d in (1e3, 4e3)
                          for k in ("cubic", "geometric") for a, b in ((0.0, 0.5), (0.25, 0.75), (0.5, 1.0))])
    repeat = main.iloc[:1].assign(seed=1)
    runs = {"main grid": main, "seed repeats": pd.concat([main.iloc[:1], repeat]), "schedule sweep": sweep}
    for name, frame in runs.items():
        frame = frame.assign(id=[f"{name}-{i}" for i in range(len(frame))])
        frame["S"], frame["D"] = frame.sparsity, frame.tokens
        frame["N"] = frame.n_nonzero
        frame["N_avg"] = frame.n_nonzero * (1 + frame.sparsity * (1 - (frame.prune_start + frame.prune_end) / 2))
        runs[name] = frame.assign(loss=law_losses(frame))
    runs["seed repeats"].loc[:, "id"] = ["main grid-0", "repeat-1"]
    return runs


def test_law_points_average_seeds_and_keep_the_first_group():
    points = journey.law_points(runs_of(lambda f: 2.0 + f.seed * 0.1))
    assert len(points) == 12 + 24 and points.seeds.max() == 2 and points.loss.iloc[0] == pytest.approx(2.05)
    assert set(points.group) == {"main grid", "schedule sweep"}


def test_law_fits_errors_and_claims_on_runs_of_the_n_avg_law():
    truth = dict(a_N=50.0, b_N=0.5, a_D=100.0, b_D=0.4, c=1.0)
    runs = runs_of(lambda f: laws.avg_param_law(f.N_avg, f.D, **truth))
    points = journey.law_points(runs)
    fits, predicted, errors = journey.law_fits(points, [100, 200, 400], n_starts=2)
    assert set(errors) == {"in-sample", "leave one schedule out", "held-out size"}
    assert errors["in-sample"][journey.C].mean() < 1e-3 < errors["in-sample"][journey.A].mean()
    assert list(journey.coefficient_table(fits).columns)[-1] == "objective"
    mae = journey.mae_table(errors, n_boot=200, level=0.95)
    found = {c.key: c for c in journey.law_claims(mae, points, [100, 200, 400], 0.95)}
    assert found["jin-avg-law-in-sample"].verdict == "holds"  # law (c) is the truth here
    texts = journey.law_texts(points, fits, predicted, errors, mae)
    assert texts["points_text"].startswith("37 runs make 36 points (1 of them averages of 2 to 2 seeds), 12 dense")
    import matplotlib
    matplotlib.use("agg")
    assert len([ax for ax in journey.plot_law_fits(points, predicted["in-sample"]).axes if ax.collections]) == 3
    assert journey.plot_mae(mae).axes[0].get_xlabel().startswith("mean absolute error")
    spread = journey.schedule_spread(points[points.group == "schedule sweep"], predicted["in-sample"][journey.C])
    assert len(spread) == 8 and spread["(c) spread"].to_numpy() == pytest.approx(spread["measured spread"], abs=1e-3)
    assert journey.spread_texts(spread)["spearman_c"] == "+1.00"


def mae_of(difference, low, high):
    """A mae_table with one evaluation per claim, law (c) minus law (a) at (difference, low, high)."""
    rows = {}
    for evaluation in journey.LAW_STATEMENTS:
        rows.update({(evaluation, journey.A): (0.05, 0.04, 0.06), (evaluation, journey.B): (0.05, 0.04, 0.06),
                     (evaluation, journey.C): (0.05 + difference, 0.04, 0.07),
                     (evaluation, f"{journey.C} − {journey.A}"): (difference, low, high)})
    mae = pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "low", "high"])
    mae.index = pd.MultiIndex.from_tuples(mae.index, names=["evaluation", "quantity"])
    mae.insert(0, "points", 10)
    return mae


@pytest.mark.parametrize("interval, verdict", [((-0.02, -0.03, -0.01), "holds"), ((0.02, 0.01, 0.03), "does not hold"),
                                               ((0.0, -0.01, 0.01), "not resolved")])
def test_law_claims_units_and_kinds(interval, verdict):
    points = pd.DataFrame({"N": [10, 20], "D": [1e6, 2e6], "prune_clock": "compute", "sparsity": [0.0, 0.5],
                           "schedule": "cubic", "prune_start": 0.25, "prune_end": 0.75})
    found = {c.key: c for c in journey.law_claims(mae_of(*interval), points, [10, 20], 0.95)}
    assert {c.verdict for c in found.values()} == {verdict}
    in_sample = found["jin-avg-law-in-sample"]
    # the paper's column and ours in the same unit: mean absolute errors (the paper's is law (c)'s)
    assert in_sample.paper_value.startswith(f"MAE of law (c) {journey.MAE} nats")
    assert in_sample.our_runs.startswith("MAE of law (c) ") and in_sample.kind == "own runs"
    for key in ("jin-avg-law-held-out-schedule", "jin-avg-law-held-out-size"):
        assert found[key].kind == "question" and found[key].paper_value is None and found[key].scope


def matched_frames(difference):
    """Three seeds each of a sparse run and its dense partner at S = 0.5, sparse `difference` above."""
    rows = [{"id": f"{role}-{seed}", "n_nonzero": n, "sparsity": s, "tokens": 1000, "seed": seed, "N": n * (1 - s),
             "N_avg": 150.0, "loss": 2.0 + (difference if role == "sparse" else 0.0) + 0.01 * (seed - 1)}
            for role, n, s in (("sparse", 200, 0.5), ("dense", 150, 0.0)) for seed in range(3)]
    matched = pd.DataFrame(rows)
    roles = {i: (0.5, i.split("-")[0]) for i in matched.id}
    return matched, roles


@pytest.mark.parametrize("difference, verdict", [(0.0, "holds"), (0.2, "does not hold"), (0.03, "not resolved")])
def test_matched_claims_pass_and_fail_the_margin(difference, verdict):
    matched, roles = matched_frames(difference)
    seeds = matched.iloc[:0]

    class Fit:
        params = dict(a_N=50.0, b_N=0.5, a_D=100.0, b_D=0.4, c=1.0)
    table, sigma, dof = journey.matched_table(matched, seeds, roles, 1000, {journey.A: Fit, journey.C: Fit}, 0.95)
    assert table.difference.iloc[0] == pytest.approx(difference) and sigma == pytest.approx(0.01) and dof == 4
    assert table["(c) predicts"].iloc[0] == pytest.approx(0.0)  # equal N_avg
    assert table["(a) predicts"].iloc[0] > 0  # the sparse run ends with fewer non-zeros
    found = journey.matched_claims(table, sigma, dof, 0.95, scope="one size")
    assert [c.verdict for c in found] == [verdict] and found[0].key == "jin-matched-s0.5"
    assert found[0].paper_value == "sparse − dense -0.027 to -0.006 (1B pairs)" and found[0].our_runs.endswith("]")
    assert f"±{journey.NEAR} nats" in found[0].rule and found[0].kind == "own runs"
    texts = journey.matched_texts(table, found, sigma, dof)
    assert texts["matched_verdicts"] == f"{verdict} at S = 0.5" and texts["jin_pair_range"] == "0.006 to 0.027"
    import matplotlib
    matplotlib.use("agg")
    assert journey.plot_matched(table, 3).axes[0].get_ylabel() == "sparse − dense loss (nats)"


def test_overview_counts_runs_and_hours():
    frame = pd.DataFrame({"status": ["ok", "failed"], "wall_s": [3600.0, 0.0], "compile_s": [0.0, 0.0],
                          "eval_s": [0.0, 1800.0]})
    table = journey.overview({"sweep": frame})
    assert table.loc["sweep"].tolist() == [2, 1, 1, 1.5]


@pytest.fixture(scope="module")
def v3_store(tmp_path_factory):
    """A copy of runs/ (the pilot that sizes grid v3, and grid v3's seed pairs) to add matched pairs to."""
    import shutil
    from pathlib import Path

    root = tmp_path_factory.mktemp("runs_v3")
    for path in (Path(__file__).resolve().parents[1] / "runs").glob("*.json"):
        shutil.copy(path, root)
    return root


@pytest.mark.parametrize("gap, verdict", [(0.002, "holds"), (0.12, "does not hold")])
def test_matched_v3_judges_each_sparsity_over_its_stored_pairs_with_grid_v3s_seed_noise(v3_store, tmp_path, gap, verdict):
    import json
    import shutil

    from kit.chapters import pilot
    from kit.engine import data, grids
    from kit.engine.store import RunStore

    for path in v3_store.glob("*.json"):
        shutil.copy(path, tmp_path)
    store = RunStore(tmp_path)
    fingerprint = data.load_corpus(grids.CORPUS_V3).fingerprint
    template = next(r for r in map(lambda p: json.loads(p.read_text()), v3_store.glob("*.json"))
                    if r["corpus"]["name"] == "pycode" and r["status"] == "ok")
    pairs = grids.matched_v3_grid(pilot.grid_v3_sizing(store)[0])
    for k, (sparse, dense) in enumerate(pairs[:-1]):  # the last pair not stored: provisional
        base = 2.0 - 0.05 * k
        for config, loss in ((sparse, base + gap), (dense, base)):
            record = json.loads(json.dumps(template))
            record |= {"id": store.run_id(config, fingerprint), "config": config.to_dict()}
            record["metrics"] |= {"final_loss": loss, "steps": config.steps, "tokens_trained": config.tokens}
            store.put(record)
    table, found, paired, texts = journey.matched_v3(tmp_path)
    assert texts["matched_v3_stored"] == f"{len(pairs) - 1} of {len(pairs)}" and len(paired) == 2 * (len(pairs) - 1)
    assert list(table.index) == sorted({s.sparsity for s, _ in pairs})
    np.testing.assert_allclose(table.difference, gap, atol=1e-12)  # each sparsity's mean over its sizes
    assert {c.verdict for c in found} == {verdict} and all(c.key.endswith("-v3") for c in found)
    assert all("provisional" in c.scope and c.section == "ch6-grid-v3" for c in found)
    assert all(c.numbers["sigma"] > 0 for c in found)
