"""What a kernel session sends its browsers, and when.

Every message goes out through ``Outgoing.send`` as one frame numbered in order (``seq``,
what notebook pages acknowledge), over the session's ``Channel`` (the ``BokehWidget``
comm, or the server-extension relay). The document's change events

- are batched per IOLoop turn into one PATCH-DOC, merging repeated changes of one property
  (latest wins) and consecutive streams to one source (``merging.py``), within a
  kernel-wide message budget and, for a notebook output, a window of frames its pages
  have not yet acknowledged (``flow.py``);
- go out at once when code outside any callback (a notebook cell) made them and nothing
  went out in the last ``cell_flush_interval``, so a cell that loops and sleeps still
  updates its output live while a burst of changes is merged;
- push back on the session's own callbacks: while the window holds and a frame's worth
  of changes for a lagging page (``AckWindow.merge_until``) is pending, a periodic,
  timeout or next-tick callback waits (``backlog``) until they have gone out, so a stream
  made faster than its pages can draw stays near what they can draw, and an answer to a
  page waits behind little of it;
- keep echo suppression per browser client: a change that came from client X is sent in
  a run of its own tagged ``origin: X``, and only when some other client is listening.
"""

from __future__ import annotations

import asyncio
import enum
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .. import _bokeh
from .flow import AckWindow, MessageBudget, carries_columns, event_bytes
from .merging import joined, merge_event

if TYPE_CHECKING:
    from bokeh.document.events import DocumentPatchedEvent
    from tornado.ioloop import IOLoop

__all__ = ("Channel", "Outgoing")


class Channel(Protocol):
    """What carries a session's frames to its browsers."""

    def send_message(self, msg: _bokeh.Message[Any], seq: int, acknowledge: bool = False) -> None:
        """Carry msg, the session's frame number seq (a notebook page acknowledges it; at
        once if acknowledge)."""

    def send_error(self, text: str, traceback: str) -> None:
        """Report a failed callback of the session (a frame outside the numbering)."""


#: Changes from one origin (the browser client they came from, None for the kernel's own)
Run = tuple[str | None, list["DocumentPatchedEvent"]]


class _Flush(enum.Enum):
    """When the pending runs are sent next, unless something sends them sooner."""

    UNSCHEDULED = enum.auto()
    NEXT_TURN = enum.auto()  # at the IOLoop's next turn
    TIMER = enum.auto()  # when the ack window's or the budget's wait is over


