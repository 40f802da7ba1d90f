import json

import numpy as np
import pandas as pd
import pytest

from kit.report import results
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


def test_results_page_groups_claims_by_paper_and_links_sections(tmp_path):
    results.write(tmp_path, "01", [claim("a"), claim("j1", paper="Jin et al. 2025", verdict="not resolved",
                                                      our_runs="+0.004 [-0.010, +0.018]")])
    results.write(tmp_path, "02", [claim("b", verdict="does not hold")])
    page = results.results_page(tmp_path)
    lines = page.splitlines()
    assert "(results)=" in lines and "# Results" in lines
    frantar = lines.index("## Frantar et al. 2024")
    jin = lines.index("## Jin et al. 2025")
    assert frantar < lines.index("*Scaling Laws for Sparsely-Connected Foundation Models (ICLR 2024)*") < jin
    assert lines[frantar + 4] == "2 claims (holds: 1; does not hold: 1; not resolved: 0)."
    rows = [line for line in lines if line.startswith("| F") or line.startswith("| J")]
    assert rows == [
        r"| F1 | Claim a \| with a pipe. ({ref}`sec-a`) | **holds** |",
        r"| F2 | Claim b \| with a pipe. ({ref}`sec-b`) | **does not hold** |",
        r"| J1 | Claim j1 \| with a pipe. ({ref}`sec-j1`) | **not resolved** |",
    ]
    assert frantar < lines.index(rows[0]) < jin < lines.index(rows[2])
    j1 = lines.index(r"**J1, not resolved.** Claim j1 \| with a pipe. ({ref}`sec-j1`)")
    assert j1 > lines.index(rows[2])
    assert lines[j1 + 2:j1 + 7] == ["- Paper: 1.59x", "- On the authors' data: 1.58x [1.50, 1.66]",
                                    "- On our runs: +0.004 [-0.010, +0.018]", "- Rule: Rule of j1.",
                                    "- Result: Reason of j1."]
    f1 = lines.index(r"**F1, holds.** Claim a \| with a pipe. ({ref}`sec-a`)")
    assert "- On our runs" not in lines[f1:f1 + 7]  # none: the line is left out


def test_results_page_says_when_a_paper_has_no_claims(tmp_path):
    results.write(tmp_path, "01", [claim("a")])
    page = results.results_page(tmp_path)
    assert page.count("No chapter of this build tested a claim of this paper.") == 1
    assert page.index("Jin et al. 2025") < page.index("No chapter of this build")


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
