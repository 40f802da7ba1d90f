"""Pruning pretrained models (Frantar et al. 2024, Section 4.2, Table 4): how much data sparsifying
from scratch needs to reach the loss of a model pruned from a dense checkpoint, by Eq. 1 solved for
the data, and that data as a multiple of the data the checkpoint route used.

Chapter 5's sections are one call each (read_runs, law_texts, pruned_table, law_table4 and
law_models_table, runs_table4 and from_runs_table, table4, dense_check, half_gaps, tested_claims)
with a *_texts function for the numbers its prose glues, and its figure is plot_equivalence. The
claims' rule sentences are written from the thresholds their verdicts use (EXC_BOUNDS, INC_BOUND,
LEVEL).

Frames are kit.engine.store.law_frame's (one row per run: config fields, metrics, S, N, D, loss).

    pruned = pretrained.with_parents(law_frame(sparsified), law_frame(dense))
    table = pretrained.efficiency(pruned, fit.params)             # D_scratch, exc, inc
    D_BxM = pretrained.scratch_data_samples(pruned, coeff_samples, log_noise, seed=0)
    measured = pretrained.scratch_data_from_runs(pruned, law_frame(main_grid_runs))   # no law
    estimate, low, high = pretrained.geometric_mean_interval(measured.exc.dropna())
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.chapters import corelaw
from kit import laws


def with_parents(pruned: pd.DataFrame, dense: pd.DataFrame) -> pd.DataFrame:
    """The pruned runs with their dense parents' numbers (matched by init_from = the parent's id):
    N_dense, d_dense (its width), D_pretrain (its tokens), L_dense (its loss), and contiguous, whether
    the pruning phase read the data right after the parent's (data_offset = parent's offset + D).

        >>> dense = pd.DataFrame({"id": ["a"], "N": [2000], "d_model": [16], "D": [900], "loss": [2.8],
        ...                       "data_offset": [0]})
        >>> pruned = pd.DataFrame({"init_from": ["a", "a"], "data_offset": [900, 0], "N": [1000, 500]})
        >>> with_parents(pruned, dense)[["N", "N_dense", "D_pretrain", "L_dense", "contiguous"]]
              N  N_dense  D_pretrain  L_dense  contiguous
        0  1000     2000         900      2.8        True
        1   500     2000         900      2.8       False
    """
    parents = dense.set_index("id")
    lacking = sorted(set(pruned.init_from) - set(parents.index))
    if lacking:
        raise ValueError(f"pruned runs start from {lacking}, which are not among the dense runs given")
    parent = parents.loc[pruned.init_from]
    return pruned.assign(N_dense=parent.N.to_numpy(), d_dense=parent.d_model.to_numpy(),
                         D_pretrain=parent.D.to_numpy(), L_dense=parent.loss.to_numpy(),
                         contiguous=(pruned.data_offset.to_numpy() == (parent.data_offset + parent.D).to_numpy()))


def scratch_limit(S, N, coeffs):
    """The law's loss for D -> infinity at (S, N): (a_S (1 - S)^b_S + c_S) N^-b_N + c (Eq. 1).

        >>> round(float(scratch_limit(0.5, 1e8, laws.TABLE7["t5"])), 4)
        1.2561
    """
    return laws.sparse_law(S, N, np.inf, **coeffs)


def scratch_data(L, S, N, coeffs) -> np.ndarray:
    """Eq. 1 solved for D (kit.laws.data_for_loss): the data from which sparsifying from scratch
    reaches loss L at sparsity S with N non-zeros; inf where L is at or below the law's limit for
    D -> infinity (scratch_limit), which no finite D reaches.

        >>> L = laws.sparse_law(0.5, 1e8, 3e9, **laws.TABLE7["t5"])  # the law's loss at D = 3e9
        >>> [round(float(D) / 1e9, 6) for D in scratch_data([L, 1.0], 0.5, 1e8, laws.TABLE7["t5"])]  # 1.0 unreachable
        [3.0, inf]
    """
    L, S, N = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (L, S, N)))
    out = np.full(L.shape, np.inf)
    reachable = L > scratch_limit(S, N, coeffs)
    if reachable.any():
        out[reachable] = laws.data_for_loss(L[reachable], S[reachable], N[reachable], coeffs)
    return out


def efficiency(pruned: pd.DataFrame, coeffs: dict) -> pd.DataFrame:
    """Table 4 for models pruned from checkpoints. pruned: one row per pruned model with S, N, loss,
    D (the pruning phase's tokens) and D_pretrain. Adds L_limit (scratch_limit), D_scratch
    (scratch_data at its loss), exc = D_scratch / D (the checkpoint's data advantage with the
    pretraining not counted: from scratch needs exc times the pruning data) and inc = D_scratch /
    (D_pretrain + D) (with it counted: from scratch needs inc times the data of pretraining plus
    pruning; inc < 1 means pruning throughout training is the cheaper route, by 1 / inc).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> efficiency(pruned, T5)[["D_scratch", "exc", "inc"]].round(3)
           D_scratch   exc    inc
        0  200000000.0  20.0  1.053
        1  300000000.0  30.0  1.579
    """
    missing = [c for c in ("S", "N", "loss", "D", "D_pretrain") if c not in pruned.columns]
    if missing:
        raise ValueError(f"pruned lacks columns {missing}")
    D_scratch = scratch_data(pruned.loss, pruned.S, pruned.N, coeffs)
    return pruned.assign(L_limit=scratch_limit(pruned.S.to_numpy(), pruned.N.to_numpy(), coeffs),
                         D_scratch=D_scratch, exc=D_scratch / pruned.D.to_numpy(),
                         inc=D_scratch / (pruned.D_pretrain + pruned.D).to_numpy())


def scratch_data_samples(pruned: pd.DataFrame, coeff_samples: pd.DataFrame, log_noise: float = 0.0,
                         seed=0) -> np.ndarray:
    """D_scratch of every pruned model (columns) under every row of coeff_samples (e.g. bootstrap
    refits of the from-scratch law), each row also redrawing each pruned model's log loss from a
    normal distribution around its measured one with sd log_noise (one run's scatter, e.g. the
    fit's rms residual of log L; 0: the measured loss). Returns D_BxM, inf where unreachable and
    NaN where a row's coefficients are missing.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch_data_samples(pruned, pd.DataFrame([T5, {**T5, "c": np.nan}])).round(-6)
        array([[2.e+08, 3.e+08],
               [   nan,    nan]])
        >>> scratch_data_samples(pruned, pd.DataFrame([T5] * 100), log_noise=0.01, seed=0).shape
        (100, 2)
    """
    if not (np.isfinite(log_noise) and log_noise >= 0):
        raise ValueError(f"log_noise = {log_noise!r}: need a spread >= 0 (sd of log L)")
    rng = np.random.default_rng(seed)
    B, M = len(coeff_samples), len(pruned)
    loss_BxM = pruned.loss.to_numpy()[None, :] * np.exp(log_noise * rng.standard_normal((B, M)))
    D_BxM = np.full((B, M), np.nan)
    for b, row in enumerate(coeff_samples[list(laws.COEFF_NAMES)].itertuples(index=False)):
        coeffs = dict(zip(laws.COEFF_NAMES, row))
        if all(np.isfinite(v) and v > 0 for v in coeffs.values()):
            D_BxM[b] = scratch_data(loss_BxM[b], pruned.S.to_numpy(), pruned.N.to_numpy(), coeffs)
    return D_BxM


def geometric_mean(x_BxM, axis=-1) -> np.ndarray:
    """Geometric mean along `axis` (e.g. over the pretrained model sizes): inf if any value is
    inf, NaN if any is NaN.

        >>> geometric_mean([[1.0, 4.0], [2.0, 8.0]]), geometric_mean([1.0, np.inf])
        (array([2., 4.]), np.float64(inf))
    """
    x = np.asarray(x_BxM, dtype=float)
    with np.errstate(divide="ignore"):
        return np.exp(np.mean(np.log(x), axis=axis))


def percentile_interval(samples, level=0.95) -> tuple[float, float]:
    """The (1 - level)/2 and (1 + level)/2 quantiles of samples (NaN dropped), taken as order
    statistics (no interpolation), so that samples holding inf give inf, not NaN, at the ends.

        >>> percentile_interval(np.arange(1, 101), level=0.9)
        (5.0, 95.0)
        >>> percentile_interval([1.0, 2.0, np.inf, np.inf, np.nan], level=0.5)
        (1.0, inf)
    """
    x = np.asarray(samples, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError("no samples (all NaN)")
    tail = (1 - level) / 2
    low, high = np.quantile(x, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def scratch_twins(pruned: pd.DataFrame, scratch: pd.DataFrame) -> dict:
    """For every pruned model (index of `pruned`), its from-scratch twins: the runs of `scratch`
    (e.g. the main grid's law frame) with the same target sparsity (config field `sparsity`) and
    the same non-zero count N, sorted by D. Models without a twin are left out.

        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": 100, "D": [4e6, 1e6, 2e6], "loss": [2.2, 3.0, 2.5]})
        >>> pruned = pd.DataFrame({"sparsity": [0.5, 0.75], "N": [100, 50], "D": 1e5, "loss": [2.5, 2.8]})
        >>> twins = scratch_twins(pruned, scratch)
        >>> list(twins), twins[0].D.tolist()
        ([0], [1000000.0, 2000000.0, 4000000.0])
    """
    for name, frame in (("pruned", pruned), ("scratch", scratch)):
        missing = [c for c in ("sparsity", "N", "D", "loss") if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    groups = {(round(float(s), 6), int(n)): runs.sort_values("D")
              for (s, n), runs in scratch.groupby([scratch.sparsity.round(6), scratch.N.astype(int)])}
    return {i: groups[key] for i, key in zip(pruned.index, zip(pruned.sparsity.round(6), pruned.N.astype(int)))
            if key in groups}


def x_at_loss(x_K, L_K, L) -> float:
    """Where a curve of runs (x_K: their budgets D, or sizes N; L_K: their final losses) reaches
    loss L: log x linear in log L between the two consecutive runs whose losses bracket L (the
    first such pair from the smallest x on); NaN where L lies outside the losses of every pair
    (below the curve's reach or above its first run).

        >>> round(x_at_loss([1e6, 2e6, 4e6], [3.0, 2.5, 2.2], 2.5))
        2000000
        >>> x_at_loss([1e6, 2e6, 4e6], [3.0, 2.5, 2.2], 2.0)  # below the curve's reach
        nan
    """
    order = np.argsort(x_K)
    log_x, log_L = np.log(np.asarray(x_K, dtype=float)[order]), np.log(np.asarray(L_K, dtype=float)[order])
    target = np.log(float(L))
    for k in range(len(log_x) - 1):
        hi, lo = log_L[k], log_L[k + 1]
        if min(hi, lo) <= target <= max(hi, lo) and hi != lo:
            return float(np.exp(log_x[k] + (log_x[k + 1] - log_x[k]) * (target - hi) / (lo - hi)))
    return float("nan")


def scratch_data_from_runs(pruned: pd.DataFrame, scratch: pd.DataFrame) -> pd.DataFrame:
    """Table 4 without a law: for every pruned model (columns sparsity, N, loss, D, D_pretrain),
    the data D_scratch at which its from-scratch twins (scratch_twins) reach its loss, read off
    their measured losses by x_at_loss, and exc = D_scratch / D, inc = D_scratch /
    (D_pretrain + D) as in `efficiency`. Adds twins (how many runs the curve has) and twin_D_min,
    twin_D_max (its budgets); D_scratch is NaN where a model has fewer than two twins or its loss
    lies outside their range (then the twins' range bounds it: see twin_loss_min, twin_loss_max).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> scratch_data_from_runs(pruned, scratch)[["twins", "twin_D_max", "exc", "inc"]].round(3)
           twins   twin_D_max     exc    inc
        0      3  400000000.0  20.000  1.053
        1      3  400000000.0  30.232  1.591
    """
    twins = scratch_twins(pruned, scratch)
    D_scratch, count, D_min, D_max, L_min, L_max = ([] for _ in range(6))
    for i, loss in zip(pruned.index, pruned.loss):
        runs = twins.get(i)
        has = runs is not None and len(runs) >= 2
        D_scratch.append(x_at_loss(runs.D, runs.loss, loss) if has else np.nan)
        count.append(0 if runs is None else len(runs))
        D_min.append(runs.D.min() if runs is not None else np.nan)
        D_max.append(runs.D.max() if runs is not None else np.nan)
        L_min.append(runs.loss.min() if runs is not None else np.nan)
        L_max.append(runs.loss.max() if runs is not None else np.nan)
    D_scratch = np.array(D_scratch)
    return pruned.assign(twins=count, twin_D_min=D_min, twin_D_max=D_max, twin_loss_min=L_min, twin_loss_max=L_max,
                         D_scratch=D_scratch, exc=D_scratch / pruned.D.to_numpy(),
                         inc=D_scratch / (pruned.D_pretrain + pruned.D).to_numpy())


def geometric_mean_interval(values, level=0.95) -> tuple[float, float, float]:
    """The geometric mean of positive values (e.g. one exc per pretrained model) and its Student-t
    `level` interval, from the mean of their logs (kit.chapters.corelaw.mean_interval): (estimate, low,
    high); NaN ends for fewer than two values.

        >>> [round(v, 3) for v in geometric_mean_interval([2.0, 8.0], level=0.5)]
        [4.0, 2.0, 8.0]
    """
    values = np.asarray(values, dtype=float)
    if not (values.size and np.all(values > 0) and np.all(np.isfinite(values))):
        raise ValueError(f"values = {values.tolist()}: need one or more positive finite numbers")
    return tuple(float(np.exp(v)) for v in corelaw.mean_interval(np.log(values), level))


# The chapter's tests of Table 4 (Section 4.2), every rule's thresholds in one place: "starting from such
# a checkpoint is > 4x more efficient than sparsifying from scratch for 0.5/0.75, and > 2x for 0.875
# sparsity"; "pruning throughout the whole training process appears to be >= 4x more efficient".
PAPER = "Frantar et al. 2024"
LEVEL = 0.95  # coverage of every interval of the chapter
EXC_BOUNDS = {(0.5, 0.75): 4.0, (0.875,): 2.0}  # sparsities tested together -> the exc. they must exceed
INC_BOUND = 4.0  # 1 / inc. (pretraining counted) must exceed this
FLAT_GAIN = corelaw.FLAT_GAIN  # a law whose size gain (Eq. 7) stays below this at every pruned sparsity has a flat f(S)
QUANTITIES = ("exc", "inc")


def paper_table4() -> pd.DataFrame:
    """Frantar et al.'s Table 4 (ViT on JFT): rows S/16, M/16, B/16; columns (S, "exc"/"inc"), D_scratch
    over the pruning phase's data (exc.) and over pretraining plus pruning (inc.).

        >>> paper_table4().loc["S/16", (0.5, "exc")]
        np.float64(4.9)
    """
    return pd.DataFrame(
        [[4.90, 0.25, 4.27, 0.23, 2.45, 0.13], [4.76, 0.25, 4.18, 0.22, 2.57, 0.14], [4.35, 0.23, 4.00, 0.21, 2.72, 0.14]],
        index=pd.Index(["S/16", "M/16", "B/16"], name="model (paper)"),
        columns=pd.MultiIndex.from_product([[0.5, 0.75, 0.875], list(QUANTITIES)], names=["S", ""]))


def check_prune(prune_sparsities, prune_fraction) -> None:
    """Raise ValueError unless every sparsity prunes (> 0) and the pruning phase is a fraction of the
    pretraining strictly between 0 and 1.

        >>> check_prune([0.5, 0.75], 0.056)  # passes
        >>> check_prune([0.5, 0.75], 1.5)
        Traceback (most recent call last):
        ValueError: prune_fraction = 1.5: need a fraction strictly between 0 and 1
    """
    if any(s <= 0 for s in prune_sparsities):
        raise ValueError(f"prune_sparsities = {list(prune_sparsities)}: every entry must be > 0 (0 would not prune)")
    if not 0.0 < prune_fraction < 1.0:
        raise ValueError(f"prune_fraction = {prune_fraction}: need a fraction strictly between 0 and 1")


def read_runs(store, corpus, main_configs, pretrain_configs, sparsify_configs):
    """The chapter's three groups of runs as law frames (kit.engine.store.law_frame), each trained
    only where `store` lacks it (kit.engine.sweep.run_sweep): (main, dense, pruned), dense sorted by
    N, pruned with its parents' numbers (with_parents) sorted by N_dense and sparsity. The chapter's
    runs, from runs/ (all stored: nothing trains):

        >>> from kit.engine import data, grids, store
        >>> runs, corpus = store.RunStore("runs"), data.load_corpus(None)
        >>> parents = {runs.run_id(c, corpus.fingerprint): c for c in grids.pretrain_grid()}
        >>> main, dense, pruned = read_runs(runs, corpus, grids.main_grid(), grids.pretrain_grid(),
        ...                                 grids.sparsify_grid(parents))
        >>> len(main), len(dense), len(pruned)
        (80, 4, 12)
    """
    from kit.engine.store import law_frame
    from kit.engine.sweep import run_sweep

    read = lambda configs: law_frame(run_sweep(configs, store=store, corpus=corpus, progress=False))
    main, dense = read(main_configs), read(pretrain_configs)
    pruned = with_parents(read(sparsify_configs), dense).sort_values(["N_dense", "sparsity"]).reset_index(drop=True)
    return main, dense.sort_values("N").reset_index(drop=True), pruned


def ratio_text(estimate, low=None, high=None, fmt=".3g", unit="x") -> str:
    """A ratio and its interval as Table 4 prints them, an infinite value (no finite data reaches the
    loss) as ∞.

        >>> ratio_text(4.2, 3.1, np.inf), ratio_text(np.inf)
        ('4.2x [3.1, ∞]', '∞')
    """
    show = lambda v: "∞" if np.isinf(v) else format(v, fmt)
    text = f"{show(estimate)}{unit if np.isfinite(estimate) else ''}"
    return text if low is None else f"{text} [{show(low)}, {show(high)}]"


def law_texts(law, main: pd.DataFrame, sparsities) -> dict:
    """The prose numbers of a fit of Eq. 1 to the main grid (a kit.fit.fitting.FitResult): runs, rms
    residual of log L, data range, a_S, the size gain (Eq. 7) at each pruned sparsity and whether
    the sparsity term is flat (every gain below FLAT_GAIN), and the gain at S = 0.5 (gain_50). On our
    grid the chapter's fit (kit.fit.lawfit.fit_family(main, "ours")) is flat; a fit with Table 7's T5
    coefficients and a 1% rms residual is not:

        >>> from kit.fit.fitting import FitResult
        >>> law = FitResult(dict(laws.TABLE7["t5"]), objective=0.0, residuals=np.array([0.01, -0.01]), n_starts=1,
        ...                 converged=True)
        >>> texts = law_texts(law, pd.DataFrame({"D": [6e5, 4.8e6]}), [0.5, 0.75])
        >>> texts["law_rms"], texts["law_gains"], texts["law_flat"]
        ('1.00%', '1.587x at 0.5, 2.160x at 0.75', 'not flat')
    """
    p = law.params
    gains = [float(laws.gain(s, p["a_S"], p["b_S"], p["c_S"], p["b_N"])) for s in sparsities]
    return {"law_runs": f"{len(main)}", "law_rms": f"{float(np.sqrt(np.mean(law.residuals ** 2))):.2%}",
            "grid_D": f"{main.D.min() / 1e6:.2f}M to {main.D.max() / 1e6:.2f}M", "law_a_S": f"{p['a_S']:.2g}",
            "law_gains": ", ".join(f"{g:.3f}x at {s:g}" for g, s in zip(gains, sparsities)),
            "law_flat": "flat" if max(gains) < FLAT_GAIN else "not flat",
            "gain_50": f"{float(laws.gain(0.5, p['a_S'], p['b_S'], p['c_S'], p['b_N'])):.2f}"}


def pruned_table(pruned: pd.DataFrame, config) -> pd.DataFrame:
    """One row per pruned model (with_parents' frame): its parent's size, S, N, pruning tokens, loss, its
    parent's loss, and its embedding non-zeros beside those of a from-scratch sparse run of the same N,
    whose embedding is pruned to that of the dense model of its N (kit.engine.model.dense_width).
    config: the kit.engine.config.RunConfig the runs share.

        >>> from kit.engine.config import RunConfig
        >>> pruned = pd.DataFrame({"N_dense": [27_648], "S": [0.5], "sparsity": [0.5], "N": [13_824], "D": [256_000],
        ...                        "loss": [2.0], "L_dense": [1.9], "nnz_embed": [8192]})
        >>> pruned_table(pruned, RunConfig())[["N", "embedding non-zeros", "from scratch"]]
               N  embedding non-zeros  from scratch
        0  13824                 8192          4096
    """
    from kit.engine import model

    scratch = [model.VOCAB * model.dense_width(config.replace(n_nonzero=int(n), sparsity=float(s)))
               for n, s in zip(pruned.N, pruned.sparsity)]
    return pd.DataFrame({"N_dense": pruned.N_dense, "S": pruned.S, "N": pruned.N, "D_prune": pruned.D,
                         "loss": pruned.loss, "dense loss": pruned.L_dense,
                         "embedding non-zeros": pruned.nnz_embed, "from scratch": scratch})


def pruned_texts(pruned: pd.DataFrame, table: pd.DataFrame) -> dict:
    """The prose's texts on the pruned models (read_runs' `pruned`) and pruned_table's `table`:
    whether every continuation reads on where its parent stopped, the pruning phase's tokens and
    share of pretraining, and the pruned models' embedding over a from-scratch twin's (range).

        >>> pruned = pd.DataFrame({"contiguous": [True], "D": [256_000], "D_pretrain": [4_587_520]})
        >>> table = pd.DataFrame({"embedding non-zeros": [6144], "from scratch": [4096]})
        >>> pruned_texts(pruned, table)["embed_extra"], pruned_texts(pruned, table)["prune_share"]
        ('1.5x to 1.5x', '5.58%')
    """
    embed = table["embedding non-zeros"] / table["from scratch"]
    return {"contiguous": "every" if bool(pruned.contiguous.all()) else "not every",
            "prune_tokens": f"{int(pruned.D.iloc[0]):,}", "prune_share": f"{(pruned.D / pruned.D_pretrain).iloc[0]:.2%}",
            "embed_extra": f"{embed.min():.2g}x to {embed.max():.2g}x"}


def _means(models: pd.DataFrame, summary) -> pd.DataFrame:
    """Per sparsity of `models`: summary(values of q at that sparsity) -> (estimate, low, high) for q
    in QUANTITIES, and the models with a finite exc."""
    rows = {}
    for s in sorted(models.sparsity.unique()):
        at = np.isclose(models.sparsity, s)
        row = {"models": int(np.isfinite(models.exc[at]).sum())}
        for q in QUANTITIES:
            row[q], row[f"{q}_low"], row[f"{q}_high"] = summary(q, at)
        rows[s] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("sparsity")


def law_table4(pruned: pd.DataFrame, coeffs: dict, coeff_samples: pd.DataFrame, log_noise: float,
               level=LEVEL, seed=0):
    """Table 4 from the law: efficiency(pruned, coeffs) with bootstrap ends <q>_low, <q>_high for
    D_scratch, exc and inc (percentile_interval over the rows of coeff_samples with finite coefficients,
    each redrawing the losses with sd log_noise: scratch_data_samples), and per sparsity the geometric
    mean over the models with its interval over the same resamples. Returns (models, means,
    resamples used). The chapter's coeff_samples are kit.fit.fitting.bootstrap's refits of the law and
    its log_noise the fit's rms residual of log L; here Table 7's T5 law is every resample:

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> table, means, used = law_table4(pruned, T5, pd.DataFrame([T5] * 5), log_noise=0.0)
        >>> table[["exc", "exc_low", "exc_high"]]
            exc  exc_low  exc_high
        0  20.0     20.0      20.0
        1  30.0     30.0      30.0
        >>> means[["models", "exc", "exc_low", "exc_high"]].round(2)  # geometric means over the models
                  models    exc  exc_low  exc_high
        sparsity
        0.5            2  24.49    24.49     24.49
        >>> used
        5
    """
    table = efficiency(pruned, coeffs)
    D_BxM = scratch_data_samples(pruned, coeff_samples, log_noise=log_noise, seed=seed)
    D_BxM = D_BxM[~np.isnan(D_BxM).any(axis=1)]
    samples = {"D_scratch": D_BxM, "exc": D_BxM / pruned.D.to_numpy(),
               "inc": D_BxM / (pruned.D_pretrain + pruned.D).to_numpy()}
    for q, x_BxM in samples.items():
        ends = np.array([percentile_interval(x, level) for x in x_BxM.T]).reshape(-1, 2)
        table = table.assign(**{f"{q}_low": ends[:, 0], f"{q}_high": ends[:, 1]})

    def summary(q, at):
        return (float(geometric_mean(table[q].to_numpy()[at])),
                *percentile_interval(geometric_mean(samples[q][:, at]), level))

    return table, _means(table, summary), len(D_BxM)


def runs_table4(pruned: pd.DataFrame, scratch: pd.DataFrame, level=LEVEL):
    """Table 4 from the runs, no law: scratch_data_from_runs(pruned, scratch) and per sparsity the
    geometric mean of exc. and inc. over the models whose twins reach their loss, with its Student-t
    interval over them (geometric_mean_interval; NaN where fewer than two models, all NaN where
    none). Returns (models, means).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> measured, means = runs_table4(pruned, scratch)
        >>> means[["models", "exc", "exc_low", "exc_high"]].round(1)
                  models   exc  exc_low  exc_high
        sparsity
        0.5            2  24.6      1.8     339.4
    """
    measured = scratch_data_from_runs(pruned, scratch)

    def summary(q, at):
        values = measured[q].to_numpy()[at]
        values = values[np.isfinite(values)]
        return geometric_mean_interval(values, level) if values.size else (np.nan, np.nan, np.nan)

    return measured, _means(measured, summary)


def table4(models: pd.DataFrame, means: pd.DataFrame) -> pd.DataFrame:
    """Table 4 as printed: one row per pretrained model (N_dense) and a last row "geometric mean",
    one column per (sparsity, exc./inc.); – where a value is missing, the mean's interval where it
    has one (models from law_table4 or runs_table4, means from the same).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> table4(*runs_table4(pruned, scratch))
                                  S = 0.5
                                     exc.                  inc.
        N_dense
        2,000,000                     20x                 1.05x
        4,000,000                   30.2x                 1.59x
        geometric mean  24.6x [1.78, 339]  1.29x [0.0938, 17.9]
    """
    out = {}
    for s, mean in means.iterrows():
        at = np.isclose(models.sparsity, s)
        for q in QUANTITIES:
            column = {f"{n:,}": "–" if np.isnan(v) else ratio_text(v) for n, v in zip(models.N_dense[at], models[q][at])}
            e, lo, hi = mean[q], mean[f"{q}_low"], mean[f"{q}_high"]
            column["geometric mean"] = "–" if np.isnan(e) else ratio_text(e) if np.isnan(lo) else ratio_text(e, lo, hi)
            out[(f"S = {s:g}", f"{q}.")] = column
    return pd.DataFrame(out).rename_axis("N_dense")


def from_runs_table(measured: pd.DataFrame, law: pd.DataFrame) -> pd.DataFrame:
    """The pruned models with from-scratch twins (runs_table4's models): their twins' loss range, the
    D_scratch, exc. and inc. read off them, and the law's D_scratch (law_table4's models) over it.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> measured, _ = runs_table4(pruned, scratch)
        >>> from_runs_table(measured, efficiency(pruned, T5))[["exc.", "law's D_scratch / runs'"]].round(3)
             exc.  law's D_scratch / runs'
        0  20.000                    1.000
        1  30.232                    0.992
    """
    twinned = measured[measured.twins > 0]
    return pd.DataFrame({"N_dense": twinned.N_dense, "S": twinned.S, "sparsity": twinned.sparsity, "N": twinned.N,
                         "loss": twinned.loss,
                         "twins' losses": [f"{hi:.4f} to {lo:.4f}" for hi, lo in zip(twinned.twin_loss_max, twinned.twin_loss_min)],
                         "D_scratch": twinned.D_scratch, "exc.": twinned.exc, "inc.": twinned.inc,
                         "law's D_scratch / runs'": law.D_scratch[twinned.index] / twinned.D_scratch})


def from_runs_texts(measured: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """The prose numbers of from_runs_table (`runs`): how many models have twins and how many are read
    between two twins, the range of the law's D_scratch over the runs' (all, below the highest
    sparsity, at it), and the data range the runs' D_scratch spans.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> measured, _ = runs_table4(pruned, scratch)
        >>> texts = from_runs_texts(measured, from_runs_table(measured, efficiency(pruned, T5)))
        >>> texts["twins_read"], texts["law_vs_runs"], texts["runs_D_range"]
        ('2 of 2', '0.99 to 1.00', '200.0M to 302.3M')
    """
    read = np.isfinite(runs.D_scratch).to_numpy()
    ratio = runs["law's D_scratch / runs'"]
    span = lambda x, fmt=".2f": f"{x.min():{fmt}} to {x.max():{fmt}}" if len(x) else "–"
    top = runs.sparsity.max() if len(runs) else None
    at_top = np.isclose(runs.sparsity, top) if top is not None else read
    return {"twinned": f"{len(runs)} of {len(measured)}", "twins_read": f"{int(read.sum())} of {len(runs)}",
            "law_vs_runs": span(ratio[read]), "law_vs_runs_low_S": span(ratio[read & ~at_top]),
            "law_vs_runs_top_S": span(ratio[read & at_top]), "top_S": f"{top:.1%}" if top is not None else "–",
            "runs_D_range": f"{runs.D_scratch[read].min() / 1e6:.1f}M to {runs.D_scratch[read].max() / 1e6:.1f}M"
            if read.any() else "–", "read_of_all": f"{int(read.sum())} of {len(measured)}"}


def _pct(sparsities) -> str:
    return " and ".join(f"{100 * s:g}%" for s in sparsities)


def _tested(key, statement, paper_value, summary, bound, rule, quantity, models, scope):
    """One claim of Table 4 from summary = (estimate, low, high) of a geometric mean over the pretrained
    models with twins (runs_table4), tested against `bound` by kit.report.claims.direction_verdict."""
    from kit.report import claims

    estimate, low, high = summary
    if np.isnan(estimate):
        verdict, ours = "not resolved", None
        reason = f"No pruned model here has from-scratch twins in the main grid, so {quantity} is not measured."
    elif np.isnan(low):
        verdict, ours = "not resolved", f"{estimate:.3g}x (one model)"
        reason = (f"{quantity[:1].upper()}{quantity[1:]} is {estimate - bound:+.3g}, from a single pretrained model "
                  f"with from-scratch twins: too few for an interval.")
    else:
        verdict, reason = claims.direction_verdict(estimate - bound, low - bound, high - bound, +1, quantity=quantity,
                                                   unit="", fmt="+.3g")
        ours = claims.interval_text(estimate, low, high, ".3g", "x")
    numbers = {k: v for k, v in zip(("estimate", "low", "high"), summary) if np.isfinite(v)}
    return claims.Claim(key, PAPER, statement, "ch5-claims", paper_value, None, ours, verdict, rule, reason,
                        {**numbers, "bound": bound, "models": models}, kind="own runs", scope=scope, rule_after=True)


def tested_claims(measured: pd.DataFrame, means: pd.DataFrame) -> list:
    """The chapter's claims (kit.report.claims.Claim) on runs_table4's (measured, means): for each entry
    of EXC_BOUNDS whose sparsities were all pruned, the smallest of their geometric-mean exc. must
    exceed the bound; and the least geometric-mean 1 / inc. over the sparsities must exceed
    INC_BOUND. Each holds if the LEVEL Student-t interval over the models lies above the bound, does
    not hold if below it, and is not resolved otherwise (or with fewer than two models). rule_after
    is True: the rules were fixed for the law's Table 4 and moved to the runs' once the law's
    sparsity term came out flat.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> [(c.key, c.verdict) for c in tested_claims(*runs_table4(pruned, scratch))]  # only 50% pruned: no exc. claim
        [('pretrained-inc', 'not resolved')]
    """
    paper = paper_table4()
    scope = (f"{measured.N_dense.nunique()} dense models, N_dense {measured.N_dense.min():,}-{measured.N_dense.max():,}, "
             f"pruned on {measured.D.max():,} tokens after {measured.D_pretrain.max():,} of pretraining")
    over = f"Holds if the {LEVEL:.0%} Student-t interval, over the pretrained models with from-scratch twins, of the"
    tail = "lies above 0; does not hold if it lies below 0; not resolved otherwise."
    none = (np.nan, np.nan, np.nan)
    out = []
    for sparsities, bound in EXC_BOUNDS.items():
        levels = [next((v for v in means.index if np.isclose(v, s)), None) for s in sparsities]
        if None in levels:
            continue  # a sparsity the chapter did not prune: no verdict about it
        pair = [tuple(means.loc[s, ["exc", "exc_low", "exc_high"]]) for s in levels]
        summary = none if any(np.isnan(p[0]) for p in pair) else min(pair, key=lambda p: p[0])
        which = "" if len(levels) == 1 else "smaller " if len(levels) == 2 else "smallest "
        quantity = f"the {which}geometric-mean exc. at {_pct(sparsities)}, minus {bound:g}"
        shown = paper.loc[:, [(s, "exc") for s in sparsities if s in paper.columns.levels[0]]].to_numpy()
        out.append(_tested(
            "pretrained-exc-" + "-".join(f"{100 * s:g}".replace(".", "") for s in sparsities),
            f"Starting from a pretrained dense checkpoint is more than {bound:g}x as data-efficient as sparsifying "
            f"from scratch at {_pct(sparsities)} sparsity, the pretraining not counted (Table 4, exc.).",
            f"exc. {shown.min():.2f}x to {shown.max():.2f}x", summary, bound,
            f"{over} {which + 'of the ' if which else ''}geometric-mean exc. at {_pct(sparsities)}, minus {bound:g}, {tail}", quantity,
            int(means.loc[levels, "models"].sum()), scope))
    inverse = [(1 / e, 1 / hi, 1 / lo) for e, lo, hi in means[["inc", "inc_low", "inc_high"]].itertuples(index=False)
               if np.isfinite(e)]
    inc = paper.loc[:, (slice(None), "inc")].to_numpy()
    quantity = f"the least geometric-mean 1 / inc. over the sparsities, minus {INC_BOUND:g}"
    out.append(_tested(
        "pretrained-inc",
        f"Counting the pretraining, pruning throughout training is at least {INC_BOUND:g}x as data-efficient as "
        f"pretraining a dense model and then pruning it (Table 4, inc. at most 1/{INC_BOUND:g}).",
        f"1 / inc. {1 / inc.max():.1f}x to {1 / inc.min():.1f}x", min(inverse, key=lambda p: p[0]) if inverse else none,
        INC_BOUND, f"{over} {quantity[4:]}, {tail}", quantity, int(means.models.sum()), scope))
    return out


def law_table4_texts(table: pd.DataFrame, main: pd.DataFrame, resamples: int, n_boot: int) -> dict:
    """The prose numbers of law_table4's models (`table`): resamples used of n_boot, models below the
    law's limit, models whose interval reaches ∞, where D_scratch lies against the main grid's
    largest budget, and the models whose star lies between the pruning data and the data with
    pretraining (D < D_scratch < D_pretrain + D).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> table, means, used = law_table4(pruned, T5, pd.DataFrame([T5] * 5), log_noise=0.0)
        >>> texts = law_table4_texts(table, pd.DataFrame({"D": [1e8, 4e8]}), used, n_boot=5)
        >>> texts["boot_valid"], texts["unreachable"], texts["stars_between"]
        ('5', '0 of 2', '0 of 2')
    """
    beyond = table.D_scratch / main.D.max()
    n_beyond = int((beyond > 1).sum())
    between = ((table.D < table.D_scratch) & (table.D_scratch < table.D_pretrain + table.D)).to_numpy()
    return {"boot_total": f"{n_boot}", "boot_valid": f"{resamples}",
            "unreachable": f"{int((~np.isfinite(table.D_scratch)).sum())} of {len(table)}",
            "law_unbounded": f"{int(np.isinf(table.D_scratch_high).sum())} of {len(table)}",
            "beyond_sentence": f"For {n_beyond} of them D_scratch lies beyond the main grid's largest budget (at most "
            f"{beyond[np.isfinite(beyond)].max():.2f} times it): there the law extrapolates its data term." if n_beyond
            else "For none of them does D_scratch lie beyond the main grid's largest budget: the law is read inside "
            "the data range it was fitted on.", "stars_between": f"{int(between.sum())} of {len(table)}"}


def table4_texts(measured: pd.DataFrame, runs_means: pd.DataFrame, law_means: pd.DataFrame) -> dict:
    """The prose numbers of Table 4 (runs_table4's measured and means, law_table4's means): per
    sparsity (names end in 50, 75, 875 for 0.5, 0.75, 0.875) the models with twins, the runs' and the
    law's geometric-mean exc. and inc., and which route is cheaper with the pretraining counted; the
    factor from exc. to inc.; the runs' exc. over the paper's; exc. by model size at the lowest
    sparsity; the range of 1 / inc.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> measured, runs_means = runs_table4(pruned, scratch)
        >>> texts = table4_texts(measured, runs_means, law_table4(pruned, T5, pd.DataFrame([T5] * 5), 0.0)[1])
        >>> texts["exc_50"], texts["law_exc_50"], texts["vs_paper"]
        ('24.6', '24.5', '5.3x at 50%')
    """
    share = (measured.D / (measured.D_pretrain + measured.D)).iloc[0]
    out = {"inc_factor": f"{share:.4f}", "exc_edge": f"{1 / share:.1f}"}
    for s, row in runs_means.iterrows():
        name = f"{s * 100:g}".replace(".", "")
        out[f"models_{name}"] = f"{int(row.models)}"
        for q in QUANTITIES:
            out[f"{q}_{name}"] = "–" if np.isnan(row[q]) else f"{row[q]:.3g}"
            out[f"law_{q}_{name}"] = f"{law_means.loc[s, q]:.3g}"
        inc, said = row.inc, f"sparsifying from scratch needs {row.inc:.2g} times the data of pretraining plus pruning"
        out[f"route_{name}"] = ("no pruned model here has from-scratch twins" if np.isnan(inc) else
                                f"{said}, so the checkpoint route costs {1 / inc:.2g} times the data of pruning "
                                f"throughout training" if inc < 1 else
                                f"{said}, so the checkpoint route is the cheaper one even with its pretraining counted")
    paper = paper_table4()
    paper_geo = {s: float(geometric_mean(paper[(s, "exc")].to_numpy())) for s in paper.columns.levels[0]}
    versus = [(s, runs_means.exc[s] / paper_geo[p]) for s in runs_means.index for p in paper_geo
              if np.isclose(s, p) and np.isfinite(runs_means.exc[s])]
    out["vs_paper"] = ", ".join(f"{r:.1f}x at {s * 100:g}%" for s, r in versus) or "–"
    lowest = runs_means.index[0]
    by_size = measured.exc[np.isclose(measured.sparsity, lowest)].to_numpy()  # smallest pretrained model first
    by_size = by_size[np.isfinite(by_size)]
    out["exc_by_size"] = (f"{by_size[0]:.3g}x for the smallest pretrained model with twins to {by_size[-1]:.3g}x for "
                          f"the largest" if len(by_size) > 1 else "–")
    out["lowest_S"] = f"{lowest:.0%}"
    routes = [1 / v for v in runs_means.inc if np.isfinite(v)]
    out["route_range"] = f"{min(routes):.2g} to {max(routes):.2g}" if routes else "–"
    return out


def dense_check(dense: pd.DataFrame, coeffs: dict) -> pd.DataFrame:
    """The law (Eq. 1 at S = 0) against the pretrained dense models (law frame, one row per model):
    measured loss, the law's loss at their N and D, law − measured, and the data at which the law
    reaches the measured loss over the data taken (above 1: the law is pessimistic about dense
    training there).

        >>> T5 = laws.TABLE7["t5"]
        >>> dense = pd.DataFrame({"N": [2_000_000, 4_000_000], "D": 1.8e8})
        >>> dense["loss"] = laws.sparse_law(0.0, dense.N, dense.D, **T5) + 0.01  # 0.01 above the law
        >>> dense_check(dense, T5)[["law − measured", "law's D for the measured loss / D_pretrain"]].round(3)
           law − measured  law's D for the measured loss / D_pretrain
        0           -0.01                                       0.963
        1           -0.01                                       0.963
    """
    predicted = laws.sparse_law(0.0, dense.N, dense.D, **coeffs)
    return pd.DataFrame({"N_dense": dense.N, "D_pretrain": dense.D, "measured loss": dense.loss, "law's loss": predicted,
                         "law − measured": predicted - dense.loss,
                         "law's D for the measured loss / D_pretrain": scratch_data(dense.loss, 0.0, dense.N, coeffs) / dense.D})


def dense_check_texts(check: pd.DataFrame, dense: pd.DataFrame, main: pd.DataFrame) -> dict:
    """The prose's texts on dense_check's table: the pretraining budget over the grid's largest,
    the law's error and its data ratio (ranges) and which side the law errs on.

        >>> check = pd.DataFrame({"law − measured": [-0.01, -0.02], "law's D for the measured loss / D_pretrain": [0.9, 0.95]})
        >>> dense_check_texts(check, pd.DataFrame({"D": [2e6]}), pd.DataFrame({"D": [1e6]}))["law_dense_side"]
        'optimistic'
    """
    error, ratio = check["law − measured"], check["law's D for the measured loss / D_pretrain"]
    return {"pretrain_vs_grid": f"{dense.D.max() / main.D.max():.2f}",
            "law_dense_error": f"{error.min():+.4f} to {error.max():+.4f}",
            "law_dense_D": f"{ratio.min():.2f} to {ratio.max():.2f}",
            "law_dense_side": "optimistic" if (ratio < 1).all() else "pessimistic" if (ratio > 1).all() else "mixed"}


def embedding_cost(store, corpus, sparsify_configs) -> tuple[pd.DataFrame, dict]:
    """The pruned models with their parent's whole embedding (`sparsify_configs`) beside the same
    continuations with the embedding pruned to their twin's (embed_match, the runs from scratch do
    it over most of a long run; here it has the pruning phase's few steps), for those stored (it
    trains nothing): N_dense, S, both losses and embedding non-zeros, and the difference; and the
    prose's texts (embed_cost_range, embed_cost_pairs).

        >>> from kit.engine import data, grids, store
        >>> runs, corpus = store.RunStore("runs"), data.load_corpus(None)
        >>> parents = {runs.run_id(c, corpus.fingerprint): c for c in grids.pretrain_grid()}
        >>> table, texts = embedding_cost(runs, corpus, grids.sparsify_grid(parents))
        >>> len(table), bool((table["matched − kept"] > 0).all())
        (12, True)
    """
    rows = []
    for kept in sparsify_configs:
        matched = kept.replace(embed_match=True)
        ids = [store.run_id(c, corpus.fingerprint) for c in (kept, matched)]
        if not all(store.has(i) for i in ids):
            continue
        a, b = (store.get(i)["metrics"] for i in ids)
        rows.append({"N_dense": round(kept.n_nonzero / (1 - kept.sparsity)), "S": kept.sparsity,
                     "loss, embedding kept": a["final_loss"], "loss, embedding matched": b["final_loss"],
                     "matched − kept": b["final_loss"] - a["final_loss"],
                     "embedding non-zeros kept": a["nnz_embed"], "matched": b["nnz_embed"]})
    table = pd.DataFrame(rows, columns=["N_dense", "S", "loss, embedding kept", "loss, embedding matched", "matched − kept",
                                        "embedding non-zeros kept", "matched"])
    texts = {"embed_cost_pairs": f"{len(table)}",
             "embed_cost_range": (f"{table['matched − kept'].min():+.2f} to {table['matched − kept'].max():+.2f} nats"
                                  if len(table) else "not measured (no matched continuation is stored)")}
    return table, texts


def embedding_worth(store, corpus, base) -> pd.DataFrame:
    """What the whole embedding is worth to a sparse run from scratch, from chapter 1's embedding
    ablation (kit.engine.grids.embed_ablation_grid at RunConfig `base`, beside the same runs with
    embed_match), for the pairs stored (it trains nothing): per requested N and S, the loss with the
    embedding pruned to the dense twin's minus the loss with it whole. A model pruned from a
    checkpoint keeps its parent's embedding, the width of a from-scratch run at its own (N, S), so
    this is the advantage its embedding gives it over its twins.

        >>> from kit.engine import data, store
        >>> from kit.engine.config import RunConfig
        >>> worth = embedding_worth(store.RunStore("runs"), data.load_corpus(None), RunConfig())
        >>> worth.round(3)
                             worth
        n_nonzero sparsity
        13824     0.500      0.069
                  0.750      0.197
                  0.875      0.214
        55296     0.500      0.040
                  0.750      0.102
                  0.875      0.177
    """
    from kit.engine import grids

    rows = []
    for whole in grids.embed_ablation_grid(base):
        ids = [store.run_id(c, corpus.fingerprint) for c in (whole, whole.replace(embed_match=True))]
        if all(store.has(i) for i in ids):
            kept, pruned = (store.get(i)["metrics"]["final_loss"] for i in ids)
            rows.append({"n_nonzero": whole.n_nonzero, "sparsity": whole.sparsity, "worth": pruned - kept})
    return pd.DataFrame(rows, columns=["n_nonzero", "sparsity", "worth"]).set_index(["n_nonzero", "sparsity"]).sort_index()


def worth_at(worth: pd.DataFrame, N, S) -> np.ndarray:
    """embedding_worth's `worth` at non-zeros N and sparsity S: linear in log N between the measured
    sizes of that sparsity, held at the nearest outside them; NaN at a sparsity not measured.

        >>> worth = pd.DataFrame({"n_nonzero": [1_000, 4_000], "sparsity": 0.5, "worth": [0.2, 0.1]}).set_index(["n_nonzero", "sparsity"])
        >>> worth_at(worth, [500, 2_000, 9_000, 2_000], [0.5, 0.5, 0.5, 0.75]).round(3).tolist()
        [0.2, 0.15, 0.1, nan]
    """
    N, S = np.broadcast_arrays(np.asarray(N, float), np.asarray(S, float))
    out = np.full(N.shape, np.nan)
    for s, at in worth.groupby(level="sparsity"):
        sizes = at.index.get_level_values("n_nonzero").to_numpy(float)
        here = np.isclose(S, s)
        out[here] = np.interp(np.log(N[here]), np.log(sizes), at.worth.to_numpy())
    return out


def without_embedding_worth(pruned: pd.DataFrame, worth: pd.DataFrame) -> pd.DataFrame:
    """The pruned models (read_runs' frame: N, sparsity, loss) with their embedding's advantage
    removed: each loss raised by worth_at its N and sparsity (models at a sparsity not measured
    dropped), as if each had its twin's embedding at no cost.

        >>> worth = pd.DataFrame({"n_nonzero": [1_000, 4_000], "sparsity": 0.5, "worth": [0.2, 0.1]}).set_index(["n_nonzero", "sparsity"])
        >>> pruned = pd.DataFrame({"N": [2_000, 2_000], "sparsity": [0.5, 0.75], "loss": [2.0, 2.1]})
        >>> without_embedding_worth(pruned, worth).loss.round(3).tolist()
        [2.15]
    """
    added = worth_at(worth, pruned.N, pruned.sparsity)
    return pruned.assign(loss=pruned.loss + added)[np.isfinite(added)]


def worth_texts(worth: pd.DataFrame, kept: list, removed: list, removed_means: pd.DataFrame) -> dict:
    """The prose of the embedding's worth: its range, and the runs' Table 4 and the claims' verdicts
    with it removed (`removed`, tested_claims on runs_table4 of without_embedding_worth) beside
    the verdicts with it kept (`kept`).

        >>> worth = pd.DataFrame({"n_nonzero": [1_000], "sparsity": [0.5], "worth": [0.1]}).set_index(["n_nonzero", "sparsity"])
        >>> means = pd.DataFrame({"models": [2], "exc": [3.0], "exc_low": [2.0], "exc_high": [4.5], "inc": [0.5],
        ...                       "inc_low": [0.3], "inc_high": [0.8]}, index=pd.Index([0.5], name="sparsity"))
        >>> from types import SimpleNamespace
        >>> same = [SimpleNamespace(key="pretrained-inc", verdict="holds")]  # claims: their key and verdict are read
        >>> texts = worth_texts(worth, same, same, means)
        >>> texts["worth_range"], texts["removed_exc_50"], texts["removed_changes"]
        ('+0.10 to +0.10 nats', '3 [2, 4.5]', 'changes no verdict')
    """
    out = {f"removed_{q}_{n}": "–" for q in QUANTITIES for n in ("50", "75", "875")}
    if not len(worth):
        return out | {"worth_range": "not measured (the embedding ablation is not stored)", "worth_pairs": "0",
                      "removed_changes": "cannot be judged"}
    out |= {"worth_range": f"{worth.worth.min():+.2f} to {worth.worth.max():+.2f} nats", "worth_pairs": f"{len(worth)}"}
    for s, row in removed_means.iterrows():
        name = f"{s * 100:g}".replace(".", "")
        for q in QUANTITIES:
            out[f"removed_{q}_{name}"] = ("–" if np.isnan(row[q]) else f"{row[q]:.3g}" if np.isnan(row[f"{q}_low"])
                                          else f"{row[q]:.3g} [{row[f'{q}_low']:.3g}, {row[f'{q}_high']:.3g}]")
    before = {c.key: c.verdict for c in kept}
    changed = [f"{c.key} from {before[c.key]} to {c.verdict}" for c in removed if before.get(c.key) != c.verdict]
    out["removed_changes"] = "changes no verdict" if not changed else "changes " + "; ".join(changed)
    return out


def half_gaps(table: pd.DataFrame, dense: pd.DataFrame, coeffs: dict, sparsity=0.5) -> pd.DataFrame:
    """The models pruned to `sparsity` (table: with_parents' or efficiency's frame) against their dense
    parents: losses, gap, gap over the dense loss, the law's gap at equal data
    L(S, N, D) - L(0, N_dense, D), and, without the law, the dense size among the pretrained dense
    models (x_at_loss of their N and losses) that ends at the pruned model's loss, over its N.

        >>> T5 = laws.TABLE7["t5"]
        >>> dense = pd.DataFrame({"N": [1e6, 2e6, 4e6], "D": 1.8e8, "loss": [3.9, 3.6, 3.4]})
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2e6, 4e6], "D": 1e7,
        ...                        "L_dense": [3.6, 3.4], "loss": [3.75, 3.5]})
        >>> half_gaps(pruned, dense, T5)[["gap", "dense size matched / N"]].round(3)
            gap  dense size matched / N
        0  0.15                   1.404
        1  0.10                   1.407
    """
    half = table[np.isclose(table.sparsity, sparsity)]
    return pd.DataFrame({"N_dense": half.N_dense, "dense loss": half.L_dense, "50% loss": half.loss,
                         "gap": half.loss - half.L_dense, "gap / dense loss": (half.loss - half.L_dense) / half.L_dense,
                         "law's gap": laws.sparse_law(half.S, half.N, half.D, **coeffs)
                         - laws.sparse_law(0.0, half.N_dense, half.D, **coeffs),
                         "dense size matched / N": [x_at_loss(dense.N, dense.loss, L) / N for L, N in zip(half.loss, half.N)]})


def half_gap_texts(gaps: pd.DataFrame, vit_dense_loss) -> dict:
    """The prose numbers of half_gaps: the gap's range (absolute, and over the dense loss), the
    matched dense sizes, and the paper's 0.2 to 0.3 gap over the losses of its dense ViT runs
    (vit_dense_loss, e.g. kit.fit.paper.load_vit()'s at the longest budget).

        >>> dense = pd.DataFrame({"N": [1e6, 2e6, 4e6], "D": 1.8e8, "loss": [3.9, 3.6, 3.4]})
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2e6, 4e6], "D": 1e7,
        ...                        "L_dense": [3.6, 3.4], "loss": [3.75, 3.5]})
        >>> texts = half_gap_texts(half_gaps(pruned, dense, laws.TABLE7["t5"]), [2.9, 3.1])
        >>> texts["gain_runs"], texts["gap_abs"], texts["vit_rel"]
        ('1.40x and 1.41x', '+0.100 to +0.150', '6.5% to 10.3%')
    """
    matched = gaps["dense size matched / N"].dropna()
    rel = gaps["gap / dense loss"]
    return {"gain_runs": " and ".join(f"{v:.2f}x" for v in matched) if len(matched) else "–",
            "gain_runs_count": f"{len(matched)} of {len(gaps)}",
            "gap_abs": f"{gaps.gap.min():+.3f} to {gaps.gap.max():+.3f}", "gap_rel": f"{rel.min():+.1%} to {rel.max():+.1%}",
            "vit_rel": f"{0.2 / np.max(vit_dense_loss):.1%} to {0.3 / np.min(vit_dense_loss):.1%}"}


def plot_equivalence(table: pd.DataFrame, dense: pd.DataFrame, main: pd.DataFrame, coeffs: dict):
    """One panel per pretrained model (kit.report.plots.plot_pruned_vs_scratch): the law's from-scratch
    loss against data for the dense model and each pruned model's (S, N), coloured by sparsity
    (kit.report.plots.sparsity_colour); the dense checkpoint (square); each pruned model's loss from
    its pruning data (open circle) to its data with pretraining (filled); the star where its curve
    reaches that loss; crosses: its from-scratch twins in `main`. table: law_table4's models; dense,
    main: law frames. Returns the figure.

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> scratch = pd.DataFrame({"sparsity": 0.5, "N": np.repeat([1e6, 2e6], 3), "D": np.tile([1e8, 2e8, 4e8], 2)})
        >>> scratch["loss"] = laws.sparse_law(0.5, scratch.N, scratch.D, **T5)
        >>> dense = pd.DataFrame({"N": [2_000_000, 4_000_000], "D": 1.8e8, "d_model": [64, 96], "loss": [3.7, 3.45]})
        >>> fig = plot_equivalence(efficiency(pruned, T5), dense, scratch, T5)
        >>> sum(bool(ax.get_title()) for ax in fig.axes)  # one panel per pretrained model
        2
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    from kit.report import plots

    D_total = (table.D_pretrain + table.D).to_numpy()
    finite = table.D_scratch[np.isfinite(table.D_scratch)].to_numpy()
    D_line = np.geomspace(table.D.min() / 2, 2 * max(D_total.max(), finite.max(initial=0.0)), 200)
    twin_runs = scratch_twins(table, main)
    models = sorted(table.N_dense.unique())
    fig, axes = plots.panel_grid(len(models), per_row=2 if len(models) == 4 else 3, aspect=0.75, sharey=True)
    for ax, n in zip(axes, models):
        here, parent = table[table.N_dense == n], dense[dense.N == n].iloc[0]
        curves = {"S = 0 (dense)": laws.sparse_law(0.0, n, D_line, **coeffs)}
        marks = {}
        for _, row in here.iterrows():
            curves[f"S = {row.sparsity:g}"] = laws.sparse_law(row.S, row.N, D_line, **coeffs)
            marks[f"S = {row.sparsity:g}"] = (row.D, row.D_pretrain + row.D, row.loss, row.D_scratch)
        plots.plot_pruned_vs_scratch(ax, D_line, curves, marks, dense=(parent.D, parent.loss),
                                     fit_range=(main.D.min(), main.D.max()), ylabel="validation loss (nats/byte)",
                                     legend=None)
        for i, row in here.iterrows():
            if i in twin_runs:
                ax.plot(twin_runs[i].D, twin_runs[i].loss, "x", ms=7, mew=1.5, color=plots.sparsity_colour(row.sparsity))
        ax.set_title(f"$N_\\mathrm{{dense}}$ = {plots.short_number(n)} (d = {parent.d_model})")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: plots.short_number(x)))
    # The losses the markers show, with a margin: the law's curves rise far above them at small D.
    shown = np.concatenate([table.loss, dense.loss, *(runs.loss for runs in twin_runs.values())])
    axes[0].set_ylim(0.95 * shown.min(), 1.05 * shown.max())  # shared by every panel
    twin_key = Line2D([], [], ls="", marker="x", mew=1.5, color="k", label="from-scratch runs, same S and N")
    plots.legend_outside(fig, extra=[*plots.pruned_vs_scratch_keys(), twin_key], ncols=3)
    return fig


