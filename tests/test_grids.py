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
    assert len(configs) == 6 * 4 and {c.steps for c in configs} == {10_240}
    for c in configs:
        ratio = c.lr / grids.recipe_lr(model.shape_for(c).d_model)
        assert min(abs(ratio - m) for m in (0.5, 1.0, 2.0, 4.0)) < 0.02
