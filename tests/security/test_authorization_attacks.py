"""Who may do what, tried as an attacker would through the real server: a read-only user
who lists share links, a crowd on one share link, links to hidden files, app names that
try to leave the data of their page. (A hostile site that sends a logged-in user to an app
file: ``test_crosssite_navigation.py``.)"""

from __future__ import annotations

import contextlib
import html
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect
from tornado import web
from tornado.httpclient import HTTPClientError

from bokeh_nb.protocol import LIVE_APP_ROUTE
from bokeh_nb.server import files
from bokeh_nb.server.page import write_app_page
from tests.browser.bokeh import create_share
from tests.browser.jupyter import (
    JupyterServer,
    assert_no_console_errors,
    start_jupyter_server,
    stop_jupyter_server,
)
from tests.browser.test_files import kernel_pids
from tests.browser.wsclient import BokehSocket, in_thread
from tests.security.readonly_authorizer import READER_TOKEN
from tests.security.servers import REPO, start_live_app
from tests.security.test_route_auth import login_cookie

# ------------------------------------------------------------------ helpers


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, body) of a GET."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return int(e.code), e.read().decode()


def ws_refusal(url: str, headers: dict[str, str]) -> tuple[int, str]:
    """(status, body) with which the server refused a websocket (101 if it did not)."""

    async def connect() -> tuple[int, str]:
        try:
            sock = await BokehSocket.connect(url, headers)
        except HTTPClientError as e:
            body = e.response.body.decode() if e.response is not None else ""
            return e.code, body
        await sock.close()
        return 101, ""

    result: tuple[int, str] = in_thread(connect)
    return result


def settled_kernels(server: JupyterServer, before: set[int], wait: float = 3.0) -> set[int]:
    """Kernels of the server started since ``before`` (after a few seconds: a kernel
    started in the background shows up within them)."""
    time.sleep(wait)
    return kernel_pids(server) - before


#: An app file that records every run with its argument (the attacker's goal).
RECORDING_APP = """\
from pathlib import Path
from bokeh.io import curdoc
from bokeh.models import Div
arg = curdoc().session_context.request.arguments.get("arg", [b"-"])[0].decode()
with open(Path(__file__).with_name("recording_app.ran"), "a") as out:
    out.write(arg + "\\n")
curdoc().add_root(Div(text=f"arg={arg}", name="d"))
"""


# --------------------------------------------- 8 and 9a. a read-only user; a crowd on a link

CAP = 3


