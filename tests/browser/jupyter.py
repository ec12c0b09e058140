"""Helpers for browser tests against a real JupyterLab / Notebook 7 server.

Two halves:

* Server management: :func:`start_jupyter_server` / :func:`stop_jupyter_server`
  start ``jupyter lab`` or ``jupyter notebook`` from the running interpreter's
  environment as a subprocess on 127.0.0.1 (free port, fixed random token,
  isolated config/runtime/settings/workspace dirs, no outbound checks) and
  tear it down again with bounded waits.
* Page helpers: plain functions taking a Playwright ``Page`` that drive the
  JupyterLab / Notebook 7 frontend through ``window.jupyterapp`` (the servers
  are started with ``--expose-app-in-browser``) instead of typing into
  CodeMirror: open a notebook, wait for the kernel, run cells, add cells,
  save, reload, and locate output areas.

Everything waits on concrete conditions with generous timeouts (the CI machine
has 2 cores); set ``JUPYTER_HARNESS_TIMEOUT_SCALE=2`` to double every timeout.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import nbformat

try:  # Playwright is only needed for the page helpers.
    from playwright.sync_api import BrowserContext, Locator, Page
except ImportError:  # pragma: no cover - import error surfaces in the fixtures
    BrowserContext = Locator = Page = Any  # type: ignore[misc,assignment]

Kind = Literal["lab", "notebook"]

TIMEOUT_SCALE = float(os.environ.get("JUPYTER_HARNESS_TIMEOUT_SCALE", "1") or 1)

#: Default timeouts in seconds (multiplied by ``TIMEOUT_SCALE``).
SERVER_START_TIMEOUT = 120.0
OPEN_TIMEOUT = 120.0
KERNEL_TIMEOUT = 90.0
EXECUTION_TIMEOUT = 120.0
SAVE_TIMEOUT = 30.0


def _seconds(value: float) -> float:
    return value * TIMEOUT_SCALE


def _ms(value: float) -> float:
    return value * TIMEOUT_SCALE * 1000.0


# --------------------------------------------------------------------------
# Server management
# --------------------------------------------------------------------------

HOST = "127.0.0.1"
#: Environment variable carried by the server and every kernel it starts, so
#: teardown can find stragglers by pid (only processes this harness started).
MARKER_ENV = "JUPYTER_BROWSER_HARNESS_ID"


class JupyterServerError(RuntimeError):
    """The Jupyter server failed to start or answer."""


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` / ``jupyter notebook`` subprocess."""

    kind: Kind
    port: int
    token: str
    root_dir: Path
    base_dir: Path
    log_path: Path
    env: dict[str, str]
    marker: str
    proc: subprocess.Popen | None = None
    _log_file: Any = field(default=None, repr=False)
    #: the server's ``base_url`` (``--ServerApp.base_url``), with both slashes
    prefix: str = "/"
    #: the origin browsers use when it is not the server's own (e.g. a reverse proxy's);
    #: ``dataclasses.replace(server, public="http://127.0.0.1:PORT")`` is the server as
    #: seen through that proxy, for every helper here
    public: str | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash): the public origin if one is set."""
        return self.public or f"http://{HOST}:{self.port}"

    @property
    def ws_origin(self) -> str:
        return "ws" + self.origin.removeprefix("http")

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/prefix/`` (the server's base URL, trailing slash)."""
        return self.origin + self.prefix

    def url(self, path: str = "", **query: str) -> str:
        """Absolute URL for ``path`` (below the base URL) with ``?token=...`` appended."""
        params = {**query, "token": self.token}
        return f"{self.base_url}{path.lstrip('/')}?{urllib.parse.urlencode(params)}"

    def is_same_origin(self, url: str) -> bool:
        """True for URLs on this server (http or ws) and for data:/blob:/about: URLs."""
        if url.startswith(("data:", "blob:", "about:")):
            return True
        for origin in (self.origin, self.ws_origin):
            if url == origin or url.startswith(origin + "/"):
                return True
        return False

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API (``path`` like ``api/sessions``) with the token."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.base_url}{path.lstrip('/')}",
            data=data,
            method=method,
            headers={
                "Authorization": f"token {self.token}",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"<cannot read {self.log_path}: {exc}>"

    def log_tail(self, lines: int = 200) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


# Ports for the servers the tests start come from below Linux's ephemeral range
# (32768-60999), where every port bound to 0 comes from: a kernel's five ZMQ ports
# (jupyter_client binds 0, closes, and the kernel binds them again later) and every
# outgoing connection. A port picked there could be taken by another test process's
# kernel between the probe and the server's bind, and a request to it then reads a ZMQ
# greeting. Below the range only another pick can take it, and no port is handed out
# twice by one test process.
TEST_PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def free_port() -> int:
    """A port on HOST that nothing listens on, never handed out before by this process."""
    for _ in range(200):
        port = secrets.choice(TEST_PORTS)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise OSError(f"no free port in {TEST_PORTS.start}-{TEST_PORTS.stop - 1} on {HOST}")


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1))


