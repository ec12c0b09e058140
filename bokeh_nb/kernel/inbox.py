"""A session's messages from browsers: handled one at a time, in order, each under the
document lock, as bokeh's ``ServerSession`` handles its websocket's.

A PULL-DOC-REQ gets the document (after every pending patch). A PATCH-DOC of a
share-link visitor is first checked against what a person using the page could do
(``visitor.py``), on its JSON, before bokeh decodes anything; then it is applied and
answered OK, or ERROR with a short, escaped reason (``visitor_text.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import _bokeh
from .extensions import pull_content
from .visitor import refusal
from .visitor_text import excerpt

if TYPE_CHECKING:
    from tornado.ioloop import IOLoop

    from .lock import DocumentLock
    from .session import KernelSession

log = logging.getLogger("bokeh_nb.kernel.session")

__all__ = ("Inbox",)


class Inbox:
    def __init__(self, session: KernelSession, lock: DocumentLock, loop: IOLoop) -> None:
        self._session = session
        self._lock = lock
        self._loop = loop
        self._pending: list[Callable[[], None]] = []
        self._draining = False

    def put(self, msg: _bokeh.Message[Any], client: str) -> None:
        """Handle one Bokeh message from browser client, in order, under the lock."""
        self._pending.append(lambda: self._handle(msg, client))
        if not self._draining:
            self._drain()

    def clear(self) -> None:
        self._pending.clear()

    def _drain(self) -> None:
        self._draining = True
        try:
            while self._pending and not self._session.destroyed:
                if not self._lock.try_acquire():
                    self._loop.add_callback(self._drain_async)
                    return
                try:
                    self._pending.pop(0)()
                finally:
                    self._lock.release()
        finally:
            if not self._pending or self._session.destroyed:
                self._draining = False

    async def _drain_async(self) -> None:
        while self._pending and not self._session.destroyed:
            await self._lock.acquire()
            try:
                self._pending.pop(0)()
            finally:
                self._lock.release()
        self._draining = False

    def _handle(self, msg: _bokeh.Message[Any], client: str) -> None:
        session = self._session
        msgtype = msg.header["msgtype"]
        msgid = msg.header["msgid"]
        if msgtype == "PULL-DOC-REQ":
            session.flush(force=True)  # every pending patch goes before the snapshot
            session.clients.setdefault(client, 0)
            document = session.document
            session.send(_bokeh.pull_reply(msgid, document, pull_content(document)))
            return
        if msgtype != "PATCH-DOC":
            text = f"unsupported message type {excerpt(msgtype, 40)!r}"
            session.send(_bokeh.error_reply(msgid, text))
            log.warning("bokeh_nb: refused a browser's %s", text)
            return
        if session.visitor is not None:
            sizes = {i: memoryview(p).nbytes for i, p in _bokeh.message_buffers(msg)}
            reason = refusal(session.document, msg.content, session.visitor, sizes)
            if reason is not None:
                log.warning("bokeh_nb: refused a share-link visitor's change: %s", reason)
                session.send(_bokeh.error_reply(msgid, f"refused: {reason}"))
                return
        try:
            session.apply_browser_patch(msg, client)
        except _bokeh.MalformedPatch as e:
            log.warning("bokeh_nb: malformed PATCH-DOC from a browser: %s", excerpt(e))
            session.send(_bokeh.error_reply(msgid, f"malformed PATCH-DOC: {excerpt(e)}"))
            return
        except Exception as e:  # the app's callbacks, or a value bokeh refused
            text, tb = session.report(e, replied=True)
            session.send(_bokeh.error_reply(msgid, text, tb))
            return
        # what this event caused goes out now, before its OK, even while the window holds:
        # the page waits for it (and its events are merged while one is in flight)
        session.flush(answer=True)
        session.send(_bokeh.ok_reply(msgid))
