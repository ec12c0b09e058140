"""The benchmark documents, the same for every system (imported by each system's kernel, by
``bokeh serve`` and by bokeh_nb's live app).

The page drives the benchmark document through its own models, so every system carries the
same Bokeh traffic: the page sets ``s.value`` (answered in ``d.text``), writes a JSON
command into ``cmd.value`` (answered in ``out.text``, with the command's ``seq``) and replaces
``up.data``. What differs between systems is only how code runs outside the current event
and how kernel-side changes reach the page: a :class:`Scheduler`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, gridplot
from bokeh.models import ColumnDataSource, LayoutDOM, Range1d
from bokeh.models.widgets import Div, Slider, TextInput
from bokeh.plotting import figure

__all__ = (
    "Scheduler",
    "WireCounter",
    "COUNTER",
    "cycle_layout",
    "doc_bench",
    "grid_layout",
    "loop_bench",
    "modify_doc",
)

Task = Callable[[], None]
Stop = Callable[[], None]

#: Rows kept in the streamed source (a scrolling chart); loss is counted in the page.
STREAM_ROLLOVER = 2000


@dataclass
class Scheduler:
    """How a system runs code after the current event (``later``), periodically
    (``every``, returning a stop function) and makes kernel-side changes reach the page
    (``push``: Panel's ``push_notebook``; a no-op where changes are sent by themselves)."""

    later: Callable[[Task, float], None]
    every: Callable[[Task, float], Stop]
    push: Task


def doc_scheduler(document: Callable[[], Document]) -> Scheduler:
    """Bokeh's own session callbacks on a document (bokeh_nb, ``bokeh serve``,
    ``show(app)``)."""

    def later(task: Task, seconds: float) -> None:
        document().add_timeout_callback(task, int(seconds * 1000))

    def every(task: Task, ms: float) -> Stop:
        doc = document()
        callback = doc.add_periodic_callback(task, int(ms))
        return lambda: doc.remove_periodic_callback(callback)

    return Scheduler(later, every, lambda: None)


def loop_scheduler(push: Task) -> Scheduler:
    """The kernel's tornado IOLoop (jupyter_bokeh and Panel have no session callbacks): the
    loop of the thread that handles the event (JupyterLab 4.6 may send comm messages to a
    subshell, which ipykernel runs on a thread and loop of its own)."""
    from tornado.ioloop import IOLoop, PeriodicCallback

    def later(task: Task, seconds: float) -> None:
        IOLoop.current().call_later(seconds, task)

    def every(task: Task, ms: float) -> Stop:
        periodic = PeriodicCallback(task, ms)
        periodic.start()
        return periodic.stop

    return Scheduler(later, every, push)


@dataclass
class WireCounter:
    """Messages (comm messages, or websocket frames) and their bytes, sent toward pages."""

    messages: int = 0
    bytes: int = 0
    _mark: tuple[int, int] = (0, 0)
    _serialized: list[int] = field(default_factory=lambda: [0])

    def add(self, nbytes: int) -> None:
        self.messages += 1
        self.bytes += nbytes

    def mark(self) -> None:
        self._mark = (self.messages, self.bytes)

    def since_mark(self) -> dict[str, int]:
        return {"messages": self.messages - self._mark[0], "bytes": self.bytes - self._mark[1]}

    def count_comm_messages(self) -> None:
        """Count the comm messages this IPython kernel sends (header, parent, metadata and
        content as serialized, plus binary buffers). Measurement only: the session's
        methods are wrapped on this kernel's own session object."""
        from IPython import get_ipython

        session = get_ipython().kernel.session
        if getattr(session.send, "_bench_counter", None) is self:
            return
        serialize, send = session.serialize, session.send

        def counting_serialize(msg: dict[str, Any], ident: Any = None) -> list[bytes]:
            frames: list[bytes] = serialize(msg, ident)
            self._serialized[0] = sum(len(f) for f in frames[-4:])
            return frames

        def counting_send(stream: Any, msg_or_type: Any, *args: Any, **kwargs: Any) -> Any:
            msg = send(stream, msg_or_type, *args, **kwargs)
            if msg is not None and msg["header"]["msg_type"] == "comm_msg":
                buffers = kwargs.get("buffers") or (args[3] if len(args) > 3 else None) or []
                self.add(self._serialized[0] + sum(memoryview(b).nbytes for b in buffers))
            return msg

        counting_send._bench_counter = self  # type: ignore[attr-defined]
        session.serialize = counting_serialize
        session.send = counting_send

    def count_websocket_frames(self) -> None:
        """Count the frames Bokeh's websocket handler writes in this process (a Bokeh
        server: ``bokeh serve``, or the one ``show(app)`` starts in the kernel)."""
        from bokeh.server.views.ws import WSHandler

        write = WSHandler.write_message
        if getattr(write, "_bench_counter", None) is self:
            return

        def counting_write(handler: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
            self.add(len(message.encode() if isinstance(message, str) else message))
            return write(handler, message, *args, **kwargs)

        counting_write._bench_counter = self  # type: ignore[attr-defined]
        WSHandler.write_message = counting_write  # type: ignore[method-assign,assignment]


def release_free_memory() -> None:
    """Have glibc's allocator hand its free pages back to the system (``malloc_trim``), so
    that the resident set counts the memory still held rather than the most ever held:
    the sessions a burst of cycles leaves lingering at once raise that high-water mark in
    every system, and what they free stays resident until trimmed."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: RSS as it is
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_bytes() -> int:
    """This process's resident set size, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Bench:
    """The benchmark document's models and the kernel half of every measurement."""

    def __init__(self, sched: Scheduler, counter: WireCounter) -> None:
        self.sched = sched
        self.counter = counter
        self.s = Slider(start=0, end=10**7, value=0, step=1, name="s", width=300)
        self.d = Div(text="-", name="d")
        self.cmd = TextInput(value="", name="cmd", width=300)
        self.out = Div(text=json.dumps({"seq": 0, "pid": os.getpid()}), name="out")
        self.bulk = ColumnDataSource(data={"x": np.zeros(0), "y": np.zeros(0)}, name="bulk")
        self.up = ColumnDataSource(data={"x": np.zeros(0)}, name="up")
        self.live = ColumnDataSource(data={"i": np.zeros(0), "y": np.zeros(0)}, name="live")
        self.plot = figure(width=500, height=200, tools="", toolbar_location=None, name="plot")
        self.plot.line("i", "y", source=self.live)
        # what a user sees update: a scatter of two fresh float64 columns, drawn
        self.scatter = ColumnDataSource(data={"x": np.zeros(0), "y": np.zeros(0)}, name="scatter")
        self.splot = figure(width=500, height=300, tools="", toolbar_location=None, name="splot")
        self.splot.scatter("x", "y", source=self.scatter, size=2)
        # bulk and up belong to the document without being drawn: a glyph would add
        # BokehJS's own indexing of the data to the transfer time; and out, the answers'
        # channel, likewise: a rendered Div's change lays the page out (BokehJS 3.9.2),
        # which would add to every time that an answer ends (an upload's)
        self.out.tags = [self.bulk, self.up]
        self.cmd.tags = [self.out]
        self.s.on_change("value", self._slid)
        self.cmd.on_change("value", self._command)
        self.up.on_change("data", self._uploaded)
        self.up.selected.on_change("indices", self._selected)
        self._stream: dict[str, Any] = {}
        self._last_seq: int | None = None
        INSTANCES.append(self)

    def layout(self, name: str = "bench") -> LayoutDOM:
        return column(self.s, self.d, self.cmd, self.plot, self.splot, name=name)

    def reply(self, seq: int, **values: Any) -> None:
        self.out.text = json.dumps({"seq": seq, **values})
        self.sched.push()

    def _slid(self, _attr: str, _old: Any, new: Any) -> None:
        probes = self._stream.get("probes")
        if probes is not None and "done" not in self._stream:  # when Python saw the probe
            probes.append([new, time.time() * 1000])
        self.d.text = str(new)
        self.sched.push()

    def _uploaded(self, _attr: str, _old: Any, new: Any) -> None:
        x = new["x"]
        self.reply(-1, up=len(x), first=float(x[0]) if len(x) else None)

    def _selected(self, _attr: str, _old: Any, new: Any) -> None:
        self.reply(-1, selected=len(new), first_selected=new[0] if len(new) else None)

    def _command(self, _attr: str, _old: Any, new: Any) -> None:
        if not new:
            return
        command = json.loads(new)
        seq, op = int(command["seq"]), command["op"]
        if self._last_seq == seq:  # jupyter_bokeh runs on_change twice; or asked again
            answer = json.loads(self.out.text)
            if "again" in command and answer.get("seq") == seq:  # answered, but it was lost
                self.out.text = json.dumps({**answer, "again": command["again"]})
                self.sched.push()
            return
        self._last_seq = seq
        handler = getattr(self, f"op_{op}")
        handler(seq, **command.get("args", {}))

    # ---- operations the page asks for --------------------------------------------------

    def op_ping(self, seq: int) -> None:
        self.reply(seq)

    def op_push(self, seq: int, n: int, delay: float = 0.0) -> None:
        """Replace bulk's data with two float64 columns of n values, in a callback of its
        own (so it travels as one Bokeh message); x[0] is seq, so the page knows it.
        Timed (no delay), the reply follows the data (see ``reply_after``); with a delay
        (the wire count), it goes first, before the count starts."""

        def assign() -> None:
            self.counter.mark()
            x = np.arange(n, dtype="float64") + seq
            self.bulk.data = {"x": x, "y": np.ones(n)}
            self.sched.push()
            if not delay:
                self.reply_after(seq, scheduled=True)

        if delay:
            self.reply(seq, scheduled=True)
        self.sched.later(assign, delay)

    def reply_after(self, seq: int, **values: Any) -> None:
        """Reply in a callback after this one, so that the reply reaches the page after
        the data just changed: a cell that sets a source's data sends nothing before it,
        and a reply handled first (a Div's text, which lays out the page) would make the
        data wait in the page."""
        self.sched.later(lambda: self.reply(seq, **values), 0)

    def op_update(self, seq: int, n: int) -> None:
        """Replace the drawn scatter's data with two fresh float64 columns of n random
        values in [0, 1), as a cell would; x[0] is ``seq * 1e-9``, so the page knows it."""

        def assign() -> None:
            rng = np.random.default_rng(seq)
            x = rng.random(n)
            x[0] = seq * 1e-9
            self.scatter.data = {"x": x, "y": rng.random(n)}
            self.sched.push()
            self.reply_after(seq, scheduled=True)

        self.sched.later(assign, 0)

    def op_saturate(self, seq: int, rows: int, seconds: float) -> None:
        """Stream ``rows`` rows at a time for ``seconds``, each batch as soon as the one
        before has been handed on (no timer: as fast as the kernel can); then report, with
        the wall-clock time at which Python saw each of the page's probes (slider values)."""
        state = self._stream = {"sent": 0, "ticks": 0, "seq": seq, "probes": []}
        start = time.monotonic()

        def tick() -> None:
            self._stream_batch(state, rows)
            if time.monotonic() - start >= seconds:
                state["done"] = True
                self.sched.later(lambda: self.op_stream_stats(seq), 0.2)
            else:
                self.sched.later(tick, 0)

        self.sched.later(tick, 0)

    def op_wire(self, seq: int) -> None:
        """What was sent toward the pages since the last push started."""
        self.reply(seq, **self.counter.since_mark())

    def op_clear(self, seq: int) -> None:
        self.bulk.data = {"x": np.zeros(0), "y": np.zeros(0)}
        self.scatter.data = {"x": np.zeros(0), "y": np.zeros(0)}
        self.up.data = {"x": np.zeros(0)}
        self.reply(seq)

    def op_rss(self, seq: int) -> None:
        gc.collect()
        release_free_memory()
        self.reply(seq, rss=rss_bytes(), pid=os.getpid())

    def op_stream(self, seq: int, rows: int, period_ms: float, seconds: float) -> None:
        """Stream ``rows`` rows every ``period_ms`` for ``seconds``; then report."""
        state = self._stream = {"sent": 0, "ticks": 0, "seq": seq}
        start = time.monotonic()

        def tick() -> None:
            if state.get("done"):
                return
            self._stream_batch(state, rows)
            if time.monotonic() - start >= seconds:
                state["done"] = True
                stop()
                self.sched.later(lambda: self.op_stream_stats(seq), 0.2)

        stop = self.sched.every(tick, period_ms)

    def _stream_batch(self, state: dict[str, Any], rows: int) -> None:
        """Stream the next ``rows`` numbered rows into the plotted source."""
        first = state["sent"]
        i = np.arange(first, first + rows, dtype="float64")
        self.live.stream({"i": i, "y": np.sin(i / 50.0)}, rollover=STREAM_ROLLOVER)
        self.sched.push()
        state["sent"] += rows
        state["ticks"] += 1

    def op_stream_stats(self, seq: int) -> None:
        state = self._stream
        self.reply(
            seq,
            sent=state.get("sent"),
            ticks=state.get("ticks"),
            done="done" in state,
            **({"probes_seen": state["probes"]} if "probes" in state else {}),
        )


def register_echo(target: str = "bench_echo") -> None:
    """A bare comm target, the notebook's floors with no Bokeh in them. A message with
    binary buffers is answered with their size in bytes (the comm's upload floor); one
    asking for ``n`` is answered with two fresh float64 columns of n zeros as two buffers
    (its transfer floor toward the page); any other message goes straight back (the
    comm-echo floor of the round trip)."""
    from comm import get_comm_manager

    def answer(comm: Any, msg: dict[str, Any]) -> None:
        data, buffers = msg["content"]["data"], msg.get("buffers") or []
        if buffers:
            size = sum(memoryview(b).nbytes for b in buffers)
            comm.send({"i": data.get("i"), "bytes": size})
        elif "n" in data:
            n = int(data["n"])
            comm.send({"i": data.get("i"), "n": n}, buffers=[np.zeros(n), np.zeros(n)])
        else:
            comm.send(data)

    def opened(comm: Any, _msg: dict[str, Any]) -> None:
        comm.on_msg(lambda msg: answer(comm, msg))

    get_comm_manager().register_target(target, opened)


def websockets_nodelay() -> None:
    """TCP_NODELAY on every websocket of this Bokeh server (Nagle's algorithm off): the
    best round trip Bokeh's own server can give."""
    from bokeh.server.views.ws import WSHandler

    open_ = WSHandler.open
    if getattr(open_, "_bench_nodelay", False):
        return

    def nodelay_open(handler: Any) -> Any:
        handler.set_nodelay(True)
        return open_(handler)

    nodelay_open._bench_nodelay = True  # type: ignore[attr-defined]
    WSHandler.open = nodelay_open  # type: ignore[method-assign]


def loop_bench(push: Task, name: str = "bench") -> LayoutDOM:
    """The benchmark layout, run by the kernel's IOLoop; ``push`` after each change."""
    return Bench(loop_scheduler(push), COUNTER).layout(name)


def grid_layout(plots: int, name: str) -> LayoutDOM:
    """``plots`` small line plots in a grid, sharing ranges and one source: about ten
    models per plot (100 plots: about 1,100 models)."""
    x = np.linspace(0, 10, 50)
    source = ColumnDataSource(data={"x": x, "y": np.sin(x)})
    x_range, y_range = Range1d(start=0, end=10), Range1d(start=-1.1, end=1.1)
    figures: list[Any] = []
    for _ in range(plots):
        p = figure(
            width=110,
            height=80,
            tools="",
            toolbar_location=None,
            x_range=x_range,
            y_range=y_range,
            x_axis_type=None,
            y_axis_type=None,
            min_border=2,
        )
        p.grid.visible = False
        p.line("x", "y", source=source)
        figures.append(p)
    grid = gridplot(figures, ncols=10, toolbar_location=None)
    grid.name = name
    return grid


def cycle_layout(name: str) -> LayoutDOM:
    """What one display -> clear cycle shows: a slider, a text and a plot of 1,000 points."""
    x = np.arange(1000, dtype="float64")
    p = figure(width=300, height=150, tools="", toolbar_location=None)
    p.line(x, np.sin(x / 30.0))
    return column(Slider(start=0, end=10, value=1, step=1), Div(text=name), p, name=name)


def doc_bench(name: str = "bench") -> LayoutDOM:
    """The benchmark layout, run by the session callbacks of the document it is shown in."""
    shown: list[LayoutDOM] = []

    def document() -> Document:
        doc = shown[0].document
        assert doc is not None, "the benchmark layout is not shown yet"
        return doc

    layout = Bench(doc_scheduler(document), COUNTER).layout(name)
    shown.append(layout)
    return layout


def modify_doc(doc: Document) -> None:
    """The one app of ``bokeh serve`` and bokeh_nb's live app: ``?view=bench`` (the
    default), ``?view=grid&plots=100&name=...`` or ``?view=cycle&name=...``."""
    request = getattr(doc.session_context, "request", None)
    args = request.arguments if request is not None else {}

    def arg(key: str, default: str) -> str:
        values = args.get(key)
        return values[0].decode() if values else default

    view, name = arg("view", "bench"), arg("name", "bench")
    if view == "grid":
        doc.add_root(grid_layout(int(arg("plots", "100")), name))
    elif view == "cycle":
        doc.add_root(cycle_layout(name))
    else:
        doc.add_root(Bench(doc_scheduler(lambda: doc), COUNTER).layout(name))


#: The benchmark documents of this process, latest last (a notebook cell can read what
#: the kernel sent when the page heard nothing back).
INSTANCES: list[Bench] = []

#: The one wire counter of this process: its hook is installed by whoever runs the app
#: (``count_comm_messages`` in a kernel, ``count_websocket_frames`` in a Bokeh server).
COUNTER = WireCounter()
