"""The measurements, each run over every system in turn, interleaved (the order
rotates from one round to the next) so that drift of the machine hits all systems alike.
A system that fails a measurement gets its error recorded, and the run goes on."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from .systems import BENCH, System

__all__ = ("FULL", "QUICK", "Plan", "Recorder", "run_all")

T = TypeVar("T")
#: The system whose notebook page also measures the comm-echo floor of the round trip.
ECHO_SYSTEM = "bokeh_nb"
#: Slider values of the in-page part of the round trip start here (apart from the values
#: the round trips send to the kernel, so that each of those is a change).
IN_PAGE = 5_000_000


@dataclass(frozen=True)
class Plan:
    """Sizes and counts of one run."""

    name: str
    events: int  # round trips per system, in `event_rounds` interleaved rounds
    event_rounds: int
    push_reps: dict[int, int]  # values per column -> repetitions (two float64 columns)
    wire_n: int
    upload_reps: dict[int, int]  # float64 values -> repetitions (one column)
    select_reps: dict[int, int]  # selected rows -> repetitions
    stream_seconds: float
    grid_plots: int
    render_reps: int
    sessions: int
    warm_cycles: int
    cycles: int
    settle: bool  # wait for sessions to end on their own before each memory reading
    update_reps: dict[int, int] = field(default_factory=dict)  # points -> repetitions
    saturate_seconds: float = 3.0
    probe_ms: float = 100.0  # a round trip this often during the saturated stream
    stream_rows: int = 100
    stream_period_ms: float = 5.0
    warmup_events: int = 10
    #: how long the first command after the saturated stream may wait for its answer
    drain_ms: int = 300_000


FULL = Plan(
    name="full",
    events=300,
    event_rounds=6,
    # 10^4 is a round trip with 160 KB in it: 15 samples (milliseconds each), the last 10
    # after other 10^4 transfers rather than after the repetition's 10^7; 10^7 three times:
    # one sample per system ranged 1.6-3.7 s in one run (bokeh serve's two anchors, the same
    # server, 1,587 and 2,570 ms), so a verdict on one sample was the machine's; 10^5 nine
    # times: a median of five moved by half between two runs (29.0 and 44.3 MB/s)
    push_reps={10**4: 15, 10**5: 9, 10**6: 3, 10**7: 3},
    wire_n=10**6,
    # 10^7 float64 (80 MB) is past jupyter_server's 10 MiB limit for one message from a page
    upload_reps={10**4: 15, 10**5: 9, 10**6: 3},
    select_reps={10**6: 3},
    stream_seconds=60.0,
    grid_plots=100,
    render_reps=3,
    sessions=10,
    warm_cycles=50,
    cycles=200,
    settle=True,
    update_reps={10**4: 9, 10**5: 5, 10**6: 3, 10**7: 1},
    saturate_seconds=30.0,
)
QUICK = Plan(
    name="quick",
    events=20,
    event_rounds=2,
    push_reps={10**4: 1, 10**5: 1},
    wire_n=10**5,
    upload_reps={10**4: 1, 10**5: 1},
    select_reps={10**5: 1},
    stream_seconds=3.0,
    grid_plots=10,
    render_reps=1,
    sessions=2,
    warm_cycles=1,
    cycles=3,
    settle=False,
    update_reps={10**4: 1, 10**5: 1},
    saturate_seconds=3.0,
    # nothing is measured after the saturated stream here: an anchor that has not drained
    # in a minute is an error all the same, and the minutes more it may take are CI's
    drain_ms=60_000,
)


@dataclass
class Recorder:
    """Per metric and system: what was measured, or the error that stopped it."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, dict[str, str]] = field(default_factory=dict)
    log: Callable[[str], None] = print
    #: the transport floor (floor.py): milliseconds per transport and size, for sizes in
    #: values per column toward the page (and, as a second list, from it)
    floor: Callable[[list[int], list[int]], dict[str, dict[str, list[float]]]] | None = None
    #: waits until the machine is quiet, before each measurement (machine.Quiet)
    quiet: Callable[[], None] = lambda: None

    def attempt(self, metric: str, system: System, fn: Callable[[], T]) -> T | None:
        self.quiet()
        try:
            return fn()
        except Exception as e:
            text = f"{type(e).__name__}: {e}".strip()
            self.errors.setdefault(metric, {})[system.key] = text[:2000]
            self.log(f"  {system.key}: {metric} failed: {text.splitlines()[0][:300]}")
            self.log(traceback.format_exc(limit=3))
            return None

    def put(self, metric: str, system: System, value: Any) -> None:
        self.metrics.setdefault(metric, {})[system.key] = value

    def get(self, metric: str, system: System) -> Any:
        return self.metrics.setdefault(metric, {}).get(system.key)


