"""Train the book's grids (kit.engine.grids) into the run store, group by group, resumably.

    python scripts/train_grids.py [GROUP ...] [--commit-every MINUTES] [--cheapest-first] [--missing]

Groups, in the default order: recipe, main, seeds, extrapolation, nm, pretrain, sparsify,
sparsify_matched, schedule, matched, embed_ablation (grid v2, Shakespeare); named only: lr_v3, lr_v3_large, pilot, v3_small,
v3_large (grid v3, on kit.engine.grids.CORPUS_V3; v3_small, its three sizes, and v3_large, its held-out run,
are sized from the pilot stored when they start, kit.chapters.pilot.grid_v3_sizing: train the pilot first,
then `pilot lr_v3 v3_small lr_v3_large v3_large nm_v3 matched_v3`; nm_v3, chapter 4's n:m runs, and
matched_v3, chapter 6's pairs at grid v3's sizes, likewise). Runs already in the store are skipped, and a run in flight resumes from
its last saved state (kit.engine.resume), so a killed invocation resumes where it stopped. Within a group,
runs go side by side where the throughput table says it pays (kit.engine.sweep; --parallel N
overrides it), the costliest first so the lanes end together (--cheapest-first: the cheapest first,
so a long group's short runs are stored early), then the rest one after another, cheapest first. One line per run on stdout. With
--commit-every, finished records under runs/ are committed to git that often (only runs/ is
committed; a busy index is retried at the next interval). A run that raises (a run another
trainer holds, for one: kit.engine.resume.RunInProgress) stops its group, not the others: the next groups
go on, and the exit status is 1. The chapters request exactly these configs at their defaults, so
`make book` then trains nothing.
"""

import argparse
import subprocess
import sys
import time

from kit.engine import data, grids, sweep
from kit.engine.store import RunStore



class NotSized(Exception):
    """A group sized from the pilot that the pilot does not size yet."""


def sizing_from_pilot(store: RunStore) -> tuple:
    """Grid v3's smallest budget and window from the pilot stored so far (kit.chapters.pilot.grid_v3_sizing);
    NotSized when the pilot does not size it yet (the group is skipped, the others train)."""
    from kit.chapters import pilot

    sizing = pilot.grid_v3_sizing(store)
    if sizing is None:
        raise NotSized("the pilot does not size grid v3 yet (some sparsity's interval of x* is not fitted or ends "
                       "beyond the pilot's longest budget)")
    return sizing


def grid_v3_from_pilot(store: RunStore) -> list:
    """Grid v3 as the pilot stored so far sizes it (kit.chapters.pilot.grid_v3_configs: its smallest budget
    and its pruning window); exits with one line when the pilot does not size it yet."""
    return grids.grid_v3(*sizing_from_pilot(store))


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
    "sparsify_matched": lambda store, corpus: grids.sparsify_grid(pretrained_parents(store, corpus), embed_match=True),
    "schedule": lambda store, corpus: grids.schedule_grid(),
    "matched": lambda store, corpus: [c for pair in grids.matched_grid() for c in pair],
    "embed_ablation": lambda store, corpus: grids.embed_ablation_grid(),
    # grid v3, on grids.CORPUS_V3
    "lr_v3": lambda store, corpus: [c for c in grids.lr_check_v3_grid() if c.n_nonzero < 221_184],
    "lr_v3_large": lambda store, corpus: [c for c in grids.lr_check_v3_grid() if c.n_nonzero >= 221_184],
    "pilot": lambda store, corpus: grids.pilot_grid(),
    # sized from the stored pilot when the group starts: the grid's three sizes; the held-out run after lr_v3_large's check
    "v3_small": lambda store, corpus: [c for c in grid_v3_from_pilot(store) if c.n_nonzero < 221_184],
    "v3_large": lambda store, corpus: [c for c in grid_v3_from_pilot(store) if c.n_nonzero >= 221_184],
    # chapter 6: Jin et al.'s design (matched pairs at grid v3's sizes, one schedule) on grid v3's smallest budget
    "matched_v3": lambda store, corpus: [c for pair in grids.matched_v3_grid(sizing_from_pilot(store)[0]) for c in pair],
    # chapter 4: the n:m patterns on grid v3's smallest budget and window (their unstructured twins are grid v3's)
    "nm_v3": lambda store, corpus: grids.nm_v3_grid(*sizing_from_pilot(store)),
}
V3_GROUPS = ("lr_v3", "lr_v3_large", "pilot", "v3_small", "v3_large", "matched_v3", "nm_v3")
DEFAULT_GROUPS = [g for g in GROUPS if g not in V3_GROUPS]  # what `make book` reads today


