"""Flow control toward the browser: a kernel-wide budget of comm messages per second, and
a window of unacknowledged frames per notebook output.

Jupyter drops iopub messages silently above ``iopub_msg_rate_limit`` (1000 msgs/s averaged
over ``rate_limit_window`` = 3 s). Every session in the kernel draws from one token bucket
set well below that, so a session never sends faster than the budget; what cannot be sent
now stays pending (merged with later changes) and goes out when tokens are back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from bokeh.document.events import (
    ColumnDataChangedEvent,
    ColumnsPatchedEvent,
    ColumnsStreamedEvent,
    DocumentPatchedEvent,
)

from ..protocol import ACK_WINDOW, ACK_WINDOW_BYTES


@dataclass
class MessageBudget:
    rate: float = 400.0  # messages per second, sustained
    burst: float = 400.0  # messages that may go out at once
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_take(self, n: int = 1) -> bool:
        """Take n tokens if there are that many; n above the burst is allowed once full."""
        self._refill()
        if self._tokens >= min(n, self.burst):
            self._tokens -= n
            return True
        return False

    def wait_time(self, n: int = 1) -> float:
        """Seconds until n tokens are available."""
        self._refill()
        missing = min(n, self.burst) - self._tokens
        return max(0.0, missing / self.rate)


@dataclass
class AckWindow:
    """How far a session's frames may run ahead of the notebook pages that show it.

    A page handles the frames of a live output one by one on its main thread; when a
    session sends faster than that (a fast stream, large patches), the frames would queue
    in the browser, and everything behind them on that kernel's websocket, a cell's reply
    included, would wait. Pages acknowledge what they have handled (``KIND_ACK`` with the
    frame's ``seq``); while the slowest page that acknowledges is ``frames`` frames or
    ``nbytes`` bytes behind, the session holds its changes, merged, and sends them once it
    catches up: what a page has still to handle stays a bounded amount of work, so an
    answer to the page waits behind little of it. While a page is half of ``nbytes``
    behind, it is asked to acknowledge each frame as soon as it has handled it, and a
    frame goes only once half of ``nbytes`` is pending (``merge_until``): a page that
    lags gets few large frames, not many small ones, each costing it a redraw (and about
    two of them at most are on their way to it). What a page's own event changed does
    not wait for the window (``Outgoing.flush(answer=True)``), nor, for its bytes, does
    one frame without column data (a label, a range: ``carries_columns``) right after a
    frame with some: a label that a callback sets a loop turn after a plot's new data
    follows the data at once, not after the page's acknowledgement of it, and a lagging
    page gets at most one such frame more per frame of data
    (``benchmarks/results/PROFILE.md``). A page
    that stays behind for ``stall`` seconds without acknowledging anything (a frozen tab,
    a page gone without a goodbye) holds no one back until it acknowledges again; the
    seconds count from the first frame it has not acknowledged. The
    server acknowledges for a standalone page what the page has taken
    (``server/pacing.py``), and is counted from the session's first frame on
    (``expect``); a notebook page from its first acknowledgement; what never
    acknowledges is not counted.
    """

    frames: int = ACK_WINDOW
    nbytes: int = ACK_WINDOW_BYTES
    stall: float = 10.0
    #: number of the last frame sent (``next_seq`` numbers each frame a session sends)
    sent: int = 0
    #: bytes of all frames sent, and that total as it was after each recent frame
    bytes_sent: int = 0
    _total_after: dict[int, int] = field(default_factory=dict)
    _acks: dict[str, tuple[int, float]] = field(default_factory=dict)
    #: whether the last frame sent carried column data (``carries_columns``)
    _last_columns: bool = False

    def next_seq(self, nbytes: int = 0, columns: bool = True) -> int:
        """Number the next frame, of nbytes bytes. A page that has acknowledged every frame
        so far starts to fall behind now: its ``stall`` counts from here, not from its last
        acknowledgement (a page that sat caught up through a quiet spell is not stalled
        when a stream starts)."""
        now = time.monotonic()
        for client, (seq, _) in self._acks.items():
            if seq == self.sent:
                self._acks[client] = (seq, now)
        self.sent += 1
        self.bytes_sent += nbytes
        self._last_columns = columns
        self._total_after[self.sent] = self.bytes_sent
        oldest = min((seq for seq, _ in self._acks.values()), default=self.sent)
        for seq in [s for s in self._total_after if s < min(oldest, self.sent - self.frames)]:
            del self._total_after[seq]  # no page that acknowledges is that far behind
        return self.sent

    @property
    def merge_until(self) -> int:
        """Bytes of changes a frame to a lagging page waits for (half the window)."""
        return self.nbytes // 2

    def wants_ack(self) -> bool:
        """Whether a page that acknowledges lags (half the window's frames, or half its
        bytes, behind): then it should acknowledge the frame just numbered as soon as
        it has handled it."""
        now = time.monotonic()
        return any(
            (2 * (self.sent - seq) >= self.frames or self._bytes_behind(seq) >= self.merge_until)
            and now - stamp < self.stall
            for seq, stamp in self._acks.values()
        )

    def _bytes_behind(self, seq: int) -> int:
        # a frame forgotten (or none) counts as all bytes: such a page is far behind
        return self.bytes_sent - self._total_after.get(seq, 0)

    def expect(self, client: str) -> None:
        """client will acknowledge from now on (a standalone session's server says so when
        it opens the session): it counts as having handled every frame so far, so it holds
        the session back from its first frame on, not only once its first acknowledgement
        has come (by then a fast stream may have sent it seconds of frames)."""
        self._acks[client] = (self.sent, time.monotonic())

    def ack(self, client: str, seq: int) -> None:
        if 0 < seq <= self.sent:
            last = self._acks.get(client, (0, 0.0))[0]
            self._acks[client] = (max(seq, last), time.monotonic())

    def forget(self, client: str) -> None:
        self._acks.pop(client, None)

    def forget_all(self) -> None:
        self._acks.clear()

    def hold_for(self, pending: int | None = None, columns: bool = True) -> float | None:
        """None if a frame of pending bytes may go now (None: whatever its size); else the
        seconds after which to look again (when a page that is behind would count as
        stalled). columns: the frame carries column data (``carries_columns``)."""
        now = time.monotonic()
        small = pending is not None and pending < self.merge_until
        waits = [
            stamp + self.stall - now
            for seq, stamp in self._acks.values()
            if now - stamp < self.stall and self._holds(seq, small, columns)
        ]
        return max(0.001, min(waits)) if waits else None

    def _holds(self, seq: int, small: bool, columns: bool) -> bool:
        if not columns and self._last_columns:  # one frame without data after data
            return self.sent - seq >= self.frames
        behind = self._bytes_behind(seq)
        lags = small and behind >= self.merge_until
        return lags or self.sent - seq >= self.frames or behind >= self.nbytes


def carries_columns(event: DocumentPatchedEvent) -> bool:
    """Whether event brings a data source's columns (new data, streamed rows, patches):
    what a page that lags should get merged into few frames."""
    return isinstance(event, ColumnDataChangedEvent | ColumnsStreamedEvent | ColumnsPatchedEvent)


def event_bytes(event: DocumentPatchedEvent) -> int:
    """About how many bytes event adds to a patch: the columns of a stream or of a data
    source's new data, a small constant for anything else."""
    if isinstance(event, ColumnsStreamedEvent):
        columns: Any = event.data.values()
    elif isinstance(event, ColumnDataChangedEvent):
        data = getattr(event.model, "data", {})
        names = data.keys() if event.cols is None else event.cols
        columns = [data.get(name, ()) for name in names]
    else:
        return 64
    return sum(_column_bytes(column) for column in columns)


def _column_bytes(column: Any) -> int:
    nbytes = getattr(column, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    try:
        return 8 * len(column)
    except TypeError:
        return 64
