"""Route bokeh's own ``output_notebook()`` / ``show()`` through bokeh_nb.

``enable()`` installs bokeh_nb as the hook of bokeh's ``"jupyter"`` notebook type (the one
``output_notebook()`` selects), so unmodified bokeh code renders live, with no BokehJS
loaded from a CDN and no earlier ``output_notebook()`` cell needed.
"""

from __future__ import annotations

from typing import Any, Literal

from bokeh.io import output_notebook
from bokeh.io.notebook import install_notebook_hook

from .app import show

__all__ = ("enable",)

NOTEBOOK_TYPE: Literal["jupyter"] = "jupyter"


class LiveHandle:
    """What ``show(obj, notebook_handle=True)`` returns: the output is live already, so
    bokeh's ``push_notebook(handle=...)`` finds nothing held back and does nothing."""

    class _NothingHeld:
        class callbacks:  # noqa: N801 - the attribute path push_notebook reads
            _held_events: list[Any] = []

    doc = _NothingHeld()


def _load(*_args: Any, **_kwargs: Any) -> None:
    """``output_notebook()``: nothing to load, the frontend extension brings BokehJS."""


def _show_doc(obj: Any, _state: Any, notebook_handle: Any = None) -> LiveHandle | None:
    show(obj)
    return LiveHandle() if notebook_handle else None


def _show_app(app: Any, _state: Any, _notebook_url: Any = None, **_kwargs: Any) -> None:
    show(app)


def enable() -> None:
    """Make bokeh's ``show()`` render through bokeh_nb in this kernel. Idempotent."""
    hooks: tuple[Any, Any, Any] = (_load, _show_doc, _show_app)
    install_notebook_hook(NOTEBOOK_TYPE, *hooks, overwrite=True)
    output_notebook(hide_banner=True, notebook_type=NOTEBOOK_TYPE)
