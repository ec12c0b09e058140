"""Load: 50 concurrent share-link visitors on one live app for 5 minutes
(``BOKEH_NB_LOAD_VISITORS`` / ``BOKEH_NB_LOAD_SECONDS`` change that). Each visitor's
session has a periodic callback that streams a numbered row every 100 ms (rows are never
merged away, so a missing number is a lost update), and each visitor moves a slider once a
second, which runs the app's Python callback. Every visitor must receive every update and
an OK for every event, with no ERROR. Reports the updates delivered, the update and event
latencies (p50 / p95) and the kernel's and the Jupyter server's memory.

The notebook page that made the app stays open throughout, as its author's would: it does
not receive the visitors' traffic (``server/pagefilter.py``). A share link serves at most
``shares.MAX_SESSIONS`` sessions at once, so the visitors come through as many links (to
the same app) as that takes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from typing import Any

import pytest

from bokeh_nb.server.sharelinks import MAX_SESSIONS
from tests.browser.bokeh import create_share, kernel_json, shared_app
from tests.browser.test_share import changed, model_id
from tests.browser.wsclient import BokehSocket
from tests.reliability.helpers import pct, rss_mb

VISITORS = int(os.environ.get("BOKEH_NB_LOAD_VISITORS", "50"))
SECONDS = float(os.environ.get("BOKEH_NB_LOAD_SECONDS", "300"))
PERIOD_MS = 100
EVENT_EVERY = 1.0

APP = f"""\
import time
import bokeh_nb
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div, Slider
def modify_doc(doc):
    d = ColumnDataSource(data=dict(i=[], t=[]), name="d")
    s = Slider(start=0, end=10**9, value=0, step=1, name="s")
    e = Div(text="-", name="e")
    n = {{"i": 0}}
    def tick():
        n["i"] += 1
        d.stream(dict(i=[n["i"]], t=[time.time()]), rollover=100)
    s.on_change("value", lambda attr, old, new: setattr(e, "text", str(new)))
    doc.add_root(column(s, e))
    doc.add_root(d)
    doc.add_periodic_callback(tick, {PERIOD_MS})
