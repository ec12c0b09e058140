"""BokehWidget in a real ipykernel: the wire as a frontend sees it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .conftest import Kernel, frame

SETUP = """
import numpy as np, bokeh_nb
from bokeh.models import ColumnDataSource, Div, Slider
from bokeh.layouts import column
src = ColumnDataSource(data={"x": np.arange(10.0)})
d = Div(text="0"); s = Slider(start=0, end=10, value=1)
s.on_change("value", lambda a, o, n: setattr(d, "text", f"v{n}"))
w = bokeh_nb.BokehWidget(column(s, d)); display(w)
"""


def widget_comm(kernel: Kernel) -> str:
    return str(kernel.value("w.comm.comm_id"))


def test_pull_patch_ok_and_callbacks_over_real_comms(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    state = kernel.value("{'v': w.bokeh_version, 'b': w.bundles, 'm': w._model_module}")
    assert state["m"] == "bokeh-nb" and state["b"][0] == "bokeh"

    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    [reply] = kernel.comm_msgs(comm)
    data = reply["content"]["data"]["content"]
    assert data["kind"] == "bokeh" and data["header"]["msgtype"] == "PULL-DOC-REPLY"
    doc = json.loads(data["content"])["doc"]
    [root] = doc["roots"]
    slider_id = kernel.value("s.id")

    patch = {
        "events": [{"kind": "ModelChanged", "model": {"id": slider_id}, "attr": "value", "new": 7}]
    }
    kernel.comm_send(comm, frame("PATCH-DOC", patch, msgid="m1"))
    msgs = kernel.comm_msgs(comm, until=2)
    kinds = [(m["content"]["data"]["content"]["header"]["msgtype"]) for m in msgs]
    assert sorted(kinds) == ["OK", "PATCH-DOC"]
    [p] = [m for m in msgs if m["content"]["data"]["content"]["header"]["msgtype"] == "PATCH-DOC"]
    events = json.loads(p["content"]["data"]["content"]["content"])["events"]
    assert events == [
        {"kind": "ModelChanged", "model": {"id": kernel.value("d.id")}, "attr": "text", "new": "v7"}
    ]
    assert kernel.value("d.text") == "v7"


def test_cell_change_reaches_the_frontend(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    kernel.comm_msgs(comm)
    kernel.execute("d.text = 'hello'")
    [p] = kernel.comm_msgs(comm)
    events = json.loads(p["content"]["data"]["content"]["content"])["events"]
    assert events[0]["new"] == "hello"


def test_million_floats_each_way_as_binary_one_message(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    kernel.comm_msgs(comm)
    kernel.execute("w2 = bokeh_nb.BokehWidget(src); display(w2)")
    comm2 = str(kernel.value("w2.comm.comm_id"))
    kernel.comm_send(comm2, frame("PULL-DOC-REQ", {}))
    kernel.comm_msgs(comm2)
    before = kernel.value("w2.session.messages_sent")

    # kernel -> browser
    kernel.execute("src.data = {'x': np.arange(1_000_000, dtype='float64')}")
    [p] = kernel.comm_msgs(comm2, timeout=30)
    assert kernel.value("w2.session.messages_sent") == before + 1, "one Bokeh message"
    data = p["content"]["data"]["content"]
    assert data["header"]["num_buffers"] == 1 and len(p["buffers"]) == 1
    assert len(p["buffers"][0]) == 8_000_000
    assert "base64" not in data["content"] and len(data["content"]) < 2000
    arr = np.frombuffer(p["buffers"][0], dtype="float64")
    assert arr[-1] == 999_999.0

    # browser -> kernel: one comm message carries the whole column as one buffer
    src_id = kernel.value("src.id")
    new = np.linspace(0, 1, 1_000_000)
    content = json.dumps(
        {
            "events": [
                {
                    "kind": "ModelChanged",
                    "model": {"id": src_id},
                    "attr": "data",
                    "new": {
                        "type": "map",
                        "entries": [
                            [
                                "x",
                                {
                                    "type": "ndarray",
                                    "array": {"type": "bytes", "data": {"id": "0"}},
                                    "shape": [1_000_000],
                                    "dtype": "float64",
                                    "order": "little",
                                },
                            ]
                        ],
                    },
                }
            ]
        }
    )
    f = frame("PATCH-DOC", content, msgid="big", num_buffers=1)
    f["buffers"] = ["0"]
    kernel.comm_send(comm2, f, buffers=[new.tobytes()])
    [ok] = kernel.comm_msgs(comm2, timeout=30)
    assert ok["content"]["data"]["content"]["header"]["msgtype"] == "OK"
    assert kernel.value("(float(src.data['x'][-1]), type(src.data['x']).__name__)") == [
        1.0,
        "ndarray",
    ]


def test_malformed_frames_get_error_and_kernel_goes_on(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    bad = [
        {
            "kind": "bokeh",
            "client": "t",
            "header": {"msgid": "x1", "msgtype": "PATCH-DOC"},
            "metadata": {},
            "content": "{not json",
            "buffers": [],
        },
        {
            "kind": "bokeh",
            "client": "t",
            "header": {"msgid": "x2", "msgtype": "PATCH-DOC", "num_buffers": 2},
            "metadata": {},
            "content": "{}",
            "buffers": ["0"],
        },
        {
            "kind": "bokeh",
            "client": "t",
            "header": {"msgid": "x3", "msgtype": "PUSH-DOC"},
            "metadata": {},
            "content": "{}",
            "buffers": [],
        },
        {"kind": "bokeh", "client": "t", "header": "nope", "content": 5},
    ]
    for b in bad:
        kernel.comm_send(comm, b)
    errors = kernel.comm_msgs(comm, until=4)
    heads = [e["content"]["data"]["content"]["header"] for e in errors]
    assert [h["msgtype"] for h in heads] == ["ERROR"] * 4
    assert [h["reqid"] for h in heads][:3] == ["x1", "x2", "x3"]
    kernel.comm_send(comm, {"kind": "who knows"})
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    [reply] = kernel.comm_msgs(comm)
    assert reply["content"]["data"]["content"]["header"]["msgtype"] == "PULL-DOC-REPLY"
    assert kernel.value("1 + 1") == 2


def test_enable_routes_bokeh_show_and_load_ext(kernel: Kernel) -> None:
    kernel.execute("%load_ext bokeh_nb\nimport bokeh_nb")
    msgs = kernel.execute(
        "from bokeh.io import show, output_notebook\nfrom bokeh.models import Div\n"
        "output_notebook()\nshow(Div(text='x'))"
    )
    views = [m for m in msgs if m["msg_type"] in ("display_data", "execute_result")]
    assert len(views) == 1, "shown once, not again as the cell's result"
    data = views[0]["content"]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "install bokeh_nb" in data["text/plain"]
    output = data["application/vnd.bokeh-nb.output+json"]
    assert output["bokeh_version"] == kernel.value("__import__('bokeh').__version__")
    assert output["max_bytes"] == 24 * 2**20 and output["format"] == "1"
    assert "bokeh-nb-fallback" in data["text/html"], "a viewer without scripts says what it is"
    assert not any("cdn.bokeh.org" in json.dumps(m["content"]) for m in msgs)
    msgs = kernel.execute(
        "from bokeh.io import push_notebook\nh = show(Div(text='y'), notebook_handle=True)\n"
        "push_notebook(handle=h)\nbokeh_nb.show(Div(text='z'))"
    )
    shown = [m for m in msgs if m["msg_type"] in ("display_data", "execute_result")]
    assert len(shown) == 2 and all(m["msg_type"] == "display_data" for m in shown)
    msgs = kernel.execute("bokeh_nb.snapshot_limit(1000)\nbokeh_nb.show(Div(text='w'))")
    [shown] = [m for m in msgs if m["msg_type"] == "display_data"]
    assert shown["content"]["data"]["application/vnd.bokeh-nb.output+json"]["max_bytes"] == 1000
    msgs = kernel.execute("bokeh_nb.snapshot_limit(-1)", allow_error=True)
    assert "snapshot_limit takes a number of bytes >= 0" in json.dumps([m["content"] for m in msgs])


def test_showing_a_shown_document_again_adds_a_view_of_the_same_session(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    kernel.execute("bokeh_nb.show(d.document)")
    assert kernel.value("len(bokeh_nb.kernel.runtime.runtime().outputs)") == 1
    msgs = kernel.execute("bokeh_nb.show(d)", allow_error=True)
    assert "bokeh_nb.show(model.document)" in json.dumps([m["content"] for m in msgs])


def test_timeout_next_tick_and_async_callbacks_reach_the_frontend(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    kernel.comm_msgs(comm)
    kernel.execute(
        "import asyncio\ndoc = w.document\n"
        "async def later():\n    await asyncio.sleep(0.05)\n    d.text = 'async done'\n"
        "doc.add_timeout_callback(lambda: setattr(s, 'title', 'timeout fired'), 50)\n"
        "doc.add_next_tick_callback(later)"
    )
    seen: list[object] = []
    for m in kernel.comm_msgs(comm, until=2, timeout=10):
        events = json.loads(m["content"]["data"]["content"]["content"])["events"]
        seen += [e["new"] for e in events]
    assert sorted(map(str, seen)) == ["async done", "timeout fired"]


def test_kernel_shutdown_ends_plain_sessions(kernel: Kernel, tmp_path: Path) -> None:
    marker = tmp_path / "destroyed.txt"
    kernel.execute(
        SETUP
        + f"\nw.document.on_session_destroyed(lambda ctx: open({str(marker)!r}, 'w').write('yes'))"
    )
    kernel.client.shutdown()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not marker.exists():
        time.sleep(0.1)
    assert marker.read_text() == "yes"
