"""Visitors that read slowly or not at all while their app streams.

The server acknowledges a session's frames to the kernel as it writes them to the
visitor's socket, so a visitor that falls behind holds its own session back (its changes
wait in the kernel, its callbacks wait) and its next answer comes behind little. One that
stops reading holds it back for ``AckWindow.stall`` seconds; then the Jupyter server holds
at most ``AppSocket.max_pending_bytes`` for it and drops that connection with a log line;
a visitor beside it goes on receiving, and the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bokeh_nb.server.live import AppSocket
from tests.browser.bokeh import kernel_json, shared_app
from tests.browser.test_share import changed, model_id
from tests.browser.wsclient import BokehSocket, in_thread

APP = """\
import numpy as np
import bokeh_nb
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
opened = {"sessions": 0}
def modify_doc(doc):
    opened["sessions"] += 1
    rows = 200_000 if opened["sessions"] > 1 else 100  # the notebook's own output stays light
    src = ColumnDataSource(data={"x": np.zeros(0), "y": np.zeros(0)})
    p = figure(height=200); p.line("x", "y", source=src)
    doc.add_root(p)
    def tick():  # a visitor's: 200,000 float64 rows, 3.2 MB a patch
        x = np.random.rand(rows)
        src.data = {"x": x, "y": x}
    doc.add_periodic_callback(tick, 100)
app = bokeh_nb.App(modify_doc, name="firehose")
app
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_visitor_that_stops_reading_is_dropped(lab_server, page, nb_name, report_figure):
    server = lab_server
    _, url = shared_app(server, page, nb_name, [APP], "firehose")
    headers = {"Origin": server.origin}
    rss_before = rss_mb(server.proc.pid)
    cap_mib = AppSocket.max_pending_bytes // 2**20

    async def main() -> dict[str, Any]:
        stalled = await BokehSocket.connect(url, headers)
        reader = await BokehSocket.connect(url, headers)
        for sock in (stalled, reader):
            msgtype, _ = await sock.request("PULL-DOC-REQ", {})
            assert msgtype == "PULL-DOC-REPLY"
        received = {"n": 0}

        async def keep_reading() -> None:
            while True:
                msgtype, _ = await reader.next()
                received["n"] += msgtype == "PATCH-DOC"

        reading = asyncio.create_task(keep_reading())
        # `stalled` reads nothing from here on (tornado's client stops at one message)
        start = time.monotonic()
        peak = rss_mb(server.proc.pid)
        while "dropped share link" not in server.log_text():
            assert time.monotonic() - start < 90, "the stalled visitor was never dropped"
            peak = max(peak, rss_mb(server.proc.pid))
            await asyncio.sleep(0.5)
        dropped_after = time.monotonic() - start
        at_drop = received["n"]
        await asyncio.sleep(3)
        after_drop = received["n"] - at_drop
        # the stalled connection is closed: what is queued, then the end
        closed = False
        for _ in range(10):
            try:
                await asyncio.wait_for(stalled.next(), 5)
            except ConnectionError:
                closed = True
                break
        stalled.conn.close()
        reading.cancel()
        await reader.close()
        return {
            "dropped_after": dropped_after,
            "after_drop": after_drop,
            "closed": closed,
            "peak": peak,
        }

    out = in_thread(main, timeout=240)
    growth = out["peak"] - rss_before
    report_figure(
        f"a visitor that stopped reading was dropped after {out['dropped_after']:.1f} s "
        f"(cap {cap_mib} MiB); server RSS {rss_before:.0f} -> peak {out['peak']:.0f} MB; "
        f"the other visitor got {out['after_drop']} patches in the 3 s after"
    )
    assert out["closed"]
    assert out["after_drop"] >= 5, "the visitor beside it goes on"
    # bounded: the capped queue, plus the copies a 3.2 MB message makes on its way (zmq,
    # bytes, the websocket frame) for both visitors; unbounded, it would grow 32 MB/s
    assert growth < 4 * cap_mib + 150, "the server's memory stays bounded"
    assert kernel_json(page, "len(app.sessions)") == 1  # the notebook's own only


STREAM = """\
import numpy as np
import bokeh_nb
from bokeh.models import ColumnDataSource
from bokeh.plotting import figure
made = {"ticks": 0, "sessions": 0}
def modify_doc(doc):
    made["sessions"] += 1
    src = ColumnDataSource(data={"x": np.zeros(0), "y": np.zeros(0)})
    p = figure(height=200); p.line("x", "y", source=src)
    doc.add_root(p)
    if made["sessions"] > 1:  # the notebook's own output stays still
        def tick():  # a visitor's: 20,000 float64 rows every 10 ms, 32 MB/s, for 4 s
            made["ticks"] += 1
            x = np.arange(20_000, dtype="float64")
            src.stream({"x": x, "y": x})
            if made["ticks"] == TICKS:
                doc.remove_periodic_callback(cb)
        cb = doc.add_periodic_callback(tick, 10)
TICKS = 400
app = bokeh_nb.App(modify_doc, name="slowreader")
app
"""


