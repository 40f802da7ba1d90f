import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optax

from kit.engine import data, model, pruning, train
from kit import laws
from kit.engine.config import ConfigError, RunConfig
from kit.engine.store import RunStore
from test_data import host_batches

STEPS = 200
# A tiny model (2 layers of d_model 8: 1536 prunable weights) reading 128 tokens a step.
TINY = RunConfig(n_nonzero=1536, n_layers=2, seq_len=16, batch_size=8, tokens=STEPS * 8 * 16, eval_tokens=1024,
                 lr=1e-2)
UNIFORM = math.log(256)


@pytest.fixture(scope="module")
def shakespeare():
    return data.load_corpus()


@pytest.fixture(scope="module")
def dense(shakespeare, tmp_path_factory):
    """A 200-step dense run that saves its checkpoint, and its store."""
    store = RunStore(tmp_path_factory.mktemp("dense"))
    return train.run(TINY.replace(save_checkpoint=True), corpus=shakespeare, store=store), store


@pytest.fixture(scope="module")
def sparse_runs(shakespeare, tmp_path_factory):
    """Sparse runs on top of TINY, by name; all trained into one temporary store."""
    store = RunStore(tmp_path_factory.mktemp("sparse"))
    configs = {
        "cubic": TINY.replace(n_nonzero=1536, sparsity=0.75),  # d_model 16 (the dense run of equal N: 8)
        "geometric": TINY.replace(n_nonzero=768, sparsity=0.5, schedule="geometric",
                                  prune_every=0.2, prune_end=0.7),  # updates every 40 steps; the last jump (step 140) falls between
        "compute": TINY.replace(n_nonzero=768, sparsity=0.5, prune_clock="compute"),
        "nm": TINY.replace(n_nonzero=3072, sparsity=0.5, nm=(2, 4), width_multiple=8),  # d_model 16
    }
    return {name: (config, train.run(config, corpus=shakespeare, store=store)) for name, config in configs.items()}


@pytest.fixture
def small_corpus(tmp_path):
    """Ten 2 kB text files: about 18 kB of training text, one validation document."""
    root = tmp_path / "texts"
    root.mkdir()
    rng = np.random.default_rng(0)
    for k in range(10):
        words = rng.choice(["to", "be", "or", "not", "that", "is", "the", "question"], 400)
        (root / f"doc{k}.txt").write_text(" ".join(words) + "\n")
    return data.load_corpus(root)


def no_training(*args, **kwargs):
    raise AssertionError("training started")


KERNEL_SIZE = {"qkv": 3, "out": 1, "up": 4, "down": 4}  # prunable kernel sizes in units of d_model^2


def layer_sizes(d_model, n_layers):
    return [f * d_model**2 for _ in range(n_layers) for f in KERNEL_SIZE.values()]


def backbone_sparsity(metrics):
    """layer_sparsity without the embedding's entry, which test_embedding_is_matched checks."""
    return {k: v for k, v in metrics["layer_sparsity"].items() if not k.startswith("embed/")}


# ------------------------------------------------------------------------------- learning


def test_a_dense_run_learns(dense):
    record, _ = dense
    m, curve = record["metrics"], record["curve"]
    assert record["status"] == "ok" and record["reason"] is None
    assert m["d_model"] == 8 and m["n_dense"] == 1536 and m["nnz"] == 1536 and m["steps"] == STEPS
    assert m["final_loss"] < 0.65 * UNIFORM  # about 0.56 log 256 after 200 steps
    losses = np.array(curve["train_loss"])
    assert len(losses) == len(curve["step"]) == len(curve["nnz"]) and curve["step"][-1] == STEPS - 1
    assert abs(losses[0] - UNIFORM) < 1.0  # starts near uniform guessing
    assert losses[-10:].mean() < losses[:10].mean() - 1.5


def test_same_seed_same_run_other_seed_differs(dense, shakespeare, tmp_path):
    record, _ = dense
    again = train.run(TINY.replace(save_checkpoint=True), corpus=shakespeare, store=RunStore(tmp_path / "a"))
    assert again["id"] == record["id"]
    assert again["metrics"]["final_loss"] == pytest.approx(record["metrics"]["final_loss"], abs=1e-6)
    np.testing.assert_allclose(again["curve"]["train_loss"], record["curve"]["train_loss"], atol=1e-6)
    other = train.run(TINY.replace(seed=1), corpus=shakespeare, store=RunStore(tmp_path / "b"))
    assert abs(other["metrics"]["final_loss"] - record["metrics"]["final_loss"]) > 1e-4
    assert np.max(np.abs(np.subtract(other["curve"]["train_loss"], record["curve"]["train_loss"]))) > 1e-3


