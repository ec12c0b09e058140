"""Comm messages leave the kernel status that pages show alone.

A kernel publishes ``status`` busy, then idle, around every message it handles, comm
messages included: each BokehJS event in a notebook output is one ``comm_msg``, and
JupyterLab (Notebook 7 alike) then updates its status bar, its toolbar indicator and the
page's favicon twice. On the benchmark machine that took about 11 ms of the page's main
thread per event, half of the event round trip (``benchmarks/results/PROFILE.md``).

jupyter_server's ``MappingKernelManager.untracked_message_types`` lists the message types
that are no user activity, and JupyterLab leaves the status it shows unchanged for a
status whose parent is of such a type (``page_config_data``); replies still reach their
futures. ``untrack_comm_messages`` adds ``comm_msg`` there (``BokehNb.untrack_comm_status``,
on by default).

What that would take away is given back: jupyter_server would no longer count comm
traffic as kernel activity (kernel culling, JupyterHub's idle culler), so the kernel
websocket connection of a page records activity for every ``comm_msg`` the page sends
(``is_page_activity``; the connection is extended in ``_jupyter.py``), which is the
person at the page doing something. Not for bokeh_nb's acknowledgements
(``KIND_ACK``), which a page sends as it handles a stream nobody may be watching.
"""

from __future__ import annotations

import json
from typing import Any

from ..protocol import KIND_ACK

__all__ = ("is_page_activity", "untrack_comm_messages")

COMM_MSG = "comm_msg"
V1 = "v1.kernel.websocket.jupyter.org"
_ACK = f'"kind":"{KIND_ACK}"'
#: an acknowledgement is far smaller; larger comm messages are never read for it
_ACK_MAX_BYTES = 1024


def untrack_comm_messages(kernel_manager: Any, page_config: dict[str, Any] | None) -> bool:
    """Add ``comm_msg`` to the kernel manager's untracked message types and to the page
    config JupyterLab reads them from; False if the kernel manager has no such list."""
    untracked = getattr(kernel_manager, "untracked_message_types", None)
    if untracked is None:
        return False
    if COMM_MSG not in untracked:
        kernel_manager.untracked_message_types = [*untracked, COMM_MSG]
    if page_config is not None and "untracked_message_types" in page_config:
        page_config["untracked_message_types"] = list(kernel_manager.untracked_message_types)
    return True


def _v1_part(message: Any, index: int) -> memoryview | None:
    """Part index of a v1-protocol websocket message (1: header, 4: content), unread."""
    if not isinstance(message, bytes | bytearray | memoryview):
        return None
    data = memoryview(message)
    count = int.from_bytes(data[:8], "little")
    if count < index + 2 or len(data) < 8 * (count + 1):
        return None
    start = int.from_bytes(data[8 * (index + 1) : 8 * (index + 2)], "little")
    end = int.from_bytes(data[8 * (index + 2) : 8 * (index + 3)], "little")
    return data[start:end] if 0 <= start <= end <= len(data) else None


def _header_msg_type(message: Any, subprotocol: str | None) -> str | None:
    """The msg_type of a message from a page (None if it cannot be read cheaply)."""
    header = _v1_part(message, 1) if subprotocol == V1 else None
    if header is None:
        return None
    msg_type = json.loads(bytes(header)).get("msg_type")
    return msg_type if isinstance(msg_type, str) else None


def _is_ack(message: Any, subprotocol: str | None) -> bool:
    """Whether a comm message from a page is an acknowledgement of frames it handled."""
    if subprotocol != V1:
        return isinstance(message, str) and len(message) < 4 * _ACK_MAX_BYTES and _ACK in message
    content = _v1_part(message, 4)
    return content is not None and len(content) < _ACK_MAX_BYTES and _ACK.encode() in bytes(content)


def is_page_activity(message: Any, subprotocol: str | None) -> bool:
    """Whether a message a page sends on its kernel websocket is the person at the page
    doing something: a comm message, but for bokeh_nb's acknowledgements."""
    try:
        comm = _header_msg_type(message, subprotocol) == COMM_MSG
        if subprotocol != V1:
            comm = f'"{COMM_MSG}"' in str(message)[:2000]
        return comm and not _is_ack(message, subprotocol)
    except (ValueError, AttributeError, TypeError):
        return False
