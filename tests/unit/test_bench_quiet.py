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


def _machine(ours: str, theirs: str) -> dict[str, object]:
    return {
        "cpu": "CPU",
        "cores": 2,
        "memory_gib": 24,
        "os": "Debian",
        "kernel": "6",
        "python": "3.11",
        "chromium": "1",
        "load_average_at_end": 0.5,
        "bokeh_nb_environment": {"bokeh": ours, "bokeh_nb": "0.1.0"},
        "anchors_environment": {"bokeh": theirs, "panel": "1.9"},
    }


def test_the_machine_line_says_when_bokeh_differs_from_the_anchors() -> None:
    unlike = machine.as_markdown(_machine("3.10.0.dev5", "3.9.2"))
    assert "not like for like" in unlike
    assert "bokeh_nb ran on bokeh 3.10.0.dev5, the anchors on 3.9.2" in unlike
    assert "not like for like" not in machine.as_markdown(_machine("3.9.2", "3.9.2"))
