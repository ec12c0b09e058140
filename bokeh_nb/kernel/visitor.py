"""What a share-link visitor may change in a session's document.

A visitor (someone who opened a share link, see ``server/shares.py``) reaches the app's
Python only through the changes a person can make with the rendered page: a slider moved
within its bounds, an option picked, a selection, a range a pan moved, a tool toggled, a
click on an enabled, visible button, a cell of an editable table edited. A change is
accepted only if the widget (and every layout around it) is enabled and visible, and the
value is one the widget offers (``visitor_values.py``); events only of the kinds BokehJS
sends for that model (``visitor_events.py``); data edits only of the data columns of a
source an editable table or an edit tool shows (``visitor_data.py``). Everything else a
hand-crafted patch could do (create models, CustomJS included; add or remove roots; set
a Div's text or a source's name; stream) is refused here, before any of it is decoded or
touches the document. A ``view`` visitor changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.model import Model
from bokeh.models.layouts import LayoutDOM, TabPanel
from bokeh.models.plots import Plot
from bokeh.models.selections import Selection
from bokeh.models.sources import ColumnDataSource
from bokeh.models.widgets.widget import Widget

from .visitor_data import data_refusal, patch_refusal, selected_rows_refusal, selection_refusal
from .visitor_events import event_refusal
from .visitor_json import prop
from .visitor_text import excerpt
from .visitor_values import rule

__all__ = ("Mode", "refusal")

#: A share link's mode (``protocol.VISITOR_MODES``), as the session holds it.
Mode = Literal["view", "interact"]

#: events one PATCH-DOC of a visitor may carry
EVENT_LIMIT = 1_000


class Layout:
    """Which models of a document a person can see and use: those reached from a root
    through layouts (and tab panels) that are all visible and enabled, and that are
    themselves visible and enabled."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self._parents: dict[ID, list[Model]] | None = None

    def _parents_of(self, model: Model) -> list[Model]:
        if self._parents is None:
            parents: dict[ID, list[Model]] = {}
            for parent in self.document.models:
                if isinstance(parent, LayoutDOM | TabPanel):
                    for child in _children(parent):
                        parents.setdefault(child.id, []).append(parent)
            self._parents = parents
        return self._parents.get(model.id, [])

    def usable(self, model: Any) -> bool:
        roots = {root.id for root in self.document.roots}
        seen: set[ID] = set()
        todo: list[Model] = [model]
        reached_root = False
        while todo:
            current = todo.pop()
            if current.id in seen:
                continue
            seen.add(current.id)
            if prop(current, "disabled", False) is True:
                return False
            if prop(current, "visible", True) is False:
                return False
            reached_root = reached_root or current.id in roots
            todo.extend(self._parents_of(current))
        return reached_root


#: the properties through which a layout (or a tab panel) shows the models it holds
LAYOUT_CHILDREN = ("children", "child", "tabs", "elements")


def _children(model: Model) -> list[Model]:
    """The models a layout holds (in lists and tuples too, as a grid's children)."""
    found: list[Model] = []
    props = model.properties()
    todo: list[Any] = [getattr(model, name) for name in LAYOUT_CHILDREN if name in props]
    while todo:
        value = todo.pop()
        if isinstance(value, Model):
            found.append(value)
        elif isinstance(value, list | tuple):
            todo.extend(value)
    return found


def refusal(
    document: Document, content: Any, mode: Mode, buffers: Mapping[str, int] | None = None
) -> str | None:
    """Why a visitor in ``mode`` may not apply this PATCH-DOC content (its JSON, before
    decoding; ``buffers`` are the byte sizes of its binary buffers by id), or None."""
    if mode == "view":
        return "this share link is view-only"
    events = content.get("events") if isinstance(content, dict) else None
    if not isinstance(events, list) or len(events) > EVENT_LIMIT:
        return "a PATCH-DOC without a list of events"
    layout = Layout(document)
    changes: list[tuple[Any, Any, Any]] = []
    for event in events:
        reason = _event_refusal(document, event, layout, buffers or {})
        if reason is not None:
            return reason
        if event.get("kind") in ("ModelChanged", "ColumnDataChanged"):
            new = event.get("new", event.get("data"))
            changes.append((_model(document, event), event.get("attr"), new))
    return selected_rows_refusal(changes, buffers or {})


def _event_refusal(
    document: Document, event: Any, layout: Layout, buffers: Mapping[str, int]
) -> str | None:
    if not isinstance(event, dict):
        return "an event that is not an object"
    kind = event.get("kind")
    new_model = _new_model(document, event)
    if new_model is not None:
        return new_model
    if kind == "MessageSent":
        if event.get("msg_type") != "bokeh_event":
            return f"message {excerpt(event.get('msg_type'), 40)} is not allowed"
        return event_refusal(document, event.get("msg_data"), layout.usable)
    model = _model(document, event)
    if kind == "ModelChanged":
        return _change_refusal(document, model, event.get("attr"), event.get("new"), layout)
    if kind == "ColumnDataChanged":
        attr, data, cols = event.get("attr"), event.get("data"), event.get("cols")
        return data_refusal(document, model, attr, data, cols, buffers)
    if kind == "ColumnsPatched":
        return patch_refusal(document, model, event.get("attr"), event.get("patches"))
    return f"{excerpt(kind, 40)} is not allowed"


def _change_refusal(
    document: Document, model: Any, attr: Any, new: Any, layout: Layout
) -> str | None:
    if model is None:
        return "a change to an unknown model"
    name = f"{type(model).__name__}.{excerpt(attr, 40)}"
    if isinstance(model, ColumnDataSource) and attr == "data":
        return data_refusal(document, model, attr, new, None, {})
    if isinstance(model, Selection):
        return selection_refusal(model, attr, new)
    check = rule(model, attr)
    if check is None:
        return f"setting {name} is not allowed"
    if isinstance(model, Widget | Plot) and not layout.usable(model):
        return f"setting {name} of a disabled or hidden {type(model).__name__}"
    reason = check(model, new)
    return None if reason is None else f"{name}: {reason}"


def _model(document: Document, event: dict[str, Any]) -> Any:
    ref = event.get("model")
    model_id = ref.get("id") if isinstance(ref, dict) else None
    return document.get_model_by_id(ID(model_id)) if isinstance(model_id, str) else None


def _new_model(document: Document, value: Any, depth: int = 0) -> str | None:
    """Why value defines a model the document does not have (or nests too deep), or None."""
    if depth > 64:
        return "a value nested too deep"
    if isinstance(value, dict):
        if value.get("type") == "object" and "id" in value:
            model_id = value.get("id")
            if not isinstance(model_id, str) or document.get_model_by_id(ID(model_id)) is None:
                return f"creating a model ({excerpt(value.get('name', '?'), 80)}) is not allowed"
        for item in value.values():
            found = _new_model(document, item, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _new_model(document, item, depth + 1)
            if found is not None:
                return found
    return None