def _clear(
    systems: list[System], rec: Recorder, metric: str = "clear", timeout_ms: int = 60_000
) -> None:
    """Empty each system's data sources (the bench app's ``clear``), waiting up to
    timeout_ms for its answer; a system that does not answer is an error of metric."""
    for system in systems:
        rec.attempt(metric, system, partial(system.call, "command", BENCH, "clear", {}, timeout_ms))


def rotated(systems: list[System], round_: int) -> Iterator[System]:
    k = round_ % len(systems)
    yield from systems[k:] + systems[:k]


def timeout_for_bytes(nbytes: int) -> int:
    """Milliseconds allowed for a transfer: a minute, plus a second per MB."""
    return 60_000 + nbytes // 1000


# ---- 1. event round trip ------------------------------------------------------------------


def round_trips(systems: list[System], plan: Plan, rec: Recorder) -> None:
    per_round = plan.events // plan.event_rounds
    for system in systems:  # warm-up, not recorded
        rec.attempt(
            "round_trip",
            system,
            partial(system.call, "roundTrips", BENCH, plan.warmup_events, 0, 30_000),
        )
    for r in range(plan.event_rounds):
        for system in rotated(systems, r):
            if system.key in rec.errors.get("round_trip", {}):
                continue
            start = (r + 1) * 10_000
            times = rec.attempt(
                "round_trip",
                system,
                partial(system.call, "roundTrips", BENCH, per_round, start, 30_000),
            )
            if times is not None:
                _add_samples(rec, "round_trip", system, times)
            if system.key != ECHO_SYSTEM:
                continue
            for metric, call in (
                ("comm_echo", partial(system.call, "commEcho", per_round, 30_000)),
                (
                    "round_trip_in_page",
                    partial(system.call, "inPageRoundTrips", BENCH, per_round, IN_PAGE + start),
                ),
            ):
                if system.key not in rec.errors.get(metric, {}):
                    samples = rec.attempt(metric, system, call)
                    if samples is not None:
                        _add_samples(rec, metric, system, samples)
        rec.log(f"  round trips: round {r + 1}/{plan.event_rounds} done")


def _add_samples(rec: Recorder, metric: str, system: System, times: list[float]) -> None:
    prior = rec.get(metric, system) or {"samples_ms": []}
    prior["samples_ms"] += times
    rec.put(metric, system, prior)


# ---- 1b. end-to-end update of a drawn scatter ----------------------------------------------


#: Updates of this many points and more are measured last of all: one has brought
#: Playwright's driver down (out of memory), and with it every measurement after it.
LARGEST_UPDATES = 10**7


def updates(systems: list[System], plan: Plan, rec: Recorder) -> None:
    """Request -> the scatter repainted with n fresh points, per system; beside it, in the
    same rounds, the in-page floor (the same data made in the page) in the first page."""
    _updates(systems, {n: r for n, r in plan.update_reps.items() if n < LARGEST_UPDATES}, rec)


#: Systems whose largest update goes after every other's: jupyter_bokeh's 10^7-point
#: update ran Playwright's driver out of memory in both full runs of 2026-12-05 (03:37 and
#: 08:29), and what was still to be measured after it was lost.
LAST_AT_LARGEST = ("jupyter_bokeh",)


def largest_updates(systems: list[System], plan: Plan, rec: Recorder) -> None:
    ordered = sorted(systems, key=lambda system: system.key in LAST_AT_LARGEST)
    _updates(ordered, {n: r for n, r in plan.update_reps.items() if n >= LARGEST_UPDATES}, rec)


