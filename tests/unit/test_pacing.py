"""What a standalone session's server tells its kernel of what the peer has taken
(``server/pacing.py``): frames in the socket for a peer that does not count, frames
handled for bokeh_nb's app page, which counts; asked frames at once, the rest riding on
the peer's next PATCH-DOC or a moment later, and nothing a peer's count can inflate."""

from __future__ import annotations

import asyncio

import pytest

from bokeh_nb.protocol import ACK_EVERY, PAGE_HANDLED
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


def test_a_peer_that_does_not_count_takes_what_is_in_its_socket() -> None:
    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)  # the server's own ACK
        for seq in range(1, 2 * ACK_EVERY + 3):
            pacing.wrote(seq, seq == ACK_EVERY + 4, written())
        await asyncio.sleep(0)  # the writes' callbacks run
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


def test_a_flood_of_counts_tells_the_kernel_at_most_once_a_frame() -> None:
    """A visitor may send any count, as often as it likes: the kernel hears of each frame
    at most once, and of none it was not sent."""

    async def main() -> list[int]:
        told: list[int] = []
        pacing = Pacing(told.append)
        pacing.wrote(None, False, None)
        for seq in range(1, 6):
            pacing.wrote(seq, True, None)  # every frame asked about: each told at once
        for count in [*range(10_000), *range(10_000, 0, -1)]:
            pacing.handled(count)
        pacing.close()
        return told

    assert asyncio.run(main()) == [1, 2, 3, 4, 5]
