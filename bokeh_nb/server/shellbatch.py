"""What the server sends a kernel for its standalone sessions, several frames to a request.

Every comm message to a kernel is a shell request, and the kernel pays a fixed cost for
each, whatever its size: ipykernel hands it from its shell channel thread to the main
loop, publishes status busy and idle around it and flushes stdout and stderr after it
(at 150 share-link visitors on one app, about half of the kernel's time, PROFILE.md).
``ShellBatch`` keeps at most ``IN_FLIGHT`` of the server's requests unanswered at a
kernel: a session's frame (a page's Bokeh message, an acknowledgement) goes at once
while fewer are, and otherwise waits, beside the frames of the kernel's other sessions,
until the kernel's status idle for one of them; then what waits goes as one
``KIND_BATCH`` comm message, which the kernel splits, in order (``kernel/pages.py``). The
mirror of ``kernel/relay.py``: a kernel that keeps up gets each frame as itself, at once;
one that falls behind, fewer and larger requests.

Only a kernel that has said it splits batches (``RELAY_SPLITS`` in the metadata of its
sessions' frames) gets them: one with an older bokeh_nb, in another environment, gets
every frame as its own message. Opens and closes go after the frames that wait before
them. A status that never comes (a message lost to iopub's high-water mark) holds frames
at most ``STALL`` seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import batches

__all__ = ("ShellBatch",)

#: sends one shell request: message type, content, buffers
Send = Callable[[str, Mapping[str, Any], Sequence[Any]], None]


@dataclass
class _Frame:
    comm_id: str
    data: Mapping[str, Any]
    buffers: Sequence[Any]
    nbytes: int


class ShellBatch:
    """The server's requests to one kernel, through ``send``; ``idle`` for each answered."""

    #: requests the kernel may hold unanswered before frames wait: two, so that it has
    #: the next one at hand when it finishes one
    IN_FLIGHT = 2
    #: the longest frames wait for a status idle (s)
    STALL = 1.0
    #: a batch stops at this many bytes of buffers (a larger frame goes as itself)
    max_bytes = 1 << 20

    def __init__(self, send: Send) -> None:
        self._send = send
        #: whether the kernel splits batches (it said so)
        self.splits = False
        self._in_flight = 0
        self._waiting: list[_Frame] = []
        self._stall: asyncio.TimerHandle | None = None

    def request(
        self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()
    ) -> None:
        """A request that is no session's frame (a comm's open or close), after what waits."""
        self._flush()
        self._out(msg_type, content, buffers)

    def frame(self, comm_id: str, data: Mapping[str, Any], buffers: Sequence[Any]) -> None:
        """A session's frame, after every frame given before it."""
        if not self._waiting and (not self.splits or self._in_flight < self.IN_FLIGHT):
            self._out("comm_msg", {"comm_id": comm_id, "data": data}, buffers)
            return
        nbytes = sum(memoryview(b).nbytes for b in buffers)
        self._waiting.append(_Frame(comm_id, data, buffers, nbytes))
        if self._stall is None:
            self._stall = asyncio.get_running_loop().call_later(self.STALL, self._overdue)

    def idle(self) -> None:
        """The kernel has handled one of these requests: what waits may go."""
        self._in_flight = max(0, self._in_flight - 1)
        if self._in_flight < self.IN_FLIGHT:
            self._flush()

    def stop(self) -> None:
        """The kernel's channels close: what waits is dropped, and no timer sends it."""
        self._unstall()
        self._waiting.clear()

    def _unstall(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _overdue(self) -> None:
        self._stall = None
        self._in_flight = 0  # what was unanswered is taken for answered
        self._flush()

    def _flush(self) -> None:
        """Send what waits: as batches of up to ``max_bytes``, a frame alone as itself."""
        self._unstall()
        while self._waiting:
            batch, self._waiting = batches.take(self._waiting, self.max_bytes)
            comm_id, data, buffers = batches.pack([(f.comm_id, f.data, f.buffers) for f in batch])
            self._out("comm_msg", {"comm_id": comm_id, "data": data}, buffers)

    def _out(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any]) -> None:
        self._in_flight += 1
        self._send(msg_type, content, buffers)
