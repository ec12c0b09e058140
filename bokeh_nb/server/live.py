"""A live app of a notebook kernel as a full-page Bokeh session on the Jupyter server.

``GET bokeh-nb/kernels/{kernel_id}/apps/{name}`` serves a page that loads BokehJS from this
server and opens ``.../ws``, which speaks Bokeh's own websocket protocol (ACK first, then
PULL-DOC / PATCH-DOC in 3 + 2N fragments), so stock BokehJS and ``bokeh.client`` work
against it. Each websocket is one new session of the app in that kernel, reached through
``relay.KernelRelay``. Both routes need a Jupyter login allowed to execute in kernels.
``shares.py`` serves the same page and websocket to share-link visitors.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Sequence
from typing import Any

from bokeh import __version__ as bokeh_version
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import _bokeh
from ..protocol import CORE_BUNDLES, KIND_BOKEH, KIND_ERROR, STATIC_ROUTE
from .base import BokehNbHandler, may, refuse
from .relay import Bundle, KernelRelay, RelayError, relay_for

__all__ = ("AppSocket", "LiveAppPage", "LiveAppWebSocket", "write_app_page")

#: Bytes a websocket frame adds to its payload (header and length), at most.
FRAME_OVERHEAD = 14
#: payloads up to this size are copied into one write with the frames around them
COALESCE_BYTES = 64 * 1024


def frame_header(length: int, binary: bool) -> bytes:
    """The header of one unmasked, unfragmented websocket message from a server (RFC 6455
    section 5.2): FIN and the opcode (text 0x1, binary 0x2), then the payload length."""
    first = 0x80 | (0x2 if binary else 0x1)
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


#: Query arguments that belong to Jupyter or BokehJS, not to the app.
RESERVED_ARGS = ("token", "bokeh-session-id", "bokeh-absolute-url")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
{scripts}
</head>
<body>
<div id="bokeh-nb-root"></div>
<script type="application/json" id="bokeh-nb-item">{item}</script>
<div id="bokeh-nb-problem" role="alert" hidden><p></p>
<button type="button" hidden>Reload to reconnect</button></div>
<script nonce="{nonce}">
(function () {{
  const item = JSON.parse(document.getElementById("bokeh-nb-item").textContent);
  const problem = document.getElementById("bokeh-nb-problem");
  const reload = problem.querySelector("button");
  reload.addEventListener("click", () => location.reload());
  // what went wrong, in the words of PROBLEMS (data-problem says which, for tests and styles)
  const show = (kind, ...parts) => {{
    problem.dataset.problem = kind;
    problem.querySelector("p").textContent = parts.join(" ");
    reload.hidden = kind !== "lost";
    problem.hidden = false;
  }};
  // a share link's path is its credential: never part of a message
  const shown = (url) => url.replace(/\\/bokeh-nb\\/s\\/[^/?#]+/, "/bokeh-nb/s/[link]");
  const bk = window.Bokeh && window.Bokeh[item.version];
  if (!bk) {{
    show("bokehjs", item.problems.bokehjs, shown(new URL(item.bokehjs, location.href).href) + ".",
         item.problems.proxy);
    return;
  }}
  const ws = new URL(item.app_path + "/ws", location.href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  // Did BokehJS's websocket ever open? If not, the app was never asked: the way there is
  // what failed (BokehJS reports both cases alike).
  let opened = false;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {{
    constructor(url, protocols) {{
      super(url, protocols);
      this.addEventListener("open", () => {{ opened = true; }});
    }}
  }};
  const failed = () => {{
    if (!opened) {{
      show("websocket", item.problems.websocket, shown(ws.href) + ".", item.problems.proxy);
    }} else {{
      show("app", item.problems.app);
    }}
  }};
  const before = new Set(bk.documents);
  bk.embed.embed_items({{}}, [item.render_item], item.app_path).then((views) => {{
    if (!views || views.length === 0) {{
      failed();
      return;
    }}
    for (const doc of bk.documents) {{
      if (before.has(doc)) continue;
      doc.on_event("connection_lost", () => show("lost", item.problems.lost));
      // BokehJS reconnected by itself (within the linger: to the same session)
      doc.on_event("client_reconnected", () => {{
        if (problem.dataset.problem === "lost") {{
          problem.hidden = true;
          delete problem.dataset.problem;
        }}
      }});
    }}
  }}, failed);
}})();
</script>
</body>
</html>
"""

