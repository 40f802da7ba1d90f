"""Chapter 2's appendix (the optimisers, residuals and profiles of the core-law fits) executed
with tiny parameters as scripts/build_book.py executes it: fewer starts on the authors' full sweeps."""

import re

from conftest import DURATION, assert_clean, execute_chapter

STEM = "02c_core_law_appendix"


def test_appendix_executes_and_shows_the_optimisers_residuals_and_profiles(tmp_path):
    nb, found = execute_chapter(STEM, dict(n_starts=4), tmp_path)
    assert found == {}, "the appendix tests no claim of its own"
    names = assert_clean(nb)
    assert re.fullmatch(DURATION, names["runtime_cached"])
    assert names["vit_reached"] == "'4 of 4'"  # our optimiser: every start reaches the ViT optimum
    assert names["t5_replay_within"] == "'0 of 4'"  # the authors' procedure stops early on T5
    t5_first, t5_last = (float(v) for v in names["t5_drift_table7"].strip("'").split(" to "))
    assert t5_first > 0 > t5_last  # Table 7's T5 row: too high at the shortest training, too low at the longest
    assert 0.2 < float(names["profile_at_table7_bN"].strip("'")) < 0.28
    labels = {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^\((ch2-[\w-]+)\)=$", c.source, re.M)}
    assert labels == {"ch2-appendix-optimisers", "ch2-appendix-residuals", "ch2-appendix-profiles"}
    [figure] = [c for c in nb.cells if c.cell_type == "code" and "mystnb" in c.metadata]
    assert [o.output_type for o in figure.outputs] == ["display_data"]
