"""Will a run fit? The model size a config builds, and the memory training it needs, checked before
anything trains.

`check_run(config)` (what kit.engine.sweep.check_sweep and kit.engine.train.run call, through
RunConfig.check_trainable) refuses, with a ConfigError of one line:

- a config whose model differs from the size asked for (`check_size`): the width is rounded to a
  multiple of width_multiple and is at least width_multiple, so a small or in-between n_nonzero
  builds another N than the one requested (n_nonzero=1536 at 4 layers builds the smallest model,
  N = 3,072). The built backbone's non-zeros (1 - S) * kit.engine.model.prunable_count(d_model, n_layers)
  must be within a factor SIZE_FACTOR of n_nonzero, either way;
- a config whose training needs more memory than this machine has available (`check_fits`).

The memory needed (`bytes_needed`) is an estimate, in float32 bytes, of the peak of one training
process, for the dense-shaped model of kit.engine.model.shape_for(config) (a pruned model is trained
masked, at its dense shape):

    P = prunable_count(d, L) + V d                      parameters (backbone and tied embedding)
    state       = P (4 params + 4 gradients + 8 AdamW moments + 4 update + 4 pruning keys + 1 mask)
                = 25 P bytes
    activations = 4 B T (L (17 d + 2 H T) + 3 V + 2 d) + 4 B T (17 d + 2 H T)   bytes
    needed      = PROCESS_BYTES + state + activations

with B batch_size, T seq_len, d d_model, L n_layers, H heads, V = 256. The activations are those one
step saves for its backward pass: per layer and token the block input, both norms' outputs, q, k
and v, the attention output, the two projections' outputs and the MLP's 4d pre- and post-ReLU
values (17 d), plus the attention scores and probabilities (2 H T; B H T^2 per layer), plus the
logits and their softmax and gradient (3 V) and the embedding; one more layer's worth stands for
the gradients in flight. PROCESS_BYTES is what the Python process with JAX and a compiled train
loop holds whatever the model (measured: about 0.5 GiB). The masks are bool; the pruning keys
(uint32 magnitudes of every prunable weight) exist while masks are updated.

Measured against the peak resident memory (ru_maxrss) of one `kit.engine.train.run` of 10 steps in a
fresh process on the 2-core CPU machine (JAX 0.10.2, XLA:CPU), estimate / measured:

    config (4 layers)                                  d_model  measured  estimate  ratio
    n_nonzero 3,072, seq_len 16, batch 8                     8   475 MiB   513 MiB   1.08
    n_nonzero 13,824 (main grid, smallest)                  16   519 MiB   534 MiB   1.03
    n_nonzero 221,184, S = 0.875 (main grid, largest)      192   803 MiB   712 MiB   0.89
    n_nonzero 2,000,000, batch 128                         208   992 MiB  1232 MiB   1.24
    n_nonzero 20,000,000                                   648  1125 MiB  1483 MiB   1.32
    n_nonzero 55,296, seq_len 512 (attention)               32   870 MiB  1055 MiB   1.21

so the estimate is within a factor 1.35 of the measurement either way. It is an estimate, not a
bound: the check refuses only a config that needs more than is available, so a run that passes
may still run out of memory on a busy machine, and one refused is well past what fits.

The memory available (`bytes_available`) is MemAvailable of /proc/meminfo (or the pages
os.sysconf reports available), lowered to what a cgroup's (container's) memory limit leaves. On a
Dask cluster the sweep checks against this machine, and kit.engine.train.run again on the worker.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from kit.engine import model
from kit.engine.config import ConfigError

SIZE_FACTOR = 1.5  # the built N may differ from n_nonzero by at most this factor, either way
PROCESS_BYTES = 512 * 2**20  # Python, JAX, XLA and a compiled loop, whatever the model
STATE_BYTES_PER_PARAM = 4 + 4 + 8 + 4 + 4 + 1  # params, grads, AdamW mu and nu, update, pruning keys, mask
ACTIVATION_FLOATS_PER_TOKEN_LAYER = 17  # times d_model, see the module docstring
GiB = 2**30
MEMINFO = Path("/proc/meminfo")


def built_nonzeros(config) -> float:
    """N of the model kit.engine.model.shape_for(config) builds: (1 - S) * prunable_count(d_model, n_layers).

        >>> from kit.engine.config import RunConfig
        >>> built_nonzeros(RunConfig(n_nonzero=13_824, sparsity=0.5))  # d_model 24, as asked
        13824.0
        >>> built_nonzeros(RunConfig(n_nonzero=1536))  # the narrowest model at 4 layers, d_model 8
        3072.0
    """
    shape = model.shape_for(config)
    return (1.0 - config.sparsity) * model.prunable_count(shape.d_model, shape.n_layers)


def smallest_n_nonzero(config) -> int:
    """The smallest n_nonzero at config's sparsity, depth and width_multiple whose built model is
    within SIZE_FACTOR of it (the narrowest model, d_model = width_multiple, is the floor).

        >>> from kit.engine.config import RunConfig
        >>> smallest_n_nonzero(RunConfig()), smallest_n_nonzero(RunConfig(sparsity=0.5))
        (2048, 1024)
    """
    floor = (1.0 - config.sparsity) * model.prunable_count(config.width_multiple, config.n_layers)
    return math.ceil(floor / SIZE_FACTOR)


def check_size(config) -> None:
    """Raise ConfigError unless the model built for `config` has within a factor SIZE_FACTOR of the
    n_nonzero asked for, naming the size built, the sizes the family builds near it and the
    smallest n_nonzero allowed at that sparsity.

        >>> from kit.engine.config import RunConfig
        >>> check_size(RunConfig(n_nonzero=3072))  # built as asked: returns None
        >>> check_size(RunConfig(n_nonzero=1536))
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: n_nonzero=1536 at sparsity=0.0: the model built would have N = 3072 ...
    """
    built = built_nonzeros(config)
    ratio = max(built / config.n_nonzero, config.n_nonzero / built)
    if ratio <= SIZE_FACTOR * (1 + 1e-12):
        return
    d, m, L, S = model.shape_for(config).d_model, config.width_multiple, config.n_layers, config.sparsity
    wanted = config.n_nonzero / (1.0 - S)
    lo, hi = (d, d + m) if model.prunable_count(d, L) < wanted else (max(m, d - m), d)
    near = " and ".join(f"{round((1 - S) * model.prunable_count(w, L))} (d_model {w})"
                        for w in sorted({lo, hi}))
    raise ConfigError(f"n_nonzero={config.n_nonzero} at sparsity={S}: the model built would have N = {round(built)} "
                      f"non-zero backbone weights (d_model {d}, {L} layers), {ratio:.2f}x "
                      f"{'more' if built > config.n_nonzero else 'fewer'} than asked (at most {SIZE_FACTOR}x "
                      f"allowed); the sizes built nearest are N = {near}, and the smallest n_nonzero allowed "
                      f"at sparsity {S} is {smallest_n_nonzero(config)} (or lower width_multiple, now {m})")


def bytes_needed(config) -> int:
    """Estimated peak memory (bytes) of training `config` in one process: see the module docstring.

        >>> from kit.engine.config import RunConfig
        >>> round(bytes_needed(RunConfig(n_nonzero=3072, seq_len=16, batch_size=8, tokens=2560)) / 2**20)  # MiB
        513
    """
    shape = model.shape_for(config)
    d, L, T, B, H, V = shape.d_model, shape.n_layers, config.seq_len, config.batch_size, shape.n_heads, shape.vocab
    params = model.prunable_count(d, L) + V * d
    per_layer = ACTIVATION_FLOATS_PER_TOKEN_LAYER * d + 2 * H * T
    activations = 4 * B * T * (L * per_layer + 3 * V + 2 * d + per_layer)
    return PROCESS_BYTES + STATE_BYTES_PER_PARAM * params + activations


def bytes_available() -> int:
    """Memory this process may still allocate: MemAvailable (/proc/meminfo; else os.sysconf's
    available pages), at most what the cgroup's memory.max leaves above memory.current.

        >>> bytes_available() > 0  # how much depends on the machine and the moment
        True
    """
    available = None
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    limit = _cgroup_room()
    return available if limit is None else min(available, limit)


def _cgroup_room() -> int | None:
    """memory.max - memory.current of this process's cgroup (v2), or None without a limit."""
    try:
        folder = Path("/sys/fs/cgroup")
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                folder = folder / line[3:].strip().lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((folder / "memory.current").read_text().strip()))
    except (OSError, ValueError):
        return None


