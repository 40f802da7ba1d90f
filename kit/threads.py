"""XLA:CPU's thread count in this process, and the switch that makes it one.

A sweep may train several runs side by side, each in a process of its own with single-threaded
XLA (kit.sweep): at small widths one run leaves most of the second core idle, and two one-thread
runs side by side train more runs an hour than one run on both cores (kit.throughput measures
it per width). The switch must be thrown before JAX creates its CPU backend, so this module
imports nothing of JAX: a worker process calls `use_one_thread` first thing.
"""

import os
import threading
import time

ONE_THREAD_FLAGS = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def use_one_thread() -> None:
    """Make XLA:CPU in this process single-threaded (call before JAX's backend starts)."""
    flags = os.environ.get("XLA_FLAGS", "")
    if ONE_THREAD_FLAGS not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {ONE_THREAD_FLAGS}".strip()


def xla_threads() -> int:
    """Threads XLA:CPU's computations use in this process: 1 after use_one_thread, else one per
    core this process may run on."""
    if ONE_THREAD_FLAGS in os.environ.get("XLA_FLAGS", ""):
        return 1
    return len(os.sched_getaffinity(0))


def init_worker() -> None:
    """A sweep's worker process: single-threaded XLA, and an end of its own when the process that
    started it is gone (a killed sweep leaves no idle workers behind)."""
    use_one_thread()
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(2.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
