"""``_ipykernel.keep_request_parents`` changes only a kernel that has ipykernel 7's
concurrent comm dispatch, once; its effect on a real kernel is in
``tests/kernel/test_comm_routing.py``."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from bokeh_nb.kernel._ipykernel import keep_request_parents


class SixKernel:
    """ipykernel 6's shape: a shell message is never handled beside another."""

    _shell_parent: ContextVar[Any] = ContextVar("parent")
    _shell_parent_ident: ContextVar[Any] = ContextVar("ident")

    async def dispatch_shell(self, msg: Any) -> None:
        return None

    def set_parent(self, ident: Any, parent: Any, channel: str = "shell") -> None:
        return None


class SevenKernel(SixKernel):
    def __init__(self) -> None:
        self.parents: list[Any] = []
        self.dispatched: list[tuple[Any, Any, bool]] = []

    async def dispatch_shell(  # type: ignore[override]
        self, msg: Any, /, subshell_id: Any = None, *, concurrent: bool = False
    ) -> None:
        self.dispatched.append((msg, subshell_id, concurrent))

    def get_parent(self, channel: str = "shell") -> Any:
        return self._shell_parent.get(None)

    def set_parent(self, ident: Any, parent: Any, channel: str = "shell") -> None:
        self._shell_parent.set(parent)
        self.parents.append(parent)


def test_a_kernel_without_concurrent_comms_is_left_alone() -> None:
    kernel = SixKernel()
    methods = (kernel.dispatch_shell, kernel.set_parent)
    assert keep_request_parents(kernel) is False
    assert (kernel.dispatch_shell, kernel.set_parent) == methods
    assert not hasattr(kernel, "_bokeh_nb_keeps_parents")


def test_a_seven_kernel_is_changed_once_and_its_calls_pass_through() -> None:
    kernel = SevenKernel()
    assert keep_request_parents(kernel) is True
    assert keep_request_parents(kernel) is False
    asyncio.run(kernel.dispatch_shell("m", subshell_id="s"))
    kernel.set_parent("i", {"n": 1})
    assert kernel.dispatched == [("m", "s", False)] and kernel.parents == [{"n": 1}]


def test_the_saved_parent_set_back_after_a_newer_one_keeps_the_newer() -> None:
    """The sequence of ``Kernel.shell_main`` in ipykernel 7.4, one step at a time."""
    kernel = SevenKernel()
    keep_request_parents(kernel)
    first, second = {"cell": 1}, {"cell": 2}
    kernel.set_parent("a", first)  # the first cell runs
    asyncio.run(kernel.dispatch_shell("comm", concurrent=True))  # a comm beside it
    kernel.set_parent("b", second)  # the first cell ended, the second began
    kernel.set_parent("a", first)  # shell_main sets back what it saved
    assert kernel.get_parent() is second
    kernel.set_parent("a", first)  # any later call is not a restore
    assert kernel.get_parent() is first
