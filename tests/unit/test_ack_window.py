"""The window of unacknowledged frames (``kernel/flow.AckWindow``) of a notebook output, or
of a standalone session whose server acknowledges: a session holds its changes, merged,
while a page that acknowledges is behind, loses none of them, and is not held by a page
that stalls, leaves or never acknowledges, nor by a connection that went away."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource

from bokeh_nb.kernel.flow import AckWindow, MessageBudget
from bokeh_nb.kernel.frames import dispatch
from bokeh_nb.kernel.session import KernelSession
from bokeh_nb.protocol import ACK_WINDOW, KIND_ACK, KIND_BYE
from tests.loops import in_thread

from .conftest import FakeChannel, Sent, model_changed, pull_request


def streaming_session(stall: float = 10.0) -> tuple[KernelSession, FakeChannel, Any]:
    source = ColumnDataSource(data={"i": np.zeros(0)})
    doc = Document()
    doc.add_root(source)
    channel = FakeChannel()
    session = KernelSession(doc, channel, budget=MessageBudget(rate=1e6, burst=1e6))
    session.outgoing.window.stall = stall
    return session, channel, source


def rows(channel: FakeChannel) -> list[float]:
    """The streamed values in the order the frames carry them."""
    return [row for sent in channel.of_type("PATCH-DOC") for row in rows_of(sent)]


def rows_of(sent: Sent) -> list[float]:
    """The streamed values one frame carries."""
    out: list[float] = []
    buffers = dict(sent.buffers)
    for event in sent.content["events"]:
        if event["kind"] != "ColumnsStreamed":
            continue
        column = event["data"]["entries"][0][1]
        ref = column["array"]["data"]["id"]  # an ndarray, its bytes a binary buffer
        out.extend(np.frombuffer(buffers[ref], dtype=column["dtype"]))
    return out


def ack(session: KernelSession, client: str, seq: int) -> None:
    dispatch({"kind": KIND_ACK, "client": client, "seq": seq}, [], session, lambda m: None)


def test_the_window_counts_only_pages_that_acknowledge() -> None:
    window = AckWindow(frames=4, stall=10.0)
    for _ in range(10):
        window.next_seq()
    assert window.hold_for() is None, "nobody acknowledges: nobody is waited for"
    window.ack("a", 6)
    window.ack("b", 10)
    assert window.hold_for() is not None, "a is 4 frames behind"
    window.ack("a", 3)  # an older acknowledgement arriving late changes nothing
    window.ack("a", 99)  # nor one for a frame never sent
    assert window.hold_for() is not None
    window.ack("a", 7)
    assert window.hold_for() is None
    window.ack("a", 6)
    window.next_seq()
    window.next_seq()
    window.next_seq()
    assert window.hold_for() is not None
    window.forget("a")
    assert window.hold_for() is None


def test_a_page_behind_holds_the_stream_merged_and_loses_nothing() -> None:
    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        channel.messages.clear()
        for i in range(3 * ACK_WINDOW):  # one row per loop turn, nothing acknowledged
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        patches = channel.of_type("PATCH-DOC")
        assert len(patches) == ACK_WINDOW, "held once the page is a window behind"
        assert session.outgoing._runs, "the rest is pending"
        ack(session, "page", session.frames_sent)  # the page caught up
        await asyncio.sleep(0.01)
        assert len(channel.of_type("PATCH-DOC")) == ACK_WINDOW + 1, "the rest as one patch"
        assert rows(channel) == [float(i) for i in range(3 * ACK_WINDOW)]
        assert list(source.data["i"]) == rows(channel)
        seqs = [sent.seq for sent in channel.messages]
        assert seqs == list(range(seqs[0], session.frames_sent + 1)), "numbered in order"

    in_thread(main, 30)


def test_a_page_that_stalls_or_leaves_holds_no_one_back() -> None:
    async def main() -> None:
        # a stall time the loops below stay well inside, even on a busy machine
        session, channel, source = streaming_session(stall=1.0)
        session.receive(pull_request(), "page")
        session.receive(pull_request(), "silent")  # an older frontend: never acknowledges
        ack(session, "page", session.frames_sent)
        channel.messages.clear()
        # the page's stall counts from the first frame it has not acknowledged, sent in the
        # loop's first turn (on a busy machine the loop itself may take most of the stall)
        started = time.monotonic()
        for i in range(2 * ACK_WINDOW):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        held = len(channel.of_type("PATCH-DOC"))
        assert held == ACK_WINDOW
        while len(channel.of_type("PATCH-DOC")) == held and time.monotonic() - started < 5:
            await asyncio.sleep(0.02)
        waited = time.monotonic() - started
        assert 0.9 < waited < 3, f"a stalled page holds the stream for its stall time ({waited})"
        assert rows(channel) == [float(i) for i in range(2 * ACK_WINDOW)]

        ack(session, "page", session.frames_sent)  # it is back, and falls behind again
        for i in range(2 * ACK_WINDOW, 3 * ACK_WINDOW + 5):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        assert session.outgoing._runs, "held again"
        dispatch({"kind": KIND_BYE, "client": "page"}, [], session, lambda m: None)
        await asyncio.sleep(0.02)
        assert not session.outgoing._runs, "a page that leaves holds nothing"
        assert rows(channel) == [float(i) for i in range(3 * ACK_WINDOW + 5)]

    in_thread(main, 30)


def test_a_page_quiet_for_longer_than_the_stall_time_is_not_stalled() -> None:
    """A page that had handled everything and then saw nothing for a while (longer than
    the stall time) still holds the session back when a stream starts: it is behind only
    from the stream's first frame on. Counted from its last acknowledgement instead, it
    was taken for stalled, the stream ran unheld, and the page got seconds of frames
    ahead of every answer to it."""

    async def main() -> None:
        # the stream below must reach the window within the stall time, on a loaded machine too
        session, channel, source = streaming_session(stall=1.5)
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        channel.messages.clear()
        await asyncio.sleep(1.7)  # quiet, caught up, for longer than the stall time
        for i in range(2 * ACK_WINDOW):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        assert len(channel.of_type("PATCH-DOC")) == ACK_WINDOW, "held once a window behind"
        ack(session, "page", session.frames_sent)
        await asyncio.sleep(0.01)
        assert rows(channel) == [float(i) for i in range(2 * ACK_WINDOW)]

    in_thread(main, 30)


def test_a_page_expected_to_acknowledge_holds_the_session_from_its_first_frame() -> None:
    """A standalone session's server says, when it opens the session, that it will
    acknowledge: its peer holds the session back from the first frame on, before any
    acknowledgement has come. Counted only from its first acknowledgement, a stream that
    started with the session ran unheld, the page fell seconds behind, and its server,
    which keeps a bounded list of what the page has not handled, found none of it again
    until the stream ended (``test_pacing``)."""

    async def main() -> None:
        session, channel, source = streaming_session()
        session.will_acknowledge("ws")
        session.receive(pull_request(), "ws")
        for i in range(3 * ACK_WINDOW):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        assert len(channel.messages) == ACK_WINDOW, "held once a window behind"
        ack(session, "ws", session.frames_sent)
        await asyncio.sleep(0.01)
        assert rows(channel) == [float(i) for i in range(3 * ACK_WINDOW)]
        session.destroy()

    in_thread(main, 30)


def test_a_standalone_session_whose_connection_went_is_held_by_no_one() -> None:
    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "ws")
        ack(session, "ws", session.frames_sent)  # the server, for its visitor's socket
        for i in range(ACK_WINDOW + 5):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        assert session.outgoing._runs, "held: the server has not written the rest"
        session.detached()  # the visitor's websocket closed; a reload may take it over
        await asyncio.sleep(0.02)
        assert not session.outgoing._runs, "what was held goes (dropped while detached)"
        session.destroy()

    in_thread(main, 30)


def test_malformed_acknowledgements_are_ignored() -> None:
    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        for seq in ("3", None, True, -1, 10**12, 1.5):
            dispatch({"kind": KIND_ACK, "client": "page", "seq": seq}, [], session, print)
        assert session.outgoing.window.hold_for() is None
        source.stream({"i": np.array([1.0])})
        await asyncio.sleep(0.01)
        assert rows(channel) == [1.0]

    in_thread(main, 30)


def test_an_acknowledgement_rides_along_on_a_page_patch() -> None:
    """A page's PATCH-DOC carries what it has handled (``ack``): the window moves with no
    acknowledgement message of its own, and the patch is applied as ever."""

    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        for i in range(ACK_WINDOW + 4):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        assert session.outgoing._runs, "held: the page is a window behind"
        frame = {
            "kind": "bokeh",
            "client": "page",
            "ack": session.frames_sent,  # all the page has handled, riding along
            "header": {"msgid": "e1", "msgtype": "PATCH-DOC"},
            "metadata": {},
            "content": json.dumps({"events": [model_changed(source.id, "name", "moved")]}),
            "buffers": [],
        }
        handled = session.frames_sent
        replies: list[Any] = []
        dispatch(frame, [], session, replies.append)
        await asyncio.sleep(0.01)
        assert session.outgoing.window._acks["page"][0] == handled, (
            "the acknowledgement on the patch moved the window"
        )
        assert not session.outgoing._runs
        assert rows(channel) == [float(i) for i in range(ACK_WINDOW + 4)]
        assert not replies, "no error for the patch"
        assert source.name == "moved", "the patch was applied"
        assert channel.of_type("OK"), "and answered"

    in_thread(main, 30)


def test_the_window_counts_bytes_and_merges_small_frames_for_a_lagging_page() -> None:
    """A few large frames fill the window by their bytes. From half of it behind, a page
    lags: it is asked to acknowledge each frame as soon as it has handled it, and small
    changes wait, merged, until half the window's bytes is pending."""
    window = AckWindow(frames=8, nbytes=1000, stall=10.0)
    window.ack("page", window.next_seq(100))
    assert window.hold_for(1) is None and not window.wants_ack()
    window.next_seq(400)
    assert window.hold_for(1) is None and not window.wants_ack(), "400 bytes behind"
    window.next_seq(100)
    assert window.wants_ack(), "500 bytes behind: the page lags"
    assert window.hold_for(1) is not None, "a small change waits for more, merged"
    assert window.hold_for(499) is not None, "still less than half the window"
    assert window.hold_for(500) is None and window.hold_for() is None, "a large one goes"
    window.next_seq(500)
    assert window.hold_for() is not None and window.hold_for(10**6) is not None, "full"
    window.ack("page", window.sent - 1)
    assert window.hold_for(500) is None, "500 bytes behind"
    for _ in range(3):
        window.next_seq(1)
    window.ack("page", window.sent)
    assert not window.wants_ack() and window.hold_for(1) is None, "caught up"
    for _ in range(4):
        window.next_seq(1)
    assert window.wants_ack(), "half the window's frames behind"
    for _ in range(100):  # the numbers of frames every page has handled are not kept
        window.ack("page", window.next_seq(10))
    assert len(window._total_after) <= window.frames + 1


