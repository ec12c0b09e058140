"""What a bokeh_nb output carries so it outlives its kernel (``docs/snapshots.md``).

The kernel only describes the output: the ``OUTPUT_MIME`` entry (bokeh version, bundles,
the snapshot bound) and a ``text/html`` fallback for viewers without the extension. The
snapshot itself, the document as it is when the notebook is saved, is written into that
``text/html`` by the frontend at every save (``labextension/src/snapshot.ts``).
"""

from __future__ import annotations

import html
from typing import Any

from .. import _bokeh
from ..protocol import OUTPUT_MIME, SNAPSHOT_FALLBACK, SNAPSHOT_FORMAT, SNAPSHOT_MAX_BYTES

__all__ = ("output_entries", "snapshot_limit")

_max_bytes = SNAPSHOT_MAX_BYTES


def snapshot_limit(max_bytes: int | None = None) -> int:
    """The bound on the snapshot each output shown from now on keeps when the notebook is
    saved (bytes of JSON text; 0 keeps none). Returns the bound in force."""
    global _max_bytes
    if max_bytes is not None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"snapshot_limit takes a number of bytes >= 0, not {max_bytes!r}")
        _max_bytes = max_bytes
    return _max_bytes


def output_entries(bundles: list[str]) -> dict[str, Any]:
    """The bundle entries a live output adds to its widget view."""
    meta = {
        "format": SNAPSHOT_FORMAT,
        "bokeh_version": _bokeh.bokeh_version,
        "bundles": list(bundles),
        "max_bytes": _max_bytes,
    }
    fallback = (
        f'<div class="bokeh-nb-snapshot" data-bokeh-version="{html.escape(_bokeh.bokeh_version)}">'
        f'<div class="bokeh-nb-fallback">{html.escape(SNAPSHOT_FALLBACK)}</div></div>'
    )
    return {OUTPUT_MIME: meta, "text/html": fallback}