def _updates(systems: list[System], update_reps: dict[int, int], rec: Recorder) -> None:
    most = max(update_reps.values(), default=0)
    if most == 0:
        return  # no size to measure (the quick plan has no 10^7): nothing to clear either
    for rep in range(most):
        for n, reps in sorted(update_reps.items()):
            if rep >= reps:
                continue
            timeout = timeout_for_bytes(16 * n) + 60_000
            page = systems[0]  # the floor first: it needs no kernel, and loses nothing after
            timed = rec.attempt(
                "update_floor", page, partial(page.call, "updateFloor", BENCH, n, timeout)
            )
            if timed is not None:
                floors = rec.metrics.setdefault("update_floor", {}).setdefault("in_page", {})
                floors.setdefault(str(n), []).append(timed["ms"])
            for system in rotated(systems, rep):
                if system.key in rec.errors.get(f"update_{n}", {}):
                    continue
                timed = rec.attempt(
                    f"update_{n}", system, partial(system.call, "update", BENCH, n, timeout)
                )
                if timed is not None:
                    for metric in ("update", "update_arrival"):
                        by_size = rec.get(metric, system) or {}
                        ms = timed["ms"] if metric == "update" else timed["arrived_ms"]
                        by_size.setdefault(str(n), []).append(ms)
                        rec.put(metric, system, by_size)
        rec.log(f"  update: repetition {rep + 1}/{most} done")
    _clear(systems, rec)


# ---- 2. kernel -> browser -----------------------------------------------------------------


def kernel_to_browser(systems: list[System], plan: Plan, rec: Recorder) -> None:
    most = max(plan.push_reps.values())
    for rep in range(most):
        for n, reps in sorted(plan.push_reps.items()):
            if rep >= reps:
                continue
            for system in rotated(systems, rep):
                failed = [m for m in rec.errors if m.startswith("kernel_to_browser_")]
                if any(system.key in rec.errors[m] for m in failed):
                    continue  # a system that failed at one size is not tried at larger ones
                ms = rec.attempt(
                    f"kernel_to_browser_{n}",
                    system,
                    partial(system.call, "push", BENCH, n, timeout_for_bytes(16 * n)),
                )
                if ms is not None:
                    by_size = rec.get("kernel_to_browser", system) or {}
                    by_size.setdefault(str(n), []).append(ms)
                    rec.put("kernel_to_browser", system, by_size)
            _comm_floor(systems, rec, "transport_floor", "comm", "commPush", n, 16 * n)
        sizes = [n for n, reps in sorted(plan.push_reps.items()) if rep < reps]
        _floor(rec, "transport_floor", sizes, [])
        rec.log(f"  kernel -> browser: repetition {rep + 1}/{most} done")
    _clear(systems, rec)


def _floor(rec: Recorder, metric: str, sizes: list[int], upload_sizes: list[int]) -> None:
    """One repetition of the transport floor (floor.py), kept under metric by transport."""
    if rec.floor is None:
        return
    rec.quiet()
    try:
        measured = rec.floor(sizes, upload_sizes)
    except Exception as e:  # the floor's own page failed: the systems' figures stay
        rec.errors.setdefault(metric, {})["floor"] = f"{type(e).__name__}: {e}"
        return
    floors = rec.metrics.setdefault(metric, {})
    for transport, by_size in measured.items():
        for size, ms in by_size.items():
            floors.setdefault(transport, {}).setdefault(size, []).extend(ms)


def _comm_floor(
    systems: list[System],
    rec: Recorder,
    metric: str,
    transport: str,
    function: str,
    n: int,
    nbytes: int,
) -> None:
    """One transfer of n values over a bare comm in the notebook page of ECHO_SYSTEM (the
    comm's floor, page.js), kept under metric as the transport floor's are; a failure is
    the error of ``{transport}_floor``, and the comm is not tried again."""
    echo = next((s for s in systems if s.key == ECHO_SYSTEM), None)
    failed = f"{transport}_floor"
    if echo is None or echo.key in rec.errors.get(failed, {}):
        return
    ms = rec.attempt(failed, echo, partial(echo.call, function, n, timeout_for_bytes(nbytes)))
    if ms is not None:
        floors = rec.metrics.setdefault(metric, {})
        floors.setdefault(transport, {}).setdefault(str(n), []).append(ms)


