"""TCP_NODELAY on the kernel websocket.

tornado leaves Nagle's algorithm on, and small messages (a slider value, its reply) then
meet delayed ACKs: about 40 ms added to every round trip over the kernel websocket. The
server extension wraps the configured kernel websocket connection class (the default ZMQ
one, or the gateway's for remote kernels) so its socket sets TCP_NODELAY once open.
Turn it off with ``--BokehNb.tcp_nodelay=False``.
"""

from __future__ import annotations

from typing import Any

__all__ = ("with_nodelay",)


def with_nodelay(base: type[Any]) -> type[Any]:
    """A subclass of a kernel websocket connection class whose socket sets TCP_NODELAY."""
    if getattr(base, "_bokeh_nb_nodelay", False):
        return base

    class NoDelayConnection(base):  # type: ignore[misc]
        _bokeh_nb_nodelay = True

        def connect(self) -> Any:
            self.websocket_handler.set_nodelay(True)
            return super().connect()

    NoDelayConnection.__name__ = NoDelayConnection.__qualname__ = f"NoDelay{base.__name__}"
    return NoDelayConnection
