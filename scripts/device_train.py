"""Train the runs the store lacks on a lent GPU machine: prepare here, train there, merge here.

    python scripts/device_train.py prepare GROUP [GROUP ...] [--limit N] [--budget-s S]      # here
    python3 scripts/device_train.py train --budget-s S --out DIR [--lanes K] [--measure]     # there
    python scripts/device_train.py merge FILE                                                # here

prepare: lists the configs of the named scripts/train_grids.py groups that the run store lacks,
cheapest first (kit.engine.sweep.cost), into .device/todo.json (config, corpus fingerprint and expected
run id of each), and writes each corpus they need into .device/ compactly: its training and
validation byte streams compressed with lzma (xz, preset 6) plus a JSON of its name, fingerprint,
document names and the streams' sha256. A continuation (init_from) carries its parent's record and
checkpoint in .device/parents/. `--configs FILE --corpus SOURCE` takes a JSON list of config dicts
on any corpus instead of groups. It prints the device call to make: the command, its carry list
([".device"]) and its timeout.

train (on the device, in the repository root, with the device's own python3 and jax; also runs
here on CPU): rebuilds each Corpus from .device/ (same fingerprint, so the same run ids; every id
of todo.json is checked against kit.engine.store.run_id), and trains the runs into a run store in a
temporary folder, K runs sharing the device at once: K spawned worker processes, each training one
run at a time with kit.engine.train.run (on a GPU with XLA_PYTHON_CLIENT_PREALLOCATE=false and
XLA_PYTHON_CLIENT_MEM_FRACTION = 0.9 / K; on CPU with single-threaded XLA, kit.engine.threads). Runs go
cheapest first as lanes free up; no run starts unless the time spent plus its estimate (its model
FLOPs over the per-lane throughput measured from the runs finished so far, plus their measured
overhead) fits the budget. At the budget's end the workers are terminated: runs in flight leave
their last saved state (kit.engine.resume, every KIT_SAVE_EVERY_S = 60 s). Every finished record (with its
checkpoint, if it saved one) and the partial states that fit go into DIR/records.tar.gz (at most
16 MiB; states that would overflow it are left out and named), and DIR/summary.txt says what
happened. `--measure` first times 256-step runs of the first todo shape trained one at a time
against K side by side.

merge: unpacks records.tar.gz into the run store (runs/): a record goes in if kit.engine.store.check_record
passes, its corpus is a known one (shakespeare, pycode, or a --corpus given) and the store lacks it
(a record is never overwritten); a partial state goes to runs/.partial/ if the store has no record
of that run and no state saved at a later step. Then commit runs/.
"""

import time

T0 = time.monotonic()  # the budget counts from here: the device's clock starts with the process

import argparse  # noqa: E402
import concurrent.futures as cf  # noqa: E402
import gzip  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import lzma  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "scripts"):  # kit and train_grids, however this file is started
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

DEFAULT_DIR = REPO / ".device"
FORMAT = "kit-device-train/1"  # todo.json's and the archive manifest's format
XZ_PRESET = 6  # measured on pycode: preset 9 saves 0.2% of the size for 40% more time
MAX_ARCHIVE = 16 * 2 ** 20  # what one file coming back from the device may weigh
CARRY_LIMIT = 64 * 2 ** 20  # the working tree plus carried paths
DEFAULT_BUDGET_S = 480
COMMAND_LIMIT_S = 600  # one device command at most
MARGIN_S = 60  # timeout_s = budget + this: startup before the budget's clock, packing after it
SAVE_EVERY_S = "60"  # KIT_SAVE_EVERY_S for the workers (kept if already set)
# Until a run finishes, a run's time is guessed from these (per lane): start-up, compile and
# evaluation seconds, and model FLOP/s. Conservative; --assume-flops-per-s overrides the rate.
PRIOR = {"cpu": {"overhead_s": 10.0, "flops_per_s": 1e10}, "gpu": {"overhead_s": 30.0, "flops_per_s": 1e11}}
MEASURE_STEPS = 256
MEASURE_SEED = 1_000_000  # the --measure runs' seeds start here (never a todo run's id)
ID = re.compile(r"^[0-9a-f]{16}$")


class Refused(Exception):
    """Bad input: reported as one line, before any work."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + line
        raise Refused(message)


# ------------------------------------------------------------------------------------- corpus pack
def corpus_stem(fingerprint: str) -> str:
    return f"corpus-{fingerprint[:16]}"


def pack_corpus(corpus, folder: Path, preset: int = XZ_PRESET) -> dict:
    """Write `corpus` into `folder` as <stem>.train.xz, <stem>.val.xz and <stem>.json (name,
    fingerprint, documents, val_documents, stream sizes and sha256); reuse a complete pack of the
    same fingerprint. Returns the JSON's dict plus 'seconds' spent and 'reused'."""
    import numpy as np
    folder.mkdir(parents=True, exist_ok=True)
    stem = corpus_stem(corpus.fingerprint)
    meta_path = folder / f"{stem}.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if (meta.get("fingerprint") == corpus.fingerprint
                    and all((folder / meta[f"{s}_file"]).stat().st_size == meta[f"{s}_xz_bytes"] for s in ("train", "val"))):
                return {**meta, "seconds": 0.0, "reused": True}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    start = time.perf_counter()
    meta = {"format": FORMAT, "name": corpus.name, "fingerprint": corpus.fingerprint,
            "documents": list(corpus.documents), "val_documents": list(corpus.val_documents), "xz_preset": preset}
    for split in ("train", "val"):
        stream = np.ascontiguousarray(getattr(corpus, split), dtype=np.uint8)
        path = folder / f"{stem}.{split}.xz"
        tmp = path.with_name(path.name + ".tmp")
        compressor, chunk = lzma.LZMACompressor(preset=preset), 1 << 23
        view = memoryview(stream).cast("B")
        with open(tmp, "wb") as f:
            for at in range(0, len(view), chunk):
                f.write(compressor.compress(view[at: at + chunk]))
            f.write(compressor.flush())
        tmp.replace(path)
        meta.update({f"{split}_file": path.name, f"{split}_bytes": int(len(stream)),
                     f"{split}_sha256": hashlib.sha256(view).hexdigest(), f"{split}_xz_bytes": path.stat().st_size})
    tmp = meta_path.with_name(meta_path.name + ".tmp")
    tmp.write_text(json.dumps(meta))
    tmp.replace(meta_path)
    return {**meta, "seconds": time.perf_counter() - start, "reused": False}


