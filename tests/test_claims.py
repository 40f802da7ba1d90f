import pytest

from kit.report import claims
from kit.report.claims import Claim, direction_verdict, equivalence_verdict, interval_text


def claim(**changes):
    fields = dict(key="gain-0.75", paper="Frantar et al. 2024", statement="At $S = 0.75$ the gain is 1.59x.",
                  section="core-law-gains", paper_value="1.59x", authors_data="1.58x [1.50, 1.66]",
                  our_runs="1.77x [1.61, 1.92]", verdict="does not hold",
                  rule="Holds if our 95% interval contains 1.59.", reason="Our estimate is 1.77x [1.61, 1.92].",
                  numbers={"estimate": 1.77, "low": 1.61, "high": 1.92})
    return Claim(**(fields | changes))


def test_claim_keeps_its_fields_and_numbers_as_floats():
    c = claim(numbers={"n": 3, "gap": 0.5})
    assert c.numbers == {"n": 3.0, "gap": 0.5} and isinstance(c.numbers["n"], float)
    assert c.our_runs == "1.77x [1.61, 1.92]" and c.verdict == "does not hold"
    with pytest.raises(AttributeError):
        c.verdict = "holds"  # frozen


@pytest.mark.parametrize("changes, message", [
    (dict(paper="Frantar 2023"), r"paper 'Frantar 2023' is not one of \['Frantar et al. 2024', 'Jin et al. 2025'\]"),
    (dict(verdict="within noise"), r"verdict 'within noise' is not one of"),
    (dict(key="Gain 0.75"), r"Claim key 'Gain 0.75': use lower-case"),
    (dict(section="core law"), r"section 'core law' is not a MyST label"),
    (dict(rule=" "), r"rule must be a non-empty sentence"),
    (dict(our_runs=1.77), r"our_runs must be a formatted string or None; got 1.77"),
    (dict(numbers={"gap": "large"}), r"numbers must map names to numbers"),
    (dict(numbers={"ok": True}), r"numbers must map names to numbers"),
])
def test_claim_refuses_bad_fields_in_one_line(changes, message):
    with pytest.raises(ValueError, match=message) as error:
        claim(**changes)
    assert "\n" not in str(error.value)


def test_papers_are_the_two_the_book_tests():
    assert list(claims.PAPERS) == ["Frantar et al. 2024", "Jin et al. 2025"]
    assert claims.VERDICTS == ("holds", "does not hold", "not resolved")


def test_interval_text():
    assert interval_text(1.77, 1.61, 1.92, unit="x") == "1.77x [1.61, 1.92]"
    assert interval_text(0.0123, -0.004, 0.0281, fmt="+.3f", unit=" nats") == "+0.012 nats [-0.004, +0.028]"
    assert interval_text(1.59, unit="x") == "1.59x"


@pytest.mark.parametrize("low, high, sign, verdict", [
    (0.01, 0.03, +1, "holds"), (-0.03, -0.01, -1, "holds"),
    (-0.03, -0.01, +1, "does not hold"), (0.01, 0.03, -1, "does not hold"),
    (-0.01, 0.03, +1, "not resolved"), (0.0, 0.03, +1, "not resolved"),  # an end on 0 does not exclude it
])
def test_direction_verdict(low, high, sign, verdict):
    assert direction_verdict((low + high) / 2, low, high, sign)[0] == verdict


def test_direction_reason_gives_sign_size_and_resolution():
    verdict, reason = direction_verdict(0.012, -0.004, 0.028, +1, quantity="the loss gap", unit=" nats", fmt="+.3f")
    assert verdict == "not resolved"
    assert reason == ("The loss gap is +0.012 nats [-0.004, +0.028]: the interval contains 0, so its sign is not "
                      "resolved; at this noise only effects larger than about 0.016 nats (the interval's "
                      "half-width) could be.")
    verdict, reason = direction_verdict(-0.02, -0.03, -0.01, +1, fmt="+.2f")
    assert verdict == "does not hold" and reason.startswith("The difference is -0.02 [-0.03, -0.01]: negative")


@pytest.mark.parametrize("low, high, verdict", [
    (-0.004, 0.008, "holds"), (0.012, 0.02, "does not hold"), (-0.03, -0.011, "does not hold"),
    (-0.004, 0.012, "not resolved"), (-0.02, 0.02, "not resolved"), (0.0, 0.01, "not resolved"),
])
def test_equivalence_verdict(low, high, verdict):
    assert equivalence_verdict((low + high) / 2, low, high, margin=0.01)[0] == verdict


def test_equivalence_reason_gives_the_smallest_supported_margin():
    verdict, reason = equivalence_verdict(0.004, -0.004, 0.012, 0.01, fmt="+.3f")
    assert verdict == "not resolved"
    assert reason.endswith("straddles the margin ±0.010; at this noise it would support a margin of ±0.012 "
                           "at the smallest.")


@pytest.mark.parametrize("call, message", [
    (lambda: direction_verdict(0.0, 0.1, -0.1, +1), r"interval \[0.1, -0.1\]: low must not exceed high"),
    (lambda: direction_verdict(0.0, -0.1, 0.1, 2), r"sign must be \+1"),
    (lambda: direction_verdict(float("nan"), -0.1, 0.1, 1), "must be finite numbers"),
    (lambda: equivalence_verdict(0.0, -0.1, 0.1, 0.0), "margin must be a positive number"),
])
def test_verdicts_refuse_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_verb_makes_every_verdict_a_predicate():
    assert [claims.verb(v) for v in claims.VERDICTS] == ["holds", "does not hold", "is not resolved"]
    with pytest.raises(ValueError, match="verdict='maybe': allowed"):
        claims.verb("maybe")


def test_a_claim_names_the_kind_of_its_evidence_and_its_scope():
    base = dict(key="k", paper="Frantar et al. 2024", statement="s.", section="sec", paper_value=None,
                authors_data=None, our_runs=None, verdict="holds", rule="r.", reason="why.")
    claim = claims.Claim(**base, kind="own runs", scope="D 0.6M-4.8M tokens", rule_after=True)
    assert (claim.kind, claim.scope, claim.rule_after) == ("own runs", "D 0.6M-4.8M tokens", True)
    assert claims.Claim(**base).kind is None
    for bad, message in [(dict(kind="vibes"), "kind 'vibes'"), (dict(scope=" "), "scope"),
                         (dict(rule_after="yes"), "rule_after")]:
        with pytest.raises(ValueError, match=message):
            claims.Claim(**base, **bad)


def test_an_infinite_end_reads_unbounded():
    assert interval_text(6.7e-58, 0.0, float("inf")) == "6.7e-58 [0, unbounded]"
    assert interval_text(1.0, float("-inf"), 2.0, unit="x") == "1x [unbounded, 2]"
