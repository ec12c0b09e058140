"""The websocket frames the server writes itself (``server/wsframes.py``): one write for
the messages of a Bokeh message, or the one message that packs them for bokeh_nb's app
page, and a notebook page's large kernel message exactly as jupyter_server would write it,
read back by tornado's own websocket client."""

from __future__ import annotations

import asyncio

import pytest
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler, websocket_connect

from bokeh_nb.server._jupyter import compresses
from bokeh_nb.server.wsframes import (
    COALESCE_BYTES,
    frame_header,
    message_bytes,
    write_frames,
    write_kernel_message,
)


@pytest.mark.parametrize(
    ("length", "binary", "expected"),
    [
        (0, False, b"\x81\x00"),
        (125, True, b"\x82\x7d"),
        (126, False, b"\x81\x7e\x00\x7e"),
        (65535, True, b"\x82\x7e\xff\xff"),
        (65536, True, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_frame_header_follows_rfc_6455(length: int, binary: bool, expected: bytes) -> None:
    assert frame_header(length, binary) == expected


PARTS = [
    (b'{"msgid": "1", "msgtype": "PATCH-DOC"}', False),
    (b"{}", False),
    ('{"events": "\u00e9"}'.encode(), False),
    (b'{"id": "b1"}', False),
    (bytes(range(256)) * 4, True),
    (b'{"id": "b2"}', False),
    (b"\x01" * (COALESCE_BYTES + 1), True),  # written on its own
    (b"", True),
]


class Frames(WebSocketHandler):
    def open(self) -> None:
        write_frames(self, PARTS)


class Packed(WebSocketHandler):
    def open(self) -> None:
        write_frames(self, PARTS[:3], packed=True)  # a message without buffers
        write_frames(self, PARTS, packed=True)


class PackedCompressed(Packed):
    def get_compression_options(self) -> dict[str, int]:
        return {}  # permessage-deflate, when the client asks: tornado frames each message

    def open(self) -> None:
        assert compresses(self)
        super().open()


def read_from(
    handler: type[WebSocketHandler], count: int, compressed: bool = False
) -> list[str | bytes | None]:
    """The first count messages a tornado websocket client reads from handler."""

    async def main() -> list[str | bytes | None]:
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(Application([("/ws", handler)]))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        try:
            url = f"ws://127.0.0.1:{port}/ws"
            ws = await websocket_connect(url, compression_options={} if compressed else None)
            got = [await ws.read_message() for _ in range(count)]
            ws.close()
            return got
        finally:
            server.stop()

    return asyncio.run(main())


def test_a_client_reads_each_message_as_written() -> None:
    got = read_from(Frames, len(PARTS))
    assert got == [data if binary else data.decode() for data, binary in PARTS]


@pytest.mark.parametrize("compressed", [False, True])
def test_a_packed_message_holds_the_fragments_in_jupyters_v1_layout(compressed: bool) -> None:
    """Each packed message reads back, with jupyter_server's own reader of its layout, as
    the fragments it packs (the first part stands where jupyter's channel name would),
    over a websocket with permessage-deflate too."""
    got = read_from(PackedCompressed if compressed else Packed, 2, compressed)
    for message, parts in zip(got, [PARTS[:3], PARTS], strict=True):
        assert isinstance(message, bytes)
        written = len(frame_header(len(message), True)) + len(message)
        assert written <= message_bytes(parts, packed=True)
        first, rest = deserialize_msg_from_ws_v1(message)
        assert [first.encode(), *rest] == [data for data, _ in parts]


KERNEL_PARTS = [
    b'{"msg_type": "comm_msg"}',
    b"{}",
    b"{}",
    b'{"data": {}}',
    bytes(range(256)) * 4096,  # 1 MiB: over LARGE_KERNEL_MESSAGE with the rest
    b"\x02" * (COALESCE_BYTES - 1),
]


class KernelMessages(WebSocketHandler):
    def open(self) -> None:
        assert not write_kernel_message(self, "iopub", KERNEL_PARTS[:4])  # small: jupyter's
        assert write_kernel_message(self, "iopub", KERNEL_PARTS)


def test_a_large_kernel_message_reads_as_jupyter_server_writes_it() -> None:
    [got] = read_from(KernelMessages, 1)
    assert isinstance(got, bytes)
    assert got == serialize_msg_to_ws_v1(KERNEL_PARTS, "iopub")
    assert deserialize_msg_from_ws_v1(got) == ("iopub", KERNEL_PARTS)
