"""Periodic callbacks on a fixed schedule (``bokeh_nb/kernel/periodic.py``), on a clock
the test moves by hand, and once on a real IOLoop for coroutines."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from collections.abc import Callable
from typing import Any

import pytest
from bokeh.document import Document
from tornado.ioloop import IOLoop

from bokeh_nb.kernel.periodic import FixedRatePeriodic
from bokeh_nb.kernel.session import KernelSession

from .conftest import FakeChannel


class FakeLoop:
    """The part of an IOLoop the scheduler uses, with a clock that moves only when a
    callback says how long it took."""

    def __init__(self) -> None:
        self.now = 100.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._order), fn))

    def run_until(self, end: float) -> None:
        while self._queue and self._queue[0][0] <= end + 1e-9:  # float sums of periods
            when, _, fn = heapq.heappop(self._queue)
            self.now = max(self.now, when)
            fn()
        self.now = max(self.now, end)


def run(durations: list[float], late: float = 0.0, seconds: float = 0.1) -> list[float]:
    """Start times of a 10 ms periodic callback whose n-th tick takes durations[n] s (the
    last repeats), each woken ``late`` s after its time."""
    loop = FakeLoop()
    starts: list[float] = []

    def tick() -> None:
        starts.append(loop.now)
        loop.now += durations[min(len(starts) - 1, len(durations) - 1)]

    def call_at(when: float, fn: Callable[[], None]) -> None:
        FakeLoop.call_at(loop, when + late, fn)

    loop.call_at = call_at  # type: ignore[method-assign]
    FixedRatePeriodic(tick, 10, loop).start()  # type: ignore[arg-type]
    loop.run_until(100.0 + seconds)
    return [round((t - 100.0) * 1000, 3) for t in starts]


def test_ticks_keep_to_the_schedule_when_each_is_woken_late() -> None:
    # woken 3 ms late and 2 ms of work each: still every 10 ms, the lateness not added up
    assert run([0.002], late=0.003) == [13.0, 23.0, 33.0, 43.0, 53.0, 63.0, 73.0, 83.0, 93.0]


def test_a_long_tick_delays_the_next_without_a_burst_after() -> None:
    # the 2nd tick takes 35 ms: the 3rd runs when it ends (for the time 50 it missed,
    # and 30 and 40 not at all), then on the schedule's own times again
    assert run([0.001, 0.035, 0.001]) == [10.0, 20.0, 55.0, 60.0, 70.0, 80.0, 90.0, 100.0]


def test_callbacks_a_stall_made_due_together_part_again() -> None:
    """Two callbacks 5 ms apart in phase; the loop stalls for 33 ms: both run when it ends,
    then each at its own times, still 5 ms apart (not together from there on), and the
    one woken late does not run again at once for the times it was late for."""
    loop = FakeLoop()
    starts: dict[str, list[float]] = {"a": [], "b": []}

    def ticker(name: str) -> Callable[[], None]:
        def tick() -> None:
            starts[name].append(round((loop.now - 100.0) * 1000, 3))
            if name == "a" and len(starts["a"]) == 2:
                loop.now += 0.033  # the stall, in a's second tick

        return tick

    FixedRatePeriodic(ticker("a"), 10, loop).start()  # type: ignore[arg-type]
    loop.now = 100.005
    FixedRatePeriodic(ticker("b"), 10, loop).start()  # type: ignore[arg-type]
    loop.run_until(100.1)
    assert starts["a"] == [10.0, 20.0, 53.0, 60.0, 70.0, 80.0, 90.0, 100.0]
    assert starts["b"] == [15.0, 53.0, 55.0, 65.0, 75.0, 85.0, 95.0]


def test_never_more_ticks_than_asked() -> None:
    assert len(run([0.0], seconds=1.0)) == 100


def test_an_error_is_logged_and_the_ticks_go_on(caplog: pytest.LogCaptureFixture) -> None:
    loop = FakeLoop()
    calls: list[float] = []

    def tick() -> None:
        calls.append(loop.now)
        if len(calls) == 2:
            raise RuntimeError("boom")

    FixedRatePeriodic(tick, 10, loop).start()  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        loop.run_until(100.05)
    assert len(calls) == 5
    assert "boom" in caplog.text


def test_stop_ends_the_ticks() -> None:
    loop = FakeLoop()
    calls: list[float] = []
    periodic = FixedRatePeriodic(lambda: calls.append(loop.now), 10, loop)  # type: ignore[arg-type]
    periodic.start()
    loop.run_until(100.035)
    periodic.stop()
    loop.run_until(100.1)
    assert len(calls) == 3
    with pytest.raises(RuntimeError):
        periodic.start()


def test_a_coroutine_tick_finishes_before_the_next_starts() -> None:
    async def main() -> tuple[int, int]:
        running = 0
        most = 0
        ticks = 0

        async def tick() -> None:
            nonlocal running, most, ticks
            running += 1
            ticks += 1
            most = max(most, running)
            await asyncio.sleep(0.02)  # longer than the 5 ms period
            running -= 1

        periodic = FixedRatePeriodic(tick, 5, IOLoop.current())
        periodic.start()
        await asyncio.sleep(0.3)
        periodic.stop()
        return most, ticks

    most, ticks = asyncio.run(main())
    assert most == 1
    assert 3 <= ticks <= 15  # about 0.3 s / 20 ms; never one per 5 ms


def test_a_sessions_periodic_callbacks_use_the_fixed_schedule() -> None:
    async def main() -> list[Any]:
        doc = Document()
        ticks: list[float] = []
        callback = doc.add_periodic_callback(lambda: ticks.append(1), 5)
        session = KernelSession(doc, FakeChannel())
        await asyncio.sleep(0.1)
        doc.remove_periodic_callback(callback)
        seen = len(ticks)
        await asyncio.sleep(0.05)
        session.destroy()
        return [seen, len(ticks), session._callbacks._group]

    seen, after, inner = asyncio.run(main())
    assert type(inner).__name__ == "_PeriodicGroup"
    assert inner._make_periodic is FixedRatePeriodic
    assert 1 <= seen <= 20
    assert after == seen  # removed: no tick after
