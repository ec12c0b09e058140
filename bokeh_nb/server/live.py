"""A live app of a notebook kernel as a full-page Bokeh session on the Jupyter server.

``GET bokeh-nb/kernels/{kernel_id}/apps/{name}`` serves a page that loads BokehJS from this
server and opens ``.../ws``, which speaks Bokeh's own websocket protocol (ACK first, then
PULL-DOC / PATCH-DOC in 3 + 2N fragments), so stock BokehJS and ``bokeh.client`` work
against it. Each websocket is one new session of the app in that kernel, reached through
the server's client of that kernel (``kernelclient.KernelClient``). Both routes need a
Jupyter login allowed to execute in kernels. ``shares.py`` serves the same page and
websocket to share-link visitors.
"""

from __future__ import annotations

from asyncio import Future
from collections.abc import Mapping, Sequence
from typing import Any, cast
from urllib.parse import quote

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import _bokeh
from ..protocol import (
    ACKNOWLEDGE_KEY,
    KIND_BOKEH,
    KIND_ERROR,
    PACKED_ARG,
    STANDALONE_CLIENT,
    STATIC_ROUTE,
    TEMPLATE_ARG,
    TEMPLATE_MSGTYPE,
)
from ..wire import BokehFrame, ack_frame, bokeh_frame, frame_kind
from ._jupyter import websocket_open, websocket_stream
from .base import BokehNbHandler, may, refuse, shown
from .kernelclient import AppFiles, KernelClient, KernelUnavailable
from .limits import BoundedSocket, Limits, MessageGuard, Refused
from .pacing import Pacing, page_handled
from .page import write_app_page
from .state import state_of
from .staticdirs import static_dir_in_root
from .wsframes import Backlog, Payload, bokeh_parts, message_bytes, write_frames

__all__ = ("AppSocket", "LiveAppPage", "LiveAppWebSocket", "close_reason")


#: Query arguments that belong to Jupyter or BokehJS, not to the app.
RESERVED_ARGS = ("token", "bokeh-session-id", "bokeh-absolute-url", TEMPLATE_ARG, PACKED_ARG)
#: The most bytes of UTF-8 a websocket close frame carries as its reason (RFC 6455: 125
#: with the code; tornado raises beyond).
CLOSE_REASON_BYTES = 123


def close_reason(text: str) -> str:
    """text as the reason of a websocket close (an app file's page shows it): at most
    ``CLOSE_REASON_BYTES`` of UTF-8, cut at a character with an ellipsis."""
    data = text.encode("utf-8")
    if len(data) <= CLOSE_REASON_BYTES:
        return text
    return data[: CLOSE_REASON_BYTES - 3].decode("utf-8", "ignore") + "\u2026"


class LiveAppPage(BokehNbHandler):
    auth_resource = "kernels"

    @web.authenticated
    def get(self, kernel_id: str, name: str) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        if kernel_id not in self.kernel_manager:
            raise refuse(404, f"no running kernel {kernel_id}: it was shut down or restarted")
        base = self.base_url
        app_path = url_path_join(base, "bokeh-nb/kernels", kernel_id, "apps", quote(name, safe=""))
        write_app_page(self, name, app_path, url_path_join(base, STATIC_ROUTE))