def commit_runs(store: RunStore, message: str) -> None:
    """Commit the store's folder (alone) in the git repository that holds it: it may be another
    checkout's runs/ when this script trains from a frozen copy of the kit."""
    where = store.root.resolve()
    subprocess.run(["git", "add", "."], cwd=where, capture_output=True)
    done = subprocess.run(["git", "commit", "-q", "-m", message, "--", "."], cwd=where, capture_output=True, text=True)
    print(f"[commit] {message}: {'ok' if done.returncode == 0 else done.stderr.strip() or done.stdout.strip()}",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", metavar="GROUP", help=f"any of {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--commit-every", type=float, default=0, metavar="MINUTES")
    parser.add_argument("--parallel", type=int, default=None, metavar="N",
                        help="runs side by side (default: as data/engine/throughput.json says pays per width)")
    parser.add_argument("--cheapest-first", action="store_true",
                        help="start the side-by-side runs cheapest first, so a long group's short runs are stored "
                             "early (default: costliest first, so the lanes end together)")
    parser.add_argument("--missing", action="store_true",
                        help="train nothing: print how many runs of each group the store lacks; exit 1 if any")
    args = parser.parse_args()
    unknown = [g for g in args.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown groups {unknown}; allowed: {', '.join(GROUPS)}")
    store = RunStore()
    corpora = {g: data.load_corpus(grids.CORPUS_V3 if g in V3_GROUPS else None) for g in args.groups or DEFAULT_GROUPS}
    if args.missing:
        lacking = {}
        for g in args.groups or DEFAULT_GROUPS:
            try:
                lacking[g] = sum(not store.has(store.run_id(c, corpora[g].fingerprint)) for c in GROUPS[g](store, corpora[g]))
            except NotSized as reason:
                lacking[g] = f"not sized ({reason})"
        print(", ".join(f"{g}: {n} missing" if isinstance(n, int) else f"{g}: {n}" for g, n in lacking.items()))
        return int(any(lacking.values()))
    last_commit, trained, stopped = time.time(), 0, []

    def report(group, record):
        nonlocal last_commit, trained
        m, c = record["metrics"], record["config"]
        trained += 1
        print(f"{group} {record['id']} N={c['n_nonzero']} S={c['sparsity']} D={c['tokens']} lr={c['lr']} "
              f"d={m['d_model']} {record['status']} loss={m['final_loss']:.4f} loop {m['wall_s']:.1f}s "
              f"threads {record['engine']['xla_threads']}", flush=True)
        if args.commit_every and time.time() - last_commit > 60 * args.commit_every:
            commit_runs(store, f"runs: {group}, {len(store.records())} records in the store")
            last_commit = time.time()

    for group in args.groups or DEFAULT_GROUPS:
        corpus = corpora[group]
        try:
            configs = GROUPS[group](store, corpus)
        except NotSized as reason:
            print(f"== {group}: skipped: {reason}", flush=True)
            continue
        todo = [c for c in configs if not store.has(store.run_id(c, corpus.fingerprint))]
        print(f"== {group}: {len(configs)} runs on {corpus.name}, {len(todo)} to train", flush=True)
        try:
            sweep.run_sweep(configs, store=store, corpus=corpus.name if group in V3_GROUPS else corpus,
                            parallel=args.parallel, progress=False, on_record=lambda r, g=group: report(g, r),
                            order="cheapest" if args.cheapest_first else "balanced")
        except sweep.SweepError as error:  # e.g. a run another trainer holds (RunInProgress): the next groups go on
            print(f"== {group}: stopped: {error}", flush=True)
            stopped.append(group)
    if args.commit_every and trained:
        commit_runs(store, f"runs: {len(store.records())} records in the store")
    if stopped:
        print(f"groups stopped by a failed run: {', '.join(stopped)}", flush=True)
    return int(bool(stopped))


if __name__ == "__main__":
    sys.exit(main())
