"""The server's requests to a kernel (``server/shellbatch.ShellBatch``): a frame goes at
once while the kernel has fewer than two of them unanswered, and otherwise waits, with the
frames of the kernel's other sessions, to go as one batch after the next status idle;
a kernel that has not said it splits batches gets every frame as itself. The server's
client of a kernel learns the one from the kernel's frames and counts the other from the
kernel's status messages for its own requests."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bokeh_nb.protocol import KIND_BATCH, RELAY_METADATA
from bokeh_nb.server.kernelclient import KernelClient
from bokeh_nb.server.shellbatch import ShellBatch
from bokeh_nb.wire import read_batch

Sent = list[tuple[str, Mapping[str, Any], list[bytes]]]


def shell(splits: bool = True) -> tuple[ShellBatch, Sent]:
    sent: Sent = []

    def send(msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any]) -> None:
        sent.append((msg_type, content, [bytes(b) for b in buffers]))

    batch = ShellBatch(send)
    batch.splits = splits
    return batch, sent


def busy() -> tuple[ShellBatch, Sent]:
    """A batch to a kernel that splits them and has two requests unanswered (frames 0 and
    1 of comm a): what comes next waits."""
    batch, sent = shell()
    batch.frame("a", frame(0), [])
    batch.frame("a", frame(1), [])
    return batch, sent


def frame(n: int) -> dict[str, Any]:
    return {"kind": "bokeh", "n": n}


def frames_in(sent: Sent) -> list[tuple[str, int, list[bytes]]]:
    """(comm id, frame number, buffers) of every frame sent, batches split."""
    out = []
    for msg_type, content, buffers in sent:
        assert msg_type == "comm_msg"
        data = content["data"]
        if data["kind"] == KIND_BATCH:
            out += [(c, f["n"], [bytes(b) for b in bs]) for c, f, bs in read_batch(data, buffers)]
        else:
            out.append((content["comm_id"], data["n"], buffers))
    return out


@pytest.mark.parametrize("splits", [True, False])
def test_each_frame_goes_at_once_and_alone_while_the_kernel_keeps_up_or_if_it_cannot_split(
    splits: bool,
) -> None:
    """A kernel that answers each request before the next, or one that has not said it
    splits batches (then nothing waits for its answers)."""

    async def main() -> None:
        batch, sent = shell(splits)
        for n in range(6):
            batch.frame("abc"[n % 3], frame(n), [])
            if splits:
                batch.idle()  # answered before the next
        assert [c["data"] for _, c, _ in sent] == [frame(n) for n in range(6)]

    asyncio.run(main())


def test_frames_wait_behind_two_unanswered_requests_and_go_as_one_batch() -> None:
    async def main() -> None:
        batch, sent = shell()
        batch.frame("a", frame(0), [])
        batch.frame("b", frame(1), [b"x"])
        assert len(sent) == 2  # two unanswered: what comes next waits
        batch.frame("b", frame(2), [b"y", b"z"])
        batch.frame("c", frame(3), [])
        batch.frame("a", frame(4), [b"w"])
        assert len(sent) == 2
        batch.idle()
        assert len(sent) == 3
        _, content, _ = sent[2]
        assert content["data"]["kind"] == KIND_BATCH and content["comm_id"] == "b"
        assert frames_in(sent) == [
            ("a", 0, []),
            ("b", 1, [b"x"]),
            ("b", 2, [b"y", b"z"]),
            ("c", 3, []),
            ("a", 4, [b"w"]),
        ]
        batch.frame("a", frame(5), [])  # the batch and one more unanswered: this waits
        assert len(sent) == 3
        batch.idle()
        assert frames_in(sent)[-1] == ("a", 5, [])
        assert sent[-1][1]["data"] == frame(5)  # one frame alone goes as itself

    asyncio.run(main())


def test_opens_and_closes_go_after_the_frames_that_wait() -> None:
    async def main() -> None:
        batch, sent = busy()
        batch.frame("a", frame(2), [])  # waits
        batch.request("comm_close", {"comm_id": "a", "data": {}})
        assert [t for t, _, _ in sent] == ["comm_msg"] * 3 + ["comm_close"]
        assert sent[2][1]["data"] == frame(2)
        batch.request("comm_open", {"comm_id": "d", "target_name": "t", "data": {}}, [b"f"])
        assert sent[-1] == ("comm_open", {"comm_id": "d", "target_name": "t", "data": {}}, [b"f"])

    asyncio.run(main())


def test_frames_wait_no_longer_than_the_stall_bound_for_a_status() -> None:
    async def main() -> float:
        batch, sent = busy()
        batch.STALL = 0.1
        loop = asyncio.get_running_loop()
        start = loop.time()
        batch.frame("a", frame(2), [])  # no idle will come
        while len(sent) < 3:
            await asyncio.sleep(0.01)
        waited = loop.time() - start
        batch.frame("a", frame(3), [])  # what was unanswered is taken for answered
        assert [n for _, n, _ in frames_in(sent)] == [0, 1, 2, 3]
        batch.frame("a", frame(4), [])  # two unanswered again: waits
        batch.stop()  # the kernel's channels closed: it never goes
        await asyncio.sleep(0.2)
        assert [n for _, n, _ in frames_in(sent)] == [0, 1, 2, 3]
        return waited

    assert 0.1 <= asyncio.run(main()) < 5


def test_a_batch_stops_at_its_byte_bound() -> None:
    async def main() -> None:
        batch, sent = busy()
        batch.max_bytes = 10
        for n, size in enumerate([4, 4, 4, 20, 1], start=2):
            batch.frame("a", frame(n), [bytes(size)])
        batch.idle()
        counts = [
            len(c["data"]["frames"]) if c["data"]["kind"] == KIND_BATCH else 1
            for _, c, _ in sent[2:]
        ]
        assert counts == [2, 1, 1, 1]  # 4+4; 4 (+20 would pass 10); 20 alone; then 1
        assert [n for _, n, _ in frames_in(sent)] == list(range(7))

    asyncio.run(main())


class ScriptedKernel:
    """A transport whose iopub the test writes."""

    session_id = "bokeh_nb.relay-1"

    def __init__(self) -> None:
        self.sent: list[tuple[str, Mapping[str, Any]]] = []
        self.iopub: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def connect(self) -> None:
        pass

    def send(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        self.sent.append((msg_type, content))

    async def next_iopub(self) -> dict[str, Any]:
        return await self.iopub.get()

    def stop(self) -> None:
        pass

    def idle(self, session: str) -> None:
        parent = {"session": session, "msg_id": "m"}
        status = {"execution_state": "idle"}
        self.iopub.put_nowait({"msg_type": "status", "parent_header": parent, "content": status})


def test_the_client_batches_once_the_kernel_says_it_splits_and_counts_only_its_own_idles() -> None:
    async def main() -> None:
        kernel = ScriptedKernel()
        client = KernelClient(kernel, "k")
        got: list[Mapping[str, Any]] = []
        comm = client.open("app", {}, lambda f, b: got.append(f), lambda why: None)
        for n in range(4):  # the kernel has not said it splits: each goes at once, alone
            client.send(comm, frame(n), [])  # type: ignore[arg-type]
        assert [t for t, _ in kernel.sent] == ["comm_open"] + ["comm_msg"] * 4
        data = {"kind": "bokeh", "n": 0}
        kernel.iopub.put_nowait(
            {
                "msg_type": "comm_msg",
                "content": {"comm_id": comm, "data": data},
                "metadata": dict(RELAY_METADATA),
                "buffers": [],
            }
        )
        for _ in range(5):  # the open and the four frames are answered
            kernel.idle(kernel.session_id)
        await asyncio.sleep(0.05)
        assert got == [data]
        for n in range(10, 14):  # two go, two wait
            client.send(comm, frame(n), [])  # type: ignore[arg-type]
        assert len(kernel.sent) == 7
        kernel.idle("a notebook page's session")  # not one of this client's requests
        await asyncio.sleep(0.05)
        assert len(kernel.sent) == 7
        kernel.idle(kernel.session_id)
        await asyncio.sleep(0.05)
        assert len(kernel.sent) == 8
        batch = kernel.sent[-1][1]["data"]
        assert batch["kind"] == KIND_BATCH
        assert [f["data"]["n"] for f in batch["frames"]] == [12, 13]
        client.stop()

    asyncio.run(main())
