import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from kit.report import claims, results
from kit.report.claims import Claim


def claim(key, paper="Frantar et al. 2024", verdict="holds", **changes):
    fields = dict(key=key, paper=paper, statement=f"Claim {key} | with a pipe.", section=f"sec-{key}",
                  paper_value="1.59x", authors_data="1.58x [1.50, 1.66]", our_runs=None, verdict=verdict,
                  rule=f"Rule of {key}.", reason=f"Reason of {key}.", numbers={"estimate": 1.58})
    return Claim(**(fields | changes))


def test_write_then_read_all_round_trips_in_chapter_order(tmp_path):
    folder = tmp_path / "results"  # created by write
    path = results.write(folder, "02_core_law", [claim("b"), claim("c", paper="Jin et al. 2025")])
    results.write(folder, "01_fair_evaluation", [claim("a", numbers={"gap": -0.25})])
    assert path == folder / "02_core_law.json"
    assert json.loads(path.read_text())["chapter"] == "02_core_law"
    read = results.read_all(folder)
    assert [c.key for c in read] == ["a", "b", "c"]  # files in name order, claims in written order
    assert read[0] == claim("a", numbers={"gap": -0.25})
    assert not list(folder.glob("*.tmp"))


def test_write_with_no_results_dir_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert results.write(None, "01_fair_evaluation", [claim("a")]) is None
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("chapter, claims, message", [
    ("../01", [], r"chapter '../01': use the notebook's file name"),
    ("01", [claim("a"), claim("a")], r"claim keys \['a'\] appear more than once"),
    ("01", [{"key": "a"}], r"claims must be kit.report.claims.Claim; got \['dict'\]"),
])
def test_write_refuses_bad_input(tmp_path, chapter, claims, message):
    with pytest.raises(ValueError, match=message):
        results.write(tmp_path, chapter, claims)


def test_read_all_refuses_missing_folder_duplicates_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        results.read_all(tmp_path / "nowhere")
    results.write(tmp_path, "01", [claim("a")])
    results.write(tmp_path, "02", [claim("a")])
    with pytest.raises(ValueError, match=r"claim key 'a' is in both 01.json and 02.json"):
        results.read_all(tmp_path)
    (tmp_path / "02.json").write_text('{"claims": [{"key": "b"}]}')
    with pytest.raises(ValueError, match=r"02.json: not a results file"):
        results.read_all(tmp_path)


def test_results_page_opens_with_findings_then_one_table_of_every_claim(tmp_path):
    results.write(tmp_path, "01", [claim("a", kind="published"),
                                   claim("j1", paper="Jin et al. 2025", verdict="not resolved", kind="own runs",
                                         our_runs="+0.004 [-0.010, +0.018]", scope="D 0.6M-4.8M tokens")])
    results.write(tmp_path, "02", [claim("b", verdict="does not hold", kind="own runs", our_runs="-0.055 nats")])
    lines = results.results_page(tmp_path).splitlines()
    assert lines[1:3] == ["(results)=", "# Results"]
    table = lines.index("| ID | paper | kind | paper's number | ours, authors' data | ours, our runs | scope | verdict |")
    prose = [line for line in lines[3:table] if line and not line.startswith("#")]
    assert prose[0] == ("**What the book tested.** This build tests 3 claims of the two papers (2 of Frantar et al. "
                        "2024 and 1 of Jin et al. 2025). 1 holds, 1 does not hold and 1 is not resolved. By the kind "
                        "of evidence they rest on, these hold: 1 of 1 reproduced from published numbers and 0 of 2 "
                        "tests on our runs.")
    found = "\n".join(prose)
    assert "- *Reproduced from published numbers* (1 claim): 1 holds ({ref}`a <claim-a>`)." in found
    assert ("- *Test on our runs* (2 claims): 0 hold; 1 does not hold (ours: {ref}`b <claim-b>` -0.055 nats); "
            "1 not resolved." in found)
    assert ("1 claim is not resolved (own runs: 1)" in found
            and "{ref}`j1 <claim-j1>` +0.004 [-0.010, +0.018] (D 0.6M-4.8M tokens)." in found)
    rows = [line for line in lines[table + 2:] if line.startswith("| {ref}")]
    assert rows == [  # one table for both papers, in chapter order; the ID links to the section that tests the claim
        r"| {ref}`a <sec-a>` | Frantar | published | 1.59x | 1.58x [1.50, 1.66] | – | – | ✓ **holds** |",
        r"| {ref}`j1 <sec-j1>` | Jin | own runs | 1.59x | 1.58x [1.50, 1.66] | +0.004 [-0.010, +0.018] | D 0.6M-4.8M tokens | ? **not resolved** |",
        r"| {ref}`b <sec-b>` | Frantar | own runs | 1.59x | 1.58x [1.50, 1.66] | -0.055 nats | – | ✗ **does not hold** |",
    ]
    assert lines.index(rows[-1]) < lines.index("## Frantar et al. 2024") < lines.index("## Jin et al. 2025")
    assert "it is **not resolved** (?) when the interval reaches both sides" in "\n".join(lines)  # verdicts defined
    assert any("The *scope* says what the verdict covers" in line for line in lines)
    j1 = lines.index(r"**j1**, ? **not resolved**. Claim j1 \| with a pipe. ({ref}`sec-j1`)")
    assert lines[j1 - 1] == "(claim-j1)="  # the target of the findings' links
    assert lines[j1 + 2:j1 + 9] == ["- Paper: 1.59x", "- On the authors' data: 1.58x [1.50, 1.66]",
                                    "- On our runs: +0.004 [-0.010, +0.018]", "- Kind: own runs (test on our runs)",
                                    "- Scope: D 0.6M-4.8M tokens", "- Rule: Rule of j1.", "- Result: Reason of j1."]
    a = lines.index(r"**a**, ✓ **holds**. Claim a \| with a pipe. ({ref}`sec-a`)")
    assert "- On our runs" not in lines[a:a + 8]  # none: the line is left out


