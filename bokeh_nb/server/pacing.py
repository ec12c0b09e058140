"""What a standalone session's server tells the kernel of what its peer has taken.

The kernel numbers a standalone session's frames for a server that acknowledges
(``"acknowledges"`` in the session's open, ``docs/protocol.md``); the session's window
(``kernel/flow.AckWindow``) then holds its changes, merged, and its callbacks wait, while
the peer is behind, so an answer to the peer waits behind little. ``Pacing`` decides what
"taken" means for one connection:

- bokeh_nb's app page counts the Bokeh messages it has handled and tells the server
  (``PAGE_HANDLED`` and the count, between Bokeh messages): from its first such message
  on, a frame is taken once the page has handled it, as for a notebook page;
- any other peer (stock BokehJS, ``bokeh.client``): once the frame is in its socket.

The kernel hears of the first frame taken at once, then of every ``ACK_EVERY`` frames
written to a peer that does not count, of each frame it asked about (``acknowledge``) at
once, and otherwise with the peer's next ``PATCH-DOC`` (``ride_along``) or after
``LATER`` seconds: an event and its reply cost the kernel no message of their own. What
is due less than ``ACK_GAP_MS`` after the last acknowledgement waits for the end of that
gap, and then names the last frame taken: a lagging page is asked about every frame, and
each acknowledgement is a request the kernel handles in turn, ahead of the page's next
event.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from ..protocol import ACK_EVERY, ACK_GAP_MS, ACK_WINDOW, PAGE_HANDLED

__all__ = ("Pacing", "page_handled")

#: the most digits a page's count may have
_DIGITS = 12


def page_handled(fragment: str) -> int | None:
    """The count a page's ``PAGE_HANDLED`` message gives, or None for any other text."""
    if not fragment.startswith(PAGE_HANDLED) or len(fragment) > len(PAGE_HANDLED) + _DIGITS:
        return None
    count = fragment[len(PAGE_HANDLED) :]
    return int(count) if count.isascii() and count.isdigit() else None


class Pacing:
    """One connection's acknowledgements to its kernel session: ``tell(seq)`` sends one."""

    #: seconds an acknowledgement nobody waits for may wait to ride on a PATCH-DOC
    LATER = 0.05
    #: frames a page has not handled kept one by one (``_note``)
    KEPT = 8 * ACK_WINDOW

    def __init__(self, tell: Callable[[int], None]) -> None:
        self._tell = tell
        #: whether the peer counts what it handled (bokeh_nb's app page)
        self.page_counts = False
        self._messages = 0  # Bokeh messages written to the peer
        # (message number, frame number, asked) of frames a counting page has not handled
        # (``_note``): the window keeps such a page within ACK_WINDOW frames, except while
        # it takes the page for stalled, or before it has heard of the page
        self._unhandled: deque[tuple[int, int, bool]] = deque()
        self._stride = 1  # of the frame numbers kept (``_note``)
        self._taken = 0  # the last frame the peer has taken
        self._told = 0  # the last frame the kernel was told of
        self._later: asyncio.TimerHandle | None = None
        self._told_at = -1.0  # the loop's time of the last acknowledgement (-1: none)

    def wrote(self, seq: int | None, ask: bool, written: asyncio.Future[Any] | None) -> None:
        """A Bokeh message went to the peer: kernel frame seq (None: one of the server's
        own, or a frame the kernel did not number); ``written`` is done once it is in the
        socket."""
        self._messages += 1
        if seq is None:
            return
        self._note(seq, ask)
        if written is not None and not self.page_counts:
            written.add_done_callback(lambda done: self._written(done, seq, ask))

    def asks(self, ask: bool) -> bool:
        """Whether a frame the kernel marked ``acknowledge`` (ask) should say so to the
        peer (in its metadata): to a page that counts."""
        return ask and self.page_counts

    def handled(self, count: int) -> None:
        """The page has handled its first count Bokeh messages."""
        self.page_counts = True
        seq, ask = 0, False
        while self._unhandled and self._unhandled[0][0] <= count:
            _, seq, asked = self._unhandled.popleft()
            ask = ask or asked
        if not self._unhandled:
            self._stride = 1  # caught up: from now on every frame is kept again
        if seq > self._taken:
            self._taken = seq
            self._maybe_tell(ask, lazily=True)

    def _note(self, seq: int, ask: bool) -> None:
        """Keep the frame just written for ``handled``. A page ``KEPT`` frames behind has
        only every ``_stride``-th frame kept (the stride doubles each time that many are
        kept again; the newest frame is always kept, and what a frame let go was asked
        goes to the next one kept): a frame kept stands for those before it, so the page
        is told about, a little late, rather than never. (Kept one by one, with the
        oldest let go, a page far behind found none of its frames again, and its session
        ran unheld until it caught up.)"""
        if self._unhandled and self._unhandled[-1][1] % self._stride:
            ask = ask or self._unhandled.pop()[2]  # stood in as the newest: no longer
        while len(self._unhandled) >= self.KEPT:
            self._stride *= 2
            kept: deque[tuple[int, int, bool]] = deque()
            carried = False
            for message, frame, asked in self._unhandled:
                if frame % self._stride:
                    carried = carried or asked
                else:
                    kept.append((message, frame, asked or carried))
                    carried = False
            self._unhandled, ask = kept, ask or carried
        self._unhandled.append((self._messages, seq, ask))

    def ride_along(self) -> int | None:
        """The frame number a PATCH-DOC from the peer carries to the kernel, if any."""
        if self._taken <= self._told:
            return None
        self._cancel_later()
        self._told = self._taken
        return self._taken

    def close(self) -> None:
        self._cancel_later()

    def _written(self, done: asyncio.Future[Any], seq: int, ask: bool) -> None:
        if done.cancelled() or done.exception() is not None or self.page_counts:
            return
        self._taken = max(self._taken, seq)
        self._maybe_tell(ask or self._taken - self._told >= ACK_EVERY, lazily=False)

    def _maybe_tell(self, now: bool, lazily: bool) -> None:
        """Tell the kernel now (always of the first frame taken; else at the end of the
        gap after the last acknowledgement), or, lazily, within ``LATER`` unless a
        PATCH-DOC carries it first."""
        loop = asyncio.get_running_loop()
        if now or not self._told:
            self._tell_at(loop, max(loop.time(), self._told_at + ACK_GAP_MS / 1000))
        elif lazily and self._later is None:
            self._tell_at(loop, loop.time() + self.LATER)

    def _tell_at(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if when <= loop.time():
            self._cancel_later()
            self._tell_now(loop)
        elif self._later is None or when < self._later.when():
            self._cancel_later()
            self._later = loop.call_at(when, self._tell_later)

    def _tell_later(self) -> None:
        self._later = None
        if self._taken > self._told:
            self._tell_now(asyncio.get_running_loop())

    def _tell_now(self, loop: asyncio.AbstractEventLoop) -> None:
        self._told = self._taken
        self._told_at = loop.time()
        self._tell(self._taken)

    def _cancel_later(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None
