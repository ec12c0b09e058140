"""Consecutive streams to one source go to the page as one (``kernel/merging.py``): the
page ends with the rows it would have had from each stream in turn, every other change
keeps its place, and a batch of many streams costs its parts, not their square."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.document.events import ColumnsPatchedEvent, ColumnsStreamedEvent, ModelChangedEvent
from bokeh.models import ColumnDataSource, Div
from hypothesis import given, settings
from hypothesis import strategies as st

from bokeh_nb.kernel.merging import joined, merge_event
from tests.loops import in_thread

from .conftest import pull_request
from .test_ack_window import ack, rows, streaming_session


def stream(source: ColumnDataSource, data: dict[str, Any], rollover: int | None = None) -> Any:
    return ColumnsStreamedEvent(source.document, source, "data", data, rollover)


def page_applies(column: list[Any], data: list[Any], rollover: int | None) -> list[Any]:
    """What BokehJS's ``stream_to`` leaves: the rows appended, then the last rollover kept."""
    column = column + data
    return column[-rollover:] if rollover is not None and len(column) > rollover else column


def two_sources() -> tuple[ColumnDataSource, ColumnDataSource, Div]:
    doc = Document()
    a, b = ColumnDataSource(data={"x": []}), ColumnDataSource(data={"x": []})
    div = Div()
    for model in (a, b, div):
        doc.add_root(model)
    return a, b, div


@settings(max_examples=200, deadline=None, database=None)
@given(
    start=st.integers(0, 30),
    sizes=st.lists(st.integers(0, 25), min_size=1, max_size=12),
    rollover=st.one_of(st.none(), st.integers(1, 40)),
    as_lists=st.booleans(),
)
def test_the_page_ends_with_the_rows_of_each_stream_in_turn(
    start: int, sizes: list[int], rollover: int | None, as_lists: bool
) -> None:
    a, _, _ = two_sources()
    column = [float(-i) for i in range(start)]
    expected, batch, n = column, [], 0
    for size in sizes:
        rows_ = [float(n + i) for i in range(size)]
        n += size
        expected = page_applies(expected, rows_, rollover)
        data = {"x": rows_ if as_lists else np.array(rows_)}
        merge_event(stream(a, data, rollover), batch)
    assert len(batch) == 1, "one stream to the page"
    (merged,) = joined(batch)
    assert page_applies(column, list(merged.data["x"]), rollover) == expected
    if rollover is not None and len(sizes) > 1:  # (a stream alone is sent as it was made)
        assert len(merged.data["x"]) <= rollover, "only what can outlive the stream is sent"


def test_a_source_changed_otherwise_between_two_streams_keeps_them_apart() -> None:
    a, b, div = two_sources()
    batch: list[Any] = []
    merge_event(stream(a, {"x": np.array([1.0])}), batch)
    merge_event(ModelChangedEvent(div.document, div, "text", "one"), batch)
    merge_event(stream(b, {"x": np.array([9.0])}), batch)
    merge_event(stream(a, {"x": np.array([2.0])}), batch)  # past another model's changes
    assert [type(e).__name__ for e in batch] == [
        "ColumnsStreamedEvent",
        "ModelChangedEvent",
        "ColumnsStreamedEvent",
    ]
    merge_event(ColumnsPatchedEvent(a.document, a, "data", {"x": [(0, 5.0)]}), batch)
    merge_event(stream(a, {"x": np.array([3.0])}), batch)  # after a patch of its rows
    merge_event(stream(a, {"x": np.array([4.0])}, rollover=10), batch)  # another rollover
    merge_event(stream(a, {"x": np.array([5], dtype="int64")}, rollover=10), batch)  # dtype
    merge_event(stream(a, {"x": np.array([6.0]), "y": np.array([6.0])}), batch)  # columns
    kinds_a = [
        (type(e).__name__, [float(v) for v in e.data["x"]] if hasattr(e, "rollover") else None)
        for e in joined(batch)
        if getattr(e, "model", None) is a
    ]
    assert kinds_a == [
        ("ColumnsStreamedEvent", [1.0, 2.0]),
        ("ColumnsPatchedEvent", None),
        ("ColumnsStreamedEvent", [3.0]),
        ("ColumnsStreamedEvent", [4.0]),
        ("ColumnsStreamedEvent", [5.0]),
        ("ColumnsStreamedEvent", [6.0]),
    ]


def test_the_documents_own_event_is_left_as_it_was() -> None:
    a, _, _ = two_sources()
    first = stream(a, {"x": np.array([1.0])})
    batch: list[Any] = []
    merge_event(first, batch)
    merge_event(stream(a, {"x": np.array([2.0])}), batch)
    joined(batch)
    assert batch[0] is not first and list(first.data["x"]) == [1.0]
    assert list(batch[0].data["x"]) == [1.0, 2.0]


