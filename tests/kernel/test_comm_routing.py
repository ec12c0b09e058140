"""A comm's incoming messages are handled on the shell their sender names, even after the
kernel published on that comm from another one (``_ipykernel.route_by_sender``): ipykernel
7.4 would send them to the shell of the last publish instead, and one sender's messages,
split over two threads, could overtake one another."""

from __future__ import annotations

import queue
import time

from bokeh_nb import wire

from .conftest import Kernel, frame
from .test_relay_batches import open_page

QUIET = """
import bokeh_nb
from bokeh.models import Div
app = bokeh_nb.App(lambda doc: doc.add_root(Div(text="quiet")), name="ticker")
"""

RECORD = """
import threading
from IPython import get_ipython
_comm = get_ipython().kernel.comm_manager.get_comm("routed")
_threads = []
_handle = _comm._msg_callback
def _recorded(msg):
    _threads.append(threading.current_thread().name)
    _handle(msg)
_comm.on_msg(_recorded)
"""


def run_on_subshell(kernel: Kernel, subshell_id: str, code: str) -> None:
    kc = kernel.client
    content = {"code": code, "silent": False, "store_history": False}
    msg = kc.session.msg("execute_request", {**content, "user_expressions": {}})
    msg["header"]["subshell_id"] = subshell_id
    kc.session.send(kc.shell_channel.socket, msg)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = kc.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            assert reply["content"]["status"] == "ok", reply["content"]
            return
    raise AssertionError("the subshell did not answer")


def test_a_session_comms_messages_stay_on_the_shell_their_sender_names(kernel: Kernel) -> None:
    kc = kernel.client
    kernel.execute(QUIET)
    open_page(kernel, "routed", batches=False, acknowledges=True)
    kernel.execute(RECORD)
    kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
    subshell_id = kc.get_control_msg(timeout=30)["content"]["subshell_id"]
    # the kernel publishes on the comm from the subshell (ipykernel notes where from)
    run_on_subshell(kernel, subshell_id, "_comm.send({'kind': 'views', 'count': 0})")
    for seq in (1, 2, 3):  # the server's messages name no subshell: the main shell's
        msg = kc.session.msg("comm_msg", {"comm_id": "routed", "data": wire.ack_frame("ws", seq)})
        kc.session.send(kc.shell_channel.socket, msg)
    deadline = time.monotonic() + 10
    while len(threads := kernel.value("_threads")) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threads == ["MainThread"] * 3, threads


WIDGET = """
import bokeh_nb
from bokeh.models import Div, Slider
from bokeh.layouts import column
d = Div(text="0"); s = Slider(start=0, end=10, value=1)
s.on_change("value", lambda a, o, n: setattr(d, "text", f"v{n}"))
w = bokeh_nb.BokehWidget(column(s, d)); display(w)
"""

#: an async cell on the main shell that changes the output while it runs
ASYNC_CELL = """
import asyncio
for i in range(30):
    d.text = f"cell {i}"
    await asyncio.sleep(0.1)
"""


def test_a_page_event_sent_on_a_subshell_is_handled_while_an_async_cell_runs(
    kernel: Kernel,
) -> None:
    """JupyterLab sends a page's comm messages on a subshell of their own: with the
    widget's comm routed by its sender, a page's event that comes while an async cell
    updates the output is handled during the cell's awaits, and its answer comes before
    the cell ends. (This held before the routing change too; it guards the widget's
    comm, where the first test guards a session's.)"""
    kc = kernel.client
    kernel.execute(WIDGET)
    comm_id, slider = kernel.value("[w.comm.comm_id, s.id]")
    kc.control_channel.send(kc.session.msg("create_subshell_request", {}))
    subshell_id = kc.get_control_msg(timeout=30)["content"]["subshell_id"]
    cell = kc.execute(ASYNC_CELL)
    time.sleep(0.8)  # the cell has published on the comm by now
    change = {"kind": "ModelChanged", "model": {"id": slider}, "attr": "value", "new": 7}
    data = {"method": "custom", "content": frame("PATCH-DOC", {"events": [change]}, msgid="p1")}
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    msg["header"]["subshell_id"] = subshell_id
    kc.session.send(kc.shell_channel.socket, msg)
    order: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = kc.get_iopub_msg(timeout=30)
        content = got["content"]
        if got["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
            frame_ = content["data"].get("content", {})
            if frame_.get("header", {}).get("msgtype") == "OK":
                order.append("answer")
        elif (
            got["parent_header"].get("msg_id") == cell and content.get("execution_state") == "idle"
        ):
            order.append("cell ended")
            break
    assert order == ["answer", "cell ended"], order
    assert kernel.value("[s.value, d.text]") == [7, "cell 29"]  # the cell changed d last


#: two cells that await, as a notebook's cells do that wait for a page or a subprocess
AWAITING = "import asyncio; await asyncio.sleep(0.01)"


def test_comm_messages_while_cells_run_leave_each_cell_its_own_end(kernel: Kernel) -> None:
    """A session's comm messages that arrive while awaiting cells run and queue
    (``_ipykernel.keep_request_parents``): every cell's idle status names that cell,
    once. Without it, ipykernel 7.4 set a finished cell's parent back over the next
    one's, whose idle then named the finished cell, and a page waited for that cell
    forever (19 of this test's 40 cells, checked without it)."""
    kc = kernel.client
    kernel.execute(QUIET)
    open_page(kernel, "busy", batches=False, acknowledges=True)
    assert kernel.value("get_ipython().kernel._bokeh_nb_keeps_parents") is True
    cells: list[str] = []
    seq = 0
    for _ in range(20):
        cells += [kc.execute(AWAITING), kc.execute(AWAITING)]
        until = time.monotonic() + 0.03  # the server's messages, as the cells run
        while time.monotonic() < until:
            seq += 1
            data = wire.ack_frame("ws", seq)
            kc.session.send(
                kc.shell_channel.socket,
                kc.session.msg("comm_msg", {"comm_id": "busy", "data": data}),
            )
            time.sleep(0.0005)
    last = kc.execute("pass")  # every status of the rounds comes before this one's idle
    idles: dict[str, int] = {}
    deadline = time.monotonic() + 60
    while idles.get(last, 0) == 0 and time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            parent = msg["parent_header"].get("msg_id", "")
            idles[parent] = idles.get(parent, 0) + 1
    assert idles.get(last), "the kernel did not finish the rounds"
    missing = [c for c in cells if c not in idles]
    twice = [c for c in cells if idles.get(c, 0) > 1]
    assert not missing and not twice, f"{len(missing)} cells never ended, {len(twice)} twice"
