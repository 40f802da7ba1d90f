"""The sparse kernels compute the dense product, and the measurements have the promised shape.
No test asserts on a kernel's timing (those are `make bench`'s, as ratios); one checks the timer on sleeps."""

import json
import time

import numpy as np
import pytest

from kit.planner import plan, sparse_speed
from kit.planner.sparse_speed import Layer

TINY = {"tiny": Layer(d_in=8, d_out=32, tokens=16), "wide": Layer(d_in=16, d_out=8, tokens=4)}


@pytest.mark.parametrize("implementation", list(sparse_speed.IMPLEMENTATIONS))
@pytest.mark.parametrize("layer", [Layer(16, 64, 128), Layer(768, 3072, 8)], ids=["ours-d16", "t5-base, 8 tokens"])
def test_sparse_and_dense_kernels_compute_the_masked_product(implementation, layer):
    rng = np.random.default_rng()  # any draw must pass
    W_OxI = rng.standard_normal((layer.d_out, layer.d_in)).astype(np.float32)
    X_IxT = rng.standard_normal((layer.d_in, layer.tokens)).astype(np.float32)
    for _, S, mask in sparse_speed.masks(layer, (0.9,), ((2, 4),), rng):  # each mask compiles anew: few masks
        W_masked = np.where(mask, W_OxI, 0.0).astype(np.float32)
        expected = W_masked.astype(np.float64) @ X_IxT.astype(np.float64)
        dense, sparse = sparse_speed.kernels(implementation, W_masked, X_IxT)
        scale = np.abs(W_masked).astype(np.float64) @ np.abs(X_IxT)  # float32 rounding grows with this sum
        for fn in (dense, sparse):
            out = np.asarray(fn())
            assert out.shape == (layer.d_out, layer.tokens) and out.dtype == np.float32
            assert np.all(np.abs(out - expected) <= 1e-5 * scale + 1e-30)


