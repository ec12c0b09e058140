"""The kernel half of bokeh_nb: sessions, the widget, live apps and their pages, and
bokeh's notebook hook, held together by the kernel's runtime (``runtime.py``).

Runs inside ipykernel and never imports jupyter_server.
"""
