"""The server's reader of a local kernel's iopub (``server/zmqtransport.py``): it decodes
only what may be for its sessions (a standalone session's marked frames, any
``comm_close``) and the status of its own requests, and drops the rest, a notebook's own
outputs and comms and the status of other clients' requests, before decoding them."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client.session import Session

from bokeh_nb.protocol import RELAY_METADATA
from bokeh_nb.server.zmqtransport import ZmqTransport, for_sessions

KEY = uuid.uuid4().hex.encode()


def kernel_session() -> Session:
    return Session(key=KEY, session="kernel", username="kernel")


def parts(session: Session, msg_type: str, content: dict[str, Any], **kw: Any) -> list[bytes]:
    msg = session.msg(msg_type, content, metadata=kw.get("metadata"), parent=kw.get("parent"))
    return session.serialize(msg)[1:] + list(kw.get("buffers", []))  # after the delimiter


def test_only_marked_frames_and_comm_closes_are_for_sessions() -> None:
    s = kernel_session()
    marked = parts(s, "comm_msg", {"comm_id": "a", "data": {}}, metadata=RELAY_METADATA)
    notebook = parts(s, "comm_msg", {"comm_id": "b", "data": {"bokeh_nb.relay": True}})
    closing = parts(s, "comm_close", {"comm_id": "a", "data": {}})
    status = parts(s, "status", {"execution_state": "busy"})
    stream = parts(s, "stream", {"name": "stdout", "text": '"comm_close"'})
    assert for_sessions(marked)
    assert for_sessions(closing)
    assert not for_sessions(notebook)  # the mark in the content is not a mark
    assert not for_sessions(status)
    assert not for_sessions(stream)  # nor the words in an output
    assert for_sessions(marked[:3])  # malformed: decoding reports it
    request = Session(key=KEY, session="bokeh_nb.relay-1").msg("comm_msg", {})
    ours = parts(s, "status", {"execution_state": "idle"}, parent=request)
    assert for_sessions(ours, "bokeh_nb.relay-1")  # the status of this transport's request
    assert not for_sessions(ours, "bokeh_nb.relay-2")  # of another's
    assert not for_sessions(ours)
    assert not for_sessions(status, "bokeh_nb.relay-1")


def test_the_reader_skips_a_notebooks_traffic_and_keeps_buffers_uncopied() -> None:
    async def main() -> list[dict[str, Any]]:
        ctx = zmq.asyncio.Context()
        pub = ctx.socket(zmq.PUB)
        port = pub.bind_to_random_port("tcp://127.0.0.1")
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{port}")
        kernel = kernel_session()
        reader = Session(key=KEY, session="relay", username="relay")
        client = SimpleNamespace(
            channels_running=True, iopub_channel=SimpleNamespace(socket=sub), session=reader
        )
        transport = ZmqTransport(client)
        try:
            await asyncio.sleep(0.3)  # the subscription reaches the publisher
            big = bytes(range(256)) * 4096  # 1 MiB, over pyzmq's copy threshold
            kernel.send(pub, "comm_msg", {"comm_id": "nb", "data": {}}, buffers=[big])
            kernel.send(pub, "status", {"execution_state": "idle"})
            theirs = Session(key=KEY, session="other").msg("comm_msg", {})
            kernel.send(pub, "status", {"execution_state": "idle"}, parent=theirs)
            kernel.send(
                pub,
                "comm_msg",
                {"comm_id": "s1", "data": {"kind": "bokeh"}},
                metadata=RELAY_METADATA,
                buffers=[big],
            )
            kernel.send(pub, "comm_close", {"comm_id": "s1", "data": {}})
            kernel.send(pub, "status", {"execution_state": "idle"}, parent=reader.msg("x", {}))
            got = [await asyncio.wait_for(transport.next_iopub(), 5) for _ in range(3)]
            return [{**m, "buffers": [bytes(b) for b in m["buffers"]]} for m in got] + [
                {"kinds": [type(b).__name__ for b in got[0]["buffers"]]}
            ]
        finally:
            sub.close(0)
            pub.close(0)
            ctx.term()

    first, second, third, kinds = asyncio.run(main())
    assert first["msg_type"] == "comm_msg"
    assert first["content"] == {"comm_id": "s1", "data": {"kind": "bokeh"}}
    assert first["buffers"] == [bytes(range(256)) * 4096]
    assert kinds == {"kinds": ["memoryview"]}
    assert second["msg_type"] == "comm_close"
    assert second["content"]["comm_id"] == "s1"
    assert third["msg_type"] == "status" and third["parent_header"]["session"] == "relay"


def test_nothing_goes_to_the_kernel_before_its_iopub_reaches_the_server(monkeypatch) -> None:
    """``connect`` asks the kernel for its info on the control channel until something
    arrives on iopub (the subscription is in place); what was sent meanwhile goes after,
    in order. A kernel that publishes nothing gets the requests when the nudging ends."""
    monkeypatch.setattr("bokeh_nb.server.zmqtransport.NUDGE_FOR", 1.0)

    async def main(publishes: bool) -> tuple[int, list[str], list[str]]:
        ctx = zmq.asyncio.Context()
        pub, shell, control = ctx.socket(zmq.PUB), ctx.socket(zmq.ROUTER), ctx.socket(zmq.ROUTER)
        ports = [s.bind_to_random_port("tcp://127.0.0.1") for s in (pub, shell, control)]
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(f"tcp://127.0.0.1:{ports[0]}")
        client_shell = ctx.socket(zmq.DEALER)
        client_shell.connect(f"tcp://127.0.0.1:{ports[1]}")
        made: list[zmq.asyncio.Socket] = []

        def connect_control() -> zmq.asyncio.Socket:
            made.append(ctx.socket(zmq.DEALER))
            made[-1].connect(f"tcp://127.0.0.1:{ports[2]}")
            return made[-1]

        kernel = kernel_session()
        client = SimpleNamespace(
            channels_running=True,
            iopub_channel=SimpleNamespace(socket=sub),
            shell_channel=SimpleNamespace(socket=client_shell),
            connect_control=connect_control,
            session=Session(key=KEY, session="relay", username="relay"),
        )
        transport = ZmqTransport(client)
        transport.send("comm_open", {"comm_id": "a"})
        transport.send("comm_msg", {"comm_id": "a"})
        early = await shell.poll(300)  # nothing yet: connect has not run
        asked = 0

        async def kernel_side() -> None:
            nonlocal asked
            while True:
                _, *frames = await control.recv_multipart()
                _, parts = kernel.feed_identities(frames)
                assert kernel.deserialize(parts)["msg_type"] == "kernel_info_request"
                asked += 1
                if publishes and asked >= 3:  # the first ones miss the subscription
                    kernel.send(pub, "status", {"execution_state": "idle"})

        answering = asyncio.ensure_future(kernel_side())
        try:
            await asyncio.wait_for(transport.connect(), 5)
            got = []
            for _ in range(2):
                _, *frames = await asyncio.wait_for(shell.recv_multipart(), 5)
                got.append(kernel.deserialize(kernel.feed_identities(frames)[1]))
            return early, [m["msg_type"] for m in got], [m["content"]["comm_id"] for m in got]
        finally:
            answering.cancel()
            assert all(s.closed for s in made)  # the control socket is let go
            for s in (pub, shell, control, sub, client_shell):
                s.close(0)
            ctx.term()

    for publishes in (True, False):
        early, kinds, comms = asyncio.run(main(publishes))
        assert early == 0
        assert kinds == ["comm_open", "comm_msg"] and comms == ["a", "a"]
