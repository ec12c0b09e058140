"""Names shared with the frontend (``labextension/src/protocol.ts``).

Every name that crosses the wire lives here once; ``tests/unit/test_protocol_names.py``
checks that the TypeScript side spells them the same way (via
``tests/fixtures/protocol.json``). The frames themselves are built and read by ``wire.py``
and described in ``docs/protocol.md``.
"""

from __future__ import annotations

from typing import Final

#: Version of the comm message format below. Bumped on any incompatible change.
PROTOCOL_VERSION = "1"

#: npm package / ipywidgets module that renders ``BokehWidget``.
WIDGET_MODULE = "bokeh-nb"
WIDGET_MODULE_VERSION = "^0.1.0"
WIDGET_MODEL = "BokehModel"
WIDGET_VIEW = "BokehView"

#: Route (below the Jupyter server's base URL) that serves BokehJS bundles.
STATIC_ROUTE = "bokeh-nb/static/bokehjs"

#: BokehJS bundles loaded for every document, in load order.
CORE_BUNDLES = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")
#: Bundles loaded only when a document needs them.
OPTIONAL_BUNDLES = ("bokeh-mathjax",)

#: MIME type of a bokeh_nb output's own entry in its bundle (``docs/snapshots.md``):
#: ``{"format", "bokeh_version", "bundles", "max_bytes", ...}``. With the extension it is
#: rendered first: live while the kernel's session is there, else from the snapshot.
OUTPUT_MIME = "application/vnd.bokeh-nb.output+json"
#: MIME type of a share link's output entry: ``{"app", "mode", "state", "text", "url"}``,
#: rendered by the extension while the page runs; a save keeps it without ``url`` and
#: ``text`` (``state`` "saved"), so no notebook file holds a link (``docs/sharing.md``).
SHARE_MIME = "application/vnd.bokeh-nb.share+json"
#: MIME type of the entry an ipywidgets container's output carries when it holds bokeh_nb
#: outputs: OUTPUT_MIME's fields plus ``"models"``, the contained outputs' widget model ids.
#: No renderer is registered for it (the container's widget view shows), the frontend's
#: save writes their snapshots into the output's ``text/html`` (``docs/snapshots.md``).
CONTAINER_MIME = "application/vnd.bokeh-nb.container+json"
#: ``type`` of the ``<script>`` in the output's ``text/html`` that holds the snapshot: the
#: document as BokehJS's ``Document.to_json()``, saved by the frontend with the notebook.
SNAPSHOT_SCRIPT_TYPE = "application/vnd.bokeh-nb.snapshot+json"
#: What the output's ``text/html`` says where no script runs (GitHub, sanitizing viewers).
SNAPSHOT_FALLBACK = (
    "Interactive Bokeh output (bokeh_nb). It renders in JupyterLab or Notebook 7 with "
    "bokeh_nb installed, and in this notebook exported with jupyter nbconvert --to html "
    "once it has been saved from there."
)
#: Version of that snapshot format.
SNAPSHOT_FORMAT = "1"
#: Default bound on one output's snapshot (its JSON text): larger documents are saved
#: without one, with a note. ``bokeh_nb.snapshot_limit()`` changes it for later outputs.
SNAPSHOT_MAX_BYTES = 24 * 1024 * 1024

#: Largest browser -> kernel message sent: jupyter_server closes a websocket that receives
#: more than its ``websocket_max_message_size`` (10 MiB by default); 64 KiB stay for the
#: Jupyter envelope. A larger change is refused in the page with a message saying so.
MAX_BROWSER_MESSAGE_BYTES = 10 * 1024 * 1024 - 64 * 1024

#: Comm target the frontend extension answers on every notebook kernel, so the kernel can
#: tell a frontend without bokeh_nb (which closes the comm unanswered) from a slow one.
FRONTEND_TARGET = "bokeh_nb.frontend"

