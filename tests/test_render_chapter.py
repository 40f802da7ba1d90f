"""scripts/render_chapter.py: a chapter rerun with other parameters is checked first, executed into a
folder of its own (its results file too) and rendered to an HTML page that shows its numbers, and
nothing under book/ is written."""

import hashlib
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import load_script

from kit.planner import plan

ROOT = Path(__file__).resolve().parents[1]
STEM = "07_should_i_sparsify"  # the cheapest chapter: no runs, 8 s at its defaults


@pytest.fixture
def render_chapter(monkeypatch):
    return load_script(monkeypatch, "render_chapter")


def test_a_chapter_is_named_by_its_stem_or_its_number(render_chapter, tmp_path):
    assert render_chapter.find_chapter("07") == ROOT / "book" / "chapters" / f"{STEM}.ipynb"
    assert render_chapter.find_chapter(STEM).name == f"{STEM}.ipynb"
    for stem in ("01_fair", "01b_transient", "01_fair_more"):
        (tmp_path / f"{stem}.ipynb").write_text("{}")
    assert render_chapter.find_chapter("01b", tmp_path).stem == "01b_transient"
    assert render_chapter.find_chapter("01_fair", tmp_path).stem == "01_fair"
    with pytest.raises(ValueError, match=r"^chapter '01': matches 01_fair, 01_fair_more; the chapters are"):
        render_chapter.find_chapter("01", tmp_path)
    with pytest.raises(ValueError, match=r"^chapter '1': no such chapter; the chapters are 01_fair, 01_fair_more, 01b_transient$"):
        render_chapter.find_chapter("1", tmp_path)


def test_values_are_read_as_python_literals_then_yaml_then_text(render_chapter):
    read = render_chapter.read_value
    assert read("7e9") == 7e9 and read("1_000") == 1000 and read("[0.5, 0.75, 0.9]") == [0.5, 0.75, 0.9]
    assert read('{"N": 1e9, "D": 2e10}') == {"N": 1e9, "D": 2e10} and read("None") is None and read("True") is True
    assert read("{N: 7e9}") == {"N": "7e9"}  # YAML: a string, which kit.report.params reads as 7e9
    assert read("[t5, vit]") == ["t5", "vit"] and read("t5") == "t5" and read("'t5'") == "t5"
    assert read("a: b: c") == "a: b: c" and read("") == ""


def test_output_folder_never_inside_book_and_named_by_the_parameters(render_chapter, tmp_path):
    for inside in (ROOT / "book" / "_executed", ROOT / "book" / "chapters", ROOT / "book"):
        with pytest.raises(ValueError, match="inside book/"):
            render_chapter.check_out(inside)
    assert render_chapter.check_out(tmp_path / "x") == (tmp_path / "x").resolve()
    one = render_chapter.default_out(STEM, {"n": 1})
    assert one == render_chapter.default_out(STEM, {"n": 1}) != render_chapter.default_out(STEM, {"n": 2})
    assert one.parent == ROOT / "_build" / "reruns" and one.name.startswith(STEM + "-")
    assert render_chapter.default_out(STEM, {}).name == f"{STEM}-defaults"


@pytest.mark.parametrize("arguments, message", [
    (["-p", "plan_nonzero", "7.5"], "render_chapter: plan_nonzero = 7.5: need a whole number >= 1"),
    (["-p", "beyond_nonzero", "'7.5e9x'"], "render_chapter: beyond_nonzero = '7.5e9x': need a whole number >= 1"),
    (["-p", "beyond_nonzeros", "7e9"], "render_chapter: beyond_nonzeros = 7000000000.0: not a parameter of this "
                                       "notebook, so papermill would run every default; did you mean beyond_nonzero?"),
    (["-p", "candidates", "[{N: 2e9, D: lots}]"], "render_chapter: candidates = [{'N': '2e9', 'D': 'lots'}]: "
                                                  "{'N': '2e9', 'D': 'lots'}: D must be a finite number > 0 (or None)"),
    (["-p", "results_dir", "/tmp"], "render_chapter: results_dir: a rerun writes its claims to OUT/results"),
])
def test_a_bad_name_or_value_stops_before_anything_is_written(render_chapter, tmp_path, arguments, message):
    out = tmp_path / "rerun"
    with pytest.raises(SystemExit) as stop:
        render_chapter.main(["07", *arguments, "--out", str(out)])
    assert str(stop.value).startswith(message) and "\n" not in str(stop.value)
    assert not out.exists()


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def test_a_rerun_is_rendered_to_html_with_its_own_numbers_and_leaves_the_book_alone(render_chapter, tmp_path, capsys):
    book_files = [ROOT / "book" / "chapters" / f"{STEM}.ipynb", ROOT / "book" / "_executed" / f"{STEM}.ipynb",
                  ROOT / "book" / "_executed" / "results" / f"{STEM}.json"]
    before = [digest(p) for p in book_files]
    out = tmp_path / "rerun"
    # numbers as a reader types them: 3e9 (a float, read as the whole number 3000000000), and YAML's strings '2e9', '4e10'
    page = render_chapter.main(["07", "-p", "beyond_nonzero", "3e9", "-p", "candidates", "[{N: 2e9, D: 4e10}]",
                                "--out", str(out)])
    assert capsys.readouterr().out.splitlines()[-1] == str(page) == str(out / "html" / f"{STEM}.html")
    text = BeautifulSoup(page.read_text(), "html.parser").find("main").get_text(" ", strip=True)
    loss = plan.plan(plan.load_law("t5"), plan.Run(N=2e9, D=4e10), "dense").loss  # the rerun's one candidate
    assert f"{loss:.4f}" in text  # its question table
    assert f"{plan.format_value('N', 3e9)} non-zeros" in text  # the last section's question, glued into its prose
    assert "{glue" not in text and "beyond_nonzero = 3000000000.0" in text  # glue resolved; the parameters shown
    assert list((out / "html" / "_images").glob("*.svg"))  # the figures
    claims = json.loads((out / "results" / f"{STEM}.json").read_text())["claims"]
    assert [c["key"] for c in claims] == ["planner-dense-below-sparse"]
    assert (out / f"{STEM}.ipynb").is_file()
    assert [digest(p) for p in book_files] == before
