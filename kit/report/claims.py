"""Claims of the two papers that the book tests, and the rules that turn an interval into a verdict.

A chapter states its rule in prose before it computes anything, computes an estimate and an
interval, and calls one rule; the rule returns the verdict word and a one-sentence reason that
gives the sign and size of the number and, when the verdict is "not resolved", the smallest
effect the interval could have resolved ("within noise" alone is never a reason):

    verdict, reason = claims.direction_verdict(gap, low, high, sign=+1, unit=" nats")
    claim = claims.Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.",
                         "fair-size", None, None, claims.interval_text(gap, low, high, unit=" nats"),
                         verdict, "Holds if the 95% interval of the gap excludes 0 above.", reason,
                         {"gap": gap, "low": low, "high": high})

kit.report.results writes claims to a chapter's results file and builds the results page from them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

PAPERS = {
    "Frantar et al. 2024": "Scaling Laws for Sparsely-Connected Foundation Models (ICLR 2024)",
    "Jin et al. 2025": "The Journey Matters: Average Parameter Count over Pre-training Unifies Sparse "
                       "and Dense Scaling Laws (ICLR 2025)",
}
VERDICTS = ("holds", "does not hold", "not resolved")
# The book's verdict on a claim whose runs all end before the transient of pruning has faded
# (kit.chapters.regime): it says nothing about the law, whatever its rule gives on those runs.
OUT_OF_REGIME = "out of regime"
REGIMES = ("in regime", OUT_OF_REGIME)  # Claim.regime, or None where it is not judged or not known
# What kind of evidence a claim's verdict rests on; the results page counts verdicts per kind.
KINDS = {
    "published": "reproduced from published numbers",
    "reanalysis": "reanalysis of the authors' data",
    "implementation": "check of our implementation",
    "own runs": "test on our runs",
    "question": "the book's own question",
}
_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_LABEL = re.compile(r"[^\s<>`()]+")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper as the book tests it.

    key: unique over the book (lower case, digits, - _ .); paper: a key of PAPERS; statement: the
    claim in one sentence (MyST: $math$ allowed); section: the MyST label the chapter puts above
    the section that tests it ("(label)=" before the heading); paper_value, authors_data, our_runs:
    short formatted numbers ("1.59x", "1.77x [1.61, 1.92]", see interval_text), None where there is
    none; verdict: one of VERDICTS; rule: the rule, fixed before looking, in one sentence; reason:
    the sentence the rule returned; numbers: the raw numbers (floats) behind it, for tests; kind:
    one of KINDS, the evidence the verdict rests on; scope: what the verdict covers, in a few
    words (budgets, sizes, steps: "N 13.8k-221k, D 0.6M-4.8M tokens, 2,344 steps at most"), None
    where it is not limited; rule_after: True when the rule was set after its numbers were seen
    (the results page flags it); regime: whether its runs are in the regime the law describes
    (REGIMES; kit.chapters.regime sets it), None where that is not judged or not known.

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.",
        ...           {"gap": 0.03, "low": 0.01, "high": 0.05}, kind="own runs", scope="N 13.8k-221k")
        >>> c.verdict, c.numbers["gap"]
        ('holds', 0.03)
    """

    key: str
    paper: str
    statement: str
    section: str
    paper_value: str | None
    authors_data: str | None
    our_runs: str | None
    verdict: str
    rule: str
    reason: str
    numbers: dict = field(default_factory=dict)
    kind: str | None = None
    scope: str | None = None
    rule_after: bool = False
    regime: str | None = None

    def __post_init__(self):
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"Claim {self.key}: kind {self.kind!r} is not one of {list(KINDS)}")
        if not (self.scope is None or isinstance(self.scope, str) and self.scope.strip()):
            raise ValueError(f"Claim {self.key}: scope must be a few words or None; got {self.scope!r}")
        if self.regime is not None and self.regime not in REGIMES:
            raise ValueError(f"Claim {self.key}: regime {self.regime!r} is not one of {list(REGIMES)} or None")
        if not isinstance(self.rule_after, bool):
            raise ValueError(f"Claim {self.key}: rule_after must be True or False; got {self.rule_after!r}")
        if not isinstance(self.key, str) or not _KEY.fullmatch(self.key):
            raise ValueError(f"Claim key {self.key!r}: use lower-case letters, digits, '-', '_', '.'")
        if self.paper not in PAPERS:
            raise ValueError(f"Claim {self.key}: paper {self.paper!r} is not one of {list(PAPERS)}")
        if self.verdict not in VERDICTS:
            raise ValueError(f"Claim {self.key}: verdict {self.verdict!r} is not one of {list(VERDICTS)}")
        if not isinstance(self.section, str) or not _LABEL.fullmatch(self.section):
            raise ValueError(f"Claim {self.key}: section {self.section!r} is not a MyST label "
                             f"(the name in '(name)=' above the section's heading, no spaces)")
        for name in ("statement", "rule", "reason"):
            text = getattr(self, name)
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"Claim {self.key}: {name} must be a non-empty sentence; got {text!r}")
        for name in ("paper_value", "authors_data", "our_runs"):
            if not (getattr(self, name) is None or isinstance(getattr(self, name), str)):
                raise ValueError(f"Claim {self.key}: {name} must be a formatted string or None; "
                                 f"got {getattr(self, name)!r}")
        if not isinstance(self.numbers, dict):
            raise ValueError(f"Claim {self.key}: numbers must be a dict of name -> float; got {self.numbers!r}")
        try:
            numbers = {str(k): float(v) for k, v in self.numbers.items() if not isinstance(v, bool)}
        except (TypeError, ValueError):
            numbers = None
        if numbers is None or len(numbers) != len(self.numbers):
            raise ValueError(f"Claim {self.key}: numbers must map names to numbers; got {self.numbers!r}")
        object.__setattr__(self, "numbers", numbers)