def law_models_table(table: pd.DataFrame) -> pd.DataFrame:
    """law_table4's models as printed: size, S, loss, the law's limit for D -> infinity, and D_scratch,
    exc. and inc. with their bootstrap intervals (ratio_text, ∞ where unreachable).

        >>> T5 = laws.TABLE7["t5"]  # Table 7's T5 law plays the from-scratch runs and the pruned models
        >>> pruned = pd.DataFrame({"sparsity": 0.5, "S": 0.5, "N": [1e6, 2e6], "N_dense": [2_000_000, 4_000_000],
        ...                        "D": 1e7, "D_pretrain": 1.8e8})
        >>> pruned["loss"] = laws.sparse_law(0.5, pruned.N, [2e8, 3e8], **T5)  # from scratch: 20x, 30x the data
        >>> table, means, used = law_table4(pruned, T5, pd.DataFrame([T5] * 5), log_noise=0.0)
        >>> law_models_table(table)[["N_dense", "exc.", "inc."]]
           N_dense          exc.                inc.
        0  2000000  20x [20, 20]  1.05x [1.05, 1.05]
        1  4000000  30x [30, 30]  1.58x [1.58, 1.58]
    """
    shown = lambda q, unit: [ratio_text(v, lo, hi, ".3g", unit)
                             for v, lo, hi in table[[q, f"{q}_low", f"{q}_high"]].itertuples(index=False)]
    return pd.DataFrame({"N_dense": table.N_dense, "S": table.S, "loss": table.loss, "limit (D → ∞)": table.L_limit,
                         "D_scratch": shown("D_scratch", ""), "exc.": shown("exc", "x"), "inc.": shown("inc", "x")})


