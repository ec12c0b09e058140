"""A kernel that serves one app file to a visitor, started by the server's file-app pool.

The pool starts the kernel with ``--IPKernelApp.exec_lines=<FILE_APP_START>``: ``start()`` turns it
into an app server that runs no code sent to it. The server then opens a session comm
(``SESSION_TARGET``) whose data names the file (a path the server has checked to lie in
its root); the app is loaded from that file, in this kernel, for that session alone.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

__all__ = ("active", "app_for_file", "start")

REFUSED = "this kernel serves a Bokeh app file to a visitor and runs no other code"

_active = False
_apps: dict[str, Any] = {}


def active() -> bool:
    """Is this kernel a file-app kernel?"""
    return _active


def start() -> None:
    """Serve app files on the session comm target; refuse every ``execute_request``."""
    global _active
    from IPython import get_ipython

    from .relay import register_session_target

    kernel = get_ipython().kernel

    def refuse(stream: Any, ident: Any, parent: Any) -> None:
        log.warning("bokeh_nb: refused an execute_request in a file-app kernel")
        content = {"status": "error", "ename": "PermissionError", "evalue": REFUSED}
        kernel.session.send(
            stream,
            "execute_reply",
            {**content, "traceback": [], "execution_count": 0},
            parent,
            ident=ident,
        )

    kernel.shell_handlers["execute_request"] = refuse
    register_session_target()
    _active = True


def app_for_file(path: str) -> Any:
    """The App of an app file (loaded once per kernel)."""
    from .app import App

    app = _apps.get(path)
    if app is None:
        app = _apps[path] = App(Path(path), name=Path(path).stem)
    return app