def test_dense_accounting(dense):
    m = dense[0]["metrics"]
    assert m["tokens_trained"] == STEPS * TINY.tokens_per_step == TINY.tokens
    assert m["dense_flops"] == m["sparse_flops"] == 6 * 1536 * TINY.tokens
    assert m["cmul_measured"] == 1.0 and m["n_avg"] == 1536 and m["sparsity_actual"] == 0.0
    assert set(m["layer_sparsity"].values()) == {0.0} and len(m["layer_sparsity"]) == 9  # 8 kernels, the embedding
    assert m["nnz_embed"] == 256 * 8 and m["n_total"] == 1536 + 256 * 8 and m["embed_sparsity_actual"] == 0.0
    assert m["model_flops"] == m["model_flops_sparse"] > m["dense_flops"]
    assert m["nm_violations"] is None


# ------------------------------------------------------------------------------- pruning


@pytest.mark.parametrize("name", ["cubic", "geometric", "compute", "nm"])
def test_sparse_runs_reach_the_target_exactly(sparse_runs, name):
    config, record = sparse_runs[name]
    m = record["metrics"]
    assert record["status"] == "ok"
    assert len(backbone_sparsity(m)) == 4 * config.n_layers
    for layer, s in backbone_sparsity(m).items():  # 'block_0/attn/qkv/kernel': ...
        size = KERNEL_SIZE[layer.split("/")[-2]] * m["d_model"] ** 2
        assert abs(s - config.sparsity) <= 1 / size, layer
    assert m["sparsity_actual"] == pytest.approx(config.sparsity, abs=1e-3)
    assert m["nnz"] == round((1 - config.sparsity) * m["n_dense"]) == config.n_nonzero
    assert record["curve"]["nnz"][0] == m["n_dense"] and record["curve"]["nnz"][-1] == m["nnz"]
    assert np.all(np.diff(record["curve"]["nnz"]) <= 0)  # pruned weights never come back
    assert m["final_loss"] < 0.7 * UNIFORM


def test_nm_run_ends_in_the_pattern(sparse_runs):
    config, record = sparse_runs["nm"]
    m = record["metrics"]
    assert m["nm_violations"] == 0
    assert set(backbone_sparsity(m).values()) == {0.5}


@pytest.mark.parametrize("name", ["cubic", "nm"])
def test_embedding_is_matched_to_the_dense_model_of_equal_n(sparse_runs, name):
    """The sparse model is wider than the dense model of equal N; its tied embedding keeps exactly the
    dense model's 256 x d_dense non-zeros, so both have the same number of non-zero parameters."""
    config, record = sparse_runs[name]
    m = record["metrics"]
    d_dense = model.dense_width(config)
    assert m["d_model"] > d_dense
    assert m["nnz_embed"] == 256 * d_dense and m["n_total"] == m["nnz"] + 256 * d_dense
    assert m["layer_sparsity"]["embed/embedding"] == pytest.approx(1 - d_dense / m["d_model"])
    assert m["dense_flops"] < m["model_flops_sparse"] < m["model_flops"]


def expected_nonzero_token_sum(config, m):
    """sum over steps of (non-zeros the step computes with) x tokens: step t computes with the
    params left by step t-1, whose every layer keeps round((1 - s) * size) weights at the scheduled
    sparsity s of step t-1 (all n_dense before the first step). Rounded as the pruner does (float32)."""
    s_T = np.asarray(pruning.schedule_fn(config)(jnp.arange(config.steps))["backbone"])
    density_T = (1 - s_T).astype(np.float32)
    sizes = layer_sizes(m["d_model"], config.n_layers)
    kept_T = sum(np.round(density_T * np.float32(size)).astype(np.int64) for size in sizes)
    entering_T = np.concatenate([[sum(sizes)], kept_T[:-1]])
    return int(entering_T.sum()) * config.tokens_per_step


