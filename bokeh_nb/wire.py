"""The comm frames of ``docs/protocol.md``, built and read in one place.

Every frame that crosses a comm (a notebook output's widget comm, a standalone session's
comm, the frontend probe's comm) and every comm-open payload is built by a function here
and read by one; the kernel and the server extension both use them. Their shapes are
typed once, below; ``labextension/src/protocol.ts`` declares the same shapes for the page,
and ``tests/unit/test_wire.py`` checks both against ``tests/fixtures/wire.json``.

Reading is forgiving where a wrong field can be ignored (a missing ``client`` becomes
``"unknown"``) and strict where it cannot (a session's visitor mode): ``FrameError``
says what was wrong, in words fit to show to whoever sent it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, TypedDict

from .protocol import (
    KIND_ACK,
    KIND_BATCH,
    KIND_BOKEH,
    KIND_BOKEHJS,
    KIND_ERROR,
    KIND_STREAM,
    VISITOR_MODES,
)

__all__ = (
    "AckFrame",
    "AppsReply",
    "BatchFrame",
    "BatchItem",
    "BokehFrame",
    "BokehHeader",
    "BokehJSBundle",
    "BokehJSReply",
    "BokehJSRequest",
    "ByeFrame",
    "ErrorFrame",
    "FrameError",
    "RevokeRequest",
    "SessionOpen",
    "ShareRequest",
    "StreamFrame",
    "ViewsFrame",
    "ack_frame",
    "apps_reply",
    "batch_frame",
    "bokeh_frame",
    "bokehjs_error",
    "bokehjs_reply",
    "error_frame",
    "frame_client",
    "frame_int",
    "frame_kind",
    "read_batch",
    "read_bokeh_frame",
    "read_session_open",
    "revoke_request",
    "session_open",
    "share_request",
    "stream_frame",
)


class FrameError(ValueError):
    """A frame or payload that cannot be used; the text names what was wrong."""


class BokehHeader(TypedDict):
    msgid: str
    msgtype: str
    reqid: NotRequired[str]
    num_buffers: NotRequired[int]


class BokehFrame(TypedDict):
    """One Bokeh protocol message as one comm message (plus its binary buffers)."""

    kind: Literal["bokeh"]
    client: NotRequired[str]  # browser -> kernel: the sending browser client
    seq: NotRequired[int]  # kernel -> page (or acknowledging server): the frame's number
    acknowledge: NotRequired[bool]  # kernel -> browser: acknowledge this frame once handled
    ack: NotRequired[int]  # browser -> kernel: the last kernel frame handled, riding along
    header: dict[str, Any]
    metadata: dict[str, Any]
    content: str  # the Bokeh ``content`` fragment, as JSON text
    buffers: list[str]  # ids of the binary buffers, in the order they are attached


class ViewsFrame(TypedDict):
    kind: Literal["views"]
    client: str
    count: int


class ByeFrame(TypedDict):
    kind: Literal["bye"]
    client: str


class AckFrame(TypedDict):
    kind: Literal["ack"]
    client: str
    seq: int


class ErrorFrame(TypedDict):
    kind: Literal["error"]
    text: str
    traceback: str


class StreamFrame(TypedDict):
    """What a notebook output's callbacks wrote to ``stdout`` or ``stderr``."""

    kind: Literal["stream"]
    name: str  # "stdout" or "stderr"
    text: str
    client: NotRequired[str]  # the browser client whose event ran them; absent: every page


class BokehJSRequest(TypedDict):
    """browser -> kernel: BokehJS bundles the page's server does not serve."""

    kind: Literal["bokehjs"]
    client: str
    request: str
    version: str
    bundles: list[str]


class BokehJSBundle(TypedDict):
    name: str
    sha256: str
    bytes: int


class BokehJSReply(TypedDict):
    """kernel -> browser: those bundles, each one binary buffer in this order (or why not)."""

    kind: Literal["bokehjs"]
    request: str
    version: NotRequired[str]
    bundles: NotRequired[list[BokehJSBundle]]
    error: NotRequired[str]


