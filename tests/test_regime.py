"""kit.chapters.regime: which claims rest on runs out of the law's regime."""

import numpy as np
import pandas as pd
import pytest

from kit.chapters import regime, transient
from kit.report.claims import OUT_OF_REGIME, Claim

FITS = pd.DataFrame({"sparsity": [0.5, 0.75, 0.875], "x_star": [3e3, 7e3, 8e3],
                     "x_star_low": [1.8e3, 6e3, 6.9e3], "x_star_high": [4.2e3, 8.5e3, 9.5e3]})


def claim(key="k", kind="own runs", our_runs="-0.05 nats", scope="N 13.8k-221k", verdict="does not hold"):
    return Claim(key, "Frantar et al. 2024", "Sparse wins.", "sec", None, None, our_runs, verdict,
                 "Holds if the interval excludes 0 above.", "It lies below 0.", kind=kind, scope=scope)


@pytest.mark.parametrize("largest, sparsities, expected", [
    (2_344, [0.5, 0.75, 0.875], OUT_OF_REGIME),  # grid v2: whole intervals above at 0.75 and 0.875
    (2_344, [0.5], None),  # 0.5's interval contains the budget: cannot tell
    (1_000, [0.5], OUT_OF_REGIME),
    (10_000, [0.5, 0.75, 0.875], "in regime"),
    (8_000, [0.5, 0.75, 0.875], None),  # 0.875's interval contains 8,000
    (2_344, [0.9], None),  # no transient fitted at 0.9
])
def test_regime_follows_the_intervals_of_x_star(largest, sparsities, expected):
    found, note, why = regime.regime_of(FITS, largest, sparsities)
    assert found == expected
    assert (f"{largest:,}" in why) != ("no transient" in why)  # the budget and the x* compared, or why it cannot
    assert note.startswith({OUT_OF_REGIME: "out of regime", "in regime": "in regime", None: "regime not known"}[found])


def test_judge_marks_only_claims_on_our_runs_and_keeps_the_rules_verdict():
    own, question = claim("a"), claim("b", kind="question", verdict="holds")
    published, no_number = claim("c", kind="published"), claim("d", our_runs=None)
    judged = regime.judge([own, question, published, no_number], FITS, 2_344, [0.5, 0.75, 0.875])
    assert [c.regime for c in judged] == [OUT_OF_REGIME, OUT_OF_REGIME, None, None]
    assert [c.verdict for c in judged] == ["does not hold", "holds", "does not hold", "does not hold"]
    assert judged[0].scope.startswith("N 13.8k-221k; out of regime: runs end by 2,344 steps")
    assert judged[0].reason.startswith("Out of regime:") and judged[0].reason.endswith("It lies below 0.")
    assert judged[2] == published and judged[3] == no_number
    in_regime = regime.judge([own], FITS, 20_000, [0.75])[0]
    assert in_regime.regime == "in regime" and in_regime.reason == own.reason


def test_grid_v2_fits_of_an_empty_store_are_empty_and_trains_nothing(tmp_path):
    from kit.engine.store import RunStore

    fits = regime.grid_v2_fits(RunStore(tmp_path))
    assert fits.empty and list(tmp_path.glob("*.json")) == []
    assert regime.regime_of(fits, 2_344, [0.5])[0] is None


def test_x_star_from_synthetic_gaps_that_close_as_one_over_steps():
    """The fit regime uses recovers x* = a / eps for gaps g_inf + a / x (gamma = 1), so a claim's
    regime follows the transient, not the grid."""
    rows = []
    for S, a in [(0.5, 20.0), (0.75, 60.0)]:
        for x in (293, 586, 1172, 2344):
            for n, noise in ((1, -0.002), (2, 0.002)):
                rows.append(dict(sparsity=S, steps=x, n_nonzero=n, gap=-0.03 + a / x + noise))
    fits = transient.fit_curves(pd.DataFrame(rows), "steps", gamma=1.0, n_boot=50)
    assert np.allclose(fits["x_star"], [2_000, 6_000], rtol=0.05)
    assert regime.regime_of(fits, 2_344, [0.75])[0] == OUT_OF_REGIME


def test_judge_runs_takes_a_claims_own_sparsity_from_its_numbers():
    """A claim whose numbers name a sparsity is judged on the runs at that sparsity alone: its budget
    and its x*, not those of the chapter's other sparsities."""
    from kit.engine.config import RunConfig

    runs = [RunConfig(sparsity=0.5, tokens=2_048 * 2_344), RunConfig(sparsity=0.75, tokens=2_048 * 9_000),
            RunConfig(sparsity=0.875, tokens=2_048 * 1_000)]
    at = {S: claim(f"s{S}").__class__(**{**claim(f"s{S}").__dict__, "numbers": {"sparsity": S}}) for S in (0.5, 0.75, 0.875)}
    judged = {c.key: c.regime for c in regime.judge_runs([*at.values(), claim("all")], FITS, runs)}
    # every sparsity against its own runs: the 0.875 runs end at 1,000 steps, whatever the 0.75 runs reach
    assert judged == {"s0.5": None, "s0.75": "in regime", "s0.875": OUT_OF_REGIME, "all": OUT_OF_REGIME}
