"""No credential reaches the Jupyter server's log: every route of the extension
(``bokeh_nb.server.urls.ROUTES``) with every method, websockets opened, refused and
aborted, requests that fail inside their handlers and XSRF failures, all carrying the
Jupyter token, share tokens (genuine and forged) and cookie values; then not one of them
is anywhere in the server's whole log."""

from __future__ import annotations

import re
import secrets
import socket
import time
import urllib.error
import urllib.request

from bokeh import __version__ as bokeh_version
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketHandler, websocket_connect

from bokeh_nb.server.urls import ROUTES
from tests.browser.bokeh import create_share
from tests.browser.jupyter import JupyterServer
from tests.browser.wsclient import in_thread
from tests.security.servers import APP_FILE, start_live_app

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def paths(values: dict[str, str]) -> list[tuple[str, bool]]:
    """(path, is a websocket) of every route, filled in from ``values``."""
    out = []
    for pattern, handler in ROUTES:
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], pattern)
        out.append((path, issubclass(handler, WebSocketHandler)))
    return out


def http(server: JupyterServer, method: str, path: str, headers: dict[str, str]) -> int:
    body = b'{"kernel_id": 1' if method in ("POST", "PUT", "PATCH") else None  # broken JSON
    req = urllib.request.Request(server.origin + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        with e:
            return int(e.code)


def ws(server: JupyterServer, path: str, headers: dict[str, str]) -> int:
    async def connect() -> int:
        try:
            conn = await websocket_connect(
                HTTPRequest(server.ws_origin + path, headers=headers),
                subprotocols=["bokeh", "x"],
            )
        except HTTPClientError as e:
            return int(e.code)
        conn.close()
        while await conn.read_message() is not None:
            pass
        return 101

    return int(in_thread(connect, timeout=120))


def aborted_upgrade(server: JupyterServer, path: str, headers: dict[str, str]) -> None:
    """A websocket upgrade whose TCP connection is reset as soon as it is sent: the
    handler's first write fails, inside the handler."""
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: bokeh, x",
        f"Origin: {server.origin}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def test_no_credential_in_any_log_line(lab_server: JupyterServer) -> None:
    server = lab_server
    (server.root_dir / "log_walk_app.py").write_text(APP_FILE)
    kernel_id = start_live_app(server)
    share = create_share(server, kernel_id, "sliders", "interact")
    forged = f"{secrets.token_urlsafe(18)}.{secrets.token_urlsafe(32)}"  # the shape, unknown
    cookie_values = [secrets.token_hex(16) for _ in range(3)]
    secrets_to_find = {
        "the Jupyter token": server.token,
        "a share token": share["token"],
        "a forged share token": forged,
        **{f"cookie value {i}": v for i, v in enumerate(cookie_values)},
    }
    cookies = (
        f"_xsrf={cookie_values[0]}; username-127-0-0-1={cookie_values[1]}; "
        f"session={cookie_values[2]}"
    )
    header_sets = [
        {"Cookie": cookies},
        {"Cookie": cookies, "Authorization": f"token {server.token}"},
        {"Origin": "http://evil.example", "Cookie": cookies},  # refused: a foreign origin
    ]
    base = {
        "version": bokeh_version,
        "filename": "bokeh.min.js",
        "name": "sliders",
        "kernel_id": kernel_id,
        "path": "log_walk_app.py",
        "share_id": share["id"],
    }
    queries = [
        f"?token={server.token}",
        f"?token={server.token}&_xsrf={cookie_values[0]}&arg={share['token']}",
        "?x=1",
    ]
    requests = 0
    for token in (share["token"], forged):
        for path, is_ws in paths({**base, "token": token}):
            for query in queries:
                for headers in header_sets:
                    if is_ws:
                        ws(server, path + query, headers)
                        requests += 1
                    else:
                        for method in METHODS:
                            http(server, method, path + query, headers)
                            requests += 1
            if is_ws:
                aborted_upgrade(server, path + queries[0], header_sets[0])
                aborted_upgrade(server, path + queries[1], header_sets[1])
                requests += 2
    # no such route, below the extension's and the share routes
    for path in (f"/bokeh-nb/nothing/{forged}", f"/bokeh-nb/s/{forged}/nothing"):
        for method in METHODS:
            http(server, method, path + queries[1], header_sets[0])
            requests += 1
    time.sleep(3)  # the aborted sessions' lines are written
    # the server's own lines (not the test harness's "$ jupyter lab ..." command lines)
    log = "\n".join(line for line in server.log_text().splitlines() if not line.startswith("$ "))
    found = {what: log.count(value) for what, value in secrets_to_find.items() if value in log}
    lines = [line for line in log.splitlines() if any(v in line for v in secrets_to_find.values())]
    assert not found, f"after {requests} requests: {found} in the server log, e.g.\n" + "\n".join(
        lines[:5]
    )
    assert requests > 300
