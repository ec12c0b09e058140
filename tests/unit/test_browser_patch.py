"""A browser's PATCH-DOC applied as bokeh's server applies it (``_bokeh_patch``), without
bokeh's TRACE line that formats every new value (a 10 MB repr for a column of 10^6 values
from a page), unless bokeh logs at TRACE."""

from __future__ import annotations

import array
import asyncio
import json
import logging
from typing import Any

import numpy as np
import pytest
from bokeh.core.has_props import HasProps
from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import Button, ColumnDataSource, Div
from bokeh.util.logconfig import TRACE

from bokeh_nb import _bokeh
from bokeh_nb.kernel.flow import MessageBudget
from bokeh_nb.kernel.session import KernelSession
from tests.loops import in_thread

from .conftest import (
    FakeChannel,
    browser_patch,
    button_click,
    column_patch,
    model_changed,
    pull_request,
)

N = 10**6


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The attributes bokeh's own ``HasProps.set_from_json`` was called for."""
    seen: list[str] = []
    original = HasProps.set_from_json

    def recording(self: HasProps, name: str, value: Any, **kw: Any) -> None:
        seen.append(name)
        original(self, name, value, **kw)

    monkeypatch.setattr(HasProps, "set_from_json", recording)
    return seen


def test_a_pages_column_is_applied_without_bokehs_trace_line(calls: list[str]) -> None:
    source = ColumnDataSource(data={"x": [0.0]})
    doc = Document()
    doc.add_root(source)
    changes: list[tuple[Any, Any]] = []
    source.on_change("data", lambda _attr, old, new: changes.append((old, new)))
    setter = object()
    got: list[Any] = []
    doc.on_change(lambda event: got.append(event.setter))
    values = np.arange(N, dtype="float64")

    _bokeh.apply_patch(column_patch(source.id, values, typed=True), doc, setter)

    assert calls == []  # bokeh's set_from_json, whose TRACE line formats the value, not used
    x = source.data["x"]
    assert isinstance(x, array.array) and len(x) == N  # what bokeh makes of a typed array
    assert np.array_equal(np.frombuffer(x, dtype="float64"), values)
    assert len(changes) == 1 and list(changes[0][0]["x"]) == [0.0]
    assert got == [setter]  # the change is marked as the page's own, as bokeh's path marks it


def test_with_bokeh_logging_at_trace_bokehs_own_path_runs(calls: list[str]) -> None:
    source = ColumnDataSource(data={"x": [0.0]})
    doc = Document()
    doc.add_root(source)
    log = logging.getLogger("bokeh.core.has_props")
    level = log.level
    log.setLevel(TRACE)
    try:
        _bokeh.apply_patch(column_patch(source.id, np.arange(10.0), typed=True), doc, object())
    finally:
        log.setLevel(level)
    assert calls == ["data"]
    assert list(source.data["x"]) == list(np.arange(10.0))


def test_an_attribute_the_model_lacks_gets_bokehs_warning(
    calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    div = Div(text="a")
    doc = Document()
    doc.add_root(div)
    event = {"kind": "ModelChanged", "model": {"id": div.id}, "attr": "nope", "new": 1}
    msg = _bokeh.assemble(
        {"msgid": "m", "msgtype": "PATCH-DOC"}, {}, json.dumps({"events": [event]}), []
    )
    with caplog.at_level(logging.WARNING, logger="bokeh.core.has_props"):
        _bokeh.apply_patch(msg, doc, object())
    assert calls == ["nope"]
    assert "client-only or invalid attribute" in caplog.text
    assert div.text == "a"


def test_bokehs_walk_for_references_passes_over_lists_of_plain_values() -> None:
    import bokeh.model.model as model_module
    import bokeh.model.util as util_module

    walk = util_module.visit_value_and_its_immediate_references
    assert model_module.visit_value_and_its_immediate_references is walk  # Model.trigger's
    assert getattr(walk, "bokeh_nb", False)  # bokeh_nb's, which passes over plain lists
    div, other = Div(), Div()
    cases: list[Any] = [
        list(range(10**5)),  # passed over: nothing in it is a model
        [0.5, "a", True, None] * 100,
        {"x": list(range(1000)), "y": [div]},  # the list of models inside is still walked
        [1, 2, 3] * 10 + [other],
        [[div], 1] * 20,
        (div, 1),
    ]
    expected = [[], [], [div], [other], [div] * 20, [div]]
    for case, models in zip(cases, expected, strict=True):
        seen: list[Any] = []
        walk(case, seen.append)
        assert seen == models, case


def test_a_selection_from_a_page_arrives_whole_and_marks_the_document_when_it_must() -> None:
    source = ColumnDataSource(data={"x": list(range(10))})
    doc = Document()
    doc.add_root(source)
    got: list[Any] = []
    source.selected.on_change("indices", lambda _a, _o, new: got.append(new))
    indices = list(range(10**5, 0, -1))
    event = {
        "kind": "ModelChanged",
        "model": {"id": source.selected.id},
        "attr": "indices",
        "new": indices,
    }
    msg = _bokeh.assemble(
        {"msgid": "s", "msgtype": "PATCH-DOC"}, {}, json.dumps({"events": [event]}), []
    )
    _bokeh.apply_patch(msg, doc, object())
    assert got == [indices] and source.selected.indices == indices
    # a value that references a model still makes the document look for new models
    div = Div()
    source.tags = [div]
    assert div.document is doc


def test_a_model_that_intercepts_set_from_json_still_gets_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def intercepting(self: HasProps, name: str, value: Any, **kw: Any) -> None:
        calls.append(name)
        HasProps.set_from_json(self, name, value, **kw)

    monkeypatch.setattr(Div, "set_from_json", intercepting)  # as a custom model may
    div = Div(text="a")
    doc = Document()
    doc.add_root(div)
    event = {"kind": "ModelChanged", "model": {"id": div.id}, "attr": "text", "new": "b"}
    msg = _bokeh.assemble(
        {"msgid": "w", "msgtype": "PATCH-DOC"}, {}, json.dumps({"events": [event]}), []
    )
    _bokeh.apply_patch(msg, doc, object())
    assert calls == ["text"] and div.text == "b"


def test_other_events_of_a_patch_still_go_to_bokeh(channel: FakeChannel) -> None:
    async def main() -> None:
        button, div = Button(), Div(text="0")
        calls: list[str] = []
        button.on_click(lambda: calls.append("click"))
        doc = Document()
        doc.add_root(column(button, div))
        session = KernelSession(doc, channel, budget=MessageBudget())
        session.receive(pull_request(), "c1")
        click = button_click(button.id)
        session.receive(browser_patch([click], "m1"), "c1")
        session.receive(browser_patch([model_changed(div.id, "text", "5"), click], "m2"), "c1")
        for _ in range(3):
            await asyncio.sleep(0)
        assert calls == ["click", "click"] and div.text == "5"
        assert channel.of_type("ERROR") == []
        assert [m.header["reqid"] for m in channel.of_type("OK")] == ["m1", "m2"]

    in_thread(main, 60)