def reported(claim: Claim) -> str:
    """The verdict the book reports for a claim: OUT_OF_REGIME when its runs are out of the law's
    regime (its rule's verdict on those runs stays in claim.verdict), else claim.verdict.

        >>> c = Claim("k", "Frantar et al. 2024", "Sparse wins.", "sec", None, None, "-0.05 nats", "does not hold",
        ...           "Holds if the gap is above 0.", "It is below.", regime="out of regime")
        >>> reported(c), c.verdict
        ('out of regime', 'does not hold')
    """
    return OUT_OF_REGIME if claim.regime == OUT_OF_REGIME else claim.verdict


def verb(verdict: str) -> str:
    """A verdict as the predicate of a sentence: "holds", "does not hold", "is not resolved", so
    that "the claim {verb(v)}" reads for every verdict.

        >>> [verb(v) for v in VERDICTS]
        ['holds', 'does not hold', 'is not resolved']
    """
    if verdict not in (*VERDICTS, OUT_OF_REGIME):
        raise ValueError(f"verdict={verdict!r}: allowed {(*VERDICTS, OUT_OF_REGIME)}")
    return {"not resolved": "is not resolved", OUT_OF_REGIME: "is out of regime"}.get(verdict, verdict)


def interval_text(estimate, low=None, high=None, fmt=".3g", unit="") -> str:
    """An estimate and its interval as the book prints them. fmt is a format spec for all three
    numbers ("+.3f" for signed differences); unit is appended to the estimate as given (" nats",
    "x", "%"). An infinite end, where a profile found no bound (kit.fit.fitting), reads "unbounded"
    (an end at 0 is the edge of a positive quantity's range).

        >>> interval_text(1.77, 1.61, 1.92, unit="x")
        '1.77x [1.61, 1.92]'
        >>> interval_text(1.0, 1.0, math.inf, unit="x")
        '1x [1, unbounded]'
        >>> interval_text(0.0312, -0.004, 0.066, fmt="+.3f", unit=" nats")
        '+0.031 nats [-0.004, +0.066]'
    """
    text = f"{format(float(estimate), fmt)}{unit}"
    if low is None and high is None:
        return text
    low, high = ("unbounded" if math.isinf(float(v)) else format(float(v), fmt) for v in (low, high))
    return f"{text} [{low}, {high}]"


