"""The only module of bokeh_nb that touches the internals of ipykernel, comm and IPython.

Everything the kernel side needs from them beyond their documented use goes through a
function here: opening comms and registering comm targets (so that tests can see and fake
the one place that wires comms), this kernel's id, the request the kernel is handling,
the displays and cells of the shell, the kernel's own stderr, and the refusal of
``execute_request`` in a file-app kernel. Each function names the versions it was checked
against; a new release of ipykernel, comm or IPython is checked here, and only here.

Heavy modules (ipykernel, comm, IPython) are imported by the functions that use them, so
that ``import bokeh_nb`` stays light and this module imports outside a kernel.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

log = logging.getLogger(__name__)

__all__ = (
    "Comm",
    "CommMessage",
    "keep_request_parents",
    "kernel_id",
    "log_to_kernel_stderr",
    "on_comm_open",
    "open_comm",
    "refuse_execute_requests",
    "register_mimebundle_printer",
    "route_by_sender",
    "shell_request",
    "watch_shell",
)

#: A comm message as ipykernel hands it to a callback (``content.data``, ``buffers``, ...).
CommMessage = dict[str, Any]


class Comm(Protocol):
    """The part of a comm (``comm.base_comm.BaseComm``) bokeh_nb uses. ``send`` takes any
    JSON mapping (the frames of ``wire.py`` are TypedDicts) and bytes-like buffers, as
    ``BaseComm.send`` does at run time, whatever its annotations say."""

    comm_id: str

    def send(
        self,
        data: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        buffers: Sequence[bytes | memoryview] | None = None,
    ) -> None: ...

    def on_msg(self, callback: Callable[[CommMessage], None] | None) -> None: ...

    def on_close(self, callback: Callable[[CommMessage], None] | None) -> None: ...


def open_comm(target: str, data: Mapping[str, Any]) -> Comm:
    """Open a comm from this kernel to the frontend's ``target``.

    Checked with comm 0.2.3 and ipykernel 7.4.0 (``comm.create_comm``, which ipykernel
    replaces by its own ``Comm``)."""
    from comm import create_comm

    return cast(Comm, create_comm(target_name=target, data=dict(data)))


def on_comm_open(target: str, handler: Callable[[Comm, CommMessage], None]) -> None:
    """Call ``handler(comm, open_msg)`` for every comm a frontend opens to ``target``.

    Checked with comm 0.2.3 and ipykernel 7.4.0 (``get_comm_manager().register_target``)."""
    from comm import get_comm_manager
    from comm.base_comm import BaseComm

    get_comm_manager().register_target(
        target, cast(Callable[[BaseComm, CommMessage], None], handler)
    )


def route_by_sender(comm: Any) -> None:
    """Hand each of comm's incoming messages to the shell its header names (a subshell's,
    or the main shell when it names none), always.

    ipykernel 7.4 sends a comm's incoming messages to the subshell the kernel last
    *published* on that comm from (``Comm._reply_subshell_for``, in
    ``Kernel.shell_channel_thread_main``), so that a reply reaches a subshell that waits
    for it. Nothing in bokeh_nb waits for a page's message on a subshell; their order is
    what matters. Routed by the last publish, one sender's messages went some to the main
    shell and some to a subshell, whose threads hand them to the main loop at different
    times, so a later message could be handled before an earlier one (an acknowledgement,
    or a slider's next value before its last). Without that method (ipykernel before 7),
    every message goes to the main shell anyway.

    The first call also makes the kernel keep each request's parent
    (``keep_request_parents``), which these comms' messages would otherwise disturb."""
    if hasattr(comm, "_reply_subshell_for"):
        comm._reply_subshell_for = _senders_subshell
    keep_request_parents()


def _senders_subshell(_data: Any, subshell_id: str | None) -> str | None:
    return subshell_id


def keep_request_parents(kernel: Any = None) -> bool:
    """Keep a comm message handled while a cell runs from taking the next cell's parent.

    While an ``execute_request`` holds a shell (an async cell awaits, or cells wait
    behind it), ipykernel 7.4 handles a comm message at once, in a task of its own
    (``Kernel.shell_main``): it saves the shell's parent request, dispatches the
    message, and sets the saved parent back. All of a shell's requests share one
    context (``utils._async_in_context``), so when the running cell ends and the next
    one starts while the comm's task is finishing, that "saved" parent is the finished
    cell's, and it replaces the next cell's: the next cell's idle status then names the
    finished cell, and the page never sees its own cell end (JupyterLab's Run All waits
    forever, the cell shows ``[*]`` while the kernel is idle). bokeh_nb's pages and its
    server relay send comm messages all the time, so this kernel would meet it often.

    Here the restore is recognised (the parent it sets back is the one the comm's task
    saw at its start) and, when a newer request has set its parent since, that newer
    parent is set again instead. Once per kernel (this one's, or ``kernel``); False
    outside ipykernel, and where the kernel lacks what this relies on or handles no comm
    beside a request (ipykernel 6).

    Checked with ipykernel 7.4.0 (``Kernel.dispatch_shell(msg, subshell_id, concurrent=)``,
    ``Kernel.set_parent``, ``Kernel._shell_parent`` and ``_shell_parent_ident``)."""
    import inspect
    import threading

    kernel = _kernel() if kernel is None else kernel
    if kernel is None or getattr(kernel, "_bokeh_nb_keeps_parents", False):
        return False
    if not all(hasattr(kernel, a) for a in ("_shell_parent", "_shell_parent_ident")):
        return False
    if "concurrent" not in inspect.signature(kernel.dispatch_shell).parameters:
        return False  # (ipykernel 6: no comm is handled beside a request)
    dispatch, set_parent = kernel.dispatch_shell, kernel.set_parent
    saved = threading.local()  # per shell thread: parents a comm's task will set back

    def pending() -> list[Any]:
        if not hasattr(saved, "parents"):
            saved.parents = []
        return cast(list[Any], saved.parents)

    async def dispatch_shell(*args: Any, **kw: Any) -> Any:
        if kw.get("concurrent"):  # shell_main saved this parent a moment ago
            pending().append(kernel.get_parent("shell"))
        return await dispatch(*args, **kw)

    def keeping_set_parent(ident: Any, parent: Any, channel: str = "shell") -> None:
        parents = pending() if channel == "shell" else []
        restore = next((i for i, p in enumerate(parents) if p is parent), None)
        if restore is not None:  # shell_main sets back what it saved
            del parents[restore]
            current = kernel._shell_parent.get(parent)
            if current is not parent:  # a newer request's: keep it
                ident, parent = kernel._shell_parent_ident.get(ident), current
        set_parent(ident, parent, channel)

    kernel.dispatch_shell = dispatch_shell
    kernel.set_parent = keeping_set_parent
    kernel._bokeh_nb_keeps_parents = True
    return True


def kernel_id() -> str:
    """This kernel's id on its Jupyter server, from the name of its connection file
    (``kernel-{id}.json``). Raises outside a kernel started with one.

    Checked with ipykernel 7.4.0 (``ipykernel.connect.get_connection_file``)."""
    from ipykernel.connect import get_connection_file

    name = Path(get_connection_file()).stem
    return name.removeprefix("kernel-")


def register_mimebundle_printer(cls: type, printer: Callable[[Any], Any]) -> bool:
    """Make IPython format the bundle of every instance of cls (and its subclasses) with
    ``printer(obj)`` instead of their ``_repr_mimebundle_``. False outside IPython.

    Checked with IPython 9.18.1 (``DisplayFormatter.mimebundle_formatter.for_type``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.mimebundle_formatter.for_type(cls, printer)
    return True


def _kernel() -> Any:
    from IPython import get_ipython

    return getattr(get_ipython(), "kernel", None)


def shell_request() -> Mapping[str, Any]:
    """The message the kernel's shell is handling now (an ``execute_request``, a
    ``comm_msg``, ...): ``header``, ``content``; empty outside a kernel.

    Checked with ipykernel 7.4.0 (``Kernel.get_parent("shell")``) and IPython 9.18.1."""
    kernel = _kernel()
    parent = kernel.get_parent("shell") if kernel is not None else None
    return parent if isinstance(parent, Mapping) else {}


def watch_shell(
    on_display: Callable[[dict[str, Any]], dict[str, Any] | None],
    after_cell: Callable[..., None],
) -> bool:
    """Pass every display message the shell publishes through ``on_display`` (which
    returns it, or None to drop it) and call ``after_cell`` at the end of each cell.
    False where the shell cannot (outside ipykernel).

    Checked with ipykernel 7.4.0 (``ZMQDisplayPublisher.register_hook``) and IPython
    9.18.1 (``shell.events.register("post_run_cell", ...)``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell.display_pub, "register_hook"):
        return False
    shell.display_pub.register_hook(on_display)
    shell.events.register("post_run_cell", after_cell)
    return True