def read_pack(folder: Path, fingerprint: str) -> tuple[dict, dict]:
    """(pack JSON, {'train': bytes, 'val': bytes}) of the corpus with this fingerprint, each stream
    checked against its size and sha256. Raises Refused if missing or damaged."""
    meta_path = folder / f"{corpus_stem(fingerprint)}.json"
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as e:
        raise Refused(f"{meta_path}: cannot read the corpus pack ({e}); run `prepare` again") from None
    if meta.get("fingerprint") != fingerprint or meta.get("format") != FORMAT:
        raise Refused(f"{meta_path} does not hold the corpus of fingerprint {fingerprint}; run `prepare` again")
    streams = {}
    for split in ("train", "val"):
        path = folder / meta[f"{split}_file"]
        try:
            raw = lzma.decompress(path.read_bytes())
        except (OSError, lzma.LZMAError) as e:
            raise Refused(f"{path}: cannot decompress it ({e}); run `prepare` again") from None
        if len(raw) != meta[f"{split}_bytes"] or hashlib.sha256(raw).hexdigest() != meta[f"{split}_sha256"]:
            raise Refused(f"{path}: its bytes do not match their size and sha256 in {meta_path.name}; "
                          f"run `prepare` again")
        streams[split] = raw
    return meta, streams


def make_corpus(meta: dict, train, val):
    """The kit.engine.data.Corpus of a pack: the same name, streams, fingerprint and documents."""
    import numpy as np
    from kit.engine import data
    arrays = []
    for stream in (train, val):
        array = np.frombuffer(stream, dtype=np.uint8) if isinstance(stream, (bytes, bytearray)) else stream
        array.flags.writeable = False
        arrays.append(array)
    return data.Corpus(name=meta["name"], train=arrays[0], val=arrays[1], fingerprint=meta["fingerprint"],
                       documents=tuple(meta["documents"]), val_documents=tuple(meta["val_documents"]))


def load_pack(folder: Path, fingerprint: str):
    """The Corpus packed in `folder` with this fingerprint."""
    meta, streams = read_pack(folder, fingerprint)
    return make_corpus(meta, streams["train"], streams["val"])


# ------------------------------------------------------------------------------------------ prepare
def mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB" if n >= 2 ** 20 else f"{n / 1024:.1f} KiB"


