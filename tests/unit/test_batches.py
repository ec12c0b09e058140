"""Several standalone sessions' frames as one comm message (``bokeh_nb.batches``), the part
the kernel's and the server's batchers share: where a batch ends, how it is packed, and
how the other half splits it."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from bokeh_nb import batches
from bokeh_nb.protocol import KIND_BATCH


@dataclass(frozen=True)
class _Frame:
    n: int
    nbytes: int


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        ([10, 20, 30], 3),  # all fit
        ([40, 40, 40], 2),  # up to the bound, not past it
        ([50, 50, 1], 2),  # exactly the bound
        ([500, 1], 1),  # a frame larger than the bound goes as itself
        ([0, 0, 0, 200], 3),  # frames without buffers cost nothing
    ],
)
def test_a_batch_ends_at_the_byte_bound_with_at_least_one_frame(
    sizes: list[int], expected: int
) -> None:
    frames = [_Frame(i, n) for i, n in enumerate(sizes)]
    batch, rest = batches.take(frames, 100)
    assert len(batch) == expected
    assert batch + rest == frames  # in order, nothing lost or repeated


def test_a_frame_alone_goes_as_itself_several_as_one_batch_that_splits_back() -> None:
    alone = ("c1", {"kind": "bokeh", "n": 0}, [b"x"])
    assert batches.pack([alone]) is alone

    frames = [
        ("c1", {"n": 0}, [b"a", b"b"]),
        ("c2", {"n": 1}, []),
        ("c1", {"n": 2}, [b"c"]),
    ]
    comm_id, data, buffers = batches.pack(frames)
    assert comm_id == "c1"  # sent on the first frame's comm
    assert data["kind"] == KIND_BATCH
    assert buffers == [b"a", b"b", b"c"]

    got: list[tuple[str, Mapping[str, Any], list[bytes]]] = []

    def deliver(cid: str, frame: Mapping[str, Any], bufs: Sequence[Any]) -> None:
        got.append((cid, frame, list(bufs)))

    batches.split(data, buffers, deliver, "the test")
    assert got == [(c, d, list(b)) for c, d, b in frames]


def test_a_malformed_batch_is_logged_with_its_sender_and_dropped_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, data, _ = batches.pack([("c1", {"n": 0}, [b"a"]), ("c2", {"n": 1}, [b"b"])])
    got: list[str] = []
    with caplog.at_level(logging.WARNING, logger="bokeh_nb.batches"):
        # one buffer short: no frame is delivered, not even the first one that is whole
        batches.split(data, [b"a"], lambda cid, frame, bufs: got.append(cid), "kernel k1")
    assert got == []
    assert "kernel k1 sent a malformed batch" in caplog.text
