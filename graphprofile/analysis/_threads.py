"""Run analysis single-threaded in OpenMP so results are bit-for-bit reproducible.

igraph's PRPACK PageRank runs on several OpenMP threads; the order in which they add up
floating-point sums varies, so scores differ in the last bits between runs and ties in
percentile ranks break differently. One OpenMP thread makes the same input and seed give
identical outputs (PageRank at 1M edges costs well under a second either way).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from threadpoolctl import threadpool_limits

P = ParamSpec("P")
R = TypeVar("R")


def single_threaded(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``func`` to run with OpenMP limited to one thread (restored afterwards)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with threadpool_limits(limits=1, user_api="openmp"):
            return func(*args, **kwargs)

    return wrapper