def check_fits(config, available: int | None = None) -> None:
    """Raise ConfigError if training `config` needs more memory (bytes_needed) than is available
    (bytes_available(), or `available` bytes), naming both.

        >>> from kit.engine.config import RunConfig
        >>> config = RunConfig(n_nonzero=3072, seq_len=16, batch_size=8, tokens=2560)
        >>> check_fits(config, available=2**30)  # fits in 1 GiB: returns None
        >>> check_fits(config, available=2**28)
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: n_nonzero=3072 at sparsity=0.0 (d_model 8, 4 layers, ...) needs about 0.501 GiB ...
    """
    needed = bytes_needed(config)
    available = bytes_available() if available is None else available
    if needed > available:
        shape = model.shape_for(config)
        raise ConfigError(f"n_nonzero={config.n_nonzero} at sparsity={config.sparsity} (d_model {shape.d_model}, "
                          f"{shape.n_layers} layers, batch_size {config.batch_size}, seq_len {config.seq_len}) needs "
                          f"about {needed / GiB:.3g} GiB of memory to train (an estimate: kit.engine.memory.bytes_needed), "
                          f"and {available / GiB:.3g} GiB are available on this machine; use a smaller n_nonzero, "
                          f"batch_size or seq_len")


def check_run(config) -> None:
    """check_size, then check_fits: what must hold before `config` trains.

        >>> from kit.engine.config import RunConfig
        >>> check_run(RunConfig(n_nonzero=13_824))  # the main grid's smallest model: returns None
    """
    check_size(config)
    check_fits(config)
