"""A kernel's standalone sessions' frames, several to one iopub message.

Each frame of a standalone session (an app page, a share-link visitor, a ``bokeh.client``
connection) is a comm message on iopub, which the Jupyter server's relay receives,
verifies and decodes, and so does, to drop it, the server's connection of every notebook
page open on the kernel. Each message costs that work, here (serialize, sign, hand to
ipykernel's iopub thread) and in the server, whatever its size. ``RelayBatch`` sends the
frames of one IOLoop turn as one ``KIND_BATCH`` message, which the server splits
(``server/kernelclient.py``) in order; a frame alone goes as itself, and so does the first
one after a quiet spell, so a cell that changes a document and sleeps updates the pages
live. Only sessions whose server asked for batches (``batches`` in the open) use it.

The kernel's message budget (``flow.MessageBudget``) counts what goes out on iopub here:
while it has no room, frames wait, in order, and go together when it has.

The server does the same the other way (``server/shellbatch.py``) once this kernel has
said it splits batches (``RELAY_SPLITS``, in every frame's metadata): ``Receivers``
hands each frame of such a batch to the handler of its comm.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tornado.ioloop import IOLoop

from .. import batches
from ..protocol import RELAY_METADATA
from .flow import MessageBudget

if TYPE_CHECKING:
    from ._ipykernel import Comm

__all__ = ("Receivers", "RelayBatch")

log = logging.getLogger(__name__)

Buffers = Sequence[bytes | memoryview]
#: what handles one frame from a session's server: the frame and its buffers
Handler = Callable[[Any, Buffers], None]


@dataclass
class _Frame:
    comm: Comm
    data: Mapping[str, Any]
    buffers: Buffers
    nbytes: int


class RelayBatch:
    """Frames for standalone sessions' comms, sent per loop turn, several as one message."""

    #: a frame that comes this long after the last send goes at once (``Outgoing``'s
    #: ``cell_flush_interval``: cell code may hold the loop for a while)
    quiet: float = 0.02
    #: the longest a frame waits for its turn to end: a long turn (the periodic callbacks
    #: of many sessions due at once) sends what it has made while it runs
    max_wait: float = 0.005
    #: a batch stops at this many bytes of frames (a larger frame goes as itself)
    max_bytes: int = 1 << 20

    def __init__(self, budget: MessageBudget) -> None:
        self._budget = budget
        self._pending: list[_Frame] = []
        self._loop: IOLoop | None = None
        self._thread: int | None = None
        self._scheduled = False  # a flush is due (next turn, or when the budget has room)
        self._last_send = 0.0
        self._since = 0.0  # when the first frame of those waiting came

    def send(self, comm: Comm, data: Mapping[str, Any], buffers: Buffers = ()) -> None:
        """Send a frame on comm, after every frame given before it."""
        if self._loop is None:
            self._loop, self._thread = IOLoop.current(), threading.get_ident()
        elif threading.get_ident() != self._thread:
            self._loop.add_callback(self.send, comm, data, buffers)
            return
        nbytes = sum(memoryview(b).nbytes for b in buffers) + len(data.get("content", ""))
        now = time.monotonic()
        if not self._pending:
            self._since = now
        self._pending.append(_Frame(comm, data, buffers, nbytes))
        quiet = not self._scheduled and now - self._last_send >= self.quiet
        if quiet or now - self._since >= self.max_wait:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.add_callback(self._scheduled_flush)

    def answered(self) -> None:
        """A page's message has been handled (on the loop's thread, in ipykernel's handler
        of its request): what it caused goes now. On the loop's next turn it would go after
        ipykernel's end of that request, whose flushes of stdout and stderr each wait for
        the iopub thread."""
        if self._pending and threading.get_ident() == self._thread:
            self.flush()

    def flush(self) -> None:
        """Send what waits, as far as the budget allows (the rest waits for it)."""
        while self._pending:
            if not self._budget.try_take():
                self._schedule_later(self._budget.wait_time())
                return
            self._send(self._take())
            self._last_send = time.monotonic()

    def _take(self) -> list[_Frame]:
        """The next batch: frames in order, up to ``max_bytes`` (at least one)."""
        batch, self._pending = batches.take(self._pending, self.max_bytes)
        return batch

    def _send(self, batch: list[_Frame]) -> None:
        try:
            _, data, buffers = batches.pack([(f.comm.comm_id, f.data, f.buffers) for f in batch])
            batch[0].comm.send(data, metadata=RELAY_METADATA, buffers=buffers)
        except Exception:  # the frames of one turn are lost; later ones still go
            log.exception("bokeh_nb: could not send %d frame(s) to standalone pages", len(batch))

    def _scheduled_flush(self) -> None:
        self._scheduled = False
        self.flush()

    def _schedule_later(self, delay: float) -> None:
        if self._scheduled or self._loop is None:
            return
        self._scheduled = True
        self._loop.call_later(delay, self._scheduled_flush)


class Receivers:
    """The handler of each open standalone session's comm, for the server's batches."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def add(self, comm_id: str, handle: Handler) -> None:
        self._handlers[comm_id] = handle

    def remove(self, comm_id: str) -> None:
        self._handlers.pop(comm_id, None)

    def split(self, batch: Mapping[str, Any], buffers: Buffers) -> None:
        """Each frame of a batch to its comm's handler, in order; a frame of a comm that
        has closed is dropped, as its own message would be."""
        batches.split(batch, buffers, self._deliver, "the server")

    def _deliver(self, comm_id: str, frame: Any, buffers: Buffers) -> None:
        handle = self._handlers.get(comm_id)
        if handle is None:
            return
        try:
            handle(frame, buffers)
        except Exception:  # one session's trouble is not the others'
            log.exception("bokeh_nb: a standalone session failed on a page's message")