def _server_command(kind: Kind, python: Path) -> list[str]:
    script = python.parent / ("jupyter-lab" if kind == "lab" else "jupyter-notebook")
    if script.exists():
        return [str(script)]
    return [str(python), "-m", "jupyterlab" if kind == "lab" else "notebook"]


def prepare_environment(base_dir: Path, marker: str, python: Path | None = None) -> dict[str, str]:
    """Create isolated Jupyter dirs under ``base_dir`` and return the server env.

    * ``JUPYTER_CONFIG_DIR`` (tmp): server config that disables the news feed,
      the update check and the PyPI extension manager; JupyterLab user
      settings (under ``lab/user-settings``) that turn the news/update
      notifications off in the frontend as well.
    * ``JUPYTER_DATA_DIR`` / ``JUPYTER_RUNTIME_DIR`` / ``IPYTHONDIR`` /
      ``JUPYTERLAB_WORKSPACES_DIR`` (tmp): no state leaks from ``~``.
    * ``JUPYTER_PATH`` gets one tmp dir *prepended* that only holds a
      ``python3`` kernelspec pointing at ``sys.executable``; the venv's
      ``share/jupyter`` (labextensions, the product's extension) stays on the
      search path.
    * The venv's ``bin`` goes first on ``PATH``.

    ``python``: the server runs in that environment instead of this one (the
    ``python3`` kernelspec still points at ``sys.executable``); bokeh_nb's server
    extension is enabled in the config and its labextension linked on ``JUPYTER_PATH``,
    as an environment holding bokeh_nb's wheel would have them.
    """
    config_dir = base_dir / "config"
    data_dir = base_dir / "data"
    runtime_dir = base_dir / "runtime"
    extra_path = base_dir / "jupyter_path"
    for d in (
        config_dir,
        data_dir,
        runtime_dir,
        extra_path,
        base_dir / "ipython",
        base_dir / "workspaces",
    ):
        d.mkdir(parents=True, exist_ok=True)

    server_config: dict[str, Any] = {}
    if python is not None:
        server_config["ServerApp"] = {"jpserver_extensions": {"bokeh_nb": True}}
        link = extra_path / "labextensions" / "bokeh-nb"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(Path(__file__).resolve().parents[2] / "bokeh_nb" / "labextension")
    _write_json(
        config_dir / "jupyter_server_config.json",
        {
            **server_config,
            "LabApp": {
                # No announcements feed and no "new version" check (both would
                # go to the internet from the server).
                "news_url": None,
                "check_for_updates_class": "jupyterlab.handlers.announcements.NeverCheckForUpdate",
                # The default "pypi" manager queries PyPI when its panel is used.
                "extension_manager": "readonly",
            },
        },
    )
    settings_dir = config_dir / "lab" / "user-settings"
    _write_json(
        settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
        {"checkForUpdates": False, "fetchNews": "false"},
    )
    _write_json(
        extra_path / "kernels" / "python3" / "kernel.json",
        {
            "argv": [
                sys.executable,
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
            ],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": True},
        },
    )

    env = dict(os.environ)
    for var in (
        "JUPYTER_TOKEN",
        "JUPYTER_PASSWORD",
        "JUPYTER_CONFIG_PATH",
        "JUPYTER_PREFER_ENV_PATH",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "JPY_SESSION_NAME",
        "PYTHONSTARTUP",
    ):
        env.pop(var, None)
    server_python = python or Path(sys.executable)
    bin_dir = str(server_python.parent)
    existing_jupyter_path = env.get("JUPYTER_PATH")
    env.update(
        {
            "PATH": os.pathsep.join([bin_dir, env.get("PATH", "")]),
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_DATA_DIR": str(data_dir),
            "JUPYTER_RUNTIME_DIR": str(runtime_dir),
            "JUPYTER_PATH": os.pathsep.join(
                [str(extra_path)] + ([existing_jupyter_path] if existing_jupyter_path else [])
            ),
            "JUPYTERLAB_SETTINGS_DIR": str(settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(base_dir / "workspaces"),
            "IPYTHONDIR": str(base_dir / "ipython"),
            "PYTHONUNBUFFERED": "1",
            MARKER_ENV: marker,
        }
    )
    if python is not None:
        env["VIRTUAL_ENV"] = str(python.parent.parent)
    elif Path(sys.prefix) != Path(sys.base_prefix):
        env["VIRTUAL_ENV"] = sys.prefix
    return env


# prctl is resolved here, in the parent, so that the child (between fork and
# exec) only makes one foreign call and loads no library.
_PRCTL = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(Exception):
        _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    # If pytest dies hard, Linux sends SIGTERM to the server, which then shuts
    # its kernels down.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def start_jupyter_server(
    kind: Kind,
    base_dir: Path,
    *,
    extra_args: Sequence[str] = (),
    timeout: float = SERVER_START_TIMEOUT,
    prefix: str = "/",
    token: str | None = None,
    python: Path | None = None,
) -> JupyterServer:
    """Start ``jupyter lab`` (kind="lab") or ``jupyter notebook`` (kind="notebook"),
    at ``prefix`` (its ``base_url``, e.g. ``/jupyter/``) below its origin, with ``token``
    (a new random one by default), from the environment of ``python`` (this one by
    default; see :func:`prepare_environment`).

    Returns once ``/api/status`` answers. Raises :class:`JupyterServerError`
    (with the server log) if it exits or does not answer within ``timeout``.
    """
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    root_dir = base_dir / "root"
    root_dir.mkdir(exist_ok=True)
    token = token or secrets.token_hex(24)
    marker = f"{kind}-{uuid.uuid4().hex}"
    env = prepare_environment(base_dir, marker, python)
    log_path = base_dir / f"jupyter-{kind}.log"

    last_error: Exception | None = None
    for _attempt in range(3):  # the free port may be grabbed between probe and bind
        port = free_port()
        args = [
            *_server_command(kind, python or Path(sys.executable)),
            "--no-browser",
            "--allow-root",
            "--expose-app-in-browser",
            f"--ServerApp.ip={HOST}",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.open_browser=False",
            "--ServerApp.log_level=INFO",
            f"--ServerApp.base_url={prefix}",
            *extra_args,
        ]
        log_file = open(log_path, "ab")  # noqa: SIM115 - closed in stop_jupyter_server
        log_file.write(f"\n$ {' '.join(args)}\n".encode())
        log_file.flush()
        proc = subprocess.Popen(
            args,
            cwd=root_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_set_pdeathsig if _PRCTL is not None else None,  # noqa: PLW1509
        )
        server = JupyterServer(
            kind=kind,
            port=port,
            token=token,
            root_dir=root_dir,
            base_dir=base_dir,
            log_path=log_path,
            env=env,
            marker=marker,
            proc=proc,
            _log_file=log_file,
            prefix=prefix,
        )
        try:
            _wait_for_status(server, timeout)
            return server
        except BaseException as exc:
            stop_jupyter_server(server)  # its process and its log file, whatever went wrong
            if not isinstance(exc, JupyterServerError):
                raise
            last_error = exc
            if "already in use" not in server.log_text()[-4000:].lower():
                break
    raise JupyterServerError(
        f"{last_error}\n--- server log ({log_path}) ---\n{_tail(log_path)}"
    ) from last_error


