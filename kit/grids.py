"""The book's sweep grids, defined once: chapters take these as their default parameters.

MAIN is the Table 1 analogue sized for a 2-core CPU (see chapter 1 for its measured cost):
non-zero sizes in 2x steps, token budgets in 2x steps spanning about 9 to 290 tokens per
non-zero parameter (Chinchilla's ~20 in the middle), the paper's sparsities, cubic pruning from 25% to 75% of training with a mask
update every 1% of the steps.
"""

from kit import model
from kit.config import RunConfig
from kit.sweep import grid

BASE = RunConfig()
MAIN = dict(
    n_nonzero=[6_912, 13_824, 27_648, 55_296],  # 24 d^2 for d = 17, 24, 34, 48 (2 layers; d is rounded to 8)
    tokens=[500_000, 1_000_000, 2_000_000],
    sparsity=[0.0, 0.5, 0.75, 0.875],
)


def main_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The main grid's configs; keyword axes override MAIN's (e.g. tokens=[500_000])."""
    return grid(base, **{**MAIN, **axes})

# Noise floor: a few main-grid points repeated with other seeds (seed 0 is the main grid's).
SEEDS = dict(n_nonzero=[6_912, 27_648], tokens=[500_000], sparsity=[0.0, 0.75], seed=[0, 1, 2])

# Held-out extrapolation (the paper's T5-XL test, scaled down): 4x the grid's largest non-zero
# count, at 75% sparsity and the middle budget; never used for fitting.
EXTRAPOLATION = dict(n_nonzero=[4 * 55_296], tokens=[1_000_000], sparsity=[0.75])


def seed_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    return grid(base, **{**SEEDS, **axes})


def extrapolation_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    return grid(base, **{**EXTRAPOLATION, **axes})

# n:m sparsity (Section 4.1): the main grid's runs with the fewest tokens or the smallest model,
# for the 50% patterns 2:4 and 4:8 and the 75% patterns 1:4 and 2:8 (gradual n:m, Algorithm 1).
NM_PATTERNS = [(2, 4), (4, 8), (1, 4), (2, 8)]


def nm_grid(base: RunConfig = BASE, n_nonzero=MAIN["n_nonzero"], tokens=MAIN["tokens"],
            patterns=NM_PATTERNS) -> list[RunConfig]:
    """Every pattern at every (N, D) of the main grid with D = min(tokens) or N = min(n_nonzero)."""
    points = [(n, d) for n in n_nonzero for d in tokens if d == min(tokens) or n == min(n_nonzero)]
    return [base.replace(n_nonzero=n, tokens=d, nm=(p, m), sparsity=1 - p / m)
            for (n, d) in points for (p, m) in patterns]


# Pruning pretrained models (Section 4.2): dense models trained as long as the corpus allows,
# then sparsified from their checkpoint for 5.6% of the pretraining tokens, pruning from the
# first step (start 0, end 75% of the short phase), on data the pretraining never read.
PRETRAINED = dict(n_dense=[13_824, 27_648, 55_296], pretrain_tokens=4_587_520,
                  sparsities=[0.5, 0.75, 0.875], prune_fraction=0.056)


def pretrain_grid(base: RunConfig = BASE, n_dense=PRETRAINED["n_dense"],
                  pretrain_tokens=PRETRAINED["pretrain_tokens"]) -> list[RunConfig]:
    """The dense long runs, saving their checkpoints."""
    return grid(base.replace(save_checkpoint=True), n_nonzero=list(n_dense), tokens=[pretrain_tokens])


def sparsify_grid(parents: dict[str, RunConfig], sparsities=PRETRAINED["sparsities"],
                  prune_fraction=PRETRAINED["prune_fraction"]) -> list[RunConfig]:
    """For each stored dense run (id -> config), its sparsified continuations: same width
    (N = n_dense (1 - S)), prune_fraction of its tokens, pruning from step 0 to 75% of them."""
    return [parent.replace(n_nonzero=round(parent.n_nonzero * (1 - s)), sparsity=s, init_from=id,
                           tokens=int(prune_fraction * parent.tokens), save_checkpoint=False,
                           prune_start=0.0, prune_end=0.75)
            for id, parent in parents.items() for s in sparsities]

# The Journey Matters (Jin et al.): pruning schedules swept at one size and two budgets, start
# and end measured in compute (prune_clock='compute') as they do, cubic and geometric.
SCHEDULE_SWEEP = dict(n_nonzero=6_912, tokens=[500_000, 1_000_000], sparsities=[0.5, 0.75],
                      starts=[0.0, 0.25, 0.5], ends=[0.5, 0.75, 1.0], kinds=["cubic", "geometric"])


def schedule_grid(base: RunConfig = BASE, n_nonzero=SCHEDULE_SWEEP["n_nonzero"],
                  tokens=SCHEDULE_SWEEP["tokens"], sparsities=SCHEDULE_SWEEP["sparsities"],
                  starts=SCHEDULE_SWEEP["starts"], ends=SCHEDULE_SWEEP["ends"],
                  kinds=SCHEDULE_SWEEP["kinds"]) -> list[RunConfig]:
    """Every (start < end) window for every kind, sparsity and budget, compute-clocked."""
    return [base.replace(n_nonzero=n_nonzero, tokens=d, sparsity=s, schedule=kind, prune_clock="compute",
                         prune_start=a, prune_end=b)
            for d in tokens for s in sparsities for kind in kinds for a in starts for b in ends if a < b]


# Matched average parameter count (Jin et al.'s released 1B pairs, scaled down): a sparse run
# (geometric, compute-clocked 25%-75%) and a dense run whose N equals the sparse run's N_avg,
# on the same tokens. The dense width is rounded to a multiple of 4 to match N_avg closely.
MATCHED = dict(n_nonzero=27_648, tokens=1_000_000, sparsities=[0.5, 0.75, 0.875])


def matched_grid(base: RunConfig = BASE, n_nonzero=MATCHED["n_nonzero"], tokens=MATCHED["tokens"],
                 sparsities=MATCHED["sparsities"]) -> list[tuple[RunConfig, RunConfig]]:
    """(sparse, dense) pairs with equal average non-zero count (kit.laws.n_avg) and tokens."""
    from kit.laws import n_avg
    from kit.schedules import steps_from_compute
    pairs = []
    for s in sparsities:
        sparse = base.replace(n_nonzero=n_nonzero, tokens=tokens, sparsity=s, schedule="geometric",
                              prune_clock="compute", prune_start=0.25, prune_end=0.75)
        start, end = steps_from_compute(0.25, 0.75, s, "geometric")
        n_final = (1 - s) * model.prunable_count(model.shape_for(sparse).d_model, base.n_layers)  # after rounding
        dense = base.replace(n_nonzero=round(n_avg(n_final, s, start, end, "geometric")), tokens=tokens,
                             sparsity=0.0, width_multiple=base.n_heads)
        pairs.append((sparse, dense))
    return pairs
