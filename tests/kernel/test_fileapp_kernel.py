"""A file-app kernel (as the server's pool starts it) serves app files on the session
comm and runs no code sent to it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager, start_new_kernel

from bokeh_nb.protocol import FILE_APP_START, SESSION_TARGET
from bokeh_nb.server.pool import shutdown_pooled

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
        km.shutdown_kernel()  # as the pool does: the files it was sent go with it


def test_a_pool_kernel_ends_its_app_when_the_session_ends(tmp_path: Path) -> None:
    """The pool shuts a session's kernel down as Jupyter does, not with a kill: the app's
    ``on_session_destroyed`` and ``on_server_unloaded`` run, as when a Bokeh server ends
    them, and the app files the kernel was sent are removed."""
    marks = tmp_path / "marks"
    marks.mkdir()
    main = (
        "from pathlib import Path\nfrom bokeh.io import curdoc\nfrom bokeh.models import Div\n"
        f"Path({str(marks / 'main')!r}).write_text(__file__)\n"
        "curdoc().add_root(Div(text='up'))\n"
    )
    lifecycle = (
        "from pathlib import Path\n"
        f"MARKS = Path({str(marks)!r})\n"
        "def on_session_destroyed(ctx): (MARKS / 'destroyed').write_text(ctx.id)\n"
        "def on_server_unloaded(ctx): (MARKS / 'unloaded').write_text('yes')\n"
    )

    async def session_then_shutdown() -> float:
        km = AsyncKernelManager(kernel_name="python3")
        await km.start_kernel(extra_arguments=[f"--IPKernelApp.exec_lines={FILE_APP_START}"])
        kc = km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=60)
            files = ["a/main.py", "a/server_lifecycle.py"]
            data = {"app": "a", "arguments": {}, "file": "a", "files": files}
            content = {"comm_id": uuid.uuid4().hex, "target_name": SESSION_TARGET, "data": data}
            buffers = [main.encode(), lifecycle.encode()]
            kc.session.send(
                kc.shell_channel.socket, kc.session.msg("comm_open", content), buffers=buffers
            )
            deadline = time.monotonic() + 60
            while not (marks / "main").exists() and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            kc.stop_channels()
        t0 = time.monotonic()
        await shutdown_pooled(km)  # as the pool does when the visitor leaves
        return time.monotonic() - t0

    took = asyncio.run(session_then_shutdown())
    sent_to = Path((marks / "main").read_text()).parent  # where the kernel wrote the app
    assert "bokeh-nb-app-" in str(sent_to), sent_to
    assert (marks / "destroyed").exists(), "on_session_destroyed did not run"
    assert (marks / "unloaded").read_text() == "yes", "on_server_unloaded did not run"
    assert not sent_to.exists(), f"the app files stayed in {sent_to}"
    assert took < 5, f"the kernel took {took:.1f} s to end, and was killed"
