"""XLA:CPU's thread count in this process, the switch that makes it one, and a pool of such processes.

A sweep may train several runs side by side, each in a process of its own with single-threaded
XLA (kit.engine.sweep): at small widths one run leaves most of the second core idle, and two one-thread
runs side by side train more runs an hour than one run on both cores (kit.engine.throughput measures
it per width). The switch must be thrown before JAX creates its CPU backend, so this module
imports nothing of JAX: a worker process calls `use_one_thread` first thing.

The switch is two things. XLA's flags turn off Eigen's thread pool, and the process is pinned to
one core: some XLA:CPU builds run parts of a computation on a pool of their own that the flags do
not reach, and JAX sizes that pool from the cores the process may run on (seen on a 2-core CI
machine, where the flags alone left a matmul loop at 1.9 cores).
"""

import concurrent.futures as cf
import multiprocessing
import os
import queue
import threading
import time

ONE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def use_one_thread(core: int | None = None) -> None:
    """Make XLA:CPU in this process single-threaded (call before JAX's backend starts): set XLA's
    one-thread flags and pin the process to `core` (by default the first core it may run on).

    It changes the process it runs in for good, so the example calls it in a fresh one:

        >>> import subprocess, sys
        >>> worker = ("import os; from kit.engine.threads import use_one_thread, xla_threads; "
        ...           "use_one_thread(); print(xla_threads(), len(os.sched_getaffinity(0)))")
        >>> subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True).stdout.split()
        ['1', '1']
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if ONE_THREAD_FLAGS not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {ONE_THREAD_FLAGS}".strip()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0)) if core is None else core})


def xla_threads() -> int:
    """Threads XLA:CPU's computations use in this process: 1 after use_one_thread, else one per
    core this process may run on.

        >>> xla_threads() == len(os.sched_getaffinity(0))  # in a process without use_one_thread
        True
    """
    if ONE_THREAD_FLAGS in os.environ.get("XLA_FLAGS", ""):
        return 1
    return len(os.sched_getaffinity(0))


def init_worker(cores=None) -> None:
    """A sweep's worker process: single-threaded XLA on a core taken from the queue `cores` (see
    `pool`; without one, the first core), and an end of its own when the process that started it
    is gone (a killed sweep leaves no idle workers behind). A pool's processes call it when they
    start; called here, it would pin this process, so the example runs it in a fresh one:

        >>> import subprocess, sys
        >>> worker = "from kit.engine.threads import init_worker, xla_threads; init_worker(); print(xla_threads())"
        >>> subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True).stdout.split()
        ['1']
    """
    try:
        core = None if cores is None else cores.get(timeout=10)
    except queue.Empty:
        core = None
    use_one_thread(core)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(2.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def pool(n_workers: int) -> cf.ProcessPoolExecutor:
    """`n_workers` spawned worker processes (`init_worker`), each single-threaded on a core of its
    own; with more workers than cores, the cores are dealt out in turn. This process keeps its
    own threads and cores.

        >>> with pool(2) as workers:
        ...     [workers.submit(xla_threads).result() for _ in range(2)]
        [1, 1]
    """
    context = multiprocessing.get_context("spawn")  # never fork: JAX's threads may be running here
    cores = context.Queue()
    available = sorted(os.sched_getaffinity(0))
    for i in range(n_workers):
        cores.put(available[i % len(available)])
    return cf.ProcessPoolExecutor(n_workers, mp_context=context, initializer=init_worker, initargs=(cores,))
