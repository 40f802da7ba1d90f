import dataclasses
import json
import os
import stat

import numpy as np
import pytest

from kit.engine.config import RunConfig
from kit.engine.store import RunStore, StoreError, comparable, run_id

FP = "f" * 64
BASE = RunConfig(tokens=16 * 4 * 20, seq_len=16, batch_size=4, eval_tokens=256)


def record(config=BASE, status="ok", loss=2.5, fingerprint=FP):
    return {"id": run_id(config, fingerprint), "status": status,
            "reason": None if status == "ok" else "loss is NaN at step 7",
            "config": config.to_dict(), "corpus": {"name": "tiny", "fingerprint": fingerprint,
                                                   "train_tokens": 1000, "val_tokens": 100},
            "metrics": {"val_loss": loss}, "curve": {"step": [0, 1], "train_loss": [3.0, loss]},
            "versions": {}, "checkpoint": None, "created": "2026-01-01T00:00:00+00:00"}


def test_roundtrip(tmp_path):
    store = RunStore(tmp_path)
    r = record()
    assert not store.has(r["id"])
    store.put(r)
    assert store.has(r["id"]) and store.get(r["id"]) == r
    assert (tmp_path / f"{r['id']}.json").is_file()
    assert store.records() == [r] and store.records("failed") == []
    assert RunConfig.from_dict(store.get(r["id"])["config"]) == BASE


def test_put_replaces_and_leaves_no_temp_file(tmp_path):
    store = RunStore(tmp_path)
    store.put(record(loss=2.5))
    store.put(record(loss=2.0))
    assert [p.name for p in tmp_path.iterdir()] == [f"{run_id(BASE, FP)}.json"]
    assert store.get(run_id(BASE, FP))["metrics"]["val_loss"] == 2.0


def test_leftover_temp_file_is_not_a_record(tmp_path):
    store = RunStore(tmp_path)
    store.put(record())
    other = record(BASE.replace(seed=1))
    # what a process killed mid-write leaves behind: a partial temporary file
    (tmp_path / f".{other['id']}.abc123.tmp").write_text(json.dumps(other)[:40])
    assert not store.has(other["id"])
    assert [r["id"] for r in store.records()] == [run_id(BASE, FP)]
    assert len(store.frame()) == 1


def test_numpy_and_non_finite_values_become_json(tmp_path):
    store = RunStore(tmp_path)
    r = record(status="failed", loss=float("nan"))
    r["metrics"]["steps_done"] = np.int64(7)
    r["curve"]["train_loss"] = np.array([3.0, np.inf], dtype=np.float32)
    store.put(r)
    json.loads(store.path(r["id"]).read_text(), parse_constant=pytest.fail)  # strict JSON: no NaN
    back = store.get(r["id"])
    assert back["metrics"] == {"val_loss": None, "steps_done": 7}
    assert back["curve"]["train_loss"] == [3.0, None]


def test_id_is_stable_and_sensitive_to_every_field_and_the_corpus():
    assert run_id(BASE, FP) == run_id(RunConfig(**BASE.to_dict() | {"nm": None}), FP)
    assert len(run_id(BASE, FP)) == 16 and int(run_id(BASE, FP), 16) >= 0
    half = BASE.replace(sparsity=0.5)
    changes = {  # one valid change per field; nm needs sparsity 1 - n/m, so it is varied from `half`
        "n_nonzero": 50_001, "sparsity": 0.25, "tokens": BASE.tokens + 64, "n_layers": 3, "embed_match": False,
        "seq_len": 32, "width_multiple": 16, "batch_size": 2, "lr": 1e-3, "warmup_frac": 0.1,
        "lr_min_ratio": 0.2, "weight_decay": 0.0, "grad_clip": 0.5, "schedule": "geometric",
        "prune_start": 0.1, "prune_end": 0.9, "prune_clock": "compute", "prune_every": 0.02,
        "prune_scope": "global", "nm": (2, 4), "init_from": "0123456789abcdef",
        "save_checkpoint": True, "seed": 1, "eval_tokens": 512}
    assert set(changes) == {f.name for f in dataclasses.fields(RunConfig)}
    ids = {run_id(BASE, FP), run_id(half, FP)}
    for name, value in changes.items():
        base = half if name == "nm" else BASE
        ids.add(run_id(base.replace(**{name: value}), FP))
    assert len(ids) == len(changes) + 2
    assert run_id(BASE, FP) != run_id(BASE, "e" * 64)


