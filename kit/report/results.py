"""Results files of the chapters, the book's results page, and formatted tables.

Each chapter writes the claims it tests (kit.report.claims.Claim) to <results_dir>/<chapter>.json;
scripts/build_book.py passes results_dir and, after executing every chapter, turns the files into
book/results.md with results_page. A chapter's formatted tables are markdown_table's output shown
with IPython.display.Markdown, so the numbers read as text, not as a raw DataFrame:

    results.write(results_dir, "02b_core_law_ours", [claim_gain, claim_extrapolation])  # None: no file
    display(Markdown(results.markdown_table(table, {"gap": "{:+.3f}", "S": "{:g}"})))
"""

from __future__ import annotations

import dataclasses
import html
import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from kit.report.claims import KINDS, OUT_OF_REGIME, PAPERS, VERDICTS, Claim, reported

_CHAPTER = re.compile(r"[A-Za-z0-9_.-]+")


def write(results_dir, chapter: str, claims) -> Path | None:
    """Write the claims a chapter tests to <results_dir>/<chapter>.json (the folder is created)
    and return that path; results_dir None writes nothing and returns None. Keys must be unique.

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.")
        >>> write(tempfile.mkdtemp(), "01_fair_evaluation", [c]).name, write(None, "01_fair_evaluation", [c])
        ('01_fair_evaluation.json', None)
    """
    if results_dir is None:
        return None
    if not isinstance(chapter, str) or not _CHAPTER.fullmatch(chapter):
        raise ValueError(f"chapter {chapter!r}: use the notebook's file name without .ipynb (letters, digits, _ . -)")
    claims = list(claims)
    wrong = [type(c).__name__ for c in claims if not isinstance(c, Claim)]
    if wrong:
        raise ValueError(f"chapter {chapter}: claims must be kit.report.claims.Claim; got {wrong}")
    keys = [c.key for c in claims]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"chapter {chapter}: claim keys {twice} appear more than once")
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}.json"
    text = json.dumps({"chapter": chapter, "claims": [dataclasses.asdict(c) for c in claims]}, indent=1)
    with tempfile.NamedTemporaryFile("w", dir=folder, suffix=".tmp", delete=False) as f:
        f.write(text + "\n")
    os.replace(f.name, path)
    return path


def read_all(results_dir) -> list[Claim]:
    """Every claim in results_dir's *.json files: files in name order (chapter order), claims in
    the order each chapter wrote them. The folder must exist; a key in two files is an error.

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.")
        >>> folder = tempfile.mkdtemp()
        >>> _ = write(folder, "01_fair_evaluation", [c])
        >>> [(claim.key, claim.verdict) for claim in read_all(folder)]
        [('fair-size', 'holds')]
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"results_dir {str(folder)!r} is not a folder: execute the chapters with "
                                f"results_dir set (scripts/build_book.py does) first")
    out, seen = [], {}
    for path in sorted(folder.glob("*.json")):
        try:
            records = json.loads(path.read_text())["claims"]
            found = [Claim(**record) for record in records]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path.name}: not a results file of kit.report.results.write ({error})") from None
        for c in found:
            if c.key in seen:
                raise ValueError(f"claim key {c.key!r} is in both {seen[c.key]} and {path.name}")
            seen[c.key] = path.name
        out += found
    return out


def _cell(text) -> str:
    """Table-cell text: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", r"\|")


SYMBOL = {"holds": "✓", "does not hold": "✗", "not resolved": "?", OUT_OF_REGIME: "○"}  # a verdict's mark, readable in print too
REPORTED = (*VERDICTS, OUT_OF_REGIME)  # the verdicts the book reports (claims.reported)
UNCLASSIFIED = "unclassified"  # the kind row of claims whose chapter has not set a kind yet
AFTER = "†"  # marks a claim whose rule was set after looking at its numbers
AUTHOR = {"Frantar et al. 2024": "Frantar", "Jin et al. 2025": "Jin"}  # the paper column of the claims table


SHARE = {  # a kind's claims in a sentence: "5 of 21 tests on our runs"
    "published": "reproduced from published numbers", "reanalysis": "on a reanalysis of the authors' data",
    "implementation": "checks of our implementation", "own runs": "tests on our runs",
    "question": "of the book's own questions",
}


