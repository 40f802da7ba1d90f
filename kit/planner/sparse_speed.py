"""What sparsity is worth on real kernels: sparse-times-dense matmuls timed against dense ones.

A layer is one weight matrix W (d_out x d_in) applied to a batch of activations X (d_in x tokens),
Y = W X. Each implementation pairs a sparse kernel with the dense kernel of the same library, timed one
after the other in one process, so a ratio means much the same under any load:

  scipy-csr   scipy.sparse CSR matrix times a dense array   vs  numpy (BLAS) dense matmul
  jax-bcoo    jax.experimental.sparse BCOO times an array   vs  XLA dense matmul, both jitted
  jax-bcsr    jax.experimental.sparse BCSR times an array   vs  XLA dense matmul, both jitted

at the shapes of our model family (the MLP up-projection d_model -> 4 d_model of a 2048-token step)
and of a T5-base-sized layer (768 -> 3072, 512 tokens), for unstructured sparsity (random masks)
and for the n:m patterns 2:4 and 1:4 (n of every m consecutive input weights kept; no kernel here
exploits the pattern, so they run through the same general kernels).

speedup = dense time / sparse time; the curve S -> speedup of one implementation at one layer is a
cost model of kit.planner.plan (`curve`), named by the hardware, backend, layer shape and date it was timed
on. `read_curve` reads one for the planner: from these measurements, or from a speed table of the
user's own, e.g. timed on a GPU (TABLE_KEYS; data/sparse_speed/README.md has the format).

Times are the minimum over repeats of the mean of enough calls to last min_time (timeit's
convention: what exceeds the minimum is interference).

`measure_on_one_core` (what `make bench` and the book use) times everything in a fresh process
confined to one CPU core, one BLAS and one XLA thread: on a machine shared with other work, a
multi-threaded kernel stalls whenever one of its threads is descheduled, which made the timings of
small dense matmuls swing by two orders of magnitude; on one core every kernel is only time-sliced,
and the minimum over repeats sees through that. The speedups are then per core.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import scipy
import scipy.sparse
from jax.experimental import sparse as jsparse

from kit.planner.speedup import SpeedupCurve

STORED = Path(__file__).resolve().parents[2] / "data" / "sparse_speed" / "measured.json"


@dataclasses.dataclass(frozen=True)
class Layer:
    """One layer's matmul Y = W X: the weight W is d_out x d_in, the activations X d_in x tokens.

        >>> Layer(d_in=768, d_out=3072, tokens=512) == LAYERS["t5-base"]
        True
    """
    d_in: int
    d_out: int
    tokens: int


LAYERS = {f"ours-d{d}": Layer(d, 4 * d, 2048) for d in (16, 48, 136, 272)}
LAYERS["t5-base"] = Layer(768, 3072, 512)
SPARSITIES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
PATTERNS = ((2, 4), (1, 4))
IMPLEMENTATIONS = {"scipy-csr": "numpy-blas", "jax-bcoo": "xla-dense", "jax-bcsr": "xla-dense"}  # sparse kernel -> its dense partner
COLUMNS = ["implementation", "dense", "layer", "d_in", "d_out", "tokens", "pattern", "S",
           "dense_s", "sparse_s", "speedup"]
TABLE_KEYS = ("kernel", "hardware", "backend", "layer", "date", "S", "speedup")  # a speed table's JSON keys


def random_mask(shape, S, rng):
    """Unstructured mask of exactly round(S * size) zeros at random positions.

        >>> mask = random_mask((4, 8), 0.75, np.random.default_rng(0))
        >>> mask.shape, int(mask.sum())  # 8 of 32 weights kept
        ((4, 8), 8)
    """
    if not 0.0 <= S < 1.0:
        raise ValueError(f"sparsity S={S}: must lie in [0, 1)")
    size = int(np.prod(shape))
    keep = np.ones(size, dtype=bool)
    keep[rng.permutation(size)[:round(S * size)]] = False
    return keep.reshape(shape)


def nm_mask(shape, n, m, rng):
    """n:m mask of a (d_out, d_in) weight: n of every m consecutive input weights of a row kept.

        >>> mask = nm_mask((2, 8), 2, 4, np.random.default_rng(0))
        >>> mask.reshape(2, 2, 4).sum(axis=-1)  # 2 kept in every 4 consecutive input weights
        array([[2, 2],
               [2, 2]])
    """
    d_out, d_in = shape
    if not (0 < n <= m and d_in % m == 0):
        raise ValueError(f"n:m = {n}:{m} needs 0 < n <= m and m dividing d_in={d_in}")
    ranks = np.argsort(rng.random((d_out, d_in // m, m)), axis=-1)
    return (ranks < n).reshape(d_out, d_in)


def kernels(implementation, W_OxI, X_IxT):
    """(dense, sparse): two functions of no argument computing W X, dense from W and sparse from a
    sparse copy of W (its zeros dropped), each blocking until its result is ready.

        >>> rng = np.random.default_rng(0)
        >>> W = np.where(random_mask((32, 8), 0.5, rng), rng.standard_normal((32, 8)), 0.0)  # half its weights zero
        >>> dense, sparse = kernels("scipy-csr", W, rng.standard_normal((8, 16)))
        >>> bool(np.allclose(dense(), sparse()))
        True
    """
    if implementation == "scipy-csr":
        W_csr = scipy.sparse.csr_array(W_OxI)
        return (lambda: W_OxI @ X_IxT), (lambda: W_csr @ X_IxT)
    if implementation in ("jax-bcoo", "jax-bcsr"):
        W_dense, X = jnp.asarray(W_OxI), jnp.asarray(X_IxT)
        W_sparse = (jsparse.BCOO if implementation == "jax-bcoo" else jsparse.BCSR).fromdense(W_dense)
        matmul = jax.jit(lambda w, x: w @ x)
        return (lambda: matmul(W_dense, X).block_until_ready()), (lambda: matmul(W_sparse, X).block_until_ready())
    raise ValueError(f"implementation={implementation!r}: allowed {list(IMPLEMENTATIONS)}")


def _calibrate(fn, min_time):
    """(n, seconds per call): the fewest calls of fn (already warm), in powers of 4, that together
    last at least min_time, and their mean time."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return n, elapsed / n
        n *= 4


