"""A visitor that stops reading while its app streams: the Jupyter server holds at most
``AppSocket.max_pending_bytes`` for it, then drops that connection with a log line; a
visitor beside it goes on receiving, and the server's memory stays bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bokeh_nb.server.live import AppSocket
from tests.browser.bokeh import kernel_json, shared_app
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
