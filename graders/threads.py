"""Threads that keep the caller's context: the engine a grading run was given (graders/engine.py `using`)
lives in a context variable, and a new thread starts with an empty context, which would send its calls to
the process's engine instead."""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def in_this_context(fn: Callable[P, R]) -> Callable[P, R]:
    """fn, bound to a copy of the caller's context: pass it to a thread or a pool. One copy per call of this
    function, since two threads cannot run in one context at once."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(fn, *args, **kwargs)

    return run


def in_background(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> concurrent.futures.Future[R]:
    """Start fn(*args) now, in a thread of its own with the caller's context; its result when `.result()` asks."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mastery-background")
    try:
        return pool.submit(in_this_context(fn), *args, **kwargs)
    finally:
        pool.shutdown(wait=False)  # the thread ends with fn; nothing else is ever queued