def _seconds_per_call(fn, repeats, min_time, max_time):
    """The minimum over up to `repeats` timings of fn, each the mean over enough calls to last
    min_time (the calibration counts as the first), stopping once the timings took max_time."""
    fn()  # compile and warm up
    calls, best = _calibrate(fn, min_time)
    spent, done = calls * best, 1
    while done < repeats and spent <= max_time:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        best, spent, done = min(best, elapsed / calls), spent + elapsed, done + 1
    return best


def time_pair(dense, sparse, repeats=7, min_time=2e-3, max_time=2.0):
    """Seconds per call of dense and of sparse: for each, the minimum over `repeats` timings, each the
    mean over enough calls to last min_time. The dense kernel is timed in full before the sparse one:
    timed alternately, a slow sparse kernel (BCOO's product at 50-70% sparsity, 0.1-0.9 s a call)
    slowed the dense matmul after it by up to 15x. A kernel stops early once its timings have taken
    max_time seconds, so a slow kernel is timed once or twice.

        >>> rng = np.random.default_rng(0)
        >>> dense, sparse = kernels("scipy-csr", random_mask((32, 8), 0.5, rng) * 1.0, rng.standard_normal((8, 16)))
        >>> t_dense, t_sparse = time_pair(dense, sparse, repeats=2, min_time=1e-4, max_time=0.01)
        >>> bool(0 < t_dense < 1 and 0 < t_sparse < 1)  # seconds per call
        True
    """
    if repeats < 1 or not 0 < min_time <= max_time:
        raise ValueError(f"repeats={repeats} must be >= 1 and 0 < min_time={min_time} <= max_time={max_time}")
    return (_seconds_per_call(dense, repeats, min_time, max_time),
            _seconds_per_call(sparse, repeats, min_time, max_time))


def masks(layer: Layer, sparsities, patterns, rng):
    """(pattern name, S, mask) for every unstructured sparsity and every n:m pattern.

        >>> found = masks(Layer(8, 32, 16), [0.5], [(1, 4)], np.random.default_rng(0))
        >>> [(pattern, S, mask.shape) for pattern, S, mask in found]
        [('unstructured', 0.5, (32, 8)), ('1:4', 0.75, (32, 8))]
    """
    shape = (layer.d_out, layer.d_in)
    out = [("unstructured", float(S), random_mask(shape, S, rng)) for S in sparsities]
    return out + [(f"{n}:{m}", 1.0 - n / m, nm_mask(shape, n, m, rng)) for n, m in patterns]


