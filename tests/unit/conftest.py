"""Fakes for unit tests: a channel that records what a session sends."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from bokeh_nb import _bokeh


@dataclass
class Sent:
    header: dict[str, Any]
    metadata: dict[str, Any]
    content: dict[str, Any]
    buffers: list[tuple[str, bytes | memoryview]]
    seq: int
    acknowledge: bool = False  # the page should acknowledge it as soon as handled


@dataclass
class FakeChannel:
    messages: list[Sent] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def send_message(self, msg: _bokeh.Message[Any], seq: int, acknowledge: bool = False) -> None:
        self.messages.append(
            Sent(
                dict(msg.header),
                dict(msg.metadata),
                json.loads(_bokeh.content_json(msg)),
                _bokeh.message_buffers(msg),
                seq,
                acknowledge,
            )
        )

    def send_error(self, text: str, traceback: str) -> None:
        self.errors.append((text, traceback))

    def of_type(self, msgtype: str) -> list[Sent]:
        return [m for m in self.messages if m.header["msgtype"] == msgtype]


@pytest.fixture
def channel() -> FakeChannel:
    return FakeChannel()


def browser_patch(events: list[dict[str, Any]], msgid: str = "b1") -> _bokeh.Message[Any]:
    """A PATCH-DOC as BokehJS would send it (JSON content, no buffers)."""
    return _bokeh.assemble(
        {"msgid": msgid, "msgtype": "PATCH-DOC"}, {}, json.dumps({"events": events}), []
    )


def pull_request(msgid: str = "p1") -> _bokeh.Message[Any]:
    return _bokeh.assemble({"msgid": msgid, "msgtype": "PULL-DOC-REQ"}, {}, "{}", [])


def model_changed(model_id: str, attr: str, new: Any) -> dict[str, Any]:
    return {"kind": "ModelChanged", "model": {"id": model_id}, "attr": attr, "new": new}


def button_click(model_id: str) -> dict[str, Any]:
    """A click on a Button, as BokehJS sends it in a PATCH-DOC."""
    return {
        "kind": "MessageSent",
        "msg_type": "bokeh_event",
        "msg_data": {
            "type": "event",
            "name": "button_click",
            "values": {"type": "map", "entries": [["model", {"id": model_id}]]},
        },
    }


def column_patch(
    model_id: str, values: np.ndarray, *, typed: bool, msgid: str = "u1"
) -> _bokeh.Message[Any]:
    """A PATCH-DOC setting a source's data to ``{"x": values}``, the array in one binary
    buffer: as BokehJS sends a ``Float64Array`` (a typed array), or an ndarray with its
    shape."""
    array: dict[str, Any] = {
        "type": "typed_array" if typed else "ndarray",
        "array": {"type": "bytes", "data": {"id": "0"}},
        "dtype": str(values.dtype),
        "order": "little",
    }
    if not typed:
        array["shape"] = list(values.shape)
    event = model_changed(model_id, "data", {"type": "map", "entries": [["x", array]]})
    header = {"msgid": msgid, "msgtype": "PATCH-DOC", "num_buffers": 1}
    content = json.dumps({"events": [event]})
    return _bokeh.assemble(header, {}, content, [("0", memoryview(values.tobytes()))])
