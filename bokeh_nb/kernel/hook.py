"""Route bokeh's own ``output_notebook()`` / ``show()`` through bokeh_nb.

``enable()`` installs bokeh_nb as the hook of bokeh's ``"jupyter"`` notebook type (the one
``output_notebook()`` selects), so unmodified bokeh code renders live, with no BokehJS
loaded from a CDN and no earlier ``output_notebook()`` cell needed.
"""

from __future__ import annotations

from typing import Any

from bokeh.io import output_notebook
from bokeh.io.notebook import install_notebook_hook

from .widget import BokehWidget, widget_for

__all__ = ("enable", "show")

NOTEBOOK_TYPE = "jupyter"


def show(obj: Any) -> BokehWidget:
    """Display obj live in the current output and return its widget."""
    from IPython.display import display

    widget = widget_for(obj)
    display(widget)
    return widget


def _load(*_args: Any, **_kwargs: Any) -> None:
    """``output_notebook()``: nothing to load, the frontend extension brings BokehJS."""


def _show_doc(obj: Any, _state: Any, _notebook_handle: Any = None) -> BokehWidget:
    return show(obj)


def _show_app(app: Any, _state: Any, _notebook_url: Any = None, **_kwargs: Any) -> BokehWidget:
    return show(app)


def enable() -> None:
    """Make bokeh's ``show()`` render through bokeh_nb in this kernel. Idempotent."""
    install_notebook_hook(NOTEBOOK_TYPE, _load, _show_doc, _show_app, overwrite=True)
    output_notebook(hide_banner=True, notebook_type=NOTEBOOK_TYPE)