def measure(layers=None, sparsities=SPARSITIES, patterns=PATTERNS, implementations=tuple(IMPLEMENTATIONS),
            repeats=7, min_time=2e-3, max_time=2.0, seed=None) -> pd.DataFrame:
    """Time every implementation at every layer (a dict name -> Layer; default LAYERS), sparsity and
    pattern (float32; time_pair's settings). One row per measurement, columns COLUMNS, times in
    seconds per call; each dense kernel is timed before its sparse partner (time_pair).

        >>> tiny = {"tiny": Layer(d_in=8, d_out=32, tokens=16)}
        >>> frame = measure(tiny, sparsities=[0.5, 0.9], patterns=[], implementations=["scipy-csr"],
        ...                 repeats=1, min_time=1e-4)
        >>> frame[["implementation", "layer", "pattern", "S"]]
          implementation layer       pattern    S
        0      scipy-csr  tiny  unstructured  0.5
        1      scipy-csr  tiny  unstructured  0.9
        >>> bool((frame.speedup == frame.dense_s / frame.sparse_s).all())
        True
    """
    layers = LAYERS if layers is None else layers
    unknown = [name for name in implementations if name not in IMPLEMENTATIONS]
    if unknown:
        raise ValueError(f"implementations {unknown}: allowed {list(IMPLEMENTATIONS)}")
    rng = np.random.default_rng(seed)
    rows = []
    for name, layer in layers.items():
        W_OxI = rng.standard_normal((layer.d_out, layer.d_in)).astype(np.float32)
        X_IxT = rng.standard_normal((layer.d_in, layer.tokens)).astype(np.float32)
        for pattern, S, mask_OxI in masks(layer, sparsities, patterns, rng):
            for implementation in implementations:
                dense, sparse = kernels(implementation, np.where(mask_OxI, W_OxI, 0.0), X_IxT)
                t_dense, t_sparse = time_pair(dense, sparse, repeats, min_time, max_time)
                rows.append(dict(implementation=implementation, dense=IMPLEMENTATIONS[implementation], layer=name,
                                 d_in=layer.d_in, d_out=layer.d_out, tokens=layer.tokens, pattern=pattern, S=S,
                                 dense_s=t_dense, sparse_s=t_sparse, speedup=t_dense / t_sparse))
    return pd.DataFrame(rows, columns=COLUMNS)