#: What an app page says when it cannot show its app (``data-problem`` of the alert).
PROBLEMS = {
    "app": (
        "This app could not be opened: the notebook kernel may have been restarted, or it "
        "has no live app of this name. Run the notebook cells that make the app, then "
        "reload this page."
    ),
    "bokehjs": "BokehJS could not be loaded from",
    "websocket": "This page could not open its WebSocket connection to",
    "proxy": (
        "If Jupyter is behind a reverse proxy, the proxy may not forward WebSocket upgrades "
        "or its path prefix may differ from the Jupyter server's base_url: see "
        '"Reverse proxy (nginx)" in bokeh_nb\'s docs/deploying.md.'
    ),
    "lost": (
        "The connection to this app was lost: the Jupyter server, the app's kernel or the "
        "network went away. This page tries to reconnect by itself and, back within the "
        "session's linger, finds its session as it left it. Reload the page to reconnect "
        "(a new session of the app) if it does not."
    ),
}


#: An app page loads scripts and styles from this server only and talks to it only; its
#: one inline script carries a nonce, so HTML an app shows (a Div's text) runs no script.
#: ('unsafe-eval' is BokehJS's CustomJS.)
APP_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'nonce-{nonce}' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)


def write_app_page(handler: JupyterHandler, title: str, app_path: str, bundles: str) -> None:
    """A page that loads BokehJS from ``bundles/{version}/`` and opens ``app_path/ws``."""
    nonce = secrets.token_urlsafe(16)
    item = {
        "version": bokeh_version,
        "app_path": app_path,
        "bokehjs": url_path_join(bundles, bokeh_version, "bokeh.min.js"),
        "problems": PROBLEMS,
        "render_item": {
            "token": _bokeh.new_session_token(),
            "elementid": "bokeh-nb-root",
            "use_for_title": True,
        },
    }
    scripts = "\n".join(
        f'<script src="{html.escape(url_path_join(bundles, bokeh_version, b + ".min.js"))}">'
        "</script>"
        for b in CORE_BUNDLES
    )
    body = PAGE.format(
        nonce=nonce,
        title=html.escape(title),
        scripts=scripts,
        item=json.dumps(item).replace("</", "<\\/"),
    )
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Security-Policy", APP_PAGE_CSP.format(nonce=nonce))
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.finish(body)


class LiveAppPage(BokehNbHandler):
    auth_resource = "kernels"

    @web.authenticated
    def get(self, kernel_id: str, name: str) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        if kernel_id not in self.kernel_manager:
            raise refuse(404, f"no running kernel {kernel_id}: it was shut down or restarted")
        base = self.base_url
        app_path = url_path_join(base, "bokeh-nb/kernels", kernel_id, "apps", name)
        write_app_page(self, name, app_path, url_path_join(base, STATIC_ROUTE))