def tree_bytes() -> int | None:
    """Bytes of what travels to the device without carry: tracked files and untracked, not ignored ones."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    except (OSError, subprocess.CalledProcessError):
        return None
    return sum((REPO / os.fsdecode(p)).stat().st_size for p in listed if p and (REPO / os.fsdecode(p)).is_file())


def device_command(budget_s: int, measure: bool = False) -> str:
    return (f"PYTHONPATH=. PYTHONUNBUFFERED=1 python3 scripts/device_train.py train --budget-s {budget_s} "
            f"--out $OUT" + (" --measure" if measure else ""))


def requested(args, store):
    """[(group, corpus, [RunConfig])] that prepare was asked for."""
    from kit.engine import data
    from kit.engine.config import ConfigError, RunConfig
    if args.configs is not None:
        try:
            dicts = json.loads(Path(args.configs).read_text())
        except (OSError, ValueError) as e:
            raise Refused(f"--configs {args.configs}: cannot read a JSON list of config dicts ({e})") from None
        if not isinstance(dicts, list) or not all(isinstance(d, dict) for d in dicts) or not dicts:
            raise Refused(f"--configs {args.configs}: expected a non-empty JSON list of config dicts")
        try:
            configs = [RunConfig.from_dict(d) for d in dicts]
            corpus = data.load_corpus(args.corpus)
        except (ConfigError, TypeError) as e:
            raise Refused(f"--configs {args.configs}: {str(e).splitlines()[0]}") from None
        return [("configs", corpus, configs)]
    import train_grids
    corpora, out = {}, []
    for group in args.groups:
        source = train_grids.grids.CORPUS_V3 if group in train_grids.V3_GROUPS else None
        try:
            if source not in corpora:
                corpora[source] = data.load_corpus(source)
        except ConfigError as e:
            raise Refused(f"group {group}: {str(e).splitlines()[0]}") from None
        out.append((group, corpora[source], train_grids.GROUPS[group](store, corpora[source])))
    return out


def prepare(args) -> int:
    if args.limit is not None and args.limit < 1:
        raise Refused(f"--limit {args.limit}: give at least 1")
    if not 0 < args.budget_s <= COMMAND_LIMIT_S - MARGIN_S:
        raise Refused(f"--budget-s {args.budget_s}: give seconds in (0, {COMMAND_LIMIT_S - MARGIN_S}] "
                      f"(a device command runs at most {COMMAND_LIMIT_S} s; {MARGIN_S} s are kept for start-up and packing)")
    if args.configs is None:
        import train_grids
        if not args.groups:
            raise Refused(f"name at least one group: {', '.join(train_grids.GROUPS)} (or --configs FILE)")
        unknown = [g for g in args.groups if g not in train_grids.GROUPS]
        if unknown:
            raise Refused(f"unknown group(s) {', '.join(unknown)}; allowed: {', '.join(train_grids.GROUPS)}")
    elif args.groups:
        raise Refused("give groups or --configs FILE, not both")
    elif args.corpus is None:
        args.corpus = "shakespeare"

    from kit.engine import sweep
    from kit.engine.config import ConfigError
    from kit.engine.store import RunStore, run_id
    store = RunStore(args.runs)
    folder = Path(args.dir)
    todo, skipped, parents = {}, [], {}
    for group, corpus, configs in requested(args, store):
        try:
            sweep.check_sweep(configs, corpus)
        except ConfigError as e:
            lines = str(e).splitlines()
            raise Refused(f"{group}: {lines[0]}" + (f" (first: {lines[1]})" if len(lines) > 1 else "")) from None
        for config in configs:
            id = run_id(config, corpus.fingerprint)
            if store.has(id) or id in todo:
                continue
            if config.init_from is not None:
                try:
                    sweep.check_parent(config.init_from, store)
                except ConfigError:
                    skipped.append(f"{id} continues {config.init_from}, which the store lacks finished with a "
                                   f"checkpoint: train that parent first")
                    continue
                parents[config.init_from] = store.get(config.init_from)
            todo[id] = {"id": id, "group": group, "corpus": corpus.name, "fingerprint": corpus.fingerprint,
                        "config": config.to_dict(), "cost": sweep.cost(config), "_corpus": corpus}
    for line in skipped:
        print(f"skipped: {line}")
    entries = sorted(todo.values(), key=lambda e: e["cost"])[: args.limit]
    todo_path = folder / "todo.json"
    if not entries:
        todo_path.unlink(missing_ok=True)
        print(f"nothing to train: {store.root} holds every run asked for; no device call needed")
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    corpora = {e["fingerprint"]: e["_corpus"] for e in entries}
    packs = {}
    for fingerprint, corpus in corpora.items():
        packs[fingerprint] = pack_corpus(corpus, folder)
    # drop what an earlier prepare left and this one does not need (it would travel for nothing)
    keep = {f"{corpus_stem(fp)}.{suffix}" for fp in packs for suffix in ("json", "train.xz", "val.xz")}
    for path in folder.glob("corpus-*"):
        if path.name not in keep:
            path.unlink()
    shutil.rmtree(folder / "parents", ignore_errors=True)
    used_parents = {e["config"]["init_from"] for e in entries} - {None}
    for parent_id in sorted(used_parents):
        record = parents[parent_id]
        (folder / "parents" / "ckpt").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(store.path(parent_id), folder / "parents" / f"{parent_id}.json")
        shutil.copyfile(store.root / record["checkpoint"], folder / "parents" / record["checkpoint"])
    manifest = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "groups": args.groups or ["configs"], "corpora": {fp: p["name"] for fp, p in packs.items()},
                "parents": sorted(used_parents),
                "runs": [{k: v for k, v in e.items() if k != "_corpus"} for e in entries]}
    tmp = todo_path.with_name("todo.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    tmp.replace(todo_path)

    for fp, p in packs.items():
        how = "reused (same fingerprint)" if p["reused"] else f"compressed in {p['seconds']:.0f} s (xz preset {p['xz_preset']})"
        print(f"corpus {p['name']} ({fp[:16]}): {p['train_bytes'] + p['val_bytes']:,} bytes -> "
              f"{mib(p['train_xz_bytes'] + p['val_xz_bytes'])}, {how}")
    per_group = {}
    for e in entries:
        per_group[e["group"]] = per_group.get(e["group"], 0) + 1
    limited = "" if len(entries) == len(todo) else f", --limit {args.limit}"
    print(f"{len(entries)} runs to train ({len(todo)} missing{limited}), cheapest first, in {todo_path} "
          f"({', '.join(f'{g}: {n}' for g, n in per_group.items())})")
    device = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    tree = tree_bytes()
    total = f"; with the working tree ({mib(tree)}): {mib(tree + device)} of the 64 MiB" if tree is not None else ""
    print(f"{folder} holds {mib(device)}{total}")
    if tree is not None and tree + device > CARRY_LIMIT:
        print(f"WARNING: the working tree and {folder.name} exceed 64 MiB: prepare fewer groups", file=sys.stderr)
    try:
        rel = folder.resolve().relative_to(REPO)
    except ValueError:
        rel = None
    print("\nThe device call (the run tool, in the repository root):")
    print(f"  command:   {device_command(args.budget_s)}" + ("" if rel in (None, Path(".device")) else f" --dir {rel}"))
    print(f"  carry:     [\"{rel}\"]" if rel is not None else
          f"  carry:     none can carry {folder}: only paths inside the repository travel (prepare with the default --dir)")
    print(f"  timeout_s: {args.budget_s + MARGIN_S}")
    print("  (add --measure to time runs one at a time against side by side first; it spends part of the budget)")
    print("Then here: .venv/bin/python scripts/device_train.py merge FILES_AT/records.tar.gz, and commit runs/")
    return 0


# ------------------------------------------------------------------------------------------- train
_WORKER_CORPORA: dict = {}


def _worker_corpus(folder: str, fingerprint: str):
    """The Corpus in this worker, read once from the raw streams the parent unpacked."""
    if fingerprint not in _WORKER_CORPORA:
        import numpy as np
        meta = json.loads((Path(folder) / f"{fingerprint}.json").read_text())
        streams = [np.fromfile(Path(folder) / f"{fingerprint}.{s}", dtype=np.uint8) for s in ("train", "val")]
        _WORKER_CORPORA[fingerprint] = make_corpus(meta, *streams)
    return _WORKER_CORPORA[fingerprint]


def train_one(config_dict: dict, corpus_folder: str, fingerprint: str, store_root: str) -> dict:
    """Train one run with kit.engine.train.run in this worker; a summary of its record and its time here."""
    start = time.perf_counter()
    from kit.engine import train
    from kit.engine.config import RunConfig
    from kit.engine.store import RunStore
    corpus = _worker_corpus(corpus_folder, fingerprint)
    record = train.run(RunConfig.from_dict(config_dict), corpus=corpus, store=RunStore(store_root))
    m = record["metrics"]
    return {"id": record["id"], "status": record["status"], "final_loss": m["final_loss"], "d_model": m["d_model"],
            "wall_s": m["wall_s"], "compile_s": m["compile_s"], "elapsed_s": time.perf_counter() - start}


class Estimate:
    """A run's seconds in one lane: measured overhead (start-up, compile, evaluation) plus its
    model FLOPs over the per-lane FLOP/s measured from the finished runs (priors until then)."""

    def __init__(self, backend: str, flops_per_s: float | None = None):
        prior = PRIOR["gpu" if backend != "cpu" else "cpu"]
        self.prior_overhead, self.prior_rate = prior["overhead_s"], flops_per_s or prior["flops_per_s"]
        self.done = []  # (cost, elapsed_s, wall_s)

    def add(self, cost: float, elapsed_s: float, wall_s: float) -> None:
        self.done.append((cost, elapsed_s, wall_s))

    def overhead(self) -> float:
        if not self.done:
            return self.prior_overhead
        extra = sorted(max(e - w, 0.0) for _, e, w in self.done)
        return extra[len(extra) // 2]

    def rate(self) -> float:
        if not self.done:
            return self.prior_rate
        return sum(c for c, _, _ in self.done) / max(sum(w for _, _, w in self.done), 1e-3)

    def seconds(self, cost: float) -> float:
        return self.overhead() + cost / self.rate()


def elapsed() -> float:
    return time.monotonic() - T0


def terminate(pool) -> int:
    """Stop this pool's worker processes now (they are ours: started by this pool); how many ran."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(10)
        if p.is_alive():
            p.kill()
            p.join(5)
    pool.shutdown(wait=False, cancel_futures=True)
    return len(procs)


