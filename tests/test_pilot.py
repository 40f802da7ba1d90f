"""kit.chapters.pilot: the seed noise of a gap, the pilot's contrasts and their claims, learning curves."""

import numpy as np
import pandas as pd
import pytest

from kit.chapters import pilot, transient
from kit.engine import grids
from kit.engine.grids import BASE, PILOT

STEPS = [1172, 2344, 4688]
SPARSITIES = [0.5, 0.75, 0.875]


def runs(rng, sigma=0.02, size_shift=0.0, window_shift=0.0, batch_shift=0.0, seeds=(0, 1)):
    """A synthetic pilot as transient.gaps returns it: base runs at every sparsity, budget and seed, and
    each variant at the same budgets, with its gap shifted by a known amount."""
    rows = []
    base = dict(pilot.BASE_RUNS)
    for S in SPARSITIES:
        for n in STEPS:
            truth = -0.1 - 0.1 * S + 50 / n
            for seed in seeds:
                noise = lambda: rng.normal(0, sigma)
                rows.append({**base, "sparsity": S, "steps": n, "tokens": n * 2048, "seed": seed, "gap": truth + noise()})
                rows.append({**base, "n_nonzero": PILOT["n_nonzero_large"], "sparsity": S, "steps": n,
                             "tokens": n * 2048, "seed": seed, "gap": truth + size_shift + noise()})
                rows.append({**base, "prune_start": 0.0, "prune_end": 1.0, "sparsity": S, "steps": n,
                             "tokens": n * 2048, "seed": seed, "gap": truth + window_shift + noise()})
                small = PILOT["small_batch"]  # same steps, a quarter of the tokens; same tokens as a quarter the steps
                rows.append({**base, "batch_size": small, "sparsity": S, "steps": 4 * n,
                             "tokens": 4 * n * small * 64, "seed": seed, "gap": truth + batch_shift + noise()})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", range(4))
def test_gap_noise_recovers_the_seed_spread_of_a_gap(seed):
    rng = np.random.default_rng(seed)
    frame = runs(rng, sigma=0.03, seeds=range(6))
    noise = pilot.gap_noise(frame)
    assert list(noise.index) == STEPS + [4 * n for n in STEPS if 4 * n not in STEPS]
    at = noise.loc[1172]
    # points at 1,172 steps: base, size and window runs at every sparsity; 5 dof each
    assert at["points"] == 9 and at["dof"] == 45
    assert at["sigma"] == pytest.approx(0.03, rel=0.3)


def test_gap_noise_is_empty_without_repeats_and_the_threshold_falls_back():
    frame = runs(np.random.default_rng(0), seeds=(0,))
    noise = pilot.gap_noise(frame)
    assert noise.empty and pilot.noise_threshold(noise, 0.01) == 0.01
    assert "not measured" in pilot.noise_text(noise)


def test_contrast_pairs_each_variant_with_its_base_run_and_recovers_the_shift():
    frame = runs(np.random.default_rng(1), sigma=0.0, size_shift=0.04, window_shift=-0.02)
    size = pilot.contrast(frame, {"n_nonzero": PILOT["n_nonzero_large"]}, ("sparsity", "steps", "seed"))
    assert len(size) == len(SPARSITIES) * len(STEPS) * 2
    np.testing.assert_allclose(size["difference"], 0.04, atol=1e-12)
    window = pilot.contrast(frame, {"prune_start": 0.0, "prune_end": 1.0}, ("sparsity", "steps", "seed"))
    np.testing.assert_allclose(window["difference"], -0.02, atol=1e-12)


def test_contrast_refuses_two_base_runs_for_one_pair():
    frame = runs(np.random.default_rng(0), seeds=(0, 1))
    with pytest.raises(ValueError, match="two base runs share"):
        pilot.contrast(frame, {"n_nonzero": PILOT["n_nonzero_large"]}, ("sparsity", "steps"))


