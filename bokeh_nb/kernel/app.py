"""``bokeh_nb.App``: a Bokeh app that lives in this kernel; each display is a new session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bokeh.application import Application

from ..apps import as_application
from ..protocol import LIVE_APP_ROUTE
from .appcontext import AppContext, context_for

__all__ = ("App", "app_for")

#: Apps of this kernel by name.
APPS: dict[str, App] = {}
#: Apps made implicitly by show(path) / show(function), so each is loaded once per kernel.
_implicit: dict[object, App] = {}


def _name_of(obj: Any) -> str:
    if isinstance(obj, str | os.PathLike):
        return Path(obj).stem if Path(obj).name != "main.py" else Path(obj).parent.name
    return str(getattr(obj, "__name__", None) or type(obj).__name__)


class App:
    """A Bokeh app in this kernel: a function ``modify_doc(doc)``, a bokeh Application, or
    the path of a script, app directory or notebook. Displaying it starts a new session
    (a new Document), as every visit to a ``bokeh serve`` app does.

    ``args`` become ``curdoc().session_context.request.arguments`` (as query arguments
    would under ``bokeh serve``).
    """

    def __init__(
        self, obj: Any, name: str | None = None, *, args: dict[str, str] | None = None
    ) -> None:
        self.source = obj
        self.application: Application = as_application(obj)
        self.name = name or _name_of(obj)
        self.arguments = {k: [str(v).encode()] for k, v in (args or {}).items()}
        self.context: AppContext = context_for(self.application, obj)
        APPS[self.name] = self
        from .probe import PROBE
        from .relay import register_session_target

        register_session_target()
        PROBE.ask()  # learns the server's base URL for .url

    @property
    def sessions(self) -> list[Any]:
        """The live sessions of this app in this kernel."""
        return self.context.sessions

    def new_session_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Any]:
        """A new session's id and Document; arguments override the App's own args."""
        session_id, doc, _ctx = self.context.new_document({**self.arguments, **(arguments or {})})
        return session_id, doc

    @property
    def url(self) -> str:
        """This app's standalone page on the Jupyter server: each visit is a new session
        in this kernel, for anyone logged in to that server."""
        from .probe import PROBE

        if PROBE.base_url is None:
            raise RuntimeError(
                "the Jupyter server's address is not known to this kernel yet: it is learned "
                "from the notebook page once the cell that made the App has finished; ask "
                "for app.url in the next cell"
            )
        path = LIVE_APP_ROUTE.format(kernel_id=kernel_id(), name=quote(self.name, safe=""))
        return PROBE.base_url + path

    def _ipython_display_(self) -> None:
        from .hook import show

        show(self)

    def __repr__(self) -> str:
        return f"<bokeh_nb.App {self.name!r}: {len(self.sessions)} live session(s)>"


def kernel_id() -> str:
    """This kernel's id on the Jupyter server (from its connection file's name)."""
    from ipykernel.connect import get_connection_file

    name = Path(get_connection_file()).stem
    return name.removeprefix("kernel-")


def app_for(obj: Any) -> App:
    """The App behind obj: obj itself, or the kernel's one App for that path/function."""
    if isinstance(obj, App):
        return obj
    key: object = (
        str(Path(obj).expanduser().resolve()) if isinstance(obj, str | os.PathLike) else obj
    )
    app = _implicit.get(key)
    if app is None:
        app = _implicit[key] = App(obj)
    return app
