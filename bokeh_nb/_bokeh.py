"""The only module that touches bokeh's non-public API.

Everything bokeh_nb needs from bokeh beyond its documented surface goes through the small
functions here, so that a bokeh upgrade is checked in one place (the pinned range in
``pyproject.toml`` names the versions these were verified against).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from copy import copy
from typing import TYPE_CHECKING, Any, Protocol

from bokeh import __version__ as bokeh_version
from bokeh.core.types import ID
from bokeh.document import Document
from bokeh.protocol import Protocol as BokehProtocol
from bokeh.protocol.exceptions import ProtocolError
from bokeh.protocol.message import Message
from bokeh.server.callbacks import DocumentCallbackGroup, SessionCallback
from bokeh.util.tornado import _CallbackGroup
from tornado.ioloop import IOLoop

from ._bokeh_patch import BadMessage, MalformedPatch, apply_patch, inflate

if TYPE_CHECKING:
    from bokeh.document.events import DocumentPatchedEvent
    from bokeh.model import Model

__all__ = (
    "BadMessage",
    "MalformedPatch",
    "SessionCallback",
    "Message",
    "assemble",
    "bokeh_version",
    "callback_group",
    "content_json",
    "destroy_document",
    "apply_patch",
    "error_reply",
    "inflate",
    "message_buffers",
    "needs_mathjax",
    "ok_reply",
    "patch_message",
    "pull_reply",
    "use_curdoc",
)

_protocol = BokehProtocol()


def assemble(
    header: dict[str, Any],
    metadata: dict[str, Any],
    content: str,
    buffers: Sequence[tuple[str, bytes | memoryview]],
) -> Message[Any]:
    """Rebuild a Bokeh message received as one comm message."""
    msg = _protocol.assemble(json.dumps(header), json.dumps(metadata), content)
    for buffer_id, payload in buffers:
        # bokeh's Deserializer reads an ndarray from ``bytes`` only (a memoryview would be
        # taken element by element), so the comm's memoryview is copied once here.
        data = payload if isinstance(payload, bytes) else bytes(payload)
        msg.assemble_buffer({"id": ID(buffer_id)}, data)
    if not msg.complete:
        raise ProtocolError(
            f"{header.get('msgtype')} announced {header.get('num_buffers', 0)} buffers, "
            f"got {len(buffers)}"
        )
    return msg


def content_json(msg: Message[Any]) -> str:
    return msg.content_json


def message_buffers(msg: Message[Any]) -> list[tuple[str, bytes | memoryview]]:
    """The message's binary buffers as (id, bytes view), without copying the payload."""
    out: list[tuple[str, bytes | memoryview]] = []
    for b in msg.buffers:
        data = b.data
        if isinstance(data, memoryview):
            data = data.cast("B") if data.contiguous else memoryview(data.tobytes())
        out.append((str(b.id), data))
    return out


def patch_message(events: list[DocumentPatchedEvent], **metadata: Any) -> Message[Any]:
    """One PATCH-DOC for a batch of events; new models are sent in full exactly once."""
    return _protocol.create("PATCH-DOC", events, **metadata)


def pull_reply(
    request_id: str, document: Document, extra: dict[str, Any] | None = None
) -> Message[Any]:
    """The document, and ``extra`` keys of content beside ``doc`` (its custom model code)."""
    msg = _protocol.create("PULL-DOC-REPLY", ID(request_id), document)
    msg.content.update(extra or {})  # type: ignore[typeddict-item]
    return msg


def ok_reply(request_id: str) -> Message[Any]:
    return _protocol.create("OK", ID(request_id))


def error_reply(request_id: str, text: str, traceback: str | None = None) -> Message[Any]:
    """An ERROR with exactly this text and traceback (bokeh's own would add the whole
    traceback of the exception being handled, whatever that quotes)."""
    msg = _protocol.create("ERROR", ID(request_id), text)
    msg.content["traceback"] = traceback
    return msg


