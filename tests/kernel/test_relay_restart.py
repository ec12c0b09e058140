"""The server's client of a kernel made while that kernel (re)starts: what the new kernel
publishes first, the refusal of a session its app is not in yet, reaches the server, so a
visitor's page is told at once instead of waiting for ever (``ZmqTransport.connect``)."""

from __future__ import annotations

import asyncio
import sys
import time

from jupyter_client.manager import AsyncKernelManager

from bokeh_nb.server.kernelclient import KernelClient
from bokeh_nb.server.zmqtransport import ZmqTransport, client_session

RESTARTS = 5


def test_a_session_opened_while_the_kernel_restarts_is_refused_not_lost() -> None:
    async def main() -> list[tuple[str, float]]:
        km = AsyncKernelManager(kernel_name="python3")
        km.kernel_spec.argv[0] = sys.executable  # this environment's Python, as each test's
        await km.start_kernel()
        answers: list[tuple[str, float]] = []
        try:
            for _ in range(RESTARTS):
                await km.restart_kernel(now=True)  # returns before the new kernel is ready
                client = KernelClient(
                    ZmqTransport(km.client(session=client_session(km.session))), "k"
                )
                closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
                start = time.monotonic()
                client.open("app", {}, lambda f, b: None, closed.set_result)
                try:
                    why = await asyncio.wait_for(closed, 30)
                except TimeoutError:
                    why = "no answer"
                answers.append((why, time.monotonic() - start))
                client.stop()
        finally:
            await km.shutdown_kernel(now=True)
        return answers

    answers = asyncio.run(main())
    # a fresh kernel has no bokeh_nb: it closes the comm of the session it cannot serve
    assert [why for why, _ in answers] == ["the session ended in the kernel"] * RESTARTS, answers
