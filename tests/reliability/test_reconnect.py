"""A browser that loses its connection and gets it back, within and after the linger.

The page's websockets are routed through Playwright, so a test cuts them as a network
would (both ends closed, new connections refused) and restores them later.

- A notebook page whose kernel websocket drops while a periodic callback streams numbered
  rows: during the outage the output says it is reconnecting; once back it shows the
  kernel's current state and then every further row, none missing, none twice, and no
  console error. The same for an outage longer than the session's linger (set to 2 s):
  the page never said its views were gone, so the session lives on and catches up alike.
- A standalone app page whose websocket drops: it says the connection was lost, BokehJS
  reconnects with the same token within the linger, the kernel gives the page its own
  session back (which went on meanwhile) and the alert goes away; the session of a page
  closed for good is freed after the linger.
- In the kernel: a detached standalone session is taken over by a new comm that names the
  same page, app and mode within the linger (its state kept), and ends after it otherwise.
- Meanwhile a stream in another notebook receives every row in order.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel
from playwright.sync_api import BrowserContext, Locator, Page, WebSocketRoute, expect

from bokeh_nb.protocol import SESSION_TARGET
from tests.browser.bokeh import kernel_json, run_notebook
from tests.browser.jupyter import assert_no_console_errors
from tests.kernel.conftest import Kernel, frame
from tests.reliability.helpers import APP_PAGE_DIVS
from tests.reliability.test_faults import STREAM, rows, stream_in, wait_rows


class Network:
    """The websockets of a browser context to the Jupyter server, passed through
    Playwright: ``cut(part)`` drops every open one whose URL contains ``part`` (both ends,
    as a lost network does) and refuses new ones until ``restore(part)``. Waits must go
    through Playwright (``page.wait_for_timeout``) for new connections to be routed."""

    def __init__(self, context: BrowserContext) -> None:
        self.links: list[tuple[str, WebSocketRoute, WebSocketRoute]] = []
        self.down: set[str] = set()
        self.refused = 0
        context.route_web_socket(re.compile(r"/api/kernels/|/bokeh-nb/"), self._route)

    def _route(self, page_side: WebSocketRoute) -> None:
        if any(part in page_side.url for part in self.down):
            self.refused += 1
            page_side.close(code=1011, reason="unreachable")
            return
        self.links.append((page_side.url, page_side, page_side.connect_to_server()))

    def cut(self, part: str) -> int:
        """Drop the open websockets whose URL contains part; how many there were."""
        self.down.add(part)
        cut = [link for link in self.links if part in link[0]]
        for link in cut:
            self.links.remove(link)
            link[2].close()
            link[1].close(code=1011, reason="unreachable")
        return len(cut)

    def restore(self, part: str) -> None:
        self.down.discard(part)


def badge(out: Locator) -> Locator:
    return out.locator(".bokeh-nb-reconnecting")


def outage(page: Page, net: Network, out: Locator, kernel_id: str, seconds: float) -> int:
    """Cut the page's kernel websocket for ``seconds``; the rows it had when cut."""
    assert net.cut(kernel_id) >= 1, "the page's kernel websocket was not routed"
    before = len(rows(out))
    expect(badge(out)).to_be_visible(timeout=10_000)  # the output says what goes on
    page.wait_for_timeout(seconds * 1000)
    assert len(rows(out)) - before <= 1, "nothing arrived while cut"
    net.restore(kernel_id)
    expect(badge(out)).to_have_count(0, timeout=90_000)
    return before


def caught_up(page: Page, out: Locator, timeout: float = 60) -> tuple[int, float]:
    """Wait until the output holds every row the kernel sent so far, in order, each once;
    (rows then, seconds it took)."""
    start = time.monotonic()
    sent = kernel_json(page, "sent[0]")
    got = wait_rows(out, sent, timeout)
    assert got == list(range(len(got))), "rows missing, repeated or out of order"
    return len(got), time.monotonic() - start


