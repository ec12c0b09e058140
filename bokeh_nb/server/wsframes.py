"""Websocket messages the server writes itself, in as few writes as it can, never copying
a large payload: an app page's Bokeh messages (in Bokeh's framing, or packed into one
message each for bokeh_nb's own page), and a notebook page's large kernel messages; and how
much may wait for a peer that reads slowly (``Backlog``)."""

from __future__ import annotations

import json
from asyncio import Future
from collections.abc import Iterator, Sequence

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..wire import BokehFrame
from ._jupyter import compresses, websocket_open, websocket_stream

__all__ = (
    "Backlog",
    "COALESCE_BYTES",
    "FRAME_OVERHEAD",
    "LARGE_KERNEL_MESSAGE",
    "Payload",
    "bokeh_parts",
    "coalesced",
    "frame_header",
    "message_bytes",
    "packed_table",
    "write_frames",
    "write_kernel_message",
)

Payload = bytes | memoryview

#: Bytes a websocket frame adds to its payload (header and length), at most.
FRAME_OVERHEAD = 14
#: payloads up to this size are copied into one write with the frames around them
COALESCE_BYTES = 64 * 1024
#: a kernel message at least this large reaches a notebook page without being copied whole
LARGE_KERNEL_MESSAGE = 1 << 20


def frame_header(length: int, binary: bool) -> bytes:
    """The header of one unmasked, unfragmented websocket message from a server (RFC 6455
    section 5.2): FIN and the opcode (text 0x1, binary 0x2), then the payload length."""
    first = 0x80 | (0x2 if binary else 0x1)
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def coalesced(parts: Sequence[tuple[Payload, bool]]) -> Iterator[Payload]:
    """The websocket messages ``parts`` (data, binary) as the bytes of as few writes as
    possible: one for all but the payloads over ``COALESCE_BYTES``, each of which is a
    write of its own, as it is (never copied)."""
    pieces: list[Payload] = []
    for data, binary in parts:
        pieces += [frame_header(len(data), binary), data]
    return _joined(pieces)


def _joined(pieces: Sequence[Payload]) -> Iterator[Payload]:
    """pieces, written one after another, as few writes: the small ones joined, each over
    ``COALESCE_BYTES`` a write of its own, as it is."""
    pending = bytearray()
    for piece in pieces:
        if len(piece) <= COALESCE_BYTES:
            pending += piece
        else:
            if pending:
                yield bytes(pending)
                pending.clear()
            yield piece
    if pending:
        yield bytes(pending)


def packed_table(sizes: Sequence[int]) -> bytes:
    """The start of one message that packs parts of these sizes, in jupyter_server's v1
    kernel protocol's layout (``serialize_msg_to_ws_v1``): the number of offsets, then the
    offset of each part and of the message's end, each 8 bytes little-endian; the parts
    follow, one after another."""
    offsets = [8 * (len(sizes) + 2)]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    return b"".join(n.to_bytes(8, "little") for n in [len(offsets), *offsets])


def _packing(parts: Sequence[Payload]) -> list[Payload]:
    """The payload of the one message that packs parts: its table (``packed_table``), then
    the parts, as they are."""
    return [packed_table([len(p) for p in parts]), *parts]


def _packed(parts: Sequence[Payload]) -> Iterator[Payload]:
    """parts as the bytes of one binary websocket message (``_packing``), in as few
    writes as possible (``_joined``)."""
    pieces = _packing(parts)
    return _joined([frame_header(sum(len(p) for p in pieces), True), *pieces])


def message_bytes(parts: Sequence[tuple[Payload, bool]], packed: bool) -> int:
    """The bytes ``write_frames`` writes for parts, at most."""
    payload = sum(len(data) for data, _ in parts)
    if packed:
        return payload + FRAME_OVERHEAD + 8 * (len(parts) + 2)
    return payload + FRAME_OVERHEAD * len(parts)


