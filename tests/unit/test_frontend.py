"""What the kernel learns of its frontend: present, missing, or another version."""

from __future__ import annotations

from typing import Any

import pytest

from bokeh_nb._version import __version__
from bokeh_nb.kernel import frontend


class FakeComm:
    def __init__(self) -> None:
        self.on_msg_cb: Any = None
        self.on_close_cb: Any = None

    def on_msg(self, cb: Any) -> None:
        self.on_msg_cb = cb

    def on_close(self, cb: Any) -> None:
        self.on_close_cb = cb


@pytest.fixture
def explained(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(
        frontend, "_explain", lambda did, text=frontend.MISSING_FRONTEND: calls.append((did, text))
    )
    return calls


def asked(p: frontend.Frontend, monkeypatch: pytest.MonkeyPatch) -> FakeComm:
    comm = FakeComm()
    monkeypatch.setattr(
        p,
        "_ask",
        lambda: (
            setattr(p, "state", "asking"),
            setattr(p, "_comm", comm),
            comm.on_msg(p._answered),
            comm.on_close(p._closed),
        ),
    )
    return comm


def test_answer_with_same_version_is_present(
    explained: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = frontend.Frontend()
    comm = asked(p, monkeypatch)
    p.shown("d1")
    p.shown("d2")
    comm.on_msg_cb({"content": {"data": {"version": __version__}}})
    comm.on_close_cb({})
    p.shown("d3")
    assert p.state == "present" and explained == []


def test_closed_unanswered_explains_every_output(
    explained: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = frontend.Frontend()
    comm = asked(p, monkeypatch)
    p.shown("d1")
    p.shown("d2")
    comm.on_close_cb({})
    p.shown("d3")
    assert [d for d, _ in explained] == ["d1", "d2", "d3"]
    assert all("pip install bokeh_nb" in t for _, t in explained)


def test_other_version_is_explained(explained: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    p = frontend.Frontend()
    comm = asked(p, monkeypatch)
    p.shown("d1")
    comm.on_msg_cb({"content": {"data": {"version": "9.0.0"}}})
    comm.on_close_cb({})
    [(did, text)] = explained
    assert did == "d1" and "9.0.0" in text and __version__ in text


def test_version_rule_follows_npm_caret() -> None:
    major, minor, *_ = __version__.split(".")
    assert frontend.mismatch(__version__) is None
    assert frontend.mismatch(f"{major}.{minor}.99") is None
    assert frontend.mismatch(f"{major}.{int(minor) + 1}.0") is not None