def count_rows(page):
    """{kind: [holds, does not hold, not resolved, out of regime, total]} from the page's table of counts per kind."""
    lines = page.splitlines()
    start = lines.index("| kind | ✓ holds | ✗ does not hold | ? not resolved | ○ out of regime | total |") + 2
    rows = {}
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        name, *numbers = [cell.strip() for cell in line.strip("|").split("|")]
        rows[name.split(" (")[0]] = [int(n) for n in numbers]
    return rows


@pytest.mark.parametrize("kinds", [
    ["published", "reanalysis", "own runs", "own runs", None, "question", "implementation"],
    [None, None, None],
    ["own runs"] * 4,
])
def test_counts_per_kind_add_up_to_the_number_of_claims(tmp_path, kinds):
    verdicts = list(claims.VERDICTS) * 3
    regimes = [None, claims.OUT_OF_REGIME, "in regime", claims.OUT_OF_REGIME] * 2
    results.write(tmp_path, "01", [claim(f"c{i}", kind=kind, verdict=verdicts[i], regime=regimes[i])
                                   for i, kind in enumerate(kinds)])
    rows = count_rows(results.results_page(tmp_path))
    assert list(rows)[:len(claims.KINDS)] == list(claims.KINDS)  # every kind shown, even with no claim
    assert ("unclassified" in rows) == (None in kinds)
    every = rows.pop("all")
    assert every[4] == len(kinds) == sum(row[4] for row in rows.values())
    assert every[:4] == [sum(row[i] for row in rows.values()) for i in range(4)]
    assert all(sum(row[:4]) == row[4] for row in rows.values())
    assert rows["own runs"][4] == kinds.count("own runs")
    assert every[3] == sum(r == claims.OUT_OF_REGIME for r in regimes[:len(kinds)])  # counted apart from the rules' verdicts
    frame = results.kind_counts([claim(f"c{i}", kind=kind) for i, kind in enumerate(kinds)])
    assert frame["total"].sum() == len(kinds) and frame.loc["own runs", "holds"] == kinds.count("own runs")


