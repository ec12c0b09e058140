"""A realistic app document for the visitor property tests, and the invariants a
visitor's patch must leave it in (``test_visitor_property.py``)."""

from __future__ import annotations

import copy
import math
from datetime import date
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.model import Model
from bokeh.models import (
    Button,
    CheckboxGroup,
    ColumnDataSource,
    CustomJS,
    DataTable,
    DatePicker,
    Div,
    Dropdown,
    MultiSelect,
    PointDrawTool,
    RadioButtonGroup,
    RangeSlider,
    Select,
    Selection,
    Slider,
    TableColumn,
    TabPanel,
    Tabs,
    TextInput,
    Toggle,
)
from bokeh.plotting import figure

from bokeh_nb.kernel.visitor_data import column_kind, editing, source_length
from bokeh_nb.kernel.visitor_values import TEXT_LIMIT, option_values, rule

#: properties an app's own callbacks change in response (not a visitor's doing)
CALLBACK_OUTPUT = {("out", "text")}
SELECTION = {"indices", "line_indices", "multiline_indices", "image_indices"}


class App:
    """A realistic app document, with a log of the Python callbacks that ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.doc = Document()
        out = Div(text="", name="out")

        def note(what: str) -> Any:
            def callback(attr: Any, old: Any, new: Any) -> None:
                self.calls.append(what)
                out.text = what

            return callback

        def on_event(what: str) -> Any:
            def callback(event: Any) -> None:
                self.calls.append(what)
                out.text = what

            return callback

        p = figure(width=300, height=200, name="plot", tools="pan,wheel_zoom,box_select,tap")
        points = p.scatter("x", "y", source=ColumnDataSource({"x": [1, 2], "y": [3, 4]}))
        p.add_tools(PointDrawTool(renderers=[points]))
        p.line([1, 2, 3], [3, 1, 2])
        table_source = ColumnDataSource(
            {"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"], "c": np.array([1, 2, 3])}, name="ts"
        )
        table = DataTable(
            source=table_source,
            columns=[TableColumn(field=f) for f in ("a", "b", "c")],
            editable=True,
        )
        plain = ColumnDataSource({"p": [1, 2]}, name="plain")
        widgets: list[Any] = [
            Slider(start=0, end=10, value=1, step=1, name="slider"),
            RangeSlider(start=0, end=10, value=(2, 5), name="range"),
            Select(options=["a", "b", ("c", "C")], value="a", name="select"),
            MultiSelect(options=["a", "b", "c"], value=["a"], name="multi"),
            CheckboxGroup(labels=["x", "y"], active=[0], name="checks"),
            RadioButtonGroup(labels=["x", "y", "z"], active=0, name="radio"),
            TextInput(value="hi", max_length=20, name="text"),
            Button(label="go", name="go"),
            Button(label="off", disabled=True, name="off"),
            Button(label="hidden", visible=False, name="hidden"),
            Dropdown(label="menu", menu=["one", ("Two", "two"), None], name="menu"),
            Toggle(label="toggle", name="toggle"),
            DatePicker(value="2024-01-10", min_date="2024-01-01", max_date="2024-12-31"),
            Slider(start=0, end=1, value=0.5, step=0.1, disabled=True, name="frozen"),
        ]
        for w in widgets:
            if isinstance(w, Button | Dropdown):
                w.on_event("button_click", on_event(f"click {w.name}"))
            else:
                w.on_change("value" if hasattr(w, "value") else "active", note(f"set {w.name}"))
        widgets[10].on_event("menu_item_click", on_event("menu"))
        p.on_event("tap", on_event("tap"))
        widgets[0].js_on_change("value", CustomJS(code="console.log(cb_obj.value)"))
        hidden_panel = column(Select(options=["q"], value="q", name="inner"), visible=False)
        tabs = Tabs(
            tabs=[
                TabPanel(child=column(*widgets[:7]), title="one"),
                TabPanel(child=column(*widgets[7:]), title="two"),
                TabPanel(child=Div(text="locked"), title="three", disabled=True),
            ],
            name="tabs",
        )
        self.doc.add_root(row(tabs, column(p, table, out, hidden_panel)))
        self.doc.add_root(DataTable(source=plain, columns=[TableColumn(field="p")]))


def frozen(value: Any) -> Any:
    """value copied, with the models it refers to as their ids."""
    if isinstance(value, Model):
        return ("model", value.id)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: frozen(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [frozen(v) for v in value]
    if isinstance(value, set):
        return {frozen(v) for v in value}
    return copy.copy(value)


def snapshot(doc: Document) -> dict[str, dict[str, Any]]:
    """Every property of every model, by model id (values copied)."""
    out: dict[str, dict[str, Any]] = {}
    for model in doc.models:
        values = model.properties_with_values(include_defaults=True)
        out[model.id] = {k: frozen(v) for k, v in values.items()}
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(a == b)
    except Exception:
        return repr(a) == repr(b)


def usable_name(model: Model) -> bool:
    return model.name not in ("off", "hidden", "frozen", "inner")


def allowed_change(doc: Document, model: Any, prop: str) -> None:
    """model.prop changed after a visitor's patch: a page could have changed it."""
    where = (model.name, prop)
    if where in CALLBACK_OUTPUT:
        return
    is_data = isinstance(model, ColumnDataSource) and prop == "data"
    assert is_data or prop in SELECTION or rule(model, prop) is not None, where
    assert usable_name(model), f"{where} of a disabled or hidden widget changed"
    if is_data:
        assert editing(doc, model) is not None, f"data of {model.name} changed"


