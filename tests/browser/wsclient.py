"""A raw client of Bokeh's websocket protocol, to send what no BokehJS page would."""

from __future__ import annotations

import json
from typing import Any

from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from bokeh_nb.protocol import PACKED_ARG
from tests.loops import in_thread

__all__ = ("BokehSocket", "in_thread")


class BokehSocket:
    """One connection: ``await request(msgtype, content)`` sends a message and returns the
    reply (``msgtype``, ``content``) whose ``reqid`` names it; other messages that arrive
    meanwhile (the server's own PATCH-DOCs) are kept in ``others``. ``packed``: it asked
    for each Bokeh message as one websocket message (``PACKED_ARG``), as bokeh_nb's app
    page does, and unpacks each into Bokeh's fragments (``packs`` counts them)."""

    def __init__(self, conn: WebSocketClientConnection, packed: bool = False) -> None:
        self.conn = conn
        self.receiver = Receiver(Protocol())
        self.count = 0
        self.others: list[tuple[str, Any]] = []
        self.packed = packed
        self.packs = 0
        self._fragments: list[str | bytes] = []

    @classmethod
    async def connect(
        cls,
        url: str,
        headers: dict[str, str] | None = None,
        token: str = "x",
        max_message_size: int = 10 * 2**20,
        packed: bool = False,
    ) -> BokehSocket:
        """``token``: the session token a Bokeh server reads from the subprotocols (a
        share link's page ignores it: the link is its credential); ``max_message_size``:
        tornado's bound on one websocket message, past which it closes the connection."""
        if packed:
            url += ("&" if "?" in url else "?") + f"{PACKED_ARG}=1"
        conn = await websocket_connect(
            HTTPRequest(url, headers=headers or {}),
            subprotocols=["bokeh", token],
            max_message_size=max_message_size,
        )
        sock = cls(conn, packed)
        msgtype, _ = await sock.next()
        assert msgtype == "ACK", msgtype
        return sock

    async def next(self) -> tuple[str, Any]:
        while True:
            msg = await self.receiver.consume(await self._fragment())
            if msg is not None:
                return msg.header["msgtype"], msg

    async def _fragment(self) -> str | bytes:
        if self._fragments:
            return self._fragments.pop(0)
        data = await self.conn.read_message()
        if data is None:
            raise ConnectionError(f"closed: {self.conn.close_code} {self.conn.close_reason}")
        if not self.packed:
            return data
        assert isinstance(data, bytes), f"a text message on a packed connection: {data!r}"
        header, rest = deserialize_msg_from_ws_v1(data)  # (the first part: a text)
        self.packs += 1
        # fragments 1, 2 (metadata, content) and each buffer's header are text
        binary = [i >= 4 and i % 2 == 0 for i in range(1, 1 + len(rest))]
        self._fragments = [p if b else p.decode() for p, b in zip(rest, binary, strict=True)]
        return header

    async def send(self, msgtype: str, content: Any) -> str:
        """Send a message without waiting for its reply; returns its msgid."""
        self.count += 1
        msgid = f"t{self.count}"
        await self.conn.write_message(json.dumps({"msgid": msgid, "msgtype": msgtype}))
        await self.conn.write_message("{}")
        await self.conn.write_message(json.dumps(content))
        return msgid

    async def request(self, msgtype: str, content: Any) -> tuple[str, Any]:
        msgid = await self.send(msgtype, content)
        while True:
            reply_type, msg = await self.next()
            if msg.header.get("reqid") == msgid:
                return reply_type, msg.content
            self.others.append((reply_type, msg.content))

    async def close(self) -> None:
        self.conn.close()
        while await self.conn.read_message() is not None:  # until the close handshake ends
            pass