def _tail(path: Path, lines: int = 200) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


def _wait_for_status(server: JupyterServer, timeout: float) -> None:
    deadline = time.monotonic() + _seconds(timeout)
    last = "no answer yet"
    while time.monotonic() < deadline:
        if not server.alive():
            raise JupyterServerError(
                f"jupyter {server.kind} exited with code {server.proc.returncode} during startup"
            )
        try:
            status = server.api("GET", "api/status", timeout=5)
            if isinstance(status, dict):
                return
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            last = repr(exc)  # HTTPException: something else answers on the port
        time.sleep(0.25)
    raise JupyterServerError(
        f"jupyter {server.kind} did not answer /api/status within {_seconds(timeout):.0f}s ({last})"
    )


def _wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _marked_pids(marker: str) -> list[int]:
    """Pids of live processes whose environment carries ``MARKER_ENV=marker``."""
    needle = f"{MARKER_ENV}={marker}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return [p for p in pids if p != os.getpid()]


def shutdown_all_kernels(server: JupyterServer, timeout: float = 10.0) -> None:
    """Delete every session and kernel on ``server`` (best effort, bounded)."""
    if not server.alive():
        return
    with contextlib.suppress(Exception):
        for session in server.api("GET", "api/sessions", timeout=timeout) or []:
            with contextlib.suppress(Exception):
                server.api("DELETE", f"api/sessions/{session['id']}", timeout=timeout)
    with contextlib.suppress(Exception):
        for kernel in server.api("GET", "api/kernels", timeout=timeout) or []:
            with contextlib.suppress(Exception):
                server.api("DELETE", f"api/kernels/{kernel['id']}", timeout=timeout)


