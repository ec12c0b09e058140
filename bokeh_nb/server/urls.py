"""Every route of the server extension, in one table."""

from __future__ import annotations

from tornado.web import RequestHandler

from ..protocol import FILES_ROUTE, LIVE_APP_ROUTE, SHARE_ROUTE, SHARES_API, STATIC_ROUTE
from .appstatic import FileAppStatic, LiveAppStatic, SharedAppStatic
from .files import FileAppPage, FileAppWebSocket
from .live import LiveAppPage, LiveAppWebSocket
from .shares import SharedAppPage, SharedAppWebSocket, SharedBokehJS, SharesAPI
from .static import BokehJSHandler

__all__ = ("ROUTES",)

_LIVE = LIVE_APP_ROUTE.format(kernel_id=r"(?P<kernel_id>[0-9a-f-]+)", name=r"(?P<name>[^/]+)")
_SHARE = SHARE_ROUTE.format(token=r"(?P<token>[^/]+)")
_BUNDLE = r"/(?P<version>[^/]+)/(?P<filename>[^/]+)"
_FILE = FILES_ROUTE.format(path=r"(?P<path>.+)")
#: an app's static files, below its page (an app file's: below the first ``/static/``)
_STATIC = r"/static/(?P<filename>.+)"
_FILE_STATIC = FILES_ROUTE.format(path=r"(?P<path>.+?)") + _STATIC
#: a share link's BokehJS: a version and a bundle's name (any other path below its
#: ``static/`` is the app's own)
_SHARE_BUNDLE = r"/(?P<version>[0-9][^/]*)/(?P<filename>bokeh[^/]*\.min\.js)"

#: (pattern below the base URL, handler): ``extension.BokehNb`` serves them below the
#: server's base URL. ``tests/security/test_route_auth.py`` walks this table: every route
#: must refuse a request without valid credentials.
ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (STATIC_ROUTE + _BUNDLE, BokehJSHandler),
    (_LIVE + r"/ws", LiveAppWebSocket),
    (_LIVE + _STATIC, LiveAppStatic),
    (_LIVE, LiveAppPage),
    (_FILE + r"/ws", FileAppWebSocket),
    (_FILE_STATIC, FileAppStatic),
    (_FILE, FileAppPage),
    (SHARES_API, SharesAPI),
    (SHARES_API + r"/(?P<share_id>[A-Za-z0-9_-]+)", SharesAPI),
    (_SHARE + r"/static" + _SHARE_BUNDLE, SharedBokehJS),
    (_SHARE + r"/ws", SharedAppWebSocket),
    (_SHARE + _STATIC, SharedAppStatic),
    (_SHARE, SharedAppPage),
]
