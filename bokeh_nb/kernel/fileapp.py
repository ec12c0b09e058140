"""A kernel that serves one app file to a visitor, started by the server's file-app pool.

The pool starts the kernel with ``--IPKernelApp.exec_lines=<FILE_APP_START>``: ``start()`` turns it
into an app server that runs no code sent to it. The server then opens a session comm
(``SESSION_TARGET``) whose data names the file (a path the server has checked to lie in
its root); the app is loaded from that file, in this kernel, for that session alone.

A kernel on a kernel gateway cannot read the server's files: its comm-open carries the
app's files as buffers (``files`` names them), which ``app_for_bundle`` writes to a
private directory of this kernel, removed when the kernel exits.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

log = logging.getLogger(__name__)

__all__ = ("active", "app_for_bundle", "app_for_file", "start")

REFUSED = "this kernel serves a Bokeh app file to a visitor and runs no other code"

_active = False
_apps: dict[str, Any] = {}
_bundles: Path | None = None


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


def app_for_bundle(entry: str, names: Sequence[Any], buffers: Sequence[Any]) -> Any:
    """The App of an app sent as files (``names[i]`` holds ``buffers[i]``), ``entry`` being
    the script, notebook or directory among them (ValueError for a malformed bundle)."""
    global _bundles
    if not isinstance(entry, str) or len(names) != len(buffers) or not names:
        raise ValueError("a malformed app bundle")
    relative = [PurePosixPath(str(n)) for n in names]
    for name in (PurePosixPath(entry), *relative):
        if name.is_absolute() or not name.parts or ".." in name.parts:
            raise ValueError(f"a malformed app bundle: {str(name)[:80]!r}")
    if _bundles is None:
        _bundles = Path(tempfile.mkdtemp(prefix="bokeh-nb-app-"))
        atexit.register(shutil.rmtree, _bundles, ignore_errors=True)
    path = str(_bundles.joinpath(*PurePosixPath(entry).parts))
    if path not in _apps:  # written once: this kernel serves one app
        for file, content in zip(relative, buffers, strict=True):
            target = _bundles.joinpath(*file.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bytes(content))
    return app_for_file(path)
