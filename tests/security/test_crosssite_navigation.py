"""A hostile site sends a logged-in user's browser to an app file with arguments of its
choosing (the login cookie rides along on a top-level navigation): nothing may start
before the user says so. Driven through a real second origin in Chromium, and with the
headers of older browsers."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.jupyter import assert_no_console_errors
from tests.browser.test_files import kernel_pids
from tests.security.test_authorization_attacks import RECORDING_APP, fetch, settled_kernels
from tests.security.test_route_auth import login_cookie

#: What the server answers a navigation it was not asked for by the user's own pages.
CONFIRM_TEXT = "Open it only if you meant to"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_site(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """``hostile_site(host, target)``: the URL, on another origin (``127.0.0.1`` or
    ``localhost`` and a port of its own), of a page that sends its visitor to target."""
    site = tmp_path / "site"
    site.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(QuietHandler, directory=str(site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pages = 0

    def page_to(host: str, target: str) -> str:
        nonlocal pages
        pages += 1
        name = f"attack{pages}.html"
        (site / name).write_text(
            "<!DOCTYPE html><title>cute cats</title>"
            f"<script>window.location = {json.dumps(target)};</script>"
        )
        return f"http://{host}:{server.server_address[1]}/{name}"

    try:
        yield page_to
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_hostile_site_cannot_make_a_logged_in_user_run_an_app_file(
    lab_server, page, page_log, hostile_site
):
    """Another origin (same-site 127.0.0.1:other port, then cross-site localhost) sends a
    logged-in user's browser to an app file with its own arguments: the cookies ride along,
    yet no kernel starts and the file does not run; the user sees a page naming the file
    and its arguments, and opening it from there is the user's choice."""
    server = lab_server
    (server.root_dir / "recording_app.py").write_text(RECORDING_APP)
    ran = server.root_dir / "recording_app.ran"
    ran.unlink(missing_ok=True)
    target = f"{server.origin}/bokeh-nb/files/recording_app.py?arg=pwned"
    page.goto(server.url("/api/status"))  # a token login: the browser keeps its cookie
    assert any(c["name"].startswith("username-") for c in page.context.cookies())

    before = kernel_pids(server)
    for host in ("127.0.0.1", "localhost"):  # another port (same site), another site
        with page.expect_request(target) as navigation:
            page.goto(hostile_site(host, target))
        sent = navigation.value.all_headers()
        assert sent.get("referer", "").startswith(f"http://{host}:"), sent  # the hostile page
        assert "cookie" in sent, "the login cookie rode along"
        page.wait_for_url(target)
        prompt = page.get_by_role("main")
        expect(prompt).to_contain_text(CONFIRM_TEXT)
        expect(prompt).to_contain_text("recording_app.py")
        expect(prompt).to_contain_text("arg=pwned")
        assert page.locator("#bokeh-nb-item").count() == 0, "no app page, no websocket"
    assert not settled_kernels(server, before), "no kernel starts for a hostile navigation"
    assert not ran.exists(), "the app file did not run"
    assert not [u for u in page_log.websockets if "/bokeh-nb/files/" in u]

    # the user decides to open it: a navigation of this server's own page
    with page.expect_request(target) as chosen:
        page.get_by_role("link", name="Open recording_app.py").click()
    assert chosen.value.all_headers().get("referer", "").startswith(server.origin + "/")
    expect(page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "arg=pwned", timeout=90_000
    )
    assert ran.read_text() == "pwned\n"
    assert_no_console_errors(page_log)


APP_PAGE_MARK = 'id="bokeh-nb-item"'


def test_only_the_users_own_navigations_open_an_app_file(lab_server):
    """Browsers without Sec-Fetch-Site fall back on the Referer; a request that sends
    neither gets the safe page; typed URLs, bookmarks and this server's own links go
    straight to the app, and so does a request that carries the Jupyter token itself."""
    server = lab_server
    (server.root_dir / "recording_app.py").write_text(RECORDING_APP)
    url = f"{server.origin}/bokeh-nb/files/recording_app.py?arg=x%3Cb%3E"
    cookie = {"Cookie": login_cookie(server)}
    own = f"{server.origin}/lab/tree/notes.ipynb"
    cases: list[tuple[dict[str, str], bool]] = [
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Referer": own}, False),  # the header decides
        ({"Sec-Fetch-Site": "same-origin"}, True),  # a link of JupyterLab
        ({"Sec-Fetch-Site": "none"}, True),  # typed, a bookmark
        ({}, False),  # an old browser and no referrer: the safe page
        ({"Referer": "http://evil.example/cats.html"}, False),
        ({"Referer": f"http://127.0.0.1:{server.port + 1}/"}, False),
        ({"Referer": own}, True),
    ]
    for headers, straight in cases:
        status, body = fetch(url, {**cookie, **headers})
        assert status == 200, (headers, status, body[:300])
        assert (APP_PAGE_MARK in body) is straight, (headers, body[:600])
        assert (CONFIRM_TEXT in body) is not straight, (headers, body[:600])
        if not straight:
            assert "arg=x&lt;b&gt;" in body and "<b>" not in body, body
    # whoever sends the token needs no browser's ambient credential
    status, body = fetch(f"{url}&token={server.token}", {"Sec-Fetch-Site": "cross-site"})
    assert status == 200 and APP_PAGE_MARK in body
    # a bad path is refused as before, whatever the navigation
    status, body = fetch(f"{server.origin}/bokeh-nb/files/missing.py", cookie)
    assert status == 404 and "no app at" in body
