"""What may wait for a peer (``server/wsframes.Backlog``): ``most`` bytes beyond the
largest message it is still being sent, so a peer that reads one large message slowly is
not taken for one that stopped reading, and one that reads nothing still is."""

from __future__ import annotations

import asyncio

from tornado.iostream import StreamClosedError

from bokeh_nb.server.wsframes import Backlog

MOST = 64 * 2**20


def test_a_small_message_after_a_large_one_being_read_has_room() -> None:
    async def main() -> None:
        backlog = Backlog(MOST)
        assert backlog.limit(100) == MOST + 100
        large = 160 * 2**20
        assert backlog.limit(large) == MOST + large  # one message larger than MOST goes
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        backlog.wrote(large, written)
        # while it is read, a small one may follow it: room for MOST behind it
        assert backlog.limit(100) == MOST + large
        written.set_result(None)
        await asyncio.sleep(0)
        assert backlog.limit(100) == MOST + 100

    asyncio.run(main())


def test_a_peer_that_reads_nothing_gets_most_bytes_behind_the_largest() -> None:
    async def main() -> None:
        backlog = Backlog(MOST)
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(3)]
        for nbytes, written in zip((20 * 2**20, 100 * 2**20, 30 * 2**20), futures, strict=True):
            backlog.wrote(nbytes, written)
        assert backlog.limit(100) == MOST + 100 * 2**20  # not the sum: bounded
        futures[1].set_exception(StreamClosedError())  # closed: tornado ends what waits
        futures[1].exception()
        await asyncio.sleep(0)
        assert backlog.limit(100) == MOST + 30 * 2**20

    asyncio.run(main())


def test_small_messages_and_written_ones_are_not_kept() -> None:
    async def main() -> None:
        backlog = Backlog(MOST)
        loop = asyncio.get_running_loop()
        for _ in range(10_000):  # under a quarter of MOST each: they fit in MOST
            backlog.wrote(4 * 2**20, loop.create_future())
        done: asyncio.Future[None] = loop.create_future()
        done.set_result(None)
        backlog.wrote(200 * 2**20, done)  # already in the socket
        backlog.wrote(200 * 2**20, None)  # nothing written
        assert backlog.limit(100) == MOST + 100

    asyncio.run(main())
