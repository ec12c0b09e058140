"""The comm frames of ``docs/protocol.md``, for every transport that carries them (the
notebook widget and the server relay's comm)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from .. import _bokeh
from ..protocol import KIND_ACK, KIND_BOKEH, KIND_BYE, KIND_VIEWS
from .session import KernelSession
from .visitor_text import describe, excerpt

log = logging.getLogger(__name__)

__all__ = ("dispatch", "encode")


def encode(msg: _bokeh.Message[Any]) -> tuple[dict[str, Any], list[bytes | memoryview]]:
    """One Bokeh message as one frame plus its binary buffers (not copied)."""
    buffers = _bokeh.message_buffers(msg)
    frame = {
        "kind": KIND_BOKEH,
        "header": msg.header,
        "metadata": msg.metadata,
        "content": _bokeh.content_json(msg),
        "buffers": [buffer_id for buffer_id, _ in buffers],
    }
    return frame, [payload for _, payload in buffers]


def _decode(frame: dict[str, Any], buffers: Sequence[memoryview | bytes]) -> _bokeh.Message[Any]:
    header = frame.get("header")
    ids = frame.get("buffers") or []
    if not isinstance(ids, list) or len(ids) != len(buffers):
        raise ValueError(
            f"{len(ids) if isinstance(ids, list) else '?'} buffer ids for {len(buffers)} buffers"
        )
    if not isinstance(header, dict) or not isinstance(frame.get("content"), str):
        raise ValueError("header must be an object and content JSON text")
    metadata = frame.get("metadata") or {}
    return _bokeh.assemble(
        header, metadata, frame["content"], list(zip(map(str, ids), buffers, strict=True))
    )


def _acknowledge(session: KernelSession, client: str, seq: Any) -> None:
    """A page has handled the session's frames up to number seq (ignored if no int)."""
    if isinstance(seq, int) and not isinstance(seq, bool):
        session.acknowledged(client, seq)


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
    if not isinstance(content, dict):
        log.warning("bokeh_nb: ignored a non-object message from a browser")
        return
    kind = content.get("kind")
    client = content.get("client")
    if not isinstance(client, str) or not client:
        client = "unknown"
    if kind == KIND_VIEWS:
        count = content.get("count")
        session.set_views(client, count if isinstance(count, int) else 0)
    elif kind == KIND_ACK:
        _acknowledge(session, client, content.get("seq"))
    elif kind == KIND_BYE:
        session.client_gone(client)
    elif kind == KIND_BOKEH:
        # what the page has handled rides along on its PATCH-DOC, so an event costs the
        # kernel no acknowledgement message of its own
        _acknowledge(session, client, content.get("ack"))
        header = content.get("header")
        msgid = header.get("msgid", "") if isinstance(header, dict) else ""
        try:
            msg = _decode(content, buffers)
        except (*_bokeh.BadMessage, json.JSONDecodeError) as e:
            log.warning("bokeh_nb: malformed message from a browser: %s", describe(e))
            reply(_bokeh.error_reply(excerpt(msgid, 80), f"malformed message: {describe(e)}"))
            return
        session.receive(msg, client)
    else:
        log.warning("bokeh_nb: ignored a message of unknown kind %s", excerpt(kind, 40))
