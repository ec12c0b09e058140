"""The Jupyter server half of bokeh_nb (``extension.BokehNb``). Never imports ipykernel.

Enabled by ``jupyter-config/server-config/bokeh_nb.json``; jupyter_server finds the
extension through ``bokeh_nb._jupyter_server_extension_points``.
"""

from __future__ import annotations

from .extension import BokehNb

__all__ = ("BokehNb",)
