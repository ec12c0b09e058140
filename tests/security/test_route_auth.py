"""Every route of the extension refuses requests without valid credentials (a Jupyter
login, or for the share routes a genuine, current share link), and its websockets refuse
hostile origins. Walks bokeh_nb.server.urls.ROUTES, so a new route without protection
fails here."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from bokeh import __version__ as bokeh_version
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketHandler, websocket_connect

from bokeh_nb.server.urls import ROUTES
from tests.browser.bokeh import create_share
from tests.browser.wsclient import in_thread

SAMPLES = {
    "version": bokeh_version,
    "filename": "bokeh.min.js",
    "name": "sliders",
    "path": "route_auth_app.py",
}


def urls(server: Any, values: dict[str, str]) -> list[tuple[str, bool, bool]]:
    """(path, is a websocket, is a share route) of every route, filled in from values."""
    out = []
    values = {**SAMPLES, **values}
    for pattern, handler in ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], pattern)
        out.append((path, issubclass(handler, WebSocketHandler), "(?P<token>" in pattern))
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


def make_share(server: Any, kernel_id: str, expires: float = 600) -> dict[str, Any]:
    return create_share(server, kernel_id, "sliders", expires=expires)


@pytest.fixture
def share_values(lab_server: Any, kernel_id: str) -> dict[str, dict[str, str]]:
    """Route values: a genuine link, a forged one, a revoked one and an expired one (and an
    app file, for the file routes)."""
    server = lab_server
    (server.root_dir / SAMPLES["path"]).write_text(
        "from bokeh.io import curdoc\nfrom bokeh.models import Div\ncurdoc().add_root(Div())\n"
    )
    good = make_share(server, kernel_id)
    revoked = make_share(server, kernel_id)
    server.api("DELETE", f"bokeh-nb/api/shares/{revoked['id']}")
    expired = make_share(server, kernel_id, expires=0.5)
    forged = good["token"].split(".")[0] + "." + "A" * 43
    base = {"kernel_id": kernel_id, "share_id": good["id"]}
    time.sleep(0.6)
    return {
        "good": {**base, "token": good["token"]},
        "forged": {**base, "token": forged},
        "revoked": {**base, "token": revoked["token"]},
        "expired": {**base, "token": expired["token"]},
        "garbage": {**base, "token": "..%2F..%2Fapi%2Fkernels"},
    }


def test_every_route_refuses_without_credentials(lab_server, share_values):
    server = lab_server
    checked = []
    for bad in ("forged", "revoked", "expired", "garbage"):
        for path, is_ws, is_share in urls(server, share_values[bad]):
            # a share route refuses a bad link even to a logged-in Jupyter user
            queries = ("", "?token=wrong-token", f"?token={server.token}" if is_share else "")
            for query in dict.fromkeys(queries):
                if is_ws:
                    status = ws_status(server.ws_origin + "/" + path + query)
                    assert status in (401, 403), (path, query, status)
                else:
                    status = http_status(server.origin + "/" + path + query)
                    # 302 is a redirect to the login page, never the content
                    assert status in (302, 401, 403), (path, query, status)
                checked.append(path)
    assert {p for p, _, _ in urls(server, share_values["forged"])} <= set(checked)
    # and with the right credential each route answers (so the refusals above are about
    # auth): a Jupyter login for the others, the share link alone for the share routes
    for path, is_ws, is_share in urls(server, share_values["good"]):
        if not is_ws:
            url = server.origin + "/" + path if is_share else server.url("/" + path)
            # an app's static route, let in, answers that the app has no such file
            missing = path.endswith("/static/" + SAMPLES["filename"])
            assert http_status(url) == (404 if missing else 200), path


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


def test_websockets_refuse_hostile_origins(lab_server, share_values):
    """A hostile page riding on the login cookie is refused. (A request carrying the token
    itself skips the origin check, as in all of jupyter_server: a token is no ambient
    credential.)"""
    server = lab_server
    cookie = login_cookie(server)
    for path, is_ws, is_share in urls(server, share_values["good"]):
        if not is_ws:
            continue
        url = server.ws_origin + "/" + path
        for origin in HOSTILE:
            assert ws_status(url, origin, cookie) == 403, (path, origin)
            assert ws_status(url, origin, None) in (401, 403), (path, origin)
        assert ws_status(url, server.origin, cookie) == 101, "the server's own origin is accepted"
        if is_share:
            assert ws_status(url, server.origin, None) == 101, "the link alone is the credential"
        else:
            assert ws_status(url, None, None) in (401, 403), "and the cookie is what logs in"


def test_unknown_and_dead_kernels_get_a_clear_page(lab_server):
    server = lab_server
    kernel = server.api("POST", "/api/kernels", {"name": "python3"})
    share = make_share(server, kernel["id"])
    server.api("DELETE", f"/api/kernels/{kernel['id']}")
    status, body = page(server.origin + share["path"])
    assert status == 410 and "no longer running" in body
    status, body = page(server.url(f"/bokeh-nb/kernels/{kernel['id']}/apps/sliders"))
    assert status == 404 and f"no running kernel {kernel['id']}" in body
    # nothing a request sends is echoed unescaped
    status, body = page(server.url("/bokeh-nb/kernels/00000000-0000/apps/%3Cb%3Ex%3C%2Fb%3E"))
    assert status == 404 and "<b>" not in body


def page(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return int(e.code), e.read().decode()


def test_state_changing_requests_need_xsrf(lab_server, kernel_id):
    """The login cookie alone (what a hostile page's form or fetch would carry) makes or
    revokes no share link; the page's XSRF token with it does."""
    server = lab_server
    cookie = login_cookie(server)
    xsrf = dict(c.split("=", 1) for c in cookie.split("; ")).get("_xsrf")
    assert xsrf, cookie
    body = json.dumps({"kernel_id": kernel_id, "app": "sliders", "mode": "view"}).encode()

    def call(method: str, path: str, data: bytes | None, headers: dict[str, str]) -> int:
        req = urllib.request.Request(
            f"{server.origin}/{path}",
            data=data,
            method=method,
            headers={"Cookie": cookie, **headers},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as e:
            with e:
                return int(e.code)

    assert call("POST", "bokeh-nb/api/shares", body, {}) == 403
    assert call("POST", "bokeh-nb/api/shares", body, {"X-XSRFToken": xsrf}) == 201
    [share] = [s for s in server.api("GET", "bokeh-nb/api/shares") if s["kernel_id"] == kernel_id]
    assert call("DELETE", f"bokeh-nb/api/shares/{share['id']}", None, {}) == 403
    assert call("DELETE", f"bokeh-nb/api/shares/{share['id']}", None, {"X-XSRFToken": xsrf}) == 204
