"""The book's sweep grids, defined once: chapters take these as their default parameters.

Grid v2, sized from the engine's measured throughput on a 2-core CPU (chapter 1 gives its cost).
Every run reads batches of 32 windows of 64 bytes (2,048 tokens a step), so token budgets are
whole numbers of steps; the largest is one pass over the corpus (4.86M training bytes).

MAIN is the Table 1 analogue: non-zero sizes in 2x steps over 16x, token budgets in 2x steps over
8x (293 to 2,344 steps; 2.7 to 350 tokens per non-zero parameter, Chinchilla's ~20 in the
middle), the paper's sparsities, cubic pruning from 25% to 75% of training with a mask update
every 1% of the steps.
"""

from kit.engine import model
from kit.engine.config import ConfigError, RunConfig
from kit.engine.sweep import grid

BASE = RunConfig()
STEP_TOKENS = BASE.tokens_per_step  # 2,048


def steps(n: int) -> int:
    """Token budget of n steps of the base config.

        >>> steps(293)
        600064
    """
    return n * STEP_TOKENS


MAIN = dict(
    n_nonzero=[13_824, 27_648, 55_296, 110_592, 221_184],  # 48 d^2 for d = 17, 24, 34, 48, 68 (rounded to 8)
    tokens=[steps(293), steps(586), steps(1172), steps(2344)],  # 0.60M, 1.20M, 2.40M, 4.80M
    sparsity=[0.0, 0.5, 0.75, 0.875],
)


# The recipe, chosen from the check below (chapter 1 shows it): AdamW at batch 32 with a peak
# learning rate that falls with the width of the trained model, lr = 6.5e-3 (48 / d_model)^0.5
# (the measured optimum moved from >= 1e-2 at d_model 16 to ~6.5e-3 at 48 and ~3e-3 at 192).
RECIPE_LR = dict(lr=6.5e-3, d_model=48, exponent=0.5)


def recipe_lr(d_model: int, lr=RECIPE_LR["lr"], at=RECIPE_LR["d_model"], exponent=RECIPE_LR["exponent"]) -> float:
    """The recipe's peak learning rate at width d_model: lr (at / d_model)^exponent, 3 digits.

        >>> recipe_lr(48), recipe_lr(192)
        (0.0065, 0.00325)
    """
    return float(f"{lr * (at / d_model) ** exponent:.3g}")


def with_recipe(configs: list[RunConfig]) -> list[RunConfig]:
    """The configs with the recipe's learning rate for the width each trains.

        >>> [c.lr for c in with_recipe([BASE.replace(n_nonzero=13_824), BASE.replace(n_nonzero=110_592)])]
        [0.0113, 0.0065]
    """
    return [c.replace(lr=recipe_lr(model.shape_for(c).d_model)) for c in configs]


def recipe_lr_v3(config: RunConfig) -> float:
    """Grid v3's peak learning rate: the recipe's rate at the width of the dense model with the same
    non-zeros, recipe_lr(d_dense(N)), at every sparsity. At 10,240 steps on pycode the v2 recipe
    (the rate of the width trained) is the best rate tried for dense models but too low for
    87.5%-sparse ones (twice it was better at d_model 96: chapter 1's check); the rate of the
    dense twin is about 1.7x the v2 rate at S = 0.875 and the v2 rate at S = 0.

        >>> sparse = BASE.replace(n_nonzero=13_824, sparsity=0.875)
        >>> recipe_lr_v3(sparse), recipe_lr(model.shape_for(sparse).d_model)  # v3's rate, v2's
        (0.0113, 0.0065)
    """
    return recipe_lr(model.shape_for(config.replace(sparsity=0.0, nm=None)).d_model)


# Grid v3's widths are multiples of 4 below N = 13,824: with multiples of 8, N = 3,456 at S = 0.5 would
# train d_model 16, twice its non-zeros and the same model as at S = 0.75.
FINE_WIDTH_BELOW = 13_824


