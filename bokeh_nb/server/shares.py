"""Share links: a signed, expiring, revocable capability for one live app in one mode.

``POST bokeh-nb/api/shares`` (a Jupyter user allowed to execute in the kernel) makes a link
``bokeh-nb/s/{token}`` (listing links shows their tokens: it needs the same permission).
Whoever holds it gets that app's page, its BokehJS and its websocket, and nothing else of
the Jupyter server: the token is no Jupyter credential and sets no cookie. ``view``
visitors change nothing in the kernel; ``interact`` visitors change only what BokehJS
widgets and tools change (checked in the kernel, ``kernel/visitor.py``). A link serves at
most ``BokehNb.share_max_sessions`` sessions at once. Revoking a link, or its expiry,
closes its open sessions.

A token is ``{id}.{signature}``: the signature (HMAC-SHA256 with a key derived from the
server's cookie secret) binds the id to the kernel, app, mode and expiry, and the id must
still be in this server's registry. Links live as long as the server (and its kernels).
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
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..protocol import SHARE_ROUTE
from .base import BokehNbHandler, LogScrubbing, may, redact, refuse
from .live import AppSocket, write_app_page
from .static import write_bundle

__all__ = (
    "MODES",
    "Share",
    "ShareRegistry",
    "SharesAPI",
    "SharedAppPage",
    "SharedAppWebSocket",
    "SharedBokehJS",
)

MODES = ("view", "interact")
SETTINGS_KEY = "bokeh_nb_shares"
#: Sessions one share link serves at once, unless ``BokehNb.share_max_sessions`` says.
MAX_SESSIONS = 20
_TOKEN = re.compile(r"^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{20,100})$")


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
    sockets: set[Any] = field(default_factory=set, repr=False)

    def path(self, base_url: str) -> str:
        return url_path_join(base_url, SHARE_ROUTE.format(token=self.token))

    def open_sessions(self) -> int:
        """Sessions of this link whose websocket is still open (one closed without its
        ``on_close`` is forgotten here, so it holds no place of another visitor)."""
        for socket in [s for s in self.sockets if s.ws_connection is None]:
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


class ShareRegistry:
    """The share links of one Jupyter server."""

    def __init__(
        self,
        secret: bytes,
        max_ttl: float,
        clock: Callable[[], float] = time.time,
        schedule: Callable[[float, Callable[[], None]], Any] | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self._key = hmac.new(secret, b"bokeh_nb share links v1", hashlib.sha256).digest()
        self.max_ttl = max_ttl
        self.max_sessions = max_sessions
        self._clock = clock
        self._schedule = schedule
        self._shares: dict[str, Share] = {}

    def _sign(self, share: Share) -> str:
        message = json.dumps(
            [share.id, share.kernel_id, share.app, share.mode, share.expires_at]
        ).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def create(self, kernel_id: str, app: str, mode: str, ttl: float, user: str) -> Share:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
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
            self._schedule(ttl, lambda: self._expire(share.id))
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
        share = self._shares.pop(share_id, None)
        if share is None:
            return False
        for socket in list(share.sockets):
            socket.close(1008, reason)
        share.sockets.clear()
        return True


def registry_of(handler: JupyterHandler) -> ShareRegistry:
    registry: ShareRegistry = handler.settings[SETTINGS_KEY]
    return registry


def new_registry(
    settings: dict[str, Any], max_ttl: float, max_sessions: int = MAX_SESSIONS
) -> ShareRegistry:
    secret = settings.get("cookie_secret") or secrets.token_bytes(32)
    if isinstance(secret, str):
        secret = secret.encode()

    def schedule(delay: float, callback: Callable[[], None]) -> Any:
        # an empty context: the timer must not keep the request that made the link (its
        # handler is in jupyter_server's context variable) alive until the link expires
        return asyncio.get_running_loop().call_later(delay, callback, context=contextvars.Context())

    return ShareRegistry(secret, max_ttl, schedule=schedule, max_sessions=max_sessions)


class SharesAPI(LogScrubbing, APIHandler):
    """``GET`` lists, ``POST`` creates, ``DELETE /{id}`` revokes share links: each needs
    the permission to execute in kernels (a listed link carries its token, and its token
    is as good as making one)."""

    auth_resource = "kernels"

    @web.authenticated
    def get(self, share_id: str | None = None) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        shares = registry_of(self).list()
        if share_id is not None:
            shares = [s for s in shares if s.id == share_id]
            if not shares:
                raise web.HTTPError(404, "no such share link")
            self.finish(json.dumps(shares[0].to_json(self.base_url)))
            return
        self.finish(json.dumps([s.to_json(self.base_url) for s in shares]))

    @web.authenticated
    def post(self, share_id: str | None = None) -> None:
        if share_id is not None:
            raise web.HTTPError(405)
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body must be a JSON object")
        kernel_id, app = body.get("kernel_id"), body.get("app")
        mode, expires = body.get("mode", "view"), body.get("expires", 3600)
        if not isinstance(kernel_id, str) or kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, "no running kernel with that id")
        if not isinstance(app, str) or not 0 < len(app) <= 200:
            raise web.HTTPError(400, "app must be the name of a live app of that kernel")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise web.HTTPError(400, "expires must be a number of seconds")
        user = self.current_user
        try:
            share = registry_of(self).create(
                kernel_id, app, str(mode), float(expires), getattr(user, "username", "")
            )
        except ValueError as e:
            raise refuse(400, str(e)) from None
        self.log.info(
            "bokeh_nb: share link %s (%s) for app %r of kernel %s",
            share.id,
            share.mode,
            share.app,
            share.kernel_id,
        )
        self.set_status(201)
        self.finish(json.dumps(share.to_json(self.base_url)))

    @web.authenticated
    def delete(self, share_id: str | None = None) -> None:
        if not may(self, "execute"):
            raise web.HTTPError(403, "not allowed to run code in this server's kernels")
        if share_id is None or not registry_of(self).revoke(share_id):
            raise web.HTTPError(404, "no such share link")
        self.log.info("bokeh_nb: share link %s revoked", share_id)
        self.set_status(204)
        self.finish()


#: What a share route's own responses may load (its app page sets a stricter one of its
#: own, see ``live.APP_PAGE_CSP``): nothing.
SHARE_CSP = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"


class _ShareHandler(BokehNbHandler):
    """What every share route has in common: the token is the credential."""

    share: Share

    @property
    def content_security_policy(self) -> str:
        return SHARE_CSP

    async def prepare(self, **kwargs: Any) -> None:
        # From here on the request names no token, in whatever logs it (a log function
        # installed after this extension, as JupyterHub's, included).
        self.request.uri = redact(self.request.uri or "")
        await super().prepare(**kwargs)

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")

    def check_share(self, token: str) -> tuple[int, str] | None:
        """None if the link grants access now, else (status, what to tell the visitor)."""
        share = registry_of(self).verify(token)
        if share is None:
            return 403, "This share link is not valid: it has expired or was revoked."
        if share.kernel_id not in self.kernel_manager:
            return 410, "The notebook kernel that ran this app is no longer running."
        self.share = share
        return None


class SharedAppPage(_ShareHandler):
    @allow_unauthenticated
    def get(self, token: str) -> None:
        refused = self.check_share(token)
        if refused is not None:
            self.write_page(*refused)
            return
        path = self.share.path(self.base_url)
        write_app_page(self, self.share.app, path, url_path_join(path, "static"))


class SharedBokehJS(_ShareHandler):
    @allow_unauthenticated
    def get(self, token: str, version: str, filename: str) -> None:
        refused = self.check_share(token)
        if refused is not None:
            raise refuse(*refused)
        write_bundle(self, version, filename)


class SharedAppWebSocket(AppSocket, _ShareHandler):
    @allow_unauthenticated
    async def get(self, token: str) -> None:
        refused = self.check_share(token)
        if refused is not None:
            raise refuse(*refused)
        most = registry_of(self).max_sessions
        if self.share.open_sessions() >= most:
            # (from here to ``open``, which takes the place, nothing waits: no other
            # connection can take it in between)
            raise refuse(
                429,
                f"This share link serves at most {most} sessions at once, and all are in "
                "use: try again later.",
            )
        self.kernel_id, self.app_name = self.share.kernel_id, self.share.app
        self.visitor = self.share.mode
        await super().get(token=token)

    def describe(self) -> str:
        return f"share link {self.share.id} ({self.share.mode}) of {super().describe()}"

    async def open(self, *args: Any, **kwargs: Any) -> None:
        self.share.sockets.add(self)
        await super().open(*args, **kwargs)

    def on_close(self) -> None:
        self.share.sockets.discard(self)
        super().on_close()