def test_put_rejects_a_record_whose_id_does_not_match(tmp_path):
    r = record()
    r["config"]["seed"] = 5
    with pytest.raises(ValueError, match="does not match its config"):
        RunStore(tmp_path).put(r)
    assert list(tmp_path.iterdir()) == []


def test_put_rejects_metrics_named_like_columns(tmp_path):
    r = record()
    r["metrics"]["tokens"] = 123
    with pytest.raises(ValueError, match=r"metrics \['tokens'\] clash"):
        RunStore(tmp_path).put(r)


def test_frame_flattens_and_ok_frame_drops_failed_with_warning(tmp_path):
    store = RunStore(tmp_path)
    store.put(record(BASE, loss=2.5))
    store.put(record(BASE.replace(seed=1), loss=2.25))
    store.put(record(BASE.replace(sparsity=0.5, nm=(2, 4)), status="failed", loss=float("nan")))
    frame = store.frame()
    assert len(frame) == 3 and set(frame["status"]) == {"ok", "failed"}
    assert {"id", "reason", "n_nonzero", "sparsity", "tokens", "val_loss", "corpus_fingerprint"} <= set(frame)
    assert frame.loc[frame["status"] == "failed", "nm"].item() == (2, 4)
    with pytest.warns(UserWarning, match=r"dropped 1 failed run\(s\) of 3: 1 x loss is NaN at step 7"):
        ok = store.ok_frame()
    assert sorted(ok["val_loss"]) == [2.25, 2.5] and set(ok["status"]) == {"ok"}


def test_empty_store_has_an_empty_frame_with_columns(tmp_path):
    frame = RunStore(tmp_path / "none").frame()
    assert len(frame) == 0 and {"id", "status", "n_nonzero", "tokens"} <= set(frame)


def test_checkpoint_path_and_default_root(tmp_path):
    store = RunStore(tmp_path)
    path = store.checkpoint_path("0123456789abcdef")
    assert path == tmp_path / "ckpt" / "0123456789abcdef.npz" and path.parent.is_dir()
    assert RunStore().root.name == "runs" and (RunStore().root.parent / "kit" / "engine" / "store.py").is_file()


def test_int_and_float_values_of_a_float_field_give_one_run_id():
    assert run_id(RunConfig(sparsity=0, prune_start=0), "fp") == run_id(RunConfig(sparsity=0.0, prune_start=0.0), "fp")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_records_are_created_like_any_file_readable_by_others_under_umask_022(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        RunStore(tmp_path).put(record())
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / f"{run_id(BASE, FP)}.json").st_mode) == mode


def test_check_writable_creates_the_folder_and_leaves_nothing(tmp_path):
    store = RunStore(tmp_path / "a" / "b")
    store.check_writable()
    assert store.root.is_dir() and list(store.root.iterdir()) == []


