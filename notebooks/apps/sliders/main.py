"""Sliders: a sine wave whose amplitude, frequency, phase and offset are set by sliders.

A Bokeh app directory in the style of bokeh's classic "sliders" example. Run it with
``bokeh_nb.show("apps/sliders")`` / ``bokeh_nb.App("apps/sliders")`` in a notebook, or as
a full page with ``bokeh serve --show notebooks/apps/sliders``.

- ``data/presets.csv`` holds named presets of the four slider values, offered in a Select;
- the session argument ``N`` (``?N=500`` under ``bokeh serve``, ``args={"N": "500"}`` for a
  ``bokeh_nb.App``) sets the number of points;
- ``theme.yaml`` styles the plot, ``server_lifecycle.py`` logs the app's lifecycle.
"""

import csv
from os.path import dirname, join

import numpy as np
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Select, Slider, TextInput
from bokeh.plotting import figure

DEFAULT_N = 200


def number_of_points(doc, default=DEFAULT_N):
    """The session argument N, if given and valid (2..10000), else the default."""
    # session_context is None when the document is not served (e.g. bokeh's own checks)
    request = doc.session_context.request if doc.session_context is not None else None
    values = request.arguments.get("N") if request is not None else None
    if not values:
        return default
    try:
        n = int(values[0])
    except ValueError:
        return default
    return n if 2 <= n <= 10_000 else default


def read_presets():
    """{name: {slider name: value}} from data/presets.csv, next to this file."""
    with open(join(dirname(__file__), "data", "presets.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    return {row.pop("name"): {k: float(v) for k, v in row.items()} for row in rows}


doc = curdoc()
N = number_of_points(doc)
PRESETS = read_presets()

# Set up data
x = np.linspace(0, 4 * np.pi, N)
source = ColumnDataSource(data=dict(x=x, y=np.sin(x)))

# Set up plot
plot = figure(
    height=400,
    width=450,
    title="my sine wave",
    tools="crosshair,pan,reset,save,wheel_zoom",
    x_range=[0, 4 * np.pi],
    y_range=[-5.5, 5.5],
)
plot.line("x", "y", source=source, line_width=3, line_alpha=0.6)

# Set up widgets
text = TextInput(title="title", value="my sine wave")
preset = Select(title="preset", value="(none)", options=["(none)", *PRESETS])
sliders = {
    "amplitude": Slider(title="amplitude", value=1.0, start=-5.0, end=5.0, step=0.1),
    "frequency": Slider(title="frequency", value=1.0, start=0.1, end=5.1, step=0.1),
    "phase": Slider(title="phase", value=0.0, start=0.0, end=2 * np.pi, step=0.01),
    "offset": Slider(title="offset", value=0.0, start=-5.0, end=5.0, step=0.1),
}


# Set up callbacks (Python: they run in the kernel, or in the server under bokeh serve)
def update_title(attr, old, new):
    plot.title.text = new


def update_data(attr, old, new):
    a, k, w, b = (sliders[name].value for name in ("amplitude", "frequency", "phase", "offset"))
    x = np.linspace(0, 4 * np.pi, N)
    source.data = dict(x=x, y=a * np.sin(k * x + w) + b)


def apply_preset(attr, old, new):
    for name, value in PRESETS.get(new, {}).items():
        sliders[name].value = value


text.on_change("value", update_title)
preset.on_change("value", apply_preset)
for slider in sliders.values():
    slider.on_change("value", update_data)

# Set up layout and add to document
inputs = column(text, preset, *sliders.values())
doc.add_root(row(inputs, plot, width=800))
doc.title = "Sliders"
