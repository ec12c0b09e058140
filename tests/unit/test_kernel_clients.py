"""The server's clients of notebook kernels (``server/kernelclient.KernelClients``): one per
kernel that serves app pages, stopped and forgotten, its sessions closed with a reason,
when that kernel shuts down or restarts, and all of them when the server stops."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from bokeh_nb.server.kernelclient import (
    KERNEL_ACTIONS,
    KernelClient,
    KernelClients,
    KernelUnavailable,
)


class FakeTransport:
    """A kernel that answers nothing: what the client sends, and whether it was stopped."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Mapping[str, Any]]] = []
        self.stopped = False
        self._never = asyncio.Event()

    async def connect(self) -> None:
        pass

    def send(self, msg_type: str, content: Mapping[str, Any], buffers: Sequence[Any] = ()) -> None:
        self.sent.append((msg_type, content))

    async def next_iopub(self) -> dict[str, Any]:
        await self._never.wait()
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.stopped = True


def registry(running: set[str]) -> tuple[KernelClients, dict[str, list[FakeTransport]]]:
    made: dict[str, list[FakeTransport]] = {}

    def transport(kernel_id: str) -> FakeTransport:
        made.setdefault(kernel_id, []).append(FakeTransport())
        return made[kernel_id][-1]

    return KernelClients(lambda kernel_id: kernel_id in running, transport), made


def event(kernel_id: str, action: str, status: str = "success") -> dict[str, Any]:
    return {"kernel_id": kernel_id, "action": action, "status": status, "kernel_name": "py"}


def open_session(client: KernelClient, closed: list[str]) -> str:
    return client.open("app", {}, lambda frame, buffers: None, closed.append)


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        ("shutdown", "the notebook kernel shut down"),
        ("restart", "the notebook kernel restarted"),
    ],
)
def test_a_client_is_stopped_and_forgotten_with_its_kernel(action: str, reason: str) -> None:
    async def main() -> None:
        clients, made = registry({"k1", "k2"})
        first = clients.get("k1")
        assert clients.get("k1") is first  # one client per kernel
        other = clients.get("k2")
        closed: list[str] = []
        open_session(first, closed)
        await asyncio.sleep(0)
        assert first.running

        await clients.on_kernel_action(None, KERNEL_ACTIONS, event("k1", action))
        await asyncio.sleep(0)
        assert closed == [reason]  # its sessions' pages are told why
        assert "k1" not in clients
        assert made["k1"][0].stopped and not first.running
        assert "k2" in clients and other.running  # another kernel's client stays

        again = clients.get("k1")  # a page opened afterwards gets a new client
        assert again is not first and len(made["k1"]) == 2
        clients.stop_all()

    asyncio.run(main())


def test_other_kernel_actions_leave_the_client() -> None:
    async def main() -> None:
        clients, made = registry({"k1"})
        client = clients.get("k1")
        await clients.on_kernel_action(None, KERNEL_ACTIONS, event("k1", "interrupt"))
        await clients.on_kernel_action(None, KERNEL_ACTIONS, event("k1", "shutdown", "error"))
        await clients.on_kernel_action(None, KERNEL_ACTIONS, event("k9", "shutdown"))
        await clients.on_kernel_action(None, KERNEL_ACTIONS, {})
        assert "k1" in clients and client.running and not made["k1"][0].stopped
        clients.stop_all()

    asyncio.run(main())


def test_the_server_stopping_stops_every_client() -> None:
    async def main() -> None:
        clients, made = registry({"k1", "k2"})
        closed: list[str] = []
        open_session(clients.get("k1"), closed)
        clients.get("k2")
        clients.stop_all()
        await asyncio.sleep(0)
        assert "k1" not in clients and "k2" not in clients
        assert all(t.stopped for ts in made.values() for t in ts)
        assert closed == ["the kernel went away"]

    asyncio.run(main())


def test_no_client_for_a_kernel_the_server_does_not_run() -> None:
    async def main() -> None:
        clients, made = registry(set())
        with pytest.raises(KernelUnavailable, match="no running kernel k1"):
            clients.get("k1")
        assert made == {}

    asyncio.run(main())