def write_frames(
    handler: WebSocketHandler, parts: Sequence[tuple[Payload, bool]], packed: bool = False
) -> Future[None] | None:
    """The websocket messages of one Bokeh message on ``handler``, in as few writes as
    possible (``coalesced``), or, ``packed``, the one message that packs them
    (``packed_table``); returns what is done once they are all in the socket (None for no
    parts). tornado's ``write_message`` writes each at once (a syscall and, with
    TCP_NODELAY, a TCP segment each: 7 for a stream of two columns); under a stream of
    small patches those writes were a quarter of the server's main thread
    (``benchmarks/results/PROFILE.md``). With permessage-deflate, tornado frames them."""
    stream = websocket_stream(handler)
    if stream is None or not websocket_open(handler):
        raise WebSocketClosedError()
    written: Future[None] | None = None
    if compresses(handler):
        if packed:
            payload = b"".join(_packing([data for data, _ in parts]))
            return handler.write_message(payload, binary=True)
        for data, binary in parts:
            written = handler.write_message(bytes(data), binary=binary)
        return written
    chunks = _packed([data for data, _ in parts]) if packed else coalesced(parts)
    for chunk in chunks:
        written = stream.write(chunk)
    return written


class Backlog:
    """How much may wait to be written to one peer before it counts as one that stopped
    reading: ``most`` bytes beyond the largest message it is still being sent. A message
    larger than ``most`` goes all the same (a column of 10^7 float64 is 80 MB), and while
    the peer reads it, smaller ones may follow it (a slow link takes seconds for it, and
    the kernel's window lets a frame go after ``AckWindow.stall``); a peer that reads
    nothing is dropped once ``most`` bytes wait behind that message."""

    def __init__(self, most: int) -> None:
        self.most = most
        #: sizes of the large messages (a quarter of ``most`` or more: a few at most fit
        #: in the buffer) not all in the socket yet; smaller ones fit in ``most``
        self._writing: list[int] = []

    def limit(self, nbytes: int) -> int:
        """The bound of the write buffer while one more message of ``nbytes`` goes."""
        return self.most + max(nbytes, *self._writing, 0)

    def wrote(self, nbytes: int, written: Future[None] | None) -> None:
        """A message of ``nbytes`` went to the stream; ``written`` is done once it is all
        in the socket (tornado ends it, with an error, if the stream closes first)."""
        if written is None or written.done() or 4 * nbytes < self.most:
            return
        self._writing.append(nbytes)
        written.add_done_callback(lambda _done: self._writing.remove(nbytes))


def bokeh_parts(
    frame: BokehFrame, buffers: Sequence[bytes | memoryview]
) -> list[tuple[Payload, bool]]:
    """A kernel's Bokeh frame as the 3 + 2N websocket messages (data, binary) of Bokeh's
    protocol; the buffers as they came (views of the kernel's message, not copied)."""
    texts = [json.dumps(frame["header"]), json.dumps(frame["metadata"]), frame["content"]]
    parts: list[tuple[Payload, bool]] = [(t.encode(), False) for t in texts]
    for buffer_id, payload in zip(frame.get("buffers", []), buffers, strict=False):
        data = payload if isinstance(payload, bytes) else memoryview(payload).cast("B")
        parts += [(json.dumps({"id": buffer_id}).encode(), False), (data, True)]
    return parts


def write_kernel_message(handler: WebSocketHandler, channel: str, parts: Sequence[bytes]) -> bool:
    """A kernel message (its parts after the signature) to a notebook page, as one binary
    websocket message in jupyter_server's v1 kernel protocol (``serialize_msg_to_ws_v1``:
    the number of offsets, the offsets, the channel, the parts), written without joining
    it into one copy and framing it into another (each a copy of the whole message: for
    160 MB, 0.3-0.5 s each on the benchmark machine while a benchmark ran). False (nothing
    written) for a message under ``LARGE_KERNEL_MESSAGE``, or a websocket that compresses
    or is closing: jupyter_server writes those."""
    if sum(len(p) for p in parts) < LARGE_KERNEL_MESSAGE or compresses(handler):
        return False  # (most messages: nothing else is looked at for them)
    stream = websocket_stream(handler)
    if stream is None or not websocket_open(handler):
        return False
    for chunk in _packed([channel.encode(), *parts]):
        stream.write(chunk)
    return True