class Watch:
    """What a patch changed: the document's change events, and (every ``FULL``-th patch)
    every property of every model compared before and after."""

    FULL = 50

    def __init__(self, app: App) -> None:
        self.app = app
        self.changes: list[tuple[Model, str]] = []
        self.count = 0
        self.ids = {m.id for m in app.doc.models}
        self.data = {
            m.id: {k: frozen(v) for k, v in m.data.items()}
            for m in app.doc.models
            if isinstance(m, ColumnDataSource)
        }
        self.checked = [m for m in app.doc.models if not usable_name(m) or _has_bounds(m)]
        app.doc.on_change(self._changed)

    def _changed(self, event: Any) -> None:
        model, attr = getattr(event, "model", None), getattr(event, "attr", None)
        self.changes.append((model, str(attr)))

    def around(self, run: Any) -> Any:
        self.count += 1
        before = snapshot(self.app.doc) if self.count % self.FULL == 0 else None
        self.changes.clear()
        result = run()
        doc = self.app.doc
        assert {m.id for m in doc.models} == self.ids, "a model was added or removed"
        for model, prop in self.changes:
            assert isinstance(model, Model), f"a change of the document itself: {prop}"
            allowed_change(doc, model, prop)
        if before is not None:
            after = snapshot(doc)
            for model in doc.models:
                for prop, old in before[model.id].items():
                    if not same(old, after[model.id][prop]):
                        allowed_change(doc, model, prop)
        assert not {"click off", "click hidden", "set frozen", "set inner"} & set(self.app.calls)
        for model in self.checked:
            check_values(doc, model, self.data.get(model.id, {}))
        return result


def _has_bounds(model: Any) -> bool:
    kinds = (Slider, RangeSlider, Select, MultiSelect, CheckboxGroup, RadioButtonGroup, Tabs)
    return isinstance(model, kinds + (TextInput, DatePicker, ColumnDataSource, Selection))


def check_values(doc: Document, model: Any, old: dict[str, Any]) -> None:
    """model's values are ones its widget offers (old: a source's columns at the start)."""
    if isinstance(model, RangeSlider):
        low, high = model.value
        assert model.start <= low <= high <= model.end
    elif isinstance(model, Slider):
        assert math.isfinite(model.value) and model.start <= model.value <= model.end
    elif isinstance(model, MultiSelect):
        assert set(model.value) <= set(option_values(model.options))
    elif isinstance(model, Select):
        assert model.value in option_values(model.options)
    elif isinstance(model, CheckboxGroup):
        assert all(0 <= i < len(model.labels) for i in model.active)
    elif isinstance(model, RadioButtonGroup):
        assert 0 <= model.active < len(model.labels)
    elif isinstance(model, Tabs):
        assert 0 <= model.active < 2  # the third tab is disabled
    elif isinstance(model, TextInput):
        assert isinstance(model.value, str) and len(model.value) <= min(20, TEXT_LIMIT)
    elif isinstance(model, DatePicker):
        assert date(2024, 1, 1) <= date.fromisoformat(str(model.value)) <= date(2024, 12, 31)
    elif isinstance(model, ColumnDataSource):
        assert sorted(model.data) == sorted(old)
        lengths = {len(v) for v in model.data.values()}
        assert len(lengths) <= 1
        if editing(doc, model) != "tool":
            assert source_length(model) == max((len(v) for v in old.values()), default=0)
        for name, values in model.data.items():
            was, now = column_kind(old[name]), column_kind(values)
            assert was == "any" or now in (was, "any"), (model.name, name, was, now)
    elif isinstance(model, Selection):
        for source in doc.models:
            if isinstance(source, ColumnDataSource) and source.selected is model:
                assert all(0 <= i < source_length(source) for i in model.indices)
