"""The share links of one Jupyter server: signed, expiring, revocable capabilities for one
live app in one mode (``protocol.VISITOR_MODES``).

A token is ``{id}.{signature}``: the signature (HMAC-SHA256 with a key derived from the
server's cookie secret) binds the id to the kernel, app, mode and expiry, and the id must
still be in this server's registry. Links live as long as the server (and its kernels).
Revoking a link, or its expiry, closes its open sessions. ``shares.py`` serves them.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from jupyter_server.utils import url_path_join
from tornado.websocket import WebSocketHandler

from ..protocol import SHARE_ROUTE, VISITOR_MODES
from ._jupyter import websocket_closed

__all__ = ("MAX_SESSIONS", "Share", "ShareRegistry")

#: Sessions one share link serves at once, unless ``BokehNb.share_max_sessions`` says.
MAX_SESSIONS = 20
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{20,100})$")


class Timer(Protocol):
    def cancel(self) -> None: ...


#: ``schedule(delay, callback)``: run callback in delay seconds, unless cancelled.
Schedule = Callable[[float, Callable[[], None]], Timer]


@dataclass
class Share:
    id: str
    kernel_id: str
    app: str
    mode: str
    expires_at: float
    created_by: str
    created_at: float
    token: str = ""
    sockets: set[WebSocketHandler] = field(default_factory=set, repr=False)

    def path(self, base_url: str) -> str:
        return url_path_join(base_url, SHARE_ROUTE.format(token=self.token))

    def open_sessions(self) -> int:
        """Sessions of this link whose websocket is still open (one closed without its
        ``on_close`` is forgotten here, so it holds no place of another visitor)."""
        for socket in [s for s in self.sockets if websocket_closed(s)]:
            self.sockets.discard(socket)
        return len(self.sockets)

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "kernel_id": self.kernel_id,
            "app": self.app,
            "mode": self.mode,
            "expires_at": self.expires_at,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "path": self.path(base_url),
            "sessions": self.open_sessions(),
        }


def _timer(delay: float, callback: Callable[[], None]) -> Timer:
    # an empty context: the timer must not keep the request that made the link (its
    # handler is in jupyter_server's context variable) alive until the link expires
    return asyncio.get_running_loop().call_later(delay, callback, context=contextvars.Context())


class ShareRegistry:
    """The share links of one Jupyter server; ``schedule`` expires each link on time
    (None: links expire as they are next looked at)."""

    def __init__(
        self,
        secret: bytes,
        max_ttl: float,
        clock: Callable[[], float] = time.time,
        schedule: Schedule | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._key = hmac.new(secret, b"bokeh_nb share links v1", hashlib.sha256).digest()
        self.max_ttl = max_ttl
        self.max_sessions = max_sessions
        self._clock = clock
        self._schedule = schedule
        self._shares: dict[str, Share] = {}
        self._timers: dict[str, Timer] = {}

    @classmethod
    def for_server(
        cls, cookie_secret: str | bytes | None, max_ttl: float, max_sessions: int
    ) -> ShareRegistry:
        """The registry of a running server, keyed from its cookie secret (a random key
        without one: links then end with the server)."""
        secret = cookie_secret or secrets.token_bytes(32)
        if isinstance(secret, str):
            secret = secret.encode()
        return cls(secret, max_ttl, schedule=_timer, max_sessions=max_sessions)

    def _sign(self, share: Share) -> str:
        message = json.dumps(
            [share.id, share.kernel_id, share.app, share.mode, share.expires_at]
        ).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def create(self, kernel_id: str, app: str, mode: str, ttl: float, user: str) -> Share:
        if mode not in VISITOR_MODES:
            raise ValueError(f"mode must be one of {', '.join(VISITOR_MODES)}")
        if not 0 < ttl <= self.max_ttl:
            raise ValueError(f"expires must be more than 0 and at most {int(self.max_ttl)} seconds")
        now = self._clock()
        share = Share(
            id=secrets.token_urlsafe(18),
            kernel_id=kernel_id,
            app=app,
            mode=mode,
            expires_at=round(now + ttl, 3),
            created_by=user,
            created_at=now,
        )
        share.token = f"{share.id}.{self._sign(share)}"
        self._shares[share.id] = share
        if self._schedule is not None:
            self._timers[share.id] = self._schedule(ttl, lambda: self._expire(share.id))
        return share

    def verify(self, token: str) -> Share | None:
        """The share a token grants, if it is genuine, current and not revoked."""
        m = _TOKEN.match(token)
        share = self._shares.get(m.group(1)) if m else None
        if m is None or share is None:
            return None
        if not hmac.compare_digest(m.group(2), self._sign(share)):
            return None
        if self._clock() >= share.expires_at:
            self._expire(share.id)
            return None
        return share

    def _expire(self, share_id: str) -> None:
        self.revoke(share_id, "this share link has expired")

    def list(self) -> list[Share]:
        now = self._clock()
        for share in [s for s in self._shares.values() if now >= s.expires_at]:
            self._expire(share.id)
        return sorted(self._shares.values(), key=lambda s: s.created_at)

    def revoke(self, share_id: str, reason: str = "this share link was revoked") -> bool:
        """Forget the link and close its open sessions."""
        timer = self._timers.pop(share_id, None)
        if timer is not None:
            timer.cancel()
        share = self._shares.pop(share_id, None)
        if share is None:
            return False
        for socket in list(share.sockets):
            socket.close(1008, reason)
        share.sockets.clear()
        return True

    def stop(self) -> None:
        """The server stops: no link expires from here on (their sessions end with it)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
