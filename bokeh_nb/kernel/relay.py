"""Standalone sessions of this kernel's live apps, opened by the Jupyter server's relay.

The server extension opens a comm to ``SESSION_TARGET`` for every full-page visitor or
``bokeh.client`` connection of ``bokeh-nb/kernels/{kernel_id}/apps/{name}``; each comm is
one new session of the named ``App`` (a new Document, as every visit to a ``bokeh serve``
app), carrying the frames of ``docs/protocol.md``. Closing the comm ends the session.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import _bokeh
from ..apps import AppError
from ..protocol import APPS_TARGET, KIND_ERROR, SESSION_TARGET
from . import fileapp
from .frames import dispatch, encode
from .session import KernelSession
from .visitor import MODES

log = logging.getLogger(__name__)

__all__ = ("CommTransport", "register_session_target")


class CommTransport:
    """A session's messages over a plain comm (no widget)."""

    def __init__(self, comm: Any) -> None:
        self.comm = comm

    def send_message(self, msg: _bokeh.Message[Any], origin: str | None = None) -> None:
        frame, payloads = encode(msg)
        self.comm.send(frame, buffers=payloads)

    def send_error(self, text: str, traceback: str) -> None:
        # a standalone visitor never sees a traceback: it goes to the kernel's log
        log.error("bokeh_nb: error in a callback of a standalone session: %s\n%s", text, traceback)


def _refuse(comm: Any, text: str) -> None:
    # The server closes the visitor's websocket and then this comm. (A close from here
    # would reach every notebook page on iopub, which would each log an unknown comm.)
    comm.send({"kind": KIND_ERROR, "text": text, "traceback": ""})


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
    transport = CommTransport(comm)
    session = KernelSession(document, transport, session_id=session_id, visitor=visitor)
    app.context.attach(session_id, session)
    comm.on_msg(
        lambda msg: dispatch(
            msg["content"]["data"], msg.get("buffers") or [], session, transport.send_message
        )
    )
    comm.on_close(lambda _msg: session.destroy())


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


def _log_to_server() -> None:
    """bokeh_nb's log lines from this kernel go to the kernel's own stderr, which the
    Jupyter server logs (ipykernel sends ``sys.stderr`` into whichever cell ran last)."""
    import sys

    from ipykernel.iostream import OutStream

    logger = logging.getLogger("bokeh_nb")
    if isinstance(sys.stderr, OutStream) and not logger.handlers:
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(logging.Formatter("[bokeh_nb kernel] %(levelname)s | %(message)s"))
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
