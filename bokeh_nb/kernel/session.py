"""A Bokeh session that lives in the kernel, like bokeh's ``ServerSession``.

The session owns one ``Document`` and does not care about the transport: it builds Bokeh
protocol messages and hands them to a ``Transport`` (the ``BokehWidget`` comm, or the
server-extension relay). It

- batches the document's change events per IOLoop turn into one PATCH-DOC, merging
  repeated changes of one property (latest wins), within a kernel-wide message budget
  and, for a notebook output, a window of frames its pages have not yet acknowledged;
- sends changes made by code outside any callback (a notebook cell) at once when nothing
  went out in the last ``cell_flush_interval``, so a cell that loops and sleeps still
  updates its output live while a burst of changes is merged;
- keeps echo suppression per browser client: a change that came from client X is sent in
  a run of its own tagged ``origin: X``, and only when some other client is listening;
- runs browser patches (``inbox.py``), periodic / timeout / next-tick and async callbacks
  under one document lock, with ``curdoc()`` set, and reports a user exception to the
  output instead of letting it kill anything (a standalone page gets only an error id);
- ends when its last view has been gone for ``linger`` seconds (a standalone session: when
  its websocket has been gone that long), or when destroyed: callbacks stop,
  ``on_session_destroyed`` runs, the document is freed.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from tornado.ioloop import IOLoop

from .. import _bokeh
from .flow import KERNEL_BUDGET, AckWindow, MessageBudget
from .inbox import Inbox
from .lock import DocumentLock
from .visitor import Mode
from .visitor_text import describe, format_traceback

if TYPE_CHECKING:
    from bokeh.document import Document
    from bokeh.document.events import DocumentPatchedEvent

    from .._bokeh import SessionCallback

log = logging.getLogger(__name__)

__all__ = ("KernelSession", "Transport")


class Transport(Protocol):
    """Where a session's messages go."""

    def send_message(self, msg: _bokeh.Message[Any], origin: str | None = None) -> None: ...

    def send_error(self, text: str, traceback: str) -> None: ...


Run = tuple[str | None, list["DocumentPatchedEvent"]]


