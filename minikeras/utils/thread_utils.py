"""The second core: two halves of a piece of work run side by side, one of them on a worker thread.

NumPy releases the GIL inside large ufunc loops and inside matmuls whose result has 500 values or more
(smaller products must be batched to run side by side), so two threads each running GEMMs on their own
row blocks keep two cores busy. The convolutions' blocks are small enough that OpenBLAS runs
each one single-threaded, so the two threads never ask for more cores than there are. Each half writes
its own part of the result, and the split is the same on any machine, so results do not depend on the
number of cores.
"""
import os

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_worker = None


def _forget_worker():
    global _worker
    _worker = None  # a forked child inherits the executor but not its thread


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


def in_two_parts(count, work):
    """work(0, count // 2) here and work(count // 2, count) on the worker thread (one after the other on
    one core), for `work` over disjoint ranges of rows, images or blocks; work(0, count) for count < 2."""
    global _worker
    half = count // 2
    if half == 0:
        work(0, count)
        return
    if _CORES < 2:
        work(0, half)
        work(half, count)
        return
    if _worker is None:
        from concurrent.futures import ThreadPoolExecutor  # on first use: most models never split work

        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minikeras")
    later = _worker.submit(work, half, count)
    try:
        work(0, half)
    finally:
        later.exception()  # waits: the worker writes into the caller's arrays, so never return while it runs
    later.result()
