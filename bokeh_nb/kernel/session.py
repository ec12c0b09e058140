"""A Bokeh session that lives in the kernel, like bokeh's ``ServerSession``.

The session owns one ``Document`` and does not care what carries its frames: what it sends
goes through ``outgoing.py`` (batching, echo suppression, flow control, numbering) to a
``Channel`` (the ``BokehWidget`` comm, or the server-extension relay). It

- applies browser patches (``inbox.py``) and runs periodic / timeout / next-tick and async
  callbacks (``usercode.py``) under one document lock, with ``curdoc()`` set; what a
  browser's patch changed is marked as that client's, so it is not echoed back to it;
- reports a user exception to the output instead of letting it kill anything (a
  standalone page gets only an error id);
- counts the views each browser client shows, and ends when its last view has been gone
  for ``linger`` seconds (a standalone session: when its websocket has been gone that
  long), or when destroyed: callbacks stop, ``on_session_destroyed`` runs, the document is
  freed.
"""

from __future__ import annotations

import inspect
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tornado.ioloop import IOLoop

from .. import _bokeh
from .flow import MessageBudget
from .inbox import Inbox
from .lock import DocumentLock
from .outgoing import Channel, Outgoing
from .periodic import FixedRatePeriodic
from .streams import CallbackOutput, deliver
from .usercode import UserCode
from .visitor import Mode
from .visitor_text import describe, format_traceback

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.document.events import DocumentPatchedEvent

    from .._bokeh import SessionCallback

__all__ = ("KernelSession",)


