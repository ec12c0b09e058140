"""What a standalone session's server tells its kernel of what the peer has taken
(``server/pacing.py``): frames in the socket for a peer that does not count, frames
handled for bokeh_nb's app page, which counts; asked frames at once (or at the end of the
gap after the last acknowledgement), the rest riding on the peer's next PATCH-DOC or a
moment later, and nothing a peer's count can inflate."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bokeh_nb.protocol import ACK_EVERY, ACK_GAP_MS, PAGE_HANDLED
from bokeh_nb.server.pacing import Pacing, page_handled


@pytest.mark.parametrize(
    ("text", "count"),
    [
        (f"{PAGE_HANDLED}17", 17),
        (f"{PAGE_HANDLED}{'9' * 12}", 10**12 - 1),
        (PAGE_HANDLED, None),
        (f"{PAGE_HANDLED}-1", None),
        (f"{PAGE_HANDLED}1e3", None),
        (f"{PAGE_HANDLED}{'9' * 13}", None),
        (f"{PAGE_HANDLED}\u0663", None),  # a digit, but not an ASCII one
        ('{"msgid": "1", "msgtype": "PATCH-DOC"}', None),
    ],
)
def test_a_pages_count_is_read_strictly(text: str, count: int | None) -> None:
    assert page_handled(text) == count


def written() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


GAP = ACK_GAP_MS / 1000


def test_a_peer_that_does_not_count_takes_what_is_in_its_socket() -> None:
    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)  # the server's own ACK
        for seq in range(1, 2 * ACK_EVERY + 3):
            pacing.wrote(seq, seq == ACK_EVERY + 4, written())
            await asyncio.sleep(0)  # the write's callback runs
            if seq in (1, ACK_EVERY + 1):
                await asyncio.sleep(GAP)  # the gap after an acknowledgement ends
        assert pacing.ride_along() == 2 * ACK_EVERY + 2  # the rest rides on a PATCH-DOC
        assert pacing.ride_along() is None
        return told

    told = asyncio.run(main())
    # the first at once, every ACK_EVERY, and the asked frame at once
    assert told == [1, 1 + ACK_EVERY, ACK_EVERY + 4]


def test_a_page_that_counts_is_paced_by_what_it_handled() -> None:
    async def main() -> None:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)  # message 1: the server's ACK
        pacing.handled(1)
        assert pacing.page_counts and told == []  # no frame of the kernel's yet
        assert pacing.asks(True) and not pacing.asks(False)
        for seq in range(1, 11):  # messages 2..11
            pacing.wrote(seq, seq == 8, written())
        await asyncio.sleep(0)
        assert told == [], "in its socket is not handled, for a page that counts"
        pacing.handled(3)  # frames 1 and 2: the first is told at once
        assert told == [2]
        pacing.handled(5)  # frames 3 and 4, nobody asked: later, or on a PATCH-DOC
        assert told == [2]
        assert pacing.ride_along() == 4
        await asyncio.sleep(GAP)
        pacing.handled(9)  # frames 5..8, the kernel asked about 8: at once
        assert told == [2, 8]
        pacing.handled(10)
        await asyncio.sleep(Pacing.LATER * 3)
        assert told == [2, 8, 9], "told a moment later when no PATCH-DOC carries it"
        pacing.handled(10**12 - 1)  # more than it was sent: what it was sent
        pacing.handled(5)  # less than before: nothing
        assert pacing.ride_along() == 10
        assert pacing.ride_along() is None
        pacing.close()

    asyncio.run(main())


def test_a_failed_write_is_not_taken() -> None:
    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_exception(ConnectionError("gone"))
        pacing.wrote(1, True, future)
        await asyncio.sleep(0)
        return told

    assert asyncio.run(main()) == []


def test_a_flood_of_counts_tells_the_kernel_at_most_once_a_gap() -> None:
    """A visitor may send any count, as often as it likes: the kernel hears of the first
    frame at once, then of the last one at the end of the gap, and of none it was not
    sent."""

    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)
        for seq in range(1, 6):
            pacing.wrote(seq, True, None)  # every frame asked about
        for count in [*range(10_000), *range(10_000, 0, -1)]:
            pacing.handled(count)
        await asyncio.sleep(3 * GAP)
        pacing.close()
        return told

    assert asyncio.run(main()) == [1, 5]


def test_acknowledgements_due_within_the_gap_wait_for_its_end_and_name_the_last_frame() -> None:
    """A lagging page is asked about every frame: the kernel hears at most once per
    ``ACK_GAP_MS`` (each acknowledgement is a request its shell handles in turn), of the
    last frame the page had handled by then, and of the last frame in the end."""

    async def main() -> tuple[list[int], list[float]]:
        loop = asyncio.get_running_loop()
        told: list[tuple[int, float]] = []
        pacing = Pacing(lambda seq: told.append((seq, loop.time())))
        pacing.wrote(None, False, None)
        pacing.handled(1)  # the page counts
        for seq in range(1, 41):
            pacing.wrote(seq, True, None)
        for count in range(2, 42):  # one frame handled about every 2 ms
            pacing.handled(count)
            await asyncio.sleep(0.002)
        await asyncio.sleep(3 * GAP)
        pacing.close()
        return [seq for seq, _ in told], [at for _, at in told]

    seqs, times = asyncio.run(main())
    assert seqs[0] == 1 and seqs[-1] == 40 and seqs == sorted(set(seqs))
    assert 3 <= len(seqs) < 40  # some on the way, and far from one a frame
    assert all(later - earlier >= GAP - 0.001 for earlier, later in itertools.pairwise(times))


def test_a_page_far_behind_is_still_told_about_as_it_catches_up() -> None:
    """A page the kernel let run far ahead (one it took for stalled) is more than
    ``Pacing.KEPT`` frames behind: each count it sends still tells the kernel of a frame
    it has handled (the newest kept one at or before its count: a little late, never
    ahead), and its last count of the last frame. Kept one by one, the oldest frames went
    and no count found one, so the kernel heard nothing until the stream ended."""

    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)  # message 1: the server's ACK
        pacing.handled(1)
        frames = 20 * Pacing.KEPT
        for seq in range(1, frames + 1):  # message seq + 1 carries frame seq
            pacing.wrote(seq, False, None)
        assert len(pacing._unhandled) <= Pacing.KEPT + 1, "what is kept stays bounded"
        for count in range(1 + Pacing.KEPT, frames + 2, Pacing.KEPT):
            pacing.handled(count)
            await asyncio.sleep(Pacing.LATER * 2)  # nobody asked: told a moment later
            assert told and told[-1] <= count - 1, (count, told)
        pacing.close()
        return told

    told = asyncio.run(main())
    assert len(told) >= 19 and told == sorted(set(told)), told
    assert told[-1] == 20 * Pacing.KEPT
