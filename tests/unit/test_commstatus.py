"""Which comm messages from a page count as kernel activity (``server/commstatus.py``): a
bokeh_nb acknowledgement (a page handling a stream) does not, anything else does."""

from __future__ import annotations

import json

from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

from bokeh_nb.server.commstatus import V1, _header_msg_type, _is_ack, is_page_activity


def page_message(data: dict[str, object], buffers: list[bytes] | None = None) -> bytes:
    session = Session(session="page", username="page")
    msg = session.msg("comm_msg", {"comm_id": "c", "data": data})
    parts = [
        json.dumps(msg[key], separators=(",", ":"), default=str).encode()
        for key in ("header", "parent_header", "metadata", "content")
    ]
    return serialize_msg_to_ws_v1([*parts, *(buffers or [])], "shell")


def test_an_acknowledgement_is_no_activity() -> None:
    ack = page_message({"method": "custom", "content": {"kind": "ack", "client": "p", "seq": 8}})
    assert _header_msg_type(ack, V1) == "comm_msg"
    assert _is_ack(ack, V1)
    assert not is_page_activity(ack, V1)


def test_events_and_everything_else_are_activity() -> None:
    event = page_message(
        {"method": "custom", "content": {"kind": "bokeh", "client": "p", "content": "{}"}},
        [b"\0" * 4096],
    )
    assert not _is_ack(event, V1)
    assert is_page_activity(event, V1)
    big = page_message({"method": "custom", "content": {"kind": "ack", "pad": "x" * 4096}})
    assert not _is_ack(big, V1)  # too large to be one: never read
    legacy = json.dumps({"msg_type": "comm_msg", "content": {"data": {"content": {"kind": "ack"}}}})
    assert _is_ack(legacy.replace(" ", ""), None)
    assert not _is_ack('{"msg_type":"comm_msg","content":{"data":{"kind":"bokeh"}}}', None)
    assert is_page_activity('{"msg_type":"comm_msg","content":{"data":{"kind":"bokeh"}}}', None)
    assert not is_page_activity('{"msg_type":"kernel_info_request","content":{}}', None)
    assert not is_page_activity(b"\0" * 4, V1)  # unreadable: no activity