class KernelSession:
    #: seconds a session without views (a standalone one: without its websocket) is kept
    #: before it ends
    linger: float = 10.0

    def __init__(
        self,
        document: Document,
        channel: Channel,
        *,
        io_loop: IOLoop | None = None,
        budget: MessageBudget | None = None,
        on_unused: Callable[[], None] | None = None,
        session_id: str | None = None,
        visitor: Mode | None = None,
        standalone: bool = False,
    ) -> None:
        self.id = session_id or uuid.uuid4().hex
        #: a share-link visitor's session: what the browser may change is limited
        self.visitor = visitor
        #: a session of its own page (not a notebook output): its page sees no tracebacks
        self.standalone = standalone
        self.document = document
        self._channel = channel
        self._loop = io_loop or IOLoop.current()
        self._thread = threading.get_ident()
        self.clients: dict[str, int] = {}  # browser client id -> views it shows
        # the kernel's sessions share the runtime's budget; one made alone has its own
        self.outgoing = Outgoing(channel, self._loop, budget or MessageBudget(), self.clients)
        self._on_unused = on_unused
        self._lock = DocumentLock()
        self._inbox = Inbox(self, self._lock, self._loop)
        self._current_client: str | None = None
        # what its callbacks print goes to its output (streams.py)
        self._output = CallbackOutput(
            self._print, self._loop, lambda: self._current_client, lambda: self.destroyed
        )
        self._user = UserCode(
            self._lock,
            self.report,
            lambda: self.destroyed,
            self._output.capturing,
            self.outgoing.backlog,
        )
        self._ever_viewed = False
        self._linger_handle: object | None = None
        self.destroyed = False
        self._destroy_hooks: list[Callable[[], None]] = []
        _bokeh.dispatch_changes_to(document, self)
        self._callbacks = _bokeh.callback_group(self._loop, FixedRatePeriodic)
        for cb in _bokeh.session_callbacks(document):
            self._session_callback_added_obj(cb)

    # ---- kernel -> browser -------------------------------------------------------------

    def _document_patched(self, event: DocumentPatchedEvent) -> None:
        setter: object = event.setter
        origin = self._current_client if setter is self else None
        self.outgoing.add(event, origin, from_cell=self._user.running == 0)

    def flush(self, force: bool = False, answer: bool = False) -> None:
        """Send the pending changes, as far as flow control allows (or all)."""
        self.outgoing.flush(force, answer)

    def send(self, msg: _bokeh.Message[Any]) -> None:
        """Send msg now as the next frame (a reply: pending changes stay pending)."""
        self.outgoing.send(msg)

    @property
    def frames_sent(self) -> int:
        """Frames numbered so far: every Bokeh message the session sent is one."""
        return self.outgoing.frames_sent

    #: the same count, under the name the wire counters of tests and benchmarks use
    messages_sent = frames_sent

    def acknowledged(self, client: str, seq: int) -> None:
        """A page has handled this session's frames up to number seq."""
        self.outgoing.acknowledged(client, seq)

    def will_acknowledge(self, client: str) -> None:
        """client (a standalone session's server) acknowledges this session's frames from
        now on: the session waits for it from its next frame (``AckWindow.expect``)."""
        if self.hand_to_loop(self.will_acknowledge, client):
            return
        self.outgoing.expect(client)

    # ---- browser -> kernel -------------------------------------------------------------

    def hand_to_loop(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Called off the session's loop thread: schedule fn(*args) on it, return True."""
        if threading.get_ident() == self._thread:
            return False
        self._loop.add_callback(fn, *args)
        return True

    def receive(self, msg: _bokeh.Message[Any], client: str) -> None:
        """Handle one Bokeh message from browser client, in order, under the lock."""
        self._inbox.put(msg, client)

    def apply_browser_patch(self, msg: _bokeh.Message[Any], client: str) -> None:
        """Apply client's PATCH-DOC: its changes are not echoed back to it."""
        with self._user.active():
            self._current_client = client
            try:
                _bokeh.apply_patch(msg, self.document, self)
            finally:
                self._current_client = None

    async def with_document_locked(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run func under the document lock, a coroutine it returns to its end: what
        ``doc.session_context.with_locked_document(func)`` calls (bokeh's ``ServerSession``
        API). Its changes go out with the loop turn's batch; its exception is the caller's."""
        await self._lock.acquire()
        try:
            with self._user.active():
                result = func(*args)
                if inspect.isawaitable(result):
                    result = await result
                return result
        finally:
            self._lock.release()

    def report_to_output(self, text: str, traceback: str) -> None:
        """Show an error of another session of the same app in this one's output."""
        self._channel.send_error(text, traceback)

    def _print(self, name: str, text: str, client: str | None) -> None:
        deliver(None if self.destroyed else self._channel, name, text, client)

    def print_to_output(self, name: str, text: str) -> None:
        """Show text another session of the same app printed in this one's output."""
        deliver(self._channel, name, text, None)

    def report(self, error: Exception, replied: bool = False) -> tuple[str, str | None]:
        """Report a user callback's exception; what the browser that caused it is told.

        A notebook output shows the traceback (shortened where it quotes a value), once:
        through the ERROR reply when there is one (``replied``), else as an error frame. A
        standalone session (an app page, a share link) is told only an error id: the
        traceback goes, under that id, to the kernel's log and the app's notebook outputs.
        """
        text, tb = describe(error), format_traceback(error)
        if not self.standalone:
            if not replied:
                self._channel.send_error(text, tb)
            return text, tb
        incident = uuid.uuid4().hex[:12]
        self._channel.send_error(f"error {incident}: {text}", tb)
        return f"error {incident}: the app's callback failed; its author can see the details", None

    # ---- views and lifetime -------------------------------------------------------------

    def set_views(self, client: str, count: int) -> None:
        """A live page reports how many views of this output it shows.

        Only this starts the linger: the output was cleared, its cell re-run or the widget
        removed while the page stayed. A page that goes away (``client_gone``) may come
        back with a reload, so it does not end the session.
        """
        self.clients[client] = max(0, count)
        if count > 0:
            self._ever_viewed = True
        if self.view_count > 0:
            self._cancel_linger()
        elif self._ever_viewed and not self.destroyed and self._linger_handle is None:
            self._linger_handle = self._loop.call_later(self.linger, self._linger_expired)

    def client_gone(self, client: str) -> None:
        self.clients.pop(client, None)
        self.outgoing.forget(client)

    def detached(self) -> None:
        """The session's one connection went away (a standalone page's websocket): it ends
        in ``linger`` seconds unless ``reattached`` first, as a ``bokeh serve`` session
        outlives a dropped websocket so that the page's reconnect finds it again."""
        if self.hand_to_loop(self.detached):
            return
        self.outgoing.forget_all()  # what the gone connection had not acknowledged
        if not self.destroyed and self._linger_handle is None:
            self._linger_handle = self._loop.call_later(self.linger, self._detached_expired)

    def reattached(self) -> None:
        """A new connection took over a detached session: it goes on."""
        if self.hand_to_loop(self.reattached):
            return
        self._cancel_linger()

    def _detached_expired(self) -> None:
        self._linger_handle = None
        self.destroy()

    @property
    def view_count(self) -> int:
        return sum(self.clients.values())

    def _cancel_linger(self) -> None:
        if self._linger_handle is not None:
            self._loop.remove_timeout(self._linger_handle)
            self._linger_handle = None

    def _linger_expired(self) -> None:
        self._linger_handle = None
        if self.view_count == 0 and not self.destroyed and self._on_unused is not None:
            self._on_unused()

    def add_destroy_hook(self, hook: Callable[[], None]) -> None:
        """Run hook (an app's on_session_destroyed) when the session ends."""
        self._destroy_hooks.append(hook)

    def destroy(self) -> None:
        """End the session: stop callbacks, run on_session_destroyed, free the document."""
        if self.destroyed:
            return
        self.outgoing.flush(force=True)
        self.destroyed = True
        self.outgoing.close()
        self._cancel_linger()
        self._callbacks.remove_all_callbacks()
        for hook in self._destroy_hooks:
            self._user.run(hook)
        for callback in _bokeh.take_session_destroyed_callbacks(self.document):
            self._user.run(lambda cb=callback: cb(SessionContextInfo(self)))  # type: ignore[misc]
        _bokeh.destroy_document(self.document, self)
        self._inbox.clear()

    # ---- session callbacks ------------------------------------------------------------

    def _session_callback_added_obj(self, callback: SessionCallback) -> None:
        self._callbacks.add_session_callback(
            _bokeh.wrap_session_callback(callback, self._user.locked)
        )

    def _session_callback_added(self, event: Any) -> None:
        self._session_callback_added_obj(event.callback)

    def _session_callback_removed(self, event: Any) -> None:
        self._callbacks.remove_session_callback(event.callback)


class SessionContextInfo:
    """What ``on_session_destroyed`` callbacks receive for a session shown in a notebook."""

    def __init__(self, session: KernelSession) -> None:
        self.id = session.id
        self.destroyed = True
