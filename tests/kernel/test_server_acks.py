"""A standalone session in a real ipykernel, paced by a server that acknowledges: the
frames carry their numbers, and while the server has not acknowledged what it was sent
(its peer does not read), the session holds its changes and its callbacks wait, within
the window of ``kernel/flow.AckWindow``; once acknowledged, it goes on, nothing lost."""

from __future__ import annotations

import queue
import time
from typing import Any

from bokeh_nb import wire
from bokeh_nb.protocol import ACK_WINDOW

from .conftest import Kernel
from .test_relay_batches import TICKER, open_page, rows_of


def acknowledge(kernel: Kernel, comm_id: str, seq: int) -> None:
    kc = kernel.client
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": wire.ack_frame("ws", seq)})
    kc.session.send(kc.shell_channel.socket, msg)


def frames_for(
    kernel: Kernel, seconds: float, acknowledging: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The frames each session's comm got on iopub within ``seconds``; those of comm
    ``acknowledging`` are acknowledged as they come, as a server whose peer reads."""
    got: dict[str, list[dict[str, Any]]] = {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            msg = kernel.client.get_iopub_msg(timeout=0.05)
        except queue.Empty:
            continue
        if msg["msg_type"] == "comm_msg":
            comm_id, frame = msg["content"]["comm_id"], msg["content"]["data"]
            got.setdefault(comm_id, []).append(frame)
            if comm_id == acknowledging:
                acknowledge(kernel, comm_id, frame["seq"])
    return got


def test_a_session_waits_for_the_server_that_acknowledges(kernel: Kernel) -> None:
    kernel.execute(TICKER)
    open_page(kernel, "paced", batches=False, acknowledges=True)
    open_page(kernel, "unpaced", batches=False)
    first = frames_for(kernel, 0.5)
    assert all("seq" in f for f in first["paced"])
    assert not any("seq" in f for f in first["unpaced"])
    acknowledge(kernel, "paced", first["paced"][-1]["seq"])  # from now on it counts
    held = frames_for(kernel, 2.0)  # 200 ticks/s, no further acknowledgement
    acknowledge(kernel, "paced", held["paced"][-1]["seq"])
    after = frames_for(kernel, 1.0, acknowledging="paced")
    kernel.execute("for s in list(app.sessions): s.destroy()")

    sent = [*first["paced"], *held["paced"]]
    # without acknowledgements it stops within the window; the other session goes on
    assert ACK_WINDOW // 2 <= len(held["paced"]) <= ACK_WINDOW, len(held["paced"])
    assert len(held["unpaced"]) > 4 * ACK_WINDOW, len(held["unpaced"])
    assert len(after["paced"]) > 2 * ACK_WINDOW  # acknowledged again: on it goes
    rows = [n for frame in [*sent, *after["paced"]] for n in rows_of(frame)]
    assert rows == list(range(1, len(rows) + 1))  # the ticks waited: none lost or merged away


def test_a_session_is_held_from_its_first_frame_before_any_acknowledgement(
    kernel: Kernel,
) -> None:
    """The server says in the open that it acknowledges: the session waits for it from
    the first frame, not from its first acknowledgement (a stream that starts with the
    session would otherwise run ahead of its page from the start)."""
    kernel.execute(TICKER)
    open_page(kernel, "waited-for", batches=False, acknowledges=True)
    open_page(kernel, "not-waited-for", batches=False)
    got = frames_for(kernel, 1.5)  # 200 ticks/s, nothing acknowledged
    first = got["waited-for"][-1]["seq"]
    acknowledge(kernel, "waited-for", first)
    after = frames_for(kernel, 1.0, acknowledging="waited-for")
    kernel.execute("for s in list(app.sessions): s.destroy()")

    assert len(got["waited-for"]) <= ACK_WINDOW + 1, len(got["waited-for"])  # + the document
    assert len(got["not-waited-for"]) > 4 * ACK_WINDOW, len(got["not-waited-for"])
    assert len(after["waited-for"]) > 2 * ACK_WINDOW  # acknowledged: on it goes
    rows = [n for frame in [*got["waited-for"], *after["waited-for"]] for n in rows_of(frame)]
    assert rows == list(range(1, len(rows) + 1))  # none lost or merged away
