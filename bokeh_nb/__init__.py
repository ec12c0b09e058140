"""bokeh_nb: the Bokeh server, inside the Jupyter kernel.

Importing has no side effects; ``enable()`` (or ``%load_ext bokeh_nb``) routes bokeh's
``show()`` through bokeh_nb, and ``show`` / ``BokehWidget`` work without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .kernel.app import App
    from .kernel.share import ShareLink
    from .kernel.widget import BokehWidget

__all__ = ("App", "BokehWidget", "__version__", "enable", "share", "show", "snapshot_limit")


def _kernel(module: str) -> ModuleType:
    # The kernel side is loaded on first use, not at import: ``import bokeh_nb`` stays
    # light (no ipywidgets, no bokeh.io) for the server extension and for scripts. This is
    # the one place that loads modules of bokeh_nb lazily.
    return importlib.import_module(f"{__name__}.kernel.{module}")


def enable() -> None:
    """Render bokeh's ``output_notebook()`` / ``show()`` live through bokeh_nb."""
    _kernel("hook").enable()


def show(obj: Any) -> None:
    """Show a bokeh model, layout, Document, Application or ``modify_doc(doc)`` live."""
    _kernel("app").show(obj)


def share(app: Any, mode: str = "view", expires: Any = "1h") -> ShareLink:
    """A share link to a live app of this kernel: ``mode`` is ``"view"`` or
    ``"interact"``, ``expires`` seconds or ``"30m"`` / ``"1h"`` / ``"2d"``; ``link.url``,
    ``link.revoke()``. See docs/sharing.md."""
    link: ShareLink = _kernel("share").share(app, mode, expires)
    return link


def snapshot_limit(max_bytes: int | None = None) -> int:
    """The bound, in bytes, on the snapshot each output shown from now on saves with the
    notebook (default 24 MiB; 0 saves none). See docs/snapshots.md."""
    bound: int = _kernel("runtime").runtime().snapshot_limit(max_bytes)
    return bound


def __getattr__(name: str) -> Any:
    if name == "BokehWidget":
        return _kernel("widget").BokehWidget
    if name == "App":
        return _kernel("app").App
    raise AttributeError(f"module 'bokeh_nb' has no attribute {name!r}")


def load_ipython_extension(_ipython: Any) -> None:
    """``%load_ext bokeh_nb``."""
    enable()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "bokeh-nb"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # the server extension is an ExtensionApp, loaded (with jupyter_server) by the server
    server = importlib.import_module(f"{__name__}.server")
    return [{"module": server.__name__, "app": server.BokehNb}]
