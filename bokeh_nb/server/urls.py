"""Every route of the server extension, in one table."""

from __future__ import annotations

from tornado.web import RequestHandler

from ..protocol import FILES_ROUTE, LIVE_APP_ROUTE, SHARE_ROUTE, SHARES_API, STATIC_ROUTE
from .files import FileAppPage, FileAppWebSocket
from .live import LiveAppPage, LiveAppWebSocket
from .shares import SharedAppPage, SharedAppWebSocket, SharedBokehJS, SharesAPI
from .static import BokehJSHandler

__all__ = ("ROUTES",)

_LIVE = LIVE_APP_ROUTE.format(kernel_id=r"(?P<kernel_id>[0-9a-f-]+)", name=r"(?P<name>[^/]+)")
_SHARE = SHARE_ROUTE.format(token=r"(?P<token>[^/]+)")
_BUNDLE = r"/(?P<version>[^/]+)/(?P<filename>[^/]+)"
_FILE = FILES_ROUTE.format(path=r"(?P<path>.+)")

#: (pattern below the base URL, handler): ``extension.BokehNb`` serves them below the
#: server's base URL. ``tests/security/test_route_auth.py`` walks this table: every route
#: must refuse a request without valid credentials.
ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (STATIC_ROUTE + _BUNDLE, BokehJSHandler),
    (_LIVE + r"/ws", LiveAppWebSocket),
    (_LIVE, LiveAppPage),
    (_FILE + r"/ws", FileAppWebSocket),
    (_FILE, FileAppPage),
    (SHARES_API, SharesAPI),
    (SHARES_API + r"/(?P<share_id>[A-Za-z0-9_-]+)", SharesAPI),
    (_SHARE + r"/static" + _BUNDLE, SharedBokehJS),
    (_SHARE + r"/ws", SharedAppWebSocket),
    (_SHARE, SharedAppPage),
]
