"""The kernel's answers to a page's request for BokehJS (``kernel/bokehjs.py``)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from bokeh_nb import _bokeh
from bokeh_nb.kernel import bokehjs
from bokeh_nb.protocol import CORE_BUNDLES, KIND_BOKEHJS


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Any, list[bytes] | None]] = []

    def send(self, content: Any, buffers: list[bytes] | None = None) -> None:
        self.sent.append((content, buffers))


def ask(**fields: Any) -> tuple[Any, list[bytes] | None]:
    widget = Recorder()
    request = {"kind": KIND_BOKEHJS, "client": "c1", "request": "j1", **fields}
    assert bokehjs.is_request(request)
    bokehjs.answer(widget, request)
    [answer] = widget.sent
    return answer


def test_the_bundles_come_as_one_message_with_their_digests() -> None:
    content, buffers = ask(version=_bokeh.bokeh_version, bundles=list(CORE_BUNDLES))
    assert content["request"] == "j1" and content["version"] == _bokeh.bokeh_version
    assert buffers is not None and len(buffers) == len(CORE_BUNDLES)
    assert [b["name"] for b in content["bundles"]] == list(CORE_BUNDLES)
    for meta, body in zip(content["bundles"], buffers, strict=True):
        assert meta["bytes"] == len(body) > 10_000
        assert meta["sha256"] == hashlib.sha256(body).hexdigest()
    assert b"Bokeh" in buffers[0]


@pytest.mark.parametrize(
    "fields",
    [
        {"version": "2.4.3", "bundles": ["bokeh"]},
        {"version": None, "bundles": ["bokeh"]},
        {"bundles": ["../../../../etc/passwd"]},
        {"bundles": ["bokeh-api"]},
        {"bundles": "bokeh"},
        {"bundles": []},
        {"bundles": ["bokeh"] * 50},
        {"bundles": [{"name": "bokeh"}]},
    ],
)
def test_anything_else_gets_an_error_and_no_file(fields: dict[str, Any]) -> None:
    content, buffers = ask(**{"version": _bokeh.bokeh_version, **fields})
    assert set(content) == {"kind", "request", "error"}
    assert buffers is None
    assert content["error"]


def test_frames_of_other_kinds_are_not_requests() -> None:
    assert not bokehjs.is_request({"kind": "bokeh"})
    assert not bokehjs.is_request(["bokehjs"])