def stop_jupyter_server(server: JupyterServer, *, graceful: bool = True) -> None:
    """Stop the server and everything it started; every wait is bounded (~50 s max).
    ``graceful=False`` kills it at once (nothing left to shut down cleanly, e.g. its
    kernels were on a gateway that is gone)."""
    proc = server.proc
    try:
        if proc is not None and proc.poll() is None:
            # 1. graceful: the server shuts its kernels down itself
            if graceful:
                with contextlib.suppress(Exception):
                    server.api("POST", "api/shutdown", timeout=5)
            if not graceful or not _wait_exit(proc, 20):
                # 2. SIGTERM to the server's process group, then 3. SIGKILL
                signals = ((signal.SIGTERM, 10),) if graceful else ()
                for sig, wait in (*signals, (signal.SIGKILL, 5)):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, sig)
                    if _wait_exit(proc, wait):
                        break
        # 4. kernels live in their own sessions: kill any survivor by pid
        if sys.platform.startswith("linux"):
            for _ in range(2):
                pids = _marked_pids(server.marker)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.5)
    finally:
        if server._log_file is not None:
            with contextlib.suppress(Exception):
                server._log_file.close()
            server._log_file = None


# --------------------------------------------------------------------------
# Recording what a page does
# --------------------------------------------------------------------------


#: Known, harmless frontend errors of the pinned Jupyter versions. They are
#: left out by ``PageLog.console_errors`` unless ``include_known=True``. Each
#: entry is one exact message, with the reason it cannot be fixed by settings.
KNOWN_FRONTEND_ERRORS: list[re.Pattern[str]] = [
    # Notebook 7.6 only (not JupyterLab): a startup race in
    # @jupyterlab/shortcuts-extension:shortcuts. Its pluginChanged handler reads
    # registry.plugins['@jupyterlab/shortcuts-extension:shortcuts'].schema
    # before that plugin's own settings are loaded; the docmanager plugin
    # force-reloads its settings on every widget-factory registration during
    # startup, which fires the handler in that window. Upstream:
    # jupyter/notebook#7862 (open). It is an unhandled rejection of an async
    # signal slot only; the shortcuts load fine afterwards (112 key bindings,
    # Shift+Enter included). No server/lab setting avoids the race, and
    # disabling the shortcuts plugin would remove all keyboard shortcuts.
    # The pattern requires the first stack frame to be in notebook_core.
    re.compile(
        r"^\[pageerror\] Cannot read properties of undefined \(reading 'schema'\)\n"
        r"TypeError: Cannot read properties of undefined \(reading 'schema'\)\n"
        r"\s+at https?://[^\s/]+/static/notebook/notebook_core\.[0-9a-f]+\.js\S*\n"
    ),
]


@dataclass
class ConsoleEntry:
    type: str
    text: str
    location: str
    page_url: str

    def __str__(self) -> str:
        return f"[{self.type}] {self.text} ({self.location})"


@dataclass
class PageLog:
    """Everything the browser context did: console, errors, requests, sockets."""

    console: list[ConsoleEntry] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    crashes: int = 0

    def console_errors(
        self,
        ignore: Iterable[str | re.Pattern[str]] = (),
        *,
        include_known: bool = False,
    ) -> list[str]:
        """Console messages of type error plus uncaught page errors, minus ``ignore``.

        ``ignore`` items are substrings or compiled regexes (``search``ed).
        :data:`KNOWN_FRONTEND_ERRORS` are left out unless ``include_known``.
        """
        found = [str(c) for c in self.console if c.type == "error"]
        found += [f"[pageerror] {e}" for e in self.page_errors]
        if self.crashes:
            found.append(f"[crash] page crashed {self.crashes} time(s)")
        patterns = list(ignore) + ([] if include_known else KNOWN_FRONTEND_ERRORS)

        def ignored(msg: str) -> bool:
            return any((p.search(msg) if isinstance(p, re.Pattern) else p in msg) for p in patterns)

        return [m for m in found if not ignored(m)]

    def all_urls(self) -> list[str]:
        return self.requests + self.websockets

    def foreign_requests(self, server: JupyterServer) -> list[str]:
        """Request/WebSocket URLs that left the server's origin (data:/blob: allowed)."""
        return [u for u in self.all_urls() if not server.is_same_origin(u)]

    def clear(self) -> None:
        for name in (
            "console",
            "page_errors",
            "requests",
            "failed_requests",
            "blocked_requests",
            "websockets",
            "dialogs",
        ):
            getattr(self, name).clear()
        self.crashes = 0

    def summary(self, limit: int = 200) -> str:
        lines = [f"requests: {len(self.requests)}, websockets: {len(self.websockets)}"]
        lines += [f"FOREIGN/BLOCKED {u}" for u in self.blocked_requests]
        lines += [f"FAILED {u}" for u in self.failed_requests[-limit:]]
        lines += [f"DIALOG {d}" for d in self.dialogs]
        lines += [f"PAGEERROR {e}" for e in self.page_errors]
        lines += [str(c) for c in self.console[-limit:]]
        return "\n".join(lines)


def assert_no_console_errors(log: PageLog, ignore: Iterable[str | re.Pattern[str]] = ()) -> None:
    errors = log.console_errors(ignore)
    assert not errors, "console errors:\n" + "\n".join(errors)


