"""What the extension's handlers share, made once as the server loads the extension
(``extension.BokehNb``) and kept in the web app's settings under ``STATE_KEY``: the
settings they read, typed, and the registries of what the server holds for standalone
sessions (its kernel clients, the share links, the file-app kernels). Handlers read it
through ``state_of``; nothing of it is a module global.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .kernelclient import KernelClients
from .limits import Limits, limits_for
from .pool import FileAppPool
from .sharelinks import ShareRegistry
from .staticdirs import AppStatics

__all__ = ("STATE_KEY", "ServerState", "state_of")

#: The key of the ``ServerState`` in the web app's settings.
STATE_KEY = "bokeh_nb_state"


@dataclass(frozen=True)
class ServerState:
    """The extension's settings (``BokehNb``'s, see there) and registries."""

    #: bounds of a Bokeh message from the notebook's own user, and from an ``interact``
    #: visitor of a share link
    author_limits: Limits
    interact_limits: Limits
    #: seconds without a message after which an app-file session ends
    file_app_idle_timeout: float
    kernels: KernelClients
    shares: ShareRegistry
    file_apps: FileAppPool
    #: the ``static/`` directories of live apps, as their kernels said
    app_statics: AppStatics = field(default_factory=AppStatics)

    def limits(self, visitor: str | None) -> Limits:
        """The bounds of a connection; ``visitor`` is a share link's mode (None: the
        notebook's own user)."""
        return limits_for(visitor, self.author_limits, self.interact_limits)

    async def stop(self) -> None:
        """The server stops: links expire no more, every kernel client stops, and the
        file-app kernels shut down."""
        self.shares.stop()
        self.kernels.stop_all()
        await self.file_apps.shutdown()


def state_of(settings: Mapping[str, Any]) -> ServerState:
    """The extension's state in a handler's ``settings``."""
    state = settings.get(STATE_KEY)
    if not isinstance(state, ServerState):
        raise RuntimeError("bokeh_nb's server extension is not loaded")
    return state
