"""Bounds on what one websocket connection may make the server hold, checked as its frames
arrive, before any of them reaches bokeh's ``Receiver``.

A Bokeh message is 3 + 2N websocket messages: a header announcing ``num_buffers`` (N),
metadata, content, then a header and a binary payload per buffer. ``MessageGuard`` reads
the header itself and refuses more buffers than the connection may send, counts the bytes
of the message as they come, and refuses one more byte than the bound; a ``view``
visitor's page sends no binary buffers, and what it sends besides ``PULL-DOC-REQ`` (its
own pans and zooms) is counted and dropped, never assembled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jupyter_server.base.call_context import CallContext
from jupyter_server.base.websocket import WS_PING_INTERVAL

__all__ = (
    "AUTHOR",
    "VISITOR",
    "BoundedSocket",
    "Limits",
    "MessageGuard",
    "Refused",
    "Step",
    "limits_for",
    "ws_seconds",
)

#: the most a Bokeh header (msgid, msgtype, num_buffers, reqid) may take, in characters
HEADER_MAX = 4096
#: the most a view-only page's message may take (a PULL-DOC-REQ, a pan's PATCH-DOC)
VIEW_MAX_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Limits:
    """What one Bokeh message of a connection may be: at most ``max_buffers`` binary
    buffers and ``max_bytes`` in all its websocket messages together."""

    max_buffers: int
    max_bytes: int


#: the notebook's own user (a Jupyter login), and a share link's ``interact`` visitor
AUTHOR = Limits(max_buffers=4096, max_bytes=2**30)
VISITOR = Limits(max_buffers=64, max_bytes=16 * 2**20)


def limits_for(visitor: str | None, author: Limits = AUTHOR, interact: Limits = VISITOR) -> Limits:
    """The bounds of a connection: ``visitor`` is a share link's mode (None: the author);
    ``author`` and ``interact`` are the server's bounds for those (``BokehNb``'s
    ``max_message_bytes`` and ``visitor_max_message_bytes``)."""
    if visitor is None:
        return author
    if visitor == "interact":
        return interact
    return Limits(max_buffers=0, max_bytes=min(VIEW_MAX_BYTES, interact.max_bytes))


class Refused(Exception):
    """A connection sent more than it may: close it with ``code`` (1008 policy, 1009 too
    big, 1003 not Bokeh) and ``reason`` (short, says which bound)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Step:
    """What to do with one fragment: hand it on to the Receiver (``forward``), or drop it;
    ``reply_to`` is the msgid of a dropped message that just ended (it gets an OK)."""

    forward: bool
    reply_to: str | None = None


class MessageGuard:
    """Follows one connection's fragments, message by message (see the module's text)."""

    def __init__(self, limits: Limits, view_only: bool = False) -> None:
        self.limits = limits
        self.view_only = view_only
        self._left = 0  # fragments still to come of the current message; 0: a header next
        self._bytes = 0
        self._drop = False
        self._msgid: str | None = None

    @property
    def between_messages(self) -> bool:
        """Whether the next fragment starts a message (or is none of one)."""
        return self._left == 0

    def admit(self, fragment: str | bytes) -> Step:
        """The next fragment, checked (``Refused`` if it goes over a bound)."""
        if self._left == 0:
            self._start(fragment)
        self._bytes += len(fragment)
        if self._bytes > self.limits.max_bytes:
            raise Refused(
                1009, f"a Bokeh message over {self.limits.max_bytes / 2**20:g} MiB is refused"
            )
        self._left -= 1
        if not self._drop:
            return Step(forward=True)
        return Step(forward=False, reply_to=self._msgid if self._left == 0 else None)

    def _start(self, fragment: str | bytes) -> None:
        if not isinstance(fragment, str) or len(fragment) > HEADER_MAX:
            raise Refused(1003, "malformed Bokeh message: no header")
        try:
            header = json.loads(fragment)
        except ValueError:
            raise Refused(1003, "malformed Bokeh message: no header") from None
        if not isinstance(header, dict):
            raise Refused(1003, "malformed Bokeh message: no header")
        num_buffers = header.get("num_buffers", 0)
        if type(num_buffers) is not int or num_buffers < 0:
            raise Refused(1003, "malformed Bokeh message: num_buffers")
        if num_buffers > self.limits.max_buffers:
            if self.view_only:
                raise Refused(1008, "a view-only page sends no binary buffers")
            raise Refused(
                1009, f"a Bokeh message has at most {self.limits.max_buffers} buffers here"
            )
        msgid = header.get("msgid")
        self._msgid = msgid if isinstance(msgid, str) else None
        self._drop = self.view_only and header.get("msgtype") != "PULL-DOC-REQ"
        self._left = 3 + 2 * num_buffers
        self._bytes = 0


def ws_seconds(milliseconds: float | None) -> float | None:
    """jupyter_server's websocket timing settings (milliseconds) in tornado's seconds;
    None (no pings) for 0."""
    return milliseconds / 1000 if milliseconds else None


class BoundedSocket:
    """What a websocket handler of the extension may cost: tornado refuses a websocket
    message over the connection's bound before reading it, keep-alive pings find a peer
    that is gone without a word, and nothing keeps the handler once its connection is
    closed. (A mixin before tornado's ``WebSocketHandler``, whose subclass says what its
    connection's ``limits`` are.)"""

    settings: dict[str, Any]

    async def get(self, *args: Any, **kwargs: Any) -> None:
        # jupyter_server keeps the request's handler in a context variable, and each task
        # and timer started from here on (tornado's keep-alive ping too) keeps a copy of the
        # context: a closed connection's handler stayed alive until the last of them ended.
        # The request is authorized by now (subclasses check before calling this).
        CallContext.set(CallContext.JUPYTER_HANDLER, None)
        await super().get(*args, **kwargs)  # type: ignore[misc]

    @property
    def ping_interval(self) -> float | None:
        """Seconds between keep-alive pings. jupyter_server's setting is in milliseconds
        (30000) and tornado reads this in seconds: an 8-hour ping that never found a dead
        peer. A peer that does not answer within ``ping_timeout`` is closed."""
        return ws_seconds(self.settings.get("ws_ping_interval", WS_PING_INTERVAL))

    @property
    def ping_timeout(self) -> float | None:
        interval = self.ping_interval
        timeout = ws_seconds(self.settings.get("ws_ping_timeout", WS_PING_INTERVAL))
        return None if interval is None or timeout is None else min(timeout, interval)

    @property
    def limits(self) -> Limits:
        """The bounds of this connection's messages (``limits_for``)."""
        raise NotImplementedError

    @property
    def max_message_size(self) -> int:
        """One websocket message at most (tornado's own bound, or less)."""
        tornado_max: int = super().max_message_size  # type: ignore[misc]
        return min(tornado_max, self.limits.max_bytes)
