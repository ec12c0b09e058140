"""``server/limits.py``: a connection's Bokeh messages are bounded as their fragments
arrive, before bokeh's Receiver holds any of them."""

from __future__ import annotations

import json

import pytest

from bokeh_nb.server.limits import Limits, MessageGuard, Refused, limits_for


def header(msgtype: str = "PATCH-DOC", num_buffers: object = 0, msgid: str = "m") -> str:
    return json.dumps({"msgid": msgid, "msgtype": msgtype, "num_buffers": num_buffers})


def test_a_message_within_its_bounds_is_forwarded_whole() -> None:
    guard = MessageGuard(Limits(max_buffers=2, max_bytes=1000))
    fragments: list[str | bytes] = [header(num_buffers=2), "{}", "{}"]
    fragments += ['{"id": "1"}', b"x" * 100, '{"id": "2"}', b"y" * 100]
    for _ in range(3):  # message after message
        assert all(guard.admit(f).forward for f in fragments)


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (header(num_buffers=10**9), 1009),
        (header(num_buffers=-1), 1003),
        (header(num_buffers="1"), 1003),
        (header(num_buffers=True), 1003),
        ("[]", 1003),
        ("not json", 1003),
        (b"binary", 1003),
        (json.dumps({"msgtype": "PATCH-DOC", "pad": "x" * 5000}), 1003),
    ],
)
def test_a_header_over_the_bounds_is_refused_at_once(first: str | bytes, code: int) -> None:
    with pytest.raises(Refused) as refused:
        MessageGuard(Limits(max_buffers=8, max_bytes=10**6)).admit(first)
    assert refused.value.code == code


def test_bytes_are_counted_as_they_arrive() -> None:
    guard = MessageGuard(Limits(max_buffers=8, max_bytes=1000))
    for f in (header(num_buffers=8), "{}", "{}", '{"id": "1"}', b"x" * 500, '{"id": "2"}'):
        guard.admit(f)
    with pytest.raises(Refused) as refused:
        guard.admit(b"y" * 500)
    assert refused.value.code == 1009


def test_a_view_visitor_sends_no_buffers_and_its_patches_are_dropped() -> None:
    view = limits_for("view")
    assert view.max_buffers == 0
    guard = MessageGuard(view, view_only=True)
    with pytest.raises(Refused) as refused:
        guard.admit(header(num_buffers=1))
    assert refused.value.code == 1008
    guard = MessageGuard(view, view_only=True)
    steps = [guard.admit(f) for f in (header(msgid="p1"), "{}", '{"events": []}')]
    assert [s.forward for s in steps] == [False, False, False]
    assert [s.reply_to for s in steps] == [None, None, "p1"]  # an OK when it has ended
    assert all(guard.admit(f).forward for f in (header("PULL-DOC-REQ"), "{}", "{}"))


def test_the_bounds_of_each_kind_of_connection() -> None:
    author, interact = limits_for(None), limits_for("interact")
    assert author.max_bytes > interact.max_bytes > limits_for("view").max_bytes
    server = {"author": Limits(1, 100), "interact": Limits(1, 50)}
    assert limits_for(None, **server) == Limits(1, 100)
    assert limits_for("interact", **server) == Limits(1, 50)
    assert limits_for("view", **server) == Limits(0, 50)
