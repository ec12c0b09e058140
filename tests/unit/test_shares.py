"""Share link tokens: genuine, current and not revoked, or refused; and the kernel's
parsing of ``expires``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bokeh_nb.kernel.share import parse_expires
from bokeh_nb.server.logfilter import redact
from bokeh_nb.server.shares import ShareRegistry


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class FakeSocket:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


def registry(clock: Clock, secret: bytes = b"s" * 32) -> ShareRegistry:
    return ShareRegistry(secret, max_ttl=3600, clock=clock)


def test_a_genuine_token_grants_its_share_and_nothing_else() -> None:
    clock = Clock()
    reg = registry(clock)
    a = reg.create("k1", "sliders", "view", 60, "ann")
    b = reg.create("k1", "other", "interact", 60, "ann")
    assert reg.verify(a.token) is a and reg.verify(b.token) is b
    share_id, signature = a.token.split(".")
    # a signature is bound to its share: swapping, truncating or forging fails
    assert reg.verify(f"{share_id}.{b.token.split('.')[1]}") is None
    assert reg.verify(f"{share_id}.{signature[:-1]}") is None
    assert reg.verify(f"{share_id}.{'A' * len(signature)}") is None
    assert reg.verify(share_id) is None
    assert reg.verify("") is None
    assert reg.verify("../../api/kernels") is None
    # another server (another secret) does not accept this server's links
    assert registry(clock, b"t" * 32).verify(a.token) is None


def test_expiry_and_revocation_refuse_and_close_open_sessions() -> None:
    clock = Clock()
    reg = registry(clock)
    a = reg.create("k1", "sliders", "interact", 60, "ann")
    b = reg.create("k1", "sliders", "interact", 600, "ann")
    sa, sb = FakeSocket(), FakeSocket()
    a.sockets.add(sa)
    b.sockets.add(sb)
    clock.now += 61
    assert reg.verify(a.token) is None
    assert sa.closed == (1008, "this share link has expired")
    assert reg.verify(b.token) is b and sb.closed is None
    assert reg.revoke(b.id) and not reg.revoke(b.id)
    assert sb.closed == (1008, "this share link was revoked")
    assert reg.verify(b.token) is None
    assert reg.list() == []


class Timers:
    """A ``schedule`` that keeps its callbacks: expiry is run by hand (``fire``)."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[float, Any]] = {}
        self.cancelled: list[float] = []
        self.made = 0

    def __call__(self, delay: float, callback: Any) -> Any:
        key = self.made = self.made + 1
        self.pending[key] = (delay, callback)
        timers = self

        class Timer:
            def cancel(self) -> None:
                if key in timers.pending:
                    timers.cancelled.append(timers.pending.pop(key)[0])

        return Timer()

    def fire(self, delay: float) -> None:
        key = next(k for k, (d, _) in self.pending.items() if d == delay)
        self.pending.pop(key)[1]()


def test_each_link_expires_on_its_timer_and_none_after_the_server_stops() -> None:
    clock, timers = Clock(), Timers()
    reg = ShareRegistry(b"s" * 32, max_ttl=3600, clock=clock, schedule=timers)
    a = reg.create("k1", "sliders", "view", 60, "ann")
    b = reg.create("k1", "sliders", "view", 600, "ann")
    c = reg.create("k1", "sliders", "view", 900, "ann")
    socket = FakeSocket()
    a.sockets.add(socket)
    timers.fire(60)  # a's timer
    assert socket.closed == (1008, "this share link has expired")
    assert reg.verify(a.token) is None
    assert reg.revoke(b.id)
    assert timers.cancelled == [600]  # a revoked link's timer goes with it
    reg.stop()
    assert timers.cancelled == [600, 900] and reg.verify(c.token) is c


def test_bad_requests_are_refused() -> None:
    reg = registry(Clock())
    with pytest.raises(ValueError, match="mode"):
        reg.create("k1", "sliders", "admin", 60, "ann")
    with pytest.raises(ValueError, match="expires"):
        reg.create("k1", "sliders", "view", 3601, "ann")
    with pytest.raises(ValueError, match="expires"):
        reg.create("k1", "sliders", "view", 0, "ann")


def test_logs_never_show_a_token() -> None:
    uri = "/user/ann/bokeh-nb/s/abc.def/ws?bokeh-session-id=1"
    assert redact(uri) == "/user/ann/bokeh-nb/s/[token]/ws?bokeh-session-id=1"
    assert redact("/bokeh-nb/s/abc.def") == "/bokeh-nb/s/[token]"
    assert redact("/api/kernels") == "/api/kernels"
    assert (
        redact("/bokeh-nb/files/a.py?token=abc&who=x")
        == "/bokeh-nb/files/a.py?token=[secret]&who=x"
    )


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (90, 90),
        (1.5, 1.5),
        ("90s", 90),
        ("30m", 1800),
        ("1h", 3600),
        ("2d", 172800),
        ("45", 45),
        (dt.timedelta(hours=2), 7200),
    ],
)
def test_expires_forms(given: Any, seconds: float) -> None:
    assert parse_expires(given) == seconds


@pytest.mark.parametrize("given", ["soon", "1w", "-1h", 0, -5, True, None, "1h; rm"])
def test_bad_expires_say_what_is_accepted(given: Any) -> None:
    with pytest.raises(ValueError, match="expires"):
        parse_expires(given)
