"""What the server extension relies on of jupyter_server and tornado beyond their public
API, all here: each function or class says what it uses, checked against jupyter_server
2.21.1 and tornado 6.6.1. The rest of ``server/`` uses their public names only.

- the TCP stream under a tornado websocket, and whether it compresses (``wsframes.py``
  writes Bokeh's websocket messages onto it itself; a peer that stops reading is cut);
- tornado's summary of a request in its own log lines (without credentials here);
- the class jupyter_server makes the connection of each notebook page's kernel websocket
  from (``kernel_websocket_connection_class``), extended for bokeh_nb: TCP_NODELAY,
  notebook pages skip the standalone sessions' iopub traffic (``pagefilter.py``), large
  kernel messages reach a page without two copies of them (``wsframes.py``), comm
  messages from a page count as kernel activity (``commstatus.py``), and binary frames
  pass the kernel-gateway proxy unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tornado import web
from tornado.iostream import IOStream
from tornado.websocket import WebSocketClientConnection, WebSocketHandler
from traitlets import Any as AnyTrait

from .commstatus import is_page_activity
from .logfilter import redact
from .pagefilter import is_relay_traffic

__all__ = (
    "LogScrubbing",
    "compresses",
    "kernel_connection_class",
    "websocket_closed",
    "websocket_open",
    "websocket_stream",
)


# ---- tornado's websocket ------------------------------------------------------------------


def websocket_stream(handler: WebSocketHandler) -> IOStream | None:
    """The TCP stream under ``handler``'s websocket, None once the connection is gone.
    (tornado's ``WebSocketProtocol13.stream``, behind ``handler.ws_connection``.)"""
    connection = handler.ws_connection
    return connection.stream if connection is not None else None


def websocket_open(handler: WebSocketHandler) -> bool:
    """Whether ``handler``'s websocket is open and not closing (tornado's
    ``ws_connection.is_closing()``)."""
    connection = handler.ws_connection
    return connection is not None and not connection.is_closing()


def websocket_closed(handler: WebSocketHandler) -> bool:
    """Whether ``handler``'s websocket is gone (tornado drops its ``ws_connection`` once
    closed, however it ended)."""
    return handler.ws_connection is None


def compresses(handler: WebSocketHandler) -> bool:
    """Whether ``handler``'s websocket negotiated permessage-deflate (tornado's
    ``WebSocketProtocol13._compressor``): then tornado must frame what it sends."""
    return getattr(handler.ws_connection, "_compressor", None) is not None


# ---- tornado's request log ----------------------------------------------------------------


class LogScrubbing(web.RequestHandler):
    """Tornado names the request in its warning for every HTTPError (its
    ``RequestHandler._request_summary``): here without credentials."""

    def _request_summary(self) -> str:
        return f"{self.request.method} {redact(self.request.uri or '')} ({self.request.remote_ip})"


# ---- jupyter_server's kernel websocket connection -----------------------------------------


#: what writes a large kernel message to a page itself (``wsframes.write_kernel_message``):
#: (the page's websocket, the channel, the message's parts after the signature) -> whether
#: it did
WriteLarge = Callable[[WebSocketHandler, str, Sequence[bytes]], bool]
#: jupyter_server's binary kernel websocket protocol
KERNEL_WS_V1 = "v1.kernel.websocket.jupyter.org"


def kernel_connection_class(
    base: type[Any] | None,
    *,
    gateway: bool,
    comm_activity: bool,
    nodelay: bool,
    write_large: WriteLarge | None = None,
) -> type[Any] | None:
    """jupyter_server's kernel websocket connection class ``base`` (the server's
    ``kernel_websocket_connection_class``: ``ZMQChannelsWebsocketConnection`` for local
    kernels, ``GatewayWebSocketConnection`` with ``gateway``), subclassed with what
    bokeh_nb adds (see the module's text); ``comm_activity`` and ``nodelay`` are
    ``BokehNb.untrack_comm_status`` and ``BokehNb.tcp_nodelay``; ``write_large`` writes
    a local kernel's large messages to a page on the v1 protocol. Overrides their
    ``connect``, ``handle_incoming_message``, ``handle_outgoing_message`` and
    ``_on_zmq_reply``, and the gateway connection's ``_connection_done`` and ``ws``."""
    if base is None or getattr(base, "_bokeh_nb", False):
        return base  # (extended already)
    cls = base
    if gateway:
        cls = _binary_gateway(cls)
    elif hasattr(cls, "handle_outgoing_message"):
        cls = _without_relay_traffic(cls, write_large)
        if comm_activity:  # what the page sends still counts as activity
            cls = _with_comm_activity(cls)
    if nodelay:
        cls = _with_nodelay(cls)
    if cls is not base:
        cls._bokeh_nb = True
    return cls


def _named(cls: type[Any], name: str) -> type[Any]:
    cls.__name__ = cls.__qualname__ = name
    return cls


def _with_nodelay(base: type[Any]) -> type[Any]:
    """tornado leaves Nagle's algorithm on, and small messages (a slider value, its reply)
    then meet delayed ACKs: about 40 ms added to every round trip. Sets TCP_NODELAY on
    the page's socket as the connection opens."""

    class NoDelayConnection(base):  # type: ignore[misc]
        def connect(self) -> Any:
            self.websocket_handler.set_nodelay(True)
            return super().connect()

    return _named(NoDelayConnection, f"NoDelay{base.__name__}")


def _without_relay_traffic(base: type[Any], write_large: WriteLarge | None) -> type[Any]:
    """The ZMQ connection (``handle_outgoing_message(stream, msg_list)``) does not forward
    the iopub messages of standalone sessions to the page, and hands a message on the v1
    protocol (``_on_zmq_reply(stream, parts)``, parts after the signature) to
    ``write_large`` first."""

    class PageConnection(base):  # type: ignore[misc]
        def handle_outgoing_message(self, stream: Any, outgoing_msg: list[Any]) -> None:
            channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
            if channel == "iopub":
                _, parts = self.session.feed_identities(outgoing_msg)
                if is_relay_traffic(parts[1:]):  # after the signature
                    return
            super().handle_outgoing_message(stream, outgoing_msg)

        def _on_zmq_reply(self, stream: Any, msg_list: Any) -> None:
            if (
                write_large is not None
                and self.subprotocol == KERNEL_WS_V1
                and isinstance(msg_list, list)
                and not stream.closed()
                and write_large(self.websocket_handler, getattr(stream, "channel", ""), msg_list)
            ):
                return
            super()._on_zmq_reply(stream, msg_list)

    return _named(PageConnection, f"BokehNbPage{base.__name__}")


def _with_comm_activity(base: type[Any]) -> type[Any]:
    """The ZMQ connection records kernel activity (the kernel's ``last_activity`` and the
    kernel manager's ``last_kernel_activity``, as jupyter_server does for tracked
    messages) for each comm message the page sends (``handle_incoming_message``)."""

    class CommActivityConnection(base):  # type: ignore[misc]
        def handle_incoming_message(self, incoming_msg: Any) -> None:
            if is_page_activity(incoming_msg, self.subprotocol):
                now = datetime.now(UTC)
                self.kernel_manager.last_activity = now
                self.multi_kernel_manager.last_kernel_activity = now
            super().handle_incoming_message(incoming_msg)

    return _named(CommActivityConnection, f"CommActivity{base.__name__}")


class _Frames:
    """The gateway websocket as the proxy reads it: binary frames as ``bytearray``, which
    the proxy passes on instead of decoding them as text."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self._ws = ws

    async def read_message(self) -> str | bytearray | None:
        message = await self._ws.read_message()
        return bytearray(message) if isinstance(message, bytes) else message

    def write_message(self, message: str | bytes) -> Any:
        return self._ws.write_message(message, binary=isinstance(message, bytes | bytearray))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


def _refused_by_the_page(handler: WebSocketHandler) -> bool:
    """Whether the page will drop this websocket as soon as it opens: it offered
    subprotocols and the proxy chose none (jupyter_server's gateway connection keeps pages
    on the legacy protocol). JupyterLab then connects again without any. A gateway
    connection opened for the doomed one would reach the gateway late, under the page's
    session id, and the gateway would close the page's next connection as stale: the page
    then waits for a kernel status that never comes."""
    offered = handler.request.headers.get("Sec-WebSocket-Protocol")
    return bool(offered) and not handler.selected_subprotocol


def _binary_gateway(base: type[Any]) -> type[Any]:
    """jupyter_server proxies a page's kernel websocket to the gateway as text: it decodes
    every frame from the gateway as UTF-8, so a message with binary buffers (bokeh_nb's
    arrays) ends the connection. This connection passes binary frames through unchanged,
    both ways (Jupyter's websocket protocol sends messages with buffers as binary frames;
    see ``serialize_binary_message``): its ``ws`` reads them as ``bytearray``, which
    ``handle_outgoing_message`` writes to the page as they are."""

    class BinaryGatewayConnection(base):  # type: ignore[misc]
        ws = AnyTrait(allow_none=True)

        async def connect(self) -> None:
            if _refused_by_the_page(self.websocket_handler):
                self.log.debug("bokeh_nb: a kernel websocket without its subprotocol, skipped")
                return
            await super().connect()

        def _connection_done(self, fut: Any) -> None:
            super()._connection_done(fut)
            if self.disconnected and not fut.cancelled() and fut.exception() is None:
                fut.result().close()  # the page left while it connected: do not leave it open
            if self.ws is not None and not isinstance(self.ws, _Frames):
                self.ws = _Frames(self.ws)

        def handle_outgoing_message(self, incoming_msg: Any, *args: Any) -> None:
            if isinstance(incoming_msg, bytearray):
                try:
                    self.websocket_handler.write_message(bytes(incoming_msg), binary=True)
                except Exception:  # the page went away: as the text path does, drop it
                    self.log.debug("bokeh_nb: page closed, binary kernel message dropped")
                return
            super().handle_outgoing_message(incoming_msg, *args)

    return _named(BinaryGatewayConnection, f"Binary{base.__name__}")
