"""The paper's own sweeps (Frantar et al. 2024), as tables the fitter reads.

The authors published the T5/C4 and ViT/JFT-4B sweep results behind their Figures 1-3 and
Table 7 (google-research/jaxpruner, projects/bigsparse, Apache-2.0). The repository holds a copy
in `data/frantar2023/` (`DATA_DIR`; NOTICE there gives the source and licence); its README.md
gives the conventions used here:

- N, non-zero parameters: the backbone's prunable parameter count times the width `scale`
  times density (1 - S). T5: 24 * 12 * 768**2 (T5-base, 24 layers), ViT: 12 * 12 * 768**2 (ViT-B/16).
- D, training data: tokens for T5 (steps at batch 128, sequence 512; Table 7 says D counts
  tokens), images for ViT (`total_examples`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "frantar2023"

T5_PARAMS = 24 * 12 * 768**2  # prunable parameters of T5-base at scale 1
VIT_PARAMS = 12 * 12 * 768**2  # prunable parameters of ViT-B/16 at scale 1
T5_TOKENS_PER_STEP = 128 * 512  # batch 128, sequence length 512

# The extrapolation run of Figure 1 (right): T5-XL pruned to 75%, trained on the tokens of 500k
# steps at batch 128 (250k at batch 256), and its measured validation loss.
T5_XL = dict(S=0.75, N=48 * 12 * 1024**2, D=500000 * 128 * 512, loss=1.4827780204906797)

# Table 7's "Error": the fit objective at the published coefficients (mean Huber loss; see
# kit.fit.fitting). T5: Huber on log L, delta 1e-3; ViT: Huber on L, delta 1e-2; n:m: delta 1e-2.
TABLE7_ERROR = {"t5": 7.6e-6, "vit": 4.93e-4, "t5_nm": 2.1e-5}


def _file(name: str, root) -> Path:
    path = Path(root if root is not None else DATA_DIR) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"paper sweep data {name!r} not found: looked for {path}. Pass root= the folder "
            f"holding t5-data.csv and vit-data.json (default {DATA_DIR})")
    return path


def load_t5(root=None) -> pd.DataFrame:
    """The 48 T5/C4 runs: columns S, N (non-zeros), D (tokens), loss, plus raw scale and steps.

        >>> t5 = load_t5()
        >>> t5.shape, list(t5.columns)
        ((48, 6), ['S', 'N', 'D', 'loss', 'scale', 'steps'])
    """
    raw = pd.read_csv(_file("t5-data.csv", root), index_col=0)
    S = raw["sparsity"]
    return pd.DataFrame({
        "S": S,
        "N": T5_PARAMS * raw["scale"] * (1 - S),
        "D": raw["steps"] * T5_TOKENS_PER_STEP,
        "loss": raw["val-loss"],
        "scale": raw["scale"],
        "steps": raw["steps"],
    }).reset_index(drop=True)


def load_vit(root=None) -> pd.DataFrame:
    """The 112 ViT/JFT-4B runs: columns S, N (non-zeros), D (images), loss, plus raw scale and
    total_examples.

        >>> vit = load_vit()
        >>> vit.shape, sorted(vit.S.unique().tolist())
        ((112, 6), [0.0, 0.5, 0.75, 0.875, 0.9375])
    """
    raw = pd.read_json(_file("vit-data.json", root)).sort_index()
    S = raw["sparsity"]
    return pd.DataFrame({
        "S": S,
        "N": VIT_PARAMS * raw["scale"] * (1 - S),
        "D": raw["total_examples"].astype(float),
        "loss": raw["val-loss"],
        "scale": raw["scale"],
        "total_examples": raw["total_examples"],
    }).reset_index(drop=True)


def data_range(runs: pd.DataFrame) -> dict:
    """The range of the runs a law is fitted on, as kit.laws.Law's data: {"S": (lowest, highest), "N": ..., "D": ...}.

        >>> data_range(load_t5())
        {'S': (0.0, 0.875), 'N': (1327104.0, 84934656.0), 'D': (16384000000.0, 65536000000.0)}
    """
    return {name: (float(runs[name].min()), float(runs[name].max())) for name in ("S", "N", "D")}
