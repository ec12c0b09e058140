"""Notebook pages do not receive the traffic of standalone sessions.

A standalone session (an app page, a share link, a ``bokeh.client`` connection) talks to
its kernel over a comm, and the kernel publishes comm messages on iopub, which the Jupyter
server forwards to every kernel websocket of that kernel: each notebook page open on it
would receive, decode and drop every visitor's updates (no page knows those comms), and
they would count against that page's iopub rate limit. The kernel marks those messages
(``RELAY_MARK`` in their metadata); the server extension extends the configured kernel
websocket connection class (jupyter_server's ZMQ one, in ``_jupyter.py``) so that it
skips them. The server's own kernel client reads the kernel's iopub itself and is not
affected.

The ``status`` busy / idle the kernel publishes around each of the server's own requests
(its ``KernelClient``'s) are skipped as well, known by their parent: those requests carry
a Jupyter session id of their own (``RELAY_SESSION``). Every other status still reaches
the pages, those of jupyter_server's own requests included: JupyterLab takes the
kernel's state from any status, and after a restart waits for one.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import RELAY_MARK, RELAY_SESSION

__all__ = ("is_marked", "is_relay_traffic")

_MARK = f'"{RELAY_MARK}"'.encode()
_SESSION = f'"{RELAY_SESSION}'.encode()


def _bytes(frame: Any) -> bytes | None:
    raw = getattr(frame, "bytes", frame)  # a zmq Frame, or bytes
    return raw if isinstance(raw, bytes) else None


def is_marked(parts: list[Any]) -> bool:
    """Whether a kernel message (``[header, parent, metadata, content, *buffers]``) has
    ``RELAY_MARK`` in its metadata: a standalone session's frame."""
    metadata = _bytes(parts[2]) if len(parts) > 2 else None
    return metadata is not None and _MARK in metadata


def is_relay_traffic(parts: list[Any]) -> bool:
    """Whether a kernel message (``[header, parent, metadata, content, *buffers]``) is a
    standalone session's, from its metadata or its parent and header (small; never the
    content)."""
    if len(parts) < 4:
        return False
    if is_marked(parts):
        return True
    parent = _bytes(parts[1])  # a status caused by one of the server's requests
    if parent is None or _SESSION not in parent:
        return False
    try:
        header = json.loads(_bytes(parts[0]) or b"")
        return bool(json.loads(parent).get("session", "").startswith(RELAY_SESSION)) and (
            header.get("msg_type") == "status"
        )
    except (ValueError, AttributeError):
        return False
