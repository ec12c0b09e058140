"""Every route of the server extension, in one table."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from ..protocol import STATIC_ROUTE
from .static import BokehJSHandler

__all__ = ("handlers", "ROUTES")

#: (pattern below the base URL, handler). ``tests/server`` walks this table.
ROUTES: list[tuple[str, type[Any]]] = [
    (STATIC_ROUTE + r"/(?P<version>[^/]+)/(?P<filename>[^/]+)", BokehJSHandler),
]


def handlers(base_url: str) -> list[tuple[str, type[Any]]]:
    return [(url_path_join(base_url, pattern), handler) for pattern, handler in ROUTES]
