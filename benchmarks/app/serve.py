"""``bokeh serve benchmarks/app/serve.py``: the benchmark app under Bokeh's own server."""

from bench import COUNTER, modify_doc
from bokeh.io import curdoc

COUNTER.count_websocket_frames()
modify_doc(curdoc())