@pytest.mark.parametrize("name", ["cubic", "geometric", "compute", "nm"])
def test_sparse_flops_count_the_nonzeros_of_every_step(sparse_runs, name):
    config, record = sparse_runs[name]
    m = record["metrics"]
    total = expected_nonzero_token_sum(config, m)
    assert m["sparse_flops"] == pytest.approx(6 * total, rel=1e-12)
    assert m["n_avg"] == pytest.approx(total / m["tokens_trained"], rel=1e-12)
    assert m["sparse_flops"] == pytest.approx(6 * m["n_avg"] * m["tokens_trained"], rel=1e-12)
    assert m["dense_flops"] == 6 * m["n_dense"] * m["tokens_trained"]
    assert m["tokens_trained"] == config.tokens
    assert m["cmul_measured"] == pytest.approx(m["sparse_flops"] / (6 * m["nnz"] * m["tokens_trained"]), rel=1e-12)


@pytest.mark.parametrize("name", ["cubic", "compute", "nm"])
def test_measured_cost_matches_the_law(sparse_runs, name):
    """With mask updates every 2 of 200 steps the measured cost is the law's up to discretisation:
    masks lag the continuous schedule by up to one update interval plus one step."""
    config, record = sparse_runs[name]
    m = record["metrics"]
    start, end = pruning.prune_window(config)
    law = laws.cmul(m["sparsity_actual"], start, end, config.schedule)
    assert m["cmul_measured"] == pytest.approx(law, rel=0.03)
    assert m["cmul_measured"] > law  # the staircase lags the increasing schedule: more non-zeros
    assert m["n_avg"] == pytest.approx(laws.n_avg(m["nnz"], m["sparsity_actual"], start, end, config.schedule),
                                       rel=0.03)


def test_compute_clock_starts_pruning_earlier_in_steps(sparse_runs):
    """Steps are dearer before pruning than after, so 25% of the sparse compute is spent before 25%
    of the steps: pruning starts (and ends) at an earlier step than with the steps clock."""
    config, record = sparse_runs["compute"]
    start, end = pruning.prune_window(config)
    assert start < 0.25 - 0.02 and end < 0.75
    curve = record["curve"]
    first_pruned = next(step for step, nnz in zip(curve["step"], curve["nnz"]) if nnz < record["metrics"]["n_dense"])
    assert abs(first_pruned - start * config.steps) <= 2 * pruning.update_every(config)


# ------------------------------------------------------------------------------- store and errors


def test_a_stored_run_is_not_trained_again(dense, shakespeare, monkeypatch):
    record, store = dense
    monkeypatch.setattr(train, "train", no_training)
    assert train.run(TINY.replace(save_checkpoint=True), corpus=shakespeare, store=store) == record


def test_a_budget_over_the_corpus_fails_before_training(small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "train", no_training)
    store = RunStore(tmp_path / "runs")
    assert data.capacity(small_corpus, TINY.seq_len) < TINY.tokens
    with pytest.raises(ConfigError, match=r"tokens=25600 exceeds the capacity"):
        train.run(TINY, corpus=small_corpus, store=store)
    assert store.records() == []


def test_a_diverging_run_is_recorded_as_failed(dense, shakespeare, tmp_path):
    store = RunStore(tmp_path)
    good = dense[0]
    store.put(good)
    bad = train.run(TINY.replace(tokens=20 * 128, lr=1e6), corpus=shakespeare, store=store)
    assert bad["status"] == "failed" and "(NaN or diverged)" in bad["reason"]
    assert bad["curve"]["train_loss"][-1] > 2 * UNIFORM and math.isnan(bad["metrics"]["final_loss"])
    assert store.get(bad["id"])["status"] == "failed"
    with pytest.warns(UserWarning, match=r"dropped 1 failed run\(s\) of 2: 1 x train loss .* \(NaN or diverged\)"):
        frame = store.ok_frame()
    assert list(frame["id"]) == [good["id"]]


