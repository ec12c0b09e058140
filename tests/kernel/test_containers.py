"""bokeh_nb outputs inside ipywidgets containers: the container's bundle names them, so the
frontend's save can keep their snapshots (docs/snapshots.md)."""

from __future__ import annotations

from typing import Any

from .conftest import Kernel

CONTAINER_MIME = "application/vnd.bokeh-nb.container+json"
OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"

SETUP = """
import ipywidgets as w, bokeh_nb
from bokeh.models import Div
a = bokeh_nb.BokehWidget(Div(text="a")); b = bokeh_nb.BokehWidget(Div(text="b"))
"""


def bundles(kernel: Kernel, code: str) -> list[dict[str, Any]]:
    return [
        m["content"]["data"]
        for m in kernel.execute(code)
        if m["msg_type"] in ("display_data", "execute_result")
    ]


def test_a_container_names_the_bokeh_outputs_it_holds_at_any_depth(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    ids = kernel.value("[a.model_id, b.model_id]")
    (data,) = bundles(kernel, "w.VBox([w.IntSlider(), a, w.Tab([w.HBox([b, a])])])")
    entry = data[CONTAINER_MIME]
    assert entry["models"] == ids, "in order, each once"
    assert entry["format"] == "1" and "bokeh" in entry["bundles"] and entry["max_bytes"] > 0
    assert "application/vnd.jupyter.widget-view+json" in data and OUTPUT_MIME not in data


def test_other_widgets_and_bokeh_outputs_keep_their_own_bundles(kernel: Kernel) -> None:
    kernel.execute(SETUP)
    plain, alone, shown = bundles(
        kernel, "display(w.VBox([w.IntSlider()])); display(a); display(w.HBox([b]))"
    )
    assert CONTAINER_MIME not in plain and OUTPUT_MIME not in plain
    assert OUTPUT_MIME in alone and CONTAINER_MIME not in alone
    assert shown[CONTAINER_MIME]["models"] == [kernel.value("b.model_id")]
    # after bokeh_nb.snapshot_limit(0), a container keeps no snapshot either
    (off,) = bundles(kernel, "bokeh_nb.snapshot_limit(0); w.HBox([a])")
    assert off[CONTAINER_MIME]["max_bytes"] == 0
