"""What a bokeh_nb output carries so it outlives its kernel (``docs/snapshots.md``).

The kernel describes the output: the ``OUTPUT_MIME`` entry (bokeh version, bundles, the
snapshot bound) and a ``text/html`` fallback for viewers without the extension. The
snapshot itself, the document as it is, is written into that ``text/html``: by the frontend
at every save (``labextension/src/snapshot.ts``) or, where no page is attached, by the
kernel at the end of each cell (``headless.py``), in the same format, built here.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _bokeh
from ..protocol import (
    CORE_BUNDLES,
    OUTPUT_MIME,
    SNAPSHOT_FALLBACK,
    SNAPSHOT_FORMAT,
    SNAPSHOT_SCRIPT_TYPE,
)

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = (
    "bundle_sources",
    "bundles_for",
    "checked_limit",
    "describe",
    "document_snapshot",
    "loader",
    "over_bound_note",
    "output_entries",
    "snapshot_html",
)


def checked_limit(max_bytes: object) -> int:
    """A bound on snapshots as ``bokeh_nb.snapshot_limit`` takes it: bytes of JSON text,
    0 for none (ValueError for anything else)."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise ValueError(f"snapshot_limit takes a number of bytes >= 0, not {max_bytes!r}")
    return max_bytes


def output_entries(bundles: list[str], max_bytes: int) -> dict[str, Any]:
    """The bundle entries a live output adds to its widget view: its snapshot is bounded
    by max_bytes when the notebook is saved."""
    meta = {
        "format": SNAPSHOT_FORMAT,
        "bokeh_version": _bokeh.bokeh_version,
        "bundles": list(bundles),
        "max_bytes": max_bytes,
    }
    fallback = (
        f'<div class="bokeh-nb-snapshot" data-bokeh-version="{html.escape(_bokeh.bokeh_version)}">'
        f'<div class="bokeh-nb-fallback">{html.escape(SNAPSHOT_FALLBACK)}</div></div>'
    )
    return {OUTPUT_MIME: meta, "text/html": fallback}


@cache
def loader() -> str:
    """The script that renders a snapshot where the HTML's scripts run. Its one source,
    ``snapshot_loader.js``, is also the frontend's (``labextension/src/snapshotLoader.ts``
    is generated from it by ``scripts/sync_snapshot_loader.py``)."""
    return (files(__package__) / "snapshot_loader.js").read_text(encoding="utf-8")


def document_snapshot(document: Document) -> str:
    """The document as snapshot text: bokeh's own JSON of it, which BokehJS's
    ``Document.from_json`` reads (arrays as base64 ndarrays), with every ``<`` escaped so
    the text can sit inside a ``<script>`` element and nothing in it can close it."""
    from bokeh.core.json_encoder import serialize_json

    return serialize_json(document.to_json(deferred=False)).replace("<", "\\u003c")


def bundles_for(documents: list[Document]) -> list[str]:
    """The BokehJS bundles these documents need, in load order (``bokeh`` always)."""
    from bokeh.models import Plot
    from bokeh.models.widgets import TableWidget, Widget

    models = [m for doc in documents for m in doc.models]
    needs = {
        "bokeh": True,
        "bokeh-gl": any(isinstance(m, Plot) and m.output_backend == "webgl" for m in models),
        "bokeh-widgets": any(isinstance(m, Widget) for m in models),
        "bokeh-tables": any(isinstance(m, TableWidget) for m in models),
    }
    return [name for name in CORE_BUNDLES if needs[name]]


def bundle_sources(names: list[str]) -> list[str]:
    """The text of the installed bokeh's BokehJS bundles (never a CDN)."""
    from bokeh.util.paths import bokehjs_path

    js = Path(bokehjs_path()) / "js"
    return [_read_bundle(str(js / f"{name}.min.js")) for name in names]


@cache
def _read_bundle(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    """HTML-escape as the frontend's ``escapeHtml`` does (``& < > "``)."""
    return html.escape(text, quote=False).replace('"', "&quot;")


def over_bound_note(size: int, max_bytes: int) -> str:
    """Why an output keeps no snapshot (the same words as the frontend's save)."""
    if max_bytes == 0:
        return (
            "Snapshots are off for this output (bokeh_nb.snapshot_limit(0)): it is empty "
            "without its kernel."
        )
    mb = 1048576
    return (
        f"The document ({size / mb:.1f} MB) is over this output's snapshot bound "
        f"({max_bytes / mb:.1f} MB): no snapshot was saved, so it is empty without its "
        "kernel. bokeh_nb.snapshot_limit(n_bytes) sets the bound for outputs shown after it."
    )


def snapshot_html(
    meta: dict[str, Any], snapshot: str | None, bundles: list[str], fallback: str = ""
) -> str:
    """An output's ``text/html``, exactly as the frontend's ``snapshotHtml`` writes it:
    the BokehJS bundles (for the notebook's carrier of them), the fallback text, and the
    snapshot with its loader when there is one."""
    scripts = "\n".join(
        "<script data-bokeh-nb-bundle>"
        + re.sub(r"</script", lambda _m: "<\\/script", src, flags=re.IGNORECASE)
        + "</script>"
        for src in bundles
    )
    note = f"{meta['note']} " if meta.get("note") else ""
    body = (
        ""
        if snapshot is None
        else f'<script type="{SNAPSHOT_SCRIPT_TYPE}">{snapshot}</script><script>{loader()}</script>'
    )
    return (
        scripts
        + f'<div class="bokeh-nb-snapshot" data-bokeh-version="{_escape(meta["bokeh_version"])}">'
        + f'<div class="bokeh-nb-fallback">{_escape(note + (fallback or SNAPSHOT_FALLBACK))}</div>'
        + f"{body}</div>"
    )


#: What a headless output's fallback says after its description, where no script runs.
HEADLESS_FALLBACK = (
    "Interactive Bokeh output (bokeh_nb): it renders where this notebook's HTML runs its "
    "scripts, as in JupyterLab or Notebook 7 with bokeh_nb, an nbconvert HTML export or a "
    "docs build."
)


def describe(document: Document, limit: int = 300) -> str:
    """The document in a few words, for viewers that run no scripts: each plot's title and
    glyphs (with their number of points), and the kinds of the other models shown."""
    from bokeh.models import ColumnDataSource, LayoutDOM, Plot
    from bokeh.models.renderers import GlyphRenderer

    parts: list[str] = []
    others: list[str] = []
    for root in document.roots:
        for model in sorted(root.references(), key=lambda m: m.id):
            if isinstance(model, Plot):
                title = getattr(model.title, "text", "") if model.title is not None else ""
                glyphs = []
                for r in model.renderers:
                    if isinstance(r, GlyphRenderer):
                        source = r.data_source
                        n = (
                            len(next(iter(source.data.values()), []))
                            if isinstance(source, ColumnDataSource)
                            else 0
                        )
                        points = f"{n:,} point" + ("" if n == 1 else "s")
                        glyphs.append(f"{type(r.glyph).__name__.lower()} of {points}")
                name = f"plot \u201c{title}\u201d" if title else "plot"
                parts.append(f"{name} ({', '.join(glyphs) or 'no glyphs'})")
            elif isinstance(model, LayoutDOM) and type(model).__name__ not in {
                "Column",
                "Row",
                "GridBox",
                "GridPlot",
                "Spacer",
                "Toolbar",
            }:
                others.append(type(model).__name__)
    if others:
        parts.append(", ".join(dict.fromkeys(others)))
    text = "Bokeh output: " + "; ".join(parts or ["an empty document"]) + "."
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
