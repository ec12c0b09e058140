"""The full page of a Bokeh app session: ``app.url``, share links and app files.

The page loads BokehJS from this server (``bundles/{version}/``) and runs one script of its
own, ``assets/app-page.js``, built from ``labextension/src/page/`` by the frontend's build:
it opens ``{app_path}/ws`` with BokehJS and says, in the page's alert, what went wrong when
it cannot (``PROBLEMS``; an app file's page also the reason its websocket was closed
with, ``FILE_PROBLEMS``). That script is inlined with the page's nonce rather than loaded
from a URL: a page whose server URLs are wrong (a proxy path prefix that is not the
server's ``base_url``) can load nothing from this server, and must still say so.

An app with a template of its own (an app directory's ``templates/index.html``) sends it
over the websocket, rendered in the kernel (``kernel/template.py``); the page script puts
it around the session's roots, under this page's CSP (``docs/sharing.md``).
"""

from __future__ import annotations

import html
import json
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

from bokeh import __version__ as bokeh_version
from jupyter_server.utils import url_path_join
from tornado import web

from .. import _bokeh
from ..protocol import CORE_BUNDLES, TEMPLATE_ARG, TEMPLATE_FAILED, TEMPLATE_MSGTYPE

__all__ = ("APP_PAGE_CSP", "FILE_PROBLEMS", "PROBLEMS", "write_app_page")

#: The page's script, built by ``npm run build`` in ``labextension/`` (``build:page``).
PAGE_SCRIPT = Path(__file__).resolve().parent / "assets" / "app-page.js"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
{scripts}
</head>
<body>
<div id="bokeh-nb-root"></div>
<script type="application/json" id="bokeh-nb-item">{item}</script>
<div id="bokeh-nb-problem" role="alert" hidden><p></p>
<button type="button" hidden>Reload to reconnect</button></div>
<script nonce="{nonce}">
{page_script}</script>
</body>
</html>
"""

#: What an app page says when it cannot show its app (``data-problem`` of the alert).
PROBLEMS = {
    "app": (
        "This app could not be opened: the notebook kernel may have been restarted, or it "
        "has no live app of this name. Run the notebook cells that make the app, then "
        "reload this page."
    ),
    "bokehjs": "BokehJS could not be loaded from",
    "websocket": "This page could not open its WebSocket connection to",
    "proxy": (
        "If Jupyter is behind a reverse proxy, the proxy may not forward WebSocket upgrades "
        "or its path prefix may differ from the Jupyter server's base_url: see "
        '"Reverse proxy (nginx)" in bokeh_nb\'s docs/deploying.md.'
    ),
    "lost": (
        "The connection to this app was lost: the Jupyter server, the app's kernel or the "
        "network went away. This page tries to reconnect by itself and, back within the "
        "session's linger, finds its session as it left it. Reload the page to reconnect "
        "(a new session of the app) if it does not."
    ),
    # the app's own template failed: the reason the websocket closed with says so
    # (``template_failed`` is in it), and the page shows it after ``template``
    "template": "This app could not be opened:",
    "template_failed": TEMPLATE_FAILED,
}

#: What an app file's page says instead when its session does not start: ``app``, then
#: the reason the server closed the page's websocket with (the kernel's words: the file,
#: and what its code raised), or ``no_reason`` where it gave none.
FILE_PROBLEMS = {
    **PROBLEMS,
    "app": "This app file could not be opened:",
    "no_reason": "the server could not start it; its log says why.",
}


#: An app page loads scripts and styles from this server only and talks to it only; its
#: one inline script carries a nonce, so HTML an app shows (a Div's text) runs no script.
#: ('unsafe-eval' is BokehJS's CustomJS.)
APP_PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self' 'nonce-{nonce}' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)

#: What would end the page's <script> element early, or make the rest of it a comment.
_NOT_INLINE = re.compile(r"</script|<!--", re.IGNORECASE)


class PageResponse(Protocol):
    """What ``write_app_page`` uses of a request handler."""

    def set_header(self, name: str, value: str, /) -> None: ...

    def finish(self, chunk: str, /) -> object: ...


@lru_cache(maxsize=1)
def _page_script(mtime_ns: int) -> str:
    """The built page script (read again when a new build replaces it)."""
    text = PAGE_SCRIPT.read_text("utf-8")
    if _NOT_INLINE.search(text):
        raise web.HTTPError(500, f"{PAGE_SCRIPT} cannot be inlined into a page")
    return text


def page_script() -> str:
    """The page script, or a clear error where the frontend was never built."""
    try:
        return _page_script(PAGE_SCRIPT.stat().st_mtime_ns)
    except FileNotFoundError:
        raise web.HTTPError(
            500,
            f"bokeh_nb's app page script {PAGE_SCRIPT} is missing: reinstall bokeh_nb, or "
            "build its frontend (cd labextension && npm run build)",
        ) from None


def write_app_page(
    handler: PageResponse,
    title: str,
    app_path: str,
    bundles: str,
    *,
    kind: Literal["app", "file"] = "app",
) -> None:
    """A page that loads BokehJS from ``bundles/{version}/`` and opens ``app_path/ws``;
    ``kind="file"`` for an app file's page, which says why its file could not start."""
    nonce = secrets.token_urlsafe(16)
    item = {
        "version": bokeh_version,
        "app_path": app_path,
        "bokehjs": url_path_join(bundles, bokeh_version, "bokeh.min.js"),
        "problems": FILE_PROBLEMS if kind == "file" else PROBLEMS,
        # the app's own template comes over the websocket, if the app has one
        "template": {"arg": TEMPLATE_ARG, "msgtype": TEMPLATE_MSGTYPE},
        "render_item": {
            "token": _bokeh.new_session_token(),
            "elementid": "bokeh-nb-root",
            "use_for_title": True,
        },
    }
    scripts = "\n".join(
        f'<script src="{html.escape(url_path_join(bundles, bokeh_version, b + ".min.js"))}">'
        "</script>"
        for b in CORE_BUNDLES
    )
    # JSON as the text of a <script> element: with no "<" (no "</script>", "<!--" or
    # "<script" to move the HTML parser out of it), ">" or "&", nor the line separators
    # that end a line of JavaScript
    data = json.dumps(item).translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})
    body = PAGE.format(
        nonce=nonce,
        title=html.escape(title),
        scripts=scripts,
        item=data,
        page_script=page_script(),
    )
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Security-Policy", APP_PAGE_CSP.format(nonce=nonce))
    handler.set_header("Referrer-Policy", "no-referrer")
    handler.finish(body)
