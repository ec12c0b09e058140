"""An app directory's ``static/`` files at its page's URL, as ``bokeh serve`` serves
``/{app}/static/``: ``{app page}/static/{file}`` of an app file, a live app and a share
link (whose page rewrites the template's ``{app}/static/...`` references to it).

Only files below the app's own ``static/`` directory are served: no ``..``, no absolute
path, no hidden file (nor a link out of that directory or the server's root), each with
the same credentials as the app's page. An app file's directory is the server's own; a
live app's is the one its kernel said (``AppStatics``, learned as its page's session
opens), served only when it lies inside the server's root.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from .base import BokehNbHandler, may, refuse, shown
from .files import app_file
from .shares import _ShareHandler
from .state import state_of
from .staticdirs import server_root

__all__ = ("FileAppStatic", "LiveAppStatic", "SharedAppStatic", "write_static")


def _static_file(directory: Path, name: str, root: Path, allow_hidden: bool) -> Path:
    """The file ``name`` (relative) below ``directory``; HTTPError 404 for anything else."""
    missing = refuse(404, f"no static file {shown(name)} in this app")
    parts = Path(name).parts
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\0" in name:
        raise missing
    if ".." in parts or any(p.startswith(".") for p in parts):
        raise missing
    base = directory.resolve()
    target = (base / name).resolve()
    if not target.is_relative_to(base) or not target.is_relative_to(root):
        raise missing
    if not target.is_file() or (not allow_hidden and is_hidden(target, root)):
        raise missing
    return target


def write_static(handler: JupyterHandler, directory: Path, name: str) -> None:
    """Answer with the file ``name`` of an app's ``static/`` directory."""
    root, allow_hidden = server_root(handler)
    target = _static_file(directory, name, root, allow_hidden)
    kind, encoding = mimetypes.guess_type(target.name)
    if kind is None or encoding is not None:
        kind = "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    handler.set_header("Content-Type", kind)
    handler.set_header("Cache-Control", "no-cache")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(target.read_bytes())


class FileAppStatic(BokehNbHandler):
    """``bokeh-nb/files/{app directory}/static/{file}``: for whoever may open the app."""

    auth_resource = "kernels"

    @web.authenticated
    def get(self, path: str, filename: str) -> None:
        if not (may(self, "execute", "kernels") and may(self, "read", "contents")):
            raise refuse(403, "not allowed to run code or read files on this server")
        cm = self.contents_manager
        full = app_file(cm.root_dir, path, bool(getattr(cm, "allow_hidden", False)))
        if not full.is_dir():
            raise refuse(404, f"{shown(path)} is no app directory: it has no static files")
        write_static(self, full / "static", filename)


class LiveAppStatic(BokehNbHandler):
    """``bokeh-nb/kernels/{kernel_id}/apps/{name}/static/{file}``: as the app's page."""

    auth_resource = "kernels"

    @web.authenticated
    def get(self, kernel_id: str, name: str, filename: str) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        if kernel_id not in self.kernel_manager:
            raise refuse(404, f"no running kernel {kernel_id}: it was shut down or restarted")
        directory = state_of(self.settings).app_statics.get(kernel_id, name)
        if directory is None:
            raise refuse(404, f"no static files of app {shown(name)!r} are known here")
        write_static(self, directory, filename)


class SharedAppStatic(_ShareHandler):
    """``bokeh-nb/s/{token}/static/{file}``: the shared app's static files, nothing else."""

    @allow_unauthenticated
    def get(self, token: str, filename: str) -> None:
        refused = self.check_share(token)
        if refused is not None:
            raise refuse(*refused)
        directory = state_of(self.settings).app_statics.get(self.share.kernel_id, self.share.app)
        if directory is None:
            raise refuse(404, "this app has no static files")
        write_static(self, directory, filename)
