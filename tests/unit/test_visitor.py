"""A share-link visitor's session: only what BokehJS widgets and tools set gets through."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import (
    Button,
    CheckboxGroup,
    ColumnDataSource,
    DataTable,
    DatePicker,
    Div,
    Dropdown,
    MultiSelect,
    PointDrawTool,
    Select,
    Slider,
    TableColumn,
    TabPanel,
    Tabs,
    TextInput,
)
from bokeh.plotting import figure

from bokeh_nb.kernel.session import KernelSession

from .conftest import FakeChannel, browser_patch, model_changed
from .test_session import run, turn


def app_document() -> tuple[Document, dict[str, Any]]:
    doc = Document()
    slider = Slider(start=0, end=10, value=1)
    div = Div(text="0")
    button = Button(label="go")
    p = figure(height=200, width=300)
    points = p.scatter([1, 2], [3, 4])
    table_source = ColumnDataSource({"a": [1, 2]})
    table = DataTable(source=table_source, columns=[TableColumn(field="a")], editable=True)
    plain_source = ColumnDataSource({"b": [1, 2]})
    p.add_tools(PointDrawTool(renderers=[points]))
    slider.on_change("value", lambda attr, old, new: setattr(div, "text", str(new)))
    off = Button(label="off", disabled=True)
    hidden = Button(label="hidden", visible=False)
    buried = Button(label="in a hidden column")
    for b in (button, off, hidden, buried):
        b.on_click(lambda b=b: setattr(div, "text", f"clicked {b.label}"))
    select = Select(options=["a", ("b", "B")], value="a")
    multi = MultiSelect(options=["a", "b", "c"], value=[])
    checks = CheckboxGroup(labels=["x", "y"])
    text = TextInput(value="", max_length=10)
    picker = DatePicker(value="2024-01-10", min_date="2024-01-01", max_date="2024-01-31")
    menu = Dropdown(label="menu", menu=["one", ("Two", "two")])
    tabs = Tabs(
        tabs=[
            TabPanel(child=column(select, multi, checks, text, picker, menu), title="t0"),
            TabPanel(child=Div(text="locked"), title="t1", disabled=True),
        ]
    )
    unshown = Slider(start=0, end=1, value=0)  # only a callback's argument, never shown
    doc.add_root(column(slider, div, button, off, hidden, p, table, tabs))
    doc.add_root(column(buried, visible=False))
    doc.add_root(DataTable(source=plain_source, columns=[TableColumn(field="b")]))
    doc.add_root(Div(text="", tags=[unshown]))
    return doc, {
        "off": off,
        "hidden": hidden,
        "buried": buried,
        "select": select,
        "multi": multi,
        "checks": checks,
        "text": text,
        "picker": picker,
        "menu": menu,
        "tabs": tabs,
        "unshown": unshown,
        "slider": slider,
        "div": div,
        "button": button,
        "plot": p,
        "x_range": p.x_range,
        "selection": points.data_source.selected,
        "points": points.data_source,
        "table_source": table_source,
        "plain_source": plain_source,
    }


def outcome(mode: str | None, make_events: Any) -> tuple[str, dict[str, Any]]:
    """The reply to a visitor's patch (made from the models of a fresh app document), and
    the div's text and slider's value after it."""
    result: list[Any] = []

    async def main() -> None:
        doc, models = app_document()
        transport = FakeChannel()
        session = KernelSession(doc, transport, visitor=mode)  # type: ignore[arg-type]
        session.receive(browser_patch(make_events(models), "v1"), "visitor")
        await turn()
        [reply] = [m for m in transport.messages if m.header.get("reqid") == "v1"]
        state = {"div": models["div"].text, "slider": models["slider"].value}
        result.append((reply.header["msgtype"], state))
        session.destroy()

    run(main)
    return result[0]  # type: ignore[no-any-return]


def refused(mode: str, make_events: Any, caplog: pytest.LogCaptureFixture) -> bool:
    with caplog.at_level(logging.WARNING, logger="bokeh_nb.kernel.session"):
        msgtype, _state = outcome(mode, make_events)
    logged = "refused a share-link visitor" in caplog.text
    assert (msgtype == "ERROR") == logged, (msgtype, caplog.text)
    return msgtype == "ERROR"


ALLOWED = {
    "slider value": lambda m: [model_changed(m["slider"].id, "value", 4)],
    "range after a pan": lambda m: [
        model_changed(m["x_range"].id, "start", 0.5),
        model_changed(m["x_range"].id, "end", 2.5),
    ],
    "selection": lambda m: [model_changed(m["selection"].id, "indices", [1])],
    "plot size": lambda m: [model_changed(m["plot"].id, "inner_width", 280)],
    "button click": lambda m: [
        {
            "kind": "MessageSent",
            "msg_type": "bokeh_event",
            "msg_data": {
                "type": "event",
                "name": "button_click",
                "values": {"type": "map", "entries": [["model", {"id": m["button"].id}]]},
            },
        }
    ],
    "editable table cell": lambda m: [
        {
            "kind": "ColumnsPatched",
            "model": {"id": m["table_source"].id},
            "attr": "data",
            "patches": {"type": "map", "entries": [["a", [[0, 5]]]]},
        }
    ],
    "an option": lambda m: [model_changed(m["select"].id, "value", "b")],
    "options": lambda m: [model_changed(m["multi"].id, "value", ["a", "c"])],
    "a checkbox": lambda m: [model_changed(m["checks"].id, "active", [1])],
    "text within its length": lambda m: [model_changed(m["text"].id, "value", "ten chars!")],
    "a date it offers": lambda m: [model_changed(m["picker"].id, "value", "2024-01-31")],
    "a tab": lambda m: [model_changed(m["tabs"].id, "active", 0)],
    "a menu item": lambda m: [event("menu_item_click", m["menu"].id, [["item", "two"]])],
    "a tap on the plot": lambda m: [
        event("tap", m["plot"].id, [["sx", 1], ["sy", 2], ["x", 0.5], ["y", 1.5]])
    ],
    "point draw tool": lambda m: [
        {
            "kind": "ColumnDataChanged",
            "model": {"id": m["points"].id},
            "attr": "data",
            "data": {"type": "map", "entries": [["x", [1, 2, 3]], ["y", [3, 4, 5]]]},
            "cols": ["x", "y"],
        }
    ],
    # BokehJS's edit tools clear the selection, then set the data without the rows deleted
    "point draw tool deleting the selected point": lambda m: [
        model_changed(m["points"].selected.id, "indices", []),
        points_data(m, [1], [3]),
    ],
}


def points_data(m: dict[str, Any], x: list[int], y: list[int]) -> dict[str, Any]:
    return {
        "kind": "ColumnDataChanged",
        "model": {"id": m["points"].id},
        "attr": "data",
        "data": {"type": "map", "entries": [["x", x], ["y", y]]},
        "cols": ["x", "y"],
    }


def event(name: str, model: str, values: list[list[Any]]) -> dict[str, Any]:
    entries = [["model", {"id": model}], *values]
    return {
        "kind": "MessageSent",
        "msg_type": "bokeh_event",
        "msg_data": {"type": "event", "name": name, "values": {"type": "map", "entries": entries}},
    }


def source_change(source: Any, attr: str, data: Any, cols: Any = None) -> list[dict[str, Any]]:
    return [
        {"kind": "ColumnDataChanged", "model": {"id": source.id}, "attr": attr, "data": data}
        | {"cols": cols}
    ]


def patched(source: Any, column: str, index: Any, value: Any) -> list[dict[str, Any]]:
    patches = {"type": "map", "entries": [[column, [[index, value]]]]}
    return [
        {"kind": "ColumnsPatched", "model": {"id": source.id}, "attr": "data", "patches": patches}
    ]


REFUSED = {
    "a click on a disabled button": lambda m: [event("button_click", m["off"].id, [])],
    "a click on an invisible button": lambda m: [event("button_click", m["hidden"].id, [])],
    "a click in a hidden layout": lambda m: [event("button_click", m["buried"].id, [])],
    "a click with a value it has not": lambda m: [
        event("button_click", m["button"].id, [["a", 1]])
    ],
    "an event that is no event": lambda m: [
        {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {"a": 1}}
    ],
    "a menu item not in the menu": lambda m: [
        event("menu_item_click", m["menu"].id, [["item", "three"]])
    ],
    "a tap on a button": lambda m: [event("tap", m["button"].id, [["sx", 1]])],
    "a tap at a bytes coordinate": lambda m: [
        event("tap", m["plot"].id, [["sx", {"type": "bytes", "data": "AAAA"}]])
    ],
    "a connection event": lambda m: [event("connection_lost", m["plot"].id, [])],
    "an option it does not offer": lambda m: [model_changed(m["select"].id, "value", "zzz")],
    "a label instead of its value": lambda m: [model_changed(m["select"].id, "value", "B")],
    "options twice": lambda m: [model_changed(m["multi"].id, "value", ["a", "a"])],
    "a checkbox it has not": lambda m: [model_changed(m["checks"].id, "active", [2])],
    "text beyond its max_length": lambda m: [model_changed(m["text"].id, "value", "x" * 11)],
    "text that is a number": lambda m: [model_changed(m["text"].id, "value", 5)],
    "a date before min_date": lambda m: [model_changed(m["picker"].id, "value", "2023-12-31")],
    "a date that is no date": lambda m: [model_changed(m["picker"].id, "value", "2024-02-30")],
    "a disabled tab": lambda m: [model_changed(m["tabs"].id, "active", 1)],
    "a tab it has not": lambda m: [model_changed(m["tabs"].id, "active", 2)],
    "a slider value of NaN": lambda m: [
        model_changed(m["slider"].id, "value", {"type": "number", "value": "nan"})
    ],
    "a slider value of 1e308": lambda m: [model_changed(m["slider"].id, "value", 1e308)],
    "a slider value past its end": lambda m: [model_changed(m["slider"].id, "value", 10.5)],
    "a slider value of true": lambda m: [model_changed(m["slider"].id, "value", True)],
    "a slider value of bytes": lambda m: [
        model_changed(
            m["slider"].id, "value", {"type": "bytes", "data": "H4sIAAAAAAAAAwMAAAAAAAAAAAA="}
        )
    ],
    "a slider value as an array": lambda m: [
        model_changed(
            m["slider"].id,
            "value",
            {"type": "ndarray", "array": [1], "dtype": "float64", "order": "little", "shape": [1]},
        )
    ],
    "a slider nobody sees": lambda m: [model_changed(m["unshown"].id, "value", 1)],
    "indices past the source's rows": lambda m: [model_changed(m["selection"].id, "indices", [2])],
    "a source's name through ColumnDataChanged": lambda m: source_change(
        m["table_source"], "name", "pwned"
    ),
    "a source's tags through ColumnDataChanged": lambda m: source_change(
        m["table_source"], "tags", ["pwned"]
    ),
    "a column of another length in a table": lambda m: source_change(
        m["table_source"], "data", {"type": "map", "entries": [["a", [1, 2, 3]]]}
    ),
    "a column of another type": lambda m: source_change(
        m["table_source"], "data", {"type": "map", "entries": [["a", ["x", "y"]]]}
    ),
    "a new column": lambda m: source_change(
        m["table_source"], "data", {"type": "map", "entries": [["a", [1, 2]], ["z", [1, 2]]]}
    ),
    "an inline bytes column": lambda m: source_change(
        m["table_source"],
        "data",
        {
            "type": "map",
            "entries": [
                [
                    "a",
                    {
                        "type": "ndarray",
                        "array": {"type": "bytes", "data": "AAAAAAAAAAAAAAAAAAAAAA=="},
                        "dtype": "float64",
                        "order": "little",
                        "shape": [2],
                    },
                ]
            ],
        },
    ),
    "a patch of a row it has not": lambda m: patched(m["table_source"], "a", 2, 5),
    "a patch of a column it has not": lambda m: patched(m["table_source"], "zz", 0, 5),
    "a patch with a slice": lambda m: patched(
        m["table_source"], "a", {"type": "slice", "start": 0, "stop": 2, "step": None}, 5
    ),
    "a Div's text": lambda m: [model_changed(m["div"].id, "text", "<img src=x onerror=alert(1)>")],
    "a slider's bounds": lambda m: [model_changed(m["slider"].id, "end", 1e9)],
    "a new model as a value": lambda m: [
        model_changed(
            m["button"].id,
            "js_event_callbacks",
            {
                "type": "map",
                "entries": [
                    [
                        "button_click",
                        [
                            {
                                "type": "object",
                                "name": "CustomJS",
                                "id": "evil1",
                                "attributes": {"code": "alert(1)"},
                            }
                        ],
                    ]
                ],
            },
        )
    ],
    "a new model in an allowed property": lambda m: [
        model_changed(
            m["slider"].id,
            "value",
            {"type": "object", "name": "CustomJS", "id": "evil2", "attributes": {}},
        )
    ],
    "a new root": lambda m: [
        {
            "kind": "RootAdded",
            "model": {"type": "object", "name": "Div", "id": "evil3", "attributes": {}},
        }
    ],
    "removing a root": lambda m: [{"kind": "RootRemoved", "model": {"id": m["slider"].id}}],
    "the title": lambda m: [{"kind": "TitleChanged", "title": "pwned"}],
    "data of a plain source": lambda m: [
        {
            "kind": "ColumnDataChanged",
            "model": {"id": m["plain_source"].id},
            "attr": "data",
            "data": {"type": "map", "entries": [["b", [9]]]},
            "cols": ["b"],
        }
    ],
    "streaming": lambda m: [
        {
            "kind": "ColumnsStreamed",
            "model": {"id": m["table_source"].id},
            "attr": "data",
            "data": {"type": "map", "entries": [["a", [9]]]},
            "rollover": None,
        }
    ],
    "rows deleted from under a selection": lambda m: [
        model_changed(m["points"].selected.id, "indices", [1]),
        points_data(m, [1], [3]),
    ],
    "an unknown model": lambda m: [model_changed("nope", "value", 1)],
    "another message": lambda m: [{"kind": "MessageSent", "msg_type": "exec", "msg_data": {}}],
    "an allowed change then a forbidden one": lambda m: [
        model_changed(m["slider"].id, "value", 4),
        model_changed(m["div"].id, "text", "x"),
    ],
}


@pytest.mark.parametrize("name", ALLOWED)
def test_interact_visitor_may_do_what_widgets_and_tools_do(name: str, caplog: Any) -> None:
    assert not refused("interact", ALLOWED[name], caplog)


@pytest.mark.parametrize("name", REFUSED)
def test_interact_visitor_refused_the_rest(name: str, caplog: Any) -> None:
    assert refused("interact", REFUSED[name], caplog)


@pytest.mark.parametrize("name", ["slider value", "button click"])
def test_view_visitor_changes_nothing(name: str, caplog: Any) -> None:
    assert refused("view", ALLOWED[name], caplog)


def test_refused_patch_changes_nothing_and_the_session_goes_on() -> None:
    async def main() -> None:
        doc, m = app_document()
        transport = FakeChannel()
        session = KernelSession(doc, transport, visitor="interact")
        bad = [model_changed(m["slider"].id, "value", 7), model_changed(m["div"].id, "text", "x")]
        session.receive(browser_patch(bad, "bad"), "visitor")
        await turn()
        assert m["slider"].value == 1 and m["div"].text == "0"  # all or nothing
        session.receive(browser_patch([model_changed(m["slider"].id, "value", 3)], "ok"), "v")
        await turn()
        assert m["slider"].value == 3 and m["div"].text == "3"  # the callback ran
        replies = {msg.header.get("reqid"): msg.header["msgtype"] for msg in transport.messages}
        assert replies["bad"] == "ERROR" and replies["ok"] == "OK"
        session.destroy()

    run(main)


def test_rows_a_selection_holds_are_not_deleted_from_under_it() -> None:
    """A patch that leaves a selection on rows its source no longer has is refused, whole,
    also when the selection came in an earlier patch; an edit tool that clears the
    selection and deletes rows, as BokehJS's do, gets through."""

    async def main() -> None:
        doc, m = app_document()
        transport = FakeChannel()
        session = KernelSession(doc, transport, visitor="interact")
        selected = m["points"].selected
        session.receive(browser_patch([model_changed(selected.id, "indices", [1])], "pick"), "v")
        await turn()
        assert selected.indices == [1]
        session.receive(browser_patch([points_data(m, [1], [3])], "cut"), "v")
        await turn()
        assert list(m["points"].data["x"]) == [1, 2], "refused: row 1 is selected"
        clear = [model_changed(selected.id, "indices", []), points_data(m, [2], [4])]
        session.receive(browser_patch(clear, "delete"), "v")
        await turn()
        assert list(m["points"].data["x"]) == [2] and selected.indices == []
        replies = {msg.header.get("reqid"): msg.header["msgtype"] for msg in transport.messages}
        assert [replies[r] for r in ("pick", "cut", "delete")] == ["OK", "ERROR", "OK"]
        session.destroy()

    run(main)


def test_the_notebook_author_is_not_filtered() -> None:
    msgtype, state = outcome(None, lambda m: [model_changed(m["div"].id, "text", "by me")])
    assert msgtype == "OK" and state["div"] == "by me"
