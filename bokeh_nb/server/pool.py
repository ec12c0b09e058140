"""The kernels of app-file sessions (``files.py``): a few kept warm, one per session, shut
down when the session ends and when the server stops; at most
``BokehNb.file_app_max_per_user`` sessions of one user and ``BokehNb.file_app_max_total``
of all users at once.

They are not the notebook's: they run nothing but the app (``kernel/fileapp.py`` refuses
every ``execute_request``), and they do not appear among the server's kernels. With a
kernel gateway (``--gateway-url``) they start on the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

from ..protocol import FILE_APP_START
from .gateway import GatewayKernel, GatewayTransport
from .kernelclient import KernelClient, KernelUnavailable, detached
from .zmqtransport import ZmqTransport

#: a child of the Jupyter server's own logger, so these lines go where its lines go
log = logging.getLogger("ServerApp").getChild("bokeh_nb")

__all__ = ("FileAppPool", "PooledKernel", "shutdown_pooled")


@dataclass
class PooledKernel:
    manager: AsyncKernelManager | GatewayKernel
    client: KernelClient
    user: str = ""


class FileAppPool:
    """Kernels for file-app sessions: ``size`` kept warm, one per session, shut down after;
    at most ``max_per_user`` sessions of one user and ``max_total`` of all users at once."""

    def __init__(
        self,
        kernel_spec_manager: KernelSpecManager,
        kernel_name: str,
        cwd: str,
        size: int,
        max_per_user: int,
        max_total: int = 10,
        remote: bool = False,
    ) -> None:
        #: kernels on the kernel gateway (then sessions carry their app: ``files.app_files``)
        self.remote = remote
        self._ksm = kernel_spec_manager
        self._kernel_name = kernel_name
        self._cwd = cwd
        self.size = size
        self.max_per_user = max_per_user
        self.max_total = max_total
        self._warm: list[PooledKernel] = []
        self._taken: dict[int, PooledKernel] = {}  # by id(): the kernels of sessions now
        self._filling: asyncio.Task[None] | None = None
        self.active: dict[str, int] = {}

    def refusal(self, user: str) -> tuple[int, str] | None:
        """None if ``user`` may start one more session now, else (status, why not)."""
        if sum(self.active.values()) >= self.max_total:
            return 503, (
                f"at most {self.max_total} app file sessions run at once on this server, "
                "all users together; try again when one has ended (one just closed "
                "counts until its kernel has stopped, a few seconds)"
            )
        if self.active.get(user, 0) >= self.max_per_user:
            return 429, (
                f"at most {self.max_per_user} app file sessions at once; close one first "
                "(one just closed counts until its kernel has stopped, a few seconds)"
            )
        return None

    async def _start(self) -> PooledKernel:
        if self.remote:
            return await self._start_on_gateway()
        manager = AsyncKernelManager(kernel_name=self._kernel_name, kernel_spec_manager=self._ksm)
        await manager.start_kernel(
            extra_arguments=[f"--IPKernelApp.exec_lines={FILE_APP_START}"], cwd=self._cwd
        )
        try:
            client = manager.client()
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            await client.wait_for_ready(timeout=120)
        except Exception:
            await manager.shutdown_kernel(now=True)
            raise
        return PooledKernel(
            manager, KernelClient(ZmqTransport(client), manager.kernel_id or uuid.uuid4().hex)
        )

    async def _start_on_gateway(self) -> PooledKernel:
        kernel = await GatewayKernel.start(self._kernel_name)
        transport = GatewayTransport(kernel.kernel_id)
        try:  # what --IPKernelApp.exec_lines does for a local kernel
            await transport.execute(FILE_APP_START)
        except Exception:
            transport.stop()
            await shutdown_pooled(kernel)
            raise
        return PooledKernel(kernel, KernelClient(transport, kernel.kernel_id))

    def warm(self) -> None:
        """Start kernels in the background until ``size`` are waiting."""
        if self._filling is None or self._filling.done():
            self._filling = detached(self._fill())

    async def _fill(self) -> None:
        while len(self._warm) < self.size:
            try:
                self._warm.append(await self._start())
            except Exception:
                log.exception("bokeh_nb: could not start a kernel for file apps")
                return

    async def take(self, user: str) -> PooledKernel:
        """A ready kernel for one session of ``user`` (KernelUnavailable if none can
        start, or if the bounds are reached meanwhile)."""
        refused = self.refusal(user)
        if refused is not None:
            raise KernelUnavailable(refused[1])
        self.active[user] = self.active.get(user, 0) + 1
        try:
            kernel = self._warm.pop(0) if self._warm else await self._start()
        except Exception as e:
            self._done(user)
            raise KernelUnavailable("could not start a kernel for this app") from e
        kernel.user = user
        self._taken[id(kernel)] = kernel
        self.warm()
        return kernel

    def _done(self, user: str) -> None:
        self.active[user] = self.active.get(user, 1) - 1
        if self.active[user] <= 0:
            del self.active[user]

    def release(self, kernel: PooledKernel) -> None:
        """The session ended: shut its kernel down (once, however often it is called). The
        kernel counts toward both bounds until it has stopped (up to jupyter_client's 5 s):
        the bounds are on kernels, and a user who closes and opens sessions in a loop would
        otherwise have more of them running than the bounds allow."""
        if self._taken.pop(id(kernel), None) is None:
            return
        kernel.client.stop()
        detached(self._stop(kernel))

    async def _stop(self, kernel: PooledKernel) -> None:
        try:
            await shutdown_pooled(kernel.manager)
        finally:
            self._done(kernel.user)

    async def shutdown(self) -> None:
        """The server stops: every kernel of the pool, warm or in a session, shuts down."""
        if self._filling is not None:
            self._filling.cancel()
        kernels, self._warm = [*self._warm, *self._taken.values()], []
        self._taken.clear()
        self.active.clear()
        for kernel in kernels:
            kernel.client.stop()
        await asyncio.gather(*(shutdown_pooled(k.manager) for k in kernels))


async def shutdown_pooled(manager: AsyncKernelManager | GatewayKernel) -> None:
    """Shut a session's kernel down as Jupyter shuts its own down: a shutdown request
    first, so that the kernel ends its app as a Bokeh server ends it (the session's
    ``on_session_destroyed``, then ``on_server_unloaded``) and removes the app files it
    was sent (``kernel/fileapp.py``); jupyter_client kills it if it has not ended after
    its ``shutdown_wait_time`` (5 s). (A kernel gateway shuts its kernels down the same
    way.)"""
    with contextlib.suppress(Exception):
        await manager.shutdown_kernel(now=False)