class KernelSession:
    #: seconds a session without views (a standalone one: without its websocket) is kept
    #: before it ends
    linger: float = 10.0
    #: Changes made outside any callback (a cell) go out at once, unless something went
    #: out less than this long ago: then they wait for the loop turn (or the next change),
    #: merged. A cell that sleeps between changes updates live; a burst becomes one patch.
    cell_flush_interval: float = 0.02

    def __init__(
        self,
        document: Document,
        transport: Transport,
        *,
        io_loop: IOLoop | None = None,
        budget: MessageBudget = KERNEL_BUDGET,
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
        self._transport = transport
        self._loop = io_loop or IOLoop.current()
        self._thread = threading.get_ident()
        self._budget = budget
        #: frames ahead of the pages that acknowledge them (``next_seq`` numbers a frame)
        self.window = AckWindow()
        self._on_unused = on_unused
        self._lock = DocumentLock()
        self._inbox = Inbox(self, self._lock, self._loop)
        self._runs: list[Run] = []
        self._flush_handle: object | None = None
        self._last_flush = 0.0
        self._dispatching = 0  # > 0 while a browser patch or a session callback runs
        self._current_client: str | None = None
        self.clients: dict[str, int] = {}  # browser client id -> views it shows
        self._ever_viewed = False
        self._linger_handle: object | None = None
        self.destroyed = False
        self.messages_sent = 0
        self._destroy_hooks: list[Callable[[], None]] = []
        _bokeh.dispatch_changes_to(document, self)
        self._callbacks = _bokeh.callback_group(self._loop)
        for cb in _bokeh.session_callbacks(document):
            self._session_callback_added_obj(cb)

    # ---- kernel -> browser -------------------------------------------------------------

    def _document_patched(self, event: DocumentPatchedEvent) -> None:
        setter: object = event.setter
        origin = self._current_client if setter is self else None
        if self._runs and self._runs[-1][0] == origin:
            _bokeh.combine_event(event, self._runs[-1][1])
        else:
            self._runs.append((origin, [event]))
        on_loop_thread = threading.get_ident() == self._thread
        idle = time.monotonic() - self._last_flush >= self.cell_flush_interval
        if self._dispatching == 0 and on_loop_thread and idle:
            self.flush()  # from cell code: send now, the loop may not turn for a while
        else:
            self._schedule_flush(0.0)

    def _schedule_flush(self, delay: float) -> None:
        if self._flush_handle is not None:
            return
        if delay <= 0:
            self._flush_handle = True
            self._loop.add_callback(self._scheduled_flush)
        else:
            self._flush_handle = self._loop.call_later(delay, self._scheduled_flush)

    def _scheduled_flush(self) -> None:
        self._flush_handle = None
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Send what is pending, as far as the kernel's message budget allows (or all)."""
        while self._runs and not self.destroyed:
            origin, events = self._runs[0]
            if origin is not None and not any(c != origin for c in self.clients):
                self._runs.pop(0)  # an echo nobody else would see
                continue
            if not force:
                hold = self.window.hold_for()
                if hold is not None:  # an acknowledgement flushes sooner
                    self._schedule_flush(hold)
                    return
            if not self._budget.try_take() and not force:
                self._schedule_flush(self._budget.wait_time())
                return
            self._runs.pop(0)
            msg = _bokeh.patch_message(events, **({"origin": origin} if origin else {}))
            self.send(msg, origin)
            self._last_flush = time.monotonic()

    def acknowledged(self, client: str, seq: int) -> None:
        """A page has handled this session's frames up to number seq."""
        self.window.ack(client, seq)
        self._window_moved()

    def _window_moved(self) -> None:
        if self._runs and self.window.hold_for() is None:
            handle = self._flush_handle
            if handle is None or handle is True:
                self._schedule_flush(0.0)
            else:  # a timer: the window's or the budget's; flush() asks both again
                self._loop.remove_timeout(handle)
                self._flush_handle = None
                self.flush()

    def send(self, msg: _bokeh.Message[Any], origin: str | None = None) -> None:
        self.messages_sent += 1
        self._transport.send_message(msg, origin)

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
        self._dispatching += 1
        self._current_client = client
        try:
            _bokeh.apply_patch(msg, self.document, self)
        finally:
            self._current_client = None
            self._dispatching -= 1

    def report_to_output(self, text: str, traceback: str) -> None:
        """Show an error of another session of the same app in this one's output."""
        self._transport.send_error(text, traceback)

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
                self._transport.send_error(text, tb)
            return text, tb
        incident = uuid.uuid4().hex[:12]
        self._transport.send_error(f"error {incident}: {text}", tb)
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
        self.window.forget(client)
        self._window_moved()

    def detached(self) -> None:
        """The session's one connection went away (a standalone page's websocket): it ends
        in ``linger`` seconds unless ``reattached`` first, as a ``bokeh serve`` session
        outlives a dropped websocket so that the page's reconnect finds it again."""
        if self.hand_to_loop(self.detached):
            return
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
        self.flush(force=True)
        self.destroyed = True
        self._cancel_linger()
        self._callbacks.remove_all_callbacks()
        for hook in self._destroy_hooks:
            self._run_user(hook)
        for callback in _bokeh.take_session_destroyed_callbacks(self.document):
            self._run_user(lambda cb=callback: cb(SessionContextInfo(self)))  # type: ignore[misc]
        _bokeh.destroy_document(self.document, self)
        self._runs.clear()
        self._inbox.clear()

    # ---- user callbacks ----------------------------------------------------------------

    def _run_user(self, func: Callable[[], Any]) -> Any:
        """Run user code; an exception goes to the output, never further."""
        self._dispatching += 1
        try:
            return func()
        except Exception as e:
            self.report(e)
            return None
        finally:
            self._dispatching -= 1

    def _locked(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """A session callback that runs under the document lock (unless marked nolock)."""
        if getattr(callback, "nolock", False):
            return lambda *a, **kw: self._run_user(lambda: callback(*a, **kw))

        def run(*args: Any, **kwargs: Any) -> Awaitable[None] | None:
            if self.destroyed:
                return None
            if self._lock.try_acquire():
                return self._run_holding(callback, args, kwargs)
            return self._later(callback, args, kwargs)

        return run

    def _run_holding(
        self, callback: Callable[..., Any], args: Any, kwargs: Any
    ) -> Awaitable[None] | None:
        """Run callback while holding the lock; release it once callback (or the
        coroutine it returned) is done."""
        try:
            result = self._run_user(lambda: callback(*args, **kwargs))
        except BaseException:
            self._lock.release()
            raise
        if inspect.isawaitable(result):
            return self._finish_async(result)
        self._lock.release()
        return None

    async def _later(self, callback: Callable[..., Any], args: Any, kwargs: Any) -> None:
        await self._lock.acquire()
        if self.destroyed:
            self._lock.release()
            return
        pending = self._run_holding(callback, args, kwargs)
        if pending is not None:
            await pending

    async def _finish_async(self, result: Awaitable[Any]) -> None:
        self._dispatching += 1
        try:
            await result
        except Exception as e:
            self.report(e)
        finally:
            self._dispatching -= 1
            self._lock.release()

    def _session_callback_added_obj(self, callback: SessionCallback) -> None:
        self._callbacks.add_session_callback(_bokeh.wrap_session_callback(callback, self._locked))

    def _session_callback_added(self, event: Any) -> None:
        self._session_callback_added_obj(event.callback)

    def _session_callback_removed(self, event: Any) -> None:
        self._callbacks.remove_session_callback(event.callback)


class SessionContextInfo:
    """What ``on_session_destroyed`` callbacks receive for a session shown in a notebook."""

    def __init__(self, session: KernelSession) -> None:
        self.id = session.id
        self._document = session.document
        self.destroyed = True