def _kind(c: Claim) -> str:
    return c.kind if c.kind is not None else UNCLASSIFIED


def _id(c: Claim) -> str:
    return c.key + (AFTER if c.rule_after else "")


def _mark(verdict: str) -> str:
    return f"{SYMBOL[verdict]} **{verdict}**"


def _verdict(c: Claim) -> str:
    """The reported verdict with its mark; out of regime, what the rule gives on those runs beside it."""
    return _mark(reported(c)) + (f" (its rule on these runs: {c.verdict})" if c.regime == OUT_OF_REGIME else "")


def _ours(c: Claim) -> str | None:
    """The book's own number for a claim: on our runs if it has one, else on the authors' data."""
    return c.our_runs if c.our_runs is not None else c.authors_data


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _said(n: int, one: str, many: str) -> str:
    """A count as the subject of its verb: _said(1, "holds", "hold") -> "1 holds"."""
    return f"{n} {one if n == 1 else many}"


def _link(c: Claim) -> str:
    return f"{{ref}}`{c.key} <claim-{c.key}>`"


def _listed(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def kind_counts(claims) -> pd.DataFrame:
    """Claims per kind of evidence (rows: claims.KINDS, then "unclassified" if any claim has no
    kind) and reported verdict (columns: REPORTED, then "total"); the totals add up to len(claims).

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.",
        ...           kind="own runs")
        >>> kind_counts([c]).loc["own runs"].to_dict()
        {'holds': 1, 'does not hold': 0, 'not resolved': 0, 'out of regime': 0, 'total': 1}
    """
    claims = list(claims)
    rows = list(KINDS) + ([UNCLASSIFIED] if any(c.kind is None for c in claims) else [])
    frame = pd.DataFrame({v: [sum(_kind(c) == k and reported(c) == v for c in claims) for k in rows] for v in REPORTED},
                         index=pd.Index(rows, name="kind"))
    return frame.assign(total=frame.sum(axis=1))


REGIME_CLAIM = "transient-v2-in-regime"  # the transient chapter's test of whether grid v2's runs are long enough


def regime(claims) -> str | None:
    """The paragraph on how far the book's own runs go: whether grid v2's runs are in the regime
    the law describes (the transient chapter's claim REGIME_CLAIM) and what that means for the
    verdicts on our runs, then the verdicts of the claims judged in regime (grid v3's); None when
    no chapter of this build tested REGIME_CLAIM.

        >>> c = Claim(REGIME_CLAIM, "Jin et al. 2025", "Grid v2's runs are long enough.", "transient", None, None,
        ...           "-0.04 nats [-0.06, -0.02]", "does not hold", "Holds if the gap has stopped closing.",
        ...           "It has not.", {"largest": 2344})
        >>> print(regime([c]))
        **Our runs and the law's regime.** Grid v2's runs are not long enough for the law: ... 2,344 steps ...
        >>> v3 = dataclasses.replace(c, key="fair-v3", regime="in regime", verdict="holds")
        >>> print(regime([c, v3]).split(". ")[-1])
        In regime, on the runs of grid v3 stored for this build (provisional until it is complete): ... **holds**.
        >>> regime([]) is None
        True
    """
    claims = list(claims)
    found = [c for c in claims if c.key == REGIME_CLAIM]
    if not found:
        return None
    inside = [x for x in claims if x.regime == "in regime"]
    later = "" if not inside else (" In regime, on the runs of grid v3 stored for this build (provisional until it is "
                                   "complete): " + "; ".join(f"{_link(x)} **{x.verdict}**" for x in inside) + ".")
    return _regime_of_v2(claims, found[0]) + later


def _regime_of_v2(claims, c) -> str:
    own = _count(sum(_kind(x) == "own runs" for x in claims), "verdict", "verdicts")
    out = [x for x in claims if x.regime == OUT_OF_REGIME]
    if c.verdict == "does not hold" and out:
        rules = ", ".join(f"{v}: {sum(x.verdict == v for x in out)}" for v in VERDICTS if any(x.verdict == v for x in out))
        return (f"**Our runs and the law's regime.** Grid v2's runs are not long enough for the law: the sparse runs' "
                f"gap to dense is still closing at its largest budget, {c.numbers.get('largest', float('nan')):,.0f} steps "
                f"({_link(c)}: {c.our_runs}). So {_count(len(out), 'claim', 'claims')} on our runs "
                f"{'reads' if len(out) == 1 else 'read'} **out of regime** ({SYMBOL[OUT_OF_REGIME]}): "
                f"{'its runs end' if len(out) == 1 else 'their runs all end'} before the transient of pruning has faded at some sparsity of "
                f"{'its' if len(out) == 1 else 'their'} evidence, so they describe models still recovering from pruning, not the "
                f"recovered models Eq. 1 is about, and say nothing for or against the law. Their rules, applied to those "
                f"runs anyway, give: {rules} (each entry below keeps that verdict and its numbers). Grid v3 is for the "
                f"longer runs.")
    if c.verdict == "holds":
        return (f"**Our runs and the law's regime.** Grid v2's runs are long enough for the law ({_link(c)}: "
                f"{c.our_runs}): the {own} on our runs are about recovered models, as the papers' are.")
    state = "are not" if c.verdict == "does not hold" else "may not be"
    return (f"**Our runs and the law's regime.** Grid v2's runs {state} long enough for the law: the sparse runs' "
            f"gap to dense is still closing at its largest budget, {c.numbers.get('largest', float('nan')):,.0f} steps "
            f"({_link(c)}: {c.our_runs}). The {own} on our runs (kind: {KINDS['own runs']}) therefore describe models "
            f"still in the transient of pruning, not the recovered models Eq. 1 is about: such a verdict may change "
            f"with longer training, which grid v3 is for.")


def findings(claims) -> list[str]:
    """The paragraphs the results page opens with, every number counted from `claims`: what the book
    tested and how it came out, what holds and what does not per kind of evidence (with our
    number where a claim does not hold), and what it could not decide, with our interval
    and the claim's scope. Claim IDs link to the claim's entry on the page (label claim-<key>).

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.")
        >>> paragraphs = findings([c])
        >>> len(paragraphs)
        3
        >>> print(paragraphs[0])
        **What the book tested.** This build tests 1 claim of the two papers (1 of Frantar et al. 2024). 1 holds, ...
    """
    claims = list(claims)
    if not claims:
        return ["No chapter of this build tested a claim: execute the chapters with results_dir set first."]
    by_verdict = {v: [c for c in claims if reported(c) == v] for v in REPORTED}
    papers = [(p, [c for c in claims if c.paper == p]) for p in PAPERS]
    tested = _listed([f"{len(mine)} of {p}" for p, mine in papers if mine])
    untested = [p for p, mine in papers if not mine]
    held, failed, open_, out = (len(by_verdict[v]) for v in REPORTED)
    opening = (f"**What the book tested.** This build tests {_count(len(claims), 'claim')} of the two papers "
               f"({tested}). {_said(held, 'holds', 'hold')}, "
               f"{_said(failed, 'does not hold', 'do not hold')}{',' if out else ' and'} "
               f"{_said(open_, 'is not resolved', 'are not resolved')}"
               + (f" and {_said(out, 'is out of regime', 'are out of regime')}" if out else "") + ".")
    if untested:
        opening += f" No chapter of this build tested a claim of {_listed(untested)}."
    counts = kind_counts(claims)
    shares = [f"{counts.loc[kind, 'holds']} of {counts.loc[kind, 'total']} {SHARE.get(kind, 'unclassified')}"
              for kind in counts.index if counts.loc[kind, "total"]]
    opening += f" By the kind of evidence they rest on, these hold: {_listed(shares)}."
    after = [c for c in claims if c.rule_after]
    if after:
        opening += (f" {_count(len(after), 'verdict follows', 'verdicts follow')} a rule set after looking at the "
                    f"numbers ({AFTER}: {_listed([_link(c) for c in after])}).")
    found = ["**What it found**, by the kind of evidence a verdict rests on:", ""]
    for kind in kind_counts(claims).index:
        mine = [c for c in claims if _kind(c) == kind]
        if not mine:
            continue
        held = [c for c in mine if reported(c) == "holds"]
        failed = [c for c in mine if reported(c) == "does not hold"]
        open_ = sum(reported(c) == "not resolved" for c in mine)
        out = sum(reported(c) == OUT_OF_REGIME for c in mine)
        name = KINDS.get(kind, "claims whose chapter has not yet said what evidence they rest on (unclassified)")
        parts = [_said(len(held), "holds", "hold") + (f" ({_listed([_link(c) for c in held])})" if held else "")]
        if failed:
            parts.append(_said(len(failed), "does not hold", "do not hold") + " (ours: " + "; ".join(
                f"{_link(c)} {_ours(c) or '–'}" for c in failed) + ")")
        if open_:
            parts.append(f"{open_} not resolved")
        if out:
            parts.append(f"{out} out of regime")
        found.append(f"- *{name[:1].upper() + name[1:]}* ({_count(len(mine), 'claim')}): " + "; ".join(parts) + ".")
    unresolved = by_verdict["not resolved"]
    if unresolved:
        kinds = kind_counts(unresolved)["total"]
        undecided = (f"**What it could not decide, and why.** {_count(len(unresolved), 'claim is', 'claims are')} not "
                     f"resolved (" + ", ".join(f"{k}: {n}" for k, n in kinds.items() if n) + "): for each, the interval "
                     f"its rule names reaches both sides of what would decide it, so at the noise and over the range "
                     f"of its evidence the claim could go either way. Ours, with what the verdict covers: " + "; ".join(
                         f"{_link(c)} {_ours(c) or '–'}" + (f" ({c.scope})" if c.scope else "") for c in unresolved)
                     + ". Each one's result, below, gives the smallest effect its interval could have resolved.")
    else:
        undecided = "**What it could not decide.** Every claim tested is resolved: none is *not resolved*."
    return [opening, *filter(None, [regime(claims)]), "\n".join(found), undecided]


def _claims_table(claims) -> list[str]:
    lines = ["| ID | paper | kind | paper's number | ours, authors' data | ours, our runs | scope | verdict |",
             "|---|---|---|---|---|---|---|---|"]
    for c in claims:
        cells = [f"{{ref}}`{_id(c)} <{c.section}>`", AUTHOR[c.paper], _kind(c), c.paper_value, c.authors_data,
                 c.our_runs, c.scope, _verdict(c)]
        lines.append("| " + " | ".join("–" if v is None else _cell(v) for v in cells) + " |")
    return lines


def chapter_table(claims) -> str:
    """The claims a chapter tests, as the table it shows (MyST markdown): each claim's ID as the
    results page uses it (AFTER marks a rule set after looking), linked to its entry there; the
    claim; the book's number (on our runs, else on the authors' data); its scope; the verdict with
    its mark. A chapter rendered alone (scripts/render_chapter.py) shows the IDs as plain text.

        >>> from kit.report.claims import Claim
        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.")
        >>> print(chapter_table([c]).splitlines()[2])
        | {ref}`fair-size <claim-fair-size>` | Sparse beats dense at equal N. | +0.03 nats [+0.01, +0.05] | – | ✓ **holds** |
    """
    lines = ["| ID | claim | ours | scope | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        cells = [f"{{ref}}`{_id(c)} <claim-{c.key}>`", c.statement, _ours(c), c.scope, _verdict(c)]
        lines.append("| " + " | ".join("–" if v is None else _cell(v) for v in cells) + " |")
    if any(c.regime == OUT_OF_REGIME for c in claims):
        lines += ["", f"{SYMBOL[OUT_OF_REGIME]} *Out of regime*: the claim's runs all end before the transient of pruning "
                      "has faded ({ref}`transient-v2`), so they describe models still recovering from pruning, not the "
                      "law. A verdict this chapter's text gives such a claim is its rule's verdict on those runs."]
    return "\n".join(lines) + "\n"


READING = (
    "**How to read it.** A claim's ID is its key, set once by the chapter that tests it: unique over the book and "
    "unchanged when claims are added, removed or reordered, so it can be cited; it links to the section that tests "
    "the claim, and its entry below gives the claim in full. The verdicts: a claim **holds** ({holds}) when the "
    "interval its rule names lies wholly on the side the claim says (or within the margin it allows, or, where the "
    "claim is a number the paper reports, contains that number); it **does not hold** ({fails}) when the interval "
    "lies wholly on the other side (or beyond the margin, or misses the number); it is **not resolved** ({open}) when the interval reaches both sides, so that the evidence cannot "
    "tell: that says nothing against the paper, only that our noise or our range is too large or too small to "
    "decide. A claim on our runs is **out of regime** ({out}) when its runs all end before the transient of "
    "pruning has faded at some sparsity of its evidence (the budget x* of chapter 1b lies wholly beyond them): "
    "then it describes models still recovering from pruning, not the law, and its rule's verdict on those runs is "
    "shown beside it, not counted as a verdict on the claim. A claim about trained models whose sign could change "
    "with the budget is judged at each budget on its own, and holds or does not hold only if it does so at every "
    "one; the mean over the budgets is reported, not judged. A claim on grid v3, which trains past the transient "
    "in the background, is judged on the runs stored when the book was built, and its scope says how many of the "
    "grid's runs that is and that the verdict is *provisional* until all are stored. Each rule is stated in its chapter before the numbers; {after} marks a *rule set after looking*, "
    "one a chapter fixed or moved after it had seen the numbers, whose verdict is weaker evidence. The *kind* "
    "says what the verdict rests on: {kinds}; *unclassified* where the chapter has not said. The *scope* says "
    "what the verdict covers, in a few words (the budgets, sizes or steps of the evidence); a verdict says "
    "nothing beyond it, and – means it is not limited. Brackets hold the interval the rule names: for a fitted "
    "quantity a 95% hull of bootstrap and profile-likelihood intervals, for a measured difference a 95% t "
    "interval from the seed noise, and otherwise what the rule says (a range over runs, for example). Every "
    "number here is read from the chapters as they executed for this build."
)


def results_page(results_dir) -> str:
    """The results page (MyST markdown, label `results`), findings first: paragraphs on what the
    book found and could not decide (findings), then one table of every claim (ID, paper, kind,
    the paper's number, ours on the authors' data and on our runs, scope, verdict with its mark
    in SYMBOL; AFTER flags a rule set after looking), how to read it, the counts per kind of
    evidence (kind_counts), and then each claim in full per paper, under the label claim-<key>.
    Results files written before claims had a kind render with the kind "unclassified".

        >>> c = Claim("fair-size", "Frantar et al. 2024", "Sparse beats dense at equal N.", "fair-size", None, None,
        ...           "+0.03 nats [+0.01, +0.05]", "holds", "Holds if the interval excludes 0 above.", "It does.")
        >>> folder = tempfile.mkdtemp()
        >>> _ = write(folder, "01_fair_evaluation", [c])
        >>> results_page(folder).splitlines()[1:3]
        ['(results)=', '# Results']
    """
    claims = read_all(results_dir)
    lines = ["% Generated by scripts/build_book.py from the executed chapters' results files: do not edit.",
             "(results)=", "# Results", ""]
    for paragraph in findings(claims):
        lines += [paragraph, ""]
    lines += ["## Every claim", ""]
    if claims:
        lines += _claims_table(claims)
        if any(c.rule_after for c in claims):
            lines += ["", f"{AFTER} Rule set after looking: the chapter fixed this claim's rule, or moved it to other "
                          "numbers, after it had seen them (its section says how)."]
    kinds = "; ".join(f"*{k}*, {v}" for k, v in KINDS.items())
    lines += ["", READING.format(holds=SYMBOL["holds"], fails=SYMBOL["does not hold"], open=SYMBOL["not resolved"],
                                 out=SYMBOL[OUT_OF_REGIME],
                                 after=AFTER, kinds=kinds), ""]
    counts = kind_counts(claims)
    counts.loc["all"] = counts.sum()
    counts.index = [f"{k} ({KINDS[k]})" if k in KINDS else k for k in counts.index]
    counts.index.name = "kind"
    counts.columns = [f"{SYMBOL[v]} {v}" if v in SYMBOL else v for v in counts.columns]
    lines += ["Claims per kind of evidence and verdict:", "", markdown_table(counts).rstrip("\n")]
    for paper, title in PAPERS.items():
        mine = [c for c in claims if c.paper == paper]
        lines += ["", f"## {paper}", "", f"*{title}*", ""]
        if not mine:
            lines.append("No chapter of this build tested a claim of this paper.")
            continue
        counted = "; ".join(f"{v}: {sum(reported(c) == v for c in mine)}" for v in REPORTED)
        lines.append(f"{_count(len(mine), 'claim')} ({counted}).")
        for c in mine:
            lines += ["", f"(claim-{c.key})=", f"**{_id(c)}**, {_verdict(c)}. {_cell(c.statement)} ({{ref}}`{c.section}`)", ""]
            for label, value in (("Paper", c.paper_value), ("On the authors' data", c.authors_data),
                                 ("On our runs", c.our_runs), ("Kind", f"{c.kind} ({KINDS[c.kind]})" if c.kind else UNCLASSIFIED), ("Scope", c.scope),
                                 ("Rule", c.rule + (" (set after looking)" if c.rule_after else "")),
                                 ("Result", c.reason)):
                if value is not None:
                    lines.append(f"- {label}: {_cell(value)}")
    return "\n".join(lines) + "\n"


RUN_COLUMNS = ("id", "status", "corpus", "n_nonzero", "sparsity", "tokens", "seed", "lr", "batch_size", "schedule",
               "prune_start", "prune_end", "nm", "d_model", "nnz", "final_loss", "wall_s")

# Sorting and filtering of the runs page's table, in the reader's browser (no library, no network).
_TABLE_SCRIPT = """<script>
(function () {
  var table = document.getElementById("runs-table"), box = document.getElementById("runs-filter");
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows), shown = document.getElementById("runs-shown");
  box.addEventListener("input", function () {
    var words = box.value.toLowerCase().split(/\\s+/).filter(Boolean), n = 0;
    rows.forEach(function (r) {
      var text = r.textContent.toLowerCase(), keep = words.every(function (w) { return text.indexOf(w) >= 0; });
      r.style.display = keep ? "" : "none"; n += keep;
    });
    shown.textContent = n;
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.style.cursor = "pointer"; th.title = "sort by this column";
    th.addEventListener("click", function () {
      var up = th.dataset.sort !== "up";
      th.dataset.sort = up ? "up" : "down";
      rows.sort(function (a, b) {
        var x = a.cells[i].textContent, y = b.cells[i].textContent, u = parseFloat(x), v = parseFloat(y);
        var c = (isNaN(u) || isNaN(v)) ? x.localeCompare(y) : u - v;
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
</script>"""


def runs_page(frame: pd.DataFrame, downloads: dict[str, str]) -> str:
    """The runs page (MyST markdown, label `runs`): every run of the store (`frame`, a
    kit.engine.store frame) in one table with RUN_COLUMNS that a reader sorts (click a header) and filters
    (words typed in a box) in the browser, offline, and `downloads` ({label: path relative to the
    page}) as download links, the full tables as CSV.

        >>> frame = pd.DataFrame({"id": ["a1b2c3"], "sparsity": [0.5], "final_loss": [2.34567]})
        >>> page = runs_page(frame, {"every run (CSV)": "runs.csv"})
        >>> [line for line in page.splitlines() if line.startswith("<tr><td>")]
        ['<tr><td>a1b2c3</td><td>0.5</td><td>2.346</td></tr>']
    """
    shown = frame[[c for c in RUN_COLUMNS if c in frame.columns]]
    cells = lambda row: "".join(f"<td>{'–' if _missing(v) else html.escape(_default(v))}</td>" for v in row)
    links = "; ".join(f"{{download}}`{label} <{path}>`" for label, path in downloads.items())
    lines = [
        "% Generated by scripts/build_book.py from the run store: do not edit.",
        "(runs)=",
        "# Every run",
        "",
        f"The run store behind this book, one row per run ({len(shown):,} runs in `runs/`): the settings that vary "
        "between runs, the model trained ($d_\\text{model}$, its measured non-zeros `nnz`) and its final validation loss "
        "(nats per byte). `corpus` names the text a run read (Shakespeare's plays, or pycode for grid v3). Type words in "
        "the box to keep the rows that hold all of them; click a column's header to sort by it (again: the other way). "
        f"Download: {links}. The same table from the shell: `python -m kit ls --columns all --csv`.",
        "",
        '<p><input id="runs-filter" type="search" placeholder="filter: e.g. pycode 0.875" size="40"> '
        f'<span id="runs-shown">{len(shown)}</span> runs shown</p>',
        "",
        '<div style="overflow-x: auto"><table id="runs-table" class="table">',
        "<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns) + "</tr></thead>",
        "<tbody>",
        *(f"<tr>{cells(row)}</tr>" for row in shown.itertuples(index=False)),
        "</tbody></table></div>",
        "",
        _TABLE_SCRIPT,
    ]
    return "\n".join(lines) + "\n"


def glue_texts(texts: dict) -> None:
    """Glue every text of `texts` ({name: text}) for the chapter's prose, without showing it
    (myst_nb.glue with display=False): the one line a chapter calls after a kit function that
    returns its glued texts.

        >>> glue_texts({"n_runs": "80"})  # outside a notebook, myst_nb stores nothing
    """
    from myst_nb import glue

    for name, text in texts.items():
        glue(name, text, display=False)


def duration_text(seconds) -> str:
    """A run time as the chapters' rerun boxes print it: "45 s" under 90 s, "12 min" under 90
    minutes, "2.4 h" from there on.

        >>> duration_text(45), duration_text(720), duration_text(8640)
        ('45 s', '12 min', '2.4 h')
    """
    seconds = float(seconds)
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"seconds={seconds!r}: need a finite number >= 0")
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _formatter(spec):
    if callable(spec):
        return spec
    if "{" in spec:
        return spec.format
    return lambda value: format(value, spec)


def _default(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def _missing(value) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def markdown_table(frame: pd.DataFrame, formats=None, index=None) -> str:
    """A DataFrame as a markdown (pipe) table, for IPython.display.Markdown in a chapter.

    formats maps a column or index-level name to a format: "{:+.3f}" (str.format), "+.3f" (a format
    spec) or a function of the value; other floats get 4 significant digits; missing values show
    "–". index: whether to show the index as leading columns (default: unless it is a plain
    0, 1, 2, ... RangeIndex). Numeric columns are right-aligned. MultiIndex columns are joined
    with ", ".

        >>> table = pd.DataFrame({"S": [0.0, 0.5], "gap": [0.0, -0.03125], "runs": [3, None]})
        >>> print(markdown_table(table, {"gap": "{:+.3f}", "S": "{:g}"}), end="")
        | S | gap | runs |
        |---:|---:|---:|
        | 0 | +0.000 | 3 |
        | 0.5 | -0.031 | – |
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"markdown_table needs a DataFrame; got {type(frame).__name__} (use .to_frame() on a Series)")
    formats = dict(formats or {})
    if index is None:
        index = not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None
    names = [("" if n is None else str(n)) for n in frame.index.names] if index else []
    names += [", ".join(str(p) for p in c if str(p)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    unknown = sorted(set(formats) - set(names))
    if unknown:
        raise ValueError(f"formats name {unknown}, which are not columns or index levels of the table; "
                         f"it has {names}")
    header, align, columns = [], [], []
    values = [frame.index.get_level_values(i).to_series() for i in range(frame.index.nlevels)] if index else []
    values += [frame.iloc[:, j] for j in range(frame.shape[1])]
    for name, column in zip(names, values):
        show = _formatter(formats[name]) if name in formats else _default
        columns.append(["–" if _missing(v) else _cell(show(v)) for v in column])
        header.append(_cell(name))
        align.append("---:" if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
                     else "---")
    rows = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    rows += ["| " + " | ".join(cells) + " |" for cells in zip(*columns)]
    return "\n".join(rows) + "\n"
