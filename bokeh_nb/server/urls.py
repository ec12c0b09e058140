"""Every route of the server extension, in one table."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from ..protocol import LIVE_APP_ROUTE, STATIC_ROUTE
from .live import LiveAppPage, LiveAppWebSocket
from .static import BokehJSHandler

__all__ = ("handlers", "ROUTES")

#: (pattern below the base URL, handler). ``tests/server`` walks this table.
_LIVE = LIVE_APP_ROUTE.format(kernel_id=r"(?P<kernel_id>[0-9a-f-]+)", name=r"(?P<name>[^/]+)")

ROUTES: list[tuple[str, type[Any]]] = [
    (STATIC_ROUTE + r"/(?P<version>[^/]+)/(?P<filename>[^/]+)", BokehJSHandler),
    (_LIVE + r"/ws", LiveAppWebSocket),
    (_LIVE, LiveAppPage),
]


def handlers(base_url: str) -> list[tuple[str, type[Any]]]:
    return [(url_path_join(base_url, pattern), handler) for pattern, handler in ROUTES]
