"""What every handler of the extension shares: logs without credentials
(``_jupyter.LogScrubbing``), plain error pages that say what went wrong (escaped), and
``refuse`` to raise them."""

from __future__ import annotations

import html
import re
from http.client import responses
from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ._jupyter import LogScrubbing

__all__ = ("BokehNbHandler", "may", "refuse", "shown")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p role="alert">{text}</p></body></html>
"""


def shown(text: str, limit: int = 200) -> str:
    """Request text as it may appear in a message (and so in a log line): short, one line."""
    return _CONTROL.sub("?", text[:limit])


def may(handler: JupyterHandler, action: str, resource: str = "kernels") -> bool:
    """Does the server's Authorizer let the request's user do ``action`` on ``resource``?"""
    user = handler.current_user
    return user is not None and bool(
        handler.authorizer.is_authorized(handler, user, action, resource)
    )


def refuse(status: int, text: str) -> web.HTTPError:
    """An HTTPError whose text is shown (escaped) to the person who made the request."""
    return web.HTTPError(status, "%s", text)


class BokehNbHandler(LogScrubbing, JupyterHandler):
    """A page of the extension: errors as a small page that says what went wrong."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exception = (kwargs.get("exc_info") or (None, None, None))[1]
        text = responses.get(status_code, "Error")
        if isinstance(exception, web.HTTPError) and exception.log_message:
            try:
                text = exception.log_message % exception.args
            except (TypeError, ValueError):
                text = exception.log_message
        self.write_page(status_code, text)

    def write_page(self, status_code: int, text: str) -> None:
        title = f"{status_code} {responses.get(status_code, 'Error')}"
        self.set_status(status_code)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(PAGE.format(title=html.escape(title), text=html.escape(text)))
