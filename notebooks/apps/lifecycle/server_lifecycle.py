"""The four lifecycle hooks of a Bokeh app directory, as ``bokeh serve`` runs them.

Under bokeh_nb, ``on_server_loaded`` runs once per app per kernel (before its first session),
``on_session_created`` / ``on_session_destroyed`` once per session, and
``on_server_unloaded`` when the kernel shuts down.
"""


def on_server_loaded(server_context):
    server_context.visits = 0  # shared by every session of the app
    print("on_server_loaded: the app is loaded (once)")


def on_session_created(session_context):
    server_context = session_context.server_context
    server_context.visits += 1
    session_context.visit = server_context.visits
    print(f"on_session_created: visit #{session_context.visit}")


def on_session_destroyed(session_context):
    print(f"on_session_destroyed: visit #{getattr(session_context, 'visit', '?')} has ended")


def on_server_unloaded(server_context):
    print(f"on_server_unloaded: the app is unloaded after {server_context.visits} visit(s)")