def assert_no_foreign_requests(log: PageLog, server: JupyterServer) -> None:
    foreign = log.foreign_requests(server)
    assert not foreign, f"requests that left {server.origin}:\n" + "\n".join(foreign)


def instrument_context(context: BrowserContext, log: PageLog) -> None:
    """Record console/page errors/requests/websockets of every page in ``context``.

    Requests to hosts other than 127.0.0.1/localhost are aborted (and still
    recorded, see ``PageLog.blocked_requests``), so a test never waits on a
    network timeout and never reaches outside. Also installs the page-side
    helpers (``window.__harness``) used by the functions below.
    """

    def on_page(page: Page) -> None:
        page.on(
            "console",
            lambda msg: log.console.append(
                ConsoleEntry(msg.type, msg.text, _location(msg), page.url)
            ),
        )
        page.on(
            "pageerror",
            lambda err: log.page_errors.append(f"{err}\n{getattr(err, 'stack', '') or ''}".strip()),
        )
        page.on("websocket", lambda ws: log.websockets.append(ws.url))
        page.on("crash", lambda _p: setattr(log, "crashes", log.crashes + 1))
        page.on("dialog", lambda dialog: _on_dialog(log, dialog))

    context.on("page", on_page)
    context.on("request", lambda req: log.requests.append(req.url))
    context.on(
        "requestfailed",
        lambda req: log.failed_requests.append(f"{req.url} ({req.failure})"),
    )

    def block(route: Any) -> None:
        log.blocked_requests.append(route.request.url)
        route.abort("blockedbyclient")

    # Only non-local http(s) URLs are intercepted; local traffic is untouched.
    context.route(re.compile(r"^https?://(?!(?:127\.0\.0\.1|localhost)(?::\d+)?(?:/|$))"), block)
    context.add_init_script(script=HARNESS_JS)


def _location(msg: Any) -> str:
    with contextlib.suppress(Exception):
        loc = msg.location
        return f"{loc.get('url', '')}:{loc.get('lineNumber', '')}"
    return ""


def _on_dialog(log: PageLog, dialog: Any) -> None:
    log.dialogs.append(f"{dialog.type}: {dialog.message}")
    with contextlib.suppress(Exception):
        if dialog.type == "beforeunload":
            dialog.accept()
        else:
            dialog.dismiss()


# --------------------------------------------------------------------------
# Notebook files
# --------------------------------------------------------------------------


