"""A raw client of Bokeh's websocket protocol, to send what no BokehJS page would."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from bokeh.protocol import Protocol
from bokeh.protocol.receiver import Receiver
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect


def in_thread(coro_fn: Callable[[], Awaitable[Any]], timeout: float = 60) -> Any:
    """Run a coroutine on a loop of its own (Playwright holds this thread's loop)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro_fn()))  # type: ignore[arg-type]
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "timed out"
    if errors:
        raise errors[0]
    return result[0]


class BokehSocket:
    """One connection: ``await request(msgtype, content)`` sends a message and returns the
    reply (``msgtype``, ``content``) whose ``reqid`` names it; other messages that arrive
    meanwhile (the server's own PATCH-DOCs) are kept in ``others``."""

    def __init__(self, conn: WebSocketClientConnection) -> None:
        self.conn = conn
        self.receiver = Receiver(Protocol())
        self.count = 0
        self.others: list[tuple[str, Any]] = []

    @classmethod
    async def connect(cls, url: str, headers: dict[str, str] | None = None) -> BokehSocket:
        conn = await websocket_connect(
            HTTPRequest(url, headers=headers or {}), subprotocols=["bokeh", "x"]
        )
        sock = cls(conn)
        msgtype, _ = await sock.next()
        assert msgtype == "ACK", msgtype
        return sock

    async def next(self) -> tuple[str, Any]:
        while True:
            fragment = await self.conn.read_message()
            if fragment is None:
                raise ConnectionError(f"closed: {self.conn.close_code} {self.conn.close_reason}")
            msg = await self.receiver.consume(fragment)
            if msg is not None:
                return msg.header["msgtype"], msg

    async def request(self, msgtype: str, content: Any) -> tuple[str, Any]:
        self.count += 1
        msgid = f"t{self.count}"
        await self.conn.write_message(json.dumps({"msgid": msgid, "msgtype": msgtype}))
        await self.conn.write_message("{}")
        await self.conn.write_message(json.dumps(content))
        while True:
            reply_type, msg = await self.next()
            if msg.header.get("reqid") == msgid:
                return reply_type, msg.content
            self.others.append((reply_type, msg.content))

    async def close(self) -> None:
        self.conn.close()
        while await self.conn.read_message() is not None:  # until the close handshake ends
            pass
