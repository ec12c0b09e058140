"""A real ipykernel, driven through jupyter_client as a frontend would."""

from __future__ import annotations

import json
import queue
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel


@dataclass
class Kernel:
    client: Any
    iopub: list[dict[str, Any]] = field(default_factory=list)
    backlog: list[dict[str, Any]] = field(default_factory=list)

    def execute(
        self, code: str, timeout: float = 60, allow_error: bool = False
    ) -> list[dict[str, Any]]:
        """Run code; return the iopub messages of that execution (raises on error)."""
        msg_id = self.client.execute(code)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            self.iopub.append(msg)
            if msg["msg_type"] == "comm_msg":
                self.backlog.append(msg)  # a comm message sent while the cell ran
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            out.append(msg)
            if msg["msg_type"] == "error" and not allow_error:
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out

    def value(self, expr: str) -> Any:
        """The JSON value of a Python expression evaluated in the kernel."""
        for msg in self.execute(f"import json as _j; print(_j.dumps({expr}))"):
            if msg["msg_type"] == "stream":
                return json.loads(msg["content"]["text"])
        raise AssertionError(f"no output for {expr}")

    def comm_send(
        self, comm_id: str, data: dict[str, Any], buffers: list[bytes] | None = None
    ) -> str:
        content = {"comm_id": comm_id, "data": {"method": "custom", "content": data}}
        msg = self.client.session.msg("comm_msg", content)
        self.client.session.send(self.client.shell_channel.socket, msg, buffers=buffers or [])
        return str(msg["header"]["msg_id"])

    def comm_msgs(self, comm_id: str, timeout: float = 10, until: int = 1) -> list[dict[str, Any]]:
        """Collect custom comm messages of comm_id until `until` arrived or timeout."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(got) < until and (self.backlog or time.monotonic() < deadline):
            if self.backlog:
                msg = self.backlog.pop(0)
            else:
                try:
                    msg = self.client.get_iopub_msg(timeout=0.2)
                except queue.Empty:
                    continue
                self.iopub.append(msg)
            c = msg["content"]
            is_ours = msg["msg_type"] == "comm_msg" and c.get("comm_id") == comm_id
            if is_ours and c["data"].get("method") == "custom":
                got.append(msg)
        return got


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    km, kc = start_new_kernel(kernel_name="python3", extra_arguments=[], startup_timeout=60)
    km.kernel_spec.argv[0] = sys.executable
    try:
        yield Kernel(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def frame(
    msgtype: str, content: dict[str, Any] | str, client: str = "t1", **header: Any
) -> dict[str, Any]:
    return {
        "kind": "bokeh",
        "client": client,
        "header": {"msgid": uuid.uuid4().hex, "msgtype": msgtype, **header},
        "metadata": {},
        "content": content if isinstance(content, str) else json.dumps(content),
        "buffers": [],
    }