def fine_width(config: RunConfig) -> RunConfig:
    """The config with width_multiple 4 where N < FINE_WIDTH_BELOW (and no n:m pattern), else as it is.

        >>> [model.shape_for(fine_width(BASE.replace(n_nonzero=3_456, sparsity=s))).d_model for s in (0, 0.5, 0.75, 0.875)]
        [8, 12, 16, 24]
        >>> fine_width(BASE.replace(n_nonzero=13_824)).width_multiple
        8
    """
    return config.replace(width_multiple=4) if config.n_nonzero < FINE_WIDTH_BELOW and config.nm is None else config


def with_recipe_v3(configs: list[RunConfig]) -> list[RunConfig]:
    """The configs with grid v3's widths (fine_width) and learning rate (recipe_lr_v3).

        >>> [c.lr for c in with_recipe_v3([BASE.replace(n_nonzero=13_824, sparsity=s) for s in (0.0, 0.875)])]
        [0.0113, 0.0113]
    """
    return [c.replace(lr=recipe_lr_v3(c)) for c in map(fine_width, configs)]


def main_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The main grid's configs; keyword axes override MAIN's.

        >>> len(main_grid()), len(main_grid(tokens=[steps(293)]))
        (80, 20)
    """
    return with_recipe(grid(base, **{**MAIN, **axes}))


# The recipe check, run before the sweep: the peak learning rate at four values and three widths
# (the main grid's smallest and middle dense models and its largest model, S = 0.875), then one
# batch-size comparison at the middle width and the recipe's learning rate (same tokens, twice
# the batch, half the steps).
RECIPE = dict(widths=[(13_824, 0.0), (110_592, 0.0), (221_184, 0.875)], tokens=steps(586),
              lrs=[1e-3, 3e-3, 1e-2, 3e-2], batch_sizes=[32, 64])


def recipe_grid(base: RunConfig = BASE, widths=RECIPE["widths"], tokens=RECIPE["tokens"], lrs=RECIPE["lrs"],
                batch_sizes=RECIPE["batch_sizes"]) -> list[RunConfig]:
    """Every (N, S) of `widths` at every learning rate (the largest width's most diverging rate
    left out), then the middle width at every batch size at the recipe's learning rate.

        >>> [(c.n_nonzero, c.lr, c.batch_size) for c in recipe_grid()][-3:]
        [(221184, 0.01, 32), (110592, 0.0065, 32), (110592, 0.0065, 64)]
    """
    n, s = widths[len(widths) // 2]
    lr_runs = [base.replace(n_nonzero=n, sparsity=s, tokens=tokens, lr=lr) for n, s in widths for lr in lrs
               if not (n, s) == widths[-1] or lr < max(lrs)]
    return lr_runs + with_recipe([base.replace(n_nonzero=n, sparsity=s, tokens=tokens, batch_size=b)
                                  for b in batch_sizes])


# The embedding ablation (chapter 1): sparse runs whose tied embedding is NOT pruned to the dense
# model of equal N (embed_match=False), beside the main grid's matched runs of the same (N, S, D).
EMBED_ABLATION = dict(n_nonzero=[13_824, 55_296], tokens=[steps(586)], sparsity=[0.5, 0.75, 0.875])


def embed_ablation_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The embedding ablation's runs (EMBED_ABLATION; keyword axes override its axes), the embedding
    not matched, at the recipe's learning rate.

        >>> configs = embed_ablation_grid()
        >>> len(configs), {c.embed_match for c in configs}
        (6, {False})
    """
    return with_recipe(grid(base.replace(embed_match=False), **{**EMBED_ABLATION, **axes}))


# Noise floor: the grid's middle size repeated with other seeds (seed 0 is the main grid's), at
# two budgets, dense and 75% sparse.
SEEDS = dict(n_nonzero=[55_296], tokens=[steps(293), steps(1172)], sparsity=[0.0, 0.75], seed=[0, 1, 2, 3, 4])

