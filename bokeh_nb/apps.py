"""What can be run as a Bokeh app, turned into a bokeh ``Application``.

The forms of ``bokeh serve``: a ``modify_doc(doc)`` function, an ``Application``, a script
(``app.py``), an app directory (``main.py`` or ``main.ipynb``, with ``server_lifecycle.py``,
``theme.yaml``, ``static/``, ``templates/``, ``data/``) and a notebook used as an app. Bad
paths and broken apps raise ``AppError`` naming the file and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bokeh.application import Application
from bokeh.application.handlers import FunctionHandler

__all__ = (
    "APP_DIR_ENTRIES",
    "APP_SUFFIXES",
    "AppError",
    "app_entry",
    "as_application",
    "check_handlers",
    "directory_entries",
)

#: What a file must end with to be an app: a script or a notebook.
APP_SUFFIXES = (".py", ".ipynb")
#: What makes a directory an app: one of these files in it (bokeh runs the first it has).
APP_DIR_ENTRIES = ("main.py", "main.ipynb")


class AppError(ValueError):
    """An app that cannot be loaded or run; the message names the file and the problem."""


def directory_entries(directory: Path) -> list[Path]:
    """The files of ``APP_DIR_ENTRIES`` that ``directory`` has, in that order."""
    return [directory / name for name in APP_DIR_ENTRIES if (directory / name).is_file()]


def app_entry(path: Path) -> Path | None:
    """What bokeh runs of the app at ``path``: a script or notebook itself, an app
    directory's ``main.py`` (else its ``main.ipynb``); None where ``path`` is no app.
    The one rule of what is an app, for the kernel, the server and ``serverproxy``."""
    if path.is_dir():
        entries = directory_entries(path)
        return entries[0] if entries else None
    return path if path.is_file() and path.suffix in APP_SUFFIXES else None


def _from_path(path: Path, argv: list[str], given: str) -> Application:
    from bokeh.command.util import build_single_handler_application

    if not path.exists():  # named as given: the resolved path says where the kernel runs
        raise AppError(f"no Bokeh app at {given}: the path does not exist")
    is_app = app_entry(path) is not None
    if path.is_dir() and not is_app:
        raise AppError(f"{path} is not a Bokeh app directory: it has no main.py or main.ipynb")
    if path.is_file() and not is_app:
        raise AppError(
            f"{path} is not a Bokeh app: expected a .py script, a .ipynb notebook "
            "or an app directory"
        )
    try:
        return build_single_handler_application(str(path), argv)
    except Exception as e:  # bokeh raises RuntimeError/ValueError/yaml errors with details
        theme = path / "theme.yaml"
        where = f"{theme}: " if path.is_dir() and "yaml" in type(e).__module__ else ""
        raise AppError(f"cannot load the Bokeh app {path}: {where}{e}") from e


def as_application(obj: Any, argv: list[str] | None = None) -> Application:
    """An ``Application`` for a function, an Application, or a script/directory/notebook path."""
    if isinstance(obj, Application):
        return obj
    if isinstance(obj, str | os.PathLike):
        return _from_path(Path(obj).expanduser().resolve(), list(argv or []), os.fspath(obj))
    if callable(obj):
        return Application(FunctionHandler(obj))
    raise AppError(
        f"cannot run a {type(obj).__name__} as a Bokeh app: give a function modify_doc(doc), "
        "a bokeh Application, or the path of a script, app directory or notebook"
    )


def check_handlers(app: Application, source: object) -> None:
    """Raise AppError if running the app's code for a new document failed."""
    for handler in app.handlers:
        if getattr(handler, "failed", False):
            raise AppError(
                f"the Bokeh app {source} failed: {handler.error}\n{handler.error_detail}"
            )
