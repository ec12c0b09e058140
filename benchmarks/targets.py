"""The performance targets, each a ratio to a figure measured in the same run: the best
anchor, or a floor (the same work without bokeh_nb: the data made in the page, a bare
websocket, a bare comm message)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .report import ANCHORS, NOTEBOOK_ANCHORS, OURS, get, sizes_of

__all__ = ("Target", "targets")

#: sizes (values per column) where the update must lead the best anchor by 1.5 x
UPDATE_LEAD_SIZES = (10**6, 10**7)


@dataclass(frozen=True)
class Target:
    what: str
    system: str
    value: float | None
    limit: float | None
    met: bool | None  # None: not measurable in this run
    #: a target not met that the same run's floor does not meet either: the floor's figure
    blocked_by_floor: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "system": self.system,
            "value": self.value,
            "limit": self.limit,
            "met": self.met,
            "blocked_by_floor": self.blocked_by_floor,
        }


def _best(values: list[float | None], low: bool) -> float | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return min(present) if low else max(present)


def _check(what: str, system: str, value: float | None, limit: float | None, below: bool) -> Target:
    if value is None or limit is None:
        return Target(what, system, value, limit, None)
    return Target(what, system, value, limit, value <= limit if below else value >= limit)


def _blocked(target: Target, floor: float | None, below: bool = False) -> Target:
    """target, marked blocked when it is not met and the floor (same unit; higher is
    better, or lower if below) does not reach its limit either: no change to bokeh_nb
    could meet it. A floor that bokeh_nb's own figure beats bounds nothing (its
    measurement missed the path's best) and blocks nothing."""
    if target.met is not False or floor is None or target.limit is None:
        return target
    if (floor <= target.limit) if below else (floor >= target.limit):
        return target
    if target.value is not None and ((floor > target.value) if below else (floor < target.value)):
        return target
    return Target(target.what, target.system, target.value, target.limit, False, floor)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else factor * value


def _update(summary: dict[str, Any]) -> list[Target]:
    """1. request -> the scatter repainted: 1.5 x the best anchor's points/s at 10^6 and
    10^7, and 0.7 x the in-page floor's at every size."""
    out = []
    for n in sizes_of(summary, "update"):
        rate = "mpoints_per_s"
        best = _best([get(summary, "update", a, n, rate) for a in ANCHORS], low=False)
        floor = get(summary, "update_floor", "in_page", n, rate)
        for key in OURS:
            value = get(summary, "update", key, n, rate)
            if int(n) in UPDATE_LEAD_SIZES:
                what = f"update {int(n):.0e} points: Mpoints/s >= 1.5 x best anchor"
                lead = _check(what, key, value, _scaled(best, 1.5), False)
                out.append(_blocked(lead, floor))
            what = f"update {int(n):.0e} points: Mpoints/s >= 0.7 x in-page floor"
            out.append(_check(what, key, value, _scaled(floor, 0.7), False))
    return out


#: The system whose every transfer goes over a Jupyter comm: the bare comm's figures in its
#: page (page.js, ``commPush`` / ``commUpload``) bound it as the websocket's bound every system.
COMM_SYSTEM = "bokeh_nb"


def _lowest(*floors: float | None) -> float | None:
    """The floor that leaves the least room (higher is better), of those measured."""
    return _best(list(floors), low=True)


def _transfer(summary: dict[str, Any]) -> list[Target]:
    """2. both directions ahead of every anchor at every size and 0.8 x the bare websocket
    (for browser -> kernel, the upload floor; a selection has no floor of its own). The
    notebook page's transfers are blocked where the bare comm in the same page, carrying
    the same bytes, does not reach the limit either."""
    out = []
    for n in sizes_of(summary, "kernel_to_browser"):
        rate = "mb_per_s"
        best = _best([get(summary, "kernel_to_browser", a, n, rate) for a in ANCHORS], low=False)
        floor = get(summary, "transport_floor", "websocket", n, rate)
        comm = get(summary, "transport_floor", "comm", n, rate)
        for key in OURS:
            value = get(summary, "kernel_to_browser", key, n, rate)
            own = comm if key == COMM_SYSTEM else None
            label = f"kernel -> browser {int(n):.0e} x 2 float64 MB/s"
            ahead = _check(f"{label} > every anchor", key, value, best, False)
            out.append(_blocked(ahead, _lowest(floor, own)))
            limit = _scaled(floor, 0.8)
            ws = _check(f"{label} >= 0.8 x bare websocket", key, value, limit, False)
            out.append(_blocked(ws, own))
    for metric, field, label, low in (
        ("browser_to_kernel", "mb_per_s", "float64 column MB/s", False),
        ("selection", "median_ms", "selection ms", True),
    ):
        for n in sizes_of(summary, metric):
            best = _best([get(summary, metric, a, n, field) for a in ANCHORS], low=low)
            floor = comm = None
            if metric == "browser_to_kernel":
                floor = get(summary, "upload_floor", "websocket_upload", n, field)
                comm = get(summary, "upload_floor", "comm_upload", n, field)
            for key in OURS:
                value = get(summary, metric, key, n, field)
                own = comm if key == COMM_SYSTEM else None
                text = f"browser -> kernel {int(n):.0e} {label}"
                ahead = _check(f"{text} ahead of every anchor", key, value, best, low)
                out.append(_blocked(ahead, _lowest(floor, own)))
                if floor is not None:
                    limit = _scaled(floor, 0.8)
                    ws = _check(f"{text} >= 0.8 x bare websocket", key, value, limit, low)
                    out.append(_blocked(ws, own))
    return out


