"""``bokeh serve benchmarks/app/serve.py``: the benchmark app under Bokeh's own server
(with ``BENCH_TCP_NODELAY=1``: its websockets with TCP_NODELAY set)."""

import os

from bench import COUNTER, modify_doc, websockets_nodelay
from bokeh.io import curdoc

COUNTER.count_websocket_frames()
if os.environ.get("BENCH_TCP_NODELAY") == "1":
    websockets_nodelay()
modify_doc(curdoc())