def test_a_rule_set_after_looking_is_flagged(tmp_path):
    results.write(tmp_path, "01", [claim("a", kind="own runs", rule_after=True), claim("b", kind="own runs")])
    page = results.results_page(tmp_path)
    lines = page.splitlines()
    assert lines[4].endswith("1 verdict follows a rule set after looking at the numbers (†: {ref}`a <claim-a>`).")
    assert r"| {ref}`a† <sec-a>` |" in page and r"| {ref}`b <sec-b>` |" in page
    assert any(line.startswith("† Rule set after looking:") for line in lines)
    assert "**a†**, ✓ **holds**." in page and "- Rule: Rule of a. (set after looking)" in page
    results.write(tmp_path, "01", [claim("b", kind="own runs")])
    page = results.results_page(tmp_path)
    assert "† Rule set after looking" not in page and "set after looking at the numbers (†" not in page


def test_old_results_files_without_kind_render_as_unclassified(tmp_path):
    """A results file written before claims carried kind, scope and rule_after (the keys absent)."""
    old = {k: v for k, v in dataclasses.asdict(claim("a", verdict="not resolved")).items()
           if k not in ("kind", "scope", "rule_after")}
    (tmp_path / "01_old.json").write_text(json.dumps({"chapter": "01_old", "claims": [old]}))
    results.write(tmp_path, "02_new", [claim("b", kind="reanalysis")])
    page = results.results_page(tmp_path)
    assert r"| {ref}`a <sec-a>` | Frantar | unclassified | 1.59x | 1.58x [1.50, 1.66] | – | – | ? **not resolved** |" in page
    assert count_rows(page)["unclassified"] == [0, 0, 1, 0, 1] and count_rows(page)["all"][4] == 2
    assert "(unclassified)* (1 claim): 0 hold; 1 not resolved." in page
    assert "- Kind: unclassified" in page


def test_results_page_says_when_a_paper_has_no_claims(tmp_path):
    results.write(tmp_path, "01", [claim("a")])
    page = results.results_page(tmp_path)
    assert page.count("No chapter of this build tested a claim of this paper.") == 1
    assert page.index("## Jin et al. 2025") < page.index("No chapter of this build tested a claim of this paper.")
    assert "(1 of Frantar et al. 2024). 1 holds, 0 do not hold and 0 are not resolved. No chapter of this build " \
           "tested a claim of Jin et al. 2025. By the kind of evidence they rest on, these hold: 1 of 1 unclassified." in page
    assert "Every claim tested is resolved" in page


def test_results_page_of_a_folder_with_no_claims(tmp_path):
    page = results.results_page(tmp_path)
    assert "No chapter of this build tested a claim: execute the chapters" in page
    assert "| ID |" not in page and count_rows(page)["all"] == [0, 0, 0, 0, 0]


def test_markdown_table_formats_columns_and_index():
    frame = pd.DataFrame({"gap": [0.01234, -0.5, np.nan], "runs": [3, 4, 5], "note": ["a|b", "c", None]},
                         index=pd.Index([0.5, 0.75, 0.875], name="S"))
    table = results.markdown_table(frame, {"gap": "{:+.3f}", "S": "g"})
    assert table.splitlines() == [
        "| S | gap | runs | note |",
        "|---:|---:|---:|---|",
        r"| 0.5 | +0.012 | 3 | a\|b |",
        "| 0.75 | -0.500 | 4 | c |",
        "| 0.875 | – | 5 | – |",
    ]


def test_markdown_table_defaults():
    frame = pd.DataFrame({"loss": [2.123456, 3.0]})
    assert results.markdown_table(frame).splitlines() == ["| loss |", "|---:|", "| 2.123 |", "| 3 |"]
    wide = pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("mean", "lo"), ("mean", "hi")]),
                        index=pd.Index(["x"]))
    assert results.markdown_table(wide, {"mean, hi": lambda v: f"<{v:.0f}>"}).splitlines() == [
        "|  | mean, lo | mean, hi |", "|---|---:|---:|", "| x | 1 | <2> |"]


def test_markdown_table_refuses_unknown_format_names():
    with pytest.raises(ValueError, match=r"formats name \['gapp'\], which are not columns .* it has \['gap'\]"):
        results.markdown_table(pd.DataFrame({"gap": [1.0]}), {"gapp": "{:.3f}"})
    with pytest.raises(ValueError, match="needs a DataFrame; got Series"):
        results.markdown_table(pd.Series([1.0]))


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (89.4, "89 s"), (90, "2 min"), (5399, "90 min"), (5400, "1.5 h"),
                                           (8640, "2.4 h")])
