"""bokeh_nb outputs inside ipywidgets containers (``VBox([slider, BokehWidget(p)])``).

Such an output is the container's: its bundle is the container's widget view, without the
``OUTPUT_MIME`` entry of a bokeh_nb output. So that it still outlives its kernel, the bundle
of every ipywidgets widget that holds bokeh_nb outputs (in its ``children``, at any depth:
Box, VBox, HBox, GridBox, Accordion, Tab, Stack) also carries a ``CONTAINER_MIME`` entry
naming them; the frontend's save writes their snapshots and picture into the output's
``text/html`` and ``image/png`` (``docs/snapshots.md``).
"""

from __future__ import annotations

from typing import Any

from ipywidgets import Widget

from .. import _bokeh
from ..protocol import CONTAINER_MIME, SNAPSHOT_FORMAT, WIDGET_MODEL, WIDGET_MODULE
from ._ipykernel import register_mimebundle_printer
from .runtime import runtime

__all__ = ("contained", "container_bundle", "is_output", "watch_containers")

_WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_registered = False


def is_output(widget: object) -> bool:
    """Is widget a bokeh_nb output (a ``BokehWidget``)?"""
    return (
        isinstance(widget, Widget)
        and getattr(widget, "_model_module", None) == WIDGET_MODULE
        and getattr(widget, "_model_name", None) == WIDGET_MODEL
    )


def contained(widget: object, seen: set[int] | None = None) -> list[Any]:
    """The bokeh_nb outputs in widget's children, depth first, each once."""
    seen = set() if seen is None else seen
    found: list[Any] = []
    children = getattr(widget, "children", None)
    if id(widget) in seen or not isinstance(children, list | tuple):
        return found
    seen.add(id(widget))
    for child in children:
        if is_output(child):
            if id(child) not in seen:
                seen.add(id(child))
                found.append(child)
        elif isinstance(child, Widget):
            found.extend(contained(child, seen))
    return found


def container_bundle(widget: Any) -> Any:
    """widget's own bundle, with a CONTAINER_MIME entry when it holds bokeh_nb outputs."""
    bundle = widget._repr_mimebundle_()
    if is_output(widget) or not isinstance(bundle, dict):
        return bundle
    if _WIDGET_VIEW_MIME not in bundle:
        return bundle
    outputs = contained(widget)
    if outputs:
        bundles: list[str] = []
        for output in outputs:
            bundles.extend(b for b in output.bundles if b not in bundles)
        bundle[CONTAINER_MIME] = {
            "format": SNAPSHOT_FORMAT,
            "bokeh_version": _bokeh.bokeh_version,
            "bundles": bundles,
            "max_bytes": runtime().snapshot_max_bytes,
            "models": [output.model_id for output in outputs],
        }
    return bundle


def watch_containers() -> None:
    """Give the bundle of every ipywidgets widget shown from now on its CONTAINER_MIME
    entry when it holds bokeh_nb outputs. Idempotent; nothing outside IPython."""
    global _registered
    if not _registered:
        _registered = register_mimebundle_printer(Widget, container_bundle)
