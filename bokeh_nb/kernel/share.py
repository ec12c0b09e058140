"""``bokeh_nb.share(app, mode=..., expires=...)``: a share link to a live app of this kernel.

Share links are made and kept by the Jupyter server (``server/shares.py``), for a user
logged in to it. The kernel holds no credential of that server, so it asks the notebook
page that ran the cell: a comm to ``FRONTEND_TARGET`` carrying the request, which the page
answers by calling ``bokeh-nb/api/shares`` as its user. The answer reaches the kernel once
the cell has finished; until then the link's output says it is being made, and is then
updated in place with the URL.

The URL is shown only by the page that runs the notebook (its ``SHARE_MIME`` entry, which a
save keeps without it): the output's ``text/plain`` and ``text/html``, which every other
viewer and export shows, say how a link is made, never a URL or token that a saved
notebook would carry past the link's life. A run without a page (nbconvert, papermill)
makes no link and says so.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ..protocol import FRONTEND_TARGET, SHARE_MIME, VISITOR_MODES
from ..wire import revoke_request, share_request
from ._ipykernel import CommMessage, kernel_id, open_comm
from .liveapp import app_for
from .runtime import runtime

__all__ = ("ShareLink", "parse_expires", "share")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expires(expires: object) -> float:
    """Seconds from ``3600``, ``"90s"``, ``"30m"``, ``"1h"``, ``"2d"`` or a timedelta."""
    if isinstance(expires, dt.timedelta):
        seconds = expires.total_seconds()
    elif isinstance(expires, int | float) and not isinstance(expires, bool):
        seconds = float(expires)
    elif isinstance(expires, str) and (m := _DURATION.match(expires)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(
            f"expires={expires!r}: give seconds, a timedelta or a string like '30m', '1h', '2d'"
        )
    if seconds <= 0:
        raise ValueError(f"expires={expires!r}: a share link must live a positive time")
    return seconds


class ShareLink:
    """A share link of a live app. ``url`` is known once the notebook page has made it
    (after the cell that asked for it); ``revoke()`` ends it and its open sessions."""

    def __init__(self, app: str, mode: str, seconds: float) -> None:
        self.app = app
        self.mode = mode
        self.seconds = seconds
        self.id: str | None = None
        self.url: str | None = None
        self.expires_at: float | None = None
        self.error: str | None = None
        self.revoked = False
        self._display_id = uuid.uuid4().hex

    @property
    def state(self) -> str:
        if self.error is not None:
            return "failed"
        if self.revoked:
            return "revoked"
        return "pending" if self.url is None else "ready"

    def _request(
        self, data: Mapping[str, Any], on_answer: Callable[[dict[str, Any]], None]
    ) -> None:
        def answered(msg: CommMessage) -> None:
            on_answer(msg.get("content", {}).get("data", {}))

        open_comm(FRONTEND_TARGET, data).on_msg(answered)

    def _created(self, data: dict[str, Any]) -> None:
        share = data.get("share")
        if isinstance(share, dict) and isinstance(share.get("url"), str):
            self.id = str(share.get("id"))
            self.url = share["url"]
            self.expires_at = float(share.get("expires_at", 0)) or None
        else:
            self.error = str(data.get("error") or "the notebook page could not make the link")
        self._update()

    def revoke(self) -> None:
        """End the link: visitors are refused and its open sessions close."""
        if self.revoked:
            return
        if self.id is None:
            raise RuntimeError(f"this share link is {self.state}: there is nothing to revoke")
        self._request(revoke_request(self.id), self._revoked)

    def _revoked(self, data: dict[str, Any]) -> None:
        if data.get("revoked"):
            self.revoked = True
        else:
            self.error = str(data.get("error") or "the link could not be revoked")
        self._update()

    def _text(self) -> str:
        if self.state == "ready":
            return f"Share link ({self.mode}) to app {self.app!r}: {self.url}"
        if self.state == "pending":
            return (
                f"Making a share link ({self.mode}) to app {self.app!r} (its URL shows here "
                "when the cell has finished)"
            )
        if self.state == "revoked":
            return f"Share link to app {self.app!r}: revoked"
        return f"No share link to app {self.app!r}: {self.error}"

    def _saved_text(self) -> str:
        """What the output says outside the page that made the link: true once the
        notebook is saved, exported or opened elsewhere, and free of URLs and tokens."""
        again = "Run this cell in JupyterLab or Notebook 7 with bokeh_nb to make one."
        if self.state == "failed":
            return f"No share link to app {self.app!r}: {self.error}. {again}"
        if self.state == "revoked":
            return f"Share link to app {self.app!r}: revoked. {again}"
        return (
            f"Share link ({self.mode}) to app {self.app!r}: made by a running notebook "
            f"session and shown only in its page; a saved notebook keeps no link. {again}"
        )

    def _bundle(self) -> dict[str, Any]:
        saved = self._saved_text()
        entry: dict[str, Any] = {
            "app": self.app,
            "mode": self.mode,
            "state": self.state,
            "text": self._text(),
        }
        if self.state == "ready" and self.url is not None:
            entry["url"] = self.url
        body = f'<div class="bokeh-nb-share">{html.escape(saved)}</div>'
        return {SHARE_MIME: entry, "text/plain": saved, "text/html": body}

    def _update(self) -> None:
        from IPython.display import update_display

        update_display(self._bundle(), raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._bundle(), raw=True, display_id=self._display_id)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"<bokeh_nb.ShareLink {self._text()}>"


def share(app: object, mode: str = "view", expires: object = "1h") -> ShareLink:
    """A share link to a live app of this kernel, for colleagues without a Jupyter login.

    ``mode="view"``: they see the app, pan and zoom, and change nothing in the kernel;
    ``mode="interact"``: their widgets and tools drive the app's Python callbacks. The
    link expires after ``expires`` (seconds, ``"30m"``, ``"1h"``, ``"2d"`` or a timedelta;
    at most what the server allows, 7 days by default); ``link.revoke()`` ends it sooner.
    """
    if mode not in VISITOR_MODES:
        raise ValueError(f"mode={mode!r}: a share link is 'view' or 'interact'")
    seconds = parse_expires(expires)
    rt = runtime()
    name = app if isinstance(app, str) and app in rt.apps else app_for(app).name
    if rt.frontend.state == "absent":
        raise RuntimeError(f"cannot make a share link: {rt.frontend.problem}")
    link = ShareLink(name, mode, seconds)
    if rt.headless():
        link.error = (
            "no notebook page runs this kernel (a run without a page, such as nbconvert "
            "--execute or papermill), and only such a page can make one"
        )
        return link
    link._request(share_request(kernel_id(), name, mode, seconds), link._created)
    return link