def write_notebook(
    root_dir: Path | str,
    name: str,
    cells: Sequence[str | dict[str, Any]],
    *,
    kernel_name: str = "python3",
) -> Path:
    """Write ``name`` (relative to ``root_dir``) as an nbformat-4 notebook.

    ``cells`` items are code strings, or dicts ``{"cell_type": "markdown",
    "source": "..."}`` for other cell types; code-cell dicts may also carry
    ``"outputs"`` (nbformat output dicts) and ``"execution_count"``. Returns the
    file path. Pre-filled outputs are untrusted until :func:`trust_notebook`.
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": kernel_name,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        if isinstance(cell, str):
            nb.cells.append(nbformat.v4.new_code_cell(cell))
        elif cell.get("cell_type", "code") == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell.get("source", "")))
        elif cell.get("cell_type") == "raw":
            nb.cells.append(nbformat.v4.new_raw_cell(cell.get("source", "")))
        else:
            nb.cells.append(
                nbformat.v4.new_code_cell(
                    cell.get("source", ""),
                    outputs=[nbformat.from_dict(o) for o in cell.get("outputs", [])],
                    execution_count=cell.get("execution_count"),
                )
            )
    path = Path(root_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def trust_notebook(server: JupyterServer, name: str, timeout: float = 60.0) -> None:
    """Sign ``name`` with the server's notary (``jupyter trust`` in the server's
    environment), so its pre-filled outputs render as trusted (scripts run)."""
    bin_dir = Path(sys.executable).parent
    trust = bin_dir / "jupyter-trust"
    cmd = [str(trust)] if trust.exists() else [sys.executable, "-m", "nbformat.sign"]
    subprocess.run(
        [*cmd, str(server.root_dir / name)],
        env=server.env,
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=_seconds(timeout),
    )


def read_notebook(root_dir: Path | str, name: str) -> nbformat.NotebookNode:
    """Read the notebook file back from disk (e.g. to check what was saved)."""
    return nbformat.read(str(Path(root_dir) / name), as_version=4)


# --------------------------------------------------------------------------
# Frontend helpers (window.jupyterapp)
# --------------------------------------------------------------------------

# Installed into every page by instrument_context (and on demand by
# _ensure_js): small helpers on window.__harness used by the functions below.
HARNESS_JS = r"""
(() => {
  if (window.__harness) return;
  const H = { cmds: {}, next: 0 };
  H.app = () => window.jupyterapp || null;
  H.panel = () => {
    const app = H.app();
    if (!app || !app.shell) return null;
    const w = app.shell.currentWidget;
    if (w && w.content && w.sessionContext && w.context && w.content.model) return w;
    return null;
  };
  H.nb = () => {
    const p = H.panel();
    if (!p) throw new Error('harness: the current widget is not a notebook panel');
    return p;
  };
  H.path = (p) => (p.context.localPath !== undefined ? p.context.localPath : p.context.path);
  H.kernel = () => {
    const p = H.panel();
    const s = p && p.sessionContext.session;
    return (s && s.kernel) || null;
  };
  H.kernelIdle = () => {
    const p = H.panel();
    if (!p || !p.sessionContext.isReady) return false;
    const k = H.kernel();
    return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
  };
  H.cellsRendered = () => {
    const p = H.panel();
    if (!p || !p.context.isReady || !p.isVisible) return false;
    const nb = p.content;
    return nb.widgets.length === nb.model.cells.length;
  };
  H.running = () => {
    const p = H.panel();
    if (!p) return false;
    return p.content.widgets.some(
      c => c.model.type === 'code' && c.model.executionState === 'running');
  };
  H.cmdsDone = () => Object.values(H.cmds).every(c => c.done);
  H.exec = (id, args) => {
    const key = String(++H.next);
    H.cmds[key] = { id, done: false };
    Promise.resolve()
      .then(() => H.app().commands.execute(id, args || {}))
      .then(
        r => { H.cmds[key] = { id, done: true, ok: true,
               result: (r === undefined || typeof r === 'boolean' || typeof r === 'number'
                        || typeof r === 'string') ? r : String(r) }; },
        e => { H.cmds[key] = { id, done: true, ok: false,
               error: String((e && (e.stack || e.message)) || e) }; });
    return key;
  };
  H.state = () => {
    const p = H.panel();
    const k = H.kernel();
    return {
      app: !!H.app(), url: location.href, panel: p ? p.id : null, path: p ? H.path(p) : null,
      contextReady: p ? p.context.isReady : null,
      sessionReady: p ? p.sessionContext.isReady : null,
      kernelStatus: k ? k.status : null, connection: k ? k.connectionStatus : null,
      kernelName: k ? k.name : null,
      cells: p ? p.content.model.cells.length : null,
      widgets: p ? p.content.widgets.length : null,
      running: H.running(), dirty: p ? p.content.model.dirty : null,
      runningCells: p ? p.content.widgets.flatMap((c, i) =>
        c.model.type === 'code' && c.model.executionState === 'running' ? [i] : []) : [],
      pendingCommands: Object.values(H.cmds).filter(c => !c.done).map(c => c.id),
    };
  };
  window.__harness = H;
})();
"""


def _ensure_js(page: Page) -> None:
    page.evaluate(HARNESS_JS)


def _state(page: Page) -> dict[str, Any]:
    with contextlib.suppress(Exception):
        _ensure_js(page)
        return page.evaluate("() => window.__harness.state()")
    return {"state": "unavailable", "url": page.url}


def _wait(page: Page, predicate: str, timeout: float, what: str, arg: Any = None) -> None:
    """wait_for_function with a readable error (including frontend state) on timeout."""
    _ensure_js(page)
    try:
        page.wait_for_function(predicate, arg=arg, timeout=_ms(timeout), polling=100)
    except Exception as exc:  # playwright's TimeoutError
        if type(exc).__name__ != "TimeoutError":
            raise
        raise AssertionError(
            f"timed out after {_seconds(timeout):.0f}s waiting for {what}; "
            f"frontend state: {_state(page)}"
        ) from None


def notebook_url(server: JupyterServer, name: str) -> str:
    """The URL that opens ``name`` in the server's frontend (lab or notebook)."""
    quoted = urllib.parse.quote(name)
    if server.kind == "lab":
        # A fresh workspace per open, so tabs from earlier tests are not restored.
        return server.url(f"lab/workspaces/t{uuid.uuid4().hex[:12]}/tree/{quoted}")
    return server.url(f"notebooks/{quoted}")


def open_notebook(
    page: Page,
    server: JupyterServer,
    name: str,
    *,
    timeout: float = OPEN_TIMEOUT,
    wait_for_kernel: bool = True,
) -> None:
    """Open ``name`` in the frontend of ``server`` (JupyterLab or Notebook 7)."""
    if server.kind == "lab":
        open_in_lab(page, server, name, timeout=timeout, wait_for_kernel=wait_for_kernel)
    else:
        open_in_notebook(page, server, name, timeout=timeout, wait_for_kernel=wait_for_kernel)


def open_in_lab(
    page: Page,
    server: JupyterServer,
    name: str,
    *,
    timeout: float = OPEN_TIMEOUT,
    wait_for_kernel: bool = True,
) -> None:
    """Open ``/lab/workspaces/<fresh>/tree/<name>?token=...`` and wait until ready."""
    assert server.kind == "lab", f"open_in_lab needs a lab server, got {server.kind}"
    page.goto(notebook_url(server, name), wait_until="load", timeout=_ms(timeout))
    wait_for_notebook(page, name, timeout=timeout, wait_for_kernel=wait_for_kernel)


