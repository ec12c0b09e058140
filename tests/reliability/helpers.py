"""Shared by the reliability tests: a Jupyter server that restarts in place, process
memory, percentiles, and the named Divs an app page shows."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.browser.jupyter import (
    _PRCTL,
    SERVER_START_TIMEOUT,
    JupyterServer,
    Kind,
    _set_pdeathsig,
    _wait_exit,
    _wait_for_status,
    start_jupyter_server,
    stop_jupyter_server,
)

# ------------------------------------------------------------------ processes


def rss_mb(pid: int) -> float:
    """A process's resident memory in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def pct(values: list[float], q: float) -> float:
    """The q-quantile of values (nearest rank), for figures."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------ a restartable server


@contextlib.contextmanager
def dedicated_server(kind: Kind, base_dir: Path) -> Iterator[JupyterServer]:
    """A Jupyter server of one test alone (the shared ones must not restart); stopped at
    the end, whichever process it runs in by then."""
    server = start_jupyter_server(kind, base_dir)
    try:
        yield server
    finally:
        stop_jupyter_server(server)


def restart_server(server: JupyterServer, timeout: float = SERVER_START_TIMEOUT) -> float:
    """Restart ``server`` as an administrator would (SIGTERM, then the same command): the
    same port, token, root dir and configuration, so open pages find it again. Its kernels
    die with it. ``server`` then describes the new process; returns the seconds from the
    signal until the new server answered."""
    proc = server.proc
    assert proc is not None and proc.poll() is None, "the server is not running"
    argv = [a.decode() for a in Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[:-1]]
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # jupyter_server shuts its kernels down on SIGTERM
    if not _wait_exit(proc, 30):
        os.killpg(proc.pid, signal.SIGKILL)
        _wait_exit(proc, 10)
    stop_jupyter_server(server)  # closes the log; kills a kernel that outlived its server
    log = open(server.log_path, "ab")  # noqa: SIM115 - closed by stop_jupyter_server
    log.write(b"\n$ (the same command again: a restart)\n")
    log.flush()
    server._log_file = log
    server.proc = subprocess.Popen(
        argv,
        cwd=server.root_dir,
        env=server.env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_set_pdeathsig if _PRCTL is not None else None,  # noqa: PLW1509
    )
    _wait_for_status(server, timeout)
    return time.monotonic() - start


# ------------------------------------------------------------------ pages

#: ``{name: text}`` of the named Divs in an app page's document. (A reconnect replaces the
#: document's content through a new Document that is left empty, so look at the one that
#: has roots.)
APP_PAGE_DIVS = """() => {
  const docs = (window.Bokeh ? window.Bokeh.documents : []).filter(d => d.roots().length > 0);
  const doc = docs[docs.length - 1];
  const out = {};
  for (const m of doc ? doc._all_models.values() : []) {
    if (m.name && typeof m.text === 'string') out[m.name] = m.text;
  }
  return out;
}"""
