"""Reading a visitor's value as it arrives: JSON, before bokeh decodes any of it."""

from __future__ import annotations

import math
from typing import Any, TypeGuard

__all__ = ("finite", "is_ref", "map_entries", "prop")


def prop(model: Any, name: str, default: Any = None) -> Any:
    """model's property name, or default if it has none (cheaper than getattr's default:
    bokeh looks for similar names before it raises)."""
    return getattr(model, name) if name in model.properties() else default


def finite(raw: Any) -> float | None:
    """raw as a finite number (JSON numbers only: no bool, no NaN/inf reps), or None."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def is_ref(raw: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(raw, dict) and set(raw) == {"id"} and isinstance(raw["id"], str)


def map_entries(raw: Any) -> list[tuple[Any, Any]] | None:
    """The (key, value) pairs of a JSON object or a ``{"type": "map"}``, else None."""
    if not isinstance(raw, dict):
        return None
    if raw.get("type") == "map" and set(raw) <= {"type", "entries"}:
        entries = raw.get("entries", [])
        if not isinstance(entries, list):
            return None
        pairs = [e for e in entries if isinstance(e, list) and len(e) == 2]
        return [(k, v) for k, v in pairs] if len(pairs) == len(entries) else None
    if "type" in raw or "id" in raw:
        return None
    return list(raw.items())
