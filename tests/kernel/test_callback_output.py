"""What callbacks print, in a real ipykernel: a notebook output's callbacks' text reaches
that output's comm as stream frames (never an iopub stream of some cell), a full page's
goes to the kernel's log and the app's notebook outputs, never to the page."""

from __future__ import annotations

import asyncio
import io
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bokeh_nb.kernel.streams import MAX_TEXT_PER_TURN, CallbackOutput
from bokeh_nb.protocol import SESSION_TARGET

from .conftest import Kernel, frame

SETUP = """
import logging, bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
d = Div(text="0"); s = Slider(start=0, end=10, value=1)
def cb(attr, old, new):
    print("value is", new)
    logging.warning("warned at %s", new)
    d.text = f"v{new}"
s.on_change("value", cb)
w = bokeh_nb.BokehWidget(column(s, d)); display(w)
"""


def widget_comm(kernel: Kernel) -> str:
    return str(kernel.value("w.comm.comm_id"))


def drag(kernel: Kernel, comm: str, slider: str, value: int, client: str = "t1") -> None:
    patch = {
        "events": [{"kind": "ModelChanged", "model": {"id": slider}, "attr": "value", "new": value}]
    }
    kernel.comm_send(comm, frame("PATCH-DOC", patch, client=client))


def streams(kernel: Kernel, comm: str, until: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The stream frames on the widget comm, until `until` of them arrived."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < until and time.monotonic() < deadline:
        for msg in kernel.comm_msgs(comm, timeout=max(0.1, deadline - time.monotonic())):
            data = msg["content"]["data"]["content"]
            if data.get("kind") == "stream":
                got.append(data)
    return got


def iopub_texts(kernel: Kernel) -> str:
    """Every iopub stream text seen so far (whichever request it was sent for)."""
    return "".join(m["content"]["text"] for m in kernel.iopub if m["msg_type"] == "stream")


def drain(kernel: Kernel, seconds: float) -> None:
    """Read iopub for a while, so that late stream messages would be seen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg = kernel.client.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            continue
        kernel.iopub.append(msg)
        if msg["msg_type"] == "comm_msg":
            kernel.backlog.append(msg)


def test_a_slider_callbacks_print_and_warning_reach_its_output_once(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.comm_send(comm, frame("PULL-DOC-REQ", {}))
    kernel.comm_msgs(comm)
    drag(kernel, comm, kernel.value("s.id"), 7)
    got = streams(kernel, comm, until=2)
    assert {(g["name"], g["text"], g["client"]) for g in got} == {
        ("stdout", "value is 7\n", "t1"),
        ("stderr", "WARNING:root:warned at 7\n", "t1"),
    }
    drain(kernel, 1.0)
    assert not [g for g in streams(kernel, comm, until=1, timeout=0.5)]  # once
    # never (also) an iopub stream: the kernel would send it for the comm message, which
    # no notebook cell shows, or for whichever cell ran last
    assert "value is" not in iopub_texts(kernel) and "warned at" not in iopub_texts(kernel)
    assert kernel.value("d.text") == "v7"


def test_periodic_and_async_callbacks_print_to_the_output_and_cells_to_themselves(
    kernel: Kernel,
) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.execute(
        "import asyncio\n"
        "ticks = []\n"
        "def tick():\n    ticks.append(1); print('tick', len(ticks))\n"
        "pc = w.document.add_periodic_callback(tick, 100)\n"
        "async def slow():\n"
        "    print('async before')\n    await asyncio.sleep(0.5)\n    print('async after')\n"
        "w.document.add_next_tick_callback(slow)\n"
    )
    # a cell printing while the coroutine waits prints into its own cell
    cell = kernel.execute("print('from the cell')")
    assert [m["content"]["text"] for m in cell if m["msg_type"] == "stream"] == ["from the cell\n"]
    got = streams(kernel, comm, until=5)
    text = "".join(g["text"] for g in got)
    assert "async before\n" in text and "tick 1\n" in text and "tick 2\n" in text
    assert "async after\n" in text and "from the cell" not in text
    assert all("client" not in g for g in got)  # no page's event ran them: every page shows it
    kernel.execute("w.document.remove_periodic_callback(pc)")
    assert "tick" not in iopub_texts(kernel) and "async" not in iopub_texts(kernel)


def test_a_callback_that_prints_and_fails_shows_both(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    comm = widget_comm(kernel)
    kernel.execute(
        "def bad(attr, old, new):\n    print('about to fail')\n    raise ValueError('no')\n"
        "s.on_change('value', bad)"
    )
    drag(kernel, comm, kernel.value("s.id"), 3)
    text = "".join(g["text"] for g in streams(kernel, comm, until=3))
    assert "about to fail\n" in text and "value is 3\n" in text
    # the traceback is not printed text: it comes as the ERROR reply, as before
    assert "Traceback" not in text


PAGE_APP = """
import logging, bokeh_nb
from bokeh.models import Slider
records = []
class Keep(logging.Handler):
    def emit(self, record): records.append(record.getMessage())
logging.getLogger("bokeh_nb").addHandler(Keep())
logging.getLogger("bokeh_nb").setLevel(logging.INFO)
def make(doc):
    print("document made")
    s = Slider(start=0, end=10, value=1, name="s")
    s.on_change("value", lambda a, o, n: print("page printed", n))
    doc.add_root(s)
app = bokeh_nb.App(make, name="printer")
w = bokeh_nb.BokehWidget(app); display(w)
"""


def test_a_full_pages_print_goes_to_the_kernel_log_and_the_authors_output_not_the_page(
    kernel: Kernel,
) -> None:
    kernel.execute(PAGE_APP)
    notebook = widget_comm(kernel)
    kc = kernel.client
    page = f"page-{time.monotonic_ns()}"
    data = {"app": "printer", "arguments": {}, "visitor": "interact"}
    content = {"comm_id": page, "target_name": SESSION_TARGET, "data": data}
    kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", content))
    send = kc.session.msg(
        "comm_msg", {"comm_id": page, "data": frame("PULL-DOC-REQ", {}, client="ws")}
    )
    kc.session.send(kc.shell_channel.socket, send)
    slider = kernel.value(
        "next((r.id for x in app.sessions if x.standalone for r in x.document.roots), None)"
    )
    assert slider is not None
    patch = {
        "events": [{"kind": "ModelChanged", "model": {"id": slider}, "attr": "value", "new": 9}]
    }
    msg = kc.session.msg(
        "comm_msg", {"comm_id": page, "data": frame("PATCH-DOC", patch, client="ws")}
    )
    kc.session.send(kc.shell_channel.socket, msg)
    marked = streams(kernel, notebook, until=2)
    assert [m["text"] for m in marked] == [
        "[a page of app 'printer'] document made\n",  # while its document was made
        "[a page of app 'printer'] page printed 9\n",
    ]
    assert all("client" not in m for m in marked)
    drain(kernel, 1.0)
    to_page = [
        m["content"]["data"]
        for m in kernel.iopub
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == page
    ]
    assert to_page and not [d for d in to_page if d.get("kind") == "stream"]
    assert "page printed" not in repr(to_page) and "page printed" not in iopub_texts(kernel)
    logged = kernel.value("records")
    assert any("printer" in r and "page printed 9" in r for r in logged), logged
    assert any("printer" in r and "document made" in r for r in logged), logged


# ---- the routing itself, without a kernel ---------------------------------------------


class Stream(io.StringIO):
    """A stream like ipykernel's OutStream: an instance of a Python class."""


class Loop:
    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def add_callback(self, fn: Callable[[], None]) -> None:
        self.callbacks.append(fn)

    def turn(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for fn in callbacks:
            fn()


def make_output(client: str | None = None) -> tuple[CallbackOutput, Loop, list[tuple[Any, ...]]]:
    sent: list[tuple[Any, ...]] = []
    loop = Loop()
    output = CallbackOutput(lambda *a: sent.append(a), loop, lambda: client)  # type: ignore[arg-type]
    return output, loop, sent


def test_only_user_code_is_captured_and_the_stream_stays_the_same_object(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, err = Stream(), Stream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    output, loop, sent = make_output("c1")
    print("before")
    with output.capturing():
        print("in the callback")
        print("to stderr", file=sys.stderr)
        other = threading.Thread(target=lambda: print("another thread"))
        other.start()
        other.join()
    print("after")
    assert sys.stdout is out and isinstance(sys.stdout, Stream)
    assert out.getvalue() == "before\nanother thread\nafter\n" and err.getvalue() == ""
    assert sent == []  # sent at the loop's next turn, merged
    loop.turn()
    assert sent == [("stdout", "in the callback\n", "c1"), ("stderr", "to stderr\n", "c1")]


def test_an_async_callback_keeps_its_output_across_awaits_a_cell_does_not_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = Stream()
    monkeypatch.setattr(sys, "stdout", out)
    output, loop, sent = make_output()

    async def callback() -> None:
        with output.capturing():
            print("step 1")
            await asyncio.sleep(0.01)
            print("step 2")

    async def cell() -> None:
        await asyncio.sleep(0.005)
        print("the cell")

    async def main() -> None:
        await asyncio.gather(callback(), cell())

    asyncio.run(main())
    loop.turn()
    assert out.getvalue() == "the cell\n"
    assert sent == [("stdout", "step 1\nstep 2\n", None)]


def test_a_turns_output_is_bounded() -> None:
    output, loop, sent = make_output()
    output.write("stdout", "x" * (MAX_TEXT_PER_TURN - 10))
    output.write("stdout", "y" * 30)
    output.write("stderr", "z" * 5)
    loop.turn()
    [(name, text, _), (note_name, note, _)] = sent
    assert name == "stdout" and len(text) == MAX_TEXT_PER_TURN and text.endswith("y" * 10)
    assert note_name == "stderr" and "25 more characters" in note
    sent.clear()
    output.write("stdout", "next turn\n")
    loop.turn()
    assert sent == [("stdout", "next turn\n", None)]
