"""Periodic callbacks on a fixed schedule.

``doc.add_periodic_callback(f, 5)`` asks for ``f`` every 5 ms. bokeh's own scheduler
(``bokeh.util.tornado._AsyncPeriodic``, what ``bokeh serve`` runs) starts each wait when a
tick starts, then hops through two futures before the next: every tick comes a little
late and the lateness adds up (about 192 ticks/s for 5 ms in an idle process, 165-170 in
the benchmark's streaming run, ``benchmarks/results/PROFILE.md``).

``FixedRatePeriodic`` keeps bokeh's rules (a tick never starts before the previous one,
coroutine included, has finished; an error is logged and the schedule goes on) and runs
each tick at ``start + n * period`` on the IOLoop's clock. A tick that comes late does
not push the ones after it; when a tick (or the machine) takes longer than a period, the
next one runs at once, for the last of the times it missed, and the one after at the
schedule's next time; a tick woken late stands for the times it was late for: never a
burst to catch up, never more ticks than asked for. The schedule keeps its phase: the
callbacks of many sessions that a long stall of the loop made due together run together
once, then each at its own times again. (Starting the schedule again from the late tick,
as before, kept them together, and what they sent waited for all of them on every tick:
at 150-250 share-link visitors, most of the rows' latency,
``benchmarks/results/PROFILE.md``.)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from tornado import gen
from tornado.ioloop import IOLoop

log = logging.getLogger(__name__)

__all__ = ("FixedRatePeriodic",)


class FixedRatePeriodic:
    """``func`` every ``period`` milliseconds on ``io_loop`` until ``stop()``."""

    def __init__(
        self, func: Callable[[], Awaitable[Any] | None], period: float, io_loop: IOLoop
    ) -> None:
        self._func = func
        self._period = period / 1000.0
        self._loop = io_loop
        self._next = 0.0  # the time on the schedule of the last tick started
        self._began = 0.0  # when it started
        self._started = False
        self._stopped = False

    def start(self) -> None:
        if self._started:
            raise RuntimeError("called start() twice on a periodic callback")
        self._started = True
        self._next = self._loop.time() + self._period
        self._loop.call_at(self._next, self._tick)

    def stop(self) -> None:
        self._stopped = True

    def _tick(self) -> None:
        if self._stopped:
            return
        self._began = self._loop.time()
        try:
            result = self._func()
        except Exception:
            log.exception("Error thrown from periodic callback:")
            result = None
        if result is None:
            self._schedule()
        else:
            self._loop.add_future(gen.convert_yielded(result), self._done)

    def _done(self, future: Any) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("Error thrown from periodic callback:", exc_info=exc)
        self._schedule()

    def _schedule(self) -> None:
        if self._stopped:
            return
        now, period = self._loop.time(), self._period
        # the schedule's first time after this tick began (what it was woken late for, it
        # stood for)
        self._next += (max(0, math.floor((self._began - self._next) / period)) + 1) * period
        if self._next >= now:
            self._loop.call_at(self._next, self._tick)
            return
        # it ran past that time: the next at once, for the last time passed
        self._next += math.floor((now - self._next) / period) * period
        self._loop.call_at(now, self._tick)
