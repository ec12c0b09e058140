"""A live app of the notebook kernel as a full-page session, and through bokeh.client."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from playwright.sync_api import expect

from .bokeh import drag_handle, kernel_json, run_notebook
from .jupyter import (
    assert_no_console_errors,
    assert_no_foreign_requests,
    run_cell,
)

APP_CELL = """\
import bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
def modify_doc(doc):
    args = doc.session_context.request.arguments
    who = args.get("who", [b"-"])[0].decode()
    s = Slider(start=0, end=10, value=1, step=1, name="s", width=400)
    d = Div(text=f"who={who}", name="d")
    s.on_change("value", lambda attr, old, new: setattr(d, "text", f"{who} value={new}"))
    doc.add_root(column(s, d))
app = bokeh_nb.App(modify_doc, name="sliders")
app
"""

PULL = """\
import json, sys
from bokeh.client import pull_session
url, token = sys.argv[1], sys.argv[2]
with pull_session(url=url, arguments={"token": token, "who": "bob"}) as session:
    print(json.dumps(session.document.select_one({"name": "d"}).text))
"""


def test_live_app_page_and_bokeh_client(lab_server, page, page_log, nb_name):
    server = lab_server
    notebook_view = run_notebook(server, page, nb_name, [APP_CELL])
    url = kernel_json(page, "app.url")
    assert url.startswith(server.origin + "/bokeh-nb/kernels/") and url.endswith("/apps/sliders")

    # the author opens app.url: a new session, independent from the notebook's output
    visitor = page.context.new_page()
    visitor.goto(url + "?who=ann")
    div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(div).to_have_text("who=ann", timeout=60_000)
    expect(visitor).to_have_title("Bokeh Application", timeout=10_000)
    drag_handle(visitor, visitor.locator("body"), 120)
    expect(div).to_contain_text("ann value=")
    expect(notebook_view.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text("who=-")
    assert kernel_json(page, "len(app.sessions)") == 2

    # stock bokeh.client, from another process, with the Jupyter token as a query argument
    out = subprocess.run(
        [sys.executable, "-c", PULL, url, server.token], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == "who=bob"

    # an app the kernel does not have: the page says what to do
    visitor.goto(url.rsplit("/", 1)[0] + "/nope")
    expect(visitor.get_by_role("alert")).to_contain_text("could not be opened", timeout=30_000)
    visitor.close()
    assert_no_foreign_requests(page_log, server)
    # BokehJS reports the refused session (and the first page's lost one) on the console
    refused = ["Failed to load Bokeh session", "Failed to repull session", "has no live app"]
    assert_no_console_errors(page_log, ignore=refused)


def test_kernel_restart_ends_standalone_sessions(lab_server, page, page_log, nb_name):
    """A restart ends the app's full-page sessions (their kernel state is gone); the page
    then says what to do, and re-running the notebook brings the app back."""
    server = lab_server
    run_notebook(server, page, nb_name, [APP_CELL])
    url, kernel_id = kernel_json(page, "[app.url, bokeh_nb.kernel.app.kernel_id()]")
    visitor = page.context.new_page()
    visitor.goto(url)
    expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=60_000
    )
    drag_handle(visitor, visitor.locator("body"), 120)  # requests of the relay's own session
    expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_contain_text("- value=")
    server.api("POST", f"api/kernels/{kernel_id}/restart")
    deadline = time.monotonic() + 60
    while "the notebook kernel restarted" not in server.log_text():
        assert time.monotonic() < deadline, "the relay did not notice the restart"
        time.sleep(0.5)
    visitor.reload()
    expect(visitor.get_by_role("alert")).to_contain_text("could not be opened", timeout=30_000)
    # re-run the cell that makes the app: the same URL works again. (No wait for 'idle'
    # first: after a restart through the REST API, JupyterLab says 'starting' until a
    # status it tracks arrives, and those of the visitors' requests no longer reach it.)
    assert run_cell(page, 0)
    visitor.goto(url)
    expect(visitor.locator(":is(.bk-clearfix, .bk-markup)").first).to_have_text(
        "who=-", timeout=60_000
    )
    visitor.close()
    # BokehJS reports the ended and the refused sessions; the notebook page logs the comm
    # the restarted kernel (without bokeh_nb yet) closed
    refused = [
        "Failed to load Bokeh session",
        "Failed to repull session",
        "Error rendering Bokeh items",
        "has no live app",
        "Lost websocket",
        "Comm not found",
    ]
    assert_no_console_errors(page_log, ignore=refused)


TICKER = """\
import bokeh_nb
from bokeh.models import Div
def modify_doc(doc):
    d = Div(text="0", name="count")
    doc.add_root(d)
    doc.add_periodic_callback(lambda: setattr(d, "text", str(int(d.text) + 1)), 50)
