"""The planner's laws from the authors' runs (kit.fit.paper): the book's refit of Eq. 1 to the 48 T5/C4
runs, and 200 bootstrap refits of the T5 and of the 112 ViT/JFT runs, written to data/laws/.

  t5-refit.json       the refit, as a law file of kit.planner.plan (coefficients, k = 3, the runs' range)
  t5-bootstrap.csv    one row per resample: the seven coefficients of Eq. 1 refitted to it
  vit-bootstrap.csv

Each fit is kit.fit.lawfit.fit_family with the paper's settings for the family (T5: Huber loss of log L,
delta 1e-3; ViT: of L, delta 1e-2), from 16 random starts, seed 0; each resample draws the runs with
replacement (kit.fit.fitting.bootstrap, seed 0) and is refitted from the full fit. Samples are written to
6 significant digits. Deterministic: a rerun writes the same files. Takes about a minute.
Usage: python scripts/fit_laws.py [--out data/laws]
"""

import argparse
import json
from pathlib import Path

from kit.chapters import corelaw
from kit.fit import fitting, lawfit, paper
from kit import laws

N_BOOT, SEED, STARTS = 200, 0, 16
FAMILIES = {"t5": paper.load_t5, "vit": paper.load_vit}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(laws.LAWS_DIR), help="folder to write to (default: data/laws)")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for family, load in FAMILIES.items():
        runs = load()
        fit_fn = lambda df, family=family: lawfit.fit_family(df, family, starts=STARTS, seed=SEED)
        samples = fitting.bootstrap(fit_fn, runs, n_boot=N_BOOT, seed=SEED)[list(laws.COEFF_NAMES)]
        samples.to_csv(out / f"{family}-bootstrap.csv", index=False, float_format="%.6g")
        if family == "t5":
            fit = fit_fn(runs)
            at_table7 = corelaw.objective(runs, laws.TABLE7["t5"], "t5")
            law = {"name": "T5/C4 law (the book's refit of the authors' 48 runs)", "k": 3, **fit.params,
                   "data": paper.data_range(runs), "samples": "t5-bootstrap.csv",
                   "source": f"scripts/fit_laws.py: kit.fit.lawfit.fit_family(kit.fit.paper.load_t5(), 't5', starts={STARTS}, "
                             f"seed={SEED}); objective {fit.objective:.3g} (mean Huber loss of log L, delta 1e-3), "
                             f"{at_table7:.3g} at Table 7's coefficients"}
            (out / "t5-refit.json").write_text(json.dumps(law, indent=1) + "\n")
        print(f"{family}: {len(runs)} runs, {N_BOOT} resamples written to {out}")


if __name__ == "__main__":
    main()
