"""One frozen dataclass describing a training run, and its validation.

A run is fully determined by its `RunConfig` plus the corpus it reads (whose fingerprint the
run store adds to the record). Everything a sweep varies is a field here.

Sizes are requested as non-zero prunable parameters `n_nonzero` (the paper's N) at sparsity
`sparsity` (S): the model trained is the dense model of about N/(1-S) prunable parameters, made
by widening the hidden dimension only (`kit.engine.model.width_for`), and fraction S of its prunable
weights are removed by the end of training. Token budgets are `tokens` (the paper's D).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from typing import Literal

SCHEDULES = ("cubic", "geometric")
CLOCKS = ("steps", "compute")
SCOPES = ("layer", "global")


class ConfigError(ValueError):
    """A run configuration that cannot be trained; raised before any training starts.

        >>> RunConfig(n_nonzero=3072, seq_len=16, batch_size=8, tokens=2600)
        Traceback (most recent call last):
        ...
        kit.engine.config.ConfigError: tokens=2600: not a whole number of steps ... use 2560 or 2688
        >>> isinstance(ConfigError("tokens=2600: ..."), ValueError)  # catch it as either
        True
    """


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """One training run: the paper's N (`n_nonzero`), S (`sparsity`) and D (`tokens`), the model's
    shape, the optimiser, the pruning schedule and the seed; validated on construction (`validate`).

        >>> config = RunConfig(n_nonzero=3072, sparsity=0.5, tokens=2560, seq_len=16, batch_size=8)
        >>> config.steps, config.tokens_per_step, config.replace(sparsity=0).sparsity
        (20, 128, 0.0)
    """

    # What the scaling laws see.
    n_nonzero: int = 50_000  # N: non-zero prunable parameters at the end of training
    sparsity: float = 0.0  # S: final fraction of prunable weights that are zero, in [0, 1)
    tokens: int = 1_048_576  # D: training tokens, each seen once (2**20: whole steps at any power-of-2 batch)

    # Shape (only the width d_model scales; heads follow it, see kit.engine.model).
    n_layers: int = 4
    seq_len: int = 64
    width_multiple: int = 8  # d_model is rounded to a multiple of this (n:m groups need m | d_model)
    embed_match: bool = True  # prune the tied embedding to the size of the dense model of equal N

    # Optimisation: AdamW, linear warmup then cosine decay to lr_min_ratio * lr.
    batch_size: int = 32
    lr: float = 3e-3
    warmup_frac: float = 0.05
    lr_min_ratio: float = 0.1
    weight_decay: float = 0.1
    grad_clip: float = 1.0

    # Gradual magnitude pruning.
    schedule: Literal["cubic", "geometric"] = "cubic"
    prune_start: float = 0.25  # fraction of training at which pruning starts ...
    prune_end: float = 0.75  # ... and reaches the target sparsity
    prune_clock: Literal["steps", "compute"] = "steps"  # what start/end are fractions of
    prune_every: float = 0.01  # mask update interval, as a fraction of all training steps
    prune_scope: Literal["layer", "global"] = "layer"  # uniform per-layer (paper) or one global threshold
    nm: tuple[int, int] | None = None  # (n, m): gradual n:m pruning (Algorithm 1); needs S = 1 - n/m

    # Starting point: None trains from scratch; a run id starts from that run's saved
    # checkpoint (same width), e.g. to sparsify a long-trained dense model (Section 4.2).
    init_from: str | None = None
    save_checkpoint: bool = False

    seed: int = 0
    eval_tokens: int = 262_144  # held-out validation tokens for the final loss

    def __post_init__(self):
        # Canonical types, so equal configs get equal run ids (sparsity=0 is sparsity=0.0).
        for f in _FIELDS:
            value = getattr(self, f.name)
            if f.type == "float" and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
        if self.nm is not None and not isinstance(self.nm, tuple):
            object.__setattr__(self, "nm", tuple(self.nm))
        validate(self)

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.seq_len

    @property
    def steps(self) -> int:
        return self.tokens // self.tokens_per_step

    def replace(self, **changes) -> "RunConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        # every value is a str, number, bool or None but nm (a tuple): no deep copy needed
        d = {f.name: getattr(self, f.name) for f in _FIELDS}
        d["nm"] = list(self.nm) if self.nm is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config fields {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)

    def canonical_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def check_trainable(self) -> None:
        """Raise ConfigError unless the model built for this config has about the size asked for
        and training it fits in this machine's memory (kit.engine.memory.check_run); kit.engine.sweep.check_sweep
        and kit.engine.train.run call it before anything trains."""
        from kit.engine.memory import check_run  # imported here: kit.engine.memory imports kit.engine.model (JAX)
        check_run(self)


_FIELDS = dataclasses.fields(RunConfig)


def _check_types(c: RunConfig) -> None:
    """Every int, float, bool and optional-str field holds that type (ints not bools, floats finite)."""
    for f in _FIELDS:
        value = getattr(c, f.name)
        if f.type == "int":
            if not (isinstance(value, int) and not isinstance(value, bool)):
                raise ConfigError(f"{f.name}={value!r}: must be an int")
        elif f.type == "float":
            if not (isinstance(value, float) and math.isfinite(value)):
                raise ConfigError(f"{f.name}={value!r}: must be a finite number")
        elif f.type == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{f.name}={value!r}: must be True or False")
        elif f.type == "str | None":
            if not (value is None or isinstance(value, str)):
                raise ConfigError(f"{f.name}={value!r}: must be a string or None")


def _whole(name: str, value: int, unit: int, what: str) -> None:
    """Require value to be a multiple of unit, naming the nearest multiples (a run uses only whole
    units, so another value would train the same run under another id)."""
    if value % unit != 0:
        below, above = value // unit * unit, (value // unit + 1) * unit
        nearest = f"{below} or {above}" if below > 0 else f"{above}"
        raise ConfigError(f"{name}={value}: not a whole number of {what} = {unit} tokens "
                          f"({value} / {unit} = {value / unit:.2f}); use {nearest}")


def validate(c: RunConfig) -> None:
    """Raise ConfigError naming the field, its value and what is allowed. RunConfig calls it on
    construction, so a config that exists has passed it.

        >>> validate(RunConfig(n_nonzero=3072))  # valid: returns None
    """
    _check_types(c)
    if not (isinstance(c.n_nonzero, int) and c.n_nonzero > 0):
        raise ConfigError(f"n_nonzero={c.n_nonzero!r}: must be a positive int")
    if not (0.0 <= c.sparsity < 1.0):
        raise ConfigError(f"sparsity={c.sparsity!r}: must be in [0, 1)")
    if not (isinstance(c.tokens, int) and c.tokens > 0):
        raise ConfigError(f"tokens={c.tokens!r}: must be a positive int")
    if not (c.n_layers >= 1):
        raise ConfigError(f"n_layers={c.n_layers!r}: must be >= 1")
    if not (c.seq_len >= 2):
        raise ConfigError(f"seq_len={c.seq_len!r}: must be >= 2")
    if not (c.width_multiple >= 1):
        raise ConfigError(f"width_multiple={c.width_multiple!r}: must be >= 1")
    if not (c.batch_size >= 1):
        raise ConfigError(f"batch_size={c.batch_size!r}: must be >= 1")
    if not (c.steps >= 10):
        raise ConfigError(f"tokens={c.tokens}: gives {c.steps} steps of "
                          f"{c.tokens_per_step} tokens (batch_size*seq_len); at least 10 steps are needed")
    if not (c.lr > 0):
        raise ConfigError(f"lr={c.lr!r}: must be > 0")
    if not (0.0 <= c.warmup_frac < 1.0):
        raise ConfigError(f"warmup_frac={c.warmup_frac!r}: must be in [0, 1)")
    if not (0.0 <= c.lr_min_ratio <= 1.0):
        raise ConfigError(f"lr_min_ratio={c.lr_min_ratio!r}: must be in [0, 1]")
    if not (c.schedule in SCHEDULES):
        raise ConfigError(f"schedule={c.schedule!r}: allowed {SCHEDULES}")
    if not (c.prune_clock in CLOCKS):
        raise ConfigError(f"prune_clock={c.prune_clock!r}: allowed {CLOCKS}")
    if not (c.prune_scope in SCOPES):
        raise ConfigError(f"prune_scope={c.prune_scope!r}: allowed {SCOPES}")
    if not (0.0 <= c.prune_start < c.prune_end <= 1.0):
        raise ConfigError(f"prune_start={c.prune_start!r}, prune_end={c.prune_end!r}: need 0 <= start < end <= 1")
    if not (0.0 < c.prune_every <= 1.0):
        raise ConfigError(f"prune_every={c.prune_every!r}: must be in (0, 1]")
    if c.nm is not None:
        if not (len(c.nm) == 2 and all(isinstance(v, int) for v in c.nm) and 0 < c.nm[0] < c.nm[1]):
            raise ConfigError(f"nm={c.nm!r}: must be (n, m) ints with 0 < n < m")
        n, m = c.nm
        if not (c.width_multiple % m == 0):
            raise ConfigError(f"nm={c.nm!r}: m={m} must divide every layer's input dimension; "
                              f"set width_multiple to a multiple of {m} (now {c.width_multiple})")
        if not (abs(c.sparsity - (1 - n / m)) < 1e-9):
            raise ConfigError(f"nm={c.nm!r} with sparsity={c.sparsity!r}: n:m pruning ends at sparsity "
                              f"1 - n/m = {1 - n / m}")
        if not (c.prune_scope == "layer"):
            raise ConfigError(f"nm={c.nm!r}: n:m pruning is per layer; prune_scope must be 'layer'")
    if not (c.eval_tokens >= c.seq_len):
        raise ConfigError(f"eval_tokens={c.eval_tokens!r}: must be >= seq_len={c.seq_len}")
    _whole("tokens", c.tokens, c.tokens_per_step, f"steps of batch_size*seq_len = {c.batch_size}*{c.seq_len}")
    _whole("eval_tokens", c.eval_tokens, c.seq_len, "windows of seq_len")
    if not (c.weight_decay >= 0):
        raise ConfigError(f"weight_decay={c.weight_decay!r}: must be >= 0 (0 turns it off)")
    if not (c.grad_clip > 0):
        raise ConfigError(f"grad_clip={c.grad_clip!r}: must be > 0 (the largest global gradient norm "
                          f"an update may have; use a large value to clip nothing)")
    if not (0 <= c.seed < 2**63):
        raise ConfigError(f"seed={c.seed!r}: must be an int in [0, 2**63)")
    if not (c.init_from is None or re.fullmatch("[0-9a-f]{16}", c.init_from) is not None):
        raise ConfigError(f"init_from={c.init_from!r}: must be None or a run id (16 hex digits, kit.engine.store.run_id)")