class Outgoing:
    """A session's frames toward its browsers: ``clients`` are the session's browser
    clients, read to know whether an echo has anyone else to go to."""

    #: Changes made outside any callback (a cell) go out at once, unless something went
    #: out less than this long ago: then they wait for the loop turn (or the next change),
    #: merged. A cell that sleeps between changes updates live; a burst becomes one patch.
    cell_flush_interval: float = 0.02

    def __init__(
        self,
        channel: Channel,
        loop: IOLoop,
        budget: MessageBudget,
        clients: Mapping[str, int],
    ) -> None:
        self._channel = channel
        self._loop = loop
        self._thread = threading.get_ident()
        self._budget = budget
        self._clients = clients
        #: frames ahead of the pages that acknowledge them
        self.window = AckWindow()
        self._runs: list[Run] = []
        self._run_bytes: list[int] = []  # about how many bytes each run adds to its patch
        self._backlog: asyncio.Future[None] | None = None  # what waiting callbacks await
        self._flush = _Flush.UNSCHEDULED
        self._timer: object | None = None  # the loop's handle while _Flush.TIMER
        self._last_flush = 0.0
        self._closed = False

    @property
    def frames_sent(self) -> int:
        """Frames numbered so far: every message sent."""
        return self.window.sent

    def send(self, msg: _bokeh.Message[Any], columns: bool = True) -> None:
        """Send msg now, as the next numbered frame; columns: it may carry column data
        (``carries_columns``)."""
        buffers = _bokeh.message_buffers(msg)
        nbytes = len(_bokeh.content_json(msg)) + sum(memoryview(b).nbytes for _, b in buffers)
        seq = self.window.next_seq(nbytes, columns)
        self._channel.send_message(msg, seq, self.window.wants_ack())

    def backlog(self) -> asyncio.Future[None] | None:
        """None if a session callback may run now; else what it should await first: the
        window holds and a frame's worth of changes is pending (the future is done once
        they have gone out, or the session has closed)."""
        if self._backlog is not None:
            return self._backlog
        pending = sum(self._run_bytes)
        if self._closed or pending < self.window.merge_until:
            return None
        if self.window.hold_for(pending) is None:
            return None
        self._backlog = self._loop.asyncio_loop.create_future()  # type: ignore[attr-defined]
        return self._backlog

    def add(self, event: DocumentPatchedEvent, origin: str | None, from_cell: bool) -> None:
        """A change of the document, from browser client origin (None: the kernel's own);
        from_cell: made by code outside any callback or browser patch."""
        if self._closed:
            return
        before = sum(self._run_bytes)
        if not self._runs or self._runs[-1][0] != origin:
            self._runs.append((origin, []))
            self._run_bytes.append(0)
        merge_event(event, self._runs[-1][1])
        size = event_bytes(event)
        self._run_bytes[-1] += size
        if self._flush is _Flush.TIMER and before < self.window.merge_until <= before + size:
            self._cancel_timer()  # a frame's worth for a page that lags: it may go now
        on_loop_thread = threading.get_ident() == self._thread
        idle = time.monotonic() - self._last_flush >= self.cell_flush_interval
        if from_cell and on_loop_thread and idle:
            self.flush()  # from cell code: send now, the loop may not turn for a while
        else:
            self._schedule(0.0)

    def flush(self, force: bool = False, answer: bool = False) -> None:
        """Send what is pending, as far as the kernel's message budget allows (or all);
        answer: a page's PATCH-DOC has just been applied, so what is pending (what its
        callbacks changed, after what the window held) goes now even while the window
        holds: that page waits for it. BokehJS's range updates after a streamed frame
        are such PATCH-DOCs too, so a lagging page that sends them gets the next frame
        when its update arrives: at most one frame more per PATCH-DOC of the page."""
        while self._runs and not self._closed:
            origin, events = self._runs[0]
            if origin is not None and not any(c != origin for c in self._clients):
                self._pop_run()  # an echo nobody else would see
                continue
            if not force and not answer:
                hold = self.window.hold_for(sum(self._run_bytes), self._columns_pending())
                if hold is not None:  # an acknowledgement flushes sooner
                    self._schedule(hold)
                    return
            if not self._budget.try_take() and not force:
                self._schedule(self._budget.wait_time())
                return
            self._pop_run()
            tag = {"origin": origin} if origin else {}
            columns = any(carries_columns(e) for e in events)
            self.send(_bokeh.patch_message(joined(events), **tag), columns)
            self._last_flush = time.monotonic()
        self._release_backlog()

    def _columns_pending(self) -> bool:
        """Whether what is pending brings column data (``AckWindow.hold_for``)."""
        return any(carries_columns(e) for _, events in self._runs for e in events)

    def _pop_run(self) -> None:
        self._runs.pop(0)
        self._run_bytes.pop(0)

    def _release_backlog(self) -> None:
        """Let the callbacks waiting on the backlog run, once it is below the bound."""
        waiting = self._backlog
        if waiting is not None and (self._closed or sum(self._run_bytes) < self.window.merge_until):
            self._backlog = None
            if not waiting.done():
                waiting.set_result(None)

    def acknowledged(self, client: str, seq: int) -> None:
        """A page has handled the frames up to number seq."""
        self.window.ack(client, seq)
        self._window_moved()

    def expect(self, client: str) -> None:
        """A page that will acknowledge the frames from now on (``AckWindow.expect``)."""
        self.window.expect(client)

    def forget(self, client: str) -> None:
        """A page went away: it holds nothing back any more."""
        self.window.forget(client)
        self._window_moved()

    def forget_all(self) -> None:
        """The session's connection went away: no one holds it back any more."""
        self.window.forget_all()
        self._window_moved()

    def close(self) -> None:
        """Send no more changes; what is pending is dropped."""
        self._closed = True
        self._runs.clear()
        self._run_bytes.clear()
        self._cancel_timer()
        self._release_backlog()

    def _schedule(self, delay: float) -> None:
        if self._flush is not _Flush.UNSCHEDULED:
            return
        if delay <= 0:
            self._flush = _Flush.NEXT_TURN
            self._loop.add_callback(self._scheduled_flush)
        else:
            self._flush = _Flush.TIMER
            self._timer = self._loop.call_later(delay, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush, self._timer = _Flush.UNSCHEDULED, None
        self.flush()

    def _cancel_timer(self) -> None:
        if self._flush is _Flush.TIMER:
            self._loop.remove_timeout(self._timer)
            self._flush, self._timer = _Flush.UNSCHEDULED, None

    def _window_moved(self) -> None:
        pending = sum(self._run_bytes)
        if self._runs and self.window.hold_for(pending, self._columns_pending()) is None:
            if self._flush is _Flush.TIMER:  # the window's or the budget's: flush() asks both
                self._cancel_timer()
                self.flush()
            else:
                self._schedule(0.0)
