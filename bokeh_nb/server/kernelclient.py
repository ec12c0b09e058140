"""The server's client of a kernel: standalone sessions of its live apps, as comms.

Each standalone session is one comm to the kernel's ``SESSION_TARGET``; its frames (see
``docs/protocol.md``, built and read by ``wire.py``) go out on the shell channel and come
back on iopub, where the ``KernelClient`` routes them by comm id to the websocket that
owns the session; a batch (``KIND_BATCH``: the frames of several sessions in one message)
is split, in order. What goes to the kernel goes through a ``ShellBatch``, which sends
the frames for a kernel that falls behind as batches too. ``KernelClients`` keeps one
client per notebook kernel that serves app pages, and forgets it when that kernel shuts
down or restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .. import batches
from ..protocol import KIND_BATCH, RELAY_SPLITS, SESSION_TARGET
from ..wire import AckFrame, BokehFrame, frame_kind, session_open
from .shellbatch import ShellBatch

#: a child of the Jupyter server's own logger, so these lines go where its lines go
log = logging.getLogger("ServerApp").getChild("bokeh_nb")

__all__ = (
    "KERNEL_ACTIONS",
    "AppFiles",
    "KernelClient",
    "KernelClients",
    "KernelUnavailable",
    "OnFrame",
    "Transport",
    "detached",
)

#: jupyter_server's event for kernel actions (start, restart, shutdown, ...).
KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"

#: What a session's websocket is given of each kernel frame: the frame (a comm message's
#: data, as the kernel sent it) and its binary buffers.
OnFrame = Callable[[Mapping[str, Any], Sequence[bytes | memoryview]], None]


class Transport(Protocol):
    """A kernel's shell (out) and iopub (in): ``transport.ZmqTransport`` for a local
    kernel, ``gateway.GatewayTransport`` for one on a kernel gateway. ``session_id`` is
    the Jupyter session id of its requests (the parent of the kernel's status for each)."""

    @property
    def session_id(self) -> str: ...

    async def connect(self) -> None: ...

    def send(
        self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()
    ) -> None: ...

    async def next_iopub(self) -> dict[str, Any]: ...

    def stop(self) -> None: ...


def detached(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """``coro`` as a task of its own, outside the request that starts it. jupyter_server
    keeps a request's handler in a context variable, and a task keeps a copy of the
    context it started in: a task that outlives its request (a client's reader, a kernel
    starting for the pool) would keep that handler, and all it holds, alive with it."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


class KernelUnavailable(RuntimeError):
    """No kernel for a session: unknown, dead or restarting, or none may start now."""


@dataclass
class AppFiles:
    """An app as files, for a kernel that cannot read the server's: ``entry`` (the script,
    notebook or directory) and every file as (relative name, content)."""

    entry: str
    files: list[tuple[str, bytes]]


@dataclass
class _Route:
    on_frame: OnFrame
    on_close: Callable[[str], None]


class KernelClient:
    """The standalone sessions of one kernel, through ``transport``."""

    def __init__(self, transport: Transport, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        self._transport = transport
        self._routes: dict[str, _Route] = {}
        self._shell = ShellBatch(transport.send)
        self._reader = detached(self._read_iopub())

    @property
    def running(self) -> bool:
        """Whether it still reads the kernel's iopub (not stopped, channel not lost)."""
        return not self._reader.done()

    async def _read_iopub(self) -> None:
        try:
            await self._transport.connect()
            while True:
                msg = await self._transport.next_iopub()
                content = msg.get("content", {})
                data, buffers = content.get("data", {}), msg.get("buffers") or []
                if msg["msg_type"] == "comm_msg":
                    self._shell.splits = self._shell.splits or self._splits(msg)
                if msg["msg_type"] == "comm_msg" and frame_kind(data) == KIND_BATCH:
                    batches.split(data, buffers, self._deliver, f"kernel {self.kernel_id}")
                elif msg["msg_type"] == "comm_msg":
                    self._deliver(content.get("comm_id", ""), data, buffers)
                elif msg["msg_type"] == "status" and self._answered(msg):
                    self._shell.idle()
                elif msg["msg_type"] == "comm_close":
                    route = self._routes.pop(content.get("comm_id", ""), None)
                    if route is not None:
                        route.on_close("the session ended in the kernel")
                    del route
                del msg, content, data, buffers  # not kept until the next message
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bokeh_nb: lost the iopub channel of kernel %s", self.kernel_id)
        finally:
            self.end_all("the kernel went away")

    @staticmethod
    def _splits(msg: Mapping[str, Any]) -> bool:
        """Whether the kernel says, in a session's frame, that it splits batches."""
        metadata = msg.get("metadata")
        return isinstance(metadata, Mapping) and metadata.get(RELAY_SPLITS) is True

    def _answered(self, status: Mapping[str, Any]) -> bool:
        """Whether a status is the kernel's idle after one of this client's requests."""
        parent = status.get("parent_header")
        return (
            status.get("content", {}).get("execution_state") == "idle"
            and isinstance(parent, Mapping)
            and parent.get("session") == self._transport.session_id
        )

    def _deliver(
        self, comm_id: str, frame: Mapping[str, Any], buffers: Sequence[bytes | memoryview]
    ) -> None:
        route = self._routes.get(comm_id)
        if route is None:  # not this server's session, or one that has ended
            return
        try:
            route.on_frame(frame, buffers)
        except Exception:  # one connection's trouble is not the others'
            log.exception("bokeh_nb: a session of kernel %s failed", self.kernel_id)

    def end_all(self, reason: str) -> None:
        """Close every session of this kernel (its kernel restarted or shut down)."""
        if self._routes:
            log.info(
                "bokeh_nb: %s (kernel %s): closing %d sessions",
                reason,
                self.kernel_id,
                len(self._routes),
            )
        for comm_id, route in list(self._routes.items()):
            self._routes.pop(comm_id, None)
            route.on_close(reason)

    def open(
        self,
        app: str,
        arguments: dict[str, list[str]],
        on_frame: OnFrame,
        on_close: Callable[[str], None],
        *,
        visitor: str | None = None,
        file: str | None = None,
        session_id: str | None = None,
        app_files: AppFiles | None = None,
    ) -> str:
        """Start a new session of the kernel's live app; returns its comm id. ``visitor``
        is a share link's mode: the kernel then limits what the session's browser may
        change (``kernel/visitor.py``). ``file`` is the app file a file-app kernel runs;
        ``session_id`` the Bokeh session id the page asked for (a page that reconnects
        within the linger gets its detached session back); ``app_files`` the app itself,
        one buffer a file, for a file-app kernel on a gateway."""
        comm_id = uuid.uuid4().hex
        self._routes[comm_id] = _Route(on_frame, on_close)
        data = session_open(
            app,
            arguments,
            visitor=visitor,
            file=app_files.entry if app_files is not None else file,
            session_id=session_id,
            files=[name for name, _ in app_files.files] if app_files is not None else None,
        )
        buffers = [content for _, content in app_files.files] if app_files is not None else []
        self._shell.request(
            "comm_open",
            {"comm_id": comm_id, "target_name": SESSION_TARGET, "data": data},
            buffers,
        )
        return comm_id

    def send(self, comm_id: str, frame: BokehFrame | AckFrame, buffers: Sequence[bytes]) -> None:
        self._shell.frame(comm_id, frame, buffers)

    def close(self, comm_id: str) -> None:
        if self._routes.pop(comm_id, None) is not None:
            self._shell.request("comm_close", {"comm_id": comm_id, "data": {}})

    def stop(self) -> None:
        """Stop reading and close the channels; sessions still open end now."""
        self.end_all("the kernel went away")
        self._reader.cancel()
        self._shell.stop()
        with contextlib.suppress(Exception):
            self._transport.stop()


class KernelClients:
    """The server's client of each notebook kernel whose live apps have sessions: made
    on the first session, stopped and forgotten when its kernel shuts down or restarts
    (``on_kernel_action``) and when the server stops (``stop_all``)."""

    def __init__(
        self, is_running: Callable[[str], bool], transport: Callable[[str], Transport]
    ) -> None:
        self._is_running = is_running
        self._transport = transport
        self._clients: dict[str, KernelClient] = {}

    def __contains__(self, kernel_id: object) -> bool:
        return kernel_id in self._clients

    def get(self, kernel_id: str) -> KernelClient:
        """The client of a running kernel (KernelUnavailable if the server has no such
        kernel)."""
        if not self._is_running(kernel_id):
            raise KernelUnavailable(f"no running kernel {kernel_id}")
        client = self._clients.get(kernel_id)
        if client is None or not client.running:
            client = self._clients[kernel_id] = KernelClient(self._transport(kernel_id), kernel_id)
        return client

    def forget(self, kernel_id: str, reason: str) -> None:
        """Close the sessions of ``kernel_id`` (``reason`` says why), and stop its client."""
        client = self._clients.pop(kernel_id, None)
        if client is not None:
            client.end_all(reason)
            client.stop()

    def stop_all(self) -> None:
        for client in [*self._clients.values()]:
            client.stop()
        self._clients.clear()

    async def on_kernel_action(
        self, logger: object, schema_id: str, data: Mapping[str, Any]
    ) -> None:
        """A kernel restarted or shut down (jupyter_server's ``KERNEL_ACTIONS`` event):
        its sessions (and their documents) are gone, so their visitors' connections close
        now rather than hang, and its client goes. (jupyter_events calls this with
        keywords; an exception here would fail the kernel action itself.)"""
        try:
            kernel_id = str(data.get("kernel_id"))
            if kernel_id not in self._clients or data.get("status") != "success":
                return
            if data.get("action") == "restart":
                self.forget(kernel_id, "the notebook kernel restarted")
            elif data.get("action") == "shutdown":
                self.forget(kernel_id, "the notebook kernel shut down")
        except Exception:
            kernel_id = str(data.get("kernel_id"))
            log.exception("bokeh_nb: could not end the sessions of kernel %s", kernel_id)