#: Comm target of the server relay: each comm is one standalone session of a live app
#: (a full page at ``LIVE_APP_ROUTE``, or a ``bokeh.client`` connection).
SESSION_TARGET = "bokeh_nb.session"
#: Metadata of every iopub message of a standalone session (``RELAY_METADATA``): the
#: server's relay takes them, the kernel websockets of notebook pages skip them (no page
#: knows those comms; ``server/pagefilter.py``).
RELAY_MARK = "bokeh_nb.relay"
#: ... and tells the server that this kernel splits the batches it sends (``KIND_BATCH``
#: both ways; an older kernel has only the mark, and gets every frame as itself).
RELAY_SPLITS = "bokeh_nb.splits"
RELAY_METADATA = {RELAY_MARK: True, RELAY_SPLITS: True}
#: Start of the Jupyter session id of the server relay's requests to a local kernel: the
#: ``status`` busy / idle the kernel publishes around them skip notebook pages too.
RELAY_SESSION = "bokeh_nb.relay-"
#: Comm target the side panel opens on a kernel to list its live apps (the kernel answers
#: ``{"apps": [{"name", "sessions"}]}``; the panel closes the comm).
APPS_TARGET = "bokeh_nb.apps"
#: Route of a live app's full-page session, below the server's base URL.
LIVE_APP_ROUTE = "bokeh-nb/kernels/{kernel_id}/apps/{name}"
#: App files under the server's root as full-page sessions, each in a fresh kernel.
FILES_ROUTE = "bokeh-nb/files/{path}"
#: The one line a file-app kernel runs at startup (``kernel/fileapp.py``); fixed text,
#: never built from a request.
FILE_APP_START = "import bokeh_nb.kernel.fileapp as _bokeh_nb_fileapp; _bokeh_nb_fileapp.start()"

#: msgtype of the one message (in Bokeh's framing, of bokeh_nb's own type) that brings an
#: app page its app's own template (``templates/index.html``, ``doc.template``) rendered
#: in the kernel (``kernel/template.py``); only a page whose websocket asked for it with
#: ``TEMPLATE_ARG`` in its query gets it.
TEMPLATE_MSGTYPE = "BOKEH-NB-TEMPLATE"
TEMPLATE_ARG = "bokeh-nb-template"
#: What the refusal of a session whose template failed says (``the app 'x' could not
#: render templates/index.html, line 4: ...``): a live app's page shows that reason.
TEMPLATE_FAILED = "could not render"

#: REST API of share links (POST creates, GET lists, DELETE ``/{id}`` revokes).
SHARES_API = "bokeh-nb/api/shares"
#: What a share link opens (its page; ``/ws`` and ``/static/...`` below it).
SHARE_ROUTE = "bokeh-nb/s/{token}"