def test_a_notebook_page_reconnects_within_and_after_the_linger(
    context, page, page_log, lab_server, nb_name, report_figure
):
    net = Network(context)
    cells = [STREAM, "import bokeh_nb.kernel.session as _s; _s.KernelSession.linger = 2"]
    out = run_notebook(lab_server, page, nb_name, cells)
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    other_page = context.new_page()
    other = stream_in(other_page, lab_server, "other-" + nb_name)
    wait_rows(out, 20)
    figures = []
    for seconds in (3, 8):  # a short drop, and one longer than the 2 s linger
        other_before = len(rows(other))
        cut_at = outage(page, net, out, kernel_id, seconds)
        n, took = caught_up(page, out)
        more = wait_rows(out, n + 20)  # and every further change
        assert more == list(range(len(more)))
        figures.append(f"{seconds} s cut at row {cut_at}: all {n} rows {took:.1f} s after")
        assert len(rows(other)) - other_before >= seconds * 10, "the other stream went on"
    # the page never said its views were gone: the session lived through both
    assert (
        kernel_json(
            page, "bokeh_nb.kernel.runtime.runtime().outputs[id(layout.document)].session.destroyed"
        )
        is False
    )
    got = rows(other)
    assert got == list(range(len(got))), "the other notebook's stream lost nothing"
    report_figure(
        "notebook kernel websocket cut (linger 2 s): "
        + "; ".join(figures)
        + f"; {net.refused} reconnects refused while cut; the other stream: {len(got)} of "
        f"{len(got)} rows in order"
    )
    # what the cut itself makes the browser say: failed connections, and a message sent
    # (an acknowledgement of frames handled, a cell's request) in the moment between the
    # cut closing the socket and JupyterLab hearing of it
    network = [
        "ERR_",
        "WebSocket connection to",
        "Failed to load resource",
        "WebSocket is already in CLOSING or CLOSED state",
    ]
    assert_no_console_errors(page_log, ignore=network)
    other_page.close()


APP = """\
import bokeh_nb
from bokeh.io import curdoc
from bokeh.models import Div
from bokeh.layouts import column
def modify_doc(doc):
    sid = Div(text=curdoc().session_context.id, name="sid")
    count = Div(text="0", name="count")
    doc.add_root(column(sid, count))
    doc.add_periodic_callback(lambda: setattr(count, "text", str(int(count.text) + 1)), 100)
app = bokeh_nb.App(modify_doc, name="ticker")
app
"""

SESSION_IDS = "sorted(s.id for s in app.sessions)"
#: for a failure's message: each session's count as the kernel has it, and its ack window
SESSION_STATES = (
    "[(s.id, s.document.get_model_by_name('count').text, s.outgoing.window.sent,"
    " {c: a[0] for c, a in s.outgoing.window._acks.items()}) for s in app.sessions]"
)
#: KernelSession.linger: how long a standalone session outlives its websocket
LINGER = 10.0


def page_state(p: Page) -> dict[str, Any]:
    """The app page's session id and count, as its Divs show them."""
    divs = p.evaluate(APP_PAGE_DIVS)
    return {"sid": divs.get("sid"), "count": int(divs.get("count", -1))}


def wait_page(p: Page, check: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while not check(state := page_state(p)):
        assert time.monotonic() < deadline, state
        p.wait_for_timeout(300)
    return state  # type: ignore[no-any-return]


def wait_sessions(page: Page, check: Any, timeout: float = 30) -> tuple[list[str], float]:
    start = time.monotonic()
    while not check(ids := kernel_json(page, SESSION_IDS)):
        assert time.monotonic() - start < timeout, ids
        page.wait_for_timeout(300)
    return ids, time.monotonic() - start


def test_a_standalone_page_loses_its_websocket(
    context, page, page_log, lab_server, nb_name, report_figure
):
    net = Network(context)
    run_notebook(lab_server, page, nb_name, [APP])
    url = kernel_json(page, "app.url")
    visitor = context.new_page()
    # what the page's connection did, for a failure's message: its websockets and
    # BokehJS's own words on losing and reconnecting (debug: each attempt)
    seen: list[str] = []
    start = time.monotonic()

    def saw(what: str) -> None:
        seen.append(f"{time.monotonic() - start:6.2f} s  {what}")

    visitor.on("websocket", lambda ws: saw(f"websocket opened: {ws.url.split('?')[0]}"))
    visitor.on("console", lambda m: "websocket" in m.text.lower() and saw(m.text))
    visitor.goto(url)
    first = wait_page(visitor, lambda s: s["count"] > 5)
    visitor.evaluate("Bokeh.set_log_level('debug')")
    ids, _ = wait_sessions(page, lambda ids: first["sid"] in ids and len(ids) == 2)

    assert net.cut("/apps/ticker/ws") == 1
    cut = time.monotonic()
    problem = visitor.locator("#bokeh-nb-problem")
    expect(problem).to_have_attribute("data-problem", "lost", timeout=30_000)
    expect(problem).to_contain_text("Reload the page to reconnect")
    frozen = page_state(visitor)["count"]
    visitor.wait_for_timeout(2000)
    net.restore("/apps/ticker/ws")
    saw(f"the test restored the network (cut at {cut - start:.2f} s)")
    # BokehJS reconnects by itself with the same token, within the linger: the kernel
    # gives the page its own session back, which went on meanwhile
    try:
        live = wait_page(visitor, lambda s: s["count"] > frozen + 5, 60)
    except AssertionError as e:
        raise AssertionError(
            f"{e}\nthe page's connection:\n" + "\n".join(seen) + "\nthe kernel's sessions "
            f"(id, count, frames sent, acknowledged by): {kernel_json(page, SESSION_STATES)}"
        ) from None
    back = time.monotonic() - cut
    expect(problem).to_be_hidden()
    assert live["sid"] == first["sid"], "the page got its own session back"
    ids = kernel_json(page, SESSION_IDS)
    assert first["sid"] in ids and len(ids) == 2, "no second session for the page"

    # a page that goes away for good: its session is freed after the linger
    visitor.close()
    ids, freed_after = wait_sessions(page, lambda ids: first["sid"] not in ids, LINGER + 20)
    assert freed_after >= LINGER / 2, "not long before the linger"
    assert len(ids) == 1, "the notebook's own session only"
    report_figure(
        f"app page websocket cut for 2 s: the page said 'connection lost', BokehJS "
        f"reconnected {back:.1f} s after the cut and the page got its own session back "
        f"(count {frozen} when cut, {live['count']} live again); a page closed for good: "
        f"its session freed {freed_after:.1f} s after (linger {LINGER:.0f} s)"
    )
    lost_and_back = ["ERR_", "WebSocket connection to", "Lost websocket", "Failed to load resource"]
    assert_no_console_errors(page_log, ignore=lost_and_back)


# ------------------------------------------------------------------ the kernel alone


def open_session(kernel: Kernel, page_id: str, visitor: str | None = None) -> str:
    """A standalone session's comm as the server's relay opens it."""
    comm_id = f"c-{time.monotonic_ns()}"
    data: dict[str, Any] = {"app": "ticker", "arguments": {}, "session_id": page_id}
    if visitor is not None:
        data["visitor"] = visitor
    content = {"comm_id": comm_id, "target_name": SESSION_TARGET, "data": data}
    kc = kernel.client
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", content))
    return comm_id


def close_session(kernel: Kernel, comm_id: str) -> None:
    kc = kernel.client
    msg = kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}})
    kc.session.send(kc.shell_channel.socket, msg)