def test_a_frame_without_column_data_follows_a_frame_of_data_at_once() -> None:
    """A label set a loop turn after a plot's new data (a frame far beyond the window's
    bytes) goes right behind that frame, not once the page has acknowledged it, even when
    the page has not acknowledged the frames before it yet; more data, or a second such
    frame, waits for the page as before, and the window's frame count still holds."""
    window = AckWindow(frames=8, nbytes=1000, stall=10.0)
    window.ack("page", window.next_seq(100))
    window.next_seq(10, columns=False)  # handled, not acknowledged yet (acks are lazy)
    window.next_seq(5000)
    assert window.hold_for(64) is not None, "column data waits for the page"
    assert window.hold_for(64, columns=False) is None, "a label goes behind the data"
    window.next_seq(64, columns=False)
    assert window.hold_for(64, columns=False) is not None, "a second one waits, merged"
    for _ in range(5):
        window.next_seq(1)
    assert window.hold_for(64, columns=False) is not None, "8 frames behind: the window holds"

    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        channel.messages.clear()
        source.data = {"i": np.arange(10_000, dtype="float64")}  # 80 KB: past the window
        await asyncio.sleep(0.01)
        source.name = "label"
        await asyncio.sleep(0.01)
        patches = channel.of_type("PATCH-DOC")
        kinds = [[e["kind"] for e in p.content["events"]] for p in patches]
        assert kinds == [["ColumnDataChanged"], ["ModelChanged"]], kinds
        source.stream({"i": np.array([1.0])})
        source.name = "again"
        await asyncio.sleep(0.01)
        assert len(channel.of_type("PATCH-DOC")) == 2, "held: the page is behind"
        ack(session, "page", session.frames_sent)
        await asyncio.sleep(0.01)
        assert len(channel.of_type("PATCH-DOC")) == 3 and not session.outgoing._runs

    in_thread(main, 30)