def test_many_streams_with_a_rollover_keep_only_the_parts_that_can_outlive_them() -> None:
    a, _, _ = two_sources()
    batch: list[Any] = []
    for i in range(10_000):
        merge_event(stream(a, {"x": np.full(10, float(i))}, rollover=100), batch)
    parts = batch[0]._bokeh_nb_parts
    assert len(parts.columns) <= 11, "rolled over parts are let go as they come"
    (merged,) = joined(batch)
    assert list(merged.data["x"]) == [float(i) for i in range(9_990, 10_000) for _ in range(10)]


def test_a_lagging_page_gets_one_stream_per_frame() -> None:
    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        window = session.outgoing.window
        for i in range(window.frames + 40):  # one row per loop turn, nothing acknowledged
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        ack(session, "page", session.frames_sent)  # the page caught up: the rest goes
        await asyncio.sleep(0.01)
        last = channel.of_type("PATCH-DOC")[-1]
        streams = [e for e in last.content["events"] if e["kind"] == "ColumnsStreamed"]
        assert len(streams) == 1 and len(rows(channel)) == window.frames + 40
        assert rows(channel) == [float(i) for i in range(window.frames + 40)]

    in_thread(main, 30)


def page_data(channel: Any) -> dict[str, list[Any]]:
    """The source's columns on a page that applied every frame's data changes in order."""
    data: dict[str, list[Any]] = {}
    for sent in channel.of_type("PATCH-DOC"):
        buffers = dict(sent.buffers)
        for event in sent.content["events"]:
            if event["kind"] not in ("ColumnDataChanged", "ColumnsStreamed"):
                continue
            columns = {name: decoded(value, buffers) for name, value in event["data"]["entries"]}
            if event["kind"] == "ColumnDataChanged":
                data.update(columns)
            else:
                data = {name: data.get(name, []) + column for name, column in columns.items()}
    return data


def decoded(value: Any, buffers: dict[str, bytes]) -> list[Any]:
    if isinstance(value, dict) and value.get("type") == "ndarray":
        raw = buffers[value["array"]["data"]["id"]]
        return [float(v) for v in np.frombuffer(raw, dtype=value["dtype"])]
    return [float(v) for v in value]


@settings(max_examples=60, deadline=None, database=None)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["data", "column", "stream"]), st.integers(0, 4)),
        min_size=1,
        max_size=8,
    ),
    as_lists=st.booleans(),
)
def test_the_page_ends_with_the_kernels_data_whatever_one_callback_did(
    steps: list[tuple[str, int]], as_lists: bool
) -> None:
    """New data, a column set and streams, in any order within one loop turn (a page that
    applies the turn's frame ends with what the kernel has). A stream after new data in
    the same turn reached the page twice before: in the data and as the stream."""

    def column(n: int, start: int) -> Any:
        values = [float(start + i) for i in range(n)]
        return values if as_lists else np.array(values)

    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        channel.messages.clear()

        def callback() -> None:
            for k, (what, n) in enumerate(steps):
                if what == "data":
                    source.data = {"i": column(n, 100 * k)}
                elif what == "column":
                    source.data["i"] = column(n, 100 * k)
                else:
                    source.stream({"i": column(n, 100 * k)})

        source.document.add_next_tick_callback(callback)
        await asyncio.sleep(0.05)
        if any(what != "stream" for what, _ in steps):  # (else the page's start is unknown)
            assert page_data(channel)["i"] == [float(v) for v in source.data["i"]]

    in_thread(main, 30)


def test_new_data_makes_the_sources_earlier_changes_in_the_batch_moot() -> None:
    a, b, div = two_sources()
    batch: list[Any] = []
    a.document.on_change(lambda event: merge_event(event, batch))
    a.data = {"x": [1.0]}
    a.stream({"x": [2.0]})
    a.patch({"x": [(0, 5.0)]})
    b.data = {"x": [7.0]}
    div.text = "three"
    a.data = {"x": [3.0, 4.0]}
    a.stream({"x": [5.0]})
    summary = [(type(e).__name__, getattr(e, "model", None)) for e in joined(batch)]
    assert summary == [
        ("ColumnDataChangedEvent", b),
        ("ModelChangedEvent", div),
        ("ColumnDataChangedEvent", a),
        ("ColumnsStreamedEvent", a),
    ]
    assert batch[2].data == {"x": [3.0, 4.0]}, "the columns as they were when set"