def test_check_writable_names_a_folder_that_cannot_be_written(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    store = RunStore(tmp_path / "file" / "runs")
    with pytest.raises(StoreError) as err:
        store.check_writable()
    assert str(err.value).startswith(f"run store {tmp_path / 'file' / 'runs'} is not writable (")
    with pytest.raises(StoreError, match="is not writable"):
        RunStore("/proc/kit-runs").check_writable()


def test_relative_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert RunStore("runs").root == tmp_path / "runs"


@pytest.mark.parametrize("edit, problem", [
    (lambda r: r.pop("metrics"), "lacks keys ['metrics']"),
    (lambda r: [r.pop("status"), r.pop("config")], "lacks keys ['status', 'config']"),
    (lambda r: r["corpus"].pop("fingerprint"), "lacks the key corpus.fingerprint"),
    (lambda r: r.update(status="done"), "has status='done'; allowed ('ok', 'failed')"),
    (lambda r: r.update(id="0" * 16), "holds id='0000000000000000', not the id in its file name"),
])
def test_a_broken_record_is_named_with_what_is_wrong(tmp_path, edit, problem):
    store = RunStore(tmp_path)
    r = record()
    store.put(r)
    broken = json.loads(store.path(r["id"]).read_text())
    edit(broken)
    store.path(r["id"]).write_text(json.dumps(broken))
    for read in (lambda: store.get(r["id"]), store.records, store.frame):
        with pytest.raises(StoreError) as err:
            read()
        assert str(err.value).startswith(f"run record {store.path(r['id'])} {problem}")
        assert "delete it" in str(err.value)


def test_a_record_that_is_not_json_or_not_an_object_is_named(tmp_path):
    store = RunStore(tmp_path)
    (tmp_path / "0123456789abcdef.json").write_text("{")
    with pytest.raises(StoreError, match=r"run record .*0123456789abcdef\.json is not valid JSON"):
        store.records()
    (tmp_path / "0123456789abcdef.json").write_text("[1, 2]")
    with pytest.raises(StoreError, match=r"0123456789abcdef\.json is a JSON list, not an object"):
        store.records()


def test_a_record_whose_config_does_not_give_its_id_is_refused_by_every_read(tmp_path):
    """An edited or copied record (seed 7's run under seed 0's id) is never served as seed 0's run."""
    store = RunStore(tmp_path)
    seed0, seed7 = record(BASE), record(BASE.replace(seed=7))
    store.put(seed7)
    copied = dict(seed7, id=seed0["id"])  # copied into seed 0's file, its id edited to match the name
    store.path(seed0["id"]).write_text(json.dumps(copied))
    expected = (f"run record {store.path(seed0['id'])} id={seed0['id']!r} does not match its config and corpus "
                f"fingerprint, which give {seed7['id']!r} (kit.engine.store.run_id): an edited or copied record")
    for read in (lambda: store.get(seed0["id"]), store.records, store.frame):
        with pytest.raises(StoreError) as err:
            read()
        assert str(err.value).startswith(expected) and "delete it" in str(err.value)
        assert "\n" not in str(err.value)
    edited = json.loads(store.path(seed7["id"]).read_text())
    edited["config"]["seed"] = 0  # edited in place: the config no longer gives the file's id
    store.path(seed7["id"]).write_text(json.dumps(edited))
    with pytest.raises(StoreError, match=f"id='{seed7['id']}' does not match its config"):
        store.get(seed7["id"])


def test_a_record_with_an_invalid_config_is_named(tmp_path):
    store = RunStore(tmp_path)
    r = record()
    store.put(r)
    for change, problem in (({"sparsity": 1.5}, "sparsity=1.5: must be in [0, 1)"),
                            ({"widht": 8}, "unknown config fields ['widht']"), ({"nm": 5}, "")):
        broken = json.loads(store.path(r["id"]).read_text())
        broken["config"].update(change)
        store.path(r["id"]).write_text(json.dumps(broken))
        with pytest.raises(StoreError) as err:
            store.get(r["id"])
        assert str(err.value).startswith(f"run record {store.path(r['id'])} has a config that is not a valid "
                                         f"RunConfig ({problem}")


def test_every_record_of_the_repository_store_passes_the_id_check():
    records = RunStore().records()  # raises StoreError naming the first record that does not
    assert all(r["id"] == run_id(RunConfig.from_dict(r["config"]), r["corpus"]["fingerprint"]) for r in records)


@pytest.mark.parametrize("root", ["", "  "])
def test_an_empty_root_is_refused_not_read_as_the_working_directory(root):
    with pytest.raises(ValueError, match=r"^run store root '\s*' is empty: give a folder, or None for the "
                                         r"repository's runs/"):
        RunStore(root)


def test_comparable_records_leave_out_what_two_trainings_may_differ_in():
    record = {"id": "a", "status": "ok", "created": "now", "versions": {"jax": "1"}, "engine": {"xla_threads": 2},
              "config": {"seed": 0}, "metrics": {"final_loss": 2.0, "wall_s": 3.0, "compile_s": 1.0, "eval_s": 0.5}}
    other = {**record, "created": "later", "versions": {"jax": "2"}, "engine": {"xla_threads": 1},
             "metrics": {**record["metrics"], "wall_s": 9.0}}
    assert comparable(record) == comparable(other) == {"id": "a", "status": "ok", "config": {"seed": 0},
                                                       "metrics": {"final_loss": 2.0}}
    assert comparable(record) != comparable({**other, "metrics": {**other["metrics"], "final_loss": 2.0001}})
