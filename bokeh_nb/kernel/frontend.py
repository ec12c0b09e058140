"""The frontend showing this kernel's outputs: does it have (a matching) bokeh_nb?

A frontend without the bokeh_nb extension cannot render a ``BokehWidget`` and ipywidgets
only says "Click to show javascript error". So the first ``show()`` of a kernel opens a
comm to ``FRONTEND_TARGET``: the extension answers it (with its version and the Jupyter
server's base URL, which ``App.url`` needs); a frontend without it closes the comm
unanswered, and a frontend with another bokeh_nb version answers with its version; either
way every output shown so far is replaced (through its display id) by a message saying
what to install. With no frontend at all (nbconvert, papermill, nbval: an execute request
with ``allow_stdin`` false, see ``headless.py``) the runtime asks nothing, so no client
logs a comm target it does not know, and the kernel keeps the snapshots itself.

The same target carries share-link requests to the page (``share.py``).
"""

from __future__ import annotations

import html
import logging
from typing import Literal

from .._version import __version__
from ..protocol import FRONTEND_TARGET
from ._ipykernel import Comm, CommMessage, open_comm

log = logging.getLogger(__name__)

__all__ = ("MISSING_FRONTEND", "Frontend", "State", "mismatch")

MISSING_FRONTEND = (
    "This live Bokeh output cannot be shown: the Jupyter frontend that opened this "
    "notebook does not have the bokeh_nb extension. Install it into the environment that "
    "runs JupyterLab or Notebook 7 (pip install bokeh_nb), restart the Jupyter server and "
    "reload the page."
)

State = Literal["unknown", "asking", "present", "absent"]


def mismatch(frontend_version: str) -> str | None:
    """Why a frontend of this version cannot render this kernel's outputs, or None."""

    def key(v: str) -> tuple[str, ...]:
        parts = v.split(".")
        return tuple(parts[:2]) if parts[0] == "0" else tuple(parts[:1])  # npm's caret range

    if key(frontend_version) == key(__version__):
        return None
    return (
        f"This live Bokeh output comes from bokeh_nb {__version__} in the kernel, but the "
        f"Jupyter frontend has bokeh_nb {frontend_version}, which cannot render it. Install "
        "the same bokeh_nb version in the kernel's environment and in the environment that "
        "runs JupyterLab or Notebook 7, restart both and reload the page."
    )


def _explain(display_id: str, text: str = MISSING_FRONTEND) -> None:
    from IPython.display import update_display

    body = f'<div class="bokeh-nb-missing" role="alert">{html.escape(text)}</div>'
    update_display(  # type: ignore[no-untyped-call]
        {"text/plain": text, "text/html": body}, raw=True, display_id=display_id
    )


class Frontend:
    """What this kernel knows of its frontend: asked once, over a comm."""

    def __init__(self) -> None:
        self.state: State = "unknown"
        self.problem = MISSING_FRONTEND
        self.base_url: str | None = None  # the Jupyter server's, as the frontend sees it
        self._pending: list[str] = []
        self._comm: Comm | None = None

    def shown(self, display_id: str) -> None:
        """An output with this display id now shows a BokehWidget."""
        if self.state == "present":
            return
        if self.state == "absent":
            _explain(display_id, self.problem)
            return
        self._pending.append(display_id)
        if self.state == "unknown":
            self._ask()

    def ask(self) -> None:
        """Ask now, without an output waiting for the answer (to learn base_url)."""
        if self.state == "unknown":
            self._ask()

    def _ask(self) -> None:
        self.state = "asking"
        self._comm = open_comm(FRONTEND_TARGET, {})
        self._comm.on_msg(self._answered)
        self._comm.on_close(self._closed)

    def _answered(self, msg: CommMessage) -> None:
        data = msg.get("content", {}).get("data", {}) if isinstance(msg, dict) else {}
        base_url = data.get("base_url")
        if isinstance(base_url, str) and base_url.startswith(("http://", "https://")):
            self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        problem = mismatch(str(data.get("version", "")))
        if problem is None:
            self.state = "present"
            self._pending.clear()
            return
        self.problem = problem
        self._give_up()

    def _closed(self, _msg: CommMessage) -> None:
        if self.state in ("present", "absent"):
            return
        self._give_up()

    def _give_up(self) -> None:
        self.state = "absent"
        log.warning("bokeh_nb: the frontend cannot render bokeh_nb outputs: %s", self.problem)
        pending, self._pending = self._pending, []
        for display_id in pending:
            _explain(display_id, self.problem)
