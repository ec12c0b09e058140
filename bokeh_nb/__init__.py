"""bokeh_nb: the Bokeh server, inside the Jupyter kernel.

Importing has no side effects; ``enable()`` (or ``%load_ext bokeh_nb``) routes bokeh's
``show()`` through bokeh_nb, and ``show`` / ``BokehWidget`` work without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .kernel.app import App
    from .kernel.share import ShareLink
    from .kernel.widget import BokehWidget

__all__ = ("App", "BokehWidget", "__version__", "enable", "share", "show", "snapshot_limit")


def enable() -> None:
    """Render bokeh's ``output_notebook()`` / ``show()`` live through bokeh_nb."""
    from .kernel.hook import enable as _enable

    _enable()


def show(obj: Any) -> None:
    """Show a bokeh model, layout, Document, Application or ``modify_doc(doc)`` live."""
    from .kernel.hook import show as _show

    _show(obj)


def share(app: Any, mode: str = "view", expires: Any = "1h") -> ShareLink:
    """A share link to a live app of this kernel: ``mode`` is ``"view"`` or
    ``"interact"``, ``expires`` seconds or ``"30m"`` / ``"1h"`` / ``"2d"``; ``link.url``,
    ``link.revoke()``. See docs/sharing.md."""
    from .kernel.share import share as _share

    return _share(app, mode, expires)


def snapshot_limit(max_bytes: int | None = None) -> int:
    """The bound, in bytes, on the snapshot each output shown from now on saves with the
    notebook (default 24 MiB; 0 saves none). See docs/snapshots.md."""
    from .kernel.snapshot import snapshot_limit as _limit

    return _limit(max_bytes)


def __getattr__(name: str) -> Any:
    if name == "BokehWidget":
        from .kernel.widget import BokehWidget

        return BokehWidget
    if name == "App":
        from .kernel.app import App

        return App
    raise AttributeError(f"module 'bokeh_nb' has no attribute {name!r}")


def load_ipython_extension(_ipython: Any) -> None:
    """``%load_ext bokeh_nb``."""
    enable()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "bokeh-nb"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "bokeh_nb.server"}]
