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

        # a file that raises: the session is refused with what it raised, the kernel goes on
        broken = tmp_path / "broken.py"
        broken.write_text("raise RuntimeError('boom')")
        [refused] = replies(kc, open_session(str(broken)))
        assert refused["kind"] == "error"
        assert refused["text"] == "the app file 'app' raised RuntimeError: boom"
        assert not Path("/tmp/pwned").exists()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_file_app_kernel_serves_an_app_sent_as_files(tmp_path: Path) -> None:
    """As on a kernel gateway: the comm-open carries the app's files as buffers. A bundle
    that names a path out of the kernel's copy is refused and writes nothing."""
    km, kc = start_new_kernel(
        kernel_name="python3",
        extra_arguments=[f"--IPKernelApp.exec_lines={FILE_APP_START}"],
        startup_timeout=60,
    )
    main = (
        "from pathlib import Path\nfrom bokeh.io import curdoc\nfrom bokeh.models import Div\n"
        "text = (Path(__file__).parent / 'data' / 'x.txt').read_text()\n"
        "curdoc().add_root(Div(text=text + ' ' + __file__, name='d'))\n"
    )
    escape = tmp_path / "escaped.txt"
    try:

        def open_session(entry: str, files: list[str], buffers: list[bytes]) -> str:
            comm_id = uuid.uuid4().hex
            data = {"app": "a", "arguments": {}, "file": entry, "files": files}
            content = {"comm_id": comm_id, "target_name": SESSION_TARGET, "data": data}
            msg = kc.session.msg("comm_open", content)
            kc.session.send(kc.shell_channel.socket, msg, buffers=buffers)
            return comm_id

        bad = [
            ("a", ["a/main.py", f"a/../../../..{escape}"], [b"x", b"y"]),
            ("a", [str(escape)], [b"y"]),
            ("/a", ["a/main.py"], [main.encode()]),
            ("a", ["a/main.py", "a/data/x.txt"], [main.encode()]),  # a buffer missing
        ]
        for entry, files, buffers in bad:
            [refused] = replies(kc, open_session(entry, files, buffers))
            assert refused["kind"] == "error" and "could not be loaded" in refused["text"]
        assert not escape.exists()

        comm_id = open_session("a", ["a/main.py", "a/data/x.txt"], [main.encode(), b"sent"])
        msg = kc.session.msg(
            "comm_msg", {"comm_id": comm_id, "data": frame("PULL-DOC-REQ", {}, client="ws")}
        )
        kc.session.send(kc.shell_channel.socket, msg)
        [data] = replies(kc, comm_id)
        text = json.dumps(data["content"])
        assert "sent " in text and "bokeh-nb-app-" in text, text[:500]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