def measure(pool, entry, corpus_folder, store_root, lanes, budget_s) -> dict:
    """Runs per hour of 256-step runs of the first todo shape, one at a time vs `lanes` side by
    side, in the pool (after a first side-by-side round that warms every worker: compiles)."""
    from kit.engine.config import ConfigError, RunConfig
    base = RunConfig.from_dict(entry["config"])
    try:
        base = base.replace(tokens=min(MEASURE_STEPS, base.steps) * base.tokens_per_step, init_from=None,
                            save_checkpoint=False)
    except ConfigError as e:
        return {"error": f"the first todo config cut to {MEASURE_STEPS} steps is invalid: {e}"}
    seeds = iter(range(MEASURE_SEED, MEASURE_SEED + 10 * lanes + 10))

    def batch(n):
        start = time.perf_counter()
        futures = [pool.submit(train_one, base.replace(seed=next(seeds)).to_dict(), corpus_folder,
                               entry["fingerprint"], store_root) for _ in range(n)]
        done, _ = cf.wait(futures, timeout=max(budget_s - elapsed(), 0))
        if len(done) < n:
            raise TimeoutError
        results = [f.result() for f in futures]
        return time.perf_counter() - start, results

    out = {"steps": base.steps, "d_model": None}
    try:
        warm_s, _ = batch(lanes)
        one_s, one = 0.0, []
        for _ in range(2):
            t, r = batch(1)
            one_s, one = one_s + t, one + r
        side_s, side = batch(lanes)
    except TimeoutError:
        return {"error": "the budget ended during the measurement", "timeout": True}
    except Exception as e:  # a run raised: report it, train anyway
        return {"error": f"a measurement run raised {type(e).__name__}: {str(e).splitlines()[:1]}"}
    out.update(d_model=one[0]["d_model"], warmup_s=warm_s, one_per_h=3600 * 2 / one_s, side_per_h=3600 * lanes / side_s,
               one_loop_s=sum(r["wall_s"] for r in one) / len(one), side_loop_s=sum(r["wall_s"] for r in side) / len(side))
    out["ratio"] = out["side_per_h"] / out["one_per_h"]
    return out


def measure_text(m: dict, lanes: int) -> str:
    if "error" in m:
        return f"measure: not measured: {m['error']}"
    return (f"measure: {m['steps']}-step runs at d_model {m['d_model']}: one at a time {m['one_per_h']:.0f} runs/h "
            f"(loop {m['one_loop_s']:.2f} s a run), {lanes} side by side {m['side_per_h']:.0f} runs/h (loop "
            f"{m['side_loop_s']:.2f} s a run): x{m['ratio']:.2f} (first round, compiling: {m['warmup_s']:.1f} s)")


