"""App files under the server's root as full-page sessions, each in a fresh kernel that
ends with its visitor; bokeh.client against one; bad paths refused before any kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.bokeh import drag_handle
from tests.browser.jupyter import assert_no_console_errors, assert_no_foreign_requests, wait_for_app
from tests.browser.wsclient import BokehSocket, in_thread
from tests.security.test_route_auth import login_cookie

APP = """\
import os
from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Div, Slider
args = curdoc().session_context.request.arguments
who = args.get("who", [b"-"])[0].decode()
s = Slider(start=0, end=10, value=1, step=1, name="s", width=400)
d = Div(text=f"who={who}", name="d")
pid = Div(text=str(os.getpid()), name="pid")
s.on_change("value", lambda attr, old, new: setattr(d, "text", f"{who} value={new}"))
curdoc().add_root(column(s, d, pid))
"""

DIR_MAIN = """\
import os
from pathlib import Path
from bokeh.io import curdoc
from bokeh.models import Div
rows = (Path(__file__).parent / "data" / "rows.txt").read_text().split()
curdoc().add_root(Div(text=f"{len(rows)} rows", name="d"))
curdoc().add_root(Div(text=str(os.getpid()), name="pid"))
"""

#: the app directory's lifecycle hooks, each noted in ended.log beside it as it runs
DIR_LIFECYCLE = """\
from pathlib import Path
LOG = Path(__file__).parent / "ended.log"
def on_session_destroyed(ctx):
    with LOG.open("a") as f:
        f.write("session destroyed\\n")
def on_server_unloaded(ctx):
    with LOG.open("a") as f:
        f.write("server unloaded\\n")
"""

PULL = """\
import json, sys
from bokeh.client import pull_session
url, token = sys.argv[1], sys.argv[2]
with pull_session(url=url, arguments={"token": token, "who": "bob"}) as session:
    print(json.dumps(session.document.select_one({"name": "d"}).text))
"""


@pytest.fixture(scope="module")
def app_files(lab_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = Path(lab_server.root_dir)
    (root / "file_app.py").write_text(APP)
    (root / "dir_app" / "data").mkdir(parents=True, exist_ok=True)
    (root / "dir_app" / "main.py").write_text(DIR_MAIN)
    (root / "dir_app" / "server_lifecycle.py").write_text(DIR_LIFECYCLE)
    (root / "dir_app" / "data" / "rows.txt").write_text("a b c")
    (root / "notes.txt").write_text("not an app")
    outside = tmp_path_factory.mktemp("outside") / "evil.py"
    outside.write_text(APP)
    link = root / "escape.py"
    if not link.exists():
        link.symlink_to(outside)
    return {"app": "file_app.py", "dir": "dir_app", "outside": str(outside)}


def kernel_pids(server: Any) -> set[int]:
    """Kernel processes below the Jupyter server (notebook kernels and file-app kernels)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server.proc.pid and b"ipykernel" in cmdline:
            pids.add(int(entry))
    return pids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_app_file_sessions_run_in_kernels_of_their_own(lab_server, page, page_log, app_files):
    server = lab_server
    page.goto(server.url("/bokeh-nb/files/file_app.py", who="ann"))
    div = page.locator(":is(.bk-clearfix, .bk-markup)").nth(0)
    expect(div).to_have_text("who=ann", timeout=90_000)
    first_pid = int(page.locator(":is(.bk-clearfix, .bk-markup)").nth(1).inner_text())
    drag_handle(page, page.locator("body"), 120)
    expect(div).to_contain_text("ann value=")

    second = page.context.new_page()
    second.goto(server.url("/bokeh-nb/files/file_app.py"))
    expect(second.locator(":is(.bk-clearfix, .bk-markup)").nth(0)).to_have_text(
        "who=-", timeout=90_000
    )
    second_pid = int(second.locator(":is(.bk-clearfix, .bk-markup)").nth(1).inner_text())
    assert first_pid != second_pid, "each visit gets a kernel of its own"
    notebook_kernels = {k["id"] for k in server.api("GET", "api/kernels")}
    assert all(alive(p) for p in (first_pid, second_pid))

    # the visitor leaves: that kernel is shut down, the other session goes on
    second.close()
    deadline = time.monotonic() + 30
    while alive(second_pid):
        assert time.monotonic() < deadline, "the kernel of a closed session was not shut down"
        time.sleep(0.5)
    assert alive(first_pid)
    drag_handle(page, page.locator("body"), -60)
    expect(div).to_contain_text("ann value=")
    # file-app kernels are not the server's notebook kernels
    assert {k["id"] for k in server.api("GET", "api/kernels")} == notebook_kernels

    # an app directory, with data read relative to it
    page.goto(server.url("/bokeh-nb/files/dir_app"))
    expect(page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "3 rows", timeout=90_000
    )
    deadline = time.monotonic() + 30
    while alive(first_pid):  # navigating away ended the first session too
        assert time.monotonic() < deadline
        time.sleep(0.5)
    # the visitor leaves the app directory: its kernel ends the app as a Bokeh server
    # would, its lifecycle hooks first, before the kernel is gone
    ended = Path(server.root_dir) / "dir_app" / "ended.log"
    ended.unlink(missing_ok=True)
    dir_pid = int(page.locator(":is(.bk-clearfix, .bk-markup)").nth(1).inner_text())
    page.goto("about:blank")
    deadline = time.monotonic() + 30
    while alive(dir_pid):
        assert time.monotonic() < deadline, "the app directory's kernel was not shut down"
        time.sleep(0.5)
    assert ended.read_text() == "session destroyed\nserver unloaded\n"
    assert_no_foreign_requests(page_log, server)
    assert_no_console_errors(page_log)


