"""Run a coroutine on an event loop of its own thread: the main thread may already hold one
(Playwright's, once browser tests ran), and kernel sessions need a running loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any


def in_thread(coro_fn: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """coro_fn()'s result, run with asyncio.run on a new thread (AssertionError on timeout)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro_fn()))  # type: ignore[arg-type]
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "timed out"
    if errors:
        raise errors[0]
    return result[0]