def read_todo(folder: Path) -> dict:
    path = folder / "todo.json"
    if not path.is_file():
        raise Refused(f"{path} is missing: run `python scripts/device_train.py prepare GROUP ...` here first "
                      f"and carry {folder.name}")
    try:
        todo = json.loads(path.read_text())
    except ValueError as e:
        raise Refused(f"{path} is not JSON ({e}); run `prepare` again") from None
    if not isinstance(todo, dict) or todo.get("format") != FORMAT or not isinstance(todo.get("runs"), list):
        raise Refused(f"{path} was not written by this script's `prepare`; run it again")
    return todo


def train(args) -> int:
    if not args.budget_s > 0:
        raise Refused(f"--budget-s {args.budget_s}: the budget must be more than 0 seconds")
    if args.lanes is not None and args.lanes < 1:
        raise Refused(f"--lanes {args.lanes}: at least 1 run at a time")
    if args.assume_flops_per_s is not None and not args.assume_flops_per_s > 0:
        raise Refused(f"--assume-flops-per-s {args.assume_flops_per_s}: must be more than 0")
    folder = Path(args.dir)
    todo = read_todo(folder)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise Refused(f"--out {out}: cannot create it ({e.strerror})") from None

    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # before any backend starts, here too
    from kit.engine.config import RunConfig
    from kit.engine.store import RunStore, run_id
    from kit.engine import model
    from kit.engine import threads
    entries = todo["runs"]
    for e in entries:
        expected = run_id(RunConfig.from_dict(e["config"]), e["fingerprint"])
        if expected != e["id"]:
            raise Refused(f"todo.json: run {e['id']} has id {expected} by kit.engine.store.run_id here (another kit "
                          f"version?); run `prepare` again")
    import jax
    backend = jax.default_backend()
    try:
        device = f"{jax.devices()[0].device_kind} x{jax.device_count()}"
    except Exception:  # noqa: BLE001 (a name only)
        device = "unknown"
    cores = len(os.sched_getaffinity(0))
    lanes = args.lanes or (8 if backend != "cpu" else cores)
    print(f"[{elapsed():5.0f}s] backend {backend} ({device}), jax {jax.__version__}, {cores} cores; "
          f"{len(entries)} runs to train, {lanes} side by side, budget {args.budget_s:.0f} s", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="device_train."))
    try:
        corpus_folder = scratch / "corpora"
        corpus_folder.mkdir()
        for fp in dict.fromkeys(e["fingerprint"] for e in entries):
            meta, streams = read_pack(folder, fp)
            for split in ("train", "val"):
                (corpus_folder / f"{fp}.{split}").write_bytes(streams[split])
            (corpus_folder / f"{fp}.json").write_text(json.dumps(meta))
            print(f"[{elapsed():5.0f}s] corpus {meta['name']}: {meta['train_bytes']:,} training bytes, "
                  f"fingerprint {fp[:16]} checked", flush=True)
        store = RunStore(scratch / "runs")
        store.check_writable()
        for parent in todo.get("parents", []):
            record = json.loads((folder / "parents" / f"{parent}.json").read_text())
            shutil.copyfile(folder / "parents" / f"{parent}.json", store.path(parent))
            shutil.copyfile(folder / "parents" / record["checkpoint"], store.checkpoint_path(parent))

        env = {"KIT_SAVE_EVERY_S": os.environ.get("KIT_SAVE_EVERY_S", SAVE_EVERY_S)}
        if backend != "cpu":
            env.update(XLA_PYTHON_CLIENT_PREALLOCATE="false", XLA_PYTHON_CLIENT_MEM_FRACTION=f"{0.9 / lanes:.3f}")
        os.environ.update(env)  # the workers inherit it
        estimate = Estimate(backend, args.assume_flops_per_s)
        costs = {e["id"]: model.flops_per_token(model.shape_for(RunConfig.from_dict(e["config"])))
                 * e["config"]["tokens"] for e in entries}
        state = {"submitted": [], "finished": [], "raised": [], "stop": None, "measure": None, "train_start": elapsed()}
        pool = (threads.pool(lanes) if backend == "cpu"  # single-threaded, a core each
                else cf.ProcessPoolExecutor(lanes, mp_context=multiprocessing.get_context("spawn")))
        terminated = False
        try:
            if args.measure and entries:
                print(f"[{elapsed():5.0f}s] measuring one at a time vs {lanes} side by side", flush=True)
                state["measure"] = measure(pool, entries[0], str(corpus_folder), str(scratch / "measure"),
                                           lanes, args.budget_s)
                print(f"[{elapsed():5.0f}s] {measure_text(state['measure'], lanes)}", flush=True)
                if state["measure"].get("timeout"):
                    terminate(pool)
                    terminated = True
                    state["stop"] = "the budget ended during the measurement"
            state["train_start"] = elapsed()
            pending, running = ([] if terminated else list(entries)), {}
            while pending or running:
                while pending and len(running) < lanes:
                    entry = pending[0]
                    need = estimate.seconds(costs[entry["id"]])
                    if elapsed() + need > args.budget_s:  # asked again as runs end and the estimate improves
                        if state["stop"] is None:
                            state["stop"] = (f"the next run ({entry['id']}) needs about {need:.0f} s and "
                                             f"{max(args.budget_s - elapsed(), 0):.0f} s of the budget are left")
                            print(f"[{elapsed():5.0f}s] no more runs start: {state['stop']}", flush=True)
                        break
                    state["stop"] = None
                    pending.pop(0)
                    future = pool.submit(train_one, entry["config"], str(corpus_folder), entry["fingerprint"],
                                         str(store.root))
                    running[future] = entry
                    state["submitted"].append(entry["id"])
                if not running:
                    break
                done, _ = cf.wait(running, timeout=max(args.budget_s - elapsed(), 0),
                                  return_when=cf.FIRST_COMPLETED)
                if not done:
                    state["stop"] = "the budget ended" + (f" (no run had started since: {state['stop']})" if state["stop"] else "")
                    print(f"[{elapsed():5.0f}s] budget reached: stopping {len(running)} run(s) in flight "
                          f"(their last saved states are packed)", flush=True)
                    terminate(pool)
                    terminated = True
                    break
                for future in done:
                    entry = running.pop(future)
                    c = entry["config"]
                    try:
                        r = future.result()
                    except Exception as error:  # noqa: BLE001 (reported; nothing recorded for it)
                        state["raised"].append(entry["id"])
                        print(f"[{elapsed():5.0f}s] {entry['id']} RAISED {type(error).__name__}: "
                              f"{(str(error).strip().splitlines() or [''])[0]} (nothing recorded)", flush=True)
                        if isinstance(error, cf.process.BrokenProcessPool):
                            state["stop"] = "a worker process died (out of memory?)"
                            pending.clear()
                        continue
                    estimate.add(costs[entry["id"]], r["elapsed_s"], r["wall_s"])
                    state["finished"].append(entry["id"])
                    print(f"[{elapsed():5.0f}s] {len(state['finished'])}/{len(entries)} {r['id']} {entry['group']} "
                          f"N={c['n_nonzero']} S={c['sparsity']} D={c['tokens']} lr={c['lr']} d={r['d_model']} "
                          f"{r['status']} loss={r['final_loss']:.4f} {r['elapsed_s']:.1f} s (loop {r['wall_s']:.1f} s); "
                          f"{estimate.rate():.3g} FLOP/s a lane", flush=True)
        finally:
            if not terminated:
                pool.shutdown(wait=True, cancel_futures=True)
        if not entries:
            state["stop"] = "todo.json lists no run"
        summary = pack(out, store, todo, state, backend, device, lanes, args, jax.__version__)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(summary, flush=True)
    return 0


