"""Standalone sessions' frames, several to one iopub message (``kernel/relay.py``), and the
server's client splitting them again (``server/kernelclient.py``): every frame reaches its
session, in order, with its own buffers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bokeh_nb import wire
from bokeh_nb.kernel.flow import MessageBudget
from bokeh_nb.kernel.relay import RelayBatch
from bokeh_nb.protocol import KIND_BATCH, RELAY_METADATA
from bokeh_nb.server.kernelclient import KernelClient

Sent = tuple[str, dict[str, Any], list[bytes]]


class FakeComm:
    """A comm that records what it would publish on iopub, as the server would read it."""

    def __init__(self, comm_id: str, out: list[Sent]) -> None:
        self.comm_id = comm_id
        self._out = out

    def send(
        self,
        data: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        buffers: Sequence[bytes | memoryview] | None = None,
    ) -> None:
        assert metadata == RELAY_METADATA
        payload = json.loads(json.dumps(data))  # what crosses iopub is JSON
        self._out.append((self.comm_id, payload, [bytes(b) for b in buffers or []]))


def frame(n: int, content: str = "{}") -> dict[str, Any]:
    return wire.bokeh_frame({"msgid": str(n), "msgtype": "PATCH-DOC"}, {}, content, [])


def unbatched(out: list[Sent]) -> list[tuple[str, str, list[bytes]]]:
    """Every frame published, batched or not, as (comm id, msgid, buffers), in order."""
    frames = []
    for comm_id, data, buffers in out:
        if data["kind"] == KIND_BATCH:
            for inner_id, inner, its in wire.read_batch(data, buffers):
                frames.append((inner_id, inner["header"]["msgid"], list(its)))
        else:
            frames.append((comm_id, data["header"]["msgid"], buffers))
    return frames


def run(main: Any) -> Any:
    return asyncio.run(main())


def unhurried(budget: MessageBudget) -> RelayBatch:
    """A relay whose frames wait for the end of their turn however long it takes (the
    tests of batching do not depend on how fast this machine runs them)."""
    relay = RelayBatch(budget)
    relay.max_wait = 3600.0
    return relay


def test_a_long_turn_sends_what_it_made_while_it_runs() -> None:
    """The periodic callbacks of many sessions due at once make a long turn: a frame
    waits at most ``max_wait`` for its end, so the first sessions' rows do not wait for
    the last sessions' callbacks."""

    async def main() -> list[Sent]:
        out: list[Sent] = []
        relay = RelayBatch(MessageBudget())
        a = FakeComm("a", out)
        relay.send(a, frame(0))  # after a quiet spell: at once
        relay.send(a, frame(1))
        relay.send(a, frame(2))
        assert len(out) == 1  # the turn goes on
        time.sleep(relay.max_wait + 0.002)  # one long turn: no await
        relay.send(a, frame(3))
        assert len(out) == 2  # 1, 2 and 3 went before the turn ended
        relay.send(a, frame(4))
        assert len(out) == 2
        await asyncio.sleep(0.01)
        return out

    out = run(main)
    assert [m for _, m, _ in unbatched(out)] == ["0", "1", "2", "3", "4"]
    assert [len(d["frames"]) if d["kind"] == KIND_BATCH else 1 for _, d, _ in out] == [1, 3, 1]


def test_a_frame_after_a_quiet_spell_goes_at_once_as_itself() -> None:
    async def main() -> list[Sent]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget())
        relay.send(FakeComm("a", out), frame(1), [b"xy"])
        assert len(out) == 1  # not waiting for the loop: cell code may hold it
        return out

    out = run(main)
    assert out == [("a", out[0][1], [b"xy"])]
    assert out[0][1]["kind"] == "bokeh"


def test_the_frames_of_one_turn_go_as_one_message_and_split_in_order() -> None:
    async def main() -> list[Sent]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget())
        a, b = FakeComm("a", out), FakeComm("b", out)
        relay.send(a, frame(0))  # after a quiet spell: at once
        relay.send(a, frame(1), [b"a1", b"a1b"])
        relay.send(b, frame(2))
        relay.send(a, frame(3), [b"a3"])
        assert len(out) == 1
        await asyncio.sleep(0.01)
        return out

    out = run(main)
    assert len(out) == 2 and out[1][1]["kind"] == KIND_BATCH
    assert unbatched(out) == [
        ("a", "0", []),
        ("a", "1", [b"a1", b"a1b"]),
        ("b", "2", []),
        ("a", "3", [b"a3"]),
    ]


def test_what_a_pages_message_caused_goes_when_it_is_answered() -> None:
    """Not on the loop's next turn, which comes after ipykernel's end of the request; from
    another thread ``answered`` sends nothing (the loop's turn does)."""

    async def main() -> tuple[int, int, int, list[Sent]]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget())
        a, b = FakeComm("a", out), FakeComm("b", out)
        relay.send(a, frame(0))  # after a quiet spell: at once
        relay.send(a, frame(1))
        relay.send(b, frame(2))
        waiting = len(out)
        elsewhere = threading.Thread(target=relay.answered)
        elsewhere.start()
        elsewhere.join()
        after_thread = len(out)
        relay.answered()
        answered = len(out)
        await asyncio.sleep(0.01)  # the turn that was scheduled finds nothing left
        return waiting, after_thread, answered, out

    waiting, after_thread, answered, out = run(main)
    assert (waiting, after_thread, answered, len(out)) == (1, 1, 2, 2)
    assert out[1][1]["kind"] == KIND_BATCH  # the two frames of that message, together
    assert unbatched(out) == [("a", "0", []), ("a", "1", []), ("b", "2", [])]