def _checked(estimate, low, high):
    values = [float(v) for v in (estimate, low, high)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"estimate, low, high must be finite numbers; got {estimate!r}, {low!r}, {high!r}")
    if values[1] > values[2]:
        raise ValueError(f"interval [{low!r}, {high!r}]: low must not exceed high")
    return values


def _capital(text):
    return text[:1].upper() + text[1:]


def direction_verdict(estimate, low, high, sign, *, quantity="the difference", unit="", fmt="+.3g"):
    """Does a difference have the sign a claim says? sign is +1 (the claim: positive) or -1.

    Holds if the interval [low, high] excludes 0 on the side of `sign`, does not hold if it excludes
    0 on the other side, and is not resolved if it contains 0 (an end exactly at 0 counts as
    containing it); then the reason gives the interval's half-width, the smallest effect an
    interval this wide could have told from 0. Returns (verdict, one-sentence reason).

        >>> direction_verdict(0.03, 0.01, 0.05, sign=+1, unit=" nats")
        ('holds', 'The difference is +0.03 nats [+0.01, +0.05]: positive, as claimed (the interval excludes 0).')
        >>> verdict, reason = direction_verdict(0.01, -0.02, 0.04, sign=+1, unit=" nats")
        >>> print(verdict + ":", reason)
        not resolved: The difference is +0.01 nats [-0.02, +0.04]: the interval contains 0, so its sign is not
        resolved; at this noise only effects larger than about 0.03 nats (the interval's half-width) could be.
    """
    estimate, low, high = _checked(estimate, low, high)
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 (the claim says positive) or -1 (negative); got {sign!r}")
    said = interval_text(estimate, low, high, fmt, unit)
    claimed, other = ("positive", "negative") if sign > 0 else ("negative", "positive")
    if low > 0 or high < 0:
        side = "positive" if low > 0 else "negative"
        if side == claimed:
            return "holds", f"{_capital(quantity)} is {said}: {side}, as claimed (the interval excludes 0)."
        return "does not hold", (f"{_capital(quantity)} is {said}: {side}, against the claim "
                                 f"(the interval excludes 0 on the {side} side).")
    half = format((high - low) / 2, fmt.replace("+", ""))
    return "not resolved", (f"{_capital(quantity)} is {said}: the interval contains 0, so its sign is not "
                            f"resolved; at this noise only effects larger than about {half}{unit} "
                            f"(the interval's half-width) could be.")


def equivalence_verdict(estimate, low, high, margin, *, quantity="the difference", unit="", fmt="+.3g"):
    """Is a difference negligible, |difference| < margin, as a claim says (e.g. two laws fit
    equally well)?

    Holds if the whole interval lies inside (-margin, margin), does not hold if the whole interval
    lies outside [-margin, margin], and is not resolved if it straddles a margin; then the reason
    gives the smallest margin the interval would support, max(|low|, |high|). Returns (verdict,
    one-sentence reason).

        >>> equivalence_verdict(0.004, -0.002, 0.01, margin=0.02, unit=" nats")
        ('holds', 'The difference is +0.004 nats [-0.002, +0.01]: the whole interval lies within the margin ±0.02 nats.')
    """
    estimate, low, high = _checked(estimate, low, high)
    if not (isinstance(margin, (int, float)) and math.isfinite(margin) and margin > 0):
        raise ValueError(f"margin must be a positive number (the largest negligible difference); got {margin!r}")
    said = interval_text(estimate, low, high, fmt, unit)
    plain = fmt.replace("+", "")
    bound = f"±{format(margin, plain)}{unit}"
    if -margin < low and high < margin:
        return "holds", f"{_capital(quantity)} is {said}: the whole interval lies within the margin {bound}."
    if low > margin or high < -margin:
        return "does not hold", (f"{_capital(quantity)} is {said}: the whole interval lies beyond the margin "
                                 f"{bound}, so the difference is not negligible.")
    needed = format(max(abs(low), abs(high)), plain)
    return "not resolved", (f"{_capital(quantity)} is {said}: the interval straddles the margin {bound}; "
                            f"at this noise it would support a margin of ±{needed}{unit} at the smallest.")


