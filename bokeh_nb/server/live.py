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
from urllib.parse import quote

from bokeh import __version__ as bokeh_version
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop
from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .. import _bokeh
from ..protocol import CORE_BUNDLES, KIND_BOKEH, KIND_ERROR, STATIC_ROUTE
from .base import BokehNbHandler, may, refuse, shown
from .limits import BoundedSocket, MessageGuard, Refused
from .relay import Bundle, KernelRelay, RelayError, relay_for
from .wsframes import COALESCE_BYTES, FRAME_OVERHEAD, bokeh_parts, frame_header, write_frames

__all__ = (
    "COALESCE_BYTES",
    "AppSocket",
    "LiveAppPage",
    "LiveAppWebSocket",
    "frame_header",
    "write_app_page",
)


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
    # JSON as the text of a <script> element: with no "<" (no "</script>", "<!--" or
    # "<script" to move the HTML parser out of it), ">" or "&", nor the line separators
    # that end a line of JavaScript
    data = json.dumps(item).translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})
    body = PAGE.format(nonce=nonce, title=html.escape(title), scripts=scripts, item=data)
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
    bundle: Bundle | None = None  # the app file's content, for a file-app kernel on a gateway
    #: What may wait to be sent to a peer that does not read; beyond it, it is dropped.
    max_pending_bytes = 64 * 2**20
    _comm: str | None = None
    _receiver: Any = None
    _guard: MessageGuard | None = None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return "bokeh" if "bokeh" in subprotocols else None

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
        if (stream := self._stream()) is not None:  # a visitor that stops reading is dropped
            stream.max_write_buffer_size = self.max_pending_bytes
        self._guard = MessageGuard(self.limits, view_only=self.visitor == "view")
        self._receiver = _bokeh.websocket_receiver()
        arguments = {
            k: [v.decode("utf-8", "replace") for v in vs]
            for k, vs in self.request.query_arguments.items()
            if k not in RESERVED_ARGS
        }
        try:
            self._relay = await self.connect_relay()
        except RelayError as e:
            self.close(1011, shown(str(e), 120))
            self.on_connection_close()
            return
        if self.ws_connection is None or self.ws_connection.is_closing():
            self.on_connection_close()  # the visitor left while the kernel was made ready
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
        if self._comm is None or self._guard is None:
            return
        try:
            step = self._guard.admit(fragment)
        except Refused as e:
            self._refuse(e.code, e.reason)
            return
        if not step.forward:
            # a view-only page pans and zooms locally; nothing it sends reaches the kernel
            if step.reply_to is not None:
                for reply in _bokeh.ok_fragments(step.reply_to):
                    self.write_message(reply)
            return
        try:
            msg = await self._receiver.consume(fragment)
        except Exception as e:
            self._refuse(1003, "malformed Bokeh message", e)
            return
        if msg is None:
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

    def _refuse(self, code: int, reason: str, error: Exception | None = None) -> None:
        """Close a connection that sent what it may not, with a short log line; what it
        sent of its message is let go at once."""
        detail = f": {shown(str(error))}" if error is not None else ""
        self.log.warning("bokeh_nb: closed %s: %s%s", self.describe(), reason, detail)
        self._receiver = self._guard = None
        self.close(code, reason[:120])

    def _from_kernel(self, frame: dict[str, Any], buffers: Sequence[bytes | memoryview]) -> None:
        kind = frame.get("kind")
        if kind == KIND_ERROR:
            text = shown(str(frame.get("text", "")), 300)
            self.log.warning("bokeh_nb: %s: %s", self.describe(), text)
            self.close(1011, text[:120])
            return
        if kind != KIND_BOKEH:
            return
        parts = bokeh_parts(frame, buffers)
        self._make_room(sum(len(data) + FRAME_OVERHEAD for data, _ in parts))
        try:
            self._write_frames(parts)
        except (WebSocketClosedError, StreamClosedError):
            IOLoop.current().add_callback(self.on_connection_close)
        except StreamBufferFullError:
            mib = self.max_pending_bytes // 2**20
            self.log.warning(
                "bokeh_nb: dropped %s: it read nothing while %d MiB waited for it",
                self.describe(),
                mib,
            )
            self._drop()

    def _write_frames(self, parts: list[tuple[bytes, bool]]) -> None:
        write_frames(self, parts)

    def _make_room(self, nbytes: int) -> None:
        """Let one message of ``nbytes`` go out on top of what may wait: a peer is dropped
        for not reading (``max_pending_bytes`` already waiting), never for sending one
        message larger than that (a column of 10^7 float64 is 80 MB)."""
        if (stream := self._stream()) is not None:
            stream.max_write_buffer_size = self.max_pending_bytes + nbytes

    def _drop(self) -> None:
        """End a connection whose peer stopped reading: no close frame can reach it."""
        if (stream := self._stream()) is not None:
            stream.close()

    def _stream(self) -> Any:
        return self.ws_connection.stream if self.ws_connection is not None else None

    def _kernel_closed(self, reason: str) -> None:
        self._comm = None
        self.close(1001, shown(reason, 120))

    def on_close(self) -> None:
        """The connection is gone (called once, whichever way it went): its session in the
        kernel ends and what it sent of a message is let go."""
        self._receiver = self._guard = None
        if self._comm is not None:
            comm, self._comm = self._comm, None
            self._relay.close(comm)


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
