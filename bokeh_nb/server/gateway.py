"""Kernels on a Jupyter Kernel Gateway (``--gateway-url``): the server's own transport to
them, and the file-app pool's kernels there.

(Notebook pages reach gateway kernels through jupyter_server's proxy, whose binary frames
``_jupyter.kernel_connection_class`` keeps.)

Standalone sessions reach a kernel through ``kernelclient.KernelClient``, which needs a
kernel's shell and iopub channels. jupyter_server's own client for gateway kernels carries JSON
only; ``GatewayTransport`` opens the gateway's kernel websocket itself, with the server's
gateway credentials, and speaks the same protocol, buffers included.

``GatewayKernel`` is a kernel of the file-app pool started on the gateway (REST, with the
same credentials): it is the server's own, never listed among the notebook kernels.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_client.session import Session
from jupyter_server.gateway.gateway_client import GatewayClient, gateway_request
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    serialize_binary_message,
)
from jupyter_server.utils import url_escape, url_path_join
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

__all__ = ("GatewayKernel", "GatewayTransport")


class GatewayTransport:
    """A gateway kernel's shell (out) and iopub (in), over the gateway's kernel websocket."""

    def __init__(self, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        self.session = Session(key=b"")  # the gateway signs for its kernel
        self._ws: WebSocketClientConnection | None = None
        self._connecting: asyncio.Future[WebSocketClientConnection] | None = None
        self._pending: list[str | bytes] = []

    @property
    def session_id(self) -> str:
        return str(self.session.session)

    async def connect(self) -> None:
        if self._ws is not None:
            return
        gateway = GatewayClient.instance()
        url = url_path_join(
            gateway.ws_url or "", gateway.kernels_endpoint, url_escape(self.kernel_id), "channels"
        )
        request = HTTPRequest(url, **gateway.load_connection_args())  # type: ignore[no-untyped-call]
        self._ws = await websocket_connect(request, max_message_size=2**31 - 1)
        for frame in self._pending:
            await self._ws.write_message(frame, binary=isinstance(frame, bytes))
        self._pending.clear()

    def send(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        msg = self.session.msg(msg_type, dict(content))
        msg["channel"] = "shell"
        msg["buffers"] = [bytes(b) for b in buffers]
        frame: str | bytes
        if buffers:
            frame = serialize_binary_message(msg)  # type: ignore[no-untyped-call]
        else:
            msg.pop("buffers")
            frame = json.dumps(msg, default=str)
        if self._ws is None:
            self._pending.append(frame)
        else:
            self._ws.write_message(frame, binary=isinstance(frame, bytes))

    async def execute(self, code: str, timeout: float = 120.0) -> None:
        """Run ``code`` in the kernel before any session (RuntimeError if it fails)."""
        await self.connect()
        assert self._ws is not None
        msg = self.session.msg("execute_request", {"code": code, "silent": True})
        msg["channel"] = "shell"
        await self._ws.write_message(json.dumps(msg, default=str))
        async with asyncio.timeout(timeout):
            while True:
                frame = await self._ws.read_message()
                if frame is None:
                    raise ConnectionError(f"the gateway closed kernel {self.kernel_id}")
                reply = json.loads(frame) if isinstance(frame, str) else None
                if (
                    reply is not None
                    and reply.get("msg_type") == "execute_reply"
                    and reply.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]
                ):
                    break
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename')}: {content.get('evalue')}")

    async def next_iopub(self) -> dict[str, Any]:
        """The next iopub message (ConnectionError once the gateway closed the socket)."""
        while True:
            assert self._ws is not None
            frame = await self._ws.read_message()
            if frame is None:
                raise ConnectionError(f"the gateway closed kernel {self.kernel_id}'s websocket")
            if isinstance(frame, bytes):
                msg = deserialize_binary_message(frame)  # type: ignore[no-untyped-call]
            else:
                msg = json.loads(frame)
            if msg.get("channel") == "iopub":
                return msg  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.close()


class GatewayKernel:
    """A kernel started on the gateway for the server itself (the file-app pool's)."""

    def __init__(self, kernel_id: str) -> None:
        self.kernel_id = kernel_id

    @classmethod
    async def start(cls, kernel_name: str) -> GatewayKernel:
        gateway = GatewayClient.instance()
        response = await gateway_request(
            url_path_join(gateway.url or "", gateway.kernels_endpoint),
            method="POST",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"name": kernel_name, "env": {}}),
        )
        return cls(str(json.loads(response.body)["id"]))

    async def shutdown_kernel(self, now: bool = True) -> None:
        gateway = GatewayClient.instance()
        url = url_path_join(gateway.url or "", gateway.kernels_endpoint, url_escape(self.kernel_id))
        await gateway_request(url, method="DELETE")