#: App files that fail as their session starts: (source, what the page says they raised).
FAILING = {
    "apps/broken.py": ('raise ValueError("boom")\n', "ValueError: boom"),
    # raised inside a function the script calls
    "apps/nodata.py": (
        'def load():\n    raise RuntimeError("no data")\n\n\nload()\n',
        "RuntimeError: no data",
    ),
    # raised by bokeh's validation of the document, after the script ran
    "apps/unset.py": (
        "from bokeh.io import curdoc\nfrom bokeh.models import Slider\n"
        'curdoc().add_root(Slider(title="no range"))\n',
        "UnsetValueError: Slider(",
    ),
}


def test_an_app_file_that_fails_says_what_it_raised(lab_server, page, app_files):
    """The page names the file and what it raised (no traceback, not the live-app text);
    the server's log has the traceback, once."""
    server = lab_server
    (Path(server.root_dir) / "apps").mkdir(exist_ok=True)
    for path, (source, _) in FAILING.items():
        (Path(server.root_dir) / path).write_text(source)
    for path, (_, raised) in FAILING.items():
        before = len(server.log_text())
        page.goto(server.url(f"/bokeh-nb/files/{path}"))
        problem = page.locator("#bokeh-nb-problem")
        expect(problem).to_have_attribute("data-problem", "app", timeout=90_000)
        expect(problem).to_contain_text(
            f"This app file could not be opened: the app file '{path}' raised {raised}"
        )
        text = problem.inner_text()
        assert "Traceback" not in text and "notebook kernel may have been restarted" not in text
        assert page.locator(":is(.bk-clearfix, .bk-markup)").count() == 0
        deadline = time.monotonic() + 30
        while not raised_tracebacks(server.log_text()[before:]):
            assert time.monotonic() < deadline, f"no traceback of {path} in the server's log"
            time.sleep(0.5)
        time.sleep(2)  # anything logged twice would be there by now
        log = server.log_text()[before:]
        assert raised_tracebacks(log) == 1, log[-6000:]
        assert raised in log


#: what an earlier file-app kernel can write to its stderr as ipykernel shuts it down,
#: just before a traceback: Python's report of an exception it ignored as the event loop
#: closed, and tornado's of a zmq stream read after its socket was closed
SHUTDOWN_NOISE = ("Exception ignored in", "Uncaught exception in zmqstream callback")


