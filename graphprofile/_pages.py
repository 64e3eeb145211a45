"""How a run gets its memory pages: ordinary pages for NumPy's arrays, and freed memory kept.

**Ordinary pages, not transparent huge pages.**

NumPy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every array
of 4 MB or more. The first write to each 2 MB page then faults it in and zeroes all of it at
once. A run makes and frees thousands of such temporary arrays, and glibc hands large freed
blocks back to the kernel, so each new one is faulted and zeroed again. On the 2-vCPU
virtual machines this project is measured on (#16, ``benchmarks/RESULTS.md``), that zeroing
was a third of all the CPU time of a 1M-customer run (``perf``: ``clear_page_erms`` under
``do_huge_pmd_anonymous_page``, 32 % of the samples), and the run took 89-98 s with huge
pages against 76-84 s without, for the same outputs and the same peak memory. Generating a
1M-customer bank took 39.8 s with them, 26.4 s without.

The choice is NumPy's own switch (``numpy._core.multiarray._set_madvise_hugepage``); a
``NUMPY_MADVISE_HUGEPAGE`` set in the environment is the user's and is left as it is.

**Freed memory kept for reuse within a step.** glibc's ``malloc`` serves every large block
(from 128 kB, a threshold that rises to 32 MB as such blocks are freed; a column of ten
million numbers is 80 MB) with its own ``mmap`` and hands it back to the kernel when it is
freed, so the next such array is faulted in and zeroed page by page again. On a virtual
machine whose balloon reports free pages to the host (the Firecracker machines #16 is
measured on), pages handed back are soon returned to the host, and each one faulted in again
costs the host's fault as well: 7.4 ms per MB there (4 GB written for the first time:
30.5 s, almost all system time; again at once: 0.8 s). Two 3M-customer runs spent 114 and
206 CPU-seconds in the kernel, mostly that way, against 347-361 in Python and the libraries
(12 % of the run saved with this at 3M, about 1 % at 1M). :func:`freed_memory_kept` makes
glibc serve large blocks from its heap and keep what is freed there (``mallopt``: no
``mmap`` blocks, no trimming), so the next step's arrays reuse pages the process already
has; :func:`release_freed_memory` hands the free pages back (``malloc_trim``, and a request
to Arrow's pool) where a run's step ends, so the peak stays that of a step, not of the
run. Threads other than the main one keep glibc's usual arenas, whose heaps hold at most
64 MB: a larger block of theirs is still mapped and unmapped each time. Two limits measured
in the eighteenth session (``benchmarks/RESULTS.md``): ``mallopt`` takes an int, so a free
top of 2 GB or more is still trimmed when it is freed; and Arrow's jemalloc pool hands its
pages back on its own schedule (about a second after they are freed), so its
``release_unused`` here lowered no resident memory there.
``GRAPHPROFILE_KEEP_FREED_MEMORY=0`` in the environment leaves the allocator as it is; so
does any ``GLIBC_TUNABLES`` or ``MALLOC_*`` setting of the user's.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform
from collections.abc import Callable, Iterator
from functools import cache

import pyarrow as pa

#: NumPy's own environment variable for the same choice (read when NumPy is imported).
NUMPY_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"

#: ``0`` in the environment: :func:`freed_memory_kept` leaves the allocator as it is.
KEEP_VARIABLE = "GRAPHPROFILE_KEEP_FREED_MEMORY"

# glibc's mallopt parameters (malloc.h) and their defaults (mallopt(3))
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_DEFAULT_TRIM_THRESHOLD = 128 * 1024
_DEFAULT_MMAP_MAX = 65536
_INT_MAX = 2**31 - 1  # mallopt takes an int: the largest trim threshold it can be given
_kept: list[bool] = []  # one entry per freed_memory_kept block open (nested: the outer restores)
#: glibc's environment variables for the same settings (``MALLOC_ARENA_MAX`` is not one).
_MALLOC_VARIABLES = (
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
)


def _switch() -> Callable[[bool], bool] | None:
    """NumPy's ``_set_madvise_hugepage`` (returns the previous setting), if it has one."""
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, "_set_madvise_hugepage", None)


@contextlib.contextmanager
def small_pages_for_arrays() -> Iterator[bool]:
    """Within the block, NumPy allocates its arrays without asking for huge pages.

    Yields whether the block changed NumPy's setting: ``False`` when the user chose with
    :data:`NUMPY_VARIABLE`, or NumPy has no such switch. The previous setting is restored
    when the block ends; arrays allocated inside keep the pages they got. Also a decorator
    (``@small_pages_for_arrays()``: each call of the function is such a block).
    """
    switch = None if os.environ.get(NUMPY_VARIABLE) else _switch()
    if switch is None:
        yield False
        return
    before = switch(False)
    try:
        yield True
    finally:
        switch(before)


@cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (``mallopt`` and ``malloc_trim`` are its own)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("mallopt", "malloc_trim")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    return libc


def _user_chose() -> bool:
    """Whether the environment already says how the allocator behaves."""
    env = os.environ
    return (
        env.get(KEEP_VARIABLE) == "0"
        or "glibc.malloc" in env.get("GLIBC_TUNABLES", "")
        or any(name in env for name in _MALLOC_VARIABLES)
    )


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[bool]:
    """Within the block, large blocks the main thread frees stay in the process for reuse.

    Yields whether the allocator was changed: ``False`` off glibc, or when the environment
    already chose (:data:`KEEP_VARIABLE`, ``glibc.malloc`` tunables,
    ``MALLOC_TRIM_THRESHOLD_`` and the like). Call :func:`release_freed_memory` where a step
    ends. When the block ends, glibc's defaults come back (its threshold for ``mmap`` blocks
    stays fixed at the value it had reached, as after any ``mallopt``) and the free memory
    is handed back.
    """
    libc = None if _user_chose() else _glibc()
    if libc is None:
        yield False
        return
    libc.mallopt(_M_MMAP_MAX, 0)
    libc.mallopt(_M_TRIM_THRESHOLD, _INT_MAX)
    _kept.append(True)
    try:
        yield True
    finally:
        release_freed_memory()
        _kept.pop()
        if not _kept:
            libc.mallopt(_M_MMAP_MAX, _DEFAULT_MMAP_MAX)
            libc.mallopt(_M_TRIM_THRESHOLD, _DEFAULT_TRIM_THRESHOLD)


def release_freed_memory() -> None:
    """Within a :func:`freed_memory_kept` block, hand the memory freed so far back to the
    system: glibc's free pages (``malloc_trim(0)``, which also returns free pages inside its
    heaps), and ask Arrow's default pool to release its unused memory (its jemalloc pool
    returns pages on its own schedule anyway; the request matters for a pool the user chose
    with ``ARROW_DEFAULT_MEMORY_POOL``). Outside one (the allocator left as it was), nothing
    happens."""
    libc = _glibc()
    if libc is None or not _kept:
        return
    libc.malloc_trim(0)
    pa.default_memory_pool().release_unused()


__all__ = [
    "KEEP_VARIABLE",
    "NUMPY_VARIABLE",
    "freed_memory_kept",
    "release_freed_memory",
    "small_pages_for_arrays",
]