class Periodic(Protocol):
    """The schedule of one periodic callback: started once, stopped when removed."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


#: What makes a periodic callback's schedule: (callback, period in milliseconds, loop).
PeriodicFactory = Callable[[Callable[[], Any], int, IOLoop], Periodic]


class _PeriodicGroup(_CallbackGroup):
    """bokeh's callback group with periodic callbacks on the schedule the given factory
    makes; timeout and next-tick callbacks as bokeh runs them."""

    def __init__(self, io_loop: IOLoop, periodic: PeriodicFactory) -> None:
        super().__init__(io_loop)
        self._make_periodic = periodic

    def add_periodic_callback(
        self, callback: Callable[[], Any], period_milliseconds: int, callback_id: ID
    ) -> None:
        periodic = self._make_periodic(callback, period_milliseconds, self._loop)
        self._assign_remover(callback, callback_id, self._periodic_callback_removers, periodic.stop)
        periodic.start()


def callback_group(io_loop: IOLoop, periodic: PeriodicFactory) -> DocumentCallbackGroup:
    """bokeh's group of a session's callbacks, its periodic ones scheduled by periodic."""
    group = DocumentCallbackGroup(io_loop)
    group._group = _PeriodicGroup(io_loop, periodic)
    return group


def wrap_session_callback(
    callback: SessionCallback, wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> SessionCallback:
    """A copy of a periodic/timeout/next-tick callback whose function goes through wrapper."""
    wrapped = copy(callback)
    wrapped._callback = wrapper(callback.callback)
    return wrapped


def dispatch_changes_to(document: Document, receiver: object) -> None:
    """Route the document's change events and session-callback additions to receiver.

    receiver implements ``_document_patched(event)``, ``_session_callback_added(event)``
    and ``_session_callback_removed(event)``, like bokeh's ``ServerSession``.
    """
    document.callbacks.on_change_dispatch_to(receiver)


def session_callbacks(document: Document) -> list[SessionCallback]:
    return list(document.session_callbacks)


def take_session_destroyed_callbacks(document: Document) -> list[Callable[[Any], Any]]:
    callbacks = list(document.session_destroyed_callbacks)
    document.session_destroyed_callbacks = set()
    return callbacks


def destroy_document(document: Document, session: object) -> None:
    """Free a document: callbacks, models and modules (bokeh runs a gc pass)."""
    document.destroy(session)


@contextmanager
def use_curdoc(document: Document) -> Iterator[None]:
    """Make ``bokeh.io.curdoc()`` return document while user code runs."""
    from bokeh.io.doc import patch_curdoc

    with patch_curdoc(document):
        yield


def needs_mathjax(models: Sequence[Model]) -> bool:
    from bokeh.embed.bundle import _all_objs, _use_mathjax

    return bool(_use_mathjax(_all_objs(list(models))))


def detach_roots(model: Model) -> None:
    """Take a model out of the document it belongs to, so another document can hold it."""
    doc = model.document
    if doc is not None and model in doc.roots:
        doc.remove_root(model)


def combine_event(event: DocumentPatchedEvent, batch: list[DocumentPatchedEvent]) -> None:
    """Add event to batch, merged into an earlier one where bokeh's hold would merge it."""
    from bokeh.document.callbacks import _combine_document_events

    _combine_document_events(event, batch)  # type: ignore[arg-type]


def session_context(
    session_id: str, server_context: Any, document: Document, arguments: dict[str, list[bytes]]
) -> Any:
    """A bokeh ``BokehSessionContext`` for a session that has no HTTP request of its own:
    ``curdoc().session_context.request.arguments`` are the given arguments."""
    from bokeh.server.contexts import BokehSessionContext, _RequestProxy

    ctx = BokehSessionContext(ID(session_id), server_context, document)
    ctx._request = _RequestProxy(None, arguments=arguments, cookies={}, headers={})  # type: ignore[arg-type]
    document._session_context = weakref.ref(ctx)
    return ctx


def server_context(application_context: Any) -> Any:
    """A bokeh ``BokehServerContext`` whose ``sessions`` are application_context's."""
    from bokeh.server.contexts import BokehServerContext

    return BokehServerContext(application_context)


def bind_session(context: Any, session: Any) -> None:
    """Let ``session_context.with_locked_document`` and ``.destroyed`` see the session."""
    context._set_session(session)


def ack_fragments() -> list[str]:
    """The ACK a Bokeh server sends first on a new websocket, as its three text fragments."""
    msg = _protocol.create("ACK")
    return [msg.header_json, msg.metadata_json, msg.content_json]


def ok_fragments(request_id: str) -> list[str]:
    """An OK reply as the three text fragments of Bokeh's websocket protocol."""
    msg = ok_reply(request_id)
    return [msg.header_json, msg.metadata_json, msg.content_json]


def websocket_receiver() -> Any:
    """Bokeh's assembler of 3 + 2N websocket fragments into Messages (``await consume``)."""
    from bokeh.protocol.receiver import Receiver

    return Receiver(_protocol)


def page_session_id(subprotocols: str | None) -> str | None:
    """The session id named by the token of a BokehJS websocket's subprotocol header
    (``bokeh, <token>``); None if there is none or it is not one. Only ever a key: a page
    that reconnects with it finds its session again."""
    from bokeh.util.token import get_session_id

    parts = [p.strip() for p in (subprotocols or "").split(",")]
    if len(parts) != 2 or parts[0] != "bokeh":
        return None
    try:
        session_id = get_session_id(parts[1])
    except Exception:  # not a token: the page simply cannot reconnect to its session
        return None
    return session_id if isinstance(session_id, str) else None


def new_session_token() -> str:
    """A token for BokehJS's websocket subprotocol naming a new session id (unsigned:
    the websocket itself is authenticated by the Jupyter server)."""
    from bokeh.util.token import generate_jwt_token, generate_session_id

    return generate_jwt_token(generate_session_id(signed=False), signed=False)