def test_a_page_event_is_answered_at_once_while_the_window_holds() -> None:
    """The page that sent an event waits for what its callback changed: that goes out at
    once, merged with what the window held, in order and before the event's OK, even
    though the page is a window behind and acknowledges nothing with it."""

    async def main() -> None:
        session, channel, source = streaming_session()
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        source.on_change("name", lambda attr, old, new: source.stream({"i": np.array([-1.0])}))
        for i in range(ACK_WINDOW + 4):
            source.stream({"i": np.array([float(i)])})
            await asyncio.sleep(0.002)
        held = len(channel.of_type("PATCH-DOC"))
        assert session.outgoing._runs, "held: the page is a window behind"
        frame = {
            "kind": "bokeh",
            "client": "page",
            "header": {"msgid": "e1", "msgtype": "PATCH-DOC"},
            "metadata": {},
            "content": json.dumps({"events": [model_changed(source.id, "name", "moved")]}),
            "buffers": [],
        }
        replies: list[Any] = []
        dispatch(frame, [], session, replies.append)
        await asyncio.sleep(0.01)
        assert not replies, "no error for the patch"
        assert not session.outgoing._runs, "the answer went, with what was held before it"
        assert rows(channel) == [float(i) for i in range(ACK_WINDOW + 4)] + [-1.0]
        kinds = [sent.header["msgtype"] for sent in channel.messages][held:]
        assert kinds[-1] == "OK" and set(kinds[:-1]) == {"PATCH-DOC"}, kinds
        source.stream({"i": np.array([99.0])})
        await asyncio.sleep(0.01)
        assert session.outgoing._runs, "later changes are held again: the page is behind"

    in_thread(main, 30)


