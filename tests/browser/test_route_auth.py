"""Every route of the extension refuses requests without valid Jupyter credentials, and
its websockets refuse hostile origins. Walks bokeh_nb.server.urls.ROUTES, so a new route
without protection fails here."""

from __future__ import annotations

import asyncio
import re
import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
from bokeh import __version__ as bokeh_version
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketHandler, websocket_connect

from bokeh_nb.server.urls import ROUTES

SAMPLES = {"version": bokeh_version, "filename": "bokeh.min.js", "name": "sliders"}


def in_thread(coro_fn: Any) -> Any:
    """Run a coroutine on a loop of its own (Playwright holds this thread's loop)."""
    result: list[Any] = []

    def target() -> None:
        result.append(asyncio.run(coro_fn()))

    t = threading.Thread(target=target)
    t.start()
    t.join(30)
    return result[0]


def urls(server: Any, kernel_id: str) -> list[tuple[str, bool]]:
    out = []
    values = {**SAMPLES, "kernel_id": kernel_id}
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], pattern)
        out.append((path, issubclass(handler, WebSocketHandler)))
    return out


def http_status(url: str) -> int:
    req = urllib.request.Request(url)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as e:
        with e:
            return int(e.code)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def ws_status(url: str, origin: str | None = None, cookie: str | None = None) -> int:
    async def connect() -> int:
        headers = {"Origin": origin} if origin else {}
        if cookie:
            headers["Cookie"] = cookie
        try:
            conn = await websocket_connect(
                HTTPRequest(url, headers=headers), subprotocols=["bokeh", "x"]
            )
        except HTTPClientError as e:
            return int(e.code)
        conn.close()
        while await conn.read_message() is not None:  # until the close handshake is done
            pass
        return 101

    return int(in_thread(connect))


@pytest.fixture
def kernel_id(lab_server: Any) -> Any:
    kernel = lab_server.api("POST", "/api/kernels", {"name": "python3"})
    yield kernel["id"]
    lab_server.api("DELETE", f"/api/kernels/{kernel['id']}")


def test_every_route_refuses_without_credentials(lab_server, kernel_id):
    server = lab_server
    checked = []
    for path, is_ws in urls(server, kernel_id):
        for query in ("", "?token=wrong-token"):
            if is_ws:
                status = ws_status(server.ws_origin + "/" + path + query)
                assert status in (401, 403), (path, query, status)
            else:
                status = http_status(server.origin + "/" + path + query)
                # 302 is a redirect to the login page, never the content
                assert status in (302, 401, 403), (path, query, status)
            checked.append((path, query, status))
    assert len(checked) == 2 * len(ROUTES)
    # and with the right token each route answers (so the refusals above are about auth)
    for path, is_ws in urls(server, kernel_id):
        if not is_ws:
            assert http_status(server.url("/" + path)) == 200, path


def login_cookie(server: Any) -> str:
    """The browser's ambient credential: the cookie a token login sets."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(server.url("/lab"), timeout=10) as resp:
        resp.read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


HOSTILE = [
    "http://evil.com",
    "http://localhost.evil.com",
    "http://127.0.0.1.evil.com",
    "http://127.0.0.1:1",  # the trusted host on another port
    "null",
]


def test_websockets_refuse_hostile_origins(lab_server, kernel_id):
    """A hostile page riding on the login cookie is refused. (A request carrying the token
    itself skips the origin check, as in all of jupyter_server: a token is no ambient
    credential.)"""
    server = lab_server
    cookie = login_cookie(server)
    for path, is_ws in urls(server, kernel_id):
        if not is_ws:
            continue
        url = server.ws_origin + "/" + path
        for origin in HOSTILE:
            assert ws_status(url, origin, cookie) == 403, (path, origin)
        assert ws_status(url, server.origin, cookie) == 101, "the server's own origin is accepted"
        assert ws_status(url, None, None) in (401, 403), "and the cookie is what logs in"
