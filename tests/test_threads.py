"""kit.threads: the switch to single-threaded XLA, in a fresh process (it must precede JAX's backend)."""

import os
import subprocess
import sys

from kit import threads

CORES = len(os.sched_getaffinity(0))


def test_one_thread_is_set_once_and_read_back(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/nowhere")
    assert threads.xla_threads() == CORES
    threads.use_one_thread()
    threads.use_one_thread()
    assert os.environ["XLA_FLAGS"] == f"--xla_dump_to=/tmp/nowhere {threads.ONE_THREAD_FLAGS}"
    assert threads.xla_threads() == 1


def test_a_single_threaded_process_uses_about_one_core():
    """CPU time over wall time of a matmul loop stays at or below about one core with the switch
    (how far above one the default goes depends on the machine's load, so it is not asserted)."""
    code = ("import sys, time, resource; from kit import threads\n"
            "if sys.argv[1] == 'one': threads.use_one_thread()\n"
            "import jax, jax.numpy as jnp\n"
            "a = jnp.ones((1024, 1024)); f = jax.jit(lambda a: a @ a @ a); f(a).block_until_ready()\n"
            "t, c = time.perf_counter(), time.process_time()\n"
            "for _ in range(20): f(a).block_until_ready()\n"
            "print((time.process_time() - c) / (time.perf_counter() - t))")
    ratio = float(subprocess.run([sys.executable, "-c", code, "one"], capture_output=True, text=True,
                                 check=True).stdout.split()[-1])
    assert 0 < ratio < 1.25
