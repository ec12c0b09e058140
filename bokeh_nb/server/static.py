"""BokehJS bundles at exactly the kernel's bokeh version, from the server's own bokeh.

The server says in the page config which bokeh version it serves (``SERVER_BOKEH_OPTION``),
so a page asks it only for that version; the BokehJS of any other version comes from the
kernel itself over the output's comm (``kernel/bokehjs.py``).
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path
from typing import Any

from bokeh import __version__ as server_bokeh_version
from bokeh.util.paths import bokehjs_path
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ..protocol import SERVER_BOKEH_OPTION
from .base import BokehNbHandler

__all__ = ("BokehJSHandler", "advertise_bokeh_version", "write_bundle")

AUTH_RESOURCE = "bokeh_nb"
_BUNDLE = re.compile(r"^bokeh(-[a-z]+)?\.min\.js$")


def advertise_bokeh_version(settings: dict[str, Any]) -> None:
    """Put the served bokeh version in the page config of JupyterLab and Notebook 7 (both
    merge the web app's ``page_config_data`` into every page they render)."""
    settings.setdefault("page_config_data", {})[SERVER_BOKEH_OPTION] = server_bokeh_version


@cache
def _read(filename: str) -> bytes:
    return (Path(bokehjs_path()) / "js" / filename).read_bytes()


def write_bundle(handler: JupyterHandler, version: str, filename: str) -> None:
    """Answer with one BokehJS bundle of the server's bokeh (a clear 404 for another)."""
    if not _BUNDLE.match(filename):
        raise web.HTTPError(404, "no such BokehJS bundle")
    if version != server_bokeh_version:
        handler.set_status(404)
        handler.set_header("Content-Type", "application/json")
        handler.finish(
            {
                "message": (
                    f"This Jupyter server serves BokehJS {server_bokeh_version}, not "
                    f"{html.escape(version[:40])}: a page loads that version from the "
                    "kernel instead (reload the page if this output shows this message)."
                ),
                "server_bokeh_version": server_bokeh_version,
            }
        )
        return
    try:
        body = _read(filename)
    except FileNotFoundError:
        raise web.HTTPError(404, "no such BokehJS bundle") from None
    handler.set_header("Content-Type", "text/javascript; charset=utf-8")
    handler.set_header("Cache-Control", "public, max-age=31536000, immutable")
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.finish(body)


class BokehJSHandler(BokehNbHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self, version: str, filename: str) -> None:
        write_bundle(self, version, filename)
