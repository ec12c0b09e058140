"""Standalone sessions' frames in a real ipykernel: for a server that splits batches, the
frames of several sessions go out together (``kernel/relay.py``), and each session still
gets every one of its frames, in order; a session whose server did not ask for batches
gets its frames one message each, as before."""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable
from typing import Any

from bokeh_nb import wire
from bokeh_nb.protocol import KIND_BATCH, RELAY_SPLITS, SESSION_TARGET

from .conftest import Kernel, frame

TICKER = """
import bokeh_nb
from bokeh.models import ColumnDataSource
def make(doc):
    source = ColumnDataSource({"n": []})
    state = {"n": 0}
    def tick():
        state["n"] += 1
        source.stream({"n": [state["n"]]})
    doc.add_root(source)
    doc.add_periodic_callback(tick, 5)
app = bokeh_nb.App(make, name="ticker")
"""


def open_page(kernel: Kernel, name: str, batches: bool, acknowledges: bool = False) -> None:
    """A session of the ticker, opened as a server that splits batches or acknowledges
    frames (or neither) opens one."""
    kc = kernel.client
    data: dict[str, Any] = {"app": "ticker", "arguments": {}}
    if batches:
        data["batches"] = True
    if acknowledges:
        data["acknowledges"] = True
    content = {"comm_id": name, "target_name": SESSION_TARGET, "data": data}
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", content))


def rows_of(frame: dict[str, Any]) -> list[int]:
    """The numbered rows a PATCH-DOC frame streams."""
    if frame.get("kind") != "bokeh" or frame["header"]["msgtype"] != "PATCH-DOC":
        return []
    events = json.loads(frame["content"])["events"]
    streamed = [e["data"] for e in events if e["kind"] == "ColumnsStreamed"]
    # bokeh encodes the new columns as a map: {"type": "map", "entries": [[name, values]]}
    return [n for data in streamed for n in dict(data.get("entries", data.items()))["n"]]


def test_pages_frames_go_together_and_each_page_gets_all_of_its_own_in_order(
    kernel: Kernel,
) -> None:
    kernel.execute(TICKER)
    batched = [f"batched-{i}" for i in range(4)]
    for name in batched:
        open_page(kernel, name, batches=True)
    open_page(kernel, "alone", batches=False)
    rows: dict[str, list[int]] = {name: [] for name in [*batched, "alone"]}
    messages = {"batch": 0, "frame": 0}
    inside_batches: set[str] = set()
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        try:
            msg = kernel.client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        content = msg["content"]
        if msg["msg_type"] != "comm_msg" or content.get("comm_id") not in rows:
            continue
        data, buffers = content["data"], msg.get("buffers") or []
        if data.get("kind") == KIND_BATCH:
            messages["batch"] += 1
            for comm_id, inner, _ in wire.read_batch(data, buffers):
                inside_batches.add(comm_id)
                rows[comm_id].extend(rows_of(dict(inner)))
        else:
            messages["frame"] += 1
            rows[content["comm_id"]].extend(rows_of(data))
    kernel.execute("for s in list(app.sessions): s.destroy()")

    assert messages["batch"] > 0, messages  # 5 sessions at 200 ticks/s each: some together
    assert "alone" not in inside_batches
    assert inside_batches <= set(batched) and len(inside_batches) > 1
    for name, got in rows.items():
        assert len(got) > 50, (name, len(got))
        assert got == list(range(1, len(got) + 1)), name  # none lost, none out of order


SLIDER = """
import bokeh_nb
from bokeh.models import Div, Slider
def make(doc):
    slider, div = Slider(start=0, end=100, value=0, name="s"), Div(text="-")
    slider.on_change("value", lambda attr, old, new: setattr(div, "text", f"value={new}"))
    doc.add_root(slider)
    doc.add_root(div)
app = bokeh_nb.App(make, name="ticker")
"""