def open_in_notebook(
    page: Page,
    server: JupyterServer,
    name: str,
    *,
    timeout: float = OPEN_TIMEOUT,
    wait_for_kernel: bool = True,
) -> None:
    """Open ``/notebooks/<name>?token=...`` (Notebook 7) and wait until ready."""
    assert server.kind == "notebook", f"open_in_notebook needs a notebook server, got {server.kind}"
    page.goto(notebook_url(server, name), wait_until="load", timeout=_ms(timeout))
    wait_for_notebook(page, name, timeout=timeout, wait_for_kernel=wait_for_kernel)


def wait_for_app(page: Page, timeout: float = OPEN_TIMEOUT) -> None:
    """Wait until ``window.jupyterapp`` exists and has started and restored its layout."""
    _wait(page, "() => !!window.jupyterapp", timeout, "window.jupyterapp")
    page.evaluate(
        """() => { const app = window.jupyterapp;
                   if (app.__harnessRestored === undefined) {
                     app.__harnessRestored = false;
                     Promise.all([app.started, app.restored]).then(
                       () => { app.__harnessRestored = true; },
                       (e) => { app.__harnessRestored = 'error: ' + e; });
                   } }"""
    )
    _wait(
        page,
        "() => window.jupyterapp.__harnessRestored !== false",
        timeout,
        "the application to start and restore",
    )
    restored = page.evaluate("() => window.jupyterapp.__harnessRestored")
    assert restored is True, f"JupyterLab application failed to start: {restored}"


def wait_for_notebook(
    page: Page,
    name: str | None = None,
    *,
    timeout: float = OPEN_TIMEOUT,
    wait_for_kernel: bool = True,
) -> None:
    """Wait until the current widget is the notebook ``name`` with all cells rendered
    (and, by default, its kernel connected and idle)."""
    wait_for_app(page, timeout)
    _wait(
        page,
        """(name) => { const H = window.__harness; const p = H.panel();
                       return !!p && (name === null || H.path(p) === name) && H.cellsRendered(); }""",
        timeout,
        f"notebook {name!r} to be open and rendered",
        arg=name,
    )
    if wait_for_kernel:
        wait_for_kernel_idle(page, timeout=KERNEL_TIMEOUT)


def wait_for_kernel_idle(page: Page, timeout: float = KERNEL_TIMEOUT) -> None:
    """Wait until the current notebook's kernel is connected and idle."""
    _wait(page, "() => window.__harness.kernelIdle()", timeout, "the kernel to be idle")


def frontend_state(page: Page) -> dict[str, Any]:
    """Snapshot of the frontend state (url, notebook path, kernel status, cell counts,
    running cells, pending harness commands); handy in assertion messages."""
    return _state(page)


def execute_command(
    page: Page,
    command: str,
    args: dict[str, Any] | None = None,
    *,
    timeout: float = EXECUTION_TIMEOUT,
) -> Any:
    """Run a JupyterLab command (``app.commands.execute``) and wait for its promise.

    Returns the command's result if it is a primitive; raises AssertionError if
    the command rejected.
    """
    _ensure_js(page)
    key = page.evaluate("([id, args]) => window.__harness.exec(id, args)", [command, args or {}])
    _wait(
        page,
        "(key) => window.__harness.cmds[key].done",
        timeout,
        f"command {command!r} to finish",
        arg=key,
    )
    outcome = page.evaluate("(key) => window.__harness.cmds[key]", key)
    assert outcome.get("ok"), f"command {command!r} failed: {outcome.get('error')}"
    return outcome.get("result")


def wait_for_execution(page: Page, timeout: float = EXECUTION_TIMEOUT) -> None:
    """Wait until no harness command is pending, no code cell is running and the
    kernel is idle."""
    _wait(
        page,
        """() => { const H = window.__harness;
                   return H.cmdsDone() && !H.running() && H.kernelIdle(); }""",
        timeout,
        "execution to finish",
    )


def run_all_cells(page: Page, *, timeout: float = EXECUTION_TIMEOUT) -> bool:
    """Run all cells (``notebook:run-all-cells``) and wait until execution is done.

    Returns the command's result: True if every cell ran without error.
    """
    result = execute_command(page, "notebook:run-all-cells", timeout=timeout)
    wait_for_execution(page, timeout)
    return bool(result)


def select_cell(page: Page, index: int) -> None:
    """Make cell ``index`` the active (and only selected) cell."""
    _ensure_js(page)
    page.evaluate(
        """(i) => { const nb = window.__harness.nb().content;
                    if (i < 0 || i >= nb.widgets.length) throw new Error('no cell ' + i);
                    nb.deselectAll(); nb.activeCellIndex = i; }""",
        index,
    )


