"""Twenty concurrent share-link visitors on one live app, each with its own session and a
periodic callback every 100 ms: every visitor receives every update. Reports the kernel's
memory per session and the update latency (kernel change -> visitor's socket)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any

from tests.browser.bokeh import kernel_json, shared_app
from tests.browser.wsclient import BokehSocket

VISITORS = 20
SECONDS = 15
PERIOD_MS = 100

APP = f"""\
import time
import bokeh_nb
from bokeh.models import Div
def modify_doc(doc):
    d = Div(text="0 0", name="d")
    n = {{"i": 0}}
    def tick():
        n["i"] += 1
        d.text = f"{{n['i']}} {{time.time():.6f}}"
    doc.add_root(d)
    doc.add_periodic_callback(tick, {PERIOD_MS})
app = bokeh_nb.App(modify_doc, name="ticker")
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
app
"""


async def visit(ws_url: str, origin: str, stop: asyncio.Event, out: dict[str, Any]) -> None:
    sock = await BokehSocket.connect(ws_url, {"Origin": origin})
    msgtype, _ = await sock.request("PULL-DOC-REQ", {})
    assert msgtype == "PULL-DOC-REPLY"
    out["connected"] = True
    ticks: list[int] = out.setdefault("ticks", [])
    latencies: list[float] = out.setdefault("latencies", [])
    # one read in flight across the 0.5 s polls: a timeout that cancelled sock.next() in the
    # middle of a message would lose its other fragments
    pending = asyncio.ensure_future(sock.next())
    try:
        while not stop.is_set():
            try:
                msgtype, msg = await asyncio.wait_for(asyncio.shield(pending), 0.5)
            except TimeoutError:
                continue
            pending = asyncio.ensure_future(sock.next())
            if msgtype != "PATCH-DOC":
                continue
            for event in msg.content["events"]:
                if event.get("kind") == "ModelChanged" and event.get("attr") == "text":
                    i, stamp = event["new"].split()
                    ticks.append(int(i))
                    latencies.append((time.time() - float(stamp)) * 1000)
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await pending
        await sock.close()


def run_visitors(ws_url: str, origin: str, results: list[dict[str, Any]]) -> threading.Thread:
    """Start the visitors on a loop of their own; ``results[i]`` fills in as they run.
    The thread stops them ``SECONDS`` after the last one connected."""

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(visit(ws_url, origin, stop, r)) for r in results]
        while not all(r.get("connected") for r in results):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(SECONDS)
        stop.set()
        await asyncio.gather(*tasks)

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    return thread


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def test_twenty_visitors_each_get_every_update(lab_server, page, nb_name, report_figure):
    server = lab_server
    _, ws_url = shared_app(server, page, nb_name, [APP], "ticker")
    rss_before = kernel_json(page, "rss_mb()")

    results: list[dict[str, Any]] = [{} for _ in range(VISITORS)]
    thread = run_visitors(ws_url, server.origin, results)
    deadline = time.monotonic() + 60
    while kernel_json(page, "len(app.sessions)") < VISITORS + 1:
        assert time.monotonic() < deadline, "the visitors' sessions did not all start"
        time.sleep(0.5)
    rss_during = kernel_json(page, "rss_mb()")
    thread.join(SECONDS + 90)
    assert not thread.is_alive(), "the visitors did not finish"

    assert all(r.get("connected") for r in results)
    lost = 0
    for r in results:
        ticks = r["ticks"]
        assert len(ticks) >= SECONDS * 1000 / PERIOD_MS * 0.5, len(ticks)
        # numbered updates: a gap would be an update this visitor never received
        lost += sum(b - a - 1 for a, b in zip(ticks, ticks[1:], strict=False))
        assert ticks == sorted(ticks)
    latencies = [x for r in results for x in r["latencies"]]
    received = sum(len(r["ticks"]) for r in results)
    per_session = (rss_during - rss_before) / VISITORS
    report_figure(
        f"{VISITORS} visitors x {SECONDS} s of a {PERIOD_MS} ms periodic callback: "
        f"{received} updates received, {lost} lost; latency p50 {pct(latencies, 0.5):.1f} ms, "
        f"p95 {pct(latencies, 0.95):.1f} ms; kernel RSS {rss_before:.1f} -> {rss_during:.1f} MB "
        f"({per_session:.2f} MB per session)"
    )
    assert lost == 0
    deadline = time.monotonic() + 30
    while kernel_json(page, "len(app.sessions)") != 1:  # the visitors' sessions ended
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert "rate exceeded" not in server.log_text()
