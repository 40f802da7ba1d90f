"""XLA:CPU's thread count in this process, and the switch that makes it one.

A sweep may train several runs side by side, each in a process of its own with single-threaded
XLA (kit.sweep): at small widths one run leaves most of the second core idle, and two one-thread
runs side by side train more runs an hour than one run on both cores (kit.throughput measures
it per width). The switch must be thrown before JAX creates its CPU backend, so this module
imports nothing of JAX: a worker process calls `use_one_thread` first thing.
"""

import os

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