# Held-out extrapolation (the paper's T5-XL test, scaled down): 4x the grid's largest non-zero
# count, at 75% sparsity and the second-largest budget; never used for fitting.
EXTRAPOLATION = dict(n_nonzero=[4 * 221_184], tokens=[steps(1172)], sparsity=[0.75])


def seed_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The noise floor's runs (SEEDS; keyword axes override its axes) at the recipe's learning rate.

        >>> len(seed_grid()), len(seed_grid(seed=[1, 2]))
        (20, 8)
    """
    return with_recipe(grid(base, **{**SEEDS, **axes}))


def extrapolation_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The held-out extrapolation run (EXTRAPOLATION; keyword axes override its axes) at the recipe's
    learning rate.

        >>> [(c.n_nonzero, c.sparsity, c.steps) for c in extrapolation_grid()]
        [(884736, 0.75, 1172)]
    """
    return with_recipe(grid(base, **{**EXTRAPOLATION, **axes}))


# n:m sparsity (Section 4.1): the main grid's runs with the fewest tokens or the smallest model,
# for the 50% patterns 2:4 and 4:8 and the 75% patterns 1:4 and 2:8 (gradual n:m, Algorithm 1).
NM_PATTERNS = [(2, 4), (4, 8), (1, 4), (2, 8)]


def nm_grid(base: RunConfig = BASE, n_nonzero=MAIN["n_nonzero"], tokens=MAIN["tokens"],
            patterns=NM_PATTERNS) -> list[RunConfig]:
    """Every pattern at every (N, D) of the main grid with D = min(tokens) or N = min(n_nonzero).

        >>> configs = nm_grid()
        >>> len(configs), sorted({(c.nm, c.sparsity) for c in configs})
        (32, [((1, 4), 0.75), ((2, 4), 0.5), ((2, 8), 0.75), ((4, 8), 0.5)])
    """
    points = [(n, d) for n in n_nonzero for d in tokens if d == min(tokens) or n == min(n_nonzero)]
    return with_recipe([base.replace(n_nonzero=n, tokens=d, nm=(p, m), sparsity=1 - p / m)
                        for (n, d) in points for (p, m) in patterns])


# Pruning pretrained models (Section 4.2): dense models trained on 94% of the corpus, then
# sparsified from their checkpoint for 5.6% of the pretraining tokens, pruning from the first
# step (start 0, end 75% of the short phase), on data the pretraining never read.
PRETRAINED = dict(n_dense=[27_648, 55_296, 110_592, 221_184], pretrain_tokens=steps(2240),
                  sparsities=[0.5, 0.75, 0.875], prune_fraction=0.056)


def pretrain_grid(base: RunConfig = BASE, n_dense=PRETRAINED["n_dense"],
                  pretrain_tokens=PRETRAINED["pretrain_tokens"]) -> list[RunConfig]:
    """The dense long runs, saving their checkpoints.

        >>> [(c.n_nonzero, c.steps, c.save_checkpoint) for c in pretrain_grid()][:2]
        [(27648, 2240, True), (55296, 2240, True)]
    """
    return with_recipe(grid(base.replace(save_checkpoint=True), n_nonzero=list(n_dense), tokens=[pretrain_tokens]))


def sparsify_grid(parents: dict[str, RunConfig], sparsities=PRETRAINED["sparsities"],
                  prune_fraction=PRETRAINED["prune_fraction"], embed_match: bool = False) -> list[RunConfig]:
    """For each stored dense run (id -> config), its sparsified continuations: same width
    (N = n_dense (1 - S)), prune_fraction of its tokens (rounded to whole steps), pruning from
    step 0 to 75% of them. The continuation keeps its parent's whole embedding (1.3x to 4x its
    twin's); with embed_match the tied embedding is pruned alongside to the non-zeros of the dense
    model of equal N, as every run from scratch is, which in a pruning phase this short costs far
    more than the embedding is worth (chapter 5 measures both).

        >>> parent = pretrain_grid()[0]
        >>> [(c.n_nonzero, c.sparsity, c.steps, c.init_from) for c in sparsify_grid({"0123456789abcdef": parent})]
        [(13824, 0.5, 125, '0123456789abcdef'), (6912, 0.75, 125, '0123456789abcdef'),
         (3456, 0.875, 125, '0123456789abcdef')]
    """
    return [parent.replace(n_nonzero=round(parent.n_nonzero * (1 - s)), sparsity=s, init_from=id,
                           tokens=round(prune_fraction * parent.steps) * parent.tokens_per_step,
                           save_checkpoint=False, prune_start=0.0, prune_end=0.75, embed_match=embed_match)
            for id, parent in parents.items() for s in sparsities]


