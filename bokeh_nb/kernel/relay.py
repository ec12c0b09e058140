"""Standalone sessions of this kernel's live apps, opened by the Jupyter server's relay.

The server extension opens a comm to ``SESSION_TARGET`` for every full-page visitor or
``bokeh.client`` connection of ``bokeh-nb/kernels/{kernel_id}/apps/{name}``; each comm is
one new session of the named ``App`` (a new Document, as every visit to a ``bokeh serve``
app), carrying the frames of ``docs/protocol.md``.

Closing the comm (the visitor's websocket went away) ends the session. A session whose
comm named its page (``session_id``, the Bokeh session id of the page's token) is only
detached: it ends ``KernelSession.linger`` seconds later, unless a new comm naming the same
page, app and visitor mode takes it over first, as BokehJS's reconnect finds its session
again under ``bokeh serve``. That page then pulls the session's current document.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from .. import _bokeh
from ..apps import AppError
from ..protocol import APPS_TARGET, KIND_ERROR, RELAY_METADATA, SESSION_TARGET
from . import fileapp
from .frames import dispatch, encode
from .session import KernelSession
from .visitor import MODES

log = logging.getLogger(__name__)

__all__ = ("CommTransport", "register_session_target")


class CommTransport:
    """A session's messages over a plain comm (no widget). ``comm`` is None while the
    session is detached: what it sends then is dropped, the page that reattaches pulls the
    whole document."""

    def __init__(self, comm: Any, app: Any = None) -> None:
        self.comm: Any = comm
        #: the live app this is a session of (its notebook outputs see its errors)
        self.app = app

    def send_message(self, msg: _bokeh.Message[Any], origin: str | None = None) -> None:
        comm = self.comm
        if comm is None:
            return
        frame, payloads = encode(msg)
        comm.send(frame, metadata=RELAY_METADATA, buffers=payloads)

    def send_error(self, text: str, traceback: str) -> None:
        """A callback of this session failed: its page never sees the traceback (it got an
        error id, in text); the kernel's log and the app's notebook outputs do."""
        name = getattr(self.app, "name", "?")
        log.error("bokeh_nb: %s in a standalone session of app %r\n%s", text, name, traceback)
        for session in getattr(self.app, "sessions", ()):
            if not session.standalone and not session.destroyed:
                session.report_to_output(f"{text} (in a page of app {name!r})", traceback)


def _refuse(comm: Any, text: str) -> None:
    # The server closes the visitor's websocket and then this comm. (A close from here
    # would reach every notebook page on iopub, which would each log an unknown comm.)
    comm.send({"kind": KIND_ERROR, "text": text, "traceback": ""}, metadata=RELAY_METADATA)


#: A page's Bokeh session id, as the server passes it (never used as anything but a key).
_PAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass
class _Standalone:
    """A standalone session and what a reconnecting page must match to take it over."""

    session: KernelSession
    transport: CommTransport
    app: Any
    visitor: str | None


#: Standalone sessions by the page that opened them, while they live.
_pages: dict[str, _Standalone] = {}


def _page_id(data: dict[str, Any]) -> str | None:
    page = data.get("session_id")
    return page if isinstance(page, str) and _PAGE_ID.fullmatch(page) else None


def _wire(comm: Any, entry: _Standalone, page: str | None) -> None:
    """Route comm's frames to the session. Its close detaches a session that its page may
    take over again, and ends one that nothing could find again."""
    session, transport = entry.session, entry.transport
    transport.comm = comm
    comm.on_msg(
        lambda msg: dispatch(
            msg["content"]["data"], msg.get("buffers") or [], session, transport.send_message
        )
    )

    def closed(_msg: Any) -> None:
        if transport.comm is not comm:
            return
        transport.comm = None
        if page is not None and _pages.get(page) is entry:
            session.detached()
        else:
            session.destroy()

    comm.on_close(closed)


def _reattach(comm: Any, page: str | None, app: Any, visitor: str | None) -> bool:
    """Give a reconnecting page its detached session back; False if there is none."""
    entry = _pages.get(page) if page is not None else None
    if entry is None or entry.transport.comm is not None or entry.session.destroyed:
        return False
    if entry.app is not app or entry.visitor != visitor:
        return False
    entry.session.reattached()
    _wire(comm, entry, page)
    return True


def _open(comm: Any, open_msg: dict[str, Any]) -> None:
    from .app import APPS

    data = open_msg.get("content", {}).get("data", {})
    visitor = data.get("visitor")
    if visitor is not None and visitor not in MODES:
        _refuse(comm, f"unknown visitor mode {str(visitor)[:40]!r}")
        return
    name = data.get("app")
    file = data.get("file")
    if isinstance(file, str) and fileapp.active():
        try:
            files = data.get("files")
            if isinstance(files, list):  # the app itself: this kernel is on a gateway
                app = fileapp.app_for_bundle(file, files, open_msg.get("buffers") or [])
            else:
                app = fileapp.app_for_file(file)
        except Exception as e:  # whatever the file's code raised
            log.error("bokeh_nb: %s", e)
            _refuse(comm, f"the app file {name!r} could not be loaded")
            return
    else:
        app = APPS.get(name) if isinstance(name, str) else None
    if app is None:
        _refuse(comm, f"this kernel has no live app named {name!r}")
        return
    page = _page_id(data)
    if _reattach(comm, page, app, visitor):
        return
    raw = data.get("arguments") or {}
    arguments = {
        str(k): [str(v).encode() for v in vs]
        for k, vs in (raw.items() if isinstance(raw, dict) else [])
        if isinstance(vs, list)
    }
    try:
        session_id, document = app.new_session_document(arguments)
    except AppError as e:
        log.error("bokeh_nb: %s", e)
        _refuse(comm, f"the app {name!r} failed to start a session")
        return
    transport = CommTransport(comm, app)
    session = KernelSession(
        document, transport, session_id=session_id, visitor=visitor, standalone=True
    )
    app.context.attach(session_id, session)
    entry = _Standalone(session, transport, app, visitor)
    if page is not None and page not in _pages:
        _pages[page] = entry

        def forget() -> None:
            if _pages.get(page) is entry:
                del _pages[page]

        session.add_destroy_hook(forget)
    _wire(comm, entry, page)


_registered = False
_apps_registered = False


def _list_apps(comm: Any, _open_msg: dict[str, Any]) -> None:
    from .app import APPS

    apps = [{"name": app.name, "sessions": len(app.sessions)} for app in APPS.values()]
    comm.send({"apps": apps})  # the panel closes the comm


def register_apps_target() -> None:
    """Let the frontend's side panel list this kernel's live apps. Idempotent."""
    global _apps_registered
    if _apps_registered:
        return
    from comm import get_comm_manager

    get_comm_manager().register_target(APPS_TARGET, _list_apps)
    _apps_registered = True


class _Indented(logging.Formatter):
    """Every line of a record after its first (a traceback's) is indented, so that no line
    of bokeh_nb's in the server's log can pass for one of the server's own."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\n    ").replace("\r", "\\r")


def _log_to_server() -> None:
    """bokeh_nb's log lines from this kernel go to the kernel's own stderr, which the
    Jupyter server logs (ipykernel sends ``sys.stderr`` into whichever cell ran last)."""
    import sys

    from ipykernel.iostream import OutStream

    logger = logging.getLogger("bokeh_nb")
    if isinstance(sys.stderr, OutStream) and not logger.handlers:
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(_Indented("[bokeh_nb kernel] %(levelname)s | %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def register_session_target() -> None:
    """Let the server relay open sessions of this kernel's apps. Idempotent."""
    global _registered
    if _registered:
        return
    _log_to_server()
    from comm import get_comm_manager

    get_comm_manager().register_target(SESSION_TARGET, _open)
    _registered = True
