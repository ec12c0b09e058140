"""The ``bokeh_event`` messages a share-link visitor's page may send: only the kinds
BokehJS sends for that model, with well-formed values.

A button click comes from an enabled, visible button; a menu item click names an item of
the Dropdown's menu; a submitted text is text; a plot event (tap, pan, wheel, ranges
update...) comes from a visible plot with coordinates as finite numbers. Any other event,
an event without its model, or a value BokehJS would not put in it is refused, before
bokeh decodes anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from bokeh import events
from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.models.annotations import Legend
from bokeh.models.axes import Axis
from bokeh.models.plots import Plot
from bokeh.models.widgets.buttons import AbstractButton, Dropdown
from bokeh.models.widgets.inputs import TextInput

from .visitor_json import finite, is_ref, map_entries
from .visitor_text import excerpt
from .visitor_values import TEXT_LIMIT

__all__ = ("EVENT_CLASSES", "event_refusal")

#: elements a plot event's value (a selection geometry's coordinates) may have at most
VALUE_LIMIT = 100_000


def _concrete(cls: type[events.Event]) -> dict[str, type[events.Event]]:
    found: dict[str, type[events.Event]] = {}
    for sub in cls.__subclasses__():
        name = sub.__dict__.get("event_name")
        if isinstance(name, str):
            found[name] = sub
        found.update(_concrete(sub))
    return found


#: bokeh's event classes by the name a page sends
EVENT_CLASSES: dict[str, type[events.Event]] = _concrete(events.Event)


def _parameters(cls: type[events.Event]) -> set[str]:
    return {p for p in inspect.signature(cls.__init__).parameters if p != "self"}


def _plain(raw: Any, depth: int = 0, budget: list[int] | None = None) -> bool:
    """Is raw a small value of finite numbers, booleans, null and short text (in lists and
    maps), as BokehJS puts into an event's values?"""
    budget = budget if budget is not None else [VALUE_LIMIT]
    budget[0] -= 1
    if budget[0] < 0 or depth > 4:
        return False
    if raw is None or isinstance(raw, bool) or finite(raw) is not None:
        return True
    if isinstance(raw, str):
        return len(raw) <= 100
    if isinstance(raw, list):
        return all(_plain(v, depth + 1, budget) for v in raw)
    entries = map_entries(raw)
    if entries is None:
        return False
    return all(isinstance(k, str) and _plain(v, depth + 1, budget) for k, v in entries)


def _menu_item(model: Any, values: dict[str, Any]) -> str | None:
    item = values.get("item")
    offered = [
        entry if isinstance(entry, str) else entry[1] for entry in model.menu if entry is not None
    ]
    return None if isinstance(item, str) and item in offered else "an item not in the menu"


def _button(model: Any, values: dict[str, Any]) -> str | None:
    if isinstance(model, Dropdown) and not model.split:
        return "a click on a dropdown that only opens its menu"
    return None


def _submit(model: Any, values: dict[str, Any]) -> str | None:
    value = values.get("value")
    limit = min(model.max_length or TEXT_LIMIT, TEXT_LIMIT)
    return None if isinstance(value, str) and len(value) <= limit else "not a text it takes"


def _legend_item(model: Any, values: dict[str, Any]) -> str | None:
    item = values.get("item")
    items = {i.id for i in model.items}
    return None if is_ref(item) and item["id"] in items else "an item not in the legend"


def _axis(model: Any, values: dict[str, Any]) -> str | None:
    value = values.get("value")
    return None if value is None or _plain(value) else "not a value on an axis"


def _plot(model: Any, values: dict[str, Any]) -> str | None:
    bad = [k for k, v in values.items() if k != "model" and not _plain(v)]
    return f"a value of {excerpt(bad[0], 40)} that no page sends" if bad else None


Rule = tuple[type, bool, Callable[[Any, dict[str, Any]], "str | None"]]

#: event class -> (model class, whether the model must be usable, check of the values)
MODEL_EVENTS: dict[type[events.Event], Rule] = {
    events.ButtonClick: (AbstractButton, True, _button),
    events.MenuItemClick: (Dropdown, True, _menu_item),
    events.ValueSubmit: (TextInput, True, _submit),
    events.LegendItemClick: (Legend, False, _legend_item),
    events.AxisClick: (Axis, False, _axis),
}


def _rule(cls: type[events.Event]) -> Rule | None:
    if cls in MODEL_EVENTS:
        return MODEL_EVENTS[cls]
    if issubclass(cls, events.PlotEvent):
        return (Plot, True, _plot)
    return None


def event_refusal(document: Document, msg_data: Any, usable: Callable[[Any], bool]) -> str | None:
    """Why a page of this document could not have sent this ``bokeh_event``, or None."""
    if not isinstance(msg_data, dict) or set(msg_data) != {"type", "name", "values"}:
        return "a bokeh_event that is not an event"
    name = msg_data["name"]
    cls = EVENT_CLASSES.get(name) if isinstance(name, str) else None
    if msg_data["type"] != "event" or cls is None:
        return f"an event {excerpt(name, 40)} that bokeh does not know"
    entries = map_entries(msg_data["values"])
    if entries is None or not all(isinstance(k, str) for k, _ in entries):
        return "an event whose values are not a map"
    values = dict(entries)
    unknown = set(values) - _parameters(cls)
    if unknown:
        return f"an event {name} with a value {excerpt(sorted(unknown)[0], 40)} it has not"
    if cls is events.DocumentReady:
        return None if not values else "a document_ready event with values"
    rule = _rule(cls)
    if rule is None:
        return f"an event {name} that pages do not send"
    model_cls, needs_usable, check = rule
    ref = values.get("model")
    model = document.get_model_by_id(ID(ref["id"])) if is_ref(ref) else None
    if not isinstance(model, model_cls):
        return f"an event {name} that is not about a {model_cls.__name__}"
    if needs_usable and not usable(model):
        return f"an event {name} of a disabled or hidden {type(model).__name__}"
    return check(model, values)
