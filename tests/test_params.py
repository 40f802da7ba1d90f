import numpy as np
import pytest

from kit.report import params


def test_good_values_come_back_normalised(tmp_path):
    assert params.positive_int("n_boot", 200) == 200
    assert params.positive_int("n_boot", np.int64(5)) == 5 and type(params.positive_int("n", np.int64(5))) is int
    assert params.positive_int_list("n_nonzero", (6912, 13824.0)) == [6912, 13824]
    assert params.token_budgets("tokens", [1e6, 2_000_000]) == [1_000_000, 2_000_000]
    assert params.seed("seed", 0) == 0 and params.seed_list("seeds", np.array([0, 1, 2])) == [0, 1, 2]
    assert params.sparsity("S", 0) == 0.0 and params.sparsity_list("sparsities", [0, 0.5, 0.875]) == [0.0, 0.5, 0.875]
    assert params.probability("level", 0.95) == 0.95
    assert params.fraction("prune_fraction", 1) == 1.0 and params.fraction_list("starts", [0, 0.25]) == [0.0, 0.25]
    assert params.increasing_pair("log10_N", [6, 11]) == (6.0, 11.0)
    assert params.choice("family", "t5", ("t5", "vit", "both")) == "t5"
    assert params.choice_list("kinds", ["cubic"], ("cubic", "geometric")) == ["cubic"]
    assert params.nm_patterns("patterns", [[2, 4], (1, 4)]) == [(2, 4), (1, 4)]
    assert params.existing_dir("runs_dir", str(tmp_path)) == tmp_path and params.existing_dir("runs_dir", None) is None
    (tmp_path / "corpus.txt").write_text("text")
    assert params.existing_path("corpus", tmp_path / "corpus.txt") == tmp_path / "corpus.txt"
    assert params.output_dir("results_dir", str(tmp_path / "new" / "results")) == tmp_path / "new" / "results"
    assert params.output_dir("results_dir", None) is None
    assert params.config_fields("base", {"seq_len": 16}) == {"seq_len": 16}