# The Journey Matters (Jin et al.): pruning schedules swept at one size and two budgets, start
# and end measured in compute (prune_clock='compute') as they do, cubic and geometric, on a 5 x 5
# grid of windows.
SCHEDULE_SWEEP = dict(n_nonzero=13_824, tokens=[steps(293), steps(586)], sparsities=[0.5, 0.75],
                      starts=[0.0, 0.125, 0.25, 0.375, 0.5], ends=[0.5, 0.625, 0.75, 0.875, 1.0],
                      kinds=["cubic", "geometric"])


def schedule_grid(base: RunConfig = BASE, n_nonzero=SCHEDULE_SWEEP["n_nonzero"],
                  tokens=SCHEDULE_SWEEP["tokens"], sparsities=SCHEDULE_SWEEP["sparsities"],
                  starts=SCHEDULE_SWEEP["starts"], ends=SCHEDULE_SWEEP["ends"],
                  kinds=SCHEDULE_SWEEP["kinds"]) -> list[RunConfig]:
    """Every (start < end) window for every kind, sparsity and budget, compute-clocked.

        >>> configs = schedule_grid()
        >>> len(configs), {c.prune_clock for c in configs}
        (192, {'compute'})
    """
    return with_recipe([base.replace(n_nonzero=n_nonzero, tokens=d, sparsity=s, schedule=kind, prune_clock="compute",
                                     prune_start=a, prune_end=b)
                        for d in tokens for s in sparsities for kind in kinds for a in starts for b in ends if a < b])


# Matched average parameter count (Jin et al.'s released 1B pairs, scaled down): a sparse run
# (geometric, compute-clocked 25%-75%) and a dense run whose N equals the sparse run's N_avg,
# on the same tokens, each with three seeds. The dense width is rounded to a multiple of 4 to
# match N_avg closely.
MATCHED = dict(n_nonzero=55_296, tokens=steps(1172), sparsities=[0.5, 0.75, 0.875], seeds=[0, 1, 2])


def matched_grid(base: RunConfig = BASE, n_nonzero=MATCHED["n_nonzero"], tokens=MATCHED["tokens"],
                 sparsities=MATCHED["sparsities"], seeds=MATCHED["seeds"],
                 recipe=None) -> list[tuple[RunConfig, RunConfig]]:
    """(sparse, dense) pairs with equal average non-zero count (kit.laws.n_avg) and tokens, per seed,
    at the learning rates of `recipe` (default with_recipe, grid v2's; with_recipe_v3 for grid v3).

        >>> sparse, dense = matched_grid(sparsities=[0.5], seeds=[0])[0]
        >>> (sparse.n_nonzero, sparse.sparsity), (dense.n_nonzero, dense.sparsity)
        ((55296, 0.5), (76633, 0.0))
    """
    from kit.laws import n_avg
    from kit.laws.schedules import steps_from_compute
    pairs = []
    for s in sparsities:
        sparse = base.replace(n_nonzero=n_nonzero, tokens=tokens, sparsity=s, schedule="geometric",
                              prune_clock="compute", prune_start=0.25, prune_end=0.75)
        start, end = steps_from_compute(0.25, 0.75, s, "geometric")
        n_final = (1 - s) * model.prunable_count(model.shape_for(sparse).d_model, base.n_layers)  # after rounding
        dense = base.replace(n_nonzero=round(n_avg(n_final, s, start, end, "geometric")), tokens=tokens,
                             sparsity=0.0, width_multiple=4)
        sparse, dense = (recipe or with_recipe)([sparse, dense])
        pairs += [(sparse.replace(seed=seed), dense.replace(seed=seed)) for seed in seeds]
    return pairs


