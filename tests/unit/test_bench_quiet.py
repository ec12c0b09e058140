"""The benchmarks' wait for a quiet machine before each measurement: it waits while the
machine is busy, no longer than its bound, and counts what it did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from benchmarks import machine
from benchmarks.machine import Quiet, busy, quiet_as_markdown


def _readings(monkeypatch: pytest.MonkeyPatch, values: Iterator[float]) -> list[float]:
    seen: list[float] = []

    def fake(_window: float) -> float:
        seen.append(next(values))
        return seen[-1]

    monkeypatch.setattr(machine, "busy", fake)
    return seen


def test_it_waits_while_the_machine_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _readings(monkeypatch, iter([0.9, 0.6, 0.2, 0.9]))
    quiet = Quiet(limit=0.25, most=60.0)
    quiet()
    assert seen == [0.9, 0.6, 0.2]  # until the first quiet window, not past it
    assert (quiet.measurements, quiet.started_quiet) == (1, 1)


def test_it_gives_up_after_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _readings(monkeypatch, iter([0.9] * 1000))
    quiet = Quiet(limit=0.25, most=0.0)
    quiet()
    quiet()
    assert seen == [0.9, 0.9]  # one window each, then on with the measurement
    summary = quiet.as_dict()
    assert (summary["measurements"], summary["started_quiet"]) == (2, 0)
    assert "0 of 2 did" in quiet_as_markdown(summary)


def test_busy_is_a_share_of_the_machine() -> None:
    assert 0.0 <= busy(0.05) <= 1.0
