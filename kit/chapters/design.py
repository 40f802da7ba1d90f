"""What grid v3 can decide before it is trained (chapter "How long must a pruned run train?").

Grid v3 (kit.engine.grids.grid_v3_parts, sized by the pilot) is fitted with Eq. 1 in chapter 2 and
judged by two rules fixed before it trained: the identification rule (kit.chapters.corelaw.
identification_claim: is the sparsity term pinned, or its benefit shown flat or absent?) and the
extrapolation rule (the held-out run's interval within 2% of its prediction). Whether the grid can
reach either verdict depends on the truth and on the seed noise, and that can be simulated now
(kit.fit.power): a dense law fitted to the dense pycode runs stored (`dense_law`), three sparsity
terms (Table 2's gains; Table 2's 50% gain at every sparsity, a flat benefit; none), the noise of
the pilot's seed pairs at its largest budget (`pilot_noise`), each grid fitted as chapter 2 will fit
it (`power_table`).

    table, texts = design.power_table(store, n_sim=4)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kit.chapters import corelaw, pilot
from kit.engine import grids, model
from kit.engine.config import RunConfig
from kit.fit import lawfit, power

TRUTHS = {  # the sparsity benefits simulated, as gains (Eq. 7) at Table 2's sparsities
    "Table 2's gains (T5/C4)": corelaw.TABLE2["T5/C4"],
    "flat: Table 2's 50% gain at every S": {S: corelaw.TABLE2["T5/C4"][0.5] for S in corelaw.TABLE2_S},
    "none": {S: 1.0 for S in corelaw.TABLE2_S},
}


def planned_points(configs) -> pd.DataFrame:
    """(S, N, D) each config will end with: N the non-zero prunable weights of its width at its
    sparsity (kit.engine.model), D its tokens.

        >>> planned_points([RunConfig(n_nonzero=3_456, tokens=2_048 * 100, width_multiple=4)])
           S       N         D
        0  0.0  3072.0  204800.0
    """
    rows = []
    for c in configs:
        shape = model.shape_for(c)
        rows.append({"S": float(c.sparsity), "N": float(round(model.prunable_count(shape.d_model, shape.n_layers) * (1 - c.sparsity))),
                     "D": float(c.tokens)})
    return pd.DataFrame(rows)


def dense_law(store, starts: int = 16) -> tuple[dict, pd.DataFrame]:
    """Eq. 1 at S = 0 (c_S the size coefficient; a_S = 0, b_S = 1) fitted to every dense pycode run
    stored at grid v3's recipe (batch 32, seed 0, kit.engine.grids.recipe_lr_v3): the pilot's, the
    learning-rate check's and grid v3's own. Returns the coefficients and the runs.

        >>> from kit.engine.store import RunStore
        >>> coeffs, runs = dense_law(RunStore(), starts=2)
        >>> coeffs["a_S"], runs.N.nunique() >= 3
        (0.0, True)
    """
    rows = []
    for record in store.records("ok"):
        config = RunConfig.from_dict(record["config"])
        if (record["corpus"]["name"] == grids.CORPUS_V3 and config.sparsity == 0 and config.batch_size == grids.BASE.batch_size
                and config.seed == 0 and config.init_from is None and np.isclose(config.lr, grids.recipe_lr_v3(config))):
            m = record["metrics"]
            rows.append({"S": 0.0, "N": float(m["nnz"]), "D": float(m["tokens_trained"]), "loss": m["final_loss"]})
    runs = pd.DataFrame(rows).drop_duplicates().sort_values(["N", "D"], ignore_index=True)
    if runs.N.nunique() < 3:
        raise ValueError(f"{len(runs)} dense pycode runs stored at {runs.N.nunique()} sizes: the dense law needs 3 sizes")
    fit = lawfit.fit_family(runs, "ours", starts=starts, fixed={"a_S": 0.0, "b_S": 1.0})
    return dict(fit.params), runs


def pilot_noise(study: pilot.PilotStudy) -> tuple[float, int]:
    """The seed std of log L at the pilot's largest budget with two seeds, pooled over its
    sparsities (kit.fit.lawfit.sparsity_noise of the base runs and their reseeded twins), and its
    degrees of freedom.

        >>> from kit.engine.store import RunStore
        >>> sigma, dof = pilot_noise(pilot.read_pilot(RunStore()))
        >>> bool(0 < sigma < 0.05), dof
        (True, 4)
    """
    from kit.engine.store import law_frame

    base = pilot.base_runs(study.runs)
    twins = base[base.set_index(["sparsity", "steps"]).index.isin(
        study.runs[study.runs.seed != 0].set_index(["sparsity", "steps"]).index)]
    by_S = lawfit.sparsity_noise(law_frame(pd.concat([twins, study.runs[study.runs.seed != 0]])))
    largest = {S: by_D[max(by_D)] for S, by_D in by_S.items()}
    return float(np.sqrt(np.mean(np.square(list(largest.values()))))), len(largest)


def power_table(store, n_sim: int = 5, n_boot: int = 40, starts: int = 8, seed: int = 0, noise_factors=(1.0, 2.0)):
    """For each seed noise (the pilot's pooled seed std times each of `noise_factors`) and each
    truth of TRUTHS, `n_sim` simulations of grid v3's 36 main-grid runs as the pilot in `store`
    sizes them (kit.fit.power.simulated_fits), each judged by the identification rule and by the
    held-out run's interval: (table, texts); table None while the pilot does not size grid v3 (the
    texts then say so).

        >>> from kit.engine.store import RunStore
        >>> table, texts = power_table(RunStore(), n_sim=1, n_boot=4, starts=2, noise_factors=(1.0,))
        >>> table.shape, list(table.columns[2:5])
        ((3, 6), ['holds', 'does not hold', 'not resolved'])
        >>> import tempfile
        >>> power_table(RunStore(tempfile.mkdtemp()), noise_factors=(1.0,))[1]["design_sigma"]
        'not simulated (no pilot stored)'
    """
    sizing = pilot.grid_v3_sizing(store)
    if sizing is None:
        return None, dict.fromkeys(text_keys(noise_factors), "not simulated (no pilot stored)")
    parts = grids.grid_v3_parts(*sizing)
    points, held_out = planned_points(parts["grid"]), planned_points(parts["held_out"]).iloc[0]
    dense, dense_runs = dense_law(store)
    sigma, dof = pilot_noise(pilot.read_pilot(store))
    rows, texts = [], {}
    for i, factor in enumerate(noise_factors):
        for k, (name, gains) in enumerate(TRUTHS.items()):
            truth = {**dense, **power.sparsity_term(gains, dense["b_N"], dense["c_S"])}
            tables = power.simulated_fits(points, truth, sigma * factor, n_sim, starts=starts, n_boot=n_boot,
                                          points_out={"held out": tuple(held_out)}, seed=seed + 1000 * (len(TRUTHS) * i + k))
            verdicts = [corelaw.identification_claim(t, "simulated grid v3").verdict for t in tables]
            half = [float(max(t.loc["L(held out)", "high"] - t.loc["L(held out)", "estimate"],
                              t.loc["L(held out)", "estimate"] - t.loc["L(held out)", "low"]) / t.loc["L(held out)", "estimate"])
                    for t in tables]
            within = sum(h <= corelaw.EXTRAPOLATION_WIDTH for h in half)
            rows.append({"seed std of log L": f"{sigma * factor:.4f} ({factor:g}x the pilot's)",
                         "truth: gains at 50 / 75 / 87.5%": f"{name}: " + " / ".join(f"{g:.2f}x" for g in gains.values()),
                         **{v: f"{verdicts.count(v)} of {n_sim}" for v in ("holds", "does not hold", "not resolved")},
                         "held-out interval within 2%": f"{within} of {n_sim} (half-width {min(half):.1%} to {max(half):.1%})"})
            key = f"design_{i}_{k}"
            texts |= {f"{key}_holds": f"{verdicts.count('holds')} of {n_sim}",
                      f"{key}_not_holds": f"{verdicts.count('does not hold')} of {n_sim}",
                      f"{key}_held_within": f"{within} of {n_sim}"}
    texts |= {"design_sigma": f"{sigma:.4f}", "design_sigma_dof": f"{dof}", "design_n_sim": f"{n_sim}",
              "design_factors": " and ".join(f"{f:g}x" for f in noise_factors),
              "design_dense_runs": f"{len(dense_runs)}", "design_dense_sizes": f"{dense_runs.N.nunique()}",
              "design_dense_b_N": f"{dense['b_N']:.3g}", "design_dense_b_D": f"{dense['b_D']:.3g}",
              "design_dense_c": f"{dense['c']:.3g}", "design_runs": f"{len(points)}",
              "design_held_out": f"{held_out.N:,.0f} non-zeros at S = {held_out.S:g}"}
    assert set(texts) == set(text_keys(noise_factors))
    return pd.DataFrame(rows), texts


def text_keys(noise_factors=(1.0, 2.0)) -> list[str]:
    """The names of power_table's texts, for `noise_factors` noise levels.

        >>> text_keys((1.0,))[:3]
        ['design_0_0_holds', 'design_0_0_not_holds', 'design_0_0_held_within']
    """
    per_cell = [f"design_{i}_{k}_{what}" for i in range(len(noise_factors)) for k in range(len(TRUTHS))
                for what in ("holds", "not_holds", "held_within")]
    return per_cell + [f"design_{name}" for name in ("sigma", "sigma_dof", "n_sim", "factors", "dense_runs", "dense_sizes",
                                                     "dense_b_N", "dense_b_D", "dense_c", "runs", "held_out")]