def test_a_visitors_event_is_answered_before_its_request_ends(kernel: Kernel) -> None:
    """What a visitor's event causes (the patch that sets the text, and the OK) goes out
    while ipykernel still handles the request, before its status turns idle: not on the
    loop's next turn, which comes after ipykernel's flushes of stdout and stderr."""
    kernel.execute(SLIDER)
    open_page(kernel, "visitor", batches=True)
    slider = kernel.value("next(iter(app.sessions)).document.get_model_by_name('s').id")
    kc = kernel.client

    def request(msgtype: str, content: dict[str, Any]) -> str:
        data = frame(msgtype, content, client="visitor-page")
        msg = kc.session.msg("comm_msg", {"comm_id": "visitor", "data": data})
        kc.session.send(kc.shell_channel.socket, msg)
        return str(msg["header"]["msg_id"])

    def until_idle(msg_id: str) -> list[str]:
        """The visitor's message types, up to the idle status of request ``msg_id``."""
        seen: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = kc.get_iopub_msg(timeout=10)
            content = msg["content"]
            if msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id:
                if content["execution_state"] == "idle":
                    return seen
            elif msg["msg_type"] == "comm_msg" and content["comm_id"] == "visitor":
                data, buffers = content["data"], msg.get("buffers") or []
                inner = wire.read_batch(data, buffers) if data["kind"] == KIND_BATCH else []
                for one in [data] if not inner else [f for _, f, _ in inner]:
                    seen.append(one["header"]["msgtype"])
        raise AssertionError(f"request {msg_id} did not end: {seen}")

    assert "PULL-DOC-REPLY" in until_idle(request("PULL-DOC-REQ", {}))
    for value in range(1, 6):  # one after another, as a slider's drag sends them
        event = {"kind": "ModelChanged", "model": {"id": slider}, "attr": "value", "new": value}
        assert until_idle(request("PATCH-DOC", {"events": [event]})) == ["PATCH-DOC", "OK"]


def test_the_kernel_splits_the_servers_batch_and_says_it_does(kernel: Kernel) -> None:
    """A batch of the server (``server/shellbatch.py``), sent on one session's comm, reaches
    each session in order, a frame for a comm that has closed among them; every frame the
    kernel sends says that it splits batches (``RELAY_SPLITS``)."""
    kernel.execute(SLIDER)
    pages = ["p0", "p1", "p2"]
    for name in pages:
        open_page(kernel, name, batches=True)
    kc = kernel.client
    sliders: dict[str, str] = {}
    splits: list[bool] = []
    texts: dict[str, list[str]] = {name: [] for name in pages}

    def read(until: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 10
        while not until():
            assert time.monotonic() < deadline, (sliders, texts)
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            content = msg["content"]
            if msg["msg_type"] != "comm_msg" or content.get("comm_id") not in texts:
                continue
            splits.append(msg["metadata"].get(RELAY_SPLITS) is True)
            data, buffers = content["data"], msg.get("buffers") or []
            inner = wire.read_batch(data, buffers) if data["kind"] == KIND_BATCH else []
            for comm_id, one in [(c, f) for c, f, _ in inner] or [(content["comm_id"], data)]:
                kind = one["header"]["msgtype"]
                if kind == "PULL-DOC-REPLY":
                    roots = json.loads(one["content"])["doc"]["roots"]
                    sliders[comm_id] = next(r["id"] for r in roots if r["name"] == "Slider")
                elif kind == "PATCH-DOC":
                    events = json.loads(one["content"])["events"]
                    texts[comm_id] += [e["new"] for e in events if e.get("attr") == "text"]

    for name in pages:
        data = frame("PULL-DOC-REQ", {}, client="page")
        kc.session.send(
            kc.shell_channel.socket,
            kc.session.msg("comm_msg", {"comm_id": name, "data": data}),
        )
    read(lambda: len(sliders) == len(pages))

    def event(name: str, value: int) -> tuple[str, dict[str, Any], int]:
        change = {"kind": "ModelChanged", "model": {"id": sliders[name]}, "attr": "value"}
        return name, frame("PATCH-DOC", {"events": [{**change, "new": value}]}), 0

    batch = wire.batch_frame(
        [event("p1", 1), event("p0", 2), ("gone", frame("PULL-DOC-REQ", {}), 0), event("p2", 3)]
        + [event("p1", 4)]
    )
    kc.session.send(
        kc.shell_channel.socket, kc.session.msg("comm_msg", {"comm_id": "p0", "data": batch})
    )
    read(lambda: sum(map(len, texts.values())) == 4)
    assert texts == {"p0": ["value=2"], "p1": ["value=1", "value=4"], "p2": ["value=3"]}
    assert splits and all(splits)
