"""What an ``interact`` share-link visitor sends by hand, over the real server's websocket,
as an attacker would: messages that would exhaust the kernel's memory, reveal the app's
source through a traceback, do what no widget of the page can do, or forge lines in the
server's log. Each is refused (or answered without detail), the kernel stays small, and
the session goes on."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import BlockingKernelClient

from tests.browser.bokeh import create_share
from tests.browser.jupyter import JupyterServer
from tests.browser.wsclient import BokehSocket, in_thread

APP_CODE = """\
import json, os
import bokeh_nb
from bokeh.layouts import column
from bokeh.models import (
    Button, ColumnDataSource, DataTable, Div, Select, Slider, TableColumn,
)
calls = []
def modify_doc(doc):
    s = Slider(start=0, end=10, value=1, step=1, name="s")
    sel = Select(options=["a", "b"], value="a", name="sel")
    off = Button(label="off", disabled=True, name="off")
    hidden = Button(label="hidden", visible=False, name="hidden")
    boom = Button(label="boom", name="boom")
    d = Div(text="ready", name="d")
    src = ColumnDataSource({"x": [1, 2, 3]}, name="src")
    table = DataTable(source=src, columns=[TableColumn(field="x")], editable=True)
    off.on_click(lambda: calls.append("off"))
    hidden.on_click(lambda: calls.append("hidden"))
    def explode():
        raise RuntimeError("the secret is in " + os.getcwd())
    boom.on_click(explode)
    s.on_change("value", lambda attr, old, new: calls.append(("s", new)))
    doc.add_root(column(s, sel, off, hidden, boom, d, table))
app = bokeh_nb.App(modify_doc, name="attacks")
print(os.getpid())
"""

STATE = """\
from bokeh.models import ColumnDataSource
doc = app.sessions[-1].document
m = {k: doc.select_one({"name": k}) for k in ("s", "sel")}
m["src"] = doc.select_one({"type": ColumnDataSource})
print(json.dumps({
    "calls": calls, "s": m["s"].value, "sel": m["sel"].value,
    "src": [m["src"].name, m["src"].tags, dict(m["src"].data),
            len(m["src"].js_property_callbacks), sorted(m["src"].subscribed_events)],
    "sessions": len(app.sessions),
}))
"""


class Kernel:
    """A kernel of the server, driven through its connection file as a notebook would."""

    def __init__(self, server: JupyterServer) -> None:
        self.server = server
        self.id: str = server.api("POST", "api/kernels", {"name": "python3"})["id"]
        connection = server.base_dir / "runtime" / f"kernel-{self.id}.json"
        deadline = time.monotonic() + 60
        while not connection.exists():
            assert time.monotonic() < deadline, f"no connection file for kernel {self.id}"
            time.sleep(0.2)
        self.client = BlockingKernelClient(connection_file=str(connection))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str) -> str:
        """What code printed; it must not raise."""
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        reply = self.client.execute_interactive(code, timeout=60, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out)

    def close(self) -> None:
        self.client.stop_channels()
        self.server.api("DELETE", f"api/kernels/{self.id}")


@pytest.fixture
def attacked(lab_server: JupyterServer) -> Iterator[tuple[Kernel, str, int]]:
    """A kernel with the live app ``attacks``, an interact link's websocket URL, and the
    kernel's pid."""
    kernel = Kernel(lab_server)
    try:
        pid = int(kernel.run(APP_CODE).strip())
        share = create_share(lab_server, kernel.id, "attacks", mode="interact")
        yield kernel, lab_server.ws_origin + share["path"] + "/ws", pid
    finally:
        kernel.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def ids(doc_json: Any) -> dict[str, str]:
    """Model ids by name in a PULL-DOC-REPLY's document."""
    found: dict[str, str] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            attrs = value.get("attributes")
            if isinstance(attrs, dict) and isinstance(attrs.get("name"), str) and "id" in value:
                found[attrs["name"]] = value["id"]
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(doc_json)
    return found


def changed(model: str, attr: str, new: Any) -> dict[str, Any]:
    return {"events": [{"kind": "ModelChanged", "model": {"id": model}, "attr": attr, "new": new}]}