def raised_tracebacks(log: str) -> int:
    """The tracebacks in log, leaving out those of a kernel's shutdown (``SHUTDOWN_NOISE``)."""
    lines = log.splitlines()
    return sum(
        1
        for i, line in enumerate(lines)
        if "Traceback (most recent call last)" in line
        and not (i > 0 and any(noise in lines[i - 1] for noise in SHUTDOWN_NOISE))
    )


def test_bokeh_client_pulls_a_file_app(lab_server, app_files):
    server = lab_server
    url = server.origin + "/bokeh-nb/files/file_app.py"
    out = subprocess.run(
        [sys.executable, "-c", PULL, url, server.token], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == "who=bob"


def status_and_body(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode()


BAD = [
    ("notes.txt", 400, "is not a Bokeh app"),
    ("missing.py", 404, "no app at"),
    ("..%2Fetc%2Fpasswd", 403, "leaves the server"),
    ("%2Fetc%2Fpasswd", 400, "not a path relative"),
    ("escape.py", 403, "leaves the server"),
    (".hidden.py", 404, "no app at"),
    ("%3Cscript%3Ealert(1)%3C%2Fscript%3E.py", 404, "&lt;script&gt;alert(1)&lt;/script&gt;"),
]


def test_bad_paths_are_refused_before_any_kernel_starts(lab_server, app_files):
    server = lab_server
    before = kernel_pids(server)
    for path, status, text in BAD:
        got, body = status_and_body(server.url(f"/bokeh-nb/files/{path}"))
        assert got == status, (path, got, body[:300])
        assert text in body, (path, body[:500])
        assert "<script>alert" not in body
        ws = server.ws_origin + f"/bokeh-nb/files/{path}/ws?token={server.token}"

        async def connect(url: str = ws) -> str:
            try:
                sock = await BokehSocket.connect(url)
            except Exception as e:
                return str(e)
            await sock.close()
            return "connected"

        assert str(status) in in_thread(connect), path
    time.sleep(2)
    # no kernel more (one of an earlier test may have ended meanwhile: a session's kernel
    # gets up to 5 s to end its app)
    assert not kernel_pids(server) - before, "nothing started"


def test_sessions_per_user_are_capped(lab_server, app_files):
    """One user (one login: a bare token makes a new anonymous user per request)."""
    server = lab_server
    url = server.ws_origin + "/bokeh-nb/files/file_app.py/ws"
    headers = {"Cookie": login_cookie(server), "Origin": server.origin}

    async def main() -> tuple[list[str], str]:
        socks = [await BokehSocket.connect(url, headers) for _ in range(4)]
        texts = []
        for sock in socks:
            _, reply = await sock.request("PULL-DOC-REQ", {})
            texts.append(json.dumps(reply["doc"]).count('"Slider"') and "ok")
        try:
            extra = await BokehSocket.connect(url, headers)
            await extra.close()
            refused = "connected"
        except Exception as e:
            refused = str(e)
        for sock in socks:
            await sock.close()
        return texts, refused

    texts, refused = in_thread(main, timeout=240)
    assert texts == ["ok"] * 4
    assert "429" in refused


def test_file_browser_opens_an_app_file(lab_server, page, page_log, app_files):
    """ "Open as Bokeh app" in the file browser's context menu: the app in a new tab."""
    server = lab_server
    page.goto(server.url("/lab"))
    wait_for_app(page)
    item = page.locator(".jp-DirListing-item", has_text="file_app.py").first
    expect(item).to_be_visible(timeout=60_000)
    item.click(button="right")
    with page.context.expect_page() as opened:
        page.get_by_role("menuitem", name="Open as Bokeh app").click()
    app_page = opened.value
    expect(app_page.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=90_000
    )
    assert "/bokeh-nb/files/file_app.py" in app_page.url
    app_page.close()
    # not offered for a file that is no app
    page.keyboard.press("Escape")
    page.locator(".jp-DirListing-item", has_text="notes.txt").first.click(button="right")
    expect(page.get_by_role("menuitem", name="Open as Bokeh app")).to_have_count(0)
    page.keyboard.press("Escape")
    assert_no_console_errors(page_log)