@pytest.fixture(scope="module")
def readonly_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A server of two users (the token's author and a read-only ``reader``) whose share
    links serve at most ``CAP`` sessions each."""
    base = tmp_path_factory.mktemp("readonly")
    (base / "config").mkdir()
    (base / "config" / "jupyter_server_config.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "c.ServerApp.identity_provider_class = "
        "'tests.security.readonly_authorizer.TwoUsers'\n"
        "c.ServerApp.authorizer_class = 'tests.security.readonly_authorizer.ReadOnlyReader'\n"
        f"c.BokehNb.share_max_sessions = {CAP}\n"
    )
    server = start_jupyter_server("lab", base)
    try:
        yield server
    finally:
        stop_jupyter_server(server)


@pytest.fixture(scope="module")
def live_kernel(readonly_server: JupyterServer) -> str:
    """A kernel of the author running the live app ``sliders``."""
    return start_live_app(readonly_server)


def test_a_read_only_user_gets_no_share_tokens(readonly_server, live_kernel):
    server = readonly_server
    share = create_share(server, live_kernel, "sliders", mode="interact")
    reader = {"Authorization": f"token {READER_TOKEN}"}
    status, _ = fetch(f"{server.origin}/api/kernels", reader)
    assert status == 200, "the reader may read: the refusals below are about execute"
    for path in ("bokeh-nb/api/shares", f"bokeh-nb/api/shares/{share['id']}"):
        status, body = fetch(f"{server.origin}/{path}", reader)
        assert status == 403, (path, status, body[:300])
        assert share["token"] not in body and share["id"] not in body
    # the author still lists the link, and it still drives the app
    listed = server.api("GET", "bokeh-nb/api/shares")
    assert [s["path"] for s in listed] == [share["path"]]

    async def pull() -> str:
        sock = await BokehSocket.connect(
            server.ws_origin + share["path"] + "/ws", {"Origin": server.origin}
        )
        msgtype, reply = await sock.request("PULL-DOC-REQ", {})
        await sock.close()
        return f"{msgtype} {json.dumps(reply['doc']).count('Slider')}"

    assert in_thread(pull) == "PULL-DOC-REPLY 1"


def test_a_share_link_serves_at_most_its_cap_of_sessions(readonly_server, live_kernel):
    server = readonly_server
    share = create_share(server, live_kernel, "sliders", mode="view")
    url = server.ws_origin + share["path"] + "/ws"
    headers = {"Origin": server.origin}

    async def crowd() -> dict[str, Any]:
        socks = [await BokehSocket.connect(url, headers) for _ in range(CAP)]
        pulled = [(await s.request("PULL-DOC-REQ", {}))[0] for s in socks]
        out: dict[str, Any] = {"pulled": pulled}
        try:
            extra = await BokehSocket.connect(url, headers)
            await extra.close()
            out["extra"] = (101, "")
        except HTTPClientError as e:
            out["extra"] = (e.code, e.response.body.decode() if e.response is not None else "")
        out["listed"] = server.api("GET", f"bokeh-nb/api/shares/{share['id']}")["sessions"]
        await socks.pop().close()  # one leaves: its place is free again
        again = await BokehSocket.connect(url, headers)
        out["again"] = (await again.request("PULL-DOC-REQ", {}))[0]
        for s in [*socks, again]:
            await s.close()
        return out

    out = in_thread(crowd, timeout=180)
    assert out["pulled"] == ["PULL-DOC-REPLY"] * CAP
    status, body = out["extra"]
    assert status == 429, out
    assert f"at most {CAP} sessions at once" in html.unescape(body), body
    assert out["listed"] == CAP
    assert out["again"] == "PULL-DOC-REPLY"


def test_the_default_cap_on_sessions_of_a_share_link() -> None:
    from bokeh_nb.server import BokehNb

    assert BokehNb().share_max_sessions == 20


# ---------------------------------------------------- 9b. links to hidden files


def make_hidden_links(root: Path) -> list[str]:
    """App paths, none hidden themselves, that lead to hidden files or directories."""
    (root / ".secret_app.py").write_text(RECORDING_APP)
    (root / ".hidden_dir" / "app").mkdir(parents=True, exist_ok=True)
    (root / ".hidden_dir" / "app.py").write_text(RECORDING_APP)
    (root / ".hidden_dir" / "app" / "main.py").write_text(RECORDING_APP)
    (root / "entry_dir").mkdir(exist_ok=True)
    links = {
        "to_hidden_file.py": root / ".secret_app.py",
        "into_hidden_dir.py": root / ".hidden_dir" / "app.py",
        "to_hidden_app_dir": root / ".hidden_dir" / "app",
        "entry_dir/main.py": root / ".secret_app.py",
    }
    for name, target in links.items():
        if not (root / name).is_symlink():
            (root / name).symlink_to(target)
    return ["to_hidden_file.py", "into_hidden_dir.py", "to_hidden_app_dir", "entry_dir"]


def test_links_to_hidden_files_are_no_app_files(lab_server):
    server = lab_server
    paths = make_hidden_links(server.root_dir)
    ran = server.root_dir / "recording_app.ran"
    ran.unlink(missing_ok=True)
    cookie = {"Cookie": login_cookie(server)}
    before = kernel_pids(server)
    for path in paths:
        status, body = fetch(server.url(f"/bokeh-nb/files/{path}"), cookie)
        assert (status, "no app at" in body) == (404, True), (path, status, body[:300])
        ws = f"{server.ws_origin}/bokeh-nb/files/{path}/ws"
        assert ws_refusal(ws, {**cookie, "Origin": server.origin})[0] == 404, path
    assert not settled_kernels(server, before, wait=1.0)
    assert not ran.exists()


def test_hidden_targets_are_served_where_the_server_shows_hidden_files(tmp_path: Path):
    paths = make_hidden_links(tmp_path)
    for path in paths:
        with pytest.raises(web.HTTPError) as refused:
            files.app_file(tmp_path, path)
        assert refused.value.status_code == 404, path
        assert files.app_file(tmp_path, path, allow_hidden=True).exists()


def test_a_bundle_leaves_out_links_to_hidden_files(tmp_path: Path):
    app = tmp_path / "app"
    (app / ".private").mkdir(parents=True)
    (app / "main.py").write_text("main")
    (app / ".env").write_text("secret")
    (app / ".private" / "key.txt").write_text("secret")
    (app / "settings.txt").symlink_to(app / ".env")
    (app / "data").symlink_to(app / ".private")
    sent = files.app_files(app)
    assert dict(sent.files) == {"app/main.py": b"main"}


# ---------------------------------------------- 9c. app names in the page's data

NAMES = [
    "a<!--<script>",
    "</script><script>alert(1)</script>",
    "x\u2028y & <b>z</b> -->",
]

NAMED_APPS = f"""\
import bokeh_nb
from bokeh.models import Div
def app_named(name):
    def modify_doc(doc):
        doc.title = name
        doc.add_root(Div(text="ready", name="d"))
    return bokeh_nb.App(modify_doc, name=name)
apps = [app_named(n) for n in {NAMES!r}]
"""


class TitleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside, self.title = False, ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.inside = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.title += data


def test_app_names_stay_data_in_their_page(lab_server, page, page_log):
    server = lab_server
    kernel_id = start_live_app(server, NAMED_APPS)
    try:
        for name in NAMES:
            path = LIVE_APP_ROUTE.format(kernel_id=kernel_id, name=quote(name, safe=""))
            response = page.goto(server.url(path))
            assert response is not None and response.status == 200
            served = TitleText()
            served.feed(response.text())
            assert served.title == name, "the served title is the name, as text"
            expect(page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
                "ready", timeout=60_000
            )
            expect(page).to_have_title(name)
            assert page.locator("#bokeh-nb-problem").is_hidden()
        assert page_log.dialogs == [], "no script of a name ran"
        assert_no_console_errors(page_log)
    finally:
        with contextlib.suppress(Exception):
            server.api("DELETE", f"api/kernels/{kernel_id}")


class FakeHandler:
    """What ``write_app_page`` uses of a request handler."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.body = ""

    def set_header(self, name: str, value: str) -> None:
        self.headers[name] = value

    def finish(self, body: str) -> None:
        self.body = body


@pytest.mark.parametrize("name", [*NAMES, "<!--", "<script", "]]>", "\u2029&amp;"])
def test_the_page_data_holds_no_markup(name: str) -> None:
    handler = FakeHandler()
    app_path = f"/bokeh-nb/kernels/k/apps/{name}"
    write_app_page(handler, name, app_path, "/static")  # type: ignore[arg-type]
    start = handler.body.index('id="bokeh-nb-item">') + len('id="bokeh-nb-item">')
    data = handler.body[start : handler.body.index("</script>", start)]
    assert not set(data) & set("<>&\u2028\u2029"), data
    assert json.loads(data)["app_path"] == app_path