app = bokeh_nb.App(modify_doc, name="ticker")
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
app
"""


def columns(data: dict[str, Any]) -> dict[str, list[Any]]:
    """A streamed ``data`` as the wire has it (Bokeh's ``map`` encoding), as a dict."""
    if data.get("type") == "map":
        return dict(data["entries"])
    return data


async def visit(
    ws_url: str, origin: str, stop: asyncio.Event, out: dict[str, Any], token: str = "x"
) -> None:
    """One visitor of the ticker app until ``stop``: what it got goes into ``out``."""
    sock = await BokehSocket.connect(ws_url, {"Origin": origin}, token)
    msgtype, reply = await sock.request("PULL-DOC-REQ", {})
    assert msgtype == "PULL-DOC-REPLY"
    slider, ticker = model_id(reply["doc"], "s"), model_id(reply["doc"], "d")
    out["connected"] = True
    ticks: list[int] = out.setdefault("ticks", [])
    latencies: list[float] = out.setdefault("latencies", [])
    event_ms: list[float] = out.setdefault("event_ms", [])
    errors: list[str] = out.setdefault("errors", [])
    sent: dict[str, float] = {}  # event value -> when it was sent
    out["events"], out["oks"] = 0, 0
    next_event = time.monotonic() + EVENT_EVERY
    # one read in flight across the polls: a timeout that cancelled sock.next() in the
    # middle of a message would lose its other fragments
    pending = asyncio.ensure_future(sock.next())
    try:
        while not stop.is_set():
            if time.monotonic() >= next_event:
                next_event += EVENT_EVERY
                out["events"] += 1
                value = out["events"]
                sent[str(value)] = time.monotonic()
                await sock.send("PATCH-DOC", changed(slider, "value", value))
            try:
                msgtype, msg = await asyncio.wait_for(asyncio.shield(pending), 0.2)
            except TimeoutError:
                continue
            pending = asyncio.ensure_future(sock.next())
            if msgtype == "OK":
                out["oks"] += 1
            elif msgtype == "ERROR":
                errors.append(str(msg.content)[:200])
            elif msgtype == "PATCH-DOC":
                for event in msg.content["events"]:
                    if event.get("kind") == "ColumnsStreamed" and event["model"]["id"] == ticker:
                        # streamed rows are never merged away: a gap is a lost update
                        now, data = time.time(), columns(event["data"])
                        ticks.extend(int(i) for i in data["i"])
                        latencies.extend((now - float(t)) * 1000 for t in data["t"])
                    elif event.get("kind") == "ModelChanged" and event["new"] in sent:
                        event_ms.append((time.monotonic() - sent.pop(event["new"])) * 1000)
        # the replies to the last events
        deadline = time.monotonic() + 20
        while out["oks"] < out["events"] and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                msgtype, msg = await asyncio.wait_for(asyncio.shield(pending), 0.5)
                pending = asyncio.ensure_future(sock.next())
                out["oks"] += msgtype == "OK"
                if msgtype == "ERROR":
                    errors.append(str(msg.content)[:200])
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await pending
        await sock.close()


def run_visitors(
    ws_urls: list[str], origin: str, results: list[dict[str, Any]]
) -> threading.Thread:
    """Start the visitors on a loop of their own, ``MAX_SESSIONS`` through each link;
    ``results[i]`` fills in as they run. The thread stops them ``SECONDS`` after the last
    one connected."""

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(visit(ws_urls[i // MAX_SESSIONS], origin, stop, r))
            for i, r in enumerate(results)
        ]
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


@pytest.mark.timeout(SECONDS + 300)
def test_visitors_with_updates_and_events(lab_server, page, nb_name, report_figure):
    server = lab_server
    assert server.proc is not None
    _, ws_url = shared_app(server, page, nb_name, [APP], "ticker", mode="interact")
    kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
    more = (VISITORS - 1) // MAX_SESSIONS  # links beyond the first
    links = [create_share(server, kernel_id, "ticker", "interact") for _ in range(more)]
    ws_urls = [ws_url] + [server.ws_origin + s["path"] + "/ws" for s in links]
    kernel_before, server_before = kernel_json(page, "rss_mb()"), rss_mb(server.proc.pid)

    results: list[dict[str, Any]] = [{} for _ in range(VISITORS)]
    thread = run_visitors(ws_urls, server.origin, results)
    deadline = time.monotonic() + 90
    while kernel_json(page, "len(app.sessions)") < VISITORS + 1:
        assert time.monotonic() < deadline, "the visitors' sessions did not all start"
        time.sleep(0.5)
    kernel_during, server_during = kernel_json(page, "rss_mb()"), rss_mb(server.proc.pid)
    thread.join(SECONDS + 120)
    assert not thread.is_alive(), "the visitors did not finish"
    server_after = rss_mb(server.proc.pid)

    assert all(r.get("connected") for r in results)
    lost = 0
    for r in results:
        ticks = r["ticks"]
        assert len(ticks) >= SECONDS * 1000 / PERIOD_MS * 0.25, len(ticks)
        # numbered updates: a gap would be an update this visitor never received
        lost += sum(b - a - 1 for a, b in zip(ticks, ticks[1:], strict=False))
        assert ticks == sorted(ticks)
    errors = [e for r in results for e in r["errors"]]
    events = sum(r["events"] for r in results)
    oks = sum(r["oks"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    event_ms = [x for r in results for x in r["event_ms"]]
    received = sum(len(r["ticks"]) for r in results)
    report_figure(
        f"{VISITORS} visitors x {SECONDS:.0f} s, a {PERIOD_MS} ms periodic update each and an "
        f"event a second each: {received} updates received ({received / VISITORS / SECONDS:.1f}"
        f"/s per visitor; the callbacks run late, never lose a row, when the kernel is busy), "
        f"{lost} lost; {events} events, "
        f"{oks} OK, {len(errors)} errors; update latency p50 {pct(latencies, 0.5):.1f} ms, "
        f"p95 {pct(latencies, 0.95):.1f} ms; event -> Python callback -> visitor ({len(event_ms)} seen; a value "
        f"overtaken by the next one before it went out is merged) p50 "
        f"{pct(event_ms, 0.5):.1f} ms, p95 {pct(event_ms, 0.95):.1f} ms; kernel RSS "
        f"{kernel_before:.0f} -> {kernel_during:.0f} MB; Jupyter server RSS "
        f"{server_before:.0f} -> {server_during:.0f} -> {server_after:.0f} MB"
    )
    assert lost == 0
    assert not errors, errors[:5]
    assert oks == events
    assert event_ms, "no event's Python callback reached its visitor"
    deadline = time.monotonic() + 30
    while kernel_json(page, "len(app.sessions)") != 1:  # the visitors' sessions ended
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert "rate exceeded" not in server.log_text()
