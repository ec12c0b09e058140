"""Comms between the Jupyter server and a kernel's live apps, one kernel client per kernel.

Each standalone session is one comm to the kernel's ``SESSION_TARGET``; its frames (see
``docs/protocol.md``) go out on the shell channel and come back on iopub, where this relay
routes them by comm id to the websocket that owns the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from jupyter_client.session import Session
from jupyter_server.gateway.gateway_client import GatewayClient

from ..protocol import RELAY_SESSION, SESSION_TARGET
from .gateway import GatewayTransport
from .pagefilter import is_marked

#: a child of the Jupyter server's own logger, so these lines go where its lines go
log = logging.getLogger("ServerApp").getChild("bokeh_nb")

__all__ = (
    "Bundle",
    "KernelRelay",
    "RelayError",
    "ZmqTransport",
    "detached",
    "for_the_relay",
    "kernel_action",
    "relay_for",
)

_COMM_CLOSE = b'"comm_close"'

OnFrame = Callable[[dict[str, Any], Sequence[bytes | memoryview]], None]


def detached(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """``coro`` as a task of its own, outside the request that starts it. jupyter_server
    keeps a request's handler in a context variable, and a task keeps a copy of the
    context it started in: a task that outlives its request (a relay's reader, a kernel
    starting for the pool) would keep that handler, and all it holds, alive with it."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


class RelayError(RuntimeError):
    """The kernel cannot be reached (unknown, dead or restarting)."""


@dataclass
class Bundle:
    """An app as files, for a kernel that cannot read the server's: ``entry`` (the script,
    notebook or directory) and every file as (relative name, content)."""

    entry: str
    files: list[tuple[str, bytes]]


@dataclass
class _Route:
    on_frame: OnFrame
    on_close: Callable[[str], None]


def relay_session(kernel_session: Session) -> Session:
    """A Jupyter session of its own for the relay's requests to a kernel (signed with the
    kernel's key), named so that notebook pages can skip what they cause
    (``pagefilter.py``). Not the kernel manager's: jupyter_server's own requests use that
    one, and their replies must reach the pages."""
    return Session(
        key=kernel_session.key,
        signature_scheme=kernel_session.signature_scheme,
        session=f"{RELAY_SESSION}{uuid.uuid4().hex}",
        username="bokeh_nb",
    )


def for_the_relay(parts: Sequence[Any]) -> bool:
    """Whether a kernel's iopub message (``[signature, header, parent, metadata, content,
    *buffers]``, bytes or zmq frames) may be for one of the relay's sessions: the frames
    of a standalone session (marked in their metadata) and any ``comm_close``. Decided on
    the small parts only, never the content."""
    if len(parts) < 5:
        return True  # malformed: decoding says so
    header = getattr(parts[1], "bytes", parts[1])
    return is_marked(list(parts[1:5])) or _COMM_CLOSE in header


class ZmqTransport:
    """A local kernel's shell (out) and iopub (in), through a jupyter_client kernel client."""

    def __init__(self, client: Any) -> None:
        self._client = client
        if not client.channels_running:
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)

    async def connect(self) -> None:
        """The channels are open already."""

    def send(self, msg_type: str, content: dict[str, Any], buffers: Sequence[Any] = ()) -> None:
        session = self._client.session
        session.send(
            self._client.shell_channel.socket, session.msg(msg_type, content), buffers=buffers
        )

    async def next_iopub(self) -> dict[str, Any]:
        """The next iopub message that may be for a session (``for_the_relay``), decoded;
        the others (a notebook's outputs, its own comms) are dropped undecoded. Buffers
        come as views of the received frames, never copied."""
        socket = self._client.iopub_channel.socket
        session = self._client.session
        while True:
            frames = await socket.recv_multipart(copy=False)
            _, parts = session.feed_identities(frames, copy=False)
            if for_the_relay(parts):
                return session.deserialize(parts, copy=False)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._client.stop_channels()


