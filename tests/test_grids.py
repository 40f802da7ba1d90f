"""kit.engine.grids: the grids' sizes, budgets and learning rates (grid v3's pilot and its recipe)."""

import pytest

from kit.engine import grids, model


def test_grid_v3s_rate_is_the_dense_twins_rate_at_every_sparsity():
    for n in (13_824, 55_296):
        dense = grids.BASE.replace(n_nonzero=n)
        rate = grids.recipe_lr(model.shape_for(dense).d_model)
        for S in (0.0, 0.5, 0.75, 0.875):
            config = dense.replace(sparsity=S)
            assert grids.recipe_lr_v3(config) == rate
            assert grids.recipe_lr_v3(config) >= grids.recipe_lr(model.shape_for(config).d_model)  # wider: lower v2 rate
    sparse = grids.BASE.replace(n_nonzero=13_824, sparsity=0.875)
    assert grids.recipe_lr_v3(sparse) / grids.recipe_lr(model.shape_for(sparse).d_model) == pytest.approx(1.74, abs=0.01)


def test_the_pilot_holds_each_part_once_at_grid_v3s_rate():
    parts = grids.pilot_parts()
    assert len(parts["budgets"]) == 4 * len(grids.PILOT_STEPS) and {c.steps for c in parts["budgets"]} == set(grids.PILOT_STEPS)
    assert {c.n_nonzero for c in parts["size"]} == {grids.PILOT["n_nonzero_large"]}
    assert all((c.prune_start, c.prune_end) == (0.0, 1.0) and c.sparsity > 0 for c in parts["window"])
    assert {c.batch_size for c in parts["batch"]} == {grids.PILOT["small_batch"]}
    everything = grids.pilot_grid()
    assert len(everything) == len(set(everything)) == 65
    assert all(c.lr == grids.recipe_lr_v3(c) for c in everything)
    assert max(c.tokens for c in everything) == grids.steps(37_504)  # 77M tokens, read once on pycode


def test_the_long_learning_rate_check_brackets_the_v2_recipe():
    configs = grids.lr_check_v3_grid()
    assert len(configs) == 7 * 4 and {c.steps for c in configs} == {10_240}
    sizes = {c.n_nonzero for c in configs}  # grid v3's smallest, middle and largest N, and its held-out size
    assert sizes == {*grids.GRID_V3["n_nonzero"], grids.GRID_V3["held_out"]["n_nonzero"]}
    for c in configs:
        ratio = c.lr / grids.recipe_lr(model.shape_for(c).d_model)
        assert min(abs(ratio - m) for m in (0.5, 1.0, 2.0, 4.0)) < 0.02


@pytest.mark.parametrize("smallest", [4_688, 9_376, 18_752])
def test_grid_v3_spans_16x_in_size_and_4x_in_budget_from_its_smallest_budget(smallest):
    parts = grids.grid_v3_parts(smallest)
    sizes = sorted({c.n_nonzero for c in parts["grid"]})
    budgets = sorted({c.steps for c in parts["grid"]})
    assert sizes[-1] / sizes[0] == 16 and len(sizes) == 3
    assert budgets == [smallest, 2 * smallest, 4 * smallest]
    assert {c.sparsity for c in parts["grid"]} == {0.0, 0.5, 0.75, 0.875}
    # seeds at the smallest and the largest budget, every sparsity
    assert {(c.sparsity, c.steps) for c in parts["seeds"]} == {(S, n) for S in (0.0, 0.5, 0.75, 0.875)
                                                               for n in (budgets[0], budgets[-1])}
    assert all(c.seed == 1 for c in parts["seeds"])
    held_out = parts["held_out"][0]
    assert held_out.n_nonzero == 4 * sizes[-1] and held_out.steps == smallest
    assert all(c.lr == grids.recipe_lr_v3(c) for configs in parts.values() for c in configs)


def test_grid_v3_reuses_the_pilots_base_runs_with_the_papers_window_only():
    pilot = set(grids.pilot_grid())
    same = [c for c in grids.grid_v3(9_376) if c in pilot]
    # N = 13,824 at three budgets, 55,296 at the pilot's two (to 18,752 steps), the seed-1 runs at 37,504
    assert len(same) == 4 * 3 + 4 * 2 + 4
    whole_run = grids.grid_v3(9_376, window=(0.0, 1.0))
    assert {(c.prune_start, c.prune_end) for c in whole_run if c.sparsity > 0} == {(0.0, 1.0)}
    reused = [c for c in whole_run if c in pilot]  # dense: 13,824 at three budgets and seed 1, 55,296 at two; whole-run
    assert {c.sparsity for c in reused if c.sparsity > 0} == {0.5, 0.75, 0.875} and len(reused) == 3 + 4 + 2


@pytest.mark.parametrize("n_nonzero", grids.GRID_V3["n_nonzero"])
def test_grid_v3_trains_a_different_model_at_each_sparsity_near_its_size(n_nonzero):
    configs = [c for c in grids.grid_v3(9_376) if c.n_nonzero == n_nonzero and c.steps == 9_376 and c.seed == 0]
    widths = [model.shape_for(c).d_model for c in sorted(configs, key=lambda c: c.sparsity)]
    assert len(widths) == 4 and widths == sorted(set(widths))  # four models, widening with S
    for c in configs:  # the non-zeros the run keeps, within 12% of its N (no width doubles it)
        kept = (1 - c.sparsity) * model.prunable_count(model.shape_for(c).d_model, c.n_layers)
        assert abs(kept / n_nonzero - 1) <= 0.12


def test_grid_v3_refuses_a_budget_that_is_not_a_whole_number_of_steps():
    with pytest.raises(ValueError, match="smallest_steps = 9376.5"):
        grids.grid_v3_parts(9376.5)


@pytest.mark.parametrize("smallest, window", [(9_376, (0.25, 0.75)), (19_045, (0.0, 1.0))])
def test_nm_v3_runs_every_pattern_beside_its_unstructured_twin_of_grid_v3(smallest, window):
    configs = grids.nm_v3_grid(smallest, window)
    twins = set(grids.grid_v3(smallest, window))
    points = {(c.n_nonzero, c.steps) for c in configs}
    assert points == {(3_456, smallest), (13_824, smallest), (55_296, smallest), (13_824, 2 * smallest)}
    assert len(configs) == 4 * 4 - 2  # no m = 8 pattern at N = 3,456, whose widths are multiples of 4
    for c in configs:
        assert c.sparsity == 1 - c.nm[0] / c.nm[1] and (c.prune_start, c.prune_end) == window
        assert c.replace(nm=None) in twins  # same width, learning rate and window as the twin it is compared with
        assert model.shape_for(c) == model.shape_for(c.replace(nm=None)) and c.width_multiple % c.nm[1] == 0


def test_matched_v3_pairs_jins_design_at_grid_v3s_sizes_in_regime():
    pairs = grids.matched_v3_grid(9_376)
    assert {s.n_nonzero for s, _ in pairs} == set(grids.GRID_V3["n_nonzero"])
    for sparse, dense in pairs:
        assert (sparse.schedule, sparse.prune_clock, sparse.prune_start, sparse.prune_end) == ("geometric", "compute", 0.25, 0.75)
        assert sparse.tokens == dense.tokens == grids.steps(9_376) and dense.sparsity == 0.0
        assert sparse.n_nonzero < dense.n_nonzero < sparse.n_nonzero / (1 - sparse.sparsity)  # N_final < N_avg < N_0
        assert sparse.lr == grids.recipe_lr_v3(sparse) and dense.lr == grids.recipe_lr_v3(dense)
