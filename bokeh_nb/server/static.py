"""BokehJS bundles at exactly the kernel's bokeh version, from the server's own bokeh."""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from bokeh import __version__ as server_bokeh_version
from bokeh.util.paths import bokehjs_path
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from .base import BokehNbHandler

__all__ = ("BokehJSHandler", "write_bundle")

AUTH_RESOURCE = "bokeh_nb"
_BUNDLE = re.compile(r"^bokeh(-[a-z]+)?\.min\.js$")


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
                    f"The kernel uses bokeh {html.escape(version)} but this Jupyter "
                    f"server has bokeh {server_bokeh_version}. Install bokeh=="
                    f"{html.escape(version)} in the Jupyter server's environment (or "
                    f"bokeh=={server_bokeh_version} in the kernel's) and reload."
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
