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