class AppSocket(WebSocketMixin, WebSocketHandler, BokehNbHandler):
    """Bokeh's websocket protocol for one new session of a kernel's live app.

    Subclasses authorize the request in ``get`` and set ``kernel_id``, ``app_name`` and
    ``visitor`` (None for the notebook's own user, else a share link's mode) before
    calling ``super().get``.
    """

    kernel_id = ""
    app_name = ""
    visitor: str | None = None
    file: str | None = None  # an app file, for a file-app kernel
    bundle: Bundle | None = None  # the app file's content, for a file-app kernel on a gateway
    #: What may wait to be sent to a peer that does not read; beyond it, it is dropped.
    max_pending_bytes = 64 * 2**20
    _comm: str | None = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "bokeh" if "bokeh" in subprotocols else None

    def describe(self) -> str:
        """This connection in log lines (never a credential)."""
        return f"app {self.app_name!r} of kernel {self.kernel_id}"

    async def open(self, *args: Any, **kwargs: Any) -> None:
        self.set_nodelay(True)
        stream = self.ws_connection.stream if self.ws_connection is not None else None
        if stream is not None:  # a visitor that stops reading is dropped, see _from_kernel
            stream.max_write_buffer_size = self.max_pending_bytes
        self._receiver = _bokeh.websocket_receiver()
        arguments = {
            k: [v.decode("utf-8", "replace") for v in vs]
            for k, vs in self.request.query_arguments.items()
            if k not in RESERVED_ARGS
        }
        try:
            self._relay = await self.connect_relay()
        except RelayError as e:
            self.close(1011, str(e)[:120])
            return
        if self.ws_connection is None:  # the visitor left while the kernel was made ready
            self.on_close()
            return
        for fragment in _bokeh.ack_fragments():
            self.write_message(fragment)
        self._comm = self._relay.open(
            self.app_name,
            arguments,
            self._from_kernel,
            self._kernel_closed,
            self.visitor,
            self.file,
            # BokehJS reconnects with the same token: the kernel gives it its session back
            _bokeh.page_session_id(self.request.headers.get("Sec-WebSocket-Protocol")),
            self.bundle,
        )

    async def connect_relay(self) -> KernelRelay:
        """The relay to the kernel of this session (RelayError if it cannot be reached)."""
        return relay_for(self.kernel_manager, self.kernel_id)

    async def on_message(self, fragment: str | bytes) -> None:
        if self._comm is None:
            return
        try:
            msg = await self._receiver.consume(fragment)
        except Exception as e:
            self.log.warning("bokeh_nb: malformed Bokeh message for %s: %s", self.describe(), e)
            self.close(1003, "malformed Bokeh message")
            return
        if msg is None:
            return
        if self.visitor == "view" and msg.header.get("msgtype") != "PULL-DOC-REQ":
            # a view-only page pans and zooms locally; nothing it sends reaches the kernel
            for reply in _bokeh.ok_fragments(msg.header["msgid"]):
                self.write_message(reply)
            return
        frame = {
            "kind": KIND_BOKEH,
            "client": "ws",
            "header": msg.header,
            "metadata": msg.metadata,
            "content": msg.content_json,
            "buffers": [str(b.id) for b in msg.buffers],
        }
        self._relay.send(self._comm, frame, [b.to_bytes() for b in msg.buffers])

    def _from_kernel(self, frame: dict[str, Any], buffers: Sequence[bytes | memoryview]) -> None:
        kind = frame.get("kind")
        if kind == KIND_ERROR:
            self.log.warning("bokeh_nb: %s: %s", self.describe(), frame.get("text"))
            self.close(1011, str(frame.get("text", ""))[:120])
            return
        if kind != KIND_BOKEH:
            return
        texts = [json.dumps(frame["header"]), json.dumps(frame["metadata"]), frame["content"]]
        parts = [(t.encode(), False) for t in texts]
        for buffer_id, payload in zip(frame.get("buffers", []), buffers, strict=False):
            parts += [(json.dumps({"id": buffer_id}).encode(), False), (bytes(payload), True)]
        self._make_room(sum(len(data) + FRAME_OVERHEAD for data, _ in parts))
        try:
            self._write_frames(parts)
        except (WebSocketClosedError, StreamClosedError):
            pass
        except StreamBufferFullError:
            mib = self.max_pending_bytes // 2**20
            self.log.warning(
                "bokeh_nb: dropped %s: it read nothing while %d MiB waited for it",
                self.describe(),
                mib,
            )
            self._drop()

    def _write_frames(self, parts: list[tuple[bytes, bool]]) -> None:
        """The websocket messages of one Bokeh message, in as few writes as possible: one
        for all but the payloads over ``COALESCE_BYTES`` (each of which goes as it is).
        tornado's ``write_message`` writes each at once (a syscall and, with
        TCP_NODELAY, a TCP segment each: 7 for a stream of two columns); under a stream
        of small patches those writes were a quarter of the server's main thread
        (``benchmarks/results/PROFILE.md``). With permessage-deflate, tornado frames them."""
        conn = self.ws_connection
        stream = getattr(conn, "stream", None)
        if conn is None or stream is None or conn.is_closing():
            raise WebSocketClosedError()
        if getattr(conn, "_compressor", None) is not None:
            for data, binary in parts:
                self.write_message(data, binary=binary)
            return
        pending = bytearray()
        for data, binary in parts:
            pending += frame_header(len(data), binary)
            if len(data) <= COALESCE_BYTES:
                pending += data
            else:
                stream.write(bytes(pending))
                pending.clear()
                stream.write(data)
        if pending:
            stream.write(bytes(pending))

    def _make_room(self, nbytes: int) -> None:
        """Let one message of ``nbytes`` go out on top of what may wait: a peer is dropped
        for not reading (``max_pending_bytes`` already waiting), never for sending one
        message larger than that (a column of 10^7 float64 is 80 MB)."""
        stream = self.ws_connection.stream if self.ws_connection is not None else None
        if stream is not None:
            stream.max_write_buffer_size = self.max_pending_bytes + nbytes

    def _drop(self) -> None:
        """End a connection whose peer stopped reading: no close frame can reach it."""
        stream = self.ws_connection.stream if self.ws_connection is not None else None
        if stream is not None:
            stream.close()

    def _kernel_closed(self, reason: str) -> None:
        self._comm = None
        self.close(1001, reason[:120])

    def on_close(self) -> None:
        if self._comm is not None:
            self._relay.close(self._comm)
            self._comm = None


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