# ------------------------------------------------------------------------------------- grid v3
# Engine v3 on the second corpus (kit.engine.data, 'pycode': 177M training bytes, so long budgets read
# every token once). First the learning-rate check for long runs, then the pilot that measures
# how long a pruned run must train before its gap to dense stops closing (issue "in regime").
CORPUS_V3 = "pycode"
LONG = steps(10_240)  # the check's budget: 10,240 steps, 21M tokens

# The learning-rate check for long runs: the smallest, middle and largest N of grid v3 (GRID_V3),
# dense and 87.5% sparse, and the dense model at its held-out size, at multiples of grid v2's
# recipe, cheapest first (a sweep orders by cost).
LR_CHECK_V3 = dict(widths=[(3_456, 0.0), (3_456, 0.875), (13_824, 0.0), (13_824, 0.875), (55_296, 0.0),
                           (55_296, 0.875), (221_184, 0.0)], tokens=LONG, multiples=[0.5, 1.0, 2.0, 4.0])


def lr_check_v3_grid(base: RunConfig = BASE, widths=LR_CHECK_V3["widths"], tokens=LR_CHECK_V3["tokens"],
                     multiples=LR_CHECK_V3["multiples"]) -> list[RunConfig]:
    """Every (N, S) of `widths` at every multiple of grid v2's recipe learning rate for its width.

        >>> [c.lr for c in lr_check_v3_grid(widths=[(13_824, 0.0)])]
        [0.00565, 0.0113, 0.0226, 0.0452]
    """
    configs = [fine_width(base.replace(n_nonzero=n, sparsity=s, tokens=tokens)) for n, s in widths]
    return [c.replace(lr=float(f"{m * recipe_lr(model.shape_for(c).d_model):.3g}")) for c in configs for m in multiples]


# The pilot: how long a pruned run must train before its gap to the dense run of equal N stops
# closing (the transient). Token budgets double from 2.4M to 77M (1,172 to 37,504 steps), read
# once from pycode.
PILOT_STEPS = [1_172 * 2**k for k in range(6)]
PILOT = dict(n_nonzero=13_824, sparsities=[0.0, 0.5, 0.75, 0.875], tokens=[steps(n) for n in PILOT_STEPS],
             n_nonzero_large=55_296, tokens_large=[steps(n) for n in PILOT_STEPS[:5]],  # to 38M: does N matter?
             whole_run_tokens=[steps(n) for n in PILOT_STEPS[0:6:2]],  # pruning over the whole run, 3 budgets
             small_batch_tokens=steps(PILOT_STEPS[2]), small_batch=8,  # 4x the steps: steps or tokens?
             seed_tokens=[steps(PILOT_STEPS[0]), steps(PILOT_STEPS[-1])], seeds=[1])


