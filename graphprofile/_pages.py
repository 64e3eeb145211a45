"""Ordinary memory pages for NumPy's arrays during a run, not transparent huge pages.

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
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

#: NumPy's own environment variable for the same choice (read when NumPy is imported).
NUMPY_VARIABLE = "NUMPY_MADVISE_HUGEPAGE"


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


__all__ = ["NUMPY_VARIABLE", "small_pages_for_arrays"]
