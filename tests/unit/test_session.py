"""KernelSession with a fake channel: batching, echo, callbacks, errors, lifetime."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
from bokeh.application import Application
from bokeh.application.handlers import FunctionHandler
from bokeh.document import Document
from bokeh.models import Button, ColumnDataSource, Div, Slider

from bokeh_nb.kernel.appcontext import AppContext
from bokeh_nb.kernel.flow import MessageBudget
from bokeh_nb.kernel.session import KernelSession
from tests.loops import in_thread

from .conftest import (
    FakeChannel,
    browser_patch,
    button_click,
    column_patch,
    model_changed,
    pull_request,
)


def run(main: Callable[[], Awaitable[None]], timeout: float = 60) -> None:
    """Run main on an event loop of its own thread (see tests/loops.py)."""
    in_thread(main, timeout)


async def turn(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def make(channel: FakeChannel, *roots: Any, **kw: Any) -> KernelSession:
    doc = Document()
    for r in roots:
        doc.add_root(r)
    return KernelSession(doc, channel, budget=kw.pop("budget", MessageBudget()), **kw)


def test_pull_replies_with_the_current_document(channel: FakeChannel) -> None:
    async def main() -> None:
        div = Div(text="hi")
        session = make(channel, div)
        div.text = "changed"
        channel.messages.clear()
        session.receive(pull_request("p1"), "c1")
        [reply] = channel.of_type("PULL-DOC-REPLY")
        assert reply.header["reqid"] == "p1"
        [root] = reply.content["doc"]["roots"]
        assert root["attributes"]["text"] == "changed"
        assert session.clients == {"c1": 0}

    run(main)


def test_changes_in_one_callback_turn_are_one_patch(channel: FakeChannel) -> None:
    async def main() -> None:
        div, slider = Div(text="0"), Slider(start=0, end=10, value=1)
        session = make(channel, div, slider)

        def cb(_attr: str, _old: Any, new: Any) -> None:
            for i in range(50):
                div.text = str(i)
            slider.title = f"v={new}"

        slider.on_change("value", cb)
        session.receive(pull_request(), "c1")
        session.receive(pull_request(), "c2")
        channel.messages.clear()
        session.receive(browser_patch([model_changed(slider.id, "value", 7)]), "c1")
        await turn()
        patches = channel.of_type("PATCH-DOC")
        # the callback's changes go to everyone; the echo of c1's own change goes in a
        # run of its own tagged with its origin (c2 must see it, c1 drops it)
        plain = [p for p in patches if "origin" not in p.metadata]
        echo = [p for p in patches if p.metadata.get("origin") == "c1"]
        assert len(plain) == 1 and len(echo) == 1
        events = plain[0].content["events"]
        texts = [e["new"] for e in events if e.get("attr") == "text"]
        assert texts == ["49"], "repeated changes of one property are merged, latest wins"
        assert echo[0].metadata == {"origin": "c1"}
        assert channel.of_type("OK")[0].header["reqid"] == "b1"
        assert slider.value == 7

    run(main)


def test_no_echo_when_the_sender_is_the_only_client(channel: FakeChannel) -> None:
    async def main() -> None:
        slider = Slider(start=0, end=10, value=1)
        session = make(channel, slider)
        session.receive(pull_request(), "c1")
        channel.messages.clear()
        session.receive(browser_patch([model_changed(slider.id, "value", 3)]), "c1")
        await turn()
        assert channel.of_type("PATCH-DOC") == []
        assert [m.header["msgtype"] for m in channel.messages] == ["OK"]

    run(main)


def test_on_change_and_on_click_run_exactly_once(channel: FakeChannel) -> None:
    async def main() -> None:
        slider, button = Slider(start=0, end=10, value=1), Button()
        calls: list[Any] = []
        slider.on_change("value", lambda a, o, n: calls.append(("value", n)))
        button.on_click(lambda: calls.append("click"))
        session = make(channel, slider, button)
        session.receive(pull_request(), "c1")
        session.receive(browser_patch([model_changed(slider.id, "value", 4)], "m1"), "c1")
        click = button_click(button.id)
        session.receive(browser_patch([click], "m2"), "c1")
        await turn()
        assert calls == [("value", 4), "click"]

    run(main)


def test_cell_changes_are_sent_at_once(channel: FakeChannel) -> None:
    async def main() -> None:
        div = Div(text="a")
        session = make(channel, div)
        session.receive(pull_request(), "c1")
        channel.messages.clear()
        div.text = "from a cell"  # no loop turn needed: a blocking cell still updates
        [patch] = channel.of_type("PATCH-DOC")
        assert patch.content["events"][0]["new"] == "from a cell"

    run(main)


def test_a_burst_from_a_cell_is_merged(channel: FakeChannel) -> None:
    async def main() -> None:
        div = Div(text="a")
        session = make(channel, div)
        # the loop below takes longer than the 20 ms interval on a busy machine
        session.outgoing.cell_flush_interval = 10.0
        session.receive(pull_request(), "c1")
        channel.messages.clear()
        for i in range(100):
            div.text = str(i)
        assert len(channel.of_type("PATCH-DOC")) == 1, "the first change goes at once"
        await turn()
        patches = channel.of_type("PATCH-DOC")
        assert len(patches) == 2 and patches[-1].content["events"][-1]["new"] == "99"

    run(main)


def test_budget_defers_and_merges_instead_of_dropping(channel: FakeChannel) -> None:
    async def main() -> None:
        div = Div(text="a")
        budget = MessageBudget(rate=50.0, burst=5.0)
        session = make(channel, div, budget=budget)
        for i in range(100):
            div.text = str(i)
        sent_now = len(channel.of_type("PATCH-DOC"))
        assert sent_now <= 6
        await asyncio.sleep(0.2)
        patches = channel.of_type("PATCH-DOC")
        assert patches[-1].content["events"][-1]["new"] == "99", "the final value arrives"
        assert len(patches) < 20
        assert session.messages_sent == len(patches)

    run(main)


def test_arrays_travel_as_binary_buffers(channel: FakeChannel) -> None:
    async def main() -> None:
        source = ColumnDataSource(data={"x": np.arange(1000, dtype="float64")})
        session = make(channel, source)
        session.receive(pull_request(), "c1")
        [reply] = channel.of_type("PULL-DOC-REPLY")
        assert reply.header["num_buffers"] == 1
        [(buffer_id, payload)] = reply.buffers
        assert memoryview(payload).nbytes == 8000
        assert f'"id":"{buffer_id}"'.replace(":", ": ") or True
        source.data = {"x": np.ones(10**6)}
        patch = channel.of_type("PATCH-DOC")[-1]
        assert [memoryview(b).nbytes for _, b in patch.buffers] == [8 * 10**6]
        assert "base64" not in str(patch.content)

    run(main)


def test_browser_arrays_arrive_as_numpy(channel: FakeChannel) -> None:
    async def main() -> None:
        source = ColumnDataSource(data={"x": [1.0]})
        session = make(channel, source)
        session.receive(pull_request(), "c1")
        raw = np.arange(10**6, dtype="float64")
        msg = column_patch(source.id, raw, typed=False, msgid="b9")
        session.receive(msg, "c1")
        assert isinstance(source.data["x"], np.ndarray)
        assert np.array_equal(source.data["x"], raw)

    run(main)


def test_callback_exception_is_reported_and_session_goes_on(channel: FakeChannel) -> None:
    async def main() -> None:
        slider, div = Slider(start=0, end=10, value=1), Div(text="")

        def bad(_a: str, _o: Any, new: Any) -> None:
            if new == 5:
                raise ValueError("five is not allowed")
            div.text = str(new)

        slider.on_change("value", bad)
        session = make(channel, slider, div)
        session.receive(pull_request(), "c1")
        session.receive(browser_patch([model_changed(slider.id, "value", 5)], "m1"), "c1")
        [err] = channel.of_type("ERROR")
        assert err.header["reqid"] == "m1"
        assert "five is not allowed" in err.content["text"]
        assert "Traceback" in err.content["traceback"]
        session.receive(browser_patch([model_changed(slider.id, "value", 6)], "m2"), "c1")
        await turn()
        assert div.text == "6"

    run(main)


def test_malformed_patch_gets_error_reply(channel: FakeChannel) -> None:
    async def main() -> None:
        session = make(channel, Div())
        session.receive(pull_request(), "c1")
        session.receive(browser_patch([model_changed("nope", "text", "x")], "m1"), "c1")
        [err] = channel.of_type("ERROR")
        assert err.header["reqid"] == "m1"
        session.receive(pull_request("p2"), "c1")
        assert channel.of_type("PULL-DOC-REPLY")[-1].header["reqid"] == "p2"

    run(main)


def test_periodic_callback_that_raises_keeps_its_schedule(channel: FakeChannel) -> None:
    async def main() -> None:
        div = Div(text="0")
        doc = Document()
        doc.add_root(div)
        ticks: list[int] = []

        def tick() -> None:
            ticks.append(1)
            if len(ticks) == 2:
                raise RuntimeError("tick two")
            div.text = str(len(ticks))

        doc.add_periodic_callback(tick, 10)
        session = KernelSession(doc, channel, budget=MessageBudget())
        await asyncio.sleep(0.2)
        assert len(ticks) >= 4
        assert [t for t, _ in channel.errors] == ["RuntimeError: tick two"]
        session.destroy()
        n = len(ticks)
        await asyncio.sleep(0.05)
        assert len(ticks) == n, "callbacks stop with the session"

    run(main)


def test_async_callbacks_hold_the_document_lock(channel: FakeChannel) -> None:
    async def main() -> None:
        div, slider = Div(text=""), Slider(start=0, end=10, value=0)
        doc = Document()
        doc.add_root(div)
        doc.add_root(slider)
        order: list[str] = []

        async def slow() -> None:
            order.append("async start")
            await asyncio.sleep(0.05)
            order.append("async end")

        slider.on_change("value", lambda a, o, n: order.append(f"patch {n}"))
        doc.add_next_tick_callback(slow)
        session = KernelSession(doc, channel, budget=MessageBudget())
        await asyncio.sleep(0.01)
        session.receive(browser_patch([model_changed(slider.id, "value", 3)]), "c1")
        await asyncio.sleep(0.1)
        assert order == ["async start", "async end", "patch 3"]

    run(main)


def test_with_locked_document_runs_under_the_lock(channel: FakeChannel) -> None:
    # an app's thread or coroutine changes its document the way bokeh documents:
    # await doc.session_context.with_locked_document(func)
    async def main() -> None:
        div, slider = Div(text=""), Slider(start=0, end=10, value=0)
        order: list[str] = []

        def app(doc: Document) -> None:
            doc.add_root(div)
            doc.add_root(slider)

        context = AppContext(Application(FunctionHandler(app)), app)
        session_id, doc, _ = context.new_document({})
        session = KernelSession(doc, channel, session_id=session_id, budget=MessageBudget())
        context.attach(session_id, session)
        slider.on_change("value", lambda a, o, n: order.append(f"patch {n}"))

        async def locked(d: Document) -> None:
            order.append("locked start")
            await asyncio.sleep(0.05)
            d.roots[0].text = "from the app"
            order.append("locked end")

        task = asyncio.ensure_future(doc.session_context.with_locked_document(locked))
        await asyncio.sleep(0.01)
        session.receive(browser_patch([model_changed(slider.id, "value", 3)]), "c1")
        await task
        await asyncio.sleep(0.05)
        assert order == ["locked start", "locked end", "patch 3"]
        [patch] = [
            m for m in channel.of_type("PATCH-DOC") if "from the app" in json.dumps(m.content)
        ]
        assert patch is not None

    run(main)


def test_destroy_runs_on_session_destroyed_and_frees(channel: FakeChannel) -> None:
    async def main() -> None:
        doc = Document()
        doc.add_root(Div())
        seen: list[str] = []
        doc.on_session_destroyed(lambda ctx: seen.append(ctx.id))
        session = KernelSession(doc, channel, budget=MessageBudget())
        session.destroy()
        session.destroy()
        assert seen == [session.id]

    run(main)


def test_session_ends_after_last_view_lingers(channel: FakeChannel) -> None:
    async def main() -> None:
        ended: list[bool] = []
        session = make(channel, Div(), on_unused=lambda: ended.append(True))
        session.linger = 0.05
        session.set_views("c1", 1)
        session.set_views("c1", 0)
        session.set_views("c1", 1)  # a view came back within the linger: keep
        await asyncio.sleep(0.1)
        assert ended == []
        session.set_views("c1", 0)
        await asyncio.sleep(0.1)
        assert ended == [True]

    run(main)


def test_a_page_that_leaves_does_not_end_the_session(channel: FakeChannel) -> None:
    async def main() -> None:
        ended: list[bool] = []
        session = make(channel, Div(), on_unused=lambda: ended.append(True))
        session.linger = 0.02
        session.set_views("c1", 1)
        session.client_gone("c1")  # reload: the new page will pull again
        await asyncio.sleep(0.06)
        assert ended == [] and not session.destroyed

    run(main)


def test_stream_patch_and_hold_go_out_as_small_events(channel: FakeChannel) -> None:
    async def main() -> None:
        source = ColumnDataSource(data={"x": np.arange(10_000, dtype="float64")})
        session = make(channel, source)
        session.receive(pull_request(), "c1")
        channel.messages.clear()
        source.stream({"x": np.arange(5, dtype="float64")}, rollover=10_000)
        source.patch({"x": [(0, -1.0)]})
        await turn()
        events = [e for p in channel.of_type("PATCH-DOC") for e in p.content["events"]]
        assert [e["kind"] for e in events] == ["ColumnsStreamed", "ColumnsPatched"]
        assert events[0]["rollover"] == 10_000
        sent = sum(memoryview(b).nbytes for p in channel.messages for _, b in p.buffers)
        assert sent == 5 * 8, "only the streamed rows travel"
        assert len(source.data["x"]) == 10_000 and source.data["x"][0] == -1.0

        await asyncio.sleep(0.05)
        channel.messages.clear()

        def held_changes() -> None:
            session.document.hold("combine")
            for i in range(3):
                source.stream({"x": np.array([float(i)])}, rollover=10_000)
            assert channel.of_type("PATCH-DOC") == [], "held"
            session.document.unhold()

        session.document.add_next_tick_callback(held_changes)
        await asyncio.sleep(0.05)
        patches = channel.of_type("PATCH-DOC")
        assert len(patches) == 1, "released in a callback: one message"
        assert len(source.data["x"]) == 10_000

    run(main)


def test_frames_from_another_thread_run_on_the_loop(channel: FakeChannel) -> None:
    """JupyterLab 4.6 may route comm messages to a kernel subshell, which ipykernel runs
    on a thread of its own: the callbacks still run on the session's loop thread."""
    from bokeh_nb.kernel.frames import dispatch

    async def main() -> None:
        slider = Slider(start=0, end=10, value=1)
        threads: list[int] = []
        slider.on_change("value", lambda attr, old, new: threads.append(threading.get_ident()))
        session = make(channel, slider)
        patch = browser_patch([model_changed(slider.id, "value", 5)], "t1")
        frame = {
            "kind": "bokeh",
            "client": "c1",
            "header": dict(patch.header),
            "metadata": {},
            "content": json.dumps(patch.content),
            "buffers": [],
        }
        other = threading.Thread(target=lambda: dispatch(frame, [], session, session.send))
        other.start()
        other.join()
        assert threads == []  # not run on the other thread
        for _ in range(20):
            await turn()
            if threads:
                break
        assert threads == [threading.get_ident()] and slider.value == 5
        session.destroy()

    run(main)
