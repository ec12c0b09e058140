"""Websocket messages an app page's socket writes itself, in as few writes as it can."""

from __future__ import annotations

import json
from asyncio import Future
from collections.abc import Iterator, Sequence

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..wire import BokehFrame
from ._jupyter import compresses, websocket_open, websocket_stream

__all__ = (
    "COALESCE_BYTES",
    "FRAME_OVERHEAD",
    "bokeh_parts",
    "coalesced",
    "frame_header",
    "write_frames",
)

#: Bytes a websocket frame adds to its payload (header and length), at most.
FRAME_OVERHEAD = 14
#: payloads up to this size are copied into one write with the frames around them
COALESCE_BYTES = 64 * 1024


def frame_header(length: int, binary: bool) -> bytes:
    """The header of one unmasked, unfragmented websocket message from a server (RFC 6455
    section 5.2): FIN and the opcode (text 0x1, binary 0x2), then the payload length."""
    first = 0x80 | (0x2 if binary else 0x1)
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def coalesced(parts: Sequence[tuple[bytes, bool]]) -> Iterator[bytes]:
    """The websocket messages ``parts`` (data, binary) as the bytes of as few writes as
    possible: one for all but the payloads over ``COALESCE_BYTES``, each of which is a
    write of its own, as it is (never copied)."""
    pending = bytearray()
    for data, binary in parts:
        pending += frame_header(len(data), binary)
        if len(data) <= COALESCE_BYTES:
            pending += data
        else:
            yield bytes(pending)
            pending.clear()
            yield data
    if pending:
        yield bytes(pending)


def write_frames(
    handler: WebSocketHandler, parts: Sequence[tuple[bytes, bool]]
) -> Future[None] | None:
    """The websocket messages of one Bokeh message on ``handler``, in as few writes as
    possible (``coalesced``); returns what is done once they are all in the socket (None
    for no parts). tornado's ``write_message`` writes each at once (a syscall and, with
    TCP_NODELAY, a TCP segment each: 7 for a stream of two columns); under a stream of
    small patches those writes were a quarter of the server's main thread
    (``benchmarks/results/PROFILE.md``). With permessage-deflate, tornado frames them."""
    stream = websocket_stream(handler)
    if stream is None or not websocket_open(handler):
        raise WebSocketClosedError()
    written: Future[None] | None = None
    if compresses(handler):
        for data, binary in parts:
            written = handler.write_message(data, binary=binary)
        return written
    for chunk in coalesced(parts):
        written = stream.write(chunk)
    return written


def bokeh_parts(
    frame: BokehFrame, buffers: Sequence[bytes | memoryview]
) -> list[tuple[bytes, bool]]:
    """A kernel's Bokeh frame as the 3 + 2N websocket messages (data, binary) of Bokeh's
    protocol."""
    texts = [json.dumps(frame["header"]), json.dumps(frame["metadata"]), frame["content"]]
    parts = [(t.encode(), False) for t in texts]
    for buffer_id, payload in zip(frame.get("buffers", []), buffers, strict=False):
        parts += [(json.dumps({"id": buffer_id}).encode(), False), (bytes(payload), True)]
    return parts
