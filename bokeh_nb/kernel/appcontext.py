"""One bokeh ``Application`` in this kernel: its lifecycle hooks and its sessions.

The kernel's counterpart of bokeh's ``ApplicationContext``: ``on_server_loaded`` runs once
per app per kernel (before its first session), ``on_session_created`` /
``on_session_destroyed`` once per session, ``on_server_unloaded`` when the kernel shuts
down. Every session gets a new Document, initialized by the app's handlers with
``curdoc()`` set and ``curdoc().session_context`` as under ``bokeh serve``. The kernel's
runtime keeps one context per application (``runtime.py``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bokeh.application import Application
from bokeh.document import Document

from .. import _bokeh
from ..apps import check_handlers

if TYPE_CHECKING:
    from .session import KernelSession

log = logging.getLogger(__name__)

__all__ = ("AppContext", "run_soon")


def run_soon(awaitable: Any, then: Callable[[], None] | None = None) -> None:
    """Run a lifecycle hook now as far as it goes without waiting; if it waits, finish it
    on the event loop. ``then`` runs after it either way. Hooks are coroutines that usually
    never wait, and a notebook cell cannot await."""
    if not inspect.iscoroutine(awaitable):
        if then is not None:
            then()
        return
    try:
        first = awaitable.send(None)
    except StopIteration:
        if then is not None:
            then()
        return
    asyncio.ensure_future(_finish(awaitable, first, then))


async def _finish(coro: Any, yielded: Any, then: Callable[[], None] | None) -> None:
    # What a coroutine yields is what it waits on (an asyncio future, or None for a bare
    # yield); once that is done it is resumed, and reads the future's outcome itself.
    try:
        while True:
            if isinstance(yielded, asyncio.Future):
                await asyncio.wait({yielded})
            else:
                await asyncio.sleep(0)
            try:
                yielded = coro.send(None)
            except StopIteration:
                return
    except Exception:
        log.error("bokeh_nb: a lifecycle hook failed:\n%s", traceback.format_exc())
    finally:
        if then is not None:
            then()


class AppContext:
    """An application's lifecycle in this kernel, and its live sessions."""

    def __init__(self, application: Application, source: object) -> None:
        self.application = application
        self.source = source
        self.server_context = _bokeh.server_context(self)
        self.loaded = False
        self._sessions: dict[str, KernelSession] = {}
        self._contexts: dict[str, Any] = {}  # session id -> bokeh's session context

    @property
    def sessions(self) -> list[KernelSession]:
        return list(self._sessions.values())

    def _load(self) -> None:
        if not self.loaded:
            self.loaded = True
            self.application.on_server_loaded(self.server_context)

    def new_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Document, Any]:
        """A new session's Document, initialized by the app (raises AppError if it fails)."""
        self._load()
        session_id = uuid.uuid4().hex
        doc = Document()
        ctx = _bokeh.session_context(session_id, self.server_context, doc, arguments or {})
        run_soon(self.application.on_session_created(ctx))
        with _bokeh.use_curdoc(doc):  # for function apps too, not only scripts
            self.application.initialize_document(doc)
        check_handlers(self.application, self.source)
        self._contexts[session_id] = ctx
        return session_id, doc, ctx

    def attach(self, session_id: str, session: KernelSession) -> None:
        _bokeh.bind_session(self._contexts[session_id], session)
        self._sessions[session_id] = session
        session.add_destroy_hook(lambda: self._session_destroyed(session_id))

    def _session_destroyed(self, session_id: str) -> None:
        ctx = self._contexts.pop(session_id, None)
        self._sessions.pop(session_id, None)
        if ctx is not None:
            # the app's hook; bokeh's DocumentLifecycleHandler then runs (and clears) the
            # document's own on_session_destroyed callbacks
            run_soon(self.application.on_session_destroyed(ctx))

    def unload(self) -> None:
        """Kernel shutdown: end every session, then ``on_server_unloaded``."""
        for session in list(self._sessions.values()):
            session.destroy()
        if self.loaded:
            self.loaded = False
            try:
                self.application.on_server_unloaded(self.server_context)
            except Exception:
                log.error("bokeh_nb: on_server_unloaded failed:\n%s", traceback.format_exc())
