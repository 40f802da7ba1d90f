"""kit.engine.threads: the switch to single-threaded XLA, in a fresh process (it must precede JAX's backend)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from kit.engine import threads

ROOT = Path(__file__).resolve().parents[1]
CORES = len(os.sched_getaffinity(0))


def test_one_thread_is_set_once_and_read_back(monkeypatch):
    pinned = []  # this test process itself stays on all its cores
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cores: pinned.append((pid, cores)))
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/nowhere")
    assert threads.xla_threads() == CORES
    threads.use_one_thread()
    threads.use_one_thread(core=max(os.sched_getaffinity(0)))
    assert os.environ["XLA_FLAGS"] == f"--xla_dump_to=/tmp/nowhere {threads.ONE_THREAD_FLAGS}"
    assert threads.xla_threads() == 1
    assert pinned == [(0, {min(os.sched_getaffinity(0))}), (0, {max(os.sched_getaffinity(0))})]


def test_a_single_threaded_process_uses_about_one_core():
    """CPU time over wall time of a matmul loop stays at or below about one core with the switch
    (how far above one the default goes depends on the machine's load, so it is not asserted)."""
    code = ("import sys, time, resource; from kit.engine import threads\n"
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
    """A parent process starts a pool worker (kit.engine.threads.init_worker), writes its pid and is
    killed with SIGKILL: the worker is gone within a few seconds."""
    code = ("import concurrent.futures as cf, multiprocessing, os, sys, time\n"
            "from kit.engine import threads\n"
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


def test_a_pool_pins_each_worker_to_a_core_of_its_own(tmp_path):
    """Twice as many workers as cores: each runs on one core with the one-thread flags, and the cores
    are dealt out in turn, two workers to each."""
    n = 2 * CORES
    code = ("import os, time; from kit.engine import threads\n"
            "def where(_):\n"
            "    time.sleep(0.2)\n"
            "    return os.getpid(), tuple(sorted(os.sched_getaffinity(0))), os.environ['XLA_FLAGS']\n"
            "if __name__ == '__main__':\n"
            "    seen, deadline = {}, time.time() + 60\n"
            f"    with threads.pool({n}) as pool:\n"
            f"        while len(seen) < {n} and time.time() < deadline:  # until every worker has had a task\n"
            f"            seen.update((pid, rest) for pid, *rest in pool.map(where, range({n})))\n"
            "    print([(pid, *rest) for pid, rest in seen.items()])\n")
    (tmp_path / "where.py").write_text(code)  # spawned workers import the functions of a file, not of -c
    out = subprocess.run([sys.executable, tmp_path / "where.py"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    workers = eval(out)
    assert len(workers) == n
    assert all(len(cores) == 1 and threads.ONE_THREAD_FLAGS in flags for _, cores, flags in workers)
    used = sorted(cores[0] for _, cores, _ in workers)
    assert used == sorted(sorted(os.sched_getaffinity(0)) * 2)