def event(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """A ``bokeh_event`` as BokehJS sends it."""
    entries = [[k, v] for k, v in values.items()]
    data = {"type": "event", "name": name, "values": {"type": "map", "entries": entries}}
    return {"events": [{"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": data}]}


def exchange(
    ws_url: str, origin: str, patches: list[tuple[str, Any]], kernel: Kernel
) -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
    """Send each (label, content-maker) PATCH-DOC on one visitor websocket: the replies by
    label, and then the state of the visitor's session in the kernel (read while the
    websocket is still open). A maker is called with the model ids by name."""

    async def main() -> tuple[dict[str, tuple[str, Any]], dict[str, Any]]:
        sock = await BokehSocket.connect(ws_url, {"Origin": origin})
        try:
            msgtype, reply = await sock.request("PULL-DOC-REQ", {})
            assert msgtype == "PULL-DOC-REPLY"
            model_ids = ids(reply["doc"])
            out: dict[str, tuple[str, Any]] = {}
            for label, make in patches:
                out[label] = await sock.request("PATCH-DOC", make(model_ids))
            state = json.loads(kernel.run(STATE))
        finally:
            await sock.close()
        return out, state

    return in_thread(main, timeout=120)  # type: ignore[no-any-return]


def test_a_compressed_bomb_costs_the_kernel_nothing(lab_server, attacked):
    """Finding 1: a Slider value of gzip-compressed zeros (a few hundred kB on the wire)
    is refused before anything is decoded: the kernel's memory and the server's log stay
    small, and the session goes on."""
    kernel, ws_url, pid = attacked
    zeros = 400 * 2**20
    bomb = base64.b64encode(gzip.compress(bytes(zeros), compresslevel=9)).decode()
    log_before = lab_server.log_path.stat().st_size
    rss_before = rss_mib(pid)
    replies, state = exchange(
        ws_url,
        lab_server.origin,
        [
            ("bomb", lambda m: changed(m["s"], "value", {"type": "bytes", "data": bomb})),
            ("fair", lambda m: changed(m["s"], "value", 4)),
        ],
        kernel,
    )
    rss_after = rss_mib(pid)
    log_growth = lab_server.log_path.stat().st_size - log_before
    print(
        f"bomb: {len(bomb) / 1024:.0f} KiB on the wire for {zeros / 2**20:.0f} MiB; kernel "
        f"RSS {rss_before:.0f} -> {rss_after:.0f} MiB; server log +{log_growth / 1024:.1f} kB"
    )
    msgtype, content = replies["bomb"]
    assert msgtype == "ERROR"
    assert len(json.dumps(content)) < 1000
    assert replies["fair"][0] == "OK"
    assert rss_after - rss_before < 64
    assert log_growth < 100_000
    assert state["s"] == 4 and state["calls"] == [["s", 4]]


def test_visitors_get_no_traceback(lab_server, attacked):
    """Finding 5: a callback that raises, or a malformed event, answers the visitor with a
    short message and an id; the traceback is in the kernel's log under that id."""
    kernel, ws_url, _pid = attacked
    replies, _state = exchange(
        ws_url,
        lab_server.origin,
        [
            ("raises", lambda m: event("button_click", {"model": {"id": m["boom"]}})),
            (
                "malformed",
                lambda m: {
                    "events": [
                        {"kind": "MessageSent", "msg_type": "bokeh_event", "msg_data": {"a": 1}}
                    ]
                },
            ),
        ],
        kernel,
    )
    for label, (msgtype, content) in replies.items():
        text = json.dumps(content)
        assert msgtype == "ERROR", label
        assert not content.get("traceback"), (label, text)
        for leak in ("Traceback", 'File "', ".py", "os.getcwd", "secret", str(Path.cwd())):
            assert leak not in text, (label, leak, text)
    raised = replies["raises"][1]["text"]
    assert raised.startswith("error ") and "its author can see the details" in raised
    incident = raised.split()[1].rstrip(":")
    deadline = time.monotonic() + 10
    while incident not in lab_server.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = lab_server.log_text()
    at = log.index(incident)
    assert "RuntimeError: the secret is in" in log[at:] and "os.getcwd()" in log[at:]


def test_visitors_can_do_only_what_the_page_can(lab_server, attacked):
    """Finding 6: clicks on a disabled or invisible button, a Select value outside its
    options, a non-finite or out-of-range Slider value, and ColumnDataChanged on anything
    but the data of an editable source are refused; nothing changes, no callback runs."""
    kernel, ws_url, _pid = attacked
    nan = {"type": "number", "value": "nan"}
    attacks: list[tuple[str, Any]] = [
        ("disabled click", lambda m: event("button_click", {"model": {"id": m["off"]}})),
        ("invisible click", lambda m: event("button_click", {"model": {"id": m["hidden"]}})),
        ("select outside", lambda m: changed(m["sel"], "value", "zzz")),
        ("slider huge", lambda m: changed(m["s"], "value", 1e308)),
        ("slider nan", lambda m: changed(m["s"], "value", nan)),
        ("slider past end", lambda m: changed(m["s"], "value", 11)),
    ]
    for attr, new in (
        ("name", "pwned"),
        ("tags", ["pwned"]),
        ("subscribed_events", {"type": "set", "entries": ["tap"]}),
        ("js_property_callbacks", {"type": "map", "entries": [["change:data", []]]}),
    ):
        attacks.append(
            (
                f"source {attr}",
                lambda m, attr=attr, new=new: {
                    "events": [
                        {
                            "kind": "ColumnDataChanged",
                            "model": {"id": m["src"]},
                            "attr": attr,
                            "data": new,
                            "cols": None,
                        }
                    ]
                },
            )
        )
    attacks.append(
        (
            "column of another length",
            lambda m: {
                "events": [
                    {
                        "kind": "ColumnDataChanged",
                        "model": {"id": m["src"]},
                        "attr": "data",
                        "data": {"type": "map", "entries": [["x", [1, 2, 3, 4]]]},
                        "cols": ["x"],
                    }
                ]
            },
        )
    )
    replies, state = exchange(ws_url, lab_server.origin, attacks, kernel)
    accepted = {label: r for label, r in replies.items() if r[0] != "ERROR"}
    assert accepted == {}
    assert state["calls"] == [] and state["s"] == 1 and state["sel"] == "a"
    assert state["src"] == ["src", [], {"x": [1, 2, 3]}, 0, []]
    # the session goes on: a fair edit of the table and a fair slider move are applied
    fair, state = exchange(
        ws_url,
        lab_server.origin,
        [
            ("slider", lambda m: changed(m["s"], "value", 3)),
            ("select", lambda m: changed(m["sel"], "value", "b")),
            (
                "cell edit",
                lambda m: {
                    "events": [
                        {
                            "kind": "ColumnsPatched",
                            "model": {"id": m["src"]},
                            "attr": "data",
                            "patches": {"type": "map", "entries": [["x", [[1, 20]]]]},
                        }
                    ]
                },
            ),
        ],
        kernel,
    )
    assert [r[0] for r in fair.values()] == ["OK", "OK", "OK"]
    assert state["s"] == 3 and state["sel"] == "b" and state["src"][2] == {"x": [1, 20, 3]}


def test_visitor_text_cannot_forge_log_lines(lab_server, attacked):
    """Finding 7: a visitor's attribute name with a newline and a log prefix reaches the
    server's log (the kernel's stderr) only escaped, on the refusal's own line."""
    kernel, ws_url, _pid = attacked
    forged = "[W 2099-01-01 00:00:00.000 ServerApp] FORGED LOG LINE"
    before = lab_server.log_path.stat().st_size
    replies, _state = exchange(
        ws_url,
        lab_server.origin,
        [("forged attr", lambda m: changed(m["s"], "value\n" + forged, 1))],
        kernel,
    )
    msgtype, content = replies["forged attr"]
    assert msgtype == "ERROR" and "\n" not in content["text"]
    time.sleep(1.0)  # the kernel's stderr reaches the server's log
    with lab_server.log_path.open("rb") as f:
        f.seek(before)
        grown = f.read().decode(errors="replace")
    refusals = [line for line in grown.splitlines() if "\\n[W 2099" in line]
    assert refusals and all(line.startswith("[bokeh_nb kernel] WARNING") for line in refusals)
    assert not any(line.startswith("[W 2099") for line in grown.splitlines()), grown