@pytest.mark.parametrize("call, message", [
    (lambda: params.positive_int("n_boot", 0), "n_boot = 0: need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", 2.5), "n_boot = 2.5: need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", True), "n_boot = True: need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "two hundred"), "n_boot = 'two hundred': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "7.5"), "n_boot = '7.5': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "0"), "n_boot = '0': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "1e400"), "n_boot = '1e400': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "_1"), "n_boot = '_1': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "0x10"), "n_boot = '0x10': need a whole number >= 1"),
    (lambda: params.positive_int("n_boot", "True"), "n_boot = 'True': need a whole number >= 1"),
    (lambda: params.token_budgets("tokens", ["1e6", "2.5e-1"]),
     "tokens = ['1e6', '2.5e-1']: '2.5e-1' is not a token budget; every budget must be a whole number of tokens >= 1"),
    (lambda: params.token_budgets("tokens", ["1e6", "1_000_000"]),
     "tokens = ['1e6', '1_000_000']: 1000000 appears more than once; list each value once"),
    (lambda: params.sparsity("S", "nan"), "S = 'nan': need a sparsity in [0, 1)"),
    (lambda: params.sparsity_list("sparsities", ["0.5", "half"]),
     "sparsities = ['0.5', 'half']: 'half' is not a sparsity in [0, 1); every entry must be"),
    (lambda: params.probability("level", "inf"), "level = 'inf': need a probability strictly between 0 and 1"),
    (lambda: params.increasing_pair("log10_N", ["6", "six"]),
     "log10_N = ['6', 'six']: need a pair [low, high] of finite numbers with low < high"),
    (lambda: params.nm_patterns("patterns", [["2", "4.5"]]),
     "patterns = [['2', '4.5']]: ['2', '4.5'] is not an n:m pattern [n, m] with whole numbers 1 <= n < m"),
    (lambda: params.positive_int_list("n_nonzero", 6912), "n_nonzero = 6912: need a non-empty list, e.g. [6912, 13824]"),
    (lambda: params.positive_int_list("n_nonzero", []), "n_nonzero = []: need a non-empty list, e.g. [6912, 13824]"),
    (lambda: params.positive_int_list("n_nonzero", [6912, -1]),
     "n_nonzero = [6912, -1]: -1 is not a whole number >= 1; every entry must be"),
    (lambda: params.positive_int_list("n_nonzero", [6912, 6912.0]),
     "n_nonzero = [6912, 6912.0]: 6912 appears more than once; list each value once"),
    (lambda: params.token_budgets("tokens", [1e6, 0.5]),
     "tokens = [1000000.0, 0.5]: 0.5 is not a token budget; every budget must be a whole number of tokens >= 1"),
    (lambda: params.seed_list("seeds", [0, -1]), "seeds = [0, -1]: -1 is not a whole number >= 0; every entry must be"),
    (lambda: params.sparsity("S", 1.0), "S = 1.0: need a sparsity in [0, 1)"),
    (lambda: params.sparsity_list("sparsities", [0.5, 1.0]),
     "sparsities = [0.5, 1.0]: 1.0 is not a sparsity in [0, 1); every entry must be"),
    (lambda: params.sparsity_list("sparsities", 0.5), "sparsities = 0.5: need a non-empty list, e.g. [0.0, 0.5, 0.75]"),
    (lambda: params.sparsity_list("sparsities", [0.5, float("nan")]),
     "sparsities = [0.5, nan]: nan is not a sparsity in [0, 1); every entry must be"),
    (lambda: params.probability("level", 1.0), "level = 1.0: need a probability strictly between 0 and 1, e.g. 0.95"),
    (lambda: params.probability("level", 95), "level = 95: need a probability strictly between 0 and 1"),
    (lambda: params.fraction("prune_fraction", -0.1), "prune_fraction = -0.1: need a fraction in [0, 1]"),
    (lambda: params.fraction_list("ends", [0.5, 1.5]), "ends = [0.5, 1.5]: 1.5 is not a fraction in [0, 1]"),
    (lambda: params.increasing_pair("log10_N", [11, 6]),
     "log10_N = [11, 6]: need a pair [low, high] of finite numbers with low < high"),
    (lambda: params.choice("family", "T5", ("t5", "vit", "both")), "family = 'T5': need one of ['t5', 'vit', 'both']"),
    (lambda: params.choice_list("kinds", ["cubic", "linear"], ("cubic", "geometric")),
     "kinds = ['cubic', 'linear']: 'linear' is not one of ['cubic', 'geometric']; every entry must be"),
    (lambda: params.nm_patterns("patterns", [[2, 4], [4, 4]]),
     "patterns = [[2, 4], [4, 4]]: [4, 4] is not an n:m pattern [n, m] with whole numbers 1 <= n < m"),
    (lambda: params.config_fields("base", {"seqlen": 16}), "base = {'seqlen': 16}: 'seqlen' is not a RunConfig field"),
    (lambda: params.config_fields("base", None), "base = None: need a dict of RunConfig fields"),
])
def test_bad_values_fail_with_one_line_naming_parameter_value_and_what_is_allowed(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_paths(tmp_path):
    missing = tmp_path / "runz"
    with pytest.raises(ValueError, match=r"^runs_dir = '.*runz': no such folder; need an existing folder, or None"):
        params.existing_dir("runs_dir", str(missing))
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="no such folder"):
        params.existing_dir("runs_dir", tmp_path / "file")  # a file is not a run store
    with pytest.raises(ValueError, match="no such file or folder"):
        params.existing_path("corpus", str(missing))
    with pytest.raises(ValueError, match="not an existing file"):
        params.output_dir("results_dir", tmp_path / "file")
    assert not missing.exists()  # checking creates nothing