def measure_on_one_core(layers=None, sparsities=SPARSITIES, patterns=PATTERNS,
                        implementations=tuple(IMPLEMENTATIONS), repeats=7, min_time=2e-3, max_time=2.0,
                        seed=None) -> pd.DataFrame:
    """`measure` in a fresh Python process confined to one CPU core (the highest this process may
    use), with one BLAS thread and single-threaded XLA, so that its libraries start with one thread.

        >>> tiny = {"tiny": Layer(d_in=8, d_out=32, tokens=16)}
        >>> frame = measure_on_one_core(tiny, sparsities=[0.5], patterns=[], implementations=["scipy-csr"], repeats=1)
        >>> len(frame), bool(frame.speedup.iloc[0] > 0)
        (1, True)
    """
    layers = LAYERS if layers is None else layers
    request = json.dumps(dict(layers={name: dataclasses.asdict(layer) for name, layer in layers.items()},
                              sparsities=list(sparsities), patterns=[list(p) for p in patterns],
                              implementations=list(implementations), repeats=repeats, min_time=min_time,
                              max_time=max_time, seed=seed))
    pin = (f"import os; os.sched_setaffinity(0, {{{max(os.sched_getaffinity(0))}}}); "
           if hasattr(os, "sched_setaffinity") else "")
    threads = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    flags = " ".join([os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false"]).strip()
    done = subprocess.run([sys.executable, "-c", pin + "import runpy; runpy.run_module('kit.planner.sparse_speed', "
                           "run_name='__main__')"], input=request, capture_output=True, text=True,
                          env={**os.environ, **threads, "XLA_FLAGS": flags})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"timing process failed (exit {done.returncode}): {last}")
    return pd.DataFrame(json.loads(done.stdout), columns=COLUMNS)


def benchmark(layers=None, repeats=7, sparsities=SPARSITIES, patterns=PATTERNS) -> tuple[pd.DataFrame, dict]:
    """(measure_on_one_core's rows at every layer (default LAYERS), sparsity and pattern, the machine
    description with the load average before and after, the settings and the seconds it took).

        >>> frame, info = benchmark({"tiny": Layer(8, 32, 16)}, repeats=1, sparsities=[0.5], patterns=[])
        >>> frame.implementation.tolist(), info["cores_used"], info["repeats"]
        (['scipy-csr', 'jax-bcoo', 'jax-bcsr'], 1, 1)
    """
    info = machine()
    start = time.perf_counter()
    frame = measure_on_one_core(layers, sparsities, patterns, repeats=repeats)
    return frame, info | {"cores_used": 1, "repeats": repeats, "seconds": round(time.perf_counter() - start, 1),
                          "load_average_1min_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def machine() -> dict:
    """What the timings were measured on: CPU, cores, library versions, load.

        >>> list(machine())
        ['cpu', 'cores', 'platform', 'python', 'numpy', 'blas', 'scipy', 'jax', 'jax_backend',
         'load_average_1min', 'date']
    """
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(), "numpy": np.__version__,
            "blas": f"{blas.get('name')} {blas.get('version')}", "scipy": scipy.__version__,
            "jax": jax.__version__, "jax_backend": jax.default_backend(),
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "date": datetime.date.today().isoformat()}


def save(frame: pd.DataFrame, path, info: dict) -> None:
    """Write measurements and the machine description (`machine()`, plus any settings) as JSON.

        >>> import tempfile
        >>> frame = measure({"tiny": Layer(8, 32, 16)}, [0.5], [], ["scipy-csr"], repeats=1, min_time=1e-4)
        >>> path = Path(tempfile.mkdtemp()) / "speed.json"
        >>> save(frame, path, machine())
        >>> load(path)[0].shape
        (1, 11)
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"machine": info, "rows": frame[COLUMNS].to_dict("records")}, indent=1) + "\n")


def load(path=None) -> tuple[pd.DataFrame, dict]:
    """(measurements, machine description) from a file written by `save` (default: STORED).

        >>> frame, info = load()  # the stored measurements
        >>> list(frame.columns) == COLUMNS, sorted(frame.implementation.unique()), info["cores_used"]
        (True, ['jax-bcoo', 'jax-bcsr', 'scipy-csr'], 1)
    """
    path = Path(STORED if path is None else path)
    try:
        stored = json.loads(path.read_text())
        frame = pd.DataFrame(stored["rows"], columns=COLUMNS)
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise ValueError(f"speedup file {str(path)!r}: not a file of kit.planner.sparse_speed measurements ({err})") from None
    return frame, stored["machine"]


def curve(frame: pd.DataFrame, implementation: str, layer: str, machine: dict) -> SpeedupCurve:
    """The measured cost model of one implementation at one layer: unstructured sparsity -> speedup,
    named by the machine it was timed on (`machine()` and `benchmark`'s description, as `load` returns it).

        >>> frame, info = load()
        >>> found = curve(frame, "scipy-csr", "t5-base", info)
        >>> found.S, found.layer
        ((0.5, 0.6, 0.7, 0.8, 0.9, 0.95), 't5-base (768 -> 3072, 512 tokens)')
    """
    picked = frame[(frame.implementation == implementation) & (frame.layer == layer) & (frame.pattern == "unstructured")]
    if picked.empty:
        pairs = sorted(set(zip(frame.implementation, frame.layer)))
        raise ValueError(f"no unstructured measurements of implementation={implementation!r} at layer={layer!r}; "
                         f"measured: {', '.join(f'{i} at {l}' for i, l in pairs)}")
    picked = picked.sort_values("S")
    first = picked.iloc[0]
    try:
        cores = (f"one core of a {machine['cores']}-core" if machine.get("cores_used") == 1
                 else f"{machine['cores']} cores of a")
        backend = (f"scipy {machine['scipy']} CSR vs numpy {machine['numpy']} dense ({machine['blas']})"
                   if implementation == "scipy-csr" else
                   f"jax {machine['jax']} {implementation.removeprefix('jax-').upper()} vs XLA dense, {machine['jax_backend']}")
        return SpeedupCurve(implementation, tuple(picked.S), tuple(picked.speedup), f"{cores} {machine['cpu']} CPU",
                            backend, f"{layer} ({first.d_in} -> {first.d_out}, {first.tokens} tokens)", machine["date"])
    except KeyError as err:
        raise ValueError(f"the machine description of these measurements lacks {err}: it must name the CPU, cores, "
                         f"library versions and date (kit.planner.sparse_speed.machine)") from None


def read_curve(path=None, implementation="jax-bcsr", layer="t5-base") -> SpeedupCurve:
    """The measured cost model of `python -m kit plan --cost measured`, from a JSON file: either this
    module's measurements (`save`; default STORED, timed on one CPU core), whose curve of
    `implementation` at `layer` it takes, or a speed table of one curve, e.g. timed on a GPU, with
    exactly the keys TABLE_KEYS (implementation and layer do not apply):

      {"kernel": "cusparselt-2:4", "hardware": "NVIDIA A100-SXM4-80GB", "backend": "cuSPARSELt 0.6, CUDA 12.4",
       "layer": "4096 -> 16384, 8192 tokens", "date": "2025-03-01", "S": [0.5], "speedup": [1.6]}

    S: sparsities strictly increasing in [0, 1); speedup: dense time / sparse time at each.

        >>> read_curve().describe()  # the stored measurements' BCSR curve at T5-base's layer
        'jax-bcsr at t5-base (768 -> 3072, 512 tokens) on one core of a ...'
        >>> import tempfile
        >>> table = Path(tempfile.mkdtemp()) / "a100.json"
        >>> _ = table.write_text(json.dumps({"kernel": "cusparselt-2:4", "hardware": "NVIDIA A100-SXM4-80GB",
        ...     "backend": "cuSPARSELt 0.6, CUDA 12.4", "layer": "4096 -> 16384, 8192 tokens", "date": "2025-03-01",
        ...     "S": [0.5], "speedup": [1.6]}))
        >>> read_curve(table).describe()
        'cusparselt-2:4 at 4096 -> 16384, 8192 tokens on NVIDIA A100-SXM4-80GB (cuSPARSELt 0.6, CUDA 12.4),
         measured 2025-03-01'
    """
    path = Path(STORED if path is None else path)
    try:
        stored = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"speedup file {str(path)!r}: not a readable JSON file ({err})") from None
    if isinstance(stored, dict) and "rows" in stored:
        frame, machine = load(path)
        return curve(frame, implementation, layer, machine)
    if not (isinstance(stored, dict) and set(stored) == set(TABLE_KEYS)):
        got = sorted(stored) if isinstance(stored, dict) else type(stored).__name__
        raise ValueError(f"speedup file {str(path)!r}: neither kit.planner.sparse_speed measurements nor a speed table with "
                         f"exactly the keys {', '.join(TABLE_KEYS)}; got {got}")
    return SpeedupCurve(stored["kernel"], stored["S"], stored["speedup"], stored["hardware"], stored["backend"],
                        stored["layer"], stored["date"])


def speedup_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Speedups as a table: one row per (implementation vs dense partner, layer), one column per
    unstructured S and n:m pattern.

        >>> wide = speedup_table(load()[0])
        >>> list(wide.columns)
        ['S=0.5', 'S=0.6', 'S=0.7', 'S=0.8', 'S=0.9', 'S=0.95', '2:4', '1:4']
        >>> wide.index[-1]
        ('jax-bcsr vs xla-dense', 't5-base')
    """
    column = np.where(frame.pattern == "unstructured", frame.S.map(lambda s: f"S={s:g}"), frame.pattern)
    wide = frame.assign(column=column, kernels=frame.implementation + " vs " + frame.dense).pivot_table(
        index=["kernels", "layer"], columns="column", values="speedup", sort=False)
    order = [f"S={s:g}" for s in sorted(frame.S[frame.pattern == "unstructured"].unique())]
    return wide[order + [c for c in wide.columns if c not in order]]


if __name__ == "__main__":  # measure_on_one_core's worker: a JSON request on stdin, the rows as JSON on stdout
    request = json.loads(sys.stdin.read())
    request["layers"] = {name: Layer(**shape) for name, shape in request["layers"].items()}
    request["patterns"] = [tuple(p) for p in request["patterns"]]
    print(json.dumps(measure(**request).to_dict("records")))
