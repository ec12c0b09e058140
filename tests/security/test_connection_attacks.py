"""What one connection can cost the Jupyter server, tried as an attacker would: raw
websockets and raw TCP against a real ``jupyter lab`` (with ``census.py`` loaded, to
count from inside the server what is still alive).

- A visitor cannot make the server hold more than a bounded message: a header announcing
  10^9 buffers, a ``view`` visitor's binary buffers, or too many bytes for one message
  close that connection at once, before the bytes are buffered; 200 such connections
  leave no handler alive and the server's memory where it was.
- Every way out of an app file's connection (here: the TCP connection closed at once)
  gives its kernel back; the file-app kernels have a bound for the whole server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from tests.browser.bokeh import create_share
from tests.browser.jupyter import JupyterServer, _marked_pids
from tests.browser.wsclient import BokehSocket, in_thread
from tests.security.servers import (
    APP_FILE,
    census_server,
    start_live_app,
    wait_census,
)

MIB = 2**20
#: the most app file sessions this server runs at once (all users together)
TOTAL = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("connection_attacks")
    args = ["--BokehNb.file_app_max_per_user=10", f"--BokehNb.file_app_max_total={TOTAL}"]
    with census_server(base, args) as srv:
        (srv.root_dir / "app.py").write_text(APP_FILE)
        yield srv


@pytest.fixture(scope="module")
def app(server: JupyterServer) -> dict[str, str]:
    """websocket URLs of the live app ``sliders``: the author's and two share links'."""
    kernel_id = start_live_app(server)
    view = create_share(server, kernel_id, "sliders", "view")
    interact = create_share(server, kernel_id, "sliders", "interact")
    return {
        "author": f"{server.ws_origin}/bokeh-nb/kernels/{kernel_id}/apps/sliders/ws"
        f"?token={server.token}",
        "view": server.ws_origin + view["path"] + "/ws",
        "interact": server.ws_origin + interact["path"] + "/ws",
    }


async def connect(url: str, origin: str) -> WebSocketClientConnection:
    conn = await websocket_connect(
        HTTPRequest(url, headers={"Origin": origin}), subprotocols=["bokeh", "x"]
    )
    first = await asyncio.wait_for(conn.read_message(), 60)
    assert first is not None and json.loads(first)["msgtype"] == "ACK", first
    for _ in range(2):  # the ACK's metadata and content
        await conn.read_message()
    return conn


async def feed(conn: WebSocketClientConnection, fragments: list[str | bytes]) -> tuple[int, bool]:
    """Send ``fragments`` until the server closes: how many it took, and whether the
    server closed the connection (within 10 s of the last)."""
    closed = asyncio.ensure_future(_until_closed(conn))
    sent = 0
    for fragment in fragments:
        await asyncio.sleep(0.05)  # the server's answer to the last one, if any, arrives
        if closed.done():
            break
        try:
            await conn.write_message(fragment, binary=isinstance(fragment, bytes))
        except Exception:  # closed meanwhile
            break
        sent += 1
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(closed), 10)
    closed.cancel()
    return sent, closed.done() and not closed.cancelled()


async def _until_closed(conn: WebSocketClientConnection) -> None:
    while await conn.read_message() is not None:
        pass


def header(msgtype: str = "PATCH-DOC", num_buffers: int = 0) -> str:
    return json.dumps({"msgid": "m1", "msgtype": msgtype, "num_buffers": num_buffers})


def buffers(n: int, size: int) -> list[str | bytes]:
    out: list[str | bytes] = []
    for i in range(n):
        out += [json.dumps({"id": str(i)}), bytes(size)]
    return out


def attack(url: str, origin: str, fragments: list[str | bytes]) -> tuple[int, bool, int | None]:
    """(fragments sent before the server closed, whether it closed, its close code: None
    if it sent none, as tornado when a websocket message is over its bound)."""

    async def run() -> tuple[int, bool, int | None]:
        conn = await connect(url, origin)
        sent, closed = await feed(conn, fragments)
        code = conn.close_code
        conn.close()
        return sent, closed, code

    result: tuple[int, bool, int | None] = in_thread(run, timeout=120)
    return result


@pytest.mark.parametrize(
    ("who", "fragments", "at_most"),
    [
        # 10^9 buffers announced: refused on the header, nothing after it is read
        ("view", [header(num_buffers=10**9), "{}", "{}", *buffers(4, 8 * MIB)], 1),
        ("interact", [header(num_buffers=10**9), "{}", "{}", *buffers(4, 8 * MIB)], 1),
        ("author", [header(num_buffers=10**9), "{}", "{}", *buffers(4, 8 * MIB)], 1),
        # a view-only page sends no binary buffers
        ("view", [header(num_buffers=1), "{}", "{}", *buffers(1, 1024)], 1),
        # a visitor's message is bounded in bytes, counted as its frames arrive
        ("interact", [header(num_buffers=8), "{}", "{}", *buffers(8, 8 * MIB)], 10),
        ("view", [header("PULL-DOC-REQ"), "{}", "x" * (5 * MIB)], 3),
    ],
)
def test_an_oversized_message_closes_its_connection_at_once(
    server: JupyterServer, app: dict[str, str], who: str, fragments: list[Any], at_most: int
) -> None:
    sent, closed, code = attack(app[who], server.origin, fragments)
    assert closed, f"{who}: still open after {sent} fragments"
    assert code in (None, 1008, 1009), f"{who}: closed with {code}, not for its size"
    assert sent <= at_most, f"{who}: the server took {sent} fragments before closing"
    # and the app goes on for everyone, this visitor included
    assert_app_answers(server, app[who])


def assert_app_answers(server: JupyterServer, url: str) -> None:
    async def pull() -> str:
        sock = await BokehSocket.connect(url, {"Origin": server.origin})
        try:
            msgtype, _ = await sock.request("PULL-DOC-REQ", {})
            return msgtype
        finally:
            await sock.close()

    assert in_thread(pull) == "PULL-DOC-REPLY"


def test_dropped_connections_free_everything(server: JupyterServer, app: dict[str, str]) -> None:
    """200 visitors drop their TCP connection in the middle of a message: view visitors
    after announcing 10^9 buffers and sending 8 MiB ones, interact visitors after 12 MiB of
    a message within their bounds (held until then). Afterwards no handler is alive and
    the server's memory is where it was."""
    attacks = [
        ("view", [header(num_buffers=10**9), "{}", "{}", *buffers(2, 8 * MIB)]),
        ("interact", [header(num_buffers=8), "{}", "{}", *buffers(2, 6 * MIB)]),
    ]

    async def one(i: int) -> None:
        who, fragments = attacks[i % 2]
        conn = await connect(app[who], server.origin)
        closed = asyncio.ensure_future(_until_closed(conn))
        for fragment in fragments:
            await asyncio.sleep(0.01)
            if closed.done():
                break
            try:
                await conn.write_message(fragment, binary=isinstance(fragment, bytes))
            except Exception:
                break
        closed.cancel()
        stream = conn.protocol.stream if conn.protocol is not None else None
        if stream is not None:
            stream.close()  # dropped: no close handshake
        conn.close()

    async def many(n: int, at_once: int = 10) -> None:
        for start in range(0, n, at_once):
            await asyncio.gather(*(one(start + i) for i in range(min(at_once, n - start))))

    in_thread(lambda: many(20), timeout=110)  # warm-up: what the first ones allocate for good
    before = wait_census(server, "sockets", 0)
    start = time.monotonic()
    in_thread(lambda: many(200), timeout=110)
    during = time.monotonic() - start
    after = wait_census(server, "sockets", 0, timeout=30)
    print(
        f"\n200 dropped connections in {during:.1f} s: server RSS "
        f"{before['rss_mb']:.1f} MB before, {after['rss_mb']:.1f} MB after; "
        f"handlers alive after: {after['sockets']}"
    )
    assert after["sockets"] == 0, f"{after['sockets']} closed handlers still alive"
    assert after["rss_mb"] - before["rss_mb"] < 8, (before, after)