class KernelRelay:
    """Sessions of one kernel, through ``transport`` (``ZmqTransport`` for a local kernel,
    ``gateway.GatewayTransport`` for one on a kernel gateway)."""

    def __init__(self, transport: Any, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        self._transport = transport
        self._routes: dict[str, _Route] = {}
        self._pump = detached(self._read_iopub())

    async def _read_iopub(self) -> None:
        try:
            await self._transport.connect()
            while True:
                msg = await self._transport.next_iopub()
                content = msg.get("content", {})
                route = self._routes.get(content.get("comm_id", ""))
                if route is None:
                    continue
                if msg["msg_type"] == "comm_msg":
                    try:
                        route.on_frame(content.get("data", {}), msg.get("buffers") or [])
                    except Exception:  # one connection's trouble is not the others'
                        log.exception("bokeh_nb: a session of kernel %s failed", self.kernel_id)
                elif msg["msg_type"] == "comm_close":
                    self._routes.pop(content["comm_id"], None)
                    route.on_close("the session ended in the kernel")
                del route, msg, content  # not kept (nor its connection) until the next message
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bokeh_nb: lost the iopub channel of kernel %s", self.kernel_id)
        finally:
            self.end_all("the kernel went away")

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

    def _send(self, msg_type: str, content: dict[str, Any], buffers: Sequence[Any] = ()) -> None:
        self._transport.send(msg_type, content, buffers)

    def open(
        self,
        app: str,
        arguments: dict[str, list[str]],
        on_frame: OnFrame,
        on_close: Callable[[str], None],
        visitor: str | None = None,
        file: str | None = None,
        page: str | None = None,
        bundle: Bundle | None = None,
    ) -> str:
        """Start a new session of the kernel's live app; returns its comm id. ``visitor``
        is a share link's mode: the kernel then limits what the session's browser may
        change (``kernel/visitor.py``). ``page`` is the Bokeh session id the page asked
        for: a page that reconnects within the linger gets its detached session back.
        ``bundle`` is the app file itself, for a file-app kernel on a gateway."""
        comm_id = uuid.uuid4().hex
        self._routes[comm_id] = _Route(on_frame, on_close)
        data: dict[str, Any] = {"app": app, "arguments": arguments}
        if visitor is not None:
            data["visitor"] = visitor
        if file is not None:  # a file-app kernel: the app file this session runs
            data["file"] = file
        if page is not None:
            data["session_id"] = page
        buffers: list[bytes] = []
        if bundle is not None:  # the kernel is on a gateway: it gets the app, one buffer a file
            data["file"] = bundle.entry
            data["files"] = [name for name, _ in bundle.files]
            buffers = [content for _, content in bundle.files]
        self._send(
            "comm_open",
            {"comm_id": comm_id, "target_name": SESSION_TARGET, "data": data},
            buffers,
        )
        return comm_id

    def send(self, comm_id: str, frame: dict[str, Any], buffers: Sequence[Any]) -> None:
        self._send("comm_msg", {"comm_id": comm_id, "data": frame}, buffers)

    def close(self, comm_id: str) -> None:
        if self._routes.pop(comm_id, None) is not None:
            self._send("comm_close", {"comm_id": comm_id, "data": {}})

    def stop(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(Exception):
            self._transport.stop()


_relays: dict[str, KernelRelay] = {}


def relay_for(kernel_manager: Any, kernel_id: str) -> KernelRelay:
    """The relay of a running kernel (RelayError if the server has no such kernel)."""
    if kernel_id not in kernel_manager:
        raise RelayError(f"no running kernel {kernel_id}")
    relay = _relays.get(kernel_id)
    if relay is None or relay._pump.done():
        if GatewayClient.instance().gateway_enabled:  # the kernel runs on a kernel gateway
            transport: Any = GatewayTransport(kernel_id)
        else:
            km = kernel_manager.get_kernel(kernel_id)
            transport = ZmqTransport(km.client(session=relay_session(km.session)))
        relay = _relays[kernel_id] = KernelRelay(transport, kernel_id)
    return relay


#: jupyter_server's event for kernel actions (start, restart, shutdown, ...).
KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"


async def kernel_action(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
    """A kernel restarted or shut down: its sessions (and their documents) are gone, so
    their visitors' connections close now rather than hang. (jupyter_events calls this
    with keywords; an exception here would fail the kernel action itself.)"""
    try:
        relay = _relays.get(str(data.get("kernel_id")))
        if relay is None or data.get("status") != "success":
            return
        if data.get("action") == "restart":
            relay.end_all("the notebook kernel restarted")
        elif data.get("action") == "shutdown":
            relay.end_all("the notebook kernel shut down")
    except Exception:
        log.exception("bokeh_nb: could not end the sessions of kernel %s", data.get("kernel_id"))