def send_frame(kernel: Kernel, comm_id: str, data: dict[str, Any]) -> None:
    kc = kernel.client
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.session.send(kc.shell_channel.socket, msg)


def pulled_text(kernel: Kernel, comm_id: str) -> str:
    """The text of the Div named "d" in a PULL-DOC-REPLY on comm_id."""
    send_frame(kernel, comm_id, frame("PULL-DOC-REQ", {}, client="ws"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        msg = kernel.client.get_iopub_msg(timeout=30)
        content = msg["content"]
        if msg["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
            data = content["data"]
            if data.get("header", {}).get("msgtype") == "PULL-DOC-REPLY":
                doc = json.loads(data["content"])["doc"]
                return next(r for r in doc["roots"] if r["attributes"].get("name") == "d")[
                    "attributes"
                ]["text"]
    raise AssertionError("no PULL-DOC-REPLY")


KERNEL_APP = """\
import bokeh_nb
import bokeh_nb.kernel.session as _s
from bokeh.models import Div
_s.KernelSession.linger = 2
def modify_doc(doc):
    doc.add_root(Div(text="fresh", name="d"))
app = bokeh_nb.App(modify_doc, name="ticker")
def mark(text):
    for s in app.sessions:
        s.document.select_one({"name": "d"}).text = text
"""


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    """A real ipykernel, reached over the channels the server's relay uses."""
    km, kc = start_new_kernel(kernel_name="python3", extra_arguments=[], startup_timeout=60)
    km.kernel_spec.argv[0] = sys.executable
    try:
        yield Kernel(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_kernel_keeps_a_detached_session_for_its_page(kernel, report_figure):
    kernel.execute(KERNEL_APP)
    first = open_session(kernel, "page-a")
    assert pulled_text(kernel, first) == "fresh"
    kernel.execute("mark('changed')")
    close_session(kernel, first)  # the websocket dropped
    time.sleep(0.5)
    assert kernel.value("len(app.sessions)") == 1, "detached, not ended"

    again = open_session(kernel, "page-a")  # the page reconnects within the linger
    assert pulled_text(kernel, again) == "changed", "its own session, as it was"
    assert kernel.value("len(app.sessions)") == 1
    other_mode = open_session(kernel, "page-a", visitor="view")  # another mode: no takeover
    assert pulled_text(kernel, other_mode) == "fresh"
    close_session(kernel, other_mode)

    close_session(kernel, again)  # gone for good
    start = time.monotonic()
    while kernel.value("len(app.sessions)") != 0:
        assert time.monotonic() - start < 15, "the detached sessions never ended"
        time.sleep(0.3)
    ended = time.monotonic() - start
    assert ended >= 1.0, "not before the linger"
    late = open_session(kernel, "page-a")  # after the linger: a new session
    assert pulled_text(kernel, late) == "fresh"
    report_figure(
        f"kernel: a detached standalone session was taken over by its page within the "
        f"2 s linger (state kept); left alone, it ended {ended:.1f} s after its comm closed"
    )
