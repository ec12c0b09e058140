"""The codec builds and reads every frame as docs/protocol.md says, and its shapes are the
ones the page declares (``labextension/src/protocol.ts``), through ``tests/fixtures/wire.json``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bokeh_nb import wire

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "wire.json"
TS = ROOT / "labextension" / "src" / "protocol.ts"

#: Python shape -> the TypeScript interface of the same frame (None: kernel and server only)
TWINS = {
    "BokehHeader": "IBokehHeader",
    "BokehFrame": "IBokehFrame",
    "ViewsFrame": "IViewsFrame",
    "ByeFrame": "IByeFrame",
    "AckFrame": "IAckFrame",
    "ErrorFrame": "IErrorFrame",
    "StreamFrame": "IStreamFrame",
    "BokehJSRequest": "IBokehJSRequest",
    "BokehJSReply": "IBokehJSReply",
    "SessionOpen": None,
    "BatchItem": None,
    "BatchFrame": None,
    "ShareRequest": None,
    "RevokeRequest": None,
    "AppsReply": None,
}


def python_shape(name: str) -> dict[str, bool]:
    """field -> required, of one TypedDict of wire.py"""
    cls = getattr(wire, name)
    # (read from the annotations' text: with postponed annotations, Python 3.11's
    # __required_keys__ does not see NotRequired[...])
    return {
        field: cls.__total__ and "NotRequired[" not in str(annotation)
        for field, annotation in cls.__annotations__.items()
    }


def ts_shape(name: str) -> dict[str, bool]:
    body = re.search(rf"export interface {name} \{{(.*?)\n\}}", TS.read_text(), re.S)
    assert body is not None, f"protocol.ts declares no interface {name}"
    fields = re.findall(r"^\s+(\w+)(\??):", body.group(1), re.M)
    return {field: optional == "" for field, optional in fields}


def test_the_fixture_is_the_codec():
    shapes = {name: python_shape(name) for name in TWINS}
    assert json.loads(FIXTURE.read_text()) == shapes, (
        "wire.py's shapes changed: update tests/fixtures/wire.json (and protocol.ts)"
    )


@pytest.mark.parametrize("name", [n for n, ts in TWINS.items() if ts is not None])
def test_the_page_declares_the_same_shapes(name: str):
    expected = json.loads(FIXTURE.read_text())[name]
    assert ts_shape(TWINS[name]) == expected


def test_bokeh_frame_carries_what_it_is_given():
    frame = wire.bokeh_frame({"msgid": "1", "msgtype": "OK"}, {}, "{}", ["0"], seq=3)
    assert frame == {
        "kind": "bokeh",
        "header": {"msgid": "1", "msgtype": "OK"},
        "metadata": {},
        "content": "{}",
        "buffers": ["0"],
        "seq": 3,
    }
    assert "client" not in frame
    asked = wire.bokeh_frame({"msgid": "2", "msgtype": "OK"}, {}, "{}", [], seq=4, acknowledge=True)
    assert asked["seq"] == 4 and asked["acknowledge"] is True
    assert "acknowledge" not in wire.bokeh_frame({}, {}, "{}", [], acknowledge=True), "no seq"


def test_a_frame_must_fit_its_buffers():
    good = wire.bokeh_frame({"msgid": "1"}, {}, "{}", ["a", "b"])
    assert wire.read_bokeh_frame(good, [b"1", b"2"])[3] == ["a", "b"]
    with pytest.raises(wire.FrameError, match="2 buffer ids for 1 buffers"):
        wire.read_bokeh_frame(good, [b"1"])
    with pytest.raises(wire.FrameError, match="header must be an object"):
        wire.read_bokeh_frame({"header": "x", "content": "{}"}, [])
    with pytest.raises(wire.FrameError, match="metadata"):
        wire.read_bokeh_frame({"header": {}, "content": "{}", "metadata": [1]}, [])


def test_reading_a_frame_is_forgiving_where_it_can_be():
    assert wire.frame_kind([1]) is None
    assert wire.frame_kind({"kind": 3}) == ""
    assert wire.frame_client({"client": ""}) == "unknown"
    assert wire.frame_int({"seq": True}, "seq") is None
    assert wire.frame_int({"seq": 7}, "seq") == 7


def test_session_open_round_trips():
    data = wire.session_open(
        "app", {"n": ["1"]}, visitor="view", session_id="abc", file="a.py", files=["a.py"]
    )
    assert wire.read_session_open(json.loads(json.dumps(data))) == data
    assert wire.session_open("app", {}) == {
        "app": "app",
        "arguments": {},
        "batches": True,
        "acknowledges": True,
    }


def test_a_servers_acknowledgement_reads_as_a_pages():
    frame = json.loads(json.dumps(wire.ack_frame("ws", 17)))
    assert wire.frame_kind(frame) == "ack" and wire.frame_client(frame) == "ws"
    assert wire.frame_int(frame, "seq") == 17


def test_session_open_drops_what_has_the_wrong_type():
    read = wire.read_session_open({"app": 1, "arguments": {"a": "x", "b": [1]}, "files": "f"})
    assert read == {"arguments": {"b": ["1"]}}
    assert wire.read_session_open(None) == {"arguments": {}}


def test_an_unknown_visitor_mode_is_refused_with_its_name_cut_short():
    with pytest.raises(wire.FrameError) as e:
        wire.read_session_open({"app": "a", "visitor": "admin" * 20})
    assert str(e.value).startswith("unknown visitor mode 'adminadmin")
    assert len(str(e.value)) < 70
