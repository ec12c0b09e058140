"""The document lock: user callbacks and browser patches never interleave.

Like bokeh's ``ServerSession`` lock, but it can also be taken synchronously when free, so
a browser event is applied inside the comm handler that received it (no extra loop turn)
whenever no asynchronous callback holds the document.
"""

from __future__ import annotations

import asyncio
from collections import deque


class DocumentLock:
    def __init__(self) -> None:
        self._held = False
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_acquire(self) -> bool:
        if self._held or self._waiters:
            return False
        self._held = True
        return True

    async def acquire(self) -> None:
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over to us just as we were cancelled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("DocumentLock released while not held")
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # ownership passes straight to the waiter
                return
        self._held = False
