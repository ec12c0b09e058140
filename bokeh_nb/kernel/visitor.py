"""What a share-link visitor may change in a session's document.

A visitor (someone who opened a share link, see ``server/shares.py``) reaches the app's
Python only through the changes BokehJS widgets and tools make: a slider's value, a
selection, a range a pan moved, a tool toggled, a button's click event. Everything else a
hand-crafted patch could do (create models, CustomJS included; add or remove roots; set a
Div's text or a source's data; stream) is refused here, before the patch touches the
document. A ``view`` visitor changes nothing at all.
"""

from __future__ import annotations

from typing import Any, Literal

from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.models.layouts import LayoutDOM, Tabs
from bokeh.models.ranges import Range
from bokeh.models.renderers import GlyphRenderer, Renderer
from bokeh.models.selections import Selection
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tools import EditTool, Tool, Toolbar
from bokeh.models.widgets import DataTable, Widget

__all__ = ("Mode", "MODES", "refusal")

Mode = Literal["view", "interact"]
MODES: tuple[Mode, ...] = ("view", "interact")

#: (model class, properties BokehJS sets on it from a person's action)
WIDGET_SET: tuple[tuple[type, frozenset[str]], ...] = (
    (
        Widget,
        frozenset(
            {"value", "value_input", "value_throttled", "active", "filename", "mime_type", "color"}
        ),
    ),
    (Tabs, frozenset({"active"})),
    (Selection, frozenset({"indices", "line_indices", "multiline_indices", "image_indices"})),
    (Range, frozenset({"start", "end"})),
    (Tool, frozenset({"active"})),
    (
        Toolbar,
        frozenset({"active_drag", "active_inspect", "active_scroll", "active_tap", "active_multi"}),
    ),
    (LayoutDOM, frozenset({"inner_width", "inner_height", "outer_width", "outer_height"})),
    (Renderer, frozenset({"visible", "muted"})),
)

#: Patch events that only BokehJS data editing (editable tables, edit tools) sends.
DATA_EVENTS = ("ColumnDataChanged", "ColumnsPatched")


def refusal(document: Document, content: Any, mode: Mode) -> str | None:
    """Why a visitor in ``mode`` may not apply this PATCH-DOC content, or None."""
    if mode == "view":
        return "this share link is view-only"
    events = content.get("events") if isinstance(content, dict) else None
    if not isinstance(events, list):
        return "a PATCH-DOC without a list of events"
    for event in events:
        reason = _event_refusal(document, event)
        if reason is not None:
            return reason
    return None


def _event_refusal(document: Document, event: Any) -> str | None:
    if not isinstance(event, dict):
        return "an event that is not an object"
    kind = event.get("kind")
    new_model = _new_model(document, event)
    if new_model is not None:
        return new_model
    if kind == "MessageSent":
        if event.get("msg_type") != "bokeh_event":
            return f"message {event.get('msg_type')!r} is not allowed"
        return None
    if kind == "ModelChanged":
        model = _model(document, event)
        attr = event.get("attr")
        if model is None:
            return "a change to an unknown model"
        for cls, attrs in WIDGET_SET:
            if isinstance(model, cls) and attr in attrs:
                return None
        return f"setting {type(model).__name__}.{attr} is not allowed"
    if kind in DATA_EVENTS:
        model = _model(document, event)
        if isinstance(model, ColumnDataSource) and _editable(document, model):
            return None
        return f"{kind} on a source that no editable table or edit tool shows"
    return f"{kind!r} is not allowed"


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
                return f"creating a model ({str(value.get('name', '?'))[:80]}) is not allowed"
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


def _editable(document: Document, source: ColumnDataSource) -> bool:
    """Does an editable DataTable or an edit tool in the document change this source?"""
    for model in document.models:
        if isinstance(model, DataTable) and model.editable and model.source is source:
            return True
        if isinstance(model, EditTool):
            renderers = getattr(model, "renderers", None) or []
            if any(isinstance(r, GlyphRenderer) and r.data_source is source for r in renderers):
                return True
    return False