#: ``kind`` of a widget custom message.
KIND_BOKEH: Final = "bokeh"  # one whole Bokeh protocol message
KIND_VIEWS: Final = "views"  # a browser reports how many views of the output it shows
KIND_BYE: Final = "bye"  # a browser is going away (page closed, model disposed)
KIND_ERROR: Final = "error"  # kernel -> browser: an exception in user code, shown in the output
KIND_ACK: Final = "ack"  # browser -> kernel: the last kernel frame (its ``seq``) this page handled
KIND_STREAM: Final = "stream"  # kernel -> browser: what the output's callbacks printed
#: kernel -> server: the frames of several standalone sessions in one iopub message
#: (``{"kind", "frames": [{"comm_id", "data", "buffers"}]}``, their binary buffers one
#: after another), sent to a server that asked for it (``batches`` in the session's open);
#: server -> kernel the same, to a kernel that said it splits them (``RELAY_SPLITS``)
KIND_BATCH: Final = "batch"
#: The client a standalone session's server names in its frames (``client``): the one
#: peer of that session, whose acknowledgements (``acknowledges`` in the session's open)
#: the session's window waits for from its first frame on.
STANDALONE_CLIENT: Final = "ws"
#: A notebook page acknowledges the kernel frames it has handled every ``ACK_EVERY``
#: frames, as soon as handling frames has taken ``ACK_AFTER_MS`` since its last
#: acknowledgement, and each frame marked ``acknowledge``; a session holds its changes,
#: merged, while an acknowledging page is ``ACK_WINDOW`` frames or ``ACK_WINDOW_BYTES``
#: bytes behind (``kernel/flow.py``). An acknowledgement due less than ``ACK_GAP_MS``
#: after the last one (from a page, or from a standalone page's server) waits for the
#: end of that gap and then names the last frame handled: each is a request the kernel
#: handles in turn, and a lagging page that acknowledged every frame would keep its
#: kernel's shell busy with them while its own events queued behind.
ACK_EVERY = 8
ACK_AFTER_MS = 16
ACK_GAP_MS = 20
ACK_WINDOW = 4 * ACK_EVERY
ACK_WINDOW_BYTES = 48 * 1024
#: bokeh_nb's app page tells its server how many of the websocket's Bokeh messages it has
#: handled: this, then the count, as a text websocket message between Bokeh messages
#: (never a Bokeh fragment: those are JSON). It does so for its first message, every
#: ``ACK_EVERY`` messages, and each message whose metadata has ``ACKNOWLEDGE_KEY`` (the
#: server adds it where the kernel marked the frame ``acknowledge``).
PAGE_HANDLED = "bokeh_nb:handled:"
ACKNOWLEDGE_KEY = "bokeh_nb_acknowledge"
#: bokeh_nb's app page asks, with this in its websocket's query, to receive each Bokeh
#: message as one binary websocket message that packs its 3 + 2N fragments
#: (``server/wsframes.py`` ``packed_table``: jupyter_server's v1 layout, the number of
#: offsets, the offsets, the fragments); the page hands BokehJS the fragments one by one.
#: Chromium gives a page each websocket message in a task of its own, and a page got a
#: message's second large buffer 13-16 ms after its first
#: (``benchmarks/results/PROFILE.md``). Other clients (``bokeh.client``) keep Bokeh's
#: framing; what the page sends is Bokeh's framing either way.
PACKED_ARG = "bokeh-nb-packed"

#: Bokeh message types that travel over the comm.
BROWSER_MSGTYPES: tuple[str, ...] = ("PULL-DOC-REQ", "PATCH-DOC")
KERNEL_MSGTYPES: tuple[str, ...] = ("PULL-DOC-REPLY", "PATCH-DOC", "OK", "ERROR")

#: Lifetime of a share link made without one (the page's "Copy share link" and the share
#: API), in seconds.
SHARE_SECONDS = 3600
#: What a share link lets its visitors do: ``view`` (see, pan and zoom; nothing reaches
#: the kernel) or ``interact`` (widgets and tools drive the app's callbacks, within the
#: limits of ``kernel/visitor.py``).
VISITOR_MODES: tuple[str, ...] = ("view", "interact")

#: ``kind`` of the frames that bring BokehJS from the kernel to a page whose Jupyter server
#: does not serve the kernel's bokeh version (``kernel/bokehjs.py``): the page sends
#: ``{"kind", "client", "request", "version", "bundles"}``; the kernel answers
#: ``{"kind", "request", "version", "bundles": [{"name", "sha256", "bytes"}]}`` with each
#: bundle's text as one binary buffer, in that order (or ``{"kind", "request", "error"}``).
KIND_BOKEHJS: Final = "bokehjs"
#: Page config option the server extension sets to the bokeh version its server serves
#: BokehJS of (``STATIC_ROUTE``); a page loads other versions from the kernel.
SERVER_BOKEH_OPTION = "bokehNbBokehVersion"
#: The bokeh versions bokeh_nb renders: at least ``BOKEH_MIN``, below ``BOKEH_BELOW``
#: (major.minor). An output of any other version shows a message saying what to install.
BOKEH_MIN = "3.9"
BOKEH_BELOW = "3.11"

#: Keys of a PULL-DOC-REPLY's content beside ``doc``, for a document with custom models
#: (``kernel/extensions.py``): ``EXTENSIONS_KEY`` holds the code the page runs before it
#: builds the document, ``[{"name", "sha256", "code"}]`` in load order;
#: ``EXTENSIONS_ERROR_KEY`` says which model could not be built and why (the page shows
#: it instead of the document). Bokeh's own clients ignore both.
EXTENSIONS_KEY = "bokeh_nb_extensions"
EXTENSIONS_ERROR_KEY = "bokeh_nb_extensions_error"