# ------------------------------------------------------------------ app file kernels


def raw_upgrade(server: JupyterServer, path: str) -> None:
    """A websocket upgrade of ``path`` whose TCP connection closes as soon as it is sent."""
    request = (
        f"GET {path}?token={server.token} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: bokeh, x\r\n"
        f"Origin: {server.origin}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def kernels(server: JupyterServer) -> int:
    assert server.proc is not None
    return len([p for p in _marked_pids(server.marker) if p != server.proc.pid])


def wait_kernels(server: JupyterServer, at_most: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while (n := kernels(server)) > at_most and time.monotonic() < deadline:
        time.sleep(0.5)
    return n


FILE_WS = "/bokeh-nb/files/app.py/ws"


def test_aborted_file_app_connections_give_their_kernels_back(
    server: JupyterServer, app: dict[str, str]
) -> None:
    assert_file_app_opens(server)  # the pool is warm, a live app's kernel runs
    assert wait_census(server, "file_sessions", 0)["file_sessions"] == 0
    idle = kernels(server)
    for _ in range(6):  # more than the server-wide bound
        raw_upgrade(server, FILE_WS)
        time.sleep(1.5)
    left = wait_census(server, "file_sessions", 0, timeout=60)["file_sessions"]
    assert left == 0, f"{left} app file sessions still hold a kernel after their visitor left"
    running = wait_kernels(server, idle)
    assert running <= idle, f"{running - idle} app file kernels still running"
    assert_file_app_opens(server)  # no 429, no 503


def assert_file_app_opens(server: JupyterServer) -> None:
    url = f"{server.ws_origin}{FILE_WS}?token={server.token}"

    async def pull() -> str:
        sock = await BokehSocket.connect(url)
        try:
            return (await sock.request("PULL-DOC-REQ", {}))[0]
        finally:
            await sock.close()

    assert in_thread(pull, timeout=120) == "PULL-DOC-REPLY"


def test_file_app_kernels_have_a_server_wide_bound(server: JupyterServer) -> None:
    url = f"{server.ws_origin}{FILE_WS}?token={server.token}"
    # a session closed by the test before counts until its kernel has stopped
    assert wait_census(server, "file_sessions", 0, timeout=60)["file_sessions"] == 0

    async def run() -> tuple[int, str]:
        held: list[BokehSocket] = []
        try:
            for _ in range(TOTAL):
                held.append(await BokehSocket.connect(url))
            try:
                extra = await BokehSocket.connect(url)
            except HTTPClientError as e:
                body = e.response.body.decode() if e.response and e.response.body else ""
                return e.code, body
            await extra.close()
            return 101, ""
        finally:
            for sock in held:
                await sock.close()

    status, body = in_thread(run, timeout=120)
    assert status == 503, status
    assert f"at most {TOTAL} app file sessions" in body, body
    assert wait_census(server, "file_sessions", 0)["file_sessions"] == 0
    assert_file_app_opens(server)  # a slot given back is a slot to take


def test_no_handler_outlives_its_connection(server: JupyterServer, app: dict[str, str]) -> None:
    """Closed cleanly, aborted or refused: afterwards no websocket handler is alive."""
    for who in ("author", "view", "interact"):
        assert_app_answers(server, app[who])
        attack(app[who], server.origin, [header(num_buffers=10**9)])
    raw_upgrade(server, FILE_WS)
    left = wait_census(server, "sockets", 0, timeout=40)["sockets"]
    assert left == 0, f"{left} handlers alive after their connections closed"


# ------------------------------------------------------------------ log lines

FORGED = "[W 2099-01-01 00:00:00.000 ServerApp] FORGED LOG LINE"


def test_visitor_text_forges_no_log_line(server: JupyterServer, app: dict[str, str]) -> None:
    """Text from the request (an app's name in the URL) and from the kernel about what a
    visitor sent (an app's error naming a query argument, an unknown attribute) reaches
    the server's log on one line."""
    kernel = app["author"].split("/kernels/")[1].split("/")[0]
    name = urllib.parse.quote("nothing\n" + FORGED, safe="")
    url = f"{server.ws_origin}/bokeh-nb/kernels/{kernel}/apps/{name}/ws?token={server.token}"

    who = urllib.parse.quote("ann\n" + FORGED)
    failing = app["author"].replace("/apps/sliders/", "/apps/failing/") + f"&who={who}"

    async def ask(url: str, msgtype: str, content: Any, origin: str | None = None) -> Any:
        """The reply to one message (None if the server closed instead)."""
        sock = await BokehSocket.connect(url, {"Origin": origin} if origin else None)
        try:
            return await sock.request(msgtype, content)
        except (ConnectionError, WebSocketClosedError, StreamClosedError):
            return None
        finally:
            sock.conn.close()
            with contextlib.suppress(TimeoutError):
                while await asyncio.wait_for(sock.conn.read_message(), 5) is not None:
                    pass

    async def run() -> None:
        await ask(url, "PULL-DOC-REQ", {})  # the kernel has no such app: an ERROR
        await ask(failing, "PULL-DOC-REQ", {})  # the app fails, naming what it was sent
        _, doc = await ask(app["interact"], "PULL-DOC-REQ", {}, server.origin)
        slider = next(
            r["id"]
            for r in doc["doc"]["roots"][0]["attributes"]["children"]
            if r.get("name") == "Slider"
        )
        event = {"kind": "ModelChanged", "model": {"id": slider}, "attr": "value\n" + FORGED}
        await ask(app["interact"], "PATCH-DOC", {"events": [event]}, server.origin)

    in_thread(run, timeout=120)
    time.sleep(2)
    forged = [line for line in server.log_text().splitlines() if line.startswith(FORGED[:12])]
    assert not forged, forged
