"""Random visitor patches over every property of every model of a realistic app: only the
changes a person using the rendered page could make get through.

Each example is one PATCH-DOC from an ``interact`` visitor, run through the session as a
browser's would be (``KernelSession.receive``: the visitor checks, then bokeh's decoding
and the app's callbacks). After each, whatever was accepted or refused, the document
must still be one the page could have produced: no model added or removed, only
properties a page sets changed, every value within its widget's options and bounds and
finite, disabled and invisible widgets untouched and their callbacks never run, every
source with its columns, their lengths and types.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from bokeh.model import Model
from bokeh.models import (
    CheckboxGroup,
    ColumnDataSource,
    DatePicker,
    MultiSelect,
    RadioButtonGroup,
    RangeSlider,
    Select,
    Selection,
    Tabs,
    TextInput,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st
from tornado.ioloop import IOLoop

from bokeh_nb.kernel.session import KernelSession
from bokeh_nb.kernel.visitor_data import column_kind, source_length
from bokeh_nb.kernel.visitor_events import EVENT_CLASSES
from bokeh_nb.kernel.visitor_values import option_values, rule

from .conftest import FakeChannel, browser_patch
from .visitor_app import SELECTION, App, Watch

# ---- what a hostile visitor sends ------------------------------------------------------


def bomb() -> dict[str, Any]:
    return {"type": "bytes", "data": base64.b64encode(gzip.compress(bytes(2**20))).decode()}


hostile = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 0, 1, 2, 5, 10, 11, -1, 0.5, True, False, None]),
    st.text(max_size=30),
    st.sampled_from(["a", "b", "c", "C", "zzz", "x" * 25, "value\n[W 2099] FORGED"]),
    st.sampled_from(["2024-01-10", "2023-12-31", "2024-13-01", "2024-06-30", "not a date"]),
    st.lists(st.integers(-2, 5), max_size=4),
    st.lists(st.sampled_from(["a", "b", "c", "zzz"]), max_size=4),
    st.sampled_from(
        [
            {"type": "number", "value": "nan"},
            {"type": "number", "value": "inf"},
            {"type": "bytes", "data": "AAAA"},
            {"type": "set", "entries": ["tap"]},
            {"type": "map", "entries": [["change:value", []]]},
            {
                "type": "ndarray",
                "array": [1, 2],
                "dtype": "float64",
                "order": "little",
                "shape": [2],
            },
            {
                "type": "ndarray",
                "array": [1],
                "dtype": "U1000000000",
                "order": "little",
                "shape": [1],
            },
            {"type": "object", "name": "CustomJS", "id": "evil", "attributes": {}},
            {"type": "slice", "start": 0, "stop": 1, "step": None},
            {"a": 1},
            [2, 5],
            [5, 2],
            [0, 10],
        ]
    ),
    st.builds(bomb),
)


def plausible(model: Any, attr: str) -> st.SearchStrategy[Any]:
    """Values near what the page would send for model.attr: within and just outside its
    bounds and options, so that many are accepted and the edges are tried."""
    numbers = st.one_of(st.integers(-2, 12), st.floats(-2, 12))
    if isinstance(model, RangeSlider):
        return st.lists(numbers, min_size=2, max_size=2)
    if isinstance(model, Select | MultiSelect):
        options = st.sampled_from([*option_values(model.options), "zzz"])
        return options if isinstance(model, Select) else st.lists(options, max_size=4)
    if isinstance(model, CheckboxGroup):
        return st.lists(st.integers(-1, 3), max_size=3)
    if isinstance(model, RadioButtonGroup | Tabs):
        return st.integers(-1, 4)
    if isinstance(model, TextInput):
        return st.text(max_size=25)
    if isinstance(model, DatePicker):
        days = st.dates(date(2023, 12, 25), date(2025, 1, 5))
        return days.map(lambda d: d.isoformat())
    if isinstance(model, Selection):
        return st.lists(st.integers(-1, 4), max_size=4)
    if attr in ("active", "visible", "muted"):
        return st.booleans()
    return numbers


def settable_props(model: Model) -> list[str]:
    """The properties of model a page sets (the rest are tried too, less often)."""
    if isinstance(model, Selection):
        return sorted(SELECTION)
    return sorted(p for p in model.properties() if rule(model, p) is not None)


def kind_of(initial: dict[str, Any], name: str) -> str:
    """The kind of a column as the app made it (draws never depend on later state)."""
    return column_kind(initial[name]) if name in initial else "number"


def cells(kind: str) -> st.SearchStrategy[Any]:
    if kind == "number":
        return st.one_of(st.integers(-5, 5), st.floats(-5, 5))
    return st.text(max_size=5) if kind == "string" else st.booleans()


@pytest.fixture(scope="module")
def loop() -> Iterator[IOLoop]:
    io_loop = IOLoop(make_current=False)
    yield io_loop
    io_loop.close(all_fds=True)


def send(visited: Visited, events: list[Any]) -> str:
    """Run one visitor PATCH-DOC through the session, checking what it changed; the type
    of its reply."""
    app, session, transport, watch = visited
    msgid = f"m{watch.count}"
    watch.around(lambda: session.receive(browser_patch(events, msgid), "visitor"))
    [reply] = [m for m in transport.messages if m.header.get("reqid") == msgid]
    transport.messages.clear()
    assert len(str(reply.content)) < 2000  # never the whole value back
    return str(reply.header["msgtype"])


Visited = tuple[App, KernelSession, FakeChannel, Watch]


@pytest.fixture(scope="module")
def visited(loop: IOLoop) -> Iterator[Visited]:
    app = App()
    transport = FakeChannel()
    session = KernelSession(app.doc, transport, io_loop=loop, visitor="interact", standalone=True)
    yield app, session, transport, Watch(app)
    session.destroy()


SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings(SETTINGS, max_examples=3000)
@given(data=st.data())
def test_random_property_changes(data: st.DataObject, visited: Any) -> None:
    app = visited[0]
    models = sorted(app.doc.models, key=lambda m: m.id)
    settable = [m for m in models if settable_props(m)]
    model = data.draw(st.one_of(st.sampled_from(models), st.sampled_from(settable)))
    every = st.sampled_from(sorted(model.properties()))
    props = settable_props(model)
    attr = data.draw(st.one_of(every, st.sampled_from(props)) if props else every)
    new = data.draw(st.one_of(hostile, plausible(model, attr)))
    event = {"kind": "ModelChanged", "model": {"id": model.id}, "attr": attr, "new": new}
    outcome = send(visited, [event])
    event_note(f"{outcome} {type(model).__name__}.{attr}" if outcome == "OK" else outcome)
    if outcome == "OK":
        assert rule(model, attr) is not None or attr in SELECTION or attr == "data"


@settings(SETTINGS, max_examples=1000)
@given(data=st.data())
def test_random_data_edits(data: st.DataObject, visited: Any) -> None:
    app = visited[0]
    sources = sorted(
        (m for m in app.doc.models if isinstance(m, ColumnDataSource)), key=lambda m: m.id
    )
    source = data.draw(st.sampled_from(sources))
    # the columns as the app made them: accepted patches change source.data, and what is
    # drawn must not depend on that (hypothesis replays draws)
    made = sorted(visited[3].data[source.id])
    names = made + ["name", "tags", "zzz"]
    fair = data.draw(st.booleans())  # the source's own columns, values of their kinds
    attr = "data" if fair else data.draw(st.sampled_from(["data", "name", "tags", "selected"]))
    # draws never depend on the document's state, which accepted patches change
    growth = data.draw(st.sampled_from([0, 0, 1, -1, 5]))
    length = max(0, source_length(source) + growth)
    hostile_cell = st.one_of(st.integers(-5, 5), st.text(max_size=5), hostile)

    def cell(column: str) -> Any:
        return data.draw(
            cells(kind_of(visited[3].data[source.id], column)) if fair else hostile_cell
        )

    def values(column: str) -> list[Any]:
        pool = [cell(column) for _ in range(4)]
        return [pool[i % 4] for i in range(length)]

    if fair:
        columns = made
    else:
        columns = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    event: dict[str, Any]
    if data.draw(st.booleans()):
        entries = [[c, values(c)] for c in columns]
        cols = None if fair else data.draw(st.sampled_from([None, columns, names]))
        event = {
            "kind": "ColumnDataChanged",
            "model": {"id": source.id},
            "attr": attr,
            "data": {"type": "map", "entries": entries},
            "cols": cols,
        }
    else:
        rows = st.integers(-1, 4)
        patches = [
            [c, [[data.draw(rows), cell(c)]]] for c in columns[: data.draw(st.integers(1, 3))]
        ]
        event = {
            "kind": "ColumnsPatched",
            "model": {"id": source.id},
            "attr": attr,
            "patches": {"type": "map", "entries": patches},
        }
    event_note(f"{send(visited, [event])} {event['kind']}")


@settings(SETTINGS, max_examples=1000)
@given(data=st.data())
def test_random_events(data: st.DataObject, visited: Any) -> None:
    app = visited[0]
    models = sorted(app.doc.models, key=lambda m: m.id)
    named = {m.name: m for m in models if m.name}
    fair = data.draw(
        st.sampled_from(
            [
                ("button_click", "go", []),
                ("button_click", "off", []),
                ("button_click", "hidden", []),
                ("button_click", "menu", []),
                (
                    "menu_item_click",
                    "menu",
                    [["item", data.draw(st.sampled_from(["one", "two", "x"]))]],
                ),
                ("value_submit", "text", [["value", data.draw(st.text(max_size=25))]]),
                ("tap", "plot", [["sx", 1.0], ["sy", 2.0], ["x", 0.5], ["y", data.draw(hostile)]]),
                None,
            ]
        )
    )
    values: list[Any] = []
    if fair is not None:
        name, target, values = fair[0], named[fair[1]], list(fair[2])
        values.append(["model", {"id": target.id}])
    else:
        name = data.draw(st.sampled_from(sorted(EVENT_CLASSES) + ["nope"]))
    if fair is None and data.draw(st.booleans()):
        model = data.draw(st.sampled_from(models))
        values.append(["model", {"id": model.id}])
    extra = st.lists(st.sampled_from(["item", "value", "sx", "x", "a"]), max_size=3)
    for key in data.draw(extra) if fair is None or data.draw(st.integers(0, 4)) == 0 else []:
        values.append(
            [key, data.draw(st.one_of(st.sampled_from(["one", "two", "three"]), hostile))]
        )
    msg_data: Any = {"type": "event", "name": name, "values": {"type": "map", "entries": values}}
    if data.draw(st.integers(0, 9)) == 0:
        msg_data = data.draw(st.sampled_from([{"a": 1}, None, [], {"type": "event"}]))
    calls = len(app.calls)
    event = {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": msg_data}
    outcome = send(visited, [event])
    event_note(f"{outcome} {name}")
    if outcome != "OK":
        assert len(app.calls) == calls  # a refused event runs nothing