def pilot_parts(base: RunConfig = BASE, pilot: dict = PILOT) -> dict[str, list[RunConfig]]:
    """The pilot's runs by purpose, at grid v3's learning rate (recipe_lr_v3): 'budgets' (N = 13,824, every
    sparsity, every budget, the paper's 25%-75% window), 'size' (N = 55,296, to 38M tokens), 'window'
    (pruning from the first to the last step, at three budgets), 'batch' (a 4x smaller batch: the
    same tokens in 4x the steps, at one budget) and 'seeds' (another seed at the smallest and the
    largest budget).

        >>> {name: len(configs) for name, configs in pilot_parts().items()}
        {'budgets': 24, 'size': 20, 'window': 9, 'batch': 4, 'seeds': 8}
    """
    at = lambda n, tokens, **kw: [base.replace(n_nonzero=n, sparsity=s, tokens=d, **kw)
                                  for s in pilot["sparsities"] for d in tokens]
    pruned = lambda configs: [c for c in configs if c.sparsity > 0]
    parts = {
        "budgets": at(pilot["n_nonzero"], pilot["tokens"]),
        "size": at(pilot["n_nonzero_large"], pilot["tokens_large"]),
        "window": pruned(at(pilot["n_nonzero"], pilot["whole_run_tokens"], prune_start=0.0, prune_end=1.0)),
        "batch": at(pilot["n_nonzero"], [pilot["small_batch_tokens"]], batch_size=pilot["small_batch"]),
        "seeds": [c.replace(seed=seed) for c in at(pilot["n_nonzero"], pilot["seed_tokens"]) for seed in pilot["seeds"]],
    }
    return {name: with_recipe_v3(configs) for name, configs in parts.items()}


def pilot_grid(base: RunConfig = BASE, pilot: dict = PILOT) -> list[RunConfig]:
    """Every run of pilot_parts, each once.

        >>> len(pilot_grid())
        65
    """
    return list(dict.fromkeys(c for configs in pilot_parts(base, pilot).values() for c in configs))


# Grid v3: Eq. 1 on runs in regime (issue "in regime"). Its smallest budget comes from the pilot
# (kit.chapters.pilot.regime_budget: the pilot budget at or beyond every sparsity's interval of
# x*), and its budgets double twice from there (4x); three sizes over 16x at the four sparsities,
# on pycode at recipe_lr_v3; a second seed at the smallest and the largest budget at the pilot's
# size (every sparsity), and one run at 4x the largest size held out of every fit. The sizes are
# the smallest three over 16x that hold the pilot's two (its runs are reused and its x* was
# measured there): 13,824 to 221,184 would cost about three times the machine time, which in
# regime (budgets from 18,752 steps) is several days of this machine.
GRID_V3 = dict(n_nonzero=[3_456, 13_824, 55_296], sparsities=[0.0, 0.5, 0.75, 0.875], doublings=2,
               seed_n_nonzero=13_824, seeds=[1], held_out=dict(n_nonzero=221_184, sparsity=0.5))


def grid_v3_parts(smallest_steps: int, window=(BASE.prune_start, BASE.prune_end), base: RunConfig = BASE,
                  grid: dict = GRID_V3) -> dict[str, list[RunConfig]]:
    """Grid v3's runs by purpose, for a smallest budget of `smallest_steps` and the pruning window
    (prune_start, prune_end) the pilot chose (kit.chapters.pilot.grid_window): 'grid' (every size,
    sparsity and budget), 'seeds' (grid['seeds'] at the smallest and largest budget, at
    grid['seed_n_nonzero'], every sparsity) and 'held_out' (one run at 4x the largest size, at the
    smallest budget), all at recipe_lr_v3.

        >>> parts = grid_v3_parts(9_376)
        >>> {name: len(configs) for name, configs in parts.items()}
        {'grid': 36, 'seeds': 8, 'held_out': 1}
        >>> sorted({c.steps for c in parts["grid"]}), parts["held_out"][0].n_nonzero
        ([9376, 18752, 37504], 221184)
    """
    if not (isinstance(smallest_steps, int) and smallest_steps > 0):
        raise ValueError(f"smallest_steps = {smallest_steps!r}: need a whole number of steps > 0")
    budgets = [steps(smallest_steps * 2**k) for k in range(grid["doublings"] + 1)]
    pruned = base.replace(prune_start=window[0], prune_end=window[1])  # dense runs keep BASE's: the same run ids
    at = lambda n, tokens: [(pruned if s > 0 else base).replace(n_nonzero=n, sparsity=s, tokens=d)
                            for s in grid["sparsities"] for d in tokens]
    parts = {
        "grid": [c for n in grid["n_nonzero"] for c in at(n, budgets)],
        "seeds": [c.replace(seed=seed) for c in at(grid["seed_n_nonzero"], [budgets[0], budgets[-1]])
                  for seed in grid["seeds"]],
        "held_out": [(pruned if grid["held_out"]["sparsity"] > 0 else base).replace(tokens=budgets[0], **grid["held_out"])],
    }
    return {name: with_recipe_v3(configs) for name, configs in parts.items()}


