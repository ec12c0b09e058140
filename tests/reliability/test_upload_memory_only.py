"""Uploaded files never touch the disk, and their memory is freed when the session ends.

Notebook 05's upload app gets a 3 MB CSV through its FileInput. During the upload, Python
audit hooks in the Jupyter server (installed by a config file) and in the kernel (installed
by a cell) record every file either process opens for writing, creates, renames or
removes. None may appear. No file under the server's directories or /tmp may contain the
upload's marker afterwards either. Then the output is cleared: the uploaded table must be
gone, and the kernel's memory is reported."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.bokeh import bokeh_output, kernel_json
from tests.browser.jupyter import (
    JupyterServer,
    add_and_run_cell,
    open_notebook,
    run_all_cells,
    start_jupyter_server,
    stop_jupyter_server,
)
from tests.browser.test_notebooks import NOTEBOOKS_DIR, cell_with, clear_and_wait_upload_freed

#: Records file writes of the process it runs in, from a file opened before the hook.
AUDIT = """\
import os
import sys

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
EVENTS = ("os.rename", "os.remove", "os.mkdir", "shutil.copyfile", "shutil.move",
          "tempfile.mkstemp", "tempfile.mkdtemp", "os.truncate")


def writes_hook(record):
    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            writing = isinstance(mode, str) and any(c in mode for c in "wax+")
            if writing or (isinstance(flags, int) and flags & WRITE_FLAGS):
                record(f"open {path!r} {mode!r}")
        elif event in EVENTS:
            record(f"{event} {args!r}")
    return hook
"""

SERVER_CONFIG = """\
{audit}
_audit_log = open({log!r}, "a", buffering=1)
sys.addaudithook(writes_hook(lambda line: _audit_log.write(line + "\\n")))
"""

KERNEL_CELL = """\
{audit}
_writes = []
_recording = [False]
sys.addaudithook(writes_hook(lambda line: _recording[0] and _writes.append(line)))
def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
"""

ROWS = 60_000  # about 3 MB: base64 in one browser -> kernel message under the 10 MiB cap


@pytest.fixture(scope="module")
def audited_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, Path]]:
    base = tmp_path_factory.mktemp("lab-audited")
    log = base / "server-writes.log"
    config = base / "audit_config.py"
    config.write_text(SERVER_CONFIG.format(audit=AUDIT, log=str(log)))
    server = start_jupyter_server("lab", base / "lab", extra_args=[f"--config={config}"])
    try:
        yield server, log
    finally:
        stop_jupyter_server(server)


def big_csv(marker: str) -> bytes:
    lines = ["x,y,group"] + [f"{i},{(i * 7919) % 1000 / 10},{marker}" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def files_containing(roots: list[Path], needle: bytes, since: float) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            try:
                if not path.is_file() or path.stat().st_mtime < since:
                    continue
                if path.stat().st_size < 64 * 2**20 and needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue  # gone meanwhile, or not readable: not ours to judge
    return found


def test_uploads_stay_in_memory_and_are_freed(audited_lab, page, report_figure):
    server, server_log = audited_lab
    folder = f"examples-{uuid.uuid4().hex[:8]}"
    shutil.copytree(NOTEBOOKS_DIR, server.root_dir / folder,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))  # fmt: skip
    open_notebook(page, server, f"{folder}/05_upload_process_download.ipynb")
    assert run_all_cells(page)
    index = cell_with(page, "bokeh_nb.show(upload_app)")
    out = bokeh_output(page, index)
    add_and_run_cell(page, KERNEL_CELL.format(audit=AUDIT))
    rss_before = kernel_json(page, "_rss_mb()")

    marker = "upload" + uuid.uuid4().hex
    data = big_csv(marker)
    start = time.time()
    server_offset = server_log.stat().st_size
    kernel_json(page, "_recording.__setitem__(0, True)")
    out.scroll_into_view_if_needed()
    out.locator("input[type=file]").set_input_files(
        {"name": "big.csv", "mimeType": "text/csv", "buffer": data}
    )
    expect(out.get_by_text(f"Processed big.csv: {ROWS} rows.")).to_be_visible(timeout=120_000)
    rss_loaded = kernel_json(page, "_rss_mb()")
    kernel_writes = kernel_json(page, "[_recording.__setitem__(0, False), _writes][1]")
    with server_log.open() as f:
        f.seek(server_offset)
        server_writes = f.read().splitlines()
    # the two kernel_json cells above write nothing either: only the upload is in the window.
    # JupyterLab saves its layout (the workspace) as the page scrolls: UI state, which the
    # search for the marker below covers too.
    layout = [w for w in server_writes if w.endswith(".jupyterlab-workspace' 'w'")]
    assert kernel_writes == [], kernel_writes
    assert [w for w in server_writes if w not in layout] == [], server_writes
    roots = [server.base_dir, Path("/tmp"), Path.home() / ".local", Path.home() / ".cache"]
    on_disk = [p for p in files_containing(roots, marker.encode(), start) if "playwright" not in p]
    assert on_disk == [], on_disk

    clear_and_wait_upload_freed(page, index)
    rss_after = kernel_json(page, "_rss_mb()")
    # what glibc still keeps of the freed memory goes back to the system
    rss_trimmed = kernel_json(
        page, "[__import__('ctypes').CDLL(None).malloc_trim(0), _rss_mb()][1]"
    )
    report_figure(
        f"upload of {len(data) / 1e6:.1f} MB ({ROWS} rows): 0 files written by the kernel, "
        f"0 by the server but {len(layout)} saves of JupyterLab's layout, marker in 0 files; kernel RSS {rss_before:.0f} -> {rss_loaded:.0f} "
        f"MB loaded -> {rss_after:.0f} MB after the session ended ({rss_trimmed:.0f} MB after "
        "malloc_trim)"
    )