class SessionOpen(TypedDict, total=False):
    """The data of the comm the server opens for one standalone session (``SESSION_TARGET``)."""

    app: str  # the live app's name
    arguments: dict[str, list[str]]  # the page's query arguments
    visitor: str  # a share link's mode; absent for the notebook's own user
    session_id: str  # the page's Bokeh session id: a reconnecting page finds its session
    file: str  # a file-app kernel: the app file (or, with ``files``, its entry)
    files: list[str]  # a kernel on a gateway: the app's files, one buffer each
    batches: bool  # the server splits ``KIND_BATCH`` messages: the kernel may send them
    acknowledges: bool  # the server acknowledges the frames (``seq``) its peer has taken


class BatchItem(TypedDict):
    comm_id: str  # the session's comm
    data: dict[str, Any]  # its frame
    buffers: int  # how many of the batch's buffers, in order, are this frame's


class BatchFrame(TypedDict):
    """kernel -> server: the frames of several standalone sessions in one iopub message."""

    kind: Literal["batch"]
    frames: list[BatchItem]


class ShareRequest(TypedDict):
    """kernel -> page (a comm to ``FRONTEND_TARGET``): make a share link as its user."""

    request: Literal["share"]
    kernel_id: str
    app: str
    mode: str
    expires: float


class RevokeRequest(TypedDict):
    request: Literal["revoke"]
    id: str


class AppsReply(TypedDict):
    """kernel -> side panel (``APPS_TARGET``): this kernel's live apps."""

    apps: list[dict[str, object]]


# ---- kernel -> browser --------------------------------------------------------------------


def bokeh_frame(
    header: Mapping[str, Any],
    metadata: Mapping[str, Any],
    content: str,
    buffer_ids: Sequence[str],
    *,
    client: str | None = None,
    seq: int | None = None,
    acknowledge: bool = False,
) -> BokehFrame:
    """One Bokeh message (its content as JSON text) as a frame; its buffers travel beside.
    acknowledge: the page should acknowledge frame seq as soon as it has handled it."""
    frame: BokehFrame = {
        "kind": KIND_BOKEH,
        "header": dict(header),
        "metadata": dict(metadata),
        "content": content,
        "buffers": list(buffer_ids),
    }
    if client is not None:
        frame["client"] = client
    if seq is not None:
        frame["seq"] = seq
        if acknowledge:
            frame["acknowledge"] = True
    return frame


def batch_frame(frames: Sequence[tuple[str, Mapping[str, Any], int]]) -> BatchFrame:
    """Frames of standalone sessions as one message: (comm id, frame, buffer count) each,
    their buffers attached one frame after another."""
    items: list[BatchItem] = [{"comm_id": c, "data": dict(d), "buffers": n} for c, d, n in frames]
    return {"kind": KIND_BATCH, "frames": items}


def error_frame(text: str, traceback: str = "") -> ErrorFrame:
    """An exception in user code (the output shows it) or a session refused (its page)."""
    return {"kind": KIND_ERROR, "text": text, "traceback": traceback}


def stream_frame(name: str, text: str, client: str | None = None) -> StreamFrame:
    """Text printed by the output's callbacks; only client's page shows it, if one is named
    (the page whose event ran them)."""
    frame: StreamFrame = {"kind": KIND_STREAM, "name": name, "text": text}
    if client is not None:
        frame["client"] = client
    return frame


def bokehjs_reply(request: str, version: str, bundles: Sequence[BokehJSBundle]) -> BokehJSReply:
    return {"kind": KIND_BOKEHJS, "request": request, "version": version, "bundles": list(bundles)}


def bokehjs_error(request: str, error: str) -> BokehJSReply:
    return {"kind": KIND_BOKEHJS, "request": request, "error": error}


def apps_reply(apps: Sequence[tuple[str, int]]) -> AppsReply:
    """The live apps as (name, sessions)."""
    return {"apps": [{"name": name, "sessions": sessions} for name, sessions in apps]}


def share_request(kernel_id: str, app: str, mode: str, expires: float) -> ShareRequest:
    return {
        "request": "share",
        "kernel_id": kernel_id,
        "app": app,
        "mode": mode,
        "expires": expires,
    }


def revoke_request(share_id: str) -> RevokeRequest:
    return {"request": "revoke", "id": share_id}


# ---- server -> kernel ---------------------------------------------------------------------


def ack_frame(client: str, seq: int) -> AckFrame:
    """A server's acknowledgement: client has taken the kernel frames up to seq."""
    return {"kind": KIND_ACK, "client": client, "seq": seq}