def refuse_execute_requests(reason: str) -> None:
    """Answer every ``execute_request`` from now on with a ``PermissionError`` saying
    ``reason``, running none of its code.

    Checked with ipykernel 7.4.0: ``Kernel.shell_handlers`` maps a message type to
    ``handler(stream, idents, msg)``, whose reply goes out through ``Kernel.session.send``."""
    kernel = _kernel()

    def refuse(stream: Any, ident: Any, parent: Any) -> None:
        log.warning("bokeh_nb: refused an execute_request in a file-app kernel")
        content = {"status": "error", "ename": "PermissionError", "evalue": reason}
        kernel.session.send(
            stream,
            "execute_reply",
            {**content, "traceback": [], "execution_count": 0},
            parent,
            ident=ident,
        )

    kernel.shell_handlers["execute_request"] = refuse


def log_to_kernel_stderr(logger: logging.Logger, formatter: logging.Formatter) -> bool:
    """Send logger's records to the kernel process's own stderr, which the Jupyter server
    writes to its log (``sys.stderr`` of a kernel goes into whichever cell ran last).
    False, and nothing changed, outside ipykernel or where logger has handlers already.

    Checked with ipykernel 7.4.0 (``ipykernel.iostream.OutStream`` replaces
    ``sys.stderr``)."""
    from ipykernel.iostream import OutStream

    if not isinstance(sys.stderr, OutStream) or logger.handlers:
        return False
    handler = logging.StreamHandler(sys.__stderr__)
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return True
