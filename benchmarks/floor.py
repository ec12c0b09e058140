"""The transport floor: the bytes of a kernel -> browser transfer over a bare tornado
websocket into the same Chromium, in the same run, and the same bytes fetched over plain
HTTP from the same server. No system that delivers into BokehJS over a websocket can be
faster than the first; the second shows whether another transport into this browser would
be faster. The other direction likewise: one float64 column sent from the page over the
bare websocket, until the server's short answer that it has every byte is back in the
page (a browser -> kernel transfer is timed until Python's answer is back). They put the
throughput ratios in context."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from playwright.sync_api import Browser
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.web import Application, RequestHandler
from tornado.websocket import WebSocketHandler

from tests.browser.jupyter import HOST

from .servers import free_port

__all__ = ("floor_server", "measure_floor")

PAGE_JS = """async ([url, sizes, uploadSizes]) => {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const out = [];
  for (const n of sizes) {
    let t0 = performance.now();
    const got = new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data.byteLength); });
    ws.send(String(n));
    const bytes = await got;
    out.push(['websocket', n, bytes, performance.now() - t0]);
    t0 = performance.now();
    const body = await (await fetch(`/bytes/${n}`, { cache: 'no-store' })).arrayBuffer();
    out.push(['http_fetch', n, body.byteLength, performance.now() - t0]);
  }
  // a connection that has carried a large message first, as a page's kernel connection
  // has by the time it is timed (a fresh TCP connection starts slow)
  const warm = Math.min(Math.max(0, ...uploadSizes), 1000000);
  if (warm > 0) {
    const got = new Promise((resolve) => { ws.onmessage = resolve; });
    ws.send(new Float64Array(warm).buffer);
    await got;
  }
  for (const n of uploadSizes) {
    const column = new Float64Array(n);
    for (let i = 0; i < n; i++) column[i] = i;
    await new Promise((resolve) => setTimeout(resolve, 200)); // as between the systems' turns
    const t0 = performance.now();
    const got = new Promise((resolve) => { ws.onmessage = (e) => resolve(Number(e.data)); });
    ws.send(column.buffer);
    const bytes = await got;
    out.push(['websocket_upload', n, bytes, performance.now() - t0]);
  }
  ws.close();
  return out;
}"""


class _Bytes(WebSocketHandler):
    """Answers "n" with one binary frame of the 16·n bytes of two float64 columns, and a
    binary frame with a text frame holding its length in bytes."""

    max_message_size = 2**31 - 1  # the upload floor sends a column of 10^7 values

    def open(self, *args: str, **kwargs: str) -> None:
        self.set_nodelay(True)

    def on_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self.write_message(str(len(message)))
        else:
            self.write_message(bytes(16 * int(message)), binary=True)


class _Fetch(RequestHandler):
    """GET /bytes/n: the same 16·n bytes as an HTTP response body."""

    def get(self, n: str) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Cache-Control", "no-store")
        self.write(bytes(16 * int(n)))


class _Page(RequestHandler):
    def get(self) -> None:
        self.write("<!DOCTYPE html><title>floor</title>")


@contextlib.contextmanager
def floor_server() -> Iterator[str]:
    """A tornado server on 127.0.0.1 in a thread of its own; yields its origin."""
    port = free_port()
    ready = threading.Event()
    state: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        app = Application(
            [("/", _Page), ("/ws", _Bytes), (r"/bytes/(\d+)", _Fetch)],
            log_function=lambda _handler: None,
        )
        server = HTTPServer(app)
        server.listen(port, HOST)
        state["loop"], state["server"] = IOLoop.current(), server
        ready.set()
        IOLoop.current().start()

    thread = threading.Thread(target=serve, name="floor", daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        loop: IOLoop = state["loop"]
        loop.add_callback(state["server"].stop)
        loop.add_callback(loop.stop)
        thread.join(10)


#: bytes per value of each transfer: two float64 columns toward the page, one from it
BYTES_PER_VALUE = {"websocket": 16, "http_fetch": 16, "websocket_upload": 8}


def measure_floor(
    browser: Browser, origin: str, sizes: list[int], upload_sizes: list[int] | None = None
) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per transfer, by transport (websocket, http_fetch toward the page;
    websocket_upload from it) and values per column, timed in the page."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(origin + "/")
        url = origin.replace("http://", "ws://") + "/ws"
        rows = page.evaluate(PAGE_JS, [url, sizes, upload_sizes or []])
    finally:
        context.close()
    out: dict[str, dict[str, list[float]]] = {}
    for transport, n, nbytes, ms in rows:
        assert nbytes == BYTES_PER_VALUE[transport] * n, (transport, n, nbytes)
        out.setdefault(transport, {}).setdefault(str(n), []).append(ms)
    return out
