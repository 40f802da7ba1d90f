import numpy as np
import pytest

from kit import paper

needs_data = pytest.mark.skipif(not paper.DATA_DIR.is_dir(), reason=f"no paper data at {paper.DATA_DIR}")


@needs_data
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


@needs_data
def test_vit_table():
    vit = paper.load_vit()
    assert len(vit) == 112
    assert (vit.N > 0).all() and (vit.D > 0).all()
    np.testing.assert_allclose(vit.N, 12 * 12 * 768**2 * vit.scale * (1 - vit.S))
    np.testing.assert_array_equal(vit.D, vit.total_examples)
    assert sorted(vit.D.unique()) == [225e6, 450e6, 900e6, 1800e6]
    assert vit.loss.between(5.0, 10.0).all()


@needs_data
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
