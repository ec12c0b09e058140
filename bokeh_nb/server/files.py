"""App files (``.py`` scripts, app directories, ``.ipynb`` notebooks) under the server's
root as full-page Bokeh sessions: ``bokeh-nb/files/{path}`` (+ ``/ws``).

Every session runs in a fresh kernel of its own, taken from a small pool kept warm, and
that kernel is shut down when the visitor leaves (however the connection ends), has been
idle for ``BokehNb.file_app_idle_timeout``, or the server stops; a user has at most
``BokehNb.file_app_max_per_user`` such sessions at once, and all users together
``BokehNb.file_app_max_total``. The kernels are not the notebook's: they run nothing but the app
(``kernel/fileapp.py`` refuses every ``execute_request``), and they do not appear among
the server's kernels. The path comes from the request, so it is checked to name an app
inside the server's root (no ``..``, no absolute path, no symlink out, no hidden file nor
a link to one unless the server shows them) before any kernel is used; it reaches the
kernel as data. A navigation from another site starts nothing: the user is asked first
(``crosssite.py``).

With a kernel gateway (``--gateway-url``) the pool's kernels start on the gateway, where
the server's files are out of reach: each session's comm-open then carries the app itself
(``bundle``: the script or notebook, or the app directory's files), at most
``BUNDLE_MAX_BYTES``, and the kernel loads it from a private copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.paths import is_hidden
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from ..protocol import FILE_APP_START, FILES_ROUTE, STATIC_ROUTE
from .base import BokehNbHandler, may, refuse, shown
from .crosssite import ask_first, from_elsewhere
from .gateway import GatewayKernel, GatewayTransport
from .live import AppSocket, write_app_page
from .relay import Bundle, KernelRelay, RelayError, ZmqTransport, detached

#: a child of the Jupyter server's own logger, so these lines go where its lines go
log = logging.getLogger("ServerApp").getChild("bokeh_nb")

__all__ = ("FileAppPage", "FileAppPool", "FileAppWebSocket", "app_file", "bundle")

SETTINGS_KEY = "bokeh_nb_files"
#: The most of an app sent to a kernel on a gateway, whose websocket takes 10 MiB at most.
BUNDLE_MAX_BYTES = 8 * 2**20


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
        entries = [e for e in (full / "main.py", full / "main.ipynb") if e.is_file()]
        if not entries:
            raise refuse(400, f"{name} is a directory without main.py: not a Bokeh app")
        for entry in entries:  # what the kernel runs, wherever a link leads
            _check_target(root_path, entry.resolve(), name, allow_hidden)
    elif full.suffix not in (".py", ".ipynb"):
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


def bundle(full: Path) -> Bundle:
    """The app at ``full`` as files for a kernel that cannot read them: the script or
    notebook alone, or every file of the app directory (hidden files, ``__pycache__``,
    links out of the directory and links to hidden files left out). Names are relative,
    under the app's own name.
    HTTPError 413 beyond ``BUNDLE_MAX_BYTES``."""
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
    if size > BUNDLE_MAX_BYTES:
        raise refuse(
            413,
            f"{shown(full.name)} is {size / 2**20:.1f} MiB: at most "
            f"{BUNDLE_MAX_BYTES / 2**20:g} MiB of an app can be sent to a kernel on the gateway",
        )
    return Bundle(full.name, [(name, p.read_bytes()) for name, p in zip(names, paths, strict=True)])


@dataclass
class PooledKernel:
    manager: AsyncKernelManager | GatewayKernel
    relay: KernelRelay
    user: str = ""


class FileAppPool:
    """Kernels for file-app sessions: ``size`` kept warm, one per session, shut down after;
    at most ``max_per_user`` sessions of one user and ``max_total`` of all users at once."""

    def __init__(
        self,
        kernel_spec_manager: Any,
        kernel_name: str,
        cwd: str,
        size: int,
        max_per_user: int,
        max_total: int = 10,
        remote: bool = False,
    ) -> None:
        #: kernels on the kernel gateway (then sessions carry their app, see ``bundle``)
        self.remote = remote
        self._ksm = kernel_spec_manager
        self._kernel_name = kernel_name
        self._cwd = cwd
        self.size = size
        self.max_per_user = max_per_user
        self.max_total = max_total
        self._warm: list[PooledKernel] = []
        self._taken: dict[int, PooledKernel] = {}  # by id(): the kernels of sessions now
        self._filling: asyncio.Task[None] | None = None
        self.active: dict[str, int] = {}
        self.started = 0  # kernels started so far (for tests and logs)

    def in_use(self, user: str) -> int:
        return self.active.get(user, 0)

    def refusal(self, user: str) -> tuple[int, str] | None:
        """None if ``user`` may start one more session now, else (status, why not)."""
        if sum(self.active.values()) >= self.max_total:
            return 503, (
                f"at most {self.max_total} app file sessions run at once on this server, "
                "all users together; try again when one has ended"
            )
        if self.in_use(user) >= self.max_per_user:
            return 429, f"at most {self.max_per_user} app file sessions at once; close one first"
        return None

    async def _start(self) -> PooledKernel:
        if self.remote:
            return await self._start_on_gateway()
        manager = AsyncKernelManager(kernel_name=self._kernel_name, kernel_spec_manager=self._ksm)
        self.started += 1
        await manager.start_kernel(
            extra_arguments=[f"--IPKernelApp.exec_lines={FILE_APP_START}"], cwd=self._cwd
        )
        try:
            client = manager.client()
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            await client.wait_for_ready(timeout=120)
        except Exception:
            await manager.shutdown_kernel(now=True)
            raise
        return PooledKernel(
            manager, KernelRelay(ZmqTransport(client), manager.kernel_id or uuid.uuid4().hex)
        )

    async def _start_on_gateway(self) -> PooledKernel:
        kernel = await GatewayKernel.start(self._kernel_name)
        self.started += 1
        transport = GatewayTransport(kernel.kernel_id)
        try:  # what --IPKernelApp.exec_lines does for a local kernel
            await transport.execute(FILE_APP_START)
        except Exception:
            transport.stop()
            await _shutdown(kernel)
            raise
        return PooledKernel(kernel, KernelRelay(transport, kernel.kernel_id))

    def warm(self) -> None:
        """Start kernels in the background until ``size`` are waiting."""
        if self._filling is None or self._filling.done():
            self._filling = detached(self._fill())

    async def _fill(self) -> None:
        while len(self._warm) < self.size:
            try:
                self._warm.append(await self._start())
            except Exception:
                log.exception("bokeh_nb: could not start a kernel for file apps")
                return

    async def take(self, user: str) -> PooledKernel:
        """A ready kernel for one session of ``user`` (RelayError if none can start, or
        if the bounds are reached meanwhile)."""
        refused = self.refusal(user)
        if refused is not None:
            raise RelayError(refused[1])
        self.active[user] = self.active.get(user, 0) + 1
        try:
            kernel = self._warm.pop(0) if self._warm else await self._start()
        except Exception as e:
            self._done(user)
            raise RelayError("could not start a kernel for this app") from e
        kernel.user = user
        self._taken[id(kernel)] = kernel
        self.warm()
        return kernel

    def _done(self, user: str) -> None:
        self.active[user] = self.active.get(user, 1) - 1
        if self.active[user] <= 0:
            del self.active[user]

    def release(self, kernel: PooledKernel) -> None:
        """The session ended: shut its kernel down (once, however often it is called)."""
        if self._taken.pop(id(kernel), None) is None:
            return
        self._done(kernel.user)
        kernel.relay.stop()
        detached(_shutdown(kernel.manager))

    async def shutdown(self) -> None:
        """The server stops: every kernel of the pool, warm or in a session, shuts down."""
        if self._filling is not None:
            self._filling.cancel()
        kernels, self._warm = [*self._warm, *self._taken.values()], []
        self._taken.clear()
        self.active.clear()
        for kernel in kernels:
            kernel.relay.stop()
        await asyncio.gather(*(_shutdown(k.manager) for k in kernels))


async def _shutdown(manager: AsyncKernelManager | GatewayKernel) -> None:
    with contextlib.suppress(Exception):
        await manager.shutdown_kernel(now=True)


def _pool(handler: JupyterHandler) -> FileAppPool:
    pool: FileAppPool = handler.settings[SETTINGS_KEY]
    return pool


def _check(handler: JupyterHandler, path: str) -> tuple[Path, Bundle | None]:
    """The app file, and the app as files when its kernel will be on a gateway."""
    if not (may(handler, "execute", "kernels") and may(handler, "read", "contents")):
        raise refuse(403, "not allowed to run code or read files on this server")
    cm = handler.contents_manager
    full = app_file(cm.root_dir, path, bool(getattr(cm, "allow_hidden", False)))
    return full, bundle(full) if _pool(handler).remote else None


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
        write_app_page(self, full.stem, app_path, url_path_join(self.base_url, STATIC_ROUTE))


class FileAppWebSocket(AppSocket):
    auth_resource = "kernels"
    _kernel: PooledKernel | None = None
    _idle: Any = None

    @ws_authenticated
    async def get(self, path: str) -> None:
        full, self.bundle = _check(self, path)
        self.user_name = getattr(self.current_user, "username", "") or "?"
        refused = _pool(self).refusal(self.user_name)
        if refused is not None:
            raise refuse(*refused)
        self.app_name, self.file = full.stem, str(full)
        await super().get(path=path)

    def describe(self) -> str:
        return f"app file {shown(self.app_name)!r}"

    async def connect_relay(self) -> KernelRelay:
        self._kernel = await _pool(self).take(self.user_name)
        self.kernel_id = self._kernel.relay.kernel_id
        self._touch()
        return self._kernel.relay

    def _touch(self) -> None:
        timeout = self.settings.get("bokeh_nb_file_idle_timeout", 1800.0)
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
