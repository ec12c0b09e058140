"""BokehJS from the kernel itself, for a page whose Jupyter server cannot serve it.

A page loads BokehJS at exactly the kernel's bokeh version. The Jupyter server serves it
when its own bokeh is that version (``server/static.py``); when the server runs in
another environment (a kernelspec of a project environment, a conda kernel, Voilà
without the server extension), the page asks the kernel instead, over the output's comm:
one ``bokehjs`` frame naming the bundles, answered by one frame with each bundle's text
as one binary buffer (``docs/protocol.md``). The page caches what it got, so this
happens once per version per browser.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from bokeh.util.paths import bokehjs_path

from .. import _bokeh
from ..protocol import CORE_BUNDLES, KIND_BOKEHJS, OPTIONAL_BUNDLES
from ..wire import BokehJSBundle, BokehJSReply, bokehjs_error, bokehjs_reply, frame_kind

log = logging.getLogger(__name__)

__all__ = ("answer", "is_request")

#: The only bundles a page may ask for: names from this list, never a path from the page.
KNOWN_BUNDLES = frozenset((*CORE_BUNDLES, *OPTIONAL_BUNDLES))


class Sender(Protocol):
    """Where the answer goes: the output's widget comm."""

    def send(self, content: BokehJSReply, buffers: list[bytes] | None = None) -> None: ...


def is_request(content: object) -> bool:
    """Whether a frame from a page asks for BokehJS."""
    return isinstance(content, dict) and frame_kind(content) == KIND_BOKEHJS


@cache
def _bundle(name: str) -> tuple[bytes, str]:
    """A bundle of this kernel's bokeh, and its SHA-256 (hex)."""
    body = (Path(bokehjs_path()) / "js" / f"{name}.min.js").read_bytes()
    return body, hashlib.sha256(body).hexdigest()


def _refusal(content: dict[str, Any]) -> str | None:
    version = content.get("version")
    bundles = content.get("bundles")
    if version != _bokeh.bokeh_version:
        return (
            f"this kernel has bokeh {_bokeh.bokeh_version}, not {str(version)[:40]!r}: "
            "re-run the cell that made this output"
        )
    if (
        not isinstance(bundles, list)
        or not bundles
        or len(bundles) > len(KNOWN_BUNDLES)
        or not all(isinstance(b, str) and b in KNOWN_BUNDLES for b in bundles)
    ):
        return f"bundles must be a list of names from {sorted(KNOWN_BUNDLES)}"
    return None


def answer(widget: Sender, content: dict[str, Any]) -> None:
    """Answer one page's request: its bundles, or an error frame saying why not."""
    request = content.get("request")
    request = request[:64] if isinstance(request, str) else ""
    problem = _refusal(content)
    if problem is None:
        try:
            parts = [(name, *_bundle(name)) for name in content["bundles"]]
        except OSError as e:
            log.warning("bokeh_nb: BokehJS of this kernel's bokeh is missing: %s", e)
            problem = f"this kernel's bokeh {_bokeh.bokeh_version} has no BokehJS bundles"
    if problem is not None:
        widget.send(bokehjs_error(request, problem))
        return
    bundles = [BokehJSBundle(name=n, sha256=h, bytes=len(b)) for n, b, h in parts]
    widget.send(
        bokehjs_reply(request, _bokeh.bokeh_version, bundles), buffers=[b for _, b, _ in parts]
    )