# ---- 3. browser -> kernel -----------------------------------------------------------------


def browser_to_kernel(systems: list[System], plan: Plan, rec: Recorder) -> None:
    """A float64 column of each size, and a selection of each size, made in the page."""
    kinds = (
        ("browser_to_kernel", "upload", plan.upload_reps),
        ("selection", "select", plan.select_reps),
    )
    most = max(reps for _, _, by_size in kinds for reps in by_size.values())
    for rep in range(most):
        for metric, function, by_size in kinds:
            for n, reps in sorted(by_size.items()):
                if rep >= reps:
                    continue
                for system in rotated(systems, rep):
                    failed = [m for m in rec.errors if m.startswith(f"{metric}_")]
                    if any(system.key in rec.errors[m] for m in failed):
                        continue  # a system that failed at one size is not tried at larger ones
                    ms = rec.attempt(
                        f"{metric}_{n}",
                        system,
                        partial(system.call, function, BENCH, n, timeout_for_bytes(8 * n)),
                    )
                    if ms is not None:
                        sizes = rec.get(metric, system) or {}
                        sizes.setdefault(str(n), []).append(ms)
                        rec.put(metric, system, sizes)
                if function == "upload":
                    _comm_floor(systems, rec, "upload_floor", "comm_upload", "commUpload", n, 8 * n)
        uploads = [n for n, reps in sorted(plan.upload_reps.items()) if rep < reps]
        _floor(rec, "upload_floor", [], uploads)
        rec.log(f"  browser -> kernel: repetition {rep + 1}/{most} done")
    _clear(systems, rec)


# ---- 4. sustained streaming ---------------------------------------------------------------


def _stream_results(
    metric: str, systems: list[System], rec: Recorder, run: Callable[[System], dict[str, Any]]
) -> None:
    """Each system's stream, as ``run(system)`` measures it in its page; the rows the kernel
    sent are asked in a cell when the page's report of them was lost."""
    for system in systems:
        result = rec.attempt(metric, system, partial(run, system))
        if result is None:
            continue
        if result["sent"] is None:
            result["sent"] = rec.attempt(metric, system, system.rows_streamed)
            result["sent_asked_in_a_cell"] = True
        if result["sent"] is None:
            rec.errors.setdefault(metric, {})[system.key] = (
                f"the kernel's count of rows sent never came back: {result['report_lost']}"
            )
            continue
        rec.put(metric, system, result)
        rec.log(f"  {metric}: {system.key}: {result['received']}/{result['sent']} rows")


def streaming(systems: list[System], plan: Plan, rec: Recorder) -> None:
    timeout = int(plan.stream_seconds * 1000) + 90_000

    def run(system: System) -> dict[str, Any]:
        args = (plan.stream_rows, plan.stream_period_ms, plan.stream_seconds, timeout)
        result: dict[str, Any] = system.call("stream", BENCH, *args)
        return result

    _stream_results("streaming", systems, rec, run)


# ---- 4b. saturated streaming -------------------------------------------------------------


def saturated(systems: list[System], plan: Plan, rec: Recorder) -> None:
    timeout = int(plan.saturate_seconds * 1000) + 120_000

    def run(system: System) -> dict[str, Any]:
        args = (plan.stream_rows, plan.saturate_seconds, plan.probe_ms, timeout)
        result: dict[str, Any] = system.call("saturate", BENCH, *args)
        return result

    _stream_results("saturated", systems, rec, run)
    # A system whose kernel pushed past Jupyter's IOPub rate limit (1000 messages/s over
    # 3 s) has its messages dropped by the Jupyter server until the server has read the
    # backlog, which took over a minute for Panel in a CI run of 2026-12-06 with the unit
    # tests running beside it: what follows waits for the page to answer again.
    _clear(systems, rec, "drained_after_saturate", plan.drain_ms)


