"""Does the frontend showing this kernel's outputs have bokeh_nb?

A frontend without the bokeh_nb extension cannot render a ``BokehWidget`` and ipywidgets
only says "Click to show javascript error". So the first ``show()`` of a kernel opens a
comm to ``FRONTEND_TARGET``: the extension answers it; a frontend without it closes the
comm unanswered, and every output shown so far is replaced (through its display id) by a
message saying what to install. With no frontend at all (nbconvert, nbval) nothing
answers and nothing changes.
"""

from __future__ import annotations

import html
import logging
from typing import Any, Literal

from ..protocol import FRONTEND_TARGET

log = logging.getLogger(__name__)

__all__ = ("MISSING_FRONTEND", "FrontendProbe", "PROBE")

MISSING_FRONTEND = (
    "This live Bokeh output cannot be shown: the Jupyter frontend that opened this "
    "notebook does not have the bokeh_nb extension. Install it into the environment that "
    "runs JupyterLab or Notebook 7 (pip install bokeh_nb), restart the Jupyter server and "
    "reload the page."
)

State = Literal["unknown", "asking", "present", "absent"]


def _explain(display_id: str) -> None:
    from IPython.display import update_display

    body = f'<div class="bokeh-nb-missing" role="alert">{html.escape(MISSING_FRONTEND)}</div>'
    update_display(  # type: ignore[no-untyped-call]
        {"text/plain": MISSING_FRONTEND, "text/html": body}, raw=True, display_id=display_id
    )


class FrontendProbe:
    def __init__(self) -> None:
        self.state: State = "unknown"
        self._pending: list[str] = []
        self._comm: Any = None

    def shown(self, display_id: str) -> None:
        """An output with this display id now shows a BokehWidget."""
        if self.state == "present":
            return
        if self.state == "absent":
            _explain(display_id)
            return
        self._pending.append(display_id)
        if self.state == "unknown":
            self._ask()

    def _ask(self) -> None:
        from comm import create_comm

        self.state = "asking"
        self._comm = create_comm(target_name=FRONTEND_TARGET, data={})
        self._comm.on_msg(self._answered)
        self._comm.on_close(self._closed)

    def _answered(self, _msg: Any) -> None:
        self.state = "present"
        self._pending.clear()

    def _closed(self, _msg: Any) -> None:
        if self.state == "present":
            return
        self.state = "absent"
        log.warning("bokeh_nb: the frontend has no bokeh_nb extension")
        pending, self._pending = self._pending, []
        for display_id in pending:
            _explain(display_id)


#: One probe per kernel.
PROBE = FrontendProbe()
