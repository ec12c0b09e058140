"""An app that says which process serves it and streams a tick every 200 ms."""

import os

from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Div

doc = curdoc()
ticks = ColumnDataSource(data=dict(tick=[]), name="ticks")
count = Div(text="tick 0", name="count")
state = {"n": 0}


def tick() -> None:
    state["n"] += 1
    ticks.stream(dict(tick=[state["n"]]))
    count.text = f"tick {state['n']}"


doc.add_periodic_callback(tick, 200)
doc.add_root(column(Div(text=f"process {os.getpid()}", name="pid"), count))
doc.add_root(ticks)  # in the document (and so in the page) without being drawn