def test_the_batch_contrasts_pair_by_steps_and_by_tokens():
    frame = runs(np.random.default_rng(2), sigma=0.0)
    table = pilot.contrast_table(frame).set_index("contrast")
    # the small-batch run at 4n steps has the tokens of the base run at n steps, and the steps of the one at 4n
    assert table.loc["batch, equal tokens", "pairs"] == len(SPARSITIES) * len(STEPS) * 2
    assert table.loc["batch, equal steps", "pairs"] == len(SPARSITIES) * 2  # only 4 x 1,172 = 4,688 is a base budget
    # at equal tokens the synthetic gaps are equal; at equal steps they differ by the transient 50/n - 50/(4n)
    assert table.loc["batch, equal tokens", "difference"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["batch, equal steps", "difference"] == pytest.approx(50 / 1172 - 50 / 4688, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_the_claims_find_a_planted_window_effect_and_no_size_effect(seed):
    frame = runs(np.random.default_rng(seed), sigma=0.005, size_shift=0.0, window_shift=-0.03)
    claims = {c.key: c for c in pilot.contrast_claims(pilot.contrast_table(frame), margin=0.02, scope="synthetic")}
    assert claims["pilot-window"].verdict == "holds"
    assert claims["pilot-window"].numbers["difference"] == pytest.approx(-0.03, abs=0.005)
    assert claims["pilot-gap-size"].verdict == "holds"  # within ±0.02
    # equal tokens: no difference; equal steps: the transient's 0.032 nats, far outside the noise
    assert claims["pilot-steps-not-tokens"].verdict == "does not hold"
    assert "equal tokens, not equal steps" in claims["pilot-steps-not-tokens"].reason


def test_a_size_effect_beyond_the_margin_does_not_hold_and_the_window_can_lose():
    frame = runs(np.random.default_rng(7), sigma=0.005, size_shift=0.08, window_shift=+0.05)
    claims = {c.key: c for c in pilot.contrast_claims(pilot.contrast_table(frame), margin=0.02, scope="synthetic")}
    assert claims["pilot-gap-size"].verdict == "does not hold"
    assert claims["pilot-window"].verdict == "does not hold"
    assert pilot.next_window(claims["pilot-window"]).startswith("the paper's 25%-75% window: it left the smaller gap")


def test_learning_curves_read_the_pruning_window_off_the_non_zeros():
    steps = np.arange(0, 100, 10)
    nnz = np.where(steps < 25, 800, np.where(steps >= 75, 100, 400))
    record = {"id": "r", "config": {"sparsity": 0.875, "tokens": 100 * 2048, "batch_size": 32, "seq_len": 64},
              "curve": {"step": steps.tolist(), "train_loss": np.linspace(3, 2, 10).tolist(), "nnz": nnz.tolist()}}
    dense = {**record, "id": "d", "config": {**record["config"], "sparsity": 0.0},
             "curve": {**record["curve"], "nnz": [800] * 10}}
    curves = pilot.learning_curves([record, dense])
    sparse = curves[curves["sparsity"] == 0.875]
    assert (sparse["window_start"] == 30).all() and (sparse["window_end"] == 80).all() and (sparse["budget"] == 100).all()
    assert curves[curves["sparsity"] == 0]["window_start"].isna().all()


def test_longest_complete_needs_every_sparsity_at_seed_zero():
    frame = pd.DataFrame({"sparsity": [0.0, 0.5, 0.0, 0.5, 0.0], "steps": [100, 100, 200, 200, 400],
                          "seed": [0, 0, 0, 1, 0]})
    assert pilot.longest_complete(frame, [0.0, 0.5]) == 100


def test_the_base_runs_are_the_pilot_size_full_batch_and_the_papers_window():
    frame = runs(np.random.default_rng(0))
    base = pilot.base_runs(frame)
    assert (base["n_nonzero"] == PILOT["n_nonzero"]).all() and (base["batch_size"] == BASE.batch_size).all()
    assert len(base) == len(SPARSITIES) * len(STEPS) * 2


@pytest.mark.parametrize("seed", range(3))
def test_noise_weighted_fits_recover_the_regime_start(seed):
    """transient.fit_curves with a seed-noise table: the planted x* (a = 50, gamma = 1, eps = sigma = 0.01:
    5,000 steps) lies inside its interval."""
    rng = np.random.default_rng(seed)
    steps = np.array([1172 * 2**k for k in range(6)])
    per_run = pd.DataFrame({"sparsity": 0.5, "steps": np.repeat(steps, 2),
                            "gap": -0.2 + 50 / np.repeat(steps, 2) + rng.normal(0, 0.01, 12)})
    noise = pd.DataFrame({"sigma": [0.01, 0.01], "dof": [6, 6]}, index=[1172, 37504])
    fits = transient.fit_curves(per_run, eps=0.01, n_boot=100, gamma=1.0, noise=noise)
    row = fits.iloc[0]
    assert row.x_star_low <= 5000 <= row.x_star_high and row.x_star == pytest.approx(5000, rel=0.5)


def test_regime_budget_is_the_first_pilot_budget_past_every_sparsitys_interval():
    fits = pd.DataFrame({"sparsity": SPARSITIES, "x_star_high": [3_000.0, 4_688.0, 4_689.0]})
    assert pilot.regime_budget(fits) == 9_376  # 4,689 is past 4,688: the next doubling
    assert pilot.regime_budget(fits.assign(x_star_high=[100.0, 200.0, 4_688.0])) == 4_688  # "at or beyond"
    assert pilot.regime_budget(fits.iloc[:2]) is None  # S = 0.875 not fitted
    assert pilot.regime_budget(fits.assign(x_star_high=[1e3, 1e3, float("inf")])) is None


def test_regime_budget_leaves_the_ladder_when_its_4x_does_not_fit_the_corpus_read_once():
    fits = pd.DataFrame({"sparsity": SPARSITIES, "x_star_high": [3_000.0, 4_688.0, 4_689.0]})
    assert pilot.regime_budget(fits, capacity_steps=4 * 9_376) == 9_376  # the ladder's budget fits
    smallest = pilot.regime_budget(fits, capacity_steps=4 * 9_376 - 1)  # it does not: x*'s end, rounded up
    assert 4_689 <= smallest < 4_689 + pilot.STEP_UNIT and smallest % pilot.STEP_UNIT == 0
    assert pilot.regime_budget(fits, capacity_steps=4 * 4_689 - 1) is None  # nothing in regime fits


def test_the_grid_v3_text_counts_its_runs_and_its_machine_time_from_the_table():
    fits = pd.DataFrame({"sparsity": SPARSITIES, "x_star_high": [3_000.0, 4_000.0, 4_500.0]})
    rows = [{"d_model": d, "lanes": {"1": 1.0, "2": 2.0}} for d in (16, 192)]  # 2 steps/s at every width
    text = pilot.grid_v3_text(fits, table={"rows": rows})
    total = sum(c.steps for c in grids.grid_v3(4_688))
    assert f"about {total / 2 / 3600:.0f} hours" in text and "45 runs" in text and "4,688, 9,376 and 18,752 steps" in text
    assert pilot.grid_v3_text(fits.iloc[:1]).startswith("cannot be sized yet")


def test_grid_window_follows_the_window_claim():
    frame = runs(np.random.default_rng(3), sigma=0.005, window_shift=-0.05)
    window = pilot.contrast_claims(pilot.contrast_table(frame), margin=0.02, scope="synthetic")[1]
    assert window.verdict == "holds" and pilot.grid_window(window) == (0.0, 1.0)
    frame = runs(np.random.default_rng(3), sigma=0.005, window_shift=0.0)
    window = pilot.contrast_claims(pilot.contrast_table(frame), margin=0.02, scope="synthetic")[1]
    assert window.verdict != "holds" and pilot.grid_window(window) == (BASE.prune_start, BASE.prune_end)


def test_the_sizing_text_says_when_grid_v3_leaves_the_pilots_ladder():
    fits = pd.DataFrame({"sparsity": SPARSITIES, "x_star_high": [3_000.0, 4_688.0, 4_689.0]})
    on = pilot.sizing_text(fits, capacity=4 * 9_376)
    off = pilot.sizing_text(fits, capacity=4 * 9_376 - 1)
    assert on.startswith("9,376 steps is one of the pilot's budgets") and "100% of pycode" in on
    assert "would need 37,504 steps" in off and f"{pilot.regime_budget(fits, capacity_steps=4 * 9_376 - 1):,}" in off
    assert "(†)" in off and "(†)" not in on


def test_the_grid_v3_text_adds_the_cost_at_the_rates_runs_recorded():
    fits = pd.DataFrame({"sparsity": SPARSITIES, "x_star_high": [3_000.0, 4_000.0, 4_500.0]})
    rows = [{"d_model": d, "lanes": {"1": 1.0, "2": 2.0}} for d in (16, 192)]  # 2 steps/s at every width
    recorded = pd.DataFrame({"d_model": [16], "steps": [1_000], "wall_s": [1_000.0]})  # 1 step/s, two lanes: 2/s
    slow = recorded.assign(wall_s=2_000.0)  # half as fast: twice the hours
    total = sum(c.steps for c in grids.grid_v3(4_688))
    text = pilot.grid_v3_text(fits, table={"rows": rows}, capacity=10**6, recorded=recorded)
    assert f"about {total / 2 / 3600:.0f} hours of this machine by its throughput table, {total / 2 / 3600:.0f} at" in text
    assert f", {total / 3600:.0f} at the rates" in pilot.grid_v3_text(fits, table={"rows": rows}, capacity=10**6,
                                                                       recorded=slow)


def test_grid_v3_gaps_are_the_stored_sparse_minus_dense_losses_at_equal_n_and_budget():
    from kit.chapters import corelaw
    from kit.engine.store import RunStore

    table, texts = pilot.grid_v3_gaps(RunStore(), eps=0.0119)
    main = corelaw.our_runs_v3(train=False).main.set_index(["n_nonzero", "sparsity", "steps"]).loss
    budgets = sorted(main.index.get_level_values("steps").unique())
    pairs = 0
    for (n, S, b), loss in main.items():
        if S > 0 and (n, 0.0, b) in main.index:
            pairs += 1
            at = [19_045, 38_090, 76_180].index(b)
            assert table.loc[f"{n:,}", f"S = {S:g}"].split(" / ")[at] == f"{loss - main[(n, 0.0, b)]:+.3f}"
    assert texts["v3_gap_pairs"] == f"{pairs} of 27" and budgets[0] >= 19_045
    changes, total = (int(x) for x in texts["v3_gap_changes"].split(" of "))
    assert 0 <= changes <= total


def test_grid_v3_gaps_without_a_pilot_say_so(tmp_path):
    from kit.engine.store import RunStore

    table, texts = pilot.grid_v3_gaps(RunStore(tmp_path), eps=0.01)
    assert table is None and texts["v3_gap_pairs"] == "– (no pilot stored)"


def test_v3_records_are_aligned_with_their_configs_and_none_where_not_stored(tmp_path):
    from kit.engine import data, grids
    from kit.engine.store import RunStore

    configs = grids.pilot_grid()[:3]
    stored = pilot.v3_records(RunStore(), configs)
    fingerprint = data.load_corpus(grids.CORPUS_V3).fingerprint
    assert [r["id"] for r in stored] == [RunStore().run_id(c, fingerprint) for c in configs]
    assert all(r["config"]["n_nonzero"] == c.n_nonzero and r["config"]["tokens"] == c.tokens for r, c in zip(stored, configs))
    assert pilot.v3_records(RunStore(tmp_path), configs) == [None, None, None]
