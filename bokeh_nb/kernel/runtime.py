"""The kernel's runtime: everything bokeh_nb keeps for the lifetime of a kernel, in one
object.

``runtime()`` is this kernel's ``KernelRuntime`` (made on first use). It holds

- the live apps by name (``App``, or made for ``show(path)`` / ``show(function)``). The
  latest app made under a name owns it, so re-running the cell that makes an app replaces
  it at its URL; the app made for an object (a function, an app path, an Application) is
  the one every later ``show`` / ``share`` / ``BokehWidget`` of that object runs, whether
  the user made it with ``App(obj)`` or ``show(obj)`` made it;
- one lifecycle context per bokeh Application (``appcontext.py``);
- the live notebook outputs by the document they show, so a shown model shown again
  adds a view of the same session;
- the standalone sessions of its apps' pages (``pages.py``), and how an open request
  finds its app: by name, or, in a file-app kernel, by the resolver ``fileapp.py`` plugs in;
- what it knows of the frontend (``frontend.py``), the snapshots of headless runs
  (``headless.py``) and the bound on the snapshot of outputs shown from now on;
- the budget of comm messages per second that all its sessions share (``flow.py``).

Nothing happens when it is made: the comm targets are installed by ``install_targets``,
once, when an app is published or the frontend is first asked; kernel shutdown ends every
session (``on_session_destroyed``) and unloads every app (``on_server_unloaded``).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..protocol import APPS_TARGET, SESSION_TARGET, SNAPSHOT_MAX_BYTES
from ..wire import SessionOpen, apps_reply
from ._ipykernel import Comm, CommMessage, on_comm_open
from .appcontext import AppContext
from .flow import MessageBudget
from .frontend import Frontend
from .headless import HeadlessSnapshots, is_headless
from .pages import PageApp, Pages, log_to_server
from .session import KernelSession
from .snapshot import checked_limit

if TYPE_CHECKING:
    from bokeh.application import Application
    from bokeh.document import Document

__all__ = ("FileAppResolver", "KernelRuntime", "LiveOutput", "runtime")

#: How a file-app kernel finds the app of an open request that names a file (given the
#: request and its buffers); it raises when the file cannot be loaded as an app.
FileAppResolver = Callable[[SessionOpen, Sequence[bytes | memoryview]], PageApp]


def _key(obj: object) -> object:
    """What identifies the object an app is made for: an app path as the file it names,
    anything else as itself."""
    if isinstance(obj, str | os.PathLike):
        return str(Path(obj).expanduser().resolve())
    return obj


class LiveOutput(Protocol):
    """A notebook output showing a session (a ``BokehWidget``)."""

    @property
    def session(self) -> KernelSession: ...


class KernelRuntime:
    """What bokeh_nb keeps for the lifetime of one kernel (see above)."""

    def __init__(self) -> None:
        #: live apps by name: the latest made under a name owns it
        self.apps: dict[str, PageApp] = {}
        self._made_for: dict[object, PageApp] = {}
        self._contexts: dict[int, AppContext] = {}
        #: live notebook outputs by the id of their document
        self.outputs: dict[int, LiveOutput] = {}
        self.frontend = Frontend()
        #: the kernel-wide budget of comm messages every session's sends share
        self.budget = MessageBudget()
        self.pages = Pages(self.find_app, self.budget)
        self.snapshots = HeadlessSnapshots(self.headless)
        #: the bound on the snapshot of each output shown from now on
        self.snapshot_max_bytes = SNAPSHOT_MAX_BYTES
        #: set in a file-app kernel (``fileapp.py``)
        self.file_apps: FileAppResolver | None = None
        self._targets_installed = False
        self._ends_at_exit = False

    # ---- apps -----------------------------------------------------------------------------

    def publish(self, app: PageApp, application: Application, source: object) -> AppContext:
        """A new app, running application, made for the object source: it owns its name
        from now on, and is reachable at its URL (the frontend is asked for the server's,
        for ``app.url``). Returns the application's context in this kernel."""
        context = self._context_for(application, source)
        self.apps[app.name] = app
        with contextlib.suppress(TypeError):  # unhashable: nothing can find its app again
            self._made_for[_key(source)] = app
        self.install_targets()
        if not self.headless():
            self.frontend.ask()
        return context

    def app_made_for(self, obj: object) -> PageApp | None:
        """The latest app made for obj (a function, an Application, an app path), if any."""
        try:
            return self._made_for.get(_key(obj))
        except TypeError:
            return None

    def _context_for(self, application: Application, source: object) -> AppContext:
        """The one context of application in this kernel."""
        ctx = self._contexts.get(id(application))
        if ctx is None:
            self._end_at_exit()
            ctx = self._contexts[id(application)] = AppContext(application, source)
        return ctx

    def find_app(self, data: SessionOpen, buffers: Sequence[bytes | memoryview]) -> PageApp | None:
        """The app a standalone session's open request names."""
        if self.file_apps is not None and "file" in data:
            return self.file_apps(data, buffers)
        name = data.get("app")
        return self.apps.get(name) if name is not None else None

    def serve_file_apps(self, resolver: FileAppResolver) -> None:
        """Make this a file-app kernel: open requests naming a file get their app from
        resolver."""
        self.file_apps = resolver
        self.install_targets()

    def install_targets(self) -> None:
        """Let the server open standalone sessions of this kernel's apps, and the side
        panel list them; bokeh_nb's log lines go to the server's log. Once per kernel."""
        if self._targets_installed:
            return
        self._targets_installed = True
        log_to_server()
        on_comm_open(SESSION_TARGET, self.pages.open)
        on_comm_open(APPS_TARGET, self._list_apps)

    def _list_apps(self, comm: Comm, _open_msg: CommMessage) -> None:
        apps = [(app.name, len(app.sessions)) for app in self.apps.values()]
        comm.send(apps_reply(apps))  # the panel closes the comm

    # ---- notebook outputs -------------------------------------------------------------------

    def output_opened(self, document: Document, output: LiveOutput) -> None:
        """A notebook output now shows document's session."""
        self._end_at_exit()
        self.outputs[id(document)] = output

    def output_closed(self, document: Document, output: LiveOutput) -> None:
        if self.outputs.get(id(document)) is output:
            del self.outputs[id(document)]

    def shown(self, display_id: str) -> None:
        """An output with this display id now shows a live session: the frontend is asked
        whether it can render it (unless no page is attached)."""
        if self.headless():
            return
        self.install_targets()  # a frontend that answers may list this kernel's apps
        self.frontend.shown(display_id)

    def headless(self) -> bool:
        """Does the kernel run a request no page sent (``headless.py``)?"""
        return is_headless(self.frontend.state)

    def snapshot_limit(self, max_bytes: int | None = None) -> int:
        """The bound on the snapshot each output shown from now on keeps when the notebook
        is saved (bytes of JSON text; 0 keeps none). Returns the bound in force."""
        if max_bytes is not None:
            self.snapshot_max_bytes = checked_limit(max_bytes)
        return self.snapshot_max_bytes

    # ---- kernel shutdown ----------------------------------------------------------------------

    def _end_at_exit(self) -> None:
        if not self._ends_at_exit:
            self._ends_at_exit = True
            atexit.register(self.shutdown)

    def shutdown(self) -> None:
        """Kernel shutdown: every live session ends (callbacks stop, on_session_destroyed
        runs), then every app is unloaded (``on_server_unloaded``)."""
        for output in list(self.outputs.values()):
            output.session.destroy()
        for ctx in list(self._contexts.values()):
            ctx.unload()


@functools.cache
def runtime() -> KernelRuntime:
    """This kernel's runtime (made on first use)."""
    return KernelRuntime()