def regime_texts(fits: pd.DataFrame, sparsity: float, prune_fraction: float, pretrain_tokens: int,
                 corpus_tokens: int, tokens_per_step: int = 2048) -> dict:
    """Why the checkpoint experiment cannot be in regime at our scale: a pruning phase of
    `prune_fraction` of the pretraining ends `prune_fraction * pretrain_tokens` tokens after the
    checkpoint, while a pruned run leaves the transient only after x* steps (`fits`:
    kit.chapters.transient.fit_curves' table, x_star_low/high per sparsity, at `sparsity`). The
    pretraining that would give the phase x* steps, in tokens, against a corpus of
    `corpus_tokens` read once. Texts, all "–" where no transient is fitted at `sparsity`.

        >>> fits = pd.DataFrame({"sparsity": [0.875], "x_star": [8e3], "x_star_low": [6.9e3], "x_star_high": [9.5e3]})
        >>> t = regime_texts(fits, 0.875, 0.056, 4_587_520, 176_806_425)
        >>> t["regime_phase_steps"], t["regime_pretrain_needed"], t["regime_fits_corpus"]
        ('125', '252M to 347M', 'more than')
    """
    row = fits[np.isclose(fits["sparsity"], sparsity)]
    keys = ("regime_phase_steps", "regime_x_star", "regime_pretrain_needed", "regime_corpus", "regime_fits_corpus",
            "regime_sparsity")
    if row.empty:
        return dict.fromkeys(keys, "–")
    low, high = float(row.x_star_low.iloc[0]), float(row.x_star_high.iloc[0])
    needed = [x / prune_fraction * tokens_per_step for x in (low, high)]
    short = lambda t: f"{t / 1e6:.0f}M"
    side = "more than" if needed[0] > corpus_tokens else "less than" if needed[1] <= corpus_tokens else "about"
    return dict(zip(keys, (f"{prune_fraction * pretrain_tokens / tokens_per_step:,.0f}", f"{low:,.0f} to {high:,.0f}",
                           f"{short(needed[0])} to {short(needed[1])}", short(corpus_tokens), side, f"{sparsity:g}")))