def test_a_slow_visitor_holds_its_session_back(lab_server, page, nb_name, report_figure):
    """A visitor that reads nothing for 4 s while its session streams 32 MB/s: the server
    acknowledges each frame to the kernel once it is in the visitor's socket, so the
    session holds its changes and its callbacks wait, instead of the server queueing all
    they make. Once the visitor reads again, an answer to it comes behind a bounded
    amount of data, and every row arrives."""
    server = lab_server
    _, url = shared_app(server, page, nb_name, [STREAM], "slowreader")
    headers = {"Origin": server.origin}

    async def main() -> dict[str, Any]:
        sock = await BokehSocket.connect(url, headers)
        msgtype, _ = await sock.request("PULL-DOC-REQ", {})
        assert msgtype == "PULL-DOC-REPLY"
        await asyncio.sleep(4)  # reads nothing (tornado's client stops at one message)
        before = len(sock.others)
        start = time.monotonic()
        msgtype, _ = await sock.request("PULL-DOC-REQ", {})
        waited = time.monotonic() - start
        ahead = sock.others[before:]
        assert msgtype == "PULL-DOC-REPLY"
        rows = sum(_rows(content) for _, content in sock.others)
        patches = len(sock.others)
        deadline = time.monotonic() + 60
        while rows < 400 * 20_000 and time.monotonic() < deadline:
            msgtype, msg = await asyncio.wait_for(sock.next(), 30)
            rows += _rows(msg.content)
            patches += 1
        await sock.close()
        return {"waited": waited, "ahead": len(ahead), "rows": rows, "patches": patches}

    out = in_thread(main, timeout=180)
    report_figure(
        f"a visitor that read nothing for 4 s of a 32 MB/s stream: its next answer came "
        f"after {out['waited'] * 1000:.0f} ms behind {out['ahead']} patches; "
        f"{out['rows']:,} rows in {out['patches']} patches (400 ticks)"
    )
    assert out["rows"] == 400 * 20_000, "every row arrives"
    # what the server had queued for it: a few patches, not the 4 s made meanwhile
    assert out["ahead"] <= 64, "the answer waits behind a bounded amount"


def _rows(content: Any) -> int:
    """Rows a PATCH-DOC's stream events carry (its column x's length)."""
    total = 0
    for event in content.get("events", []):
        if event.get("kind") == "ColumnsStreamed":
            x = dict(event["data"]["entries"])["x"]
            total += int(x["shape"][0]) if isinstance(x, dict) else len(x)
    return total


BIG = """\
import numpy as np
import bokeh_nb
from bokeh.models import ColumnDataSource, TextInput
made = {"sessions": 0}
def modify_doc(doc):
    made["sessions"] += 1
    src = ColumnDataSource(data={"x": np.zeros(0)})
    note = TextInput(value="-", name="note", tags=[src])
    doc.add_root(note)
    def big():  # a visitor's: one message of 100 MB, half a second in
        src.data = {"x": np.arange(ROWS, dtype="float64")}
    if made["sessions"] > 1:
        doc.add_timeout_callback(big, 500)
ROWS = 12_500_000
app = bokeh_nb.App(modify_doc, name="bigone")
app
"""


def test_a_visitor_reading_a_large_message_is_not_dropped(lab_server, page, nb_name):
    """A message larger than what may wait for a visitor (100 MB against 64 MiB), read
    slowly, and then an answer to the visitor: the answer goes behind it, and the visitor
    is not taken for one that stopped reading (it was dropped at the answer before)."""
    server = lab_server
    _, url = shared_app(server, page, nb_name, [BIG], "bigone", mode="interact")
    log_before = len(server.log_text())

    async def main() -> dict[str, Any]:
        sock = await BokehSocket.connect(url, {"Origin": server.origin}, max_message_size=2**30)
        msgtype, content = await sock.request("PULL-DOC-REQ", {})
        assert msgtype == "PULL-DOC-REPLY"
        note = model_id(content["doc"], "note")
        await asyncio.sleep(3)  # the 100 MB message waits in the server: nothing read
        msgid = await sock.send("PATCH-DOC", changed(note, "value", "hi"))
        got: dict[str, Any] = {"rows": 0, "answered": None}
        while not (got["rows"] and got["answered"]):
            msgtype, msg = await asyncio.wait_for(sock.next(), 60)
            if msg.header.get("reqid") == msgid:
                got["answered"] = msgtype
            for event in msg.content.get("events", []) if msgtype == "PATCH-DOC" else []:
                if event.get("kind") == "ColumnDataChanged":
                    got["rows"] = dict(event["data"]["entries"])["x"]["shape"][0]
        await sock.close()
        return got

    out = in_thread(main, timeout=180)
    assert "dropped" not in server.log_text()[log_before:]
    assert out == {"rows": 12_500_000, "answered": "OK"}
