"""Frames of standalone sessions, several to one comm message.

Both halves batch the frames they have for a kernel's standalone sessions: the kernel what
its sessions send toward the server (``kernel/relay.py``, per loop turn), the server what
its visitors send toward a kernel that is busy (``server/shellbatch.py``). Both cut what
waits into batches the same way and pack each the same way, and each half splits what the
other sent the same way, here; the frame itself is ``wire.batch_frame`` /
``wire.read_batch``.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any, Protocol, TypeVar

from .wire import FrameError, batch_frame, read_batch

__all__ = ("Packed", "Sized", "pack", "split", "take")

log = logging.getLogger(__name__)

#: a frame for one comm: (comm id, frame, buffers)
Packed = tuple[str, Mapping[str, Any], Sequence[Any]]


class Sized(Protocol):
    """A frame waiting to go, as a batcher keeps it: its buffers' bytes are ``nbytes``."""

    @property
    def nbytes(self) -> int: ...


F = TypeVar("F", bound=Sized)


def take(frames: Sequence[F], max_bytes: int) -> tuple[list[F], list[F]]:
    """The next batch and what is left: frames in order, as many as fit in
    ``max_bytes``, and at least one (a larger frame goes as itself)."""
    count = max(1, bisect_right(list(accumulate(f.nbytes for f in frames)), max_bytes))
    return list(frames[:count]), list(frames[count:])


def pack(frames: Sequence[Packed]) -> Packed:
    """Frames as one message, sent on the first one's comm: a frame alone as itself,
    several as a batch (comm id, frame and buffer count each), their buffers one frame's
    after another's."""
    if len(frames) == 1:
        return frames[0]
    data = batch_frame([(comm_id, data, len(buffers)) for comm_id, data, buffers in frames])
    return frames[0][0], data, [b for _, _, buffers in frames for b in buffers]


def split(
    batch: Mapping[str, Any],
    buffers: Sequence[bytes | memoryview],
    deliver: Callable[[str, Mapping[str, Any], Sequence[bytes | memoryview]], None],
    sender: str,
) -> None:
    """Each frame of a batch to ``deliver`` (comm id, frame, buffers), in order; a
    malformed batch is logged, naming its ``sender``, and dropped whole."""
    try:
        frames = read_batch(batch, buffers)
    except FrameError as e:
        log.warning("bokeh_nb: %s sent a malformed batch: %s", sender, e)
        return
    for comm_id, frame, its_buffers in frames:
        deliver(comm_id, frame, its_buffers)
