"""The round-trip targets of the benchmark report: blocked only by a floor measured in
the same run (the comm echo plus the page's own part of the round trip)."""

from __future__ import annotations

from typing import Any

from benchmarks.report import summarize
from benchmarks.targets import targets


def _summary(ours: float, echo: float, in_page: float | None) -> dict[str, Any]:
    """The summary of a run whose round trips took ms (p50) and 1.5 x ms (p95)."""

    def rt(ms: float) -> dict[str, list[float]]:
        return {"samples_ms": [ms] * 19 + [ms * 1.5]}

    raw: dict[str, dict[str, Any]] = {
        "round_trip": {"bokeh_nb": rt(ours), "show_app": rt(50.0)},
        "comm_echo": {"bokeh_nb": rt(echo)},
    }
    if in_page is not None:
        raw["round_trip_in_page"] = {"bokeh_nb": rt(in_page)}
    return summarize(raw, {})


def _echo_targets(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        t.what: t
        for t in targets(summary)
        if t.system == "bokeh_nb" and t.what.startswith("round trip p50")
    }


def test_a_round_trip_the_page_alone_cannot_meet_is_blocked_by_that_floor() -> None:
    found = _echo_targets(_summary(ours=12.0, echo=4.0, in_page=6.0))
    echo = found["round trip p50 <= 1.5 x comm-echo floor"]
    assert echo.met is False and echo.limit == 6.0
    assert echo.blocked_by_floor == 10.0  # echo + the page's own part, both p50
    p95 = {t.what: t for t in targets(_summary(ours=12.0, echo=4.0, in_page=6.0))}
    assert p95["round trip p95 <= 1.5 x comm-echo floor"].limit == 9.0  # 1.5 x 6 ms
    assert p95["round trip p95 <= 1.5 x comm-echo floor"].blocked_by_floor == 10.0
    anchor = found["round trip p50 <= 0.25 x best notebook anchor"]
    assert anchor.met is True and anchor.limit == 12.5  # 0.25 x show_app's 50 ms


def test_a_round_trip_with_room_above_its_floor_is_not_blocked() -> None:
    found = _echo_targets(_summary(ours=12.0, echo=4.0, in_page=1.0))
    echo = found["round trip p50 <= 1.5 x comm-echo floor"]
    assert echo.met is False and echo.blocked_by_floor is None


def test_without_the_in_page_figure_nothing_is_blocked() -> None:
    found = _echo_targets(_summary(ours=12.0, echo=4.0, in_page=None))
    assert all(t.blocked_by_floor is None for t in found.values())
