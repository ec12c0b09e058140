"""bokeh_nb's benchmarks against the anchors (issue #7): ``python -m benchmarks.run``."""
