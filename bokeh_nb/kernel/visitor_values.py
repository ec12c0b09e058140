"""The values a share-link visitor's page may give a widget, a range, a tool or a selection.

Each check reads the value as it arrives (JSON, before bokeh decodes anything) and says
why a person using the rendered page could not have produced it, or None: a Slider's
value is a finite number within its start and end, a Select's one of its options, a
group's active indices are indices of its labels, a date a proper date the picker
offers. A ``bytes``, ``ndarray``, ``map`` or ``object`` where the property takes a
number or a string is refused here, without being decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from typing import Any

from bokeh.models.layouts import Tabs
from bokeh.models.plots import Plot
from bokeh.models.ranges import Range
from bokeh.models.renderers import GlyphRenderer
from bokeh.models.tools import Tool, Toolbar
from bokeh.models.widgets.buttons import AbstractButton
from bokeh.models.widgets.groups import (
    CheckboxButtonGroup,
    CheckboxGroup,
    RadioButtonGroup,
    RadioGroup,
)
from bokeh.models.widgets.inputs import (
    AutocompleteInput,
    Checkbox,
    ColorPicker,
    FileInput,
    MultiChoice,
    MultiSelect,
    NumericInput,
    PaletteSelect,
    Select,
    Switch,
    TextAreaInput,
    TextInput,
)
from bokeh.models.widgets.pickers import (
    DatePicker,
    DateRangePicker,
    DatetimePicker,
    DatetimeRangePicker,
    MultipleDatePicker,
    MultipleDatetimePicker,
    TimePicker,
)
from bokeh.models.widgets.sliders import (
    AbstractSlider,
    CategoricalSlider,
    DateRangeSlider,
    DatetimeRangeSlider,
    RangeSlider,
)

from .visitor_dates import date_refusal, datetime_refusal, ms
from .visitor_json import finite, is_ref, prop
from .visitor_text import excerpt

__all__ = (
    "LIST_LIMIT",
    "PROPERTY_RULES",
    "TEXT_LIMIT",
    "Check",
    "indices_refusal",
    "option_values",
    "rule",
)

#: characters a text input takes from a visitor when it sets no ``max_length`` itself
TEXT_LIMIT = 100_000
#: items a list value (a selection's indices, a MultiSelect's value) may have at most
LIST_LIMIT = 1_000_000

Check = Callable[[Any, Any], "str | None"]


def _what(raw: Any) -> str:
    if isinstance(raw, dict):
        return f"a {excerpt(raw.get('type', 'object'), 20)}"
    return f"{type(raw).__name__} {excerpt(raw, 40)}"


def _within(value: float, start: Any, end: Any) -> bool:
    low, high = ms(start), ms(end)
    if low is None or high is None:
        return False
    return low <= value <= high  # BokehJS's sliders clamp to their start and end


def _slider(model: Any, raw: Any) -> str | None:
    value = finite(raw)
    if value is None or not _within(value, model.start, model.end):
        return f"{_what(raw)} is not a value between the slider's start and end"
    return None


def _range_slider(model: Any, raw: Any) -> str | None:
    if not isinstance(raw, list) or len(raw) != 2:
        return f"{_what(raw)} is not a pair of values"
    low, high = finite(raw[0]), finite(raw[1])
    if low is None or high is None or low > high:
        return "not an ordered pair of finite numbers"
    if not (_within(low, model.start, model.end) and _within(high, model.start, model.end)):
        return "a value outside the slider's start and end"
    return None


def _categorical_slider(model: Any, raw: Any) -> str | None:
    return None if isinstance(raw, str) and raw in model.categories else "not one of its categories"


def _numeric_input(model: Any, raw: Any) -> str | None:
    if raw is None:
        return None
    value = finite(raw)
    if value is None:
        return f"{_what(raw)} is not a finite number"
    if model.mode == "int" and value != int(value):
        return "not an integer"
    if (model.low is not None and value < model.low) or (
        model.high is not None and value > model.high
    ):
        return "a number outside its low and high"
    return None


def _text(model: Any, raw: Any) -> str | None:
    if not isinstance(raw, str):
        return f"{_what(raw)} is not text"
    limit = min(prop(model, "max_length") or TEXT_LIMIT, TEXT_LIMIT)
    return f"text longer than {limit} characters" if len(raw) > limit else None


def _autocomplete(model: Any, raw: Any) -> str | None:
    reason = _text(model, raw)
    if reason is None and model.restrict and raw and raw not in model.completions:
        return "not one of its completions"
    return reason


def option_values(options: Any) -> list[Any]:
    """The values a Select / MultiSelect / MultiChoice offers (grouped options too)."""
    items = (
        [o for group in options.values() for o in group] if isinstance(options, dict) else options
    )
    return [o[0] if isinstance(o, tuple | list) else o for o in items]


def _select(model: Any, raw: Any) -> str | None:
    if isinstance(raw, str) and raw in option_values(model.options):
        return None
    return f"{_what(raw)} is not one of its options"


def _palette_select(model: Any, raw: Any) -> str | None:
    names = [item[0] for item in model.items]
    return None if isinstance(raw, str) and raw in names else "not one of its palettes"


def _multi_select(model: Any, raw: Any) -> str | None:
    if not isinstance(raw, list) or len(raw) > LIST_LIMIT:
        return f"{_what(raw)} is not a list of options"
    offered = set(option_values(model.options))
    if not all(isinstance(v, str) and v in offered for v in raw) or len(set(raw)) != len(raw):
        return "not a list of distinct options it offers"
    max_items = prop(model, "max_items")
    return "more items than it takes" if max_items is not None and len(raw) > max_items else None


def indices_refusal(raw: Any, count: int) -> str | None:
    if not isinstance(raw, list) or len(raw) > count:
        return f"{_what(raw)} is not a list of at most {count} indices"
    ok = all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < count for i in raw)
    return None if ok and len(set(raw)) == len(raw) else f"not distinct indices below {count}"


def _group_active(model: Any, raw: Any) -> str | None:
    return indices_refusal(raw, len(model.labels))


def _radio_active(model: Any, raw: Any) -> str | None:
    return indices_refusal([raw], len(model.labels))


def _boolean(model: Any, raw: Any) -> str | None:
    return None if isinstance(raw, bool) else f"{_what(raw)} is not true or false"


def _tab(model: Any, raw: Any) -> str | None:
    reason = indices_refusal([raw], len(model.tabs))
    if reason is None and model.tabs[raw].disabled:
        return "a disabled tab"
    return reason


def _color(model: Any, raw: Any) -> str | None:
    ok = isinstance(raw, str) and len(raw) == 7 and raw[0] == "#"
    return None if ok and all(c in "0123456789abcdefABCDEF" for c in raw[1:]) else "not a color"


def _file_part(model: Any, raw: Any) -> str | None:
    parts = raw if isinstance(raw, list) and model.multiple else [raw]
    return None if all(isinstance(p, str) for p in parts) else f"{_what(raw)} is not text"


def _size(model: Any, raw: Any) -> str | None:
    value = finite(raw)
    return None if value is not None and 0 <= value <= 1e6 else "not a size in pixels"


def _range_end(model: Any, raw: Any) -> str | None:
    return None if finite(raw) is not None else f"{_what(raw)} is not a finite number"


def _active_tool(model: Any, raw: Any) -> str | None:
    if raw is None or raw == "auto":
        return None
    tools = {tool.id for tool in model.tools}
    return None if is_ref(raw) and raw["id"] in tools else "not one of the toolbar's tools"


#: (model class, property, check) in the order they are looked up: the first class the
#: model is an instance of, with that property, decides.
PROPERTY_RULES: tuple[tuple[type, str, Check], ...] = (
    *((CategoricalSlider, a, _categorical_slider) for a in ("value", "value_throttled")),
    *(
        (cls, a, _range_slider)
        for cls in (RangeSlider, DateRangeSlider, DatetimeRangeSlider)
        for a in ("value", "value_throttled")
    ),
    *((AbstractSlider, a, _slider) for a in ("value", "value_throttled")),
    *((NumericInput, a, _numeric_input) for a in ("value", "value_throttled")),
    (AutocompleteInput, "value", _autocomplete),
    *((cls, a, _text) for cls in (TextInput, TextAreaInput) for a in ("value", "value_input")),
    (PaletteSelect, "value", _palette_select),
    (Select, "value", _select),
    (MultiSelect, "value", _multi_select),
    (MultiChoice, "value", _multi_select),
    (CheckboxGroup, "active", _group_active),
    (CheckboxButtonGroup, "active", _group_active),
    (RadioGroup, "active", _radio_active),
    (RadioButtonGroup, "active", _radio_active),
    (AbstractButton, "active", _boolean),  # Toggle
    (Switch, "active", _boolean),
    (Checkbox, "active", _boolean),
    (Tabs, "active", _tab),
    (DatePicker, "value", lambda m, raw: date_refusal(m, [raw])),
    (DateRangePicker, "value", lambda m, raw: date_refusal(m, raw, pair=True)),
    (MultipleDatePicker, "value", lambda m, raw: date_refusal(m, raw, many=True)),
    (DatetimePicker, "value", lambda m, raw: datetime_refusal(m, [raw])),
    (DatetimeRangePicker, "value", lambda m, raw: datetime_refusal(m, raw, pair=True)),
    (MultipleDatetimePicker, "value", lambda m, raw: datetime_refusal(m, raw, many=True)),
    (TimePicker, "value", lambda m, raw: datetime_refusal(m, [raw], of=time)),
    (ColorPicker, "color", _color),
    *((FileInput, a, _file_part) for a in ("value", "filename", "mime_type")),
    *((Plot, a, _size) for a in ("inner_width", "inner_height", "outer_width", "outer_height")),
    *((Range, a, _range_end) for a in ("start", "end")),
    (Tool, "active", _boolean),
    *((Toolbar, f"active_{a}", _active_tool) for a in ("drag", "inspect", "scroll", "tap")),
    (Toolbar, "active_multi", _active_tool),
    (GlyphRenderer, "visible", _boolean),  # a legend's click policy "hide"
    (GlyphRenderer, "muted", _boolean),  # and "mute"
)


def rule(model: Any, attr: Any) -> Check | None:
    """The check for a visitor's value of model.attr, or None if no page sets it."""
    if not isinstance(attr, str) or attr not in model.properties():
        return None
    for cls, name, check in PROPERTY_RULES:
        if name == attr and isinstance(model, cls):
            return check
    return None
