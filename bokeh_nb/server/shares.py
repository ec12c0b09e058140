"""Share links over HTTP: the API that makes, lists and revokes them, and what a link opens.

``POST bokeh-nb/api/shares`` (a Jupyter user allowed to execute in the kernel) makes a link
``bokeh-nb/s/{token}`` (listing links shows their tokens: it needs the same permission).
Whoever holds it gets that app's page, its BokehJS and its websocket, and nothing else of
the Jupyter server: the token is no Jupyter credential and sets no cookie. ``view``
visitors change nothing in the kernel; ``interact`` visitors change only what BokehJS
widgets and tools change (checked in the kernel, ``kernel/visitor.py``). A link serves at
most ``BokehNb.share_max_sessions`` sessions at once. The links themselves, their tokens
and their expiry are ``sharelinks.py``'s.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from ..protocol import SHARE_SECONDS
from ._jupyter import LogScrubbing
from .base import BokehNbHandler, may, refuse
from .live import AppSocket
from .logfilter import redact
from .page import write_app_page
from .sharelinks import Share, ShareRegistry
from .state import state_of
from .static import write_bundle

__all__ = (
    "SharedAppPage",
    "SharedAppWebSocket",
    "SharedBokehJS",
    "SharesAPI",
)

#: A link's lifetime when ``POST`` does not say (``expires``), in seconds.


def registry_of(handler: JupyterHandler) -> ShareRegistry:
    return state_of(handler.settings).shares


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
        mode, expires = body.get("mode", "view"), body.get("expires", SHARE_SECONDS)
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
#: own, see ``page.APP_PAGE_CSP``): nothing.
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