def grid_v3(smallest_steps: int, window=(BASE.prune_start, BASE.prune_end), base: RunConfig = BASE,
            grid: dict = GRID_V3) -> list[RunConfig]:
    """Every run of grid_v3_parts, each once.

        >>> len(grid_v3(9_376)), {(c.prune_start, c.prune_end) for c in grid_v3(9_376, window=(0.0, 1.0)) if c.sparsity}
        (45, {(0.0, 1.0)})
    """
    return list(dict.fromkeys(c for configs in grid_v3_parts(smallest_steps, window, base, grid).values()
                              for c in configs))


def nm_v3_grid(smallest_steps: int, window=(BASE.prune_start, BASE.prune_end), base: RunConfig = BASE,
               grid: dict = GRID_V3, patterns=NM_PATTERNS) -> list[RunConfig]:
    """Chapter 4's n:m runs in regime, on grid v3's pruning window and at its widths and learning
    rate: every pattern at every grid v3 size on the smallest budget (`smallest_steps`), and at
    the middle size also on the second budget, leaving out the patterns whose m does not divide
    the twin's width multiple (the m = 8 patterns at N = 3,456, whose widths are multiples of 4);
    each run's unstructured twin (same N, S, budget, width and window) is a run of grid_v3.

        >>> configs = nm_v3_grid(9_376)
        >>> len(configs), sorted({(c.nm, c.sparsity) for c in configs})[:2], sorted({c.steps for c in configs})
        (14, [((1, 4), 0.75), ((2, 4), 0.5)], [9376, 18752])
        >>> twins = set(grid_v3(9_376))
        >>> all(c.replace(nm=None) in twins for c in configs) and all(model.shape_for(c) == model.shape_for(
        ...     c.replace(nm=None)) for c in configs)
        True
    """
    sizes, middle = grid["n_nonzero"], grid["n_nonzero"][len(grid["n_nonzero"]) // 2]
    points = [(n, smallest_steps) for n in sizes] + [(middle, 2 * smallest_steps)]
    pruned = base.replace(prune_start=window[0], prune_end=window[1])
    configs = []
    for n, k in points:
        for p, m in patterns:
            twin = fine_width(pruned.replace(n_nonzero=n, tokens=steps(k), sparsity=1 - p / m))
            try:
                configs.append(twin.replace(nm=(p, m)))  # the twin's width_multiple, so the twin's width
            except ConfigError:  # m does not divide the twin's width multiple
                continue
    return with_recipe_v3(configs)


def matched_v3_grid(smallest_steps: int, base: RunConfig = BASE, sizes=GRID_V3["n_nonzero"],
                    sparsities=MATCHED["sparsities"], seeds=(0,)) -> list[tuple[RunConfig, RunConfig]]:
    """Jin et al.'s own design at our scale and in regime (chapter 6): matched_grid's pairs, one fixed
    schedule (geometric, compute-clocked, 25%-75%), at each of grid v3's sizes, on grid v3's smallest
    budget (`smallest_steps`, from the pilot: kit.chapters.pilot.regime_budget), at grid v3's
    learning rate (recipe_lr_v3).

        >>> pairs = matched_v3_grid(9_376)
        >>> len(pairs), sorted({s.n_nonzero for s, _ in pairs}), {(s.steps, d.steps) for s, d in pairs}
        (9, [3456, 13824, 55296], {(9376, 9376)})
    """
    return [pair for n in sizes for pair in matched_grid(fine_width(base.replace(n_nonzero=n)), n, steps(smallest_steps),
                                                         sparsities, list(seeds), recipe=with_recipe_v3)]
