"""Train the book's grids (kit.grids) into the run store, group by group, resumably.

    python scripts/train_grids.py [GROUP ...] [--commit-every MINUTES] [--missing]

Groups, in the default order: recipe, main, seeds, extrapolation, nm, pretrain, sparsify,
schedule, matched, embed_ablation. Runs already in the store are skipped, so a killed invocation resumes where
it stopped; within a group the cheapest runs go first. One line per run on stdout. With
--commit-every, finished records under runs/ are committed to git that often (only runs/ is
committed; a busy index is retried at the next interval). The chapters request exactly these
configs at their defaults, so `make book` then trains nothing.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from kit import data, grids, sweep, train
from kit.store import RunStore

ROOT = Path(__file__).resolve().parents[1]


def pretrained_parents(store: RunStore, corpus) -> dict:
    ids = {store.run_id(c, corpus.fingerprint): c for c in grids.pretrain_grid()}
    return {id: c for id, c in ids.items() if store.has(id) and store.get(id)["status"] == "ok"}


GROUPS = {
    "recipe": lambda store, corpus: grids.recipe_grid(),
    "main": lambda store, corpus: grids.main_grid(),
    "seeds": lambda store, corpus: grids.seed_grid(),
    "extrapolation": lambda store, corpus: grids.extrapolation_grid(),
    "nm": lambda store, corpus: grids.nm_grid(),
    "pretrain": lambda store, corpus: grids.pretrain_grid(),
    "sparsify": lambda store, corpus: grids.sparsify_grid(pretrained_parents(store, corpus)),
    "schedule": lambda store, corpus: grids.schedule_grid(),
    "matched": lambda store, corpus: [c for pair in grids.matched_grid() for c in pair],
    "embed_ablation": lambda store, corpus: grids.embed_ablation_grid(),
}


def commit_runs(message: str) -> None:
    subprocess.run(["git", "add", "runs"], cwd=ROOT, capture_output=True)
    done = subprocess.run(["git", "commit", "-q", "-m", message, "--", "runs"], cwd=ROOT, capture_output=True, text=True)
    print(f"[commit] {message}: {'ok' if done.returncode == 0 else done.stderr.strip() or done.stdout.strip()}",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--commit-every", type=float, default=0, metavar="MINUTES")
    parser.add_argument("--missing", action="store_true",
                        help="train nothing: print how many runs of each group the store lacks; exit 1 if any")
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown groups {unknown}; allowed: {', '.join(GROUPS)}")
    store, corpus = RunStore(), data.load_corpus()
    if args.missing:
        lacking = {g: sum(not store.has(store.run_id(c, corpus.fingerprint)) for c in GROUPS[g](store, corpus))
                   for g in args.groups or GROUPS}
        print(", ".join(f"{g}: {n} missing" for g, n in lacking.items()))
        return int(any(lacking.values()))
    last_commit, trained = time.time(), 0
    for group in args.groups or GROUPS:
        configs = GROUPS[group](store, corpus)
        sweep.check_sweep(configs, corpus, store)
        todo = sorted({c for c in configs if not store.has(store.run_id(c, corpus.fingerprint))}, key=sweep.cost)
        print(f"== {group}: {len(configs)} runs, {len(todo)} to train", flush=True)
        for k, config in enumerate(todo):
            start = time.time()
            record = train.run(config, corpus=corpus, store=store)
            m = record["metrics"]
            trained += 1
            print(f"{group} {k + 1}/{len(todo)} {record['id']} N={config.n_nonzero} S={config.sparsity} "
                  f"D={config.tokens} d={m['d_model']} {record['status']} loss={m['final_loss']:.4f} "
                  f"loop {m['wall_s']:.1f}s compile {m['compile_s']:.1f}s total {time.time() - start:.1f}s",
                  flush=True)
            if args.commit_every and time.time() - last_commit > 60 * args.commit_every:
                commit_runs(f"runs: grid v2, {len(store.records())} records in the store")
                last_commit = time.time()
    if args.commit_every and trained:
        commit_runs(f"runs: grid v2, {len(store.records())} records in the store")


if __name__ == "__main__":
    sys.exit(main())
