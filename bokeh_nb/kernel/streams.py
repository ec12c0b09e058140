"""What a session's callbacks print: the text they write to ``sys.stdout`` /
``sys.stderr`` (``print``, and ``logging`` through a handler that writes to those streams,
Python's last-resort handler included) goes to the session's output, not to whichever
notebook cell the kernel ran last.

ipykernel sends a stream's text to the request the kernel handles at that moment: a
callback runs while the kernel handles a comm message (a browser event) or nothing at all
(a periodic callback), so a notebook shows that text nowhere. Here, while a session's user
code runs (``UserCode.active``), a context variable names that session's
``CallbackOutput``; the ``write`` of the two streams sends to it instead. The variable is
per thread and per asyncio task (a coroutine callback keeps it across its awaits; a task
it starts inherits it), so a cell printing meanwhile, or another thread, is not captured.

The text is sent once per loop turn, merged, as ``wire.stream_frame`` frames over the
session's channel: a notebook output shows it under the document (``view.ts``); a full
page never gets it, its text goes to the kernel's log and the app's notebook outputs
(``pages.PageChannel``).
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from tornado.ioloop import IOLoop

log = logging.getLogger("bokeh_nb.kernel.session")

__all__ = ("CallbackOutput", "StreamChannel", "capture_streams", "deliver", "printed_to")

#: At most this many characters of a session's output go out per loop turn; the rest of
#: that turn's text is dropped, and the output says how much.
MAX_TEXT_PER_TURN = 64 * 1024


class _Sink(Protocol):
    def write(self, name: str, text: str) -> None: ...

    def takes_text(self) -> bool: ...


#: The output of the session whose user code runs in this context (thread, task).
_current: contextvars.ContextVar[_Sink | None] = contextvars.ContextVar(
    "bokeh_nb_callback_output", default=None
)

_ROUTED = "_bokeh_nb_routed"


@runtime_checkable
class StreamChannel(Protocol):
    """A channel that can carry what its session's callbacks print."""

    def send_stream(self, name: str, text: str, client: str | None) -> None:
        """Carry text the session's callbacks wrote to stream name ("stdout" or
        "stderr"); client is the browser client whose event ran them, if one did."""


def _route(stream: Any, name: str) -> None:
    """Make stream's ``write`` go to the running session's output, if there is one.

    The stream object itself stays (ipykernel's ``OutStream``, and every logging handler
    that holds it, keep working): only its ``write`` is shadowed on the instance."""
    if stream is None or getattr(stream, _ROUTED, False):
        return
    original = stream.write

    def write(text: Any) -> Any:
        output = _current.get()
        if output is None or not isinstance(text, str) or not output.takes_text():
            return original(text)
        output.write(name, text)
        return len(text)

    try:
        stream.write = write
        setattr(stream, _ROUTED, True)
    except (AttributeError, TypeError):  # a stream that takes no attributes: left alone
        return


def capture_streams() -> None:
    """Route ``sys.stdout`` and ``sys.stderr`` (again, if something replaced them)."""
    _route(sys.stdout, "stdout")
    _route(sys.stderr, "stderr")


class _Collected:
    def __init__(self) -> None:
        self.parts: list[tuple[str, list[str]]] = []

    def takes_text(self) -> bool:
        return True

    def write(self, name: str, text: str) -> None:
        if self.parts and self.parts[-1][0] == name:
            self.parts[-1][1].append(text)
        else:
            self.parts.append((name, [text]))


@contextmanager
def printed_to(write: Callable[[str, str], None]) -> Iterator[None]:
    """Around app code that runs before its session exists (a full page's document being
    made): what it prints goes to ``write(name, text)`` when it is done."""
    capture_streams()
    collected = _Collected()
    token = _current.set(collected)
    try:
        yield
    finally:
        _current.reset(token)
        for name, parts in collected.parts:
            write(name, "".join(parts))


class CallbackOutput:
    """A session's printed text, sent through ``send(name, text, client)`` once per loop
    turn; ``client()`` is the browser client whose event runs at the moment, if any."""

    def __init__(
        self,
        send: Callable[[str, str, str | None], None],
        loop: IOLoop,
        client: Callable[[], str | None],
        ended: Callable[[], bool] = lambda: False,
    ) -> None:
        self._send = send
        self._loop = loop
        self._client = client
        self._ended = ended
        self._pending: list[tuple[str, str | None, list[str]]] = []
        self._size = 0
        self._dropped = 0
        self._scheduled = False

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """Around user code: what it prints is this session's."""
        capture_streams()
        token = _current.set(self)
        try:
            yield
        finally:
            _current.reset(token)

    def takes_text(self) -> bool:
        """Whether the session takes what its code prints: once it has ended (its
        ``on_session_destroyed`` hooks run then), text goes where Python would send it, the
        cell that ended it, as it did before the session existed."""
        return not self._ended()

    def write(self, name: str, text: str) -> None:
        if not text:
            return
        if self._size >= MAX_TEXT_PER_TURN:
            self._dropped += len(text)
        else:
            client = self._client()
            room = MAX_TEXT_PER_TURN - self._size
            self._dropped += max(0, len(text) - room)
            text = text[:room]
            self._size += len(text)
            if self._pending and self._pending[-1][:2] == (name, client):
                self._pending[-1][2].append(text)
            else:
                self._pending.append((name, client, [text]))
        if not self._scheduled:
            self._scheduled = True
            # in a context of its own: the flush is no user code, whatever it logs is not
            # this session's output
            contextvars.Context().run(self._loop.add_callback, self.flush)

    def flush(self) -> None:
        """Send what was written since the last flush."""
        self._scheduled = False
        pending, dropped = self._pending, self._dropped
        self._pending, self._size, self._dropped = [], 0, 0
        for name, client, parts in pending:
            self._send(name, "".join(parts), client)
        if dropped:
            note = f"[bokeh_nb: {dropped} more characters of output in this turn dropped]\n"
            self._send("stderr", note, None)


def deliver(channel: object, name: str, text: str, client: str | None) -> None:
    """Send printed text over channel; where none can carry it (the session has ended,
    or its channel carries no text), to the kernel's log, so that it is never lost."""
    if isinstance(channel, StreamChannel):
        channel.send_stream(name, text, client)
    else:
        log.info("bokeh_nb: a callback printed (%s):\n%s", name, text.rstrip("\n"))