def test_session_callbacks_wait_while_their_backlog_is_held() -> None:
    """A callback that streams as fast as the loop turns (a timeout of 0 that adds itself
    again) runs while the page keeps up; once the page is a window behind and the
    backlog's bytes are pending, it waits, and runs again when the page acknowledges. A
    cell's own change is not held back; no row is lost."""

    async def main() -> None:
        session, channel, source = streaming_session()
        session.outgoing.window.nbytes = 2 * 8 * 100  # a frame to a lagging page: 100 rows
        session.receive(pull_request(), "page")
        ack(session, "page", session.frames_sent)
        channel.messages.clear()
        ticks = [0]

        def tick() -> None:
            source.stream({"i": np.arange(10.0) + 10 * ticks[0]})
            ticks[0] += 1
            session.document.add_timeout_callback(tick, 0)

        session.document.add_timeout_callback(tick, 0)
        await asyncio.sleep(0.3)
        waiting = ticks[0]
        assert session.outgoing.backlog() is not None, "held, with its backlog pending"
        assert channel.messages[-1].acknowledge, "the page is asked to acknowledge"
        sizes = [len(rows_of(sent)) for sent in channel.of_type("PATCH-DOC")]
        assert sizes[-1] >= 100 and len(sizes) <= 5, (
            f"a lagging page gets few large frames: {sizes}"
        )
        await asyncio.sleep(0.1)
        assert ticks[0] == waiting, "the stream waits for its page"

        source.name = "from a cell"  # not a session callback: not held back, only merged
        await asyncio.sleep(0.01)
        ack(session, "page", session.frames_sent)
        await asyncio.sleep(0.05)
        assert ticks[0] > waiting, "an acknowledgement lets it run again"
        names = [
            event["new"]
            for sent in channel.of_type("PATCH-DOC")
            for event in sent.content["events"]
            if event["kind"] == "ModelChanged"
        ]
        assert names == ["from a cell"]
        session.destroy()
        await asyncio.sleep(0.01)
        sent = rows(channel)
        assert sent == [float(i) for i in range(len(sent))], "in order, none lost"
        assert len(sent) >= 10 * waiting

    in_thread(main, 30)
