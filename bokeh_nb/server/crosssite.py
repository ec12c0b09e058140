"""Navigations to an app file that the user's own pages did not make.

An app file runs in a fresh kernel, as the logged-in user, with the arguments of its URL
(``bokeh-nb/files/{path}?...``). Browsers send the Jupyter login cookie (SameSite=Lax)
along with a top-level navigation from any site, so without a check a page elsewhere could
run any app file under the server's root, with arguments of its choosing, by sending the
user there. Such a navigation gets a page that names the file and its arguments and asks
the user to open it; its link is a navigation of this server's own page, which a page
elsewhere cannot make. Nothing starts before that, not even the pool's warm kernel.

A navigation is the user's own when the browser says ``Sec-Fetch-Site: same-origin`` (a
link of a page of this server, as JupyterLab's "Open as Bokeh app") or ``none`` (typed, a
bookmark). Browsers that send no ``Sec-Fetch-Site`` (all current ones do) are trusted with
a ``Referer`` on this server's host and asked otherwise, a request without a referrer
included. A request that carries the Jupyter token itself, not just the browser's cookie,
comes from someone who holds the token: it is not asked.
"""

from __future__ import annotations

import html
import logging
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, urlsplit

from jupyter_server.base.handlers import JupyterHandler

from .base import shown

__all__ = ("ASK_PAGE_CSP", "ask_first", "from_elsewhere")

log = logging.getLogger("ServerApp").getChild("bokeh_nb")

#: ``Sec-Fetch-Site`` of the navigations a user makes: from this server's pages, or typed.
OWN_NAVIGATIONS = frozenset({"same-origin", "none"})
#: The page loads nothing, runs nothing, and is shown in no frame (no clickjacking of its
#: link); its one link is a plain navigation.
ASK_PAGE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
#: Arguments shown on the page, at most.
SHOWN_ARGS = 10

ASK_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Open {name}?</title></head>
<body><main>
<h1>Open the app file {name}?</h1>
<p>This link was not opened from a page of this Jupyter server: another site may have sent
you here. Opening it runs the app file <code>{path}</code> {arguments} in a new kernel, as
you. Open it only if you meant to.</p>
<p><a href="{href}">Open {name}</a></p>
</main></body></html>
"""


def from_elsewhere(handler: JupyterHandler) -> bool:
    """Is this request a navigation that no page of this server (nor the user, by typing
    or a bookmark) made?"""
    if handler.token_authenticated:
        return False
    headers = handler.request.headers
    site = headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.strip().lower() not in OWN_NAVIGATIONS
    referer = headers.get("Referer")
    return not referer or urlsplit(referer).netloc != headers.get("Host")


def _query_without_token(query: str) -> str:
    return "&".join(p for p in query.split("&") if p and p.split("=", 1)[0] != "token")


def ask_first(handler: JupyterHandler, path: str, app_path: str) -> None:
    """Answer with the page that asks the user whether to open the app file at ``path``
    (served at ``app_path``) with the request's arguments."""
    query = _query_without_token(handler.request.query)
    pairs = parse_qsl(query, keep_blank_values=True)
    if pairs:
        listed = ", ".join(f"{shown(k, 40)}={shown(v, 100)}" for k, v in pairs[:SHOWN_ARGS])
        more = f" and {len(pairs) - SHOWN_ARGS} more" if len(pairs) > SHOWN_ARGS else ""
        arguments = f"with the arguments <code>{html.escape(listed)}</code>{more}"
    else:
        arguments = "without arguments"
    log.info(
        "bokeh_nb: app file %s opened from elsewhere (Sec-Fetch-Site %s): the user is asked",
        shown(path),
        shown(handler.request.headers.get("Sec-Fetch-Site", "absent"), 20),
    )
    href = app_path + (f"?{query}" if query else "")
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("Content-Security-Policy", ASK_PAGE_CSP)
    handler.set_header("X-Frame-Options", "DENY")
    # the link's navigation names this page as its referrer, for browsers that send no
    # Sec-Fetch-Site; nothing leaves for other sites
    handler.set_header("Referrer-Policy", "same-origin")
    handler.finish(
        ASK_PAGE.format(
            name=html.escape(PurePosixPath(path).name or path),
            path=html.escape(shown(path)),
            arguments=arguments,
            href=html.escape(href),
        )
    )