# ---- 5. first render ----------------------------------------------------------------------


def first_render(systems: list[System], plan: Plan, rec: Recorder) -> None:
    for rep in range(plan.render_reps):
        for system in rotated(systems, rep):
            if system.key in rec.errors.get("first_render", {}):
                continue
            name = f"grid-{rep + 1}"
            ms = rec.attempt(
                "first_render",
                system,
                partial(system.render, plan.grid_plots, name, 180_000),
            )
            if ms is not None:
                prior = rec.get("first_render", system) or {"plots": plan.grid_plots, "ms": []}
                prior["ms"].append(ms)
                rec.put("first_render", system, prior)


# ---- 6. wire efficiency -------------------------------------------------------------------


def wire(systems: list[System], plan: Plan, rec: Recorder) -> None:
    n = plan.wire_n
    for system in systems:
        counted = rec.attempt(
            "wire",
            system,
            partial(system.call, "pushWire", BENCH, n, timeout_for_bytes(16 * n)),
        )
        if counted is not None:
            rec.put("wire", system, {"n": n, "raw_bytes": 16 * n, **counted})
        _clear([system], rec)


# ---- 7. memory ----------------------------------------------------------------------------


def _rss(system: System) -> int:
    reply = system.call("command", BENCH, "rss", {}, 60_000)["reply"]
    return int(reply["rss"])


def _settle(system: System, plan: Plan) -> None:
    time.sleep(system.settle if plan.settle else 1.0)


def _memory_of(system: System, plan: Plan, rec: Recorder) -> dict[str, Any]:
    timeout = 120_000
    base = _rss(system)
    system.show_sessions([f"sess-{i + 1}" for i in range(plan.sessions)], timeout)
    shown = _rss(system)
    system.hide_sessions()
    names = [f"cycle-{i + 1}" for i in range(plan.warm_cycles + plan.cycles)]
    system.cycles(names[: plan.warm_cycles], timeout)
    _settle(system, plan)
    warm = _rss(system)
    seconds = system.cycles(names[plan.warm_cycles :], timeout)
    _settle(system, plan)
    after = _rss(system)
    rec.log(f"  memory: {system.key}: {plan.cycles} cycles in {seconds:.0f} s")
    return {
        "sessions": plan.sessions,
        "rss_before_bytes": base,
        "rss_sessions_open_bytes": shown,
        "cycles": plan.cycles,
        "cycle_seconds": seconds,
        "rss_warm_bytes": warm,
        "rss_after_cycles_bytes": after,
        "settle_seconds": system.settle if plan.settle else 1.0,
    }


def memory(systems: list[System], plan: Plan, rec: Recorder) -> None:
    for system in systems:
        result = rec.attempt("memory", system, partial(_memory_of, system, plan, rec))
        if result is not None:
            rec.put("memory", system, result)


#: In the order they run: the cheap, latency-sensitive ones first, memory before the big
#: transfers leave large arrays in the kernels, streaming last.
PHASES: list[tuple[str, Callable[[list[System], Plan, Recorder], None]]] = [
    ("event round trip", round_trips),
    ("first render", first_render),
    ("memory", memory),
    ("end-to-end update", updates),
    ("kernel -> browser", kernel_to_browser),
    ("wire efficiency", wire),
    ("browser -> kernel", browser_to_kernel),
    ("sustained streaming", streaming),
    ("saturated streaming", saturated),
    ("end-to-end update, 10^7 points", largest_updates),
]


def run_all(systems: list[System], plan: Plan, rec: Recorder) -> None:
    if not systems:
        return
    for title, phase in PHASES:
        t0 = time.monotonic()
        rec.log(f"== {title}")
        try:
            phase(systems, plan, rec)
        except Exception as e:  # what the phase measured stays, and the next phases run
            rec.errors.setdefault("phases", {})[title] = f"{type(e).__name__}: {e}"
            rec.log(f"   {title} stopped: {type(e).__name__}: {e}")
        rec.log(f"   ({time.monotonic() - t0:.0f} s)")