def test_a_nan_loss_is_recorded_as_failed(small_corpus, tmp_path, monkeypatch):
    def nan_chunk(static, state, hp, stream, starts_KxB):
        K = len(starts_KxB)
        nan_loss = lambda state, *args: (state, (jnp.full(K, jnp.nan), jnp.zeros(K, int), jnp.zeros(K, int)))
        return nan_loss, 0.0
    monkeypatch.setattr(train, "compiled_chunk", nan_chunk)
    record = train.run(TINY.replace(tokens=20 * 128), corpus=small_corpus, store=RunStore(tmp_path))
    assert record["status"] == "failed" and record["reason"] == "train loss nan at step 0 (NaN or diverged)"
    assert record["curve"]["step"] == [0]  # stopped at the first bad step
    stored = RunStore(tmp_path).get(record["id"])
    assert stored["status"] == "failed" and stored["metrics"]["final_loss"] is None  # JSON null
    assert stored["checkpoint"] is None


def test_init_from_continues_a_checkpoint(dense, shakespeare):
    parent, store = dense
    assert (store.root / parent["checkpoint"]).is_file()
    config = TINY.replace(tokens=20 * 128, init_from=parent["id"])
    child = train.run(config, corpus=shakespeare, store=store)
    first = child["curve"]["train_loss"][0]
    assert first < parent["curve"]["train_loss"][0] - 1.5  # a fresh model starts near log 256
    assert first < parent["metrics"]["final_loss"] + 0.5
    assert child["metrics"]["data_offset"] == parent["metrics"]["tokens_trained"]


def test_init_from_an_unknown_run_fails_before_training(shakespeare, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "train", no_training)
    store = RunStore(tmp_path)
    with pytest.raises(ConfigError, match="init_from='0123456789abcdef'"):
        train.run(TINY.replace(init_from="0123456789abcdef"), corpus=shakespeare, store=store)
    assert store.records() == []


def test_a_validation_loss_not_below_uniform_guessing_is_a_failure(small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "evaluate", lambda *args, **kwargs: (6.0, 0.0))
    record = train.run(TINY.replace(tokens=20 * 128), corpus=small_corpus, store=RunStore(tmp_path))
    assert record["status"] == "failed" and record["reason"].startswith("validation loss 6.0 is not below ln 256")


# ------------------------------------------------------------------------------- the compiled loop


def reference_losses(config, corpus):
    """Per-step train losses of the plain loop: one jitted step per batch, batches from the host."""
    static, hp = train.static_for(config), train.hyper_for(config)
    params = model.init_params(static.shape, config.seed)
    tx = train.optimizer(static, hp, model.prunable_groups(params))
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, batch_BxT1):
        loss, grads = jax.value_and_grad(model.loss_fn)(params, static.shape, batch_BxT1)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    losses = []
    for batch in host_batches(corpus, config):
        params, opt_state, loss = step(params, opt_state, jnp.asarray(batch))
        losses.append(float(loss))
    return np.array(losses)


@pytest.mark.parametrize("sparsity", [0.0, 0.75])
def test_the_compiled_loop_follows_the_plain_loop(shakespeare, sparsity):
    """The chunked loop (device-side batches and counts, lax.fori_loop) changes a run's loss curve
    only by float reordering: over 150 steps (three chunks, the last partial) the per-step train
    losses of the two agree to 1e-4 nats."""
    config = TINY.replace(n_nonzero=384 if sparsity else 1536, sparsity=sparsity, tokens=150 * 128)
    params = model.init_params(model.shape_for(config), config.seed)
    _, loss_S, nnz_S, *_ = train.train(config, shakespeare, params)
    expected = reference_losses(config, shakespeare)
    assert len(loss_S) == len(expected) == 150
    np.testing.assert_allclose(loss_S, expected, atol=1e-4, rtol=0)
    assert expected[-1] < expected[0] - 1.0


def test_one_compilation_serves_every_run_of_a_shape(shakespeare, tmp_path):
    """Learning rate, weight decay, length and pruning targets are runtime inputs: after the first
    run of a width, runs that differ in them start without compiling."""
    store = RunStore(tmp_path)
    first = train.run(TINY.replace(n_nonzero=768, sparsity=0.5, tokens=40 * 128, lr=3e-3), corpus=shakespeare,
                      store=store)
    other = train.run(TINY.replace(n_nonzero=384, sparsity=0.75, tokens=70 * 128, lr=1e-2, weight_decay=0.0,
                                   prune_start=0.1, seed=3), corpus=shakespeare, store=store)
    assert first["metrics"]["d_model"] == other["metrics"]["d_model"]
    assert other["metrics"]["compile_s"] == 0.0
    assert other["metrics"]["nnz"] == 384 and other["metrics"]["steps"] == 70