def test_without_budget_frames_wait_in_order_and_go_together() -> None:
    async def main() -> tuple[list[Sent], float]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget(rate=50.0, burst=1.0))  # one message per 20 ms
        comm = FakeComm("a", out)
        start = time.monotonic()
        for n in range(10):
            relay.send(comm, frame(n))
            await asyncio.sleep(0.002)
        spread = time.monotonic() - start
        await asyncio.sleep(0.1)
        return out, spread

    out, spread = run(main)
    assert [msgid for _, msgid, _ in unbatched(out)] == [str(n) for n in range(10)]
    # ten frames in about one token's time (20 ms; longer on a busy machine, whose sleeps
    # last longer): one message per token at most, the first one at once
    assert len(out) <= 2 + spread / 0.02


def test_a_batch_stops_at_its_byte_bound_and_a_large_frame_goes_alone() -> None:
    async def main() -> list[Sent]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget())
        relay.max_bytes = 100
        comm = FakeComm("a", out)
        relay.send(comm, frame(0))
        for n, size in enumerate([40, 40, 40, 500, 10], start=1):
            relay.send(comm, frame(n), [b"x" * size])
        await asyncio.sleep(0.01)
        return out

    out = run(main)
    sizes = [[len(b) for b in buffers] for _, _, buffers in out]
    assert sizes == [[], [40, 40], [40], [500], [10]]
    assert [msgid for _, msgid, _ in unbatched(out)] == [str(n) for n in range(6)]


def test_a_frame_from_another_thread_goes_out_on_the_loop_in_order() -> None:
    async def main() -> list[Sent]:
        out: list[Sent] = []
        relay = unhurried(MessageBudget())
        comm = FakeComm("a", out)
        relay.send(comm, frame(0))
        sender = threading.Thread(target=relay.send, args=(comm, frame(1)))
        sender.start()
        sender.join()
        assert len(out) == 1  # not sent from that thread
        await asyncio.sleep(0.05)
        return out

    assert [msgid for _, msgid, _ in unbatched(run(main))] == ["0", "1"]


@pytest.mark.parametrize(
    ("batch", "buffers", "error"),
    [
        ({"kind": "batch"}, [], "must list its frames"),
        ({"frames": [{"comm_id": "a", "data": {}}]}, [], "needs a comm id"),
        ({"frames": [{"comm_id": 1, "data": {}, "buffers": 0}]}, [], "needs a comm id"),
        ({"frames": [{"comm_id": "a", "data": {}, "buffers": -1}]}, [], "needs a comm id"),
        ({"frames": [{"comm_id": "a", "data": {}, "buffers": 1}]}, [b"1", b"2"], "1 buffers of"),
        ({"frames": [{"comm_id": "a", "data": {}, "buffers": 2}]}, [b"1"], "2 buffers of its 1"),
    ],
)
def test_a_malformed_batch_is_refused(
    batch: dict[str, Any], buffers: list[bytes], error: str
) -> None:
    with pytest.raises(wire.FrameError, match=error):
        wire.read_batch(batch, buffers)


class IopubTransport:
    """A kernel whose iopub carries the given messages, then nothing."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self._messages = asyncio.Queue[dict[str, Any]]()
        for msg in messages:
            self._messages.put_nowait(msg)

    async def connect(self) -> None:
        pass

    def send(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        pass

    async def next_iopub(self) -> dict[str, Any]:
        return await self._messages.get()

    def stop(self) -> None:
        pass


def test_the_server_hands_each_frame_of_a_batch_to_its_session() -> None:
    got: dict[str, list[tuple[str, list[bytes]]]] = {"a": [], "b": []}

    def on_frame(name: str) -> Any:
        def deliver(data: Mapping[str, Any], buffers: Sequence[Any]) -> None:
            if name == "b" and data["header"]["msgid"] == "boom":
                raise RuntimeError("one connection's trouble")
            got[name].append((data["header"]["msgid"], [bytes(b) for b in buffers]))

        return deliver

    async def main() -> None:
        transport = IopubTransport([])
        client = KernelClient(transport, "k")
        a = client.open("app", {}, on_frame("a"), lambda reason: None)
        b = client.open("app", {}, on_frame("b"), lambda reason: None)
        batch = wire.batch_frame(
            [
                (a, frame(1), 1),
                ("gone", frame(2), 1),  # a session this server no longer has
                (b, {**frame(0), "header": {"msgid": "boom", "msgtype": "OK"}}, 0),
                (b, frame(3), 2),
                (a, frame(4), 0),
            ]
        )
        buffers = [b"a1", b"gone", b"b3", b"b3b"]
        content = {"comm_id": a, "data": batch}
        malformed = {"comm_id": a, "data": {"kind": "batch", "frames": "no"}}
        for data in (content, malformed):
            msg = {"msg_type": "comm_msg", "content": data, "buffers": buffers}
            transport._messages.put_nowait(msg)
        await asyncio.sleep(0.05)
        assert client.running
        client.stop()

    run(main)
    assert got == {"a": [("1", [b"a1"]), ("4", [])], "b": [("3", [b"b3", b"b3b"])]}