def _round_trip(summary: dict[str, Any]) -> list[Target]:
    """3. notebook: 0.25 x the best anchor in the notebook and 1.5 x the comm-echo floor;
    standalone: at most bokeh serve with TCP_NODELAY. Blocked only by the notebook's floor
    (report.py: the comm echo plus the page's own part)."""
    out = []
    floor = get(summary, "round_trip_floor", "bokeh_nb", "p50_ms")
    for pct in ("p50_ms", "p95_ms"):
        best = _best([get(summary, "round_trip", a, pct) for a in NOTEBOOK_ANCHORS], low=True)
        echo = get(summary, "comm_echo", "bokeh_nb", pct)
        value = get(summary, "round_trip", "bokeh_nb", pct)
        for what, limit in (
            (f"round trip {pct[:3]} <= 0.25 x best notebook anchor", _scaled(best, 0.25)),
            (f"round trip {pct[:3]} <= 1.5 x comm-echo floor", _scaled(echo, 1.5)),
        ):
            out.append(_blocked(_check(what, "bokeh_nb", value, limit, True), floor, below=True))
        out.append(
            _check(
                f"round trip {pct[:3]} <= bokeh serve with TCP_NODELAY",
                "bokeh_nb_standalone",
                get(summary, "round_trip", "bokeh_nb_standalone", pct),
                get(summary, "round_trip", "bokeh_serve_nodelay", pct),
                True,
            )
        )
    return out


def _streams(summary: dict[str, Any]) -> list[Target]:
    """4. saturated: 1.5 x the best anchor's delivered rows/s, none lost, round trips
    during it <= 100 ms p95; the timed stream: none lost."""
    out = []
    best = _best([get(summary, "saturated", a, "rows_per_s") for a in ANCHORS], low=False)
    for key in OURS:
        lost = get(summary, "saturated", key, "lost")
        out.append(_check("saturated stream: rows lost == 0", key, lost, 0.0, True))
        out.append(
            _check(
                "saturated stream: delivered rows/s >= 1.5 x best anchor",
                key,
                get(summary, "saturated", key, "rows_per_s"),
                _scaled(best, 1.5),
                False,
            )
        )
        out.append(
            _check(
                "saturated stream: round trip p95 during it <= 100 ms",
                key,
                get(summary, "saturated", key, "probe_p95_ms"),
                100.0,
                True,
            )
        )
        lost = get(summary, "streaming", key, "lost")
        out.append(_check("timed stream: rows lost == 0", key, lost, 0.0, True))
    return out


def _wire_and_memory(summary: dict[str, Any]) -> list[Target]:
    out = []
    for side in ("kernel", "browser"):
        value = get(summary, "wire", "bokeh_nb", f"{side}_bytes_per_raw_byte")
        out.append(
            _check(f"wire bytes / raw bytes at the {side} <= 1.05", "bokeh_nb", value, 1.05, True)
        )
        messages = get(summary, "wire", "bokeh_nb", f"{side}_messages_per_bokeh_message")
        out.append(
            Target(
                f"messages per Bokeh message at the {side} == 1",
                "bokeh_nb",
                messages,
                1.0,
                None if messages is None else messages == 1,
            )
        )
    for key in OURS:
        growth = get(summary, "memory", key, "growth_mb")
        out.append(_check("memory growth after the cycles <= 10 MB", key, growth, 10.0, True))
    return out


def targets(summary: dict[str, Any]) -> list[Target]:
    """Every target of this harness (the visitors' target is tests/reliability's)."""
    return [
        *_update(summary),
        *_transfer(summary),
        *_round_trip(summary),
        *_streams(summary),
        *_wire_and_memory(summary),
    ]
