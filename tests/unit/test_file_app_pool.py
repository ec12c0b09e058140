"""The bounds on app-file kernels hold kernels, not sessions: a session's kernel counts
until it has stopped, so closing and opening sessions in a loop runs no more kernels than
the bounds allow."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from bokeh_nb.server.pool import FileAppPool, PooledKernel


class SlowKernel:
    """A kernel manager whose shutdown ends when ``stopped`` is set."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()
        self.asked = False

    async def shutdown_kernel(self, now: bool = False) -> None:
        self.asked = True
        await self.stopped.wait()


class Client:
    def stop(self) -> None:
        pass


def _pool(max_per_user: int, max_total: int, kernels: int) -> tuple[FileAppPool, list[SlowKernel]]:
    pool = FileAppPool(
        cast(Any, None), "python3", ".", size=0, max_per_user=max_per_user, max_total=max_total
    )
    managers = [SlowKernel() for _ in range(kernels)]
    pool._warm = [PooledKernel(cast(Any, m), cast(Any, Client())) for m in managers]
    return pool, managers


def test_a_closed_sessions_kernel_counts_until_it_has_stopped() -> None:
    async def main() -> None:
        pool, (first, _second) = _pool(max_per_user=1, max_total=1, kernels=2)
        kernel = await pool.take("alice")
        assert pool.refusal("bob") is not None
        pool.release(kernel)
        await asyncio.sleep(0)
        assert first.asked  # shutting down
        refused = pool.refusal("bob")
        assert refused is not None and refused[0] == 503, refused  # it still runs
        refused = pool.refusal("alice")
        assert refused is not None, refused
        first.stopped.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert pool.refusal("bob") is None
        assert pool.refusal("alice") is None
        assert pool.active == {}

    asyncio.run(main())


def test_the_per_user_bound_counts_a_closing_kernel_and_says_so() -> None:
    async def main() -> None:
        pool, (first, _second) = _pool(max_per_user=1, max_total=10, kernels=2)
        pool.release(await pool.take("alice"))
        refused = pool.refusal("alice")
        assert refused is not None and refused[0] == 429
        assert "until its kernel has stopped" in refused[1]
        assert pool.refusal("bob") is None  # another user is not held up
        first.stopped.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert pool.refusal("alice") is None

    asyncio.run(main())


def test_a_release_given_twice_counts_once() -> None:
    async def main() -> None:
        pool, (first, second) = _pool(max_per_user=2, max_total=2, kernels=2)
        one, two = await pool.take("alice"), await pool.take("alice")
        pool.release(one)
        pool.release(one)
        first.stopped.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert pool.active == {"alice": 1}  # the other session's kernel still counts
        pool.release(two)
        second.stopped.set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert pool.active == {}

    asyncio.run(main())
