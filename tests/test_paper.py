import csv
import json
from pathlib import Path

import numpy as np
import pytest

from kit.fit import paper

ROOT = Path(__file__).resolve().parents[1]


def test_data_ships_in_the_repository_with_source_and_licence():
    # The default folder is the repository's own copy: a fresh clone needs nothing beside it.
    assert paper.DATA_DIR == ROOT / "data" / "frantar2023"
    names = {p.name for p in paper.DATA_DIR.iterdir()}
    assert {"README.md", "NOTICE", "LICENSE", "t5-data.csv", "vit-data.json"} <= names
    notice = (paper.DATA_DIR / "NOTICE").read_text()
    assert "google-research/jaxpruner" in notice and "projects/bigsparse" in notice
    assert "Apache License, Version 2.0" in notice and "2309.08520" in notice
    assert "Apache License" in (paper.DATA_DIR / "LICENSE").read_text()[:200]


def test_raw_files_hold_48_t5_and_112_vit_runs():
    with open(paper.DATA_DIR / "t5-data.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["", "sparsity", "scale", "val-loss", "steps"]
    assert len(rows) - 1 == 48
    vit = json.loads((paper.DATA_DIR / "vit-data.json").read_text())
    assert sorted(vit) == ["scale", "sparsity", "total_examples", "val-loss"]
    assert [len(column) for column in vit.values()] == [112] * 4


def test_t5_table():
    t5 = paper.load_t5()
    assert len(t5) == 48
    assert list(t5.columns[:4]) == ["S", "N", "D", "loss"]
    assert (t5.N > 0).all() and (t5.D > 0).all()
    # First run: dense T5 at width scale 1/128, 250k steps of 128 x 512 tokens.
    first = t5.iloc[0]
    assert first.S == 0.0 and first.scale == 0.0078125 and first.steps == 250000
    assert first.N == 24 * 12 * 768**2 / 128
    assert first.D == 250000 * 128 * 512
    assert first.loss == pytest.approx(3.1256396912691886, rel=1e-15)
    assert sorted(t5.S.unique()) == [0.0, 0.5, 0.75, 0.875]
    assert sorted(t5.steps.unique()) == [250000, 500000, 1000000]
    # The sweep holds non-zeros fixed across sparsities (Table 1): 4 sizes.
    assert t5.N.nunique() == 4


def test_vit_table():
    vit = paper.load_vit()
    assert len(vit) == 112
    assert (vit.N > 0).all() and (vit.D > 0).all()
    np.testing.assert_allclose(vit.N, 12 * 12 * 768**2 * vit.scale * (1 - vit.S))
    np.testing.assert_array_equal(vit.D, vit.total_examples)
    assert sorted(vit.D.unique()) == [225e6, 450e6, 900e6, 1800e6]
    assert vit.loss.between(5.0, 10.0).all()


def test_explicit_root_reads_the_same_files():
    assert paper.load_t5(paper.DATA_DIR).equals(paper.load_t5())


def test_missing_folder_names_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "t5-data.csv")):
        paper.load_t5(tmp_path)
    with pytest.raises(FileNotFoundError, match="vit-data.json"):
        paper.load_vit(tmp_path)


def test_t5_xl_point():
    assert paper.T5_XL["N"] == 603979776  # 2.4e9 parameters at 75% sparsity, about 6.0e8 non-zeros
    assert paper.T5_XL["D"] == 250000 * 256 * 512  # 250k steps at batch 256
    assert paper.T5_XL["S"] == 0.75


def test_data_range_is_the_runs_extremes():
    t5 = paper.load_t5()
    # 1/128 to 1/2 of T5-base's 24 * 12 * 768^2 prunable weights (the smallest dense, the largest at S = 0);
    # 250k to 1M steps of 128 x 512 tokens
    assert paper.data_range(t5) == {"S": (0.0, 0.875), "N": (24 * 12 * 768**2 / 128, 24 * 12 * 768**2 / 2),
                                    "D": (250_000 * 65_536, 1_000_000 * 65_536)}
    assert paper.data_range(paper.load_vit())["S"] == (0.0, 0.9375)
