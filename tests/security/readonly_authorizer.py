"""Two users on one Jupyter server, for tests of what a read-only user may do: the server's
token is the author's (a user allowed everything); ``READER_TOKEN`` logs in ``reader``, who
may read everything and execute nothing, as a read-only role of JupyterHub would. Loaded by
``--ServerApp.identity_provider_class`` and ``--ServerApp.authorizer_class`` (see
``readonly_server`` in ``test_authorization_attacks.py``)."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User

READER_TOKEN = "reader-token-0123456789abcdef"
READER = "reader"


class TwoUsers(IdentityProvider):  # type: ignore[misc]
    """The server's own token, or ``READER_TOKEN`` for the user ``reader``."""

    async def get_user_token(self, handler: Any) -> User | None:
        if self.get_token(handler) == READER_TOKEN:
            return User(username=READER, name=READER)
        user: User | None = await super().get_user_token(handler)
        return user


class ReadOnlyReader(Authorizer):  # type: ignore[misc]
    """``reader`` may only ``read``; every other user may do anything."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        return user.username != READER or action == "read"
