"""The servers each system runs on: JupyterLab from a given virtual environment, and
``bokeh serve``. All on 127.0.0.1, each stopped with bounded waits."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.browser.jupyter import (
    HOST,
    JupyterServer,
    free_port,
    prepare_environment,
    start_jupyter_server,
    stop_jupyter_server,
)

__all__ = ("BokehServe", "start_bokeh_serve", "start_lab", "stop_bokeh_serve", "stop_lab")

APP_DIR = Path(__file__).resolve().parent / "app"
START_TIMEOUT = 120.0


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as e:
        return e.code < 500
    except (http.client.HTTPException, OSError):  # HTTPException: not an HTTP server
        return False


def _wait_until_answers(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({proc.returncode}); see {log}")
        if _answers(url):
            return
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {START_TIMEOUT:.0f} s; see {log}")


def _lab_in_venv(python: Path, base_dir: Path) -> JupyterServer:
    """``jupyter lab`` of another virtual environment, with the isolated directories and
    settings of the browser tests' harness and a kernel running that environment's Python."""
    marker = f"bench-{uuid.uuid4().hex}"
    env = prepare_environment(base_dir, marker)
    bin_dir = python.parent
    kernel_json = base_dir / "jupyter_path" / "kernels" / "python3" / "kernel.json"
    spec = json.loads(kernel_json.read_text())
    spec["argv"][0] = str(python)
    kernel_json.write_text(json.dumps(spec))
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(bin_dir.parent)
    root_dir = base_dir / "root"
    root_dir.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_hex(24), free_port()
    log_path = base_dir / "jupyter-lab.log"
    args = [
        str(bin_dir / "jupyter-lab"),
        "--no-browser",
        "--allow-root",
        "--expose-app-in-browser",
        f"--ServerApp.ip={HOST}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    log_file: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed by stop_jupyter_server
    proc = subprocess.Popen(
        args,
        cwd=root_dir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = JupyterServer(
        kind="lab",
        port=port,
        token=token,
        root_dir=root_dir,
        base_dir=base_dir,
        log_path=log_path,
        env=env,
        marker=marker,
        proc=proc,
        _log_file=log_file,
    )
    try:
        _wait_until_answers(f"{server.origin}/api/status?token={token}", proc, log_path)
    except Exception:
        stop_jupyter_server(server)
        raise
    return server


def start_lab(python: Path, base_dir: Path) -> JupyterServer:
    """JupyterLab on 127.0.0.1 whose kernels run ``python`` (the harness's own start when
    that is this interpreter, i.e. bokeh_nb's environment)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    if python.parent.parent.absolute() == Path(sys.prefix).absolute():
        return start_jupyter_server("lab", base_dir)
    return _lab_in_venv(python, base_dir)


def stop_lab(server: JupyterServer) -> None:
    stop_jupyter_server(server)


@dataclass
class BokehServe:
    """``bokeh serve benchmarks/app/serve.py`` on 127.0.0.1."""

    proc: subprocess.Popen[bytes]
    port: int
    log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/serve"

    @property
    def pid(self) -> int:
        return self.proc.pid


def start_bokeh_serve(
    python: Path, base_dir: Path, *, nodelay: bool = False, script: Path | None = None
) -> BokehServe:
    """``nodelay``: its websockets with TCP_NODELAY set (``BENCH_TCP_NODELAY``, serve.py);
    ``script``: the app to serve instead of ``serve.py`` (at ``/{its stem}``)."""
    base_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = base_dir / "bokeh-serve.log"
    log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed by stop_bokeh_serve
    env = dict(os.environ, PYTHONPATH=str(APP_DIR), PYTHONUNBUFFERED="1")
    env["BENCH_TCP_NODELAY"] = "1" if nodelay else "0"
    proc = subprocess.Popen(
        [
            str(python.parent / "bokeh"),
            "serve",
            str(script or APP_DIR / "serve.py"),
            f"--address={HOST}",
            f"--port={port}",
            f"--allow-websocket-origin={HOST}:{port}",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    serve = BokehServe(proc, port, log)
    try:  # a static file: the app's own URL would open a session
        _wait_until_answers(f"http://{HOST}:{port}/static/js/bokeh.min.js", proc, log_path)
    except Exception:
        stop_bokeh_serve(serve)
        raise
    return serve


def stop_bokeh_serve(serve: BokehServe) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if serve.proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serve.proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            serve.proc.wait(timeout=wait)
    serve.log.close()
