"""Where live apps' ``static/`` directories are: what each app's kernel said as its page's
session opened, kept only for a directory inside the server's root (``appstatic.py``
serves the files)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from jupyter_core.paths import is_hidden
from jupyter_server.base.handlers import JupyterHandler

__all__ = ("AppStatics", "server_root", "static_dir_in_root")


class AppStatics:
    """The ``static/`` directory of each live app (by kernel and app name) whose page
    opened a session, as its kernel said; at most ``most`` apps, the oldest forgotten."""

    def __init__(self, most: int = 1000) -> None:
        self.most = most
        self._dirs: OrderedDict[tuple[str, str], Path] = OrderedDict()

    def record(self, kernel_id: str, app: str, directory: Path | None) -> None:
        key = (kernel_id, app)
        self._dirs.pop(key, None)
        if directory is not None:
            self._dirs[key] = directory
            while len(self._dirs) > self.most:
                self._dirs.popitem(last=False)

    def get(self, kernel_id: str, app: str) -> Path | None:
        return self._dirs.get((kernel_id, app))


def server_root(handler: JupyterHandler) -> tuple[Path, bool]:
    cm = handler.contents_manager
    return Path(cm.root_dir).resolve(), bool(getattr(cm, "allow_hidden", False))


def static_dir_in_root(handler: JupyterHandler, path: str) -> Path | None:
    """The static directory a kernel named, if it is one named ``static`` inside the
    server's root (not hidden), as an app directory's is; None otherwise (a kernel cannot
    have the server serve any other folder to the app's visitors)."""
    root, allow_hidden = server_root(handler)
    try:
        directory = Path(path).resolve()
    except (OSError, ValueError):
        return None
    if not directory.is_absolute() or not directory.is_relative_to(root):
        return None
    if directory.name != "static":
        return None
    if not directory.is_dir() or (not allow_hidden and is_hidden(directory, root)):
        return None
    return directory