def run_cell(page: Page, index: int, *, timeout: float = EXECUTION_TIMEOUT) -> bool:
    """Run cell ``index`` (``notebook:run-cell``, no advance) and wait until done."""
    select_cell(page, index)
    result = execute_command(page, "notebook:run-cell", timeout=timeout)
    wait_for_execution(page, timeout)
    return bool(result)


def cell_count(page: Page) -> int:
    _ensure_js(page)
    return page.evaluate("() => window.__harness.nb().content.model.cells.length")


def get_cell_source(page: Page, index: int) -> str:
    _ensure_js(page)
    return page.evaluate(
        "(i) => window.__harness.nb().content.model.cells.get(i).sharedModel.getSource()",
        index,
    )


def set_cell_source(page: Page, index: int, source: str) -> None:
    """Replace the source of cell ``index`` through the notebook model."""
    _ensure_js(page)
    page.evaluate(
        """([i, src]) => { const cells = window.__harness.nb().content.model.cells;
                           if (i < 0 || i >= cells.length) throw new Error('no cell ' + i);
                           cells.get(i).sharedModel.setSource(src); }""",
        [index, source],
    )


def insert_cell(
    page: Page,
    source: str,
    index: int | None = None,
    *,
    cell_type: Literal["code", "markdown", "raw"] = "code",
    timeout: float = 30.0,
) -> int:
    """Insert a cell (at ``index``, default: at the end) through the shared model.

    Returns the new cell's index once its widget exists.
    """
    _ensure_js(page)
    new_index = page.evaluate(
        """([src, index, type]) => {
             const model = window.__harness.nb().content.model;
             const n = model.cells.length;
             const i = (index === null || index < 0 || index > n) ? n : index;
             model.sharedModel.insertCell(i, { cell_type: type, source: src, metadata: {} });
             return i; }""",
        [source, index, cell_type],
    )
    _wait(
        page,
        "() => window.__harness.cellsRendered()",
        timeout,
        "the new cell to render",
    )
    return new_index


def add_and_run_cell(page: Page, source: str, *, timeout: float = EXECUTION_TIMEOUT) -> int:
    """Append a code cell with ``source``, run it, wait; returns its index."""
    index = insert_cell(page, source)
    run_cell(page, index, timeout=timeout)
    return index


def cell_execution_count(page: Page, index: int) -> int | None:
    _ensure_js(page)
    return page.evaluate(
        "(i) => window.__harness.nb().content.model.cells.get(i).executionCount", index
    )


def cell_outputs(page: Page, index: int) -> list[dict[str, Any]]:
    """The nbformat outputs of cell ``index`` as held by the frontend model."""
    _ensure_js(page)
    return page.evaluate(
        """(i) => { const c = window.__harness.nb().content.model.cells.get(i);
                    return c.type === 'code' ? c.outputs.toJSON() : []; }""",
        index,
    )


def _panel_selector(page: Page) -> str:
    _ensure_js(page)
    panel_id = page.evaluate("() => { const p = window.__harness.panel(); return p && p.id; }")
    assert panel_id, f"no notebook is the current widget; state: {_state(page)}"
    return f'[id="{panel_id}"]'


def notebook_locator(page: Page) -> Locator:
    """The current notebook panel element."""
    return page.locator(_panel_selector(page))


def cell_locator(page: Page, index: int) -> Locator:
    """The ``.jp-Cell`` element of cell ``index`` in the current notebook."""
    return page.locator(f"{_panel_selector(page)} .jp-Notebook .jp-Cell").nth(index)


def cell_output(page: Page, index: int) -> Locator:
    """The output area element (``.jp-Cell-outputArea``) of cell ``index``.

    Resolve it again after :func:`reload_page` (it is bound to the panel id).
    """
    return cell_locator(page, index).locator(".jp-Cell-outputArea").first


def save_notebook(page: Page, *, timeout: float = SAVE_TIMEOUT) -> None:
    """Save the current notebook (``docmanager:save``) and wait until it is clean."""
    execute_command(page, "docmanager:save", timeout=timeout)
    _wait(
        page,
        "() => { const p = window.__harness.panel(); return !!p && !p.context.model.dirty; }",
        timeout,
        "the notebook to be saved",
    )


def reload_page(page: Page, *, timeout: float = OPEN_TIMEOUT, wait_for_kernel: bool = True) -> None:
    """Reload the browser page and wait until the same notebook is open again."""
    _ensure_js(page)
    name = page.evaluate(
        "() => { const H = window.__harness; const p = H.panel(); return p ? H.path(p) : null; }"
    )
    page.reload(wait_until="load", timeout=_ms(timeout))
    wait_for_notebook(page, name, timeout=timeout, wait_for_kernel=wait_for_kernel)
