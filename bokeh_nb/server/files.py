"""App files (``.py`` scripts, app directories, ``.ipynb`` notebooks) under the server's
root as full-page Bokeh sessions: ``bokeh-nb/files/{path}`` (+ ``/ws``).

Every session runs in a fresh kernel of its own, taken from a small pool kept warm
(``pool.py``), and that kernel is shut down when the visitor leaves (however the
connection ends), has been idle for ``BokehNb.file_app_idle_timeout``, or the server
stops. The path comes from the request, so it is checked to name an app
inside the server's root (no ``..``, no absolute path, no symlink out, no hidden file nor
a link to one unless the server shows them) before any kernel is used; it reaches the
kernel as data. A navigation from another site starts nothing: the user is asked first
(``crosssite.py``).

With a kernel gateway (``--gateway-url``) the pool's kernels start on the gateway, where
the server's files are out of reach: each session's comm-open then carries the app itself
(``app_files``: the script or notebook, or the app directory's files), at most
``APP_FILES_MAX_BYTES``, and the kernel loads it from a private copy.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from ..apps import app_entry, directory_entries
from ..protocol import FILES_ROUTE, STATIC_ROUTE
from .base import BokehNbHandler, may, refuse, shown
from .crosssite import ask_first, from_elsewhere
from .kernelclient import AppFiles, KernelClient
from .live import AppSocket
from .page import write_app_page
from .pool import FileAppPool, PooledKernel
from .state import state_of

__all__ = ("APP_FILES_MAX_BYTES", "FileAppPage", "FileAppWebSocket", "app_file", "app_files")

#: The most of an app sent to a kernel on a gateway, whose websocket takes 10 MiB at most.
APP_FILES_MAX_BYTES = 8 * 2**20


def app_file(root: str | Path, path: str, allow_hidden: bool = False) -> Path:
    """The app that ``path`` (relative to the server's root) names; HTTPError otherwise."""
    name = shown(path)
    parts = Path(path).parts
    if not path or path.startswith(("/", "\\")) or "\\" in path or "\0" in path:
        raise refuse(400, f"{name} is not a path relative to the server's root")
    if ".." in parts:
        raise refuse(403, f"{name} leaves the server's root")
    if not allow_hidden and any(p.startswith(".") for p in parts):
        raise refuse(404, f"no app at {name}")
    root_path = Path(root).resolve()
    full = (root_path / path).resolve()
    _check_target(root_path, full, name, allow_hidden)
    if full.is_dir():
        entries = directory_entries(full)
        if not entries:
            raise refuse(400, f"{name} is a directory without main.py: not a Bokeh app")
        for entry in entries:  # what the kernel may run, wherever a link leads
            _check_target(root_path, entry.resolve(), name, allow_hidden)
    elif app_entry(full) is None:
        raise refuse(
            400, f"{name} is not a Bokeh app (a .py script, .ipynb notebook or app directory)"
        )
    return full


def _check_target(root: Path, target: Path, name: str, allow_hidden: bool) -> None:
    """What a path resolves to (links followed) must be inside the root, there, and not
    hidden: a link that is not hidden itself may lead to a file or directory that is."""
    if not target.is_relative_to(root):
        raise refuse(403, f"{name} leaves the server's root")
    if not target.exists() or (not allow_hidden and is_hidden(target, root)):
        raise refuse(404, f"no app at {name}")


def _left_out(part: str) -> bool:
    return part.startswith(".") or part == "__pycache__"


def app_files(full: Path) -> AppFiles:
    """The app at ``full`` as files for a kernel that cannot read them: the script or
    notebook alone, or every file of the app directory (hidden files, ``__pycache__``,
    links out of the directory and links to hidden files left out). Names are relative,
    under the app's own name.
    HTTPError 413 beyond ``APP_FILES_MAX_BYTES``."""
    if full.is_dir():
        paths = sorted(
            p
            for p in full.rglob("*")
            if p.is_file()
            and not any(_left_out(part) for part in p.relative_to(full).parts)
            and p.resolve().is_relative_to(full)
            and not any(_left_out(part) for part in p.resolve().relative_to(full).parts)
        )
        names = [f"{full.name}/{p.relative_to(full).as_posix()}" for p in paths]
    else:
        paths, names = [full], [full.name]
    size = sum(p.stat().st_size for p in paths)
    if size > APP_FILES_MAX_BYTES:
        raise refuse(
            413,
            f"{shown(full.name)} is {size / 2**20:.1f} MiB: at most "
            f"{APP_FILES_MAX_BYTES / 2**20:g} MiB of an app can be sent to a kernel on the gateway",
        )
    contents = [(name, p.read_bytes()) for name, p in zip(names, paths, strict=True)]
    return AppFiles(full.name, contents)


def _pool(handler: JupyterHandler) -> FileAppPool:
    return state_of(handler.settings).file_apps


def _check(handler: JupyterHandler, path: str) -> tuple[Path, AppFiles | None]:
    """The app file, and the app as files when its kernel will be on a gateway."""
    if not (may(handler, "execute", "kernels") and may(handler, "read", "contents")):
        raise refuse(403, "not allowed to run code or read files on this server")
    cm = handler.contents_manager
    full = app_file(cm.root_dir, path, bool(getattr(cm, "allow_hidden", False)))
    return full, app_files(full) if _pool(handler).remote else None


class FileAppPage(BokehNbHandler):
    auth_resource = "kernels"

    @web.authenticated
    def get(self, path: str) -> None:
        full, _ = _check(self, path)
        app_path = url_path_join(self.base_url, FILES_ROUTE.format(path=quote(path)))
        if from_elsewhere(self):  # nothing starts until the user says so
            ask_first(self, path, app_path)
            return
        _pool(self).warm()  # the session's kernel starts while the page loads
        bundles = url_path_join(self.base_url, STATIC_ROUTE)
        write_app_page(self, full.stem, app_path, bundles, kind="file")


class FileAppWebSocket(AppSocket):
    auth_resource = "kernels"
    _kernel: PooledKernel | None = None
    _idle: object | None = None

    @ws_authenticated
    async def get(self, path: str) -> None:
        full, self.app_files = _check(self, path)
        self.user_name = getattr(self.current_user, "username", "") or "?"
        refused = _pool(self).refusal(self.user_name)
        if refused is not None:
            raise refuse(*refused)
        # the kernel names the app file by the path the visitor asked for, in what it
        # tells the page when the file fails (never by a path of its own)
        self.app_name, self.file = path, str(full)
        await super().get(path=path)

    def describe(self) -> str:
        return f"app file {shown(self.app_name)!r}"

    async def kernel_client(self) -> KernelClient:
        self._kernel = await _pool(self).take(self.user_name)
        self.kernel_id = self._kernel.client.kernel_id
        self._touch()
        return self._kernel.client

    def _touch(self) -> None:
        timeout = state_of(self.settings).file_app_idle_timeout
        loop = IOLoop.current()
        if self._idle is not None:
            loop.remove_timeout(self._idle)
        self._idle = loop.call_later(timeout, self._idle_out, timeout)

    def _idle_out(self, timeout: float) -> None:
        """No message for ``timeout`` seconds: the session ends, and its kernel with it
        (now, not once the visitor acknowledges the close)."""
        self._idle = None
        self.close(1000, f"closed after {int(timeout)} s without activity")
        self.on_connection_close()

    async def on_message(self, fragment: str | bytes) -> None:
        self._touch()
        await super().on_message(fragment)

    def on_close(self) -> None:
        super().on_close()
        if self._idle is not None:
            IOLoop.current().remove_timeout(self._idle)
            self._idle = None
        if self._kernel is not None:
            kernel, self._kernel = self._kernel, None
            _pool(self).release(kernel)
