"""A file-app kernel (as the server's pool starts it) serves app files on the session
comm and runs no code sent to it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

from bokeh_nb.protocol import FILE_APP_START, SESSION_TARGET

from .conftest import frame

APP = """\
from bokeh.io import curdoc
from bokeh.models import Div
curdoc().add_root(Div(text="from a file", name="d"))
"""


def replies(client: Any, comm_id: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    out: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=0.5)
        except Exception:
            if out:
                return out
            continue
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            out.append(msg["content"]["data"])
    return out


def test_file_app_kernel_serves_a_file_and_refuses_code(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    km, kc = start_new_kernel(
        kernel_name="python3",
        extra_arguments=[f"--IPKernelApp.exec_lines={FILE_APP_START}"],
        startup_timeout=60,
    )
    try:
        reply = kc.execute_interactive("open('/tmp/pwned', 'w')", timeout=30)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "PermissionError"
        assert "runs no other code" in reply["content"]["evalue"]

        def open_session(file: str) -> str:
            comm_id = uuid.uuid4().hex
            content = {
                "comm_id": comm_id,
                "target_name": SESSION_TARGET,
                "data": {"app": "app", "arguments": {}, "file": file},
            }
            kc.session.send(kc.shell_channel.socket, kc.session.msg("comm_open", content))
            return comm_id

        comm_id = open_session(str(app))
        pull = frame("PULL-DOC-REQ", {}, client="ws")
        msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": pull})
        kc.session.send(kc.shell_channel.socket, msg)
        [data] = replies(kc, comm_id)
        assert data["header"]["msgtype"] == "PULL-DOC-REPLY"
        assert "from a file" in json.dumps(data["content"])

        # a file that raises: the session is refused, the kernel goes on
        broken = tmp_path / "broken.py"
        broken.write_text("raise RuntimeError('boom')")
        [refused] = replies(kc, open_session(str(broken)))
        assert refused["kind"] == "error" and "failed to start a session" in refused["text"]
        assert not Path("/tmp/pwned").exists()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