def pack(out: Path, store, todo: dict, state: dict, backend, device, lanes, args, jax_version) -> str:
    """Write out/records.tar.gz (records, their checkpoints, the partial states that fit in
    MAX_ARCHIVE) and out/summary.txt; return the summary's text."""
    from kit.engine import resume
    ids = {e["id"] for e in todo["runs"]}
    records = [store.path(id) for id in state["finished"] if store.has(id)]
    partials = sorted((p for p in (store.root / resume.FOLDER).glob("*.npz")
                       if p.stem in ids and not store.has(p.stem) and not p.name.startswith(".")),
                      key=lambda p: p.stat().st_size)
    archive = out / "records.tar.gz"
    packed = {"records": [], "checkpoints": [], "partials": {}}
    left_out = []
    with open(archive, "wb") as raw:
        gz = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            def add(name: str, payload: bytes) -> bool:
                gz.flush()
                worst = len(payload) + len(payload) // 500 + 2048  # deflate's worst case and the tar blocks
                if raw.tell() + worst + 8192 > MAX_ARCHIVE:  # 8 KiB: the manifest and the end blocks
                    return False
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(payload), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(payload))
                return True

            for path in records:
                record = json.loads(path.read_text())
                if not add(f"records/{path.name}", path.read_bytes()):
                    left_out.append(f"record {path.stem} (the archive is full)")
                    continue
                packed["records"].append(path.stem)
                if record.get("checkpoint"):
                    if add(f"ckpt/{path.stem}.npz", (store.root / record["checkpoint"]).read_bytes()):
                        packed["checkpoints"].append(path.stem)
                    else:
                        left_out.append(f"checkpoint {path.stem} (the archive is full)")
            for path in partials:
                try:
                    step = _partial_meta(path)["step"]
                    payload = path.read_bytes()
                except (OSError, ValueError, KeyError):
                    left_out.append(f"partial state {path.stem} (unreadable)")
                    continue
                if add(f"partial/{path.name}", payload):
                    packed["partials"][path.stem] = step
                else:
                    left_out.append(f"partial state {path.stem} at step {step} ({mib(len(payload))}: would overflow "
                                    f"{mib(MAX_ARCHIVE)})")
            hours = max(elapsed() - state["train_start"], 1e-9) / 3600
            ok = [id for id in state["finished"] if store.has(id) and store.get(id)["status"] == "ok"]
            lines = [f"backend: {backend}", f"device: {device}", f"jax: {jax_version}",
                     f"lanes: {lanes}" + (f" (XLA_PYTHON_CLIENT_MEM_FRACTION={os.environ.get('XLA_PYTHON_CLIENT_MEM_FRACTION')})"
                                          if backend != "cpu" else " (one XLA thread each)"),
                     f"budget: {args.budget_s:.0f} s; elapsed {elapsed():.0f} s",
                     f"runs: {len(state['finished'])} finished ({len(ok)} ok) / {len(state['submitted'])} submitted / "
                     f"{len(todo['runs'])} todo" + (f"; {len(state['raised'])} raised" if state["raised"] else ""),
                     f"runs per hour: {len(state['finished']) / hours:.0f} (over the {3600 * hours:.0f} s since "
                     f"training began{', after the measurement' if args.measure else ''})",
                     f"stopped: {state['stop'] or 'every run finished'}",
                     f"archive: {len(packed['records'])} records, {len(packed['checkpoints'])} checkpoints, "
                     f"{len(packed['partials'])} partial states"]
            if not state["submitted"] and todo["runs"]:
                lines.append("NOTHING TRAINED: the budget is too small to start the cheapest run")
            lines += [f"left out: {x}" for x in left_out]
            if args.measure:
                lines.append(measure_text(state["measure"] or {"error": "no run to measure"}, lanes))
            summary = "\n".join(lines) + "\n"
            manifest = {"format": FORMAT, "backend": backend, "device": device, "jax": jax_version, "lanes": lanes,
                        "budget_s": args.budget_s, "elapsed_s": elapsed(), "todo": todo["runs"],
                        "submitted": state["submitted"], "finished": state["finished"], **packed,
                        "left_out": left_out, "measure": state["measure"], "summary": summary}
            info = tarfile.TarInfo("manifest.json")
            payload = json.dumps(manifest, indent=1, default=str).encode()
            info.size, info.mtime, info.mode = len(payload), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(payload))
        gz.close()
    (out / "summary.txt").write_text(summary)
    return summary + f"wrote {archive} ({mib(archive.stat().st_size)}) and {out / 'summary.txt'}"