def test_masks_have_the_requested_sparsity_and_pattern():
    rng = np.random.default_rng()
    mask = sparse_speed.random_mask((64, 24), 0.9, rng)
    assert mask.sum() == 64 * 24 - round(0.9 * 64 * 24)
    for n, m in ((2, 4), (1, 4), (4, 8)):
        nm = sparse_speed.nm_mask((6, 16), n, m, rng)
        assert np.all(nm.reshape(6, 16 // m, m).sum(-1) == n)
    with pytest.raises(ValueError, match="m dividing d_in=10"):
        sparse_speed.nm_mask((4, 10), 2, 4, rng)
    with pytest.raises(ValueError, match=r"S=1.0: must lie in \[0, 1\)"):
        sparse_speed.random_mask((4, 4), 1.0, rng)


def test_measure_returns_one_row_per_kernel_layer_and_mask(tmp_path):
    frame = sparse_speed.measure(TINY, sparsities=(0.5, 0.9), patterns=((2, 4),), implementations=("scipy-csr",),
                                 repeats=2, min_time=1e-4)
    assert list(frame.columns) == sparse_speed.COLUMNS and set(frame.implementation) == {"scipy-csr"}
    assert len(frame) == len(TINY) * 3
    assert set(zip(frame.layer, frame.pattern, frame.S)) == {
        (layer, pattern, S) for layer in TINY for pattern, S in (("unstructured", 0.5), ("unstructured", 0.9), ("2:4", 0.5))}
    assert np.all(np.isfinite(frame.speedup) & (frame.speedup > 0))
    np.testing.assert_allclose(frame.speedup, frame.dense_s / frame.sparse_s)
    table = sparse_speed.speedup_table(frame)
    assert list(table.columns) == ["S=0.5", "S=0.9", "2:4"] and len(table) == len(TINY)
    # stored and read back, a curve is a cost model of the planner, named by the machine it was timed on
    machine = sparse_speed.machine() | {"cores_used": 1}
    sparse_speed.save(frame, tmp_path / "speed.json", machine)
    back, info = sparse_speed.load(tmp_path / "speed.json")
    assert info == machine and back.equals(frame)
    curve = sparse_speed.read_curve(tmp_path / "speed.json", "scipy-csr", "tiny")
    assert curve == sparse_speed.curve(back, "scipy-csr", "tiny", info) and curve.S == (0.5, 0.9)
    assert curve.speedup == tuple(frame[(frame.implementation == "scipy-csr") & (frame.layer == "tiny")
                                        & (frame.pattern == "unstructured")].sort_values("S").speedup)
    assert (curve.hardware, curve.layer, curve.date) == (f"one core of a {machine['cores']}-core {machine['cpu']} CPU",
                                                        "tiny (8 -> 32, 16 tokens)", machine["date"])
    assert curve.backend == f"scipy {machine['scipy']} CSR vs numpy {machine['numpy']} dense ({machine['blas']})"
    assert plan.cmul_measured(0.9, curve) > 0
    sparse_speed.save(frame, tmp_path / "bare.json", {"cpu": "test"})
    with pytest.raises(ValueError, match="the machine description of these measurements lacks 'cores'"):
        sparse_speed.read_curve(tmp_path / "bare.json", "scipy-csr", "tiny")


def test_benchmark_times_on_one_core_in_a_fresh_process():
    frame, info = sparse_speed.benchmark({"tiny": TINY["tiny"]}, repeats=1, sparsities=(0.75,), patterns=((1, 4),))
    assert list(frame.columns) == sparse_speed.COLUMNS
    assert len(frame) == len(sparse_speed.IMPLEMENTATIONS) * 2 and set(frame.pattern) == {"unstructured", "1:4"}
    assert np.all(np.isfinite(frame.speedup) & (frame.speedup > 0)) and set(frame.layer) == {"tiny"}
    assert info["cores_used"] == 1 and info["repeats"] == 1 and info["seconds"] > 0
    assert {"cpu", "cores", "load_average_1min", "load_average_1min_after"} <= set(info)


def test_bad_measurement_requests():
    with pytest.raises(ValueError, match=r"implementations \['mkl'\]"):
        sparse_speed.measure(TINY, implementations=("mkl",))
    with pytest.raises(ValueError, match="repeats=0 must be >= 1"):
        sparse_speed.time_pair(lambda: None, lambda: None, repeats=0)
    frame = sparse_speed.measure({"tiny": TINY["tiny"]}, sparsities=(0.5,), patterns=(), implementations=("scipy-csr",),
                                 repeats=1, min_time=1e-4)
    with pytest.raises(ValueError, match="no unstructured measurements of implementation='scipy-csr' at layer='t5-base'"):
        sparse_speed.curve(frame, "scipy-csr", "t5-base", sparse_speed.machine())
    with pytest.raises(ValueError, match="not a file of kit.planner.sparse_speed measurements"):
        sparse_speed.load("/nonexistent/speed.json")
    with pytest.raises(ValueError, match="speedup file '/nonexistent/speed.json': not a readable JSON file"):
        sparse_speed.read_curve("/nonexistent/speed.json")


def test_the_stored_measurements_cover_every_kernel_layer_and_mask():
    frame, info = sparse_speed.load()
    assert {"cpu", "cores", "blas", "jax", "scipy", "date", "load_average_1min", "seconds"} <= set(info)
    assert info["cores_used"] == 1
    masks = {("unstructured", S) for S in sparse_speed.SPARSITIES} | {(f"{n}:{m}", 1 - n / m) for n, m in sparse_speed.PATTERNS}
    for implementation in sparse_speed.IMPLEMENTATIONS:
        for layer, shape in sparse_speed.LAYERS.items():
            rows = frame[(frame.implementation == implementation) & (frame.layer == layer)]
            assert set(zip(rows.pattern, rows.S)) == masks
            assert (rows.d_in == shape.d_in).all() and (rows.tokens == shape.tokens).all()
            assert np.all(np.isfinite(rows.speedup) & (rows.speedup > 0))
            curve = sparse_speed.curve(frame, implementation, layer, info)
            assert curve.S == sparse_speed.SPARSITIES


def test_time_pair_times_the_dense_kernel_in_full_before_the_sparse_one():
    # Timed alternately, a slow sparse kernel slowed the dense one after it (kit.planner.sparse_speed.time_pair).
    calls = []
    seconds = sparse_speed.time_pair(lambda: calls.append("dense"), lambda: calls.append("sparse"),
                                     repeats=3, min_time=1e-4)
    first_sparse = calls.index("sparse")
    assert set(calls[:first_sparse]) == {"dense"} and set(calls[first_sparse:]) == {"sparse"}
    assert all(s > 0 for s in seconds)


def test_time_pair_measures_what_a_call_costs():
    dense_s, sparse_s = sparse_speed.time_pair(lambda: time.sleep(1e-3), lambda: time.sleep(4e-3), repeats=3,
                                               min_time=1e-2)
    assert 1e-3 <= dense_s < 3e-3 and 4e-3 <= sparse_s < 8e-3  # sleep never returns early; overshoot is small


def test_the_stored_curve_names_its_hardware_backend_layer_and_date():
    curve = sparse_speed.read_curve()  # the planner's default measured cost: jax-bcsr at t5-base
    assert curve.describe() == ("jax-bcsr at t5-base (768 -> 3072, 512 tokens) on one core of a 2-core AMD EPYC CPU "
                                "(jax 0.10.2 BCSR vs XLA dense, cpu), measured 2026-11-29")
    assert sparse_speed.read_curve(None, "scipy-csr", "ours-d16").backend.startswith("scipy 1.17.1 CSR vs numpy 2.4.6 dense")


def test_a_speed_table_is_one_curve_with_its_provenance(tmp_path):
    table = {"kernel": "cusparselt-2:4", "hardware": "NVIDIA A100-SXM4-80GB", "backend": "cuSPARSELt 0.6",
             "layer": "4096 -> 16384, 8192 tokens", "date": "2025-03-01", "S": [0.5, 0.75], "speedup": [1.6, 1.9]}
    (tmp_path / "gpu.json").write_text(json.dumps(table))
    curve = sparse_speed.read_curve(tmp_path / "gpu.json")
    assert curve == plan.SpeedupCurve("cusparselt-2:4", (0.5, 0.75), (1.6, 1.9), "NVIDIA A100-SXM4-80GB",
                                      "cuSPARSELt 0.6", "4096 -> 16384, 8192 tokens", "2025-03-01")
    (tmp_path / "bad.json").write_text(json.dumps({**table, "note": "x"}))
    with pytest.raises(ValueError, match="neither kit.planner.sparse_speed measurements nor a speed table with exactly the keys "
                                         "kernel, hardware, backend, layer, date, S, speedup"):
        sparse_speed.read_curve(tmp_path / "bad.json")
