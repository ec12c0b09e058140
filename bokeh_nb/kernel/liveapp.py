"""A live app: a Bokeh app published in this kernel under a name, each of whose sessions
is a notebook output or a standalone page.

``LiveApp`` is what the kernel runs for ``bokeh_nb.App`` (``app.py``, which adds its
display) and for what ``show()`` / ``BokehWidget`` / ``share()`` are given that is an app
rather than a document: a ``modify_doc(doc)`` function, a bokeh Application, the path of a
script, app directory or notebook. ``app_for`` finds (or makes) the one app of such an
object, by the rule of ``runtime.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bokeh.application import Application

from ..apps import as_application
from ..protocol import LIVE_APP_ROUTE
from ._ipykernel import kernel_id
from .appcontext import AppContext
from .runtime import runtime

if TYPE_CHECKING:
    from bokeh.document import Document

    from .session import KernelSession

__all__ = ("LiveApp", "app_for")


def _name_of(obj: Any) -> str:
    if isinstance(obj, str | os.PathLike):
        return Path(obj).stem if Path(obj).name != "main.py" else Path(obj).parent.name
    return str(getattr(obj, "__name__", None) or type(obj).__name__)


class LiveApp:
    """A Bokeh app in this kernel: a function ``modify_doc(doc)``, a bokeh Application, or
    the path of a script, app directory or notebook. Each session is a new Document, as
    every visit to a ``bokeh serve`` app is.

    ``args`` become ``curdoc().session_context.request.arguments`` (as query arguments
    would under ``bokeh serve``).

    Making one publishes it (its one effect): it takes its name in this kernel, becomes
    the app of ``obj`` for ``show`` / ``share``, and is reachable at ``url``.
    """

    def __init__(
        self, obj: Any, name: str | None = None, *, args: dict[str, str] | None = None
    ) -> None:
        self.source = obj
        self.application: Application = as_application(obj)
        self.name = name or _name_of(obj)
        self.arguments = {k: [str(v).encode()] for k, v in (args or {}).items()}
        self.context: AppContext = runtime().publish(self, self.application, obj)

    @property
    def sessions(self) -> list[KernelSession]:
        """The live sessions of this app in this kernel."""
        return self.context.sessions

    def new_session_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Document]:
        """A new session's id and Document; arguments override the App's own args."""
        session_id, doc, _ctx = self.context.new_document({**self.arguments, **(arguments or {})})
        return session_id, doc

    def attach(self, session_id: str, session: KernelSession) -> None:
        """session (of a Document from ``new_session_document``) now runs."""
        self.context.attach(session_id, session)

    @property
    def url(self) -> str:
        """This app's standalone page on the Jupyter server: each visit is a new session
        in this kernel, for anyone logged in to that server."""
        base_url = runtime().frontend.base_url
        if base_url is None:
            raise RuntimeError(
                "the Jupyter server's address is not known to this kernel yet: it is learned "
                "from the notebook page once the cell that made the App has finished; ask "
                "for app.url in the next cell"
            )
        path = LIVE_APP_ROUTE.format(kernel_id=kernel_id(), name=quote(self.name, safe=""))
        return base_url + path

    def __repr__(self) -> str:
        return f"<bokeh_nb.App {self.name!r}: {len(self.sessions)} live session(s)>"


def app_for(obj: Any) -> LiveApp:
    """The app behind obj: obj itself, or the app made for that function, Application or
    path (made now if there is none yet)."""
    if isinstance(obj, LiveApp):
        return obj
    app = runtime().app_made_for(obj)
    return app if isinstance(app, LiveApp) else LiveApp(obj)