def test_long_values_are_shortened_to_one_line():
    with pytest.raises(ValueError) as error:
        params.sparsity_list("sparsities", list(np.linspace(0, 0.9, 40)) + [1.0])
    text = str(error.value)
    assert "np.float64" not in text and "..." in text and text.endswith("1.0 is not a sparsity in [0, 1); every entry must be")
    assert len(text.split(": ")[0]) <= len("sparsities = ") + 80



def test_numbers_written_as_strings_are_read_as_numbers_exactly():
    """papermill -y passes YAML, which reads 7e9 and 2.5e6 (no dot) as strings."""
    import yaml
    assert yaml.safe_load("n: 7e9") == {"n": "7e9"}  # why strings reach the checks
    assert params.positive_int("beyond_nonzero", "7e9") == 7_000_000_000
    assert type(params.positive_int("n", "7e9")) is int
    assert params.positive_int("beyond_tokens", "2e12") == 2 * 10 ** 12
    assert params.positive_int("n", "12345678901234567890") == 12345678901234567890  # exact, no float on the way
    assert params.positive_int("n_boot", "1_000") == 1000 and params.positive_int("n_boot", " 200\n") == 200
    assert params.positive_int("n", "2.5e6") == 2_500_000 and params.seed("seed", "0") == 0
    assert params.positive_int_list("n_nonzero", ["13_824", "2.7648e4"]) == [13824, 27648]
    assert params.token_budgets("tokens", ["1e6", 2_000_000]) == [1_000_000, 2_000_000]
    assert params.seed_list("seeds", ["0", "1"]) == [0, 1]
    assert params.sparsity("S", "0.5") == 0.5 and params.sparsity_list("sparsities", ["0", "7.5e-1"]) == [0.0, 0.75]
    assert params.probability("level", "0.95") == 0.95 and params.positive_number("eps", "1e-3") == 0.001
    assert params.fraction("f", "1") == 1.0 and params.fraction_list("starts", ["0", "0.25"]) == [0.0, 0.25]
    assert params.increasing_pair("log10_N", ["6", "1.1e1"]) == (6.0, 11.0)
    assert params.nm_patterns("patterns", [["2", "4"]]) == [(2, 4)]
    assert params.number_dicts("candidates", [{"N": "1e9", "D": 2e10, "S": None}], ("S", "N", "D")) == \
        [{"N": 1e9, "D": 2e10, "S": None}]
    assert type(params.number_dicts("c", [{"N": "7e9"}], ("N",))[0]["N"]) is float
    base = params.config_fields("base", {"lr": "3e-3", "seq_len": "1.6e1", "schedule": "cubic", "n_layers": "2.5"})
    assert base == {"lr": 0.003, "seq_len": 16, "schedule": "cubic", "n_layers": "2.5"}  # RunConfig refuses "2.5"
    assert type(base["seq_len"]) is int


def test_number_dicts():
    runs = [{"N": 1e9, "D": 2e10}, {"S": 0.8, "N": 2e8, "C": None}]
    assert params.number_dicts("candidates", runs, ("S", "N", "D", "C")) == runs
    for bad, message in (([], "non-empty list"), ([{"N": 1e9, "X": 1}], r"keys \['X'\]"),
                         ([{"N": -1}], "N must be a finite number > 0"), ([{"N": float("nan")}], "finite"),
                         (["N=1e9"], "not a non-empty dict"), ([{"N": "1e9", "D": "lots"}], "D must be a finite"),
                         ([{"N": "-1e9"}], "N must be a finite number > 0")):
        with pytest.raises(ValueError, match=message):
            params.number_dicts("candidates", bad, ("S", "N", "D", "C"))


PARAMETERS_CELL = 'family = "t5"  # t5 or vit\nn_boot = 200\nruns_dir = None\n'


def injected(**values) -> str:
    """The cell papermill injects for these parameters (its own Python translator)."""
    from papermill.translators import translate_parameters
    return translate_parameters("python3", "python", values)


