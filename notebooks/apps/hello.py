"""Hello: a single-script Bokeh app. Clicking the button increments a counter in Python.

Show it with ``bokeh_nb.show("apps/hello.py")``, or serve it with
``bokeh serve --show notebooks/apps/hello.py``.
"""

from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Button, Div

clicks = 0
button = Button(label="Click me", button_type="success")
div = Div(text="Clicked 0 times")


def on_click():
    global clicks
    clicks += 1
    div.text = f"Clicked {clicks} time{'s' if clicks != 1 else ''}"


button.on_click(on_click)

curdoc().add_root(column(button, div))
curdoc().title = "Hello"
