"""Lifecycle hooks of the sliders app, run as under ``bokeh serve``.

In a notebook (bokeh_nb) ``on_server_loaded`` runs once per app per kernel,
``on_session_created`` / ``on_session_destroyed`` once per session and
``on_server_unloaded`` at kernel shutdown.

Each hook appends a line to ``builtins.bokeh_nb_lifecycle_log`` if a notebook created that
list (``import builtins; builtins.bokeh_nb_lifecycle_log = []``), and does nothing else:
without the list (e.g. under ``bokeh serve``) the hooks are harmless.
"""

import builtins


def _log(message):
    log = getattr(builtins, "bokeh_nb_lifecycle_log", None)
    if isinstance(log, list):
        log.append(message)


def _arguments(session_context):
    request = getattr(session_context, "request", None)
    arguments = getattr(request, "arguments", None) or {}
    return {k: [v.decode(errors="replace") for v in vs] for k, vs in arguments.items()}


def on_server_loaded(server_context):
    _log("on_server_loaded")


def on_server_unloaded(server_context):
    _log("on_server_unloaded")


def on_session_created(session_context):
    _log(f"on_session_created {session_context.id[:8]} args={_arguments(session_context)}")


def on_session_destroyed(session_context):
    _log(f"on_session_destroyed {session_context.id[:8]}")