def test_a_parameter_the_notebook_does_not_declare_is_refused_naming_the_nearest_and_all():
    history = ["", "import os", PARAMETERS_CELL, injected(famly="vit", n_boot=50), "from kit.report import params"]
    assert params.unknown_injected(history) == [("famly", "vit", ["family", "n_boot", "runs_dir"])]
    with pytest.raises(ValueError) as error:
        params.check_injected(history)
    assert str(error.value) == ("famly = 'vit': not a parameter of this notebook, so papermill would run every "
                                "default; did you mean family? its parameters are family, n_boot, runs_dir")
    with pytest.raises(ValueError, match=r"^famly = 'vit': .* \(and 1 more unknown: nboot\); did you mean family"):
        params.check_injected(["", PARAMETERS_CELL, injected(famly="vit", nboot=[1, 2])])


def test_declared_parameters_and_runs_without_papermill_pass():
    params.check_injected(["", PARAMETERS_CELL, injected(family="vit", n_boot=50, runs_dir="/tmp")])
    params.check_injected(["", PARAMETERS_CELL, "from kit.report import params"])  # nothing injected
    params.check_injected([])
    params.check_injected()  # outside IPython: nothing to check
    # papermill puts its cell first when a notebook has no parameters cell: nothing to compare with
    assert params.unknown_injected(["", injected(anything=1), "x = 1"]) == []


def test_the_last_injected_cell_counts():
    history = ["", PARAMETERS_CELL, injected(famly="vit"), PARAMETERS_CELL, injected(family="vit")]
    assert params.unknown_injected(history) == []


def test_papermill_run_with_a_misspelled_parameter_stops_at_the_import_of_kit_params(tmp_path):
    """End to end, as a chapter runs: papermill's own injected cell, then the cell importing kit.report.params."""
    papermill = pytest.importorskip("papermill")
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from kit.report import params\n\nn_boot = params.positive_int('n_boot', n_boot)"),
        nbformat.v4.new_code_cell("open('ran', 'w').write(family)")],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
                  "language_info": {"name": "python"}})
    nbformat.write(nb, tmp_path / "in.ipynb")
    run = dict(cwd=tmp_path, kernel_name="python3", progress_bar=False)
    with pytest.raises(papermill.PapermillExecutionError) as error:
        papermill.execute_notebook(tmp_path / "in.ipynb", tmp_path / "out.ipynb", parameters={"famly": "vit"}, **run)
    assert error.value.ename == "ValueError"
    assert error.value.evalue.startswith("famly = 'vit': not a parameter of this notebook")
    assert not (tmp_path / "ran").exists()
    papermill.execute_notebook(tmp_path / "in.ipynb", tmp_path / "out.ipynb", parameters={"family": "vit"}, **run)
    assert (tmp_path / "ran").read_text() == "vit"


@pytest.mark.parametrize("value", [None, "shakespeare", "pycode"])
def test_corpus_takes_the_default_and_the_named_corpora(value):
    assert params.corpus("corpus", value) == value


def test_corpus_takes_an_existing_path_and_refuses_the_rest(tmp_path):
    assert params.corpus("corpus", str(tmp_path)) == tmp_path
    for bad in ["", "pycod", str(tmp_path / "missing"), 3]:
        with pytest.raises(ValueError, match="corpus = .*(no such corpus|empty name)"):
            params.corpus("corpus", bad)


def test_positive_number_takes_numbers_and_numbers_written_as_strings_above_zero():
    assert params.positive_number("eps", 0.01) == 0.01 and params.positive_number("eps", "1e-2") == 0.01
    assert params.positive_number("gamma", 3, maximum=3.0) == 3.0
    for bad, message in [(0, "eps = 0: need a number > 0"), ("-1", "eps = '-1': need a number > 0"),
                         (True, "need a number > 0"), ("x", "need a number > 0")]:
        with pytest.raises(ValueError, match=message):
            params.positive_number("eps", bad)
    with pytest.raises(ValueError, match="gamma = 5: need a number > 0 and <= 3"):
        params.positive_number("gamma", 5, maximum=3.0)
