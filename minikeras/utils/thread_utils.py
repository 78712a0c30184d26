"""The second core: independent blocks of work split between the calling thread and one worker thread.

NumPy releases the GIL inside BLAS calls and ufunc loops, so two threads each running GEMMs on their own
row blocks keep two cores busy; the blocks are small enough that OpenBLAS runs each single-threaded, so
the two never oversubscribe the machine.
"""
import os
from concurrent.futures import ThreadPoolExecutor, wait

_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_worker = None


def in_two_halves(items, work):
    """[work(first half of items), work(second half)], the second half on the worker thread when there are
    two cores; [work(items)] for a single item. The split is the same on one core, so results (sums of
    the two halves' partial results) do not depend on the machine."""
    global _worker
    if len(items) < 2:
        return [work(items)]
    half = len(items) // 2
    if _CORES < 2:
        return [work(items[:half]), work(items[half:])]
    if _worker is None:
        _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minikeras")
    later = _worker.submit(work, items[half:])
    try:
        first = work(items[:half])
    finally:
        wait([later])  # the worker writes into the caller's arrays: never leave it running
    return [first, later.result()]
