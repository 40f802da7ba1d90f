"""kit.threads: the switch to single-threaded XLA, in a fresh process (it must precede JAX's backend)."""

import os
import subprocess
import sys
import time

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


def test_a_worker_ends_when_the_process_that_started_it_is_killed(tmp_path):
    """A parent process starts a pool worker (kit.threads.init_worker), writes its pid and is
    killed with SIGKILL: the worker is gone within a few seconds."""
    code = ("import concurrent.futures as cf, multiprocessing, os, sys, time\n"
            "from kit import threads\n"
            "pool = cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn'), initializer=threads.init_worker)\n"
            "print(pool.submit(os.getpid).result(), flush=True)\n"
            "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.time() + 20
    while time.time() < deadline and os.path.exists(f"/proc/{worker}"):
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{worker}"), "the worker outlived its parent"
