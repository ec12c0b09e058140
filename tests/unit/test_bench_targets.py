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


def _transfers(ours: float, standalone: float, anchor: float, ws: float, comm: float) -> Any:
    """The transfer targets of a run where each transfer of 10^4 values took that many ms
    (the bare websocket's and the bare comm's included), by target and system."""
    n = "10000"
    raw: dict[str, dict[str, Any]] = {
        "kernel_to_browser": {
            "bokeh_nb": {n: [ours]},
            "bokeh_nb_standalone": {n: [standalone]},
            "bokeh_serve": {n: [anchor]},
        },
        "browser_to_kernel": {
            "bokeh_nb": {n: [ours]},
            "bokeh_nb_standalone": {n: [standalone]},
            "bokeh_serve": {n: [anchor]},
        },
        "transport_floor": {"websocket": {n: [ws]}, "comm": {n: [comm]}},
        "upload_floor": {"websocket_upload": {n: [ws]}, "comm_upload": {n: [comm]}},
    }
    return {(t.what, t.system): t for t in targets(summarize(raw, {}))}


def test_the_notebooks_transfers_are_blocked_where_the_bare_comm_is_too_slow() -> None:
    # ms per transfer: the websocket 10, bokeh serve 20, the bare comm 25, bokeh_nb 30
    found = _transfers(ours=30.0, standalone=30.0, anchor=20.0, ws=10.0, comm=25.0)
    for what in (
        "kernel -> browser 1e+04 x 2 float64 MB/s > every anchor",
        "kernel -> browser 1e+04 x 2 float64 MB/s >= 0.8 x bare websocket",
        "browser -> kernel 1e+04 float64 column MB/s ahead of every anchor",
        "browser -> kernel 1e+04 float64 column MB/s >= 0.8 x bare websocket",
    ):
        notebook, standalone = found[what, "bokeh_nb"], found[what, "bokeh_nb_standalone"]
        assert notebook.met is False and standalone.met is False
        assert notebook.blocked_by_floor is not None  # the comm's 25 ms: 16e4 B -> 6.4 MB/s
        assert round(notebook.blocked_by_floor, 1) in (6.4, 3.2)  # 16 or 8 bytes a value
        assert standalone.blocked_by_floor is None  # its page does not go over the comm


def test_a_notebook_transfer_behind_a_faster_bare_comm_is_not_blocked() -> None:
    found = _transfers(ours=30.0, standalone=30.0, anchor=20.0, ws=10.0, comm=11.0)
    assert all(t.blocked_by_floor is None for t in found.values())
    assert found["kernel -> browser 1e+04 x 2 float64 MB/s > every anchor", "bokeh_nb"].met is False


def test_a_floor_that_bokeh_nb_beats_blocks_nothing() -> None:
    # the bare comm took 40 ms, bokeh_nb 30: the comm's figure is no bound on bokeh_nb's
    found = _transfers(ours=30.0, standalone=30.0, anchor=20.0, ws=10.0, comm=40.0)
    notebook = found[
        "browser -> kernel 1e+04 float64 column MB/s >= 0.8 x bare websocket", "bokeh_nb"
    ]
    assert notebook.met is False and notebook.blocked_by_floor is None
