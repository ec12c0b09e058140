"""The kernel half of bokeh_nb: sessions, the widget and bokeh's notebook hook.

Runs inside ipykernel and never imports jupyter_server.
"""