class AppSocket(BoundedSocket, WebSocketMixin, WebSocketHandler, BokehNbHandler):
    """Bokeh's websocket protocol for one new session of a kernel's live app.

    Subclasses authorize the request in ``get`` and set ``kernel_id``, ``app_name`` and
    ``visitor`` (None for the notebook's own user, else a share link's mode) before
    calling ``super().get``. Every way out of a connection (a close, an aborted or reset
    TCP connection, an error while it opens, a write to a peer that is gone) ends in
    ``on_close``, once: subclasses give back there what they hold.
    """

    kernel_id = ""
    app_name = ""
    visitor: str | None = None
    file: str | None = None  # an app file, for a file-app kernel
    app_files: AppFiles | None = None  # the app file's content, for a file-app kernel on a gateway
    #: What may wait to be sent to a peer that does not read; beyond it, it is dropped.
    max_pending_bytes = 64 * 2**20
    _client: KernelClient | None = None
    _comm: str | None = None
    _receiver: Any = None
    _guard: MessageGuard | None = None
    #: whether the peer is bokeh_nb's app page, which shows the app's template
    _shows_template = False
    #: whether the peer asked for each Bokeh message packed into one (``PACKED_ARG``)
    _packed = False
    _pacing: Pacing | None = None
    _backlog: Backlog | None = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "bokeh" if "bokeh" in subprotocols else None

    @property
    def limits(self) -> Limits:
        return state_of(self.settings).limits(self.visitor)

    def describe(self) -> str:
        """This connection in log lines (never a credential)."""
        return f"app {shown(self.app_name)!r} of kernel {self.kernel_id}"

    async def open(self, *args: Any, **kwargs: Any) -> None:
        try:
            await self._start_session()
        except (WebSocketClosedError, StreamClosedError):  # the visitor left meanwhile
            self.on_connection_close()
        except Exception:
            self.log.exception("bokeh_nb: could not open a session of %s", self.describe())
            self.close(1011, "the session could not start")
            self.on_connection_close()

    async def _start_session(self) -> None:
        self.set_nodelay(True)
        self._backlog = Backlog(self.max_pending_bytes)
        self._make_room(0)  # one that stops reading is dropped
        self._guard = MessageGuard(self.limits, view_only=self.visitor == "view")
        self._receiver = _bokeh.websocket_receiver()
        self._shows_template = TEMPLATE_ARG in self.request.query_arguments
        self._packed = PACKED_ARG in self.request.query_arguments
        arguments = {
            k: [v.decode("utf-8", "replace") for v in vs]
            for k, vs in self.request.query_arguments.items()
            if k not in RESERVED_ARGS
        }
        try:
            client = self._client = await self.kernel_client()
        except KernelUnavailable as e:
            self.close(1011, shown(str(e), 120))
            self.on_connection_close()
            return
        if not websocket_open(self):
            self.on_connection_close()  # the visitor left while the kernel was made ready
            return
        self._write_texts(_bokeh.ack_fragments())
        pacing = self._pacing = Pacing(self._acknowledge)
        pacing.wrote(None, False, None)
        self._comm = client.open(
            self.app_name,
            arguments,
            self._from_kernel,
            self._kernel_closed,
            visitor=self.visitor,
            file=self.file,
            # BokehJS reconnects with the same token: the kernel gives it its session back
            session_id=_bokeh.page_session_id(self.request.headers.get("Sec-WebSocket-Protocol")),
            app_files=self.app_files,
        )

    async def kernel_client(self) -> KernelClient:
        """The server's client of this session's kernel (KernelUnavailable if it cannot
        be reached)."""
        return state_of(self.settings).kernels.get(self.kernel_id)

    async def on_message(self, fragment: str | bytes) -> None:
        if self._comm is None or self._guard is None or self._client is None:
            return
        count = page_handled(fragment) if isinstance(fragment, str) else None
        if count is not None and self._pacing is not None and self._guard.between_messages:
            self._pacing.handled(count)  # bokeh_nb's page: what it has handled
            return
        try:
            step = self._guard.admit(fragment)
        except Refused as e:
            self._refuse(e.code, e.reason)
            return
        if not step.forward:
            # a view-only page pans and zooms locally; nothing it sends reaches the kernel
            if step.reply_to is not None:
                self._write_texts(_bokeh.ok_fragments(step.reply_to))
                if self._pacing is not None:
                    self._pacing.wrote(None, False, None)
            return
        try:
            msg = await self._receiver.consume(fragment)
        except Exception as e:
            self._refuse(1003, "malformed Bokeh message", e)
            return
        if msg is None:
            return
        frame = bokeh_frame(
            msg.header,
            msg.metadata,
            msg.content_json,
            [str(b.id) for b in msg.buffers],
            client=STANDALONE_CLIENT,
        )
        if self._pacing is not None and (taken := self._pacing.ride_along()) is not None:
            frame["ack"] = taken  # what the peer has taken rides along, as a page's does
        self._client.send(self._comm, frame, [b.to_bytes() for b in msg.buffers])

    def _refuse(self, code: int, reason: str, error: Exception | None = None) -> None:
        """Close a connection that sent what it may not, with a short log line; what it
        sent of its message is let go at once."""
        detail = f": {shown(str(error))}" if error is not None else ""
        self.log.warning("bokeh_nb: closed %s: %s%s", self.describe(), reason, detail)
        self._receiver = self._guard = None
        self.close(code, reason[:120])

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        """End the connection; every reason is cut to what a close frame carries (tornado
        refuses one over 123 bytes of UTF-8, which 120 characters of text may be)."""
        super().close(code, None if reason is None else close_reason(reason))

    def _from_kernel(self, frame: Mapping[str, Any], buffers: Sequence[bytes | memoryview]) -> None:
        kind = frame_kind(frame)
        if kind == KIND_ERROR:
            text = shown(str(frame.get("text", "")), 300)
            self.log.warning("bokeh_nb: %s: %s", self.describe(), text)
            self.close(1011, text)
            return
        if kind != KIND_BOKEH:
            return
        if frame.get("header", {}).get("msgtype") == TEMPLATE_MSGTYPE:
            frame = self._template(frame)
            if not frame:
                return
        seq, ask = frame.get("seq"), frame.get("acknowledge") is True
        if self._pacing is not None and self._pacing.asks(ask):
            frame = {**frame, "metadata": {**frame.get("metadata", {}), ACKNOWLEDGE_KEY: True}}
        parts = bokeh_parts(cast(BokehFrame, frame), buffers)
        nbytes = message_bytes(parts, self._packed)
        self._make_room(nbytes)
        try:
            written = self._write_frames(parts)
        except (WebSocketClosedError, StreamClosedError):
            IOLoop.current().add_callback(self.on_connection_close)
            return
        except StreamBufferFullError:
            mib = self.max_pending_bytes // 2**20
            self.log.warning(
                "bokeh_nb: dropped %s: it read nothing while %d MiB waited for it",
                self.describe(),
                mib,
            )
            self._drop()
            return
        if self._backlog is not None:
            self._backlog.wrote(nbytes, written)
        if self._pacing is not None:
            self._pacing.wrote(seq if isinstance(seq, int) else None, ask, written)

    def _acknowledge(self, seq: int) -> None:
        """The peer has taken the kernel's frames up to seq (``pacing.py``): what it has
        not waits in the kernel, merged, and its session's callbacks wait for it, rather
        than queueing here and putting seconds of data ahead of every answer to it."""
        if self._comm is not None and self._client is not None:
            self._client.send(self._comm, ack_frame(STANDALONE_CLIENT, seq), [])

    def _template(self, frame: Mapping[str, Any]) -> Mapping[str, Any]:
        """The app's template, rendered in the kernel: a live app's static directory
        (which the metadata names) is noted for its page to load from; the page gets the
        rest, if it shows templates (a ``bokeh.client`` would not know the message)."""
        if self.file is None:
            static = frame.get("metadata", {}).get("static")
            directory = static_dir_in_root(self, static) if isinstance(static, str) else None
            state_of(self.settings).app_statics.record(self.kernel_id, self.app_name, directory)
        return {**frame, "metadata": {}} if self._shows_template else {}

    def _write_frames(self, parts: Sequence[tuple[Payload, bool]]) -> Future[None] | None:
        return write_frames(self, parts, self._packed)

    def _write_texts(self, fragments: Sequence[str]) -> None:
        """A Bokeh message of text fragments only (the ACK, an OK) the server makes itself."""
        self._write_frames([(f.encode(), False) for f in fragments])

    def _make_room(self, nbytes: int) -> None:
        """Let one message of ``nbytes`` go out on top of what may wait: a peer is dropped
        for not reading (``max_pending_bytes`` waiting beyond the largest message it is
        being sent, ``Backlog``), never for being sent one message larger than that, nor
        for reading it slowly."""
        stream = websocket_stream(self)
        if stream is not None and self._backlog is not None:
            stream.max_write_buffer_size = self._backlog.limit(nbytes)

    def _drop(self) -> None:
        """End a connection whose peer stopped reading: no close frame can reach it."""
        if (stream := websocket_stream(self)) is not None:
            stream.close()

    def _kernel_closed(self, reason: str) -> None:
        self._comm = None
        self.close(1001, shown(reason, 120))

    def on_close(self) -> None:
        """The connection is gone (called once, whichever way it went): its session in the
        kernel ends and what it sent of a message is let go."""
        self._receiver = self._guard = None
        if self._pacing is not None:
            self._pacing.close()
        if self._comm is not None and self._client is not None:
            comm, self._comm = self._comm, None
            self._client.close(comm)


class LiveAppWebSocket(AppSocket):
    auth_resource = "kernels"

    @ws_authenticated
    async def get(self, kernel_id: str, name: str) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, "no such kernel")
        self.kernel_id, self.app_name = kernel_id, name
        await super().get(kernel_id=kernel_id, name=name)
