"""A kernel that serves one app file to a visitor, started by the server's file-app pool.

The pool starts the kernel with ``--IPKernelApp.exec_lines=<FILE_APP_START>``: ``start()`` turns it
into an app server that runs no code sent to it. The server then opens a session comm
(``SESSION_TARGET``) whose data names the file (a path the server has checked to lie in
its root); the app is loaded from that file, in this kernel, for that session alone.

A kernel on a kernel gateway cannot read the server's files: its comm-open carries the
app's files as buffers (``files`` names them), which ``FileApps.app_for_files`` writes to
a private directory of this kernel, removed when the kernel exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ..wire import SessionOpen
from ._ipykernel import refuse_execute_requests
from .liveapp import LiveApp
from .runtime import runtime

__all__ = ("REFUSED", "FileApps", "start")

REFUSED = "this kernel serves a Bokeh app file to a visitor and runs no other code"


def start() -> None:
    """Serve app files on the session comm target; refuse every ``execute_request``."""
    refuse_execute_requests(REFUSED)
    runtime().serve_file_apps(FileApps().resolve)


class FileApps:
    """The apps of this file-app kernel, by the path of their file (each loaded once)."""

    def __init__(self) -> None:
        self._apps: dict[str, LiveApp] = {}
        self._files: Path | None = None  # where the files sent with a request are written

    def resolve(self, data: SessionOpen, buffers: Sequence[bytes | memoryview]) -> LiveApp:
        """The app of an open request naming a file (and, from a gateway, sending it)."""
        file = data.get("file", "")
        files = data.get("files")
        if files is not None:  # the app itself: this kernel is on a gateway
            return self.app_for_files(file, files, buffers)
        return self.app_for_file(file)

    def app_for_file(self, path: str) -> LiveApp:
        """The app of an app file (loaded once per kernel)."""
        app = self._apps.get(path)
        if app is None:
            app = self._apps[path] = LiveApp(Path(path), name=Path(path).stem)
        return app

    def app_for_files(
        self, entry: str, names: Sequence[str], buffers: Sequence[bytes | memoryview]
    ) -> LiveApp:
        """The app of an app sent as files (``names[i]`` holds ``buffers[i]``), ``entry``
        being the script, notebook or directory among them (ValueError for a malformed
        request)."""
        if len(names) != len(buffers) or not names:
            raise ValueError("a malformed app bundle")
        relative = [PurePosixPath(n) for n in names]
        for name in (PurePosixPath(entry), *relative):
            if name.is_absolute() or not name.parts or ".." in name.parts:
                raise ValueError(f"a malformed app bundle: {str(name)[:80]!r}")
        if self._files is None:
            self._files = Path(tempfile.mkdtemp(prefix="bokeh-nb-app-"))
            atexit.register(shutil.rmtree, self._files, ignore_errors=True)
        path = str(self._files.joinpath(*PurePosixPath(entry).parts))
        if path not in self._apps:  # written once: this kernel serves one app
            for file, content in zip(relative, buffers, strict=True):
                target = self._files.joinpath(*file.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(bytes(content))
        return self.app_for_file(path)
