import inspect

import pytest

from kit.engine import data, grids, memory, model
from kit.engine.config import ConfigError, RunConfig
from kit.engine.store import RunStore
from kit.engine.sweep import check_sweep

GiB = 2**30


def test_a_huge_model_is_refused_naming_what_it_needs_and_what_is_available():
    for n_nonzero in (5_000_000_000, 10**12):
        config = RunConfig(n_nonzero=n_nonzero)
        needed = memory.bytes_needed(config)
        assert needed > 20 * n_nonzero  # at least the parameters' float32 state
        with pytest.raises(ConfigError) as err:
            memory.check_fits(config, available=64 * GiB)
        assert str(err.value).startswith(f"n_nonzero={n_nonzero} at sparsity=0.0 (d_model "
                                         f"{model.shape_for(config).d_model}, 4 layers, batch_size 32, seq_len 64) "
                                         f"needs about {needed / GiB:.3g} GiB of memory to train")
        assert "64 GiB are available on this machine" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="GiB are available on this machine"):
        RunConfig(n_nonzero=10**12).check_trainable()  # this machine's memory: about 23 TiB is needed


def test_the_check_uses_the_memory_available():
    config = RunConfig(n_nonzero=221_184, sparsity=0.875)
    needed = memory.bytes_needed(config)
    memory.check_fits(config, available=needed)
    with pytest.raises(ConfigError, match=r"needs about 0\.\d+ GiB .* and 0\.\d+ GiB are available"):
        memory.check_fits(config, available=needed - 1)


def test_the_estimate_grows_with_every_size_knob():
    base = RunConfig(n_nonzero=55_296)
    needed = memory.bytes_needed(base)
    assert needed > memory.PROCESS_BYTES
    for bigger in (dict(n_nonzero=4 * 55_296), dict(batch_size=64), dict(seq_len=128, eval_tokens=262_144),
                   dict(n_layers=8, n_nonzero=2 * 55_296), dict(sparsity=0.75)):
        assert memory.bytes_needed(base.replace(**bigger)) > needed, bigger
    # parameters: 25 bytes each; one step's activations: 4 bytes per float
    shape = model.shape_for(base)
    d, L, H, T, B = shape.d_model, shape.n_layers, shape.n_heads, base.seq_len, base.batch_size
    params = model.prunable_count(d, L) + 256 * d
    assert needed == memory.PROCESS_BYTES + 25 * params + 4 * B * T * ((L + 1) * (17 * d + 2 * H * T) + 3 * 256 + 2 * d)


def test_bytes_available_reads_meminfo_and_falls_back_to_sysconf(monkeypatch, tmp_path):
    available = memory.bytes_available()
    assert 0 < available
    (tmp_path / "meminfo").write_text("MemTotal:       1000 kB\nMemAvailable:    512 kB\n")
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "meminfo")
    monkeypatch.setattr(memory, "_cgroup_room", lambda: None)
    assert memory.bytes_available() == 512 * 1024
    monkeypatch.setattr(memory, "_cgroup_room", lambda: 1000)
    assert memory.bytes_available() == 1000  # a container's limit counts
    monkeypatch.setattr(memory, "_cgroup_room", lambda: None)
    monkeypatch.setattr(memory, "MEMINFO", tmp_path / "missing")
    assert memory.bytes_available() > 0


@pytest.mark.parametrize("changes, built, near, smallest", [
    # below the narrowest model (d_model 8, 4 layers: 12 * 4 * 64 = 3,072)
    (dict(n_nonzero=1536), 3072, "3072 (d_model 8)", 2048),
    (dict(n_nonzero=1000, sparsity=0.5), 1536, "1536 (d_model 8)", 1024),
    # between two widths: d_model 8 builds 3,072 and 16 builds 12,288
    (dict(n_nonzero=6144), 3072, "3072 (d_model 8) and 12288 (d_model 16)", 2048),
])
def test_a_size_the_family_does_not_build_is_refused(changes, built, near, smallest):
    config = RunConfig(**changes)
    with pytest.raises(ConfigError) as err:
        memory.check_size(config)
    message = str(err.value)
    assert message.startswith(f"n_nonzero={config.n_nonzero} at sparsity={config.sparsity}: the model built would "
                              f"have N = {built} non-zero backbone weights (d_model ")
    assert f"the sizes built nearest are N = {near}, and the smallest n_nonzero allowed at sparsity " \
           f"{config.sparsity} is {smallest} (or lower width_multiple, now 8)" in message
    assert "\n" not in message
    memory.check_size(config.replace(n_nonzero=smallest))  # the smallest allowed is allowed


def test_sizes_within_the_factor_pass():
    for n_nonzero in (2048, 3072, 4608, 13_824, 221_184):
        memory.check_size(RunConfig(n_nonzero=n_nonzero))
    memory.check_size(RunConfig(n_nonzero=1536, width_multiple=4, n_layers=2, sparsity=0.5))  # d_model 12: 1,728


def test_check_sweep_lists_a_config_too_large_or_of_the_wrong_size_before_training():
    corpus = data.load_corpus()
    configs = [RunConfig(n_nonzero=13_824), RunConfig(n_nonzero=10**12), RunConfig(n_nonzero=1536)]
    with pytest.raises(ConfigError) as err:
        check_sweep(configs, corpus)
    lines = str(err.value).splitlines()
    assert lines[0] == "2 of 3 configs cannot run on corpus 'shakespeare'; nothing was trained:"
    assert lines[1].startswith("config 1: n_nonzero=1000000000000 at sparsity=0.0 (d_model ") and "GiB" in lines[1]
    assert lines[2].startswith("config 2: n_nonzero=1536 at sparsity=0.0: the model built would have N = 3072")


def book_configs() -> list[RunConfig]:
    """Every config of the book's grids (kit.engine.grids), sparsified continuations of the pretraining grid included."""
    configs = []
    for name, grid in inspect.getmembers(grids, inspect.isfunction):
        if name.endswith("_grid") and name != "sparsify_grid":  # grid v3's at the longest smallest budget the pilot could pick
            out = grid(max(grids.PILOT_STEPS) // 2) if name in ("matched_v3_grid", "nm_v3_grid") else grid()
            configs += [c for pair in out for c in pair] if name in ("matched_grid", "matched_v3_grid") else out
        elif name.endswith("_parts"):
            configs += [c for part in (grid(max(grids.PILOT_STEPS) // 2) if name == "grid_v3_parts" else grid()).values()
                        for c in part]
    parents = {f"{k:016x}": c for k, c in enumerate(grids.pretrain_grid())}
    return configs + grids.sparsify_grid(parents) + grids.sparsify_grid(parents, embed_match=True)


def test_the_books_grids_and_stored_runs_all_pass():
    configs = book_configs() + [RunConfig.from_dict(r["config"]) for r in RunStore().records()]
    assert len(configs) > 500 and len(grids.main_grid()) == 80
    for config in configs:
        memory.check_size(config)
        memory.check_fits(config, available=2 * GiB)  # each fits in 2 GiB
    for config in grids.main_grid():
        config.check_trainable()
