"""A local kernel's shell and iopub channels, as the server's ``KernelClient`` uses them.

The server's requests to a kernel carry a Jupyter session id of their own
(``RELAY_SESSION``), so notebook pages can skip what they cause (``pagefilter.py``), and
of the kernel's iopub only what may be for a standalone session is decoded, and the status
the kernel publishes after each of these requests (``shellbatch.py``). Nothing goes
to the kernel before its iopub is seen to reach the server (``ZmqTransport.connect``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_client.session import Session

from ..protocol import RELAY_SESSION
from .pagefilter import is_marked

__all__ = ("ZmqTransport", "client_session", "for_sessions")

_COMM_CLOSE = b'"comm_close"'
_STATUS = b'"status"'

#: How often (ms) ``connect`` asks a kernel that has published nothing yet, and for how
#: long (s) in all before its requests go out regardless.
NUDGE_EVERY_MS = 200
NUDGE_FOR = 30.0


def client_session(kernel_session: Session) -> Session:
    """A Jupyter session of its own for the server's requests to a kernel (signed with
    the kernel's key), named so that notebook pages can skip what they cause. Not the
    kernel manager's: jupyter_server's own requests use that one, and their replies must
    reach the pages."""
    return Session(
        key=kernel_session.key,
        signature_scheme=kernel_session.signature_scheme,
        session=f"{RELAY_SESSION}{uuid.uuid4().hex}",
        username="bokeh_nb",
    )


def for_sessions(parts: Sequence[Any], session_id: str = "") -> bool:
    """Whether a kernel's iopub message (``[signature, header, parent, metadata, content,
    *buffers]``, bytes or zmq frames) may be for a standalone session: the frames of one
    (marked in their metadata), any ``comm_close``, and the status of a request of the
    Jupyter session ``session_id`` (one of this transport's). Decided on the small parts
    only, never the content."""
    if len(parts) < 5:
        return True  # malformed: decoding says so
    header = getattr(parts[1], "bytes", parts[1])
    if is_marked(list(parts[1:5])) or _COMM_CLOSE in header:
        return True
    if not session_id or _STATUS not in header:
        return False
    parent = getattr(parts[2], "bytes", parts[2])
    return f'"{session_id}"'.encode() in parent


class ZmqTransport:
    """A local kernel's shell (out) and iopub (in), through a jupyter_client kernel
    client (``client``, whose channels this starts if they are not running). What is
    sent before ``connect`` has returned waits, in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._pending: list[tuple[str, Mapping[str, Any], Sequence[Any]]] | None = []
        if not client.channels_running:
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)

    async def connect(self) -> None:
        """Once the kernel's iopub reaches this client. A subscription takes a moment to
        reach the kernel, and what the kernel publishes before is lost to it: a kernel
        that has just (re)started answers a session's open before then, and the page
        would wait for ever. So, as Jupyter's kernel websocket does, this asks for the
        kernel's info, on the control channel (which a busy kernel answers too), until
        something arrives on iopub; it reads nothing from there. A kernel that publishes
        nothing for ``NUDGE_FOR`` seconds gets the requests all the same."""
        iopub = self._client.iopub_channel.socket
        control = self._client.connect_control()
        session = self._client.session
        loop = asyncio.get_running_loop()
        deadline = loop.time() + NUDGE_FOR
        try:
            while loop.time() < deadline:
                session.send(control, session.msg("kernel_info_request", {}))
                if await iopub.poll(NUDGE_EVERY_MS):
                    break
        finally:
            control.close(linger=0)
        pending, self._pending = self._pending or [], None  # (not reached once stopped)
        for msg_type, content, buffers in pending:
            self.send(msg_type, content, buffers)

    @property
    def session_id(self) -> str:
        return str(self._client.session.session)

    def send(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        if self._pending is not None:
            self._pending.append((msg_type, content, buffers))
            return
        session = self._client.session
        session.send(
            self._client.shell_channel.socket, session.msg(msg_type, content), buffers=buffers
        )

    async def next_iopub(self) -> dict[str, Any]:
        """The next iopub message that may be for a session or is the status of one of
        this transport's requests (``for_sessions``), decoded; the others (a notebook's
        outputs, its own comms) are dropped undecoded. Buffers come as views of the
        received frames, never copied."""
        socket = self._client.iopub_channel.socket
        session = self._client.session
        ours = self.session_id
        while True:
            frames = await socket.recv_multipart(copy=False)
            _, parts = session.feed_identities(frames, copy=False)
            if for_sessions(parts, ours):
                return session.deserialize(parts, copy=False)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._client.stop_channels()
