"""The book's sweep grids, defined once: chapters take these as their default parameters.

MAIN is the Table 1 analogue sized for a 2-core CPU (see chapter 1 for its measured cost):
non-zero sizes in 2x steps, token budgets in 2x steps spanning about 9 to 290 tokens per
non-zero parameter, the paper's sparsities, cubic pruning from 25% to 75% of training with a mask
update every 1% of the steps.
"""

from kit.config import RunConfig
from kit.sweep import grid

BASE = RunConfig()
MAIN = dict(
    n_nonzero=[13_824, 27_648, 55_296, 110_592],  # 24 * d^2 for d = 24, 34, 48, 68 (2 layers)
    tokens=[1_000_000, 2_000_000, 4_000_000],
    sparsity=[0.0, 0.5, 0.75, 0.875],
)


def main_grid(base: RunConfig = BASE, **axes) -> list[RunConfig]:
    """The main grid's configs; keyword axes override MAIN's (e.g. tokens=[500_000])."""
    return grid(base, **{**MAIN, **axes})

# Noise floor: a few main-grid points repeated with other seeds (seed 0 is the main grid's).
SEEDS = dict(n_nonzero=[13_824, 55_296], tokens=[1_000_000], sparsity=[0.0, 0.75], seed=[0, 1, 2])

# Held-out extrapolation (the paper's T5-XL test, scaled down): 4x the grid's largest non-zero
# count, at 75% sparsity and the middle budget; never used for fitting.
EXTRAPOLATION = dict(n_nonzero=[4 * 110_592], tokens=[2_000_000], sparsity=[0.75])


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
PRETRAINED = dict(n_dense=[27_648, 55_296, 110_592], pretrain_tokens=4_587_520,
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
