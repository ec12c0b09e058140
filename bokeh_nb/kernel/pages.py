"""Standalone sessions of this kernel's live apps: full pages opened by the Jupyter server.

The server extension opens a comm to ``SESSION_TARGET`` for every full-page visitor or
``bokeh.client`` connection of ``bokeh-nb/kernels/{kernel_id}/apps/{name}`` (and of a file
app, in a file-app kernel); each comm is one new session of the named app (a new
Document, as every visit to a ``bokeh serve`` app), carrying the frames of
``docs/protocol.md``. The runtime finds the app an open request names (``runtime.py``).

Closing the comm (the visitor's websocket went away) ends the session. A session whose
comm named its page (``session_id``, the Bokeh session id of the page's token) is only
detached: it ends ``KernelSession.linger`` seconds later, unless a new comm naming the same
page, app and visitor mode takes it over first, as BokehJS's reconnect finds its session
again under ``bokeh serve``. That page then pulls the session's current document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from .. import _bokeh
from ..apps import AppError
from ..protocol import KIND_BATCH, RELAY_METADATA, STANDALONE_CLIENT, TEMPLATE_FAILED
from ..wire import BokehFrame, FrameError, SessionOpen, error_frame, frame_kind, read_session_open
from ._ipykernel import Comm, CommMessage, log_to_kernel_stderr, route_by_sender
from .flow import MessageBudget
from .frames import dispatch, encode
from .relay import Receivers, RelayBatch
from .session import KernelSession
from .streams import printed_to
from .template import (
    TemplateError,
    has_template,
    render_template,
    syntax_error,
    template_frame,
)
from .visitor_text import describe, excerpt, format_traceback

if TYPE_CHECKING:
    from bokeh.document import Document

    from .visitor import Mode

log = logging.getLogger(__name__)
#: bokeh logs an app handler's failure with its traceback; ``_failed`` logs it, once
_BOKEH_APPLICATION_LOG = logging.getLogger("bokeh.application.application")


@contextmanager
def _handler_errors_unlogged() -> Iterator[None]:
    """While a page's document is made: a failing app handler is logged once, by
    ``Pages.open`` (``_failed``), not also by bokeh (whose line would reach the log a
    second time, as text the app's code printed)."""
    disabled = _BOKEH_APPLICATION_LOG.disabled
    _BOKEH_APPLICATION_LOG.disabled = True
    try:
        yield
    finally:
        _BOKEH_APPLICATION_LOG.disabled = disabled


__all__ = ("AppFinder", "PageApp", "PageChannel", "Pages", "log_to_server")


class PageApp(Protocol):
    """A live app as its standalone pages see it."""

    @property
    def name(self) -> str: ...

    @property
    def sessions(self) -> Sequence[KernelSession]: ...

    def new_session_document(
        self, arguments: dict[str, list[bytes]] | None = None
    ) -> tuple[str, Document]: ...

    def attach(self, session_id: str, session: KernelSession) -> None: ...


#: The app an open request names (``None``: no such app), given the request's data and
#: buffers; it raises when the app (a file app) cannot be loaded.
AppFinder = Callable[[SessionOpen, Sequence[bytes | memoryview]], PageApp | None]


class PageChannel:
    """A standalone session's frames over its page's comm (no widget). ``comm`` is None
    while the session is detached: what it sends then is dropped, the page that reattaches
    pulls the whole document. Set with ``comm``: ``relay`` batches the frames when the
    comm's server splits batches; ``numbered`` sends frame numbers to a server that
    acknowledges what its page has taken (``server/pacing.py``), so the session's ack
    window paces that page as it does a notebook page."""

    def __init__(self, comm: Comm | None, app: PageApp) -> None:
        self.comm = comm
        #: the live app this is a session of (its notebook outputs see its errors)
        self.app = app
        self.relay: RelayBatch | None = None
        self.numbered = False

    def send_message(self, msg: _bokeh.Message[Any], seq: int, acknowledge: bool = False) -> None:
        frame, payloads = encode(msg, seq, acknowledge) if self.numbered else encode(msg)
        self.send_frame(frame, payloads)

    def send_frame(self, frame: Mapping[str, Any], buffers: Sequence[bytes | memoryview]) -> None:
        """A frame to the page, after every frame sent before it (dropped if detached)."""
        comm = self.comm
        if comm is None:
            return
        if self.relay is not None:
            self.relay.send(comm, frame, buffers)
        else:
            comm.send(frame, metadata=RELAY_METADATA, buffers=buffers)

    def send_error(self, text: str, traceback: str) -> None:
        """A callback of this session failed: its page never sees the traceback (it got an
        error id, in text); the kernel's log and the app's notebook outputs do."""
        name = self.app.name
        log.error("bokeh_nb: %s in a standalone session of app %r\n%s", text, name, traceback)
        for session in self._notebook_outputs():
            session.report_to_output(f"{text} (in a page of app {name!r})", traceback)

    def send_stream(self, name: str, text: str, client: str | None) -> None:
        """What this session's callbacks printed: never to its page (a visitor may see
        it); to the kernel's log and, each line marked, the app's notebook outputs."""
        app = self.app.name
        log.info(
            "bokeh_nb: a standalone session of app %r printed (%s):\n%s",
            app,
            name,
            text.rstrip("\n"),
        )
        mark = f"[a page of app {app!r}] "
        marked = "".join(mark + line for line in text.splitlines(keepends=True))
        for session in self._notebook_outputs():
            session.print_to_output(name, marked)

    def _notebook_outputs(self) -> list[KernelSession]:
        """The app's live notebook outputs: where its author sees what its pages did."""
        return [s for s in self.app.sessions if not s.standalone and not s.destroyed]


def _refuse(comm: Comm, text: str) -> None:
    # The server closes the visitor's websocket and then this comm. (A close from here
    # would reach every notebook page on iopub, which would each log an unknown comm.)
    comm.send(error_frame(text), metadata=RELAY_METADATA)


#: Where a traceback's text begins (bokeh keeps only the text of what a script raised).
_TRACEBACK = "Traceback (most recent call last):"
#: The line of a traceback's text that names the exception: ``Type: message``.
_EXCEPTION_LINE = re.compile(r"([A-Za-z_][\w.]*)(?:: (.*))?")


def _raised_in(text: str) -> str | None:
    """``Type: message`` of the last exception in the traceback that text ends with (an
    ``AppError`` carries bokeh's text of what the app's script raised): the first line
    after that traceback's last frame that is not indented, and the lines after it. None
    where text holds no traceback."""
    if _TRACEBACK not in text:
        return None
    lines = text[text.rindex(_TRACEBACK) :].splitlines()
    frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
    for i in range(frames[-1] + 1 if frames else 1, len(lines)):
        if match := _EXCEPTION_LINE.fullmatch(lines[i]):
            kind = match[1].rsplit(".", 1)[-1]
            message = "\n".join([match[2] or "", *lines[i + 1 :]]).strip()
            return f"{kind}: {message}" if message else kind
    return None


def _failed(data: SessionOpen, error: Exception, *, loading: bool) -> str:
    """The refusal of a session whose app could not be loaded or build its document, once
    the kernel's log (the server's) has the traceback. An app file's page is told the
    file, as the server named it, and what its code raised; a notebook's live app's page
    only that it failed (its author has the notebook, and the log)."""
    name = excerpt(data.get("app") or "", 100)
    if "file" not in data:
        text = f"the app {name!r} failed to start a session"
    else:
        raised = syntax_error(error)  # a template bokeh could not read, else what the code raised
        if raised is None and isinstance(error, AppError):
            parsed = _raised_in(str(error))
            raised = excerpt(parsed) if parsed is not None else None
        elif raised is None:
            raised = describe(error)
        if raised is not None:
            what = "could not be loaded: " if loading else "raised "
            text = f"the app file {name!r} {what}{raised}"
        else:
            what = "could not be loaded" if loading else "failed to start a session"
            text = f"the app file {name!r} {what}: the server's log says why"
    message = str(error)
    if isinstance(error, AppError) and _TRACEBACK in message:
        log.error("bokeh_nb: %s\n%s", text, message)  # the traceback of the app's code
    else:
        log.error("bokeh_nb: %s\n%s", text, format_traceback(error))
    return text


def _static_path(app: PageApp) -> Path | None:
    """The app's ``static/`` directory (an app directory's), if it has one."""
    static = getattr(getattr(app, "application", None), "static_path", None)
    return Path(static) if isinstance(static, str) else None


def _template(app: PageApp, document: Document) -> BokehFrame:
    """The message that brings a new session's page its app's template."""
    return template_frame(render_template(document), document, _static_path(app))


def _template_failed(data: SessionOpen, error: TemplateError) -> str:
    """The refusal of a session whose template could not be rendered (its file and why;
    the kernel's log, the server's, has the traceback)."""
    name = excerpt(data.get("app") or "", 100)
    what = "app file" if "file" in data else "app"
    text = f"the {what} {name!r} {TEMPLATE_FAILED} {error}"
    log.error("bokeh_nb: %s\n%s", text, format_traceback(error.__cause__ or error))
    return text


#: A page's Bokeh session id, as the server passes it (never used as anything but a key).
_PAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass
class _Standalone:
    """A standalone session and what a reconnecting page must match to take it over."""

    session: KernelSession
    channel: PageChannel
    app: PageApp
    visitor: str | None


class Pages:
    """This kernel's standalone sessions; ``open`` is the handler of ``SESSION_TARGET``."""

    def __init__(self, find_app: AppFinder, budget: MessageBudget) -> None:
        self._find_app = find_app
        self._budget = budget
        #: the frames of sessions whose server splits batches (``relay.py``)
        self._relay = RelayBatch(budget)
        #: standalone sessions by the page that opened them, while they live
        self._by_page: dict[str, _Standalone] = {}
        #: the handler of each open comm's frames (for the server's batches)
        self._receivers = Receivers()

    def open(self, comm: Comm, open_msg: CommMessage) -> None:
        """A comm to ``SESSION_TARGET``: a new session of the app it names, or the detached
        session of the page it names; a refusal frame if there is none."""
        try:
            data = read_session_open(open_msg.get("content", {}).get("data", {}))
        except FrameError as e:  # an unknown visitor mode
            _refuse(comm, str(e))
            return
        name = data.get("app")
        try:
            app = self._find_app(data, open_msg.get("buffers") or [])
        except Exception as e:  # whatever loading the file raised
            _refuse(comm, _failed(data, e, loading=True))
            return
        if app is None:
            _refuse(comm, f"this kernel has no live app named {name!r}")
            return
        visitor = data.get("visitor")
        page = data.get("session_id")
        page = page if page is not None and _PAGE_ID.fullmatch(page) else None
        if self._reattach(comm, page, app, data):
            return
        arguments = {k: [v.encode() for v in vs] for k, vs in data.get("arguments", {}).items()}
        try:
            # what the app's code prints meanwhile is this page's, as its callbacks' is
            with (
                printed_to(lambda out, text: PageChannel(None, app).send_stream(out, text, None)),
                _handler_errors_unlogged(),
            ):
                session_id, document = app.new_session_document(arguments)
        except Exception as e:  # whatever the app's code raised
            _refuse(comm, _failed(data, e, loading=False))
            return
        template = None
        if has_template(document):
            try:
                template = _template(app, document)
            except TemplateError as e:
                _refuse(comm, _template_failed(data, e))
                return
        channel = PageChannel(comm, app)
        session = KernelSession(
            document,
            channel,
            # batched, its frames take the kernel's budget per iopub message (relay.py)
            budget=MessageBudget() if data.get("batches") else self._budget,
            session_id=session_id,
            visitor=cast("Mode | None", visitor),
            standalone=True,
        )
        app.attach(session_id, session)
        entry = _Standalone(session, channel, app, visitor)
        if page is not None and page not in self._by_page:
            self._by_page[page] = entry

            def forget() -> None:
                if self._by_page.get(page) is entry:
                    del self._by_page[page]

            session.add_destroy_hook(forget)
        self._wire(comm, entry, page, data)
        if template is not None:  # before the document: the page shows it around its roots
            channel.send_frame(template, [])

    def _wire(self, comm: Comm, entry: _Standalone, page: str | None, data: SessionOpen) -> None:
        """Route comm's frames to the session. Its close detaches a session that its page
        may take over again, and ends one that nothing could find again."""
        session, channel = entry.session, entry.channel
        channel.comm = comm
        route_by_sender(comm)
        relay = channel.relay = self._relay if data.get("batches") else None
        channel.numbered = data.get("acknowledges", False)
        if channel.numbered:
            session.will_acknowledge(STANDALONE_CLIENT)

        def handle(data: Any, buffers: Sequence[bytes | memoryview]) -> None:
            dispatch(data, buffers, session, session.send)

        def received(msg: CommMessage) -> None:
            data, buffers = msg["content"]["data"], msg.get("buffers") or []
            if frame_kind(data) == KIND_BATCH:
                self._receivers.split(data, buffers)
            else:
                handle(data, buffers)
            if relay is not None:
                relay.answered()

        comm.on_msg(received)
        self._receivers.add(comm.comm_id, handle)

        def closed(_msg: CommMessage) -> None:
            self._receivers.remove(comm.comm_id)
            if channel.comm is not comm:
                return
            channel.comm = None
            if page is not None and self._by_page.get(page) is entry:
                session.detached()
            else:
                session.destroy()

        comm.on_close(closed)

    def _reattach(self, comm: Comm, page: str | None, app: PageApp, data: SessionOpen) -> bool:
        """Give a reconnecting page its detached session back; False if there is none."""
        entry = self._by_page.get(page) if page is not None else None
        if entry is None or entry.channel.comm is not None or entry.session.destroyed:
            return False
        if entry.app is not app or entry.visitor != data.get("visitor"):
            return False
        entry.session.reattached()
        self._wire(comm, entry, page, data)
        return True


class _Indented(logging.Formatter):
    """Every line of a record after its first (a traceback's) is indented, so that no line
    of bokeh_nb's in the server's log can pass for one of the server's own."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\n    ").replace("\r", "\\r")


def log_to_server() -> None:
    """bokeh_nb's log lines from this kernel (a standalone session's failed callback, a
    visitor's refused change) go to the kernel's own stderr, which the Jupyter server logs,
    each line marked as the kernel's."""
    formatter = _Indented("[bokeh_nb kernel] %(levelname)s | %(message)s")
    log_to_kernel_stderr(logging.getLogger("bokeh_nb"), formatter)
