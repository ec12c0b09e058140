"""A session's Bokeh messages as the comm frames of ``docs/protocol.md``, both ways, for
every channel that carries them (the notebook widget and a standalone page's comm). The
frames themselves are built and read by ``wire.py``."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from .. import _bokeh
from ..protocol import KIND_ACK, KIND_BOKEH, KIND_BYE, KIND_VIEWS
from ..wire import (
    BokehFrame,
    FrameError,
    bokeh_frame,
    frame_client,
    frame_int,
    frame_kind,
    read_bokeh_frame,
)
from .session import KernelSession
from .visitor_text import describe, excerpt

log = logging.getLogger(__name__)

__all__ = ("dispatch", "encode")


def encode(
    msg: _bokeh.Message[Any], seq: int | None = None, acknowledge: bool = False
) -> tuple[BokehFrame, list[bytes | memoryview]]:
    """One Bokeh message as one frame (numbered ``seq`` for a notebook page to
    acknowledge, at once if ``acknowledge``) plus its binary buffers (not copied)."""
    buffers = _bokeh.message_buffers(msg)
    frame = bokeh_frame(
        msg.header,
        msg.metadata,
        _bokeh.content_json(msg),
        [buffer_id for buffer_id, _ in buffers],
        seq=seq,
        acknowledge=acknowledge,
    )
    return frame, [payload for _, payload in buffers]


def _decode(content: dict[str, Any], buffers: Sequence[memoryview | bytes]) -> _bokeh.Message[Any]:
    header, metadata, text, ids = read_bokeh_frame(content, buffers)
    return _bokeh.assemble(header, metadata, text, list(zip(ids, buffers, strict=True)))


def _reason(error: Exception) -> str:
    # a frame that does not fit its buffers is told so as the ValueError it always was
    return describe(ValueError(*error.args) if isinstance(error, FrameError) else error)


def dispatch(
    content: Any,
    buffers: Sequence[memoryview | bytes],
    session: KernelSession,
    reply: Callable[[_bokeh.Message[Any]], None],
) -> None:
    """Hand one frame from a browser to the session; a malformed one gets an ERROR reply.

    Always on the session's own loop thread: JupyterLab 4.6 may send comm messages to a
    kernel subshell, whose messages ipykernel handles on a thread of their own; the
    document, its lock and the user's callbacks belong to the kernel's main loop.
    """
    if session.hand_to_loop(dispatch, content, buffers, session, reply):
        return
    kind = frame_kind(content)
    if kind is None:
        log.warning("bokeh_nb: ignored a non-object message from a browser")
        return
    client = frame_client(content)
    if kind == KIND_VIEWS:
        session.set_views(client, frame_int(content, "count") or 0)
    elif kind == KIND_ACK:
        _acknowledge(session, client, frame_int(content, "seq"))
    elif kind == KIND_BYE:
        session.client_gone(client)
    elif kind == KIND_BOKEH:
        # what the page has handled rides along on its PATCH-DOC, so an event costs the
        # kernel no acknowledgement message of its own
        _acknowledge(session, client, frame_int(content, "ack"))
        header = content.get("header")
        msgid = header.get("msgid", "") if isinstance(header, dict) else ""
        try:
            msg = _decode(content, buffers)
        except (*_bokeh.BadMessage, json.JSONDecodeError) as e:
            reason = _reason(e)
            log.warning("bokeh_nb: malformed message from a browser: %s", reason)
            reply(_bokeh.error_reply(excerpt(msgid, 80), f"malformed message: {reason}"))
            return
        session.receive(msg, client)
    else:
        log.warning("bokeh_nb: ignored a message of unknown kind %s", excerpt(kind, 40))


def _acknowledge(session: KernelSession, client: str, seq: int | None) -> None:
    """A page has handled the session's frames up to number seq (ignored if none)."""
    if seq is not None:
        session.acknowledged(client, seq)