def session_open(
    app: str,
    arguments: Mapping[str, list[str]],
    *,
    visitor: str | None = None,
    file: str | None = None,
    session_id: str | None = None,
    files: Sequence[str] | None = None,
) -> SessionOpen:
    """The comm-open data of one standalone session (see ``SessionOpen``), from a server
    that splits batches and acknowledges frames."""
    data: SessionOpen = {"app": app, "arguments": dict(arguments)}
    data["batches"] = data["acknowledges"] = True
    if visitor is not None:
        data["visitor"] = visitor
    if file is not None:
        data["file"] = file
    if session_id is not None:
        data["session_id"] = session_id
    if files is not None:
        data["files"] = list(files)
    return data


def read_session_open(data: object) -> SessionOpen:
    """A session comm's data as the kernel may use it: fields of the wrong type are left
    out, arguments become lists of text; an unknown visitor mode is a ``FrameError``."""
    raw: Mapping[str, object] = data if isinstance(data, Mapping) else {}
    out: SessionOpen = {}
    visitor = raw.get("visitor")
    if visitor is not None:
        if visitor not in VISITOR_MODES:
            raise FrameError(f"unknown visitor mode {str(visitor)[:40]!r}")
        out["visitor"] = str(visitor)
    for key in ("app", "file", "session_id"):
        value = raw.get(key)
        if isinstance(value, str):
            out[key] = value
    files = raw.get("files")
    if isinstance(files, list):
        out["files"] = [str(f) for f in files]
    for flag in ("batches", "acknowledges"):
        if raw.get(flag) is True:
            out[flag] = True
    arguments = raw.get("arguments")
    out["arguments"] = {
        str(k): [str(v) for v in vs]
        for k, vs in (arguments.items() if isinstance(arguments, Mapping) else ())
        if isinstance(vs, list)
    }
    return out


# ---- browser -> kernel --------------------------------------------------------------------


def frame_kind(content: object) -> str | None:
    """The ``kind`` of a frame, or None for what is no frame (not an object)."""
    if not isinstance(content, Mapping):
        return None
    kind = content.get("kind")
    return kind if isinstance(kind, str) else ""


def frame_client(content: Mapping[str, object]) -> str:
    """The browser client that sent a frame ("unknown" when it does not say)."""
    client = content.get("client")
    return client if isinstance(client, str) and client else "unknown"


def frame_int(content: Mapping[str, object], key: str) -> int | None:
    """An integer field of a frame (``count``, ``seq``, ``ack``), or None."""
    value = content.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_bokeh_frame(
    content: Mapping[str, object], buffers: Sequence[object]
) -> tuple[dict[str, Any], dict[str, Any], str, list[str]]:
    """A Bokeh frame's header, metadata, content JSON text and buffer ids (one per buffer
    that came with it); ``FrameError`` for a frame that does not fit its buffers."""
    header = content.get("header")
    ids = content.get("buffers") or []
    if not isinstance(ids, list) or len(ids) != len(buffers):
        count = len(ids) if isinstance(ids, list) else "?"
        raise FrameError(f"{count} buffer ids for {len(buffers)} buffers")
    text = content.get("content")
    if not isinstance(header, dict) or not isinstance(text, str):
        raise FrameError("header must be an object and content JSON text")
    metadata = content.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise FrameError("metadata must be an object")
    return header, metadata, text, [str(i) for i in ids]


def read_batch(
    content: Mapping[str, object], buffers: Sequence[Any]
) -> list[tuple[str, Mapping[str, Any], Sequence[Any]]]:
    """A batch's frames as (comm id, frame, its buffers); ``FrameError`` for one that does
    not fit its buffers."""
    items = content.get("frames")
    if not isinstance(items, list):
        raise FrameError("a batch must list its frames")
    out: list[tuple[str, Mapping[str, Any], Sequence[Any]]] = []
    at = 0
    for item in items:
        count = frame_int(item, "buffers") if isinstance(item, Mapping) else None
        if not isinstance(item, Mapping) or count is None or count < 0:
            raise FrameError("each frame of a batch needs a comm id, its data and a count")
        comm_id, data = item.get("comm_id"), item.get("data")
        if not isinstance(comm_id, str) or not isinstance(data, Mapping):
            raise FrameError("each frame of a batch needs a comm id, its data and a count")
        out.append((comm_id, data, buffers[at : at + count]))
        at += count
    if at != len(buffers):
        raise FrameError(f"a batch's frames count {at} buffers of its {len(buffers)}")
    return out