def _partial_meta(path) -> dict:
    """The meta of a partial state (kit.engine.resume.save's layout), from a file or bytes."""
    import numpy as np
    source = io.BytesIO(path) if isinstance(path, bytes) else path
    with np.load(source) as f:
        meta = json.loads(f["meta"].tobytes())
        if not all(f"leaf_{i}" in f.files for i in range(meta["n_leaves"])):
            raise ValueError("leaves missing")
    return meta


# ------------------------------------------------------------------------------------------- merge
def open_archive(path: Path) -> tuple[tarfile.TarFile, dict]:
    """The archive and its manifest; Refused unless it is a records.tar.gz written by `train`."""
    if not path.is_file():
        raise Refused(f"{path}: no such file")
    not_ours = f"{path} is not a records.tar.gz written by `device_train.py train`"
    try:
        tar = tarfile.open(path, mode="r:gz")
        member = tar.getmember("manifest.json")
        manifest = json.loads(tar.extractfile(member).read())
    except (tarfile.TarError, OSError, EOFError, KeyError, ValueError, AttributeError) as e:
        raise Refused(f"{not_ours} ({type(e).__name__}: {str(e) or 'no manifest.json'})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Refused(f"{not_ours} (its manifest.json is not format {FORMAT})")
    return tar, manifest


class KnownCorpora:
    """describe() of the corpora records may come from: shakespeare, pycode (read only when a
    record needs it) and any given with --corpus."""

    def __init__(self, extra: list[str]):
        from kit.engine import data
        self.by_fp, self.notes = {}, []
        for source in [None, *extra]:
            try:
                corpus = data.load_corpus(source)
            except Exception as e:  # noqa: BLE001 (reported)
                if source is not None:
                    raise Refused(f"--corpus {source}: {str(e).splitlines()[0]}") from None
                self.notes.append(f"shakespeare unavailable ({str(e).splitlines()[0]})")
                continue
            self.by_fp[corpus.fingerprint] = data.describe(corpus)
        self.tried_pycode = False

    def get(self, fingerprint: str) -> dict | None:
        if fingerprint not in self.by_fp and not self.tried_pycode:
            self.tried_pycode = True
            from kit.engine import data
            try:
                corpus = data.load_corpus("pycode")
                self.by_fp[corpus.fingerprint] = data.describe(corpus)
            except Exception as e:  # noqa: BLE001 (reported)
                self.notes.append(f"pycode unavailable ({str(e).splitlines()[0]})")
        return self.by_fp.get(fingerprint)


def _write_new(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


def merge(args) -> int:
    path = Path(args.file)
    tar, manifest = open_archive(path)
    from kit.engine import resume
    from kit.engine.store import RunStore
    store = RunStore(args.runs)
    store.check_writable()
    known = KnownCorpora(args.corpus or [])
    steps = {e["id"]: e["config"]["tokens"] // (e["config"]["batch_size"] * e["config"]["seq_len"])
             for e in manifest.get("todo", []) if isinstance(e, dict) and "config" in e}
    members = {m.name: m for m in tar.getmembers()}
    counts = {"added": 0, "already present": 0, "refused": 0}
    partial_counts = {"added": 0, "skipped": 0, "refused": 0}

    def read(name):
        member = members.get(name)
        return tar.extractfile(member).read() if member is not None and member.isfile() else None

    for name in sorted(members):
        kind, _, base = name.partition("/")
        id = base.rsplit(".", 1)[0]
        if name == "manifest.json" or (kind == "ckpt" and ID.match(id)):
            continue
        if kind not in ("records", "partial") or not ID.match(id) or not members[name].isfile():
            print(f"refused {name}: not a record or partial state of this archive's layout")
            counts["refused"] += 1
            continue
        if kind == "records":
            outcome = merge_record(id, read(name), read, store, known)
            print(f"{outcome[0]} record {id}" + (f": {outcome[1]}" if outcome[1] else ""))
            counts[outcome[0]] += 1
        else:
            outcome = merge_partial(id, read(name), store, steps, resume)
            print(f"{outcome[0]} partial state {id}" + (f": {outcome[1]}" if outcome[1] else ""))
            partial_counts[outcome[0]] += 1
    for note in known.notes:
        print(f"note: {note}")
    print(f"merged {path.name} (trained on {manifest.get('backend')}, {manifest.get('device')}) into {store.root}: "
          f"{counts['added']} records added, {counts['already present']} already present, {counts['refused']} refused; "
          f"partial states: {partial_counts['added']} added, {partial_counts['skipped']} skipped, "
          f"{partial_counts['refused']} refused"
          + ("; now commit them: git add runs && git commit -m 'runs: trained on a lent GPU'" if counts["added"] else ""))
    return 1 if counts["refused"] or partial_counts["refused"] else 0


def merge_record(id: str, payload: bytes, read, store, known) -> tuple[str, str]:
    """(outcome, why) of putting record `id` into the store."""
    from kit.engine.store import check_record, comparable
    try:
        record = json.loads(payload)
        check_record(record)
    except (ValueError, TypeError, KeyError) as e:
        return "refused", str(e).splitlines()[0] if str(e) else type(e).__name__
    if record["id"] != id:
        return "refused", f"the file is named {id} but holds run {record['id']}"
    described = known.get(record["corpus"]["fingerprint"])
    if described is None:
        return "refused", (f"trained on corpus {record['corpus'].get('name')!r} of fingerprint "
                           f"{record['corpus']['fingerprint'][:16]}, not a known corpus (shakespeare, pycode, --corpus)")
    if record["corpus"] != described:
        return "refused", f"its corpus {record['corpus']} differs from the known corpus {described}"
    if store.has(id):
        same = comparable(store.get(id)) == comparable(record)
        return "already present", "" if same else "the store's record differs (kept; never overwritten)"
    checkpoint = record.get("checkpoint")
    if checkpoint:
        if checkpoint != f"ckpt/{id}.npz":
            return "refused", f"its checkpoint path {checkpoint!r} is not ckpt/{id}.npz"
        data = read(f"ckpt/{id}.npz")
        if data is None:
            return "refused", "its checkpoint is not in the archive"
        target = store.checkpoint_path(id)
        if not target.exists():
            _write_new(target, data)
    store.put(record)
    return "added", ""


def merge_partial(id: str, payload: bytes, store, steps: dict, resume) -> tuple[str, str]:
    if store.has(id):
        return "skipped", "the store holds its record"
    try:
        meta = _partial_meta(payload)
    except Exception as e:  # noqa: BLE001 (not a state kit.engine.resume wrote)
        return "refused", f"not a saved run state ({type(e).__name__})"
    if id not in steps:
        return "refused", "not a run of this archive's todo list"
    if meta.get("steps") != steps[id]:
        return "refused", f"saved for {meta.get('steps')} steps, but that run has {steps[id]}"
    target = resume.path(store.root, id)
    if target.exists():
        try:
            there = _partial_meta(target)["step"]
        except Exception:  # noqa: BLE001
            there = None
        if there is not None and there >= meta["step"]:
            return "skipped", f"{target} is at step {there}, not behind this one's {meta['step']}"
    _write_new(target, payload)
    return "added", f"at step {meta['step']} of {meta['steps']} (the next sweep here resumes from it)"


# -------------------------------------------------------------------------------------------- main
def parser() -> Parser:
    p = Parser(prog="device_train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=str(DEFAULT_DIR), help="the folder that travels to the device (default .device)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    pre = sub.add_parser("prepare", parents=[common], help="here: list the missing runs and pack their corpus into .device/")
    pre.add_argument("groups", nargs="*", metavar="GROUP", help="groups of scripts/train_grids.py")
    pre.add_argument("--limit", type=int, default=None, metavar="N", help="only the N cheapest missing runs")
    pre.add_argument("--budget-s", type=int, default=DEFAULT_BUDGET_S, help="the budget the printed device call gives")
    pre.add_argument("--configs", default=None, metavar="FILE", help="a JSON list of config dicts instead of groups")
    pre.add_argument("--corpus", default=None, metavar="SOURCE", help="with --configs: the corpus (default shakespeare)")
    pre.add_argument("--runs", default=None, metavar="DIR", help="the run store (default runs/)")
    tr = sub.add_parser("train", parents=[common], help="there: train the listed runs within a budget")
    tr.add_argument("--budget-s", type=float, required=True, help="seconds from the start of this command")
    tr.add_argument("--out", required=True, help="where records.tar.gz and summary.txt go ($OUT)")
    tr.add_argument("--lanes", type=int, default=None, help="runs side by side (default: 8 on GPU, the cores on CPU)")
    tr.add_argument("--measure", action="store_true", help="first time runs one at a time vs side by side")
    tr.add_argument("--assume-flops-per-s", type=float, default=None, metavar="R",
                    help="per-lane model FLOP/s assumed until a run finishes (default: a conservative prior)")
    me = sub.add_parser("merge", help="here: put the archive's records into runs/")
    me.add_argument("file", metavar="FILE", help="records.tar.gz from the device")
    me.add_argument("--runs", default=None, metavar="DIR", help="the run store (default runs/)")
    me.add_argument("--corpus", action="append", metavar="SOURCE", help="another corpus records may come from")
    return p


def main(argv=None) -> int:
    try:
        args = parser().parse_args(argv)
        return {"prepare": prepare, "train": train, "merge": merge}[args.command](args)
    except Refused as e:
        print(f"device_train.py: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
