"""How a session runs its app's code: periodic / timeout / next-tick callbacks, async ones
included, under the document lock (a coroutine holds it until it has finished), each
after the session's backlog toward its pages has gone out (``Outgoing.backlog``), and every
exception reported to the session's output instead of raised any further. What the code
prints meanwhile is the session's too (``capture``, see ``streams.py``).

``running`` tells the session where a change of its document comes from: such code or a
browser patch (the change goes out with the loop turn's batch), or a notebook cell (it
goes out at once).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from .lock import DocumentLock

__all__ = ("UserCode",)


class UserCode:
    """The user code of one session; report shows an exception, ended says the session
    has ended (a callback that was waiting for the lock then does not run), capture is
    around every run of it (what it prints goes to the session's output), backlog is what
    a session callback awaits before it runs (None: nothing, run now)."""

    def __init__(
        self,
        lock: DocumentLock,
        report: Callable[[Exception], object],
        ended: Callable[[], bool],
        capture: Callable[[], AbstractContextManager[object]] = nullcontext,
        backlog: Callable[[], Awaitable[None] | None] = lambda: None,
    ) -> None:
        self._lock = lock
        self._backlog = backlog
        self._report = report
        self._ended = ended
        self._capture = capture
        #: > 0 while a browser patch or a session callback runs
        self.running = 0

    @contextmanager
    def active(self) -> Iterator[None]:
        """Around user code that runs outside ``run`` (a browser patch's callbacks)."""
        self.running += 1
        try:
            with self._capture():
                yield
        finally:
            self.running -= 1

    def run(self, func: Callable[[], Any]) -> Any:
        """Run user code; an exception goes to the output, never further."""
        try:
            with self.active():
                return func()
        except Exception as e:
            self._report(e)  # (outside active: what reporting logs is no user output)
            return None

    def locked(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """A session callback: it runs once the backlog toward the pages has gone out,
        under the document lock (unless marked nolock)."""
        nolock = getattr(callback, "nolock", False)

        def now(*args: Any, **kwargs: Any) -> Any:
            if nolock:
                return self.run(lambda: callback(*args, **kwargs))
            if self._ended():
                return None
            if self._lock.try_acquire():
                return self._run_holding(callback, args, kwargs)
            return self._later(callback, args, kwargs)

        def run(*args: Any, **kwargs: Any) -> Awaitable[None] | None:
            backlog = self._backlog()
            if backlog is None:
                return now(*args, **kwargs)  # type: ignore[no-any-return]
            return self._after(backlog, now, args, kwargs)

        return run

    async def _after(
        self, backlog: Awaitable[None], now: Callable[..., Any], args: Any, kwargs: Any
    ) -> None:
        await backlog
        while (more := self._backlog()) is not None:  # others ran first, and made more
            await more
        if self._ended():
            return
        pending = now(*args, **kwargs)
        if inspect.isawaitable(pending):
            await pending

    def _run_holding(
        self, callback: Callable[..., Any], args: Any, kwargs: Any
    ) -> Awaitable[None] | None:
        """Run callback while holding the lock; release it once callback (or the
        coroutine it returned) is done."""
        try:
            result = self.run(lambda: callback(*args, **kwargs))
        except BaseException:
            self._lock.release()
            raise
        if inspect.isawaitable(result):
            return self._finish_async(result)
        self._lock.release()
        return None

    async def _later(self, callback: Callable[..., Any], args: Any, kwargs: Any) -> None:
        await self._lock.acquire()
        if self._ended():
            self._lock.release()
            return
        pending = self._run_holding(callback, args, kwargs)
        if pending is not None:
            await pending

    async def _finish_async(self, result: Awaitable[Any]) -> None:
        try:
            with self.active():
                await result
        except Exception as e:
            self._report(e)
        finally:
            self._lock.release()