app = bokeh_nb.App(modify_doc, name="ticker")
app
"""


def test_notebook_pages_skip_the_traffic_of_standalone_sessions(lab_server, page, nb_name):
    """A visitor's updates go to the visitor only: the kernel websocket of the notebook
    page (which knows nothing of that session's comm) does not carry them, while the
    notebook's own output of the app keeps updating."""
    frames: list[bytes] = []  # what the notebook page's kernel websocket receives

    def watch(ws) -> None:  # type: ignore[no-untyped-def]
        if "/api/kernels/" in ws.url:
            ws.on(
                "framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())
            )

    page.on("websocket", watch)
    slider_app = APP_CELL.replace("app = ", "slider_app = ").replace("\napp\n", "\n")
    notebook_view = run_notebook(lab_server, page, nb_name, [TICKER, slider_app])
    url = kernel_json(page, "app.url")
    visitor = page.context.new_page()
    visitor.goto(url)
    count = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(count).not_to_have_text("0", timeout=60_000)
    deadline = time.monotonic() + 60
    while int(count.inner_text()) < 40:  # 40 updates of the visitor's session, at least
        assert time.monotonic() < deadline
        visitor.wait_for_timeout(200)
    ours = notebook_view.locator(":is(.bk-clearfix, .bk-markup)").first
    before = int(ours.inner_text())
    expect(ours).not_to_have_text(str(before), timeout=10_000)  # the notebook's own goes on
    # the visitor's events: the kernel's busy / idle around them skip the page too
    visitor.goto(kernel_json(page, "slider_app.url"))
    div = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(div).to_have_text("who=-", timeout=60_000)
    for dx in (120, -60, 90):
        drag_handle(visitor, visitor.locator("body"), dx)
    expect(div).to_contain_text("- value=")
    visitor.close()
    assert frames, "the notebook page's kernel websocket was watched"
    assert not [f for f in frames if b"bokeh_nb.relay" in f], "a visitor's update reached it"
    # (the page does get the statuses of its own requests)
    assert [f for f in frames if b'"status"' in f and b'"idle"' in f]


STREAM = """\
import numpy as np
import bokeh_nb
from bokeh.models import ColumnDataSource, Div
from bokeh.layouts import column
def make(doc):
    src = ColumnDataSource(data={"x": np.zeros(0)})
    done = Div(text="streaming", name="done")
    doc.add_root(column(done, Div(text="", name="rows")))
    doc.add_root(src)
    state = {"ticks": 0}
    def tick():
        state["ticks"] += 1
        src.stream({"x": np.arange(500, dtype="float64")})
        if state["ticks"] == 200:
            doc.remove_periodic_callback(cb)
            done.text = f"done {len(src.data['x'])}"
    cb = doc.add_periodic_callback(tick, 5)
stream = bokeh_nb.App(make, name="stream")
stream
"""


def test_an_app_page_tells_its_server_what_it_handled(lab_server, page, nb_name):
    """bokeh_nb's app page counts the Bokeh messages it has handled and says so
    (``PAGE_HANDLED``): after the first, every ``ACK_EVERY``, and whenever the server asks
    (``server/pacing.py``), so its kernel session is paced by what the page has drawn.
    A stream of 200 patches arrives whole, and the counts match the messages it got: each
    one websocket message, as the page asked (``PACKED_ARG``), of 3 + 2N fragments."""
    from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

    from bokeh_nb.protocol import ACK_EVERY, PACKED_ARG, PAGE_HANDLED

    run_notebook(lab_server, page, nb_name, [STREAM])
    url = kernel_json(page, "stream.url")
    sent: list[str] = []
    urls: list[str] = []
    messages: list[tuple[str, int]] = []  # what each websocket message held: msgtype, parts
    texts: list[str] = []  # text websocket messages received (a packed one is binary)

    def received(payload: str | bytes) -> None:
        if isinstance(payload, str):
            texts.append(payload)
            return
        header, rest = deserialize_msg_from_ws_v1(payload)
        messages.append((json.loads(header)["msgtype"], 1 + len(rest)))

    def watch(ws) -> None:  # type: ignore[no-untyped-def]
        urls.append(ws.url)
        ws.on("framesent", lambda p: sent.append(p) if isinstance(p, str) else None)
        ws.on("framereceived", received)

    visitor = page.context.new_page()
    visitor.on("websocket", watch)
    visitor.goto(url)
    done = visitor.locator(":is(.bk-clearfix, .bk-markup)").first
    expect(done).to_have_text("done 100000", timeout=90_000)
    visitor.wait_for_timeout(500)
    counts = [int(s[len(PAGE_HANDLED) :]) for s in sent if s.startswith(PAGE_HANDLED)]
    visitor.close()
    assert [f"{PACKED_ARG}=1" in u for u in urls] == [True], urls
    assert texts == []
    assert messages[0] == ("ACK", 3)
    # the session streams from its start: its PATCH-DOCs may come before the document (as
    # under `bokeh serve`, BokehJS drops those: the document it pulls holds them)
    types = [t for t, _ in messages[1:]]
    assert types.count("PULL-DOC-REPLY") == 1, types[:10]
    assert "PATCH-DOC" in types
    assert set(types) <= {"PULL-DOC-REPLY", "PATCH-DOC", "OK"}  # (OK: to the page's events)
    assert {n % 2 for _, n in messages} == {1}  # 3 + 2N fragments: the buffers in them
    assert max(n for _, n in messages) > 3
    assert counts[0] == 1, counts[:5]
    assert counts == sorted(set(counts)), "each count is more than the one before"
    assert len(messages) > 4 * ACK_EVERY  # the ACK, the document, the patches (some merged)
    assert len(messages) - ACK_EVERY <= counts[-1] <= len(messages)


FAST = """\
import numpy as np
import bokeh_nb
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
def make(doc):
    src = ColumnDataSource(data={"x": np.zeros(0), "y": np.zeros(0)})
    p = figure(width=500, height=300, name="plot")
    p.scatter("x", "y", source=src)
    doc.add_root(p)
    state = {"i": 0}
    def tick():
        i = state["i"]; state["i"] += 200
        x = np.arange(i, i + 200, dtype="float64")
        src.stream({"x": x, "y": np.sin(x / 1000)}, rollover=20_000)
    doc.add_periodic_callback(tick, 1)
fast = bokeh_nb.App(make, name="fast")
fast
"""

#: [frames sent, frames acknowledged] of the visitor's session (the notebook's own output of
#: the app is a session too)
WINDOW = (
    "[[s.outgoing.window.sent, s.outgoing.window._acks.get('ws', (None,))[0]]"
    " for s in fast.sessions if s.standalone]"
)


def test_an_app_page_streamed_to_from_its_first_frame_holds_its_session(
    lab_server, page, page_log, nb_name, report_figure
):
    """An app that streams to a plot every millisecond from the moment a visitor opens
    it: the session waits for what the page has drawn from the first frame on, so the
    page stays within the window (``ACK_WINDOW`` frames) and its acknowledgements keep
    coming. Before, the kernel heard of the page only with its first acknowledgement,
    the page fell hundreds of frames behind at once, its server no longer found the
    frames it counted, and nothing held the session for as long as the stream ran (the
    page's own events waited seconds)."""
    from bokeh_nb.protocol import ACK_WINDOW

    run_notebook(lab_server, page, nb_name, [FAST])
    url = kernel_json(page, "fast.url")
    visitor = page.context.new_page()
    visitor.goto(url)
    expect(visitor.locator(".bk-Figure, .bk-Canvas, canvas").first).to_be_visible(timeout=60_000)
    samples: list[list[int | None]] = []
    for _ in range(6):
        visitor.wait_for_timeout(500)
        (sample,) = kernel_json(page, WINDOW)
        samples.append(sample)
    visitor.close()
    report_figure(f"a page streamed to from its first frame: [sent, acknowledged] {samples}")
    assert all(acked is not None for _, acked in samples), samples
    # within the window (the frames answering the page's own range updates aside)
    assert all(sent - acked <= 2 * ACK_WINDOW for sent, acked in samples), samples
    acked = [a for _, a in samples]
    assert acked == sorted(acked) and acked[-1] > acked[0] + ACK_WINDOW, samples
    assert_no_console_errors(page_log)