def test_duration_text(seconds, text):
    assert results.duration_text(seconds) == text


def test_duration_text_refuses_negative_or_missing_times():
    for bad in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="need a finite number >= 0"):
            results.duration_text(bad)


def test_the_runs_page_lists_every_run_escaped_with_its_downloads():
    frame = pd.DataFrame([
        {"id": "a" * 16, "status": "ok", "corpus": "pycode", "n_nonzero": 13824, "sparsity": 0.875, "tokens": 2400256,
         "seed": 0, "lr": 0.0065, "final_loss": 1.23456, "wall_s": 12.0, "reason": None, "extra": 1},
        {"id": "b" * 16, "status": "failed", "corpus": "<script>x</script>", "n_nonzero": 55296, "sparsity": 0.0,
         "tokens": 600064, "seed": 1, "lr": 0.01, "final_loss": float("nan"), "wall_s": 3.0, "reason": "NaN", "extra": 2},
    ])
    page = results.runs_page(frame, {"all runs (CSV)": "_data/runs.csv"})
    assert page.splitlines()[1] == "(runs)=" and "{download}`all runs (CSV) <_data/runs.csv>`" in page
    rows = [line for line in page.splitlines() if line.startswith("<tr><td>")]
    assert len(rows) == 2 and rows[0].count("<td>") == 10  # the RUN_COLUMNS the frame has, not 'extra'
    assert "<td>1.235</td>" in rows[0] and "<td>–</td>" in rows[1]  # 4 significant digits; NaN as a dash
    assert "&lt;script&gt;x&lt;/script&gt;" in rows[1] and "<script>x" not in page
    assert '<span id="runs-shown">2</span>' in page and page.count("<script>") == 1


@pytest.mark.parametrize("verdict, said", [("does not hold", "are not long enough"), ("not resolved", "may not be long"),
                                           ("holds", "are long enough for the law")])
def test_the_findings_say_how_far_our_runs_go_when_the_transient_was_tested(verdict, said):
    regime = claim(results.REGIME_CLAIM, verdict=verdict, our_runs="S = 0.875: x* = 8,232 steps", kind="question",
                   numbers={"largest": 2344.0})
    own = [claim(f"own-{i}", kind="own runs") for i in range(3)]
    paragraphs = results.findings([regime, *own])
    assert len(paragraphs) == 4 and paragraphs[1].startswith("**Our runs and the law's regime.**")
    assert said in paragraphs[1] and "3 verdicts on our runs" in paragraphs[1]
    assert len(results.findings(own)) == 3  # no such claim tested: no such paragraph


def test_claims_out_of_regime_are_reported_so_with_their_rules_verdict_beside(tmp_path):
    regime_claim = claim("transient-v2-in-regime", verdict="does not hold", kind="question", our_runs="x* = 7,271 steps",
                         numbers={"largest": 2344})
    out = [claim("a", verdict="does not hold", kind="own runs", our_runs="-0.05", regime=claims.OUT_OF_REGIME),
           claim("b", verdict="holds", kind="own runs", our_runs="+0.03", regime=claims.OUT_OF_REGIME)]
    inside = claim("c", verdict="does not hold", kind="own runs", our_runs="-0.02", regime="in regime")
    results.write(tmp_path, "01", [regime_claim, *out, inside])
    page = results.results_page(tmp_path)
    assert "This build tests 4 claims of the two papers (4 of Frantar et al. 2024). 0 hold, 2 do not hold, " \
           "0 are not resolved and 2 are out of regime." in page
    assert "So 2 claims on our runs read **out of regime** (○)" in page and "give: holds: 1, does not hold: 1" in page
    assert r"**a**, ○ **out of regime** (its rule on these runs: does not hold). Claim a" in page
    assert r"**c**, ✗ **does not hold**. Claim c" in page  # in regime: its rule's verdict is the book's
    assert ("In regime, on the runs of grid v3 stored for this build (provisional until it is complete): "
            "{ref}`c <claim-c>` **does not hold**.") in page  # the findings name every claim judged in regime
    assert "In regime, on" not in results.regime([regime_claim, *out])
    table = results.chapter_table(out)
    assert "○ **out of regime** (its rule on these runs: holds) |" in table
