"""``python -m benchmarks.visitors [--quick]``: how many visitors one live app holds.

The same app as ``tests/reliability/test_load.py`` (each session streams a numbered row
every 100 ms; each visitor moves a slider once a second, which runs the app's Python
callback), with more and more visitors, each level held for a while:

- **bokeh_nb**: share links (``interact``) to one live app in a notebook's kernel, as many
  links as ``share_max_sessions`` takes;
- **bokeh serve**: the same ``modify_doc`` under ``bokeh serve`` (the anchors' bokeh),
  each visitor a session of its own.

A level holds when every visitor received every row (numbered: a gap is a lost update),
got an OK for every event and no ERROR, and the rows' latency (sent by the periodic
callback -> received by the visitor) stays <= 100 ms at p95. The result is the largest
level each system holds, with the latencies, what each process's memory grew per visitor,
and where the time goes when a level stops holding (the processes' CPU over the level,
the visitors' own, in this process, and the whole machine's, in cores of its 2).
Writes ``visitors.json`` and ``visitors.md`` (``benchmarks/results/`` for a full run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bokeh.util.token import generate_jwt_token, generate_session_id
from playwright.sync_api import sync_playwright

from tests.browser.bokeh import create_share, kernel_json, run_notebook
from tests.browser.jupyter import HOST
from tests.browser.plugin import CHROMIUM
from tests.reliability.helpers import pct, rss_mb
from tests.reliability.test_load import APP, PERIOD_MS, visit

from .machine import cpu_ticks
from .run import BROWSER_ARGS
from .servers import start_bokeh_serve, start_lab, stop_bokeh_serve, stop_lab
from .venvs import anchors_python

HERE = Path(__file__).resolve().parent
#: visitors per share link (``BokehNb.share_max_sessions``' default)
PER_LINK = 20
LATENCY_P95_MS = 100.0
#: the share of the rows the sessions' schedule asks for (one per ``PERIOD_MS``) that a
#: level must deliver: a server whose periodic callbacks fall behind streams fewer rows,
#: late, and the rows' latency (from the callback that made each) cannot show it
ROWS_SHARE = 0.95


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...]
    seconds: float


FULL = Plan(levels=(10, 25, 50, 75, 100, 150, 200, 250, 300), seconds=300.0)
QUICK = Plan(levels=(5, 10), seconds=10.0)


def serve_script(work: Path) -> Path:
    """The notebook app's ``modify_doc`` as a ``bokeh serve`` script (one source)."""
    head = APP.split("app = bokeh_nb.App")[0].replace("import bokeh_nb\n", "")
    script = work / "ticker.py"
    script.write_text(head + "from bokeh.io import curdoc\nmodify_doc(curdoc())\n")
    return script


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime, stime in clock ticks


def machine_cpu_seconds() -> float:
    """CPU seconds every process of the machine has used (``machine.cpu_ticks``)."""
    return cpu_ticks()[0] / 100.0


def run_level(
    urls: Callable[[int], tuple[str, str]], origin: str, visitors: int, seconds: float
) -> list[dict[str, Any]]:
    """``visitors`` visitors for ``seconds`` after the last one connected; ``urls(i)`` is
    visitor i's websocket URL and session token."""
    results: list[dict[str, Any]] = [{} for _ in range(visitors)]

    async def main() -> None:
        stop = asyncio.Event()
        tasks = []
        for i, result in enumerate(results):
            url, token = urls(i)
            tasks.append(asyncio.create_task(visit(url, origin, stop, result, token)))
        deadline = time.monotonic() + 120
        while not all(r.get("connected") for r in results) and time.monotonic() < deadline:
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    thread = threading.Thread(target=lambda: asyncio.run(main()))
    thread.start()
    thread.join(seconds + 300)
    return results


def summarize(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    lost = 0
    for r in results:
        ticks = r.get("ticks", [])
        lost += sum(b - a - 1 for a, b in zip(ticks, ticks[1:], strict=False))
    latencies = [x for r in results for x in r.get("latencies", [])]
    event_ms = [x for r in results for x in r.get("event_ms", [])]
    events = sum(r.get("events", 0) for r in results)
    oks = sum(r.get("oks", 0) for r in results)
    errors = [e for r in results for e in r.get("errors", [])]
    connected = sum(1 for r in results if r.get("connected"))
    p95 = pct(latencies, 0.95) if latencies else None
    # rows per session per second, against the 1000 / PERIOD_MS asked for
    rate = len(latencies) / (len(results) * seconds) if results else 0.0
    return {
        "visitors": len(results),
        "connected": connected,
        "seconds": seconds,
        "rows_received": len(latencies),
        "rows_lost": lost,
        "rows_per_session_s": rate,
        "events": events,
        "oks": oks,
        "errors": errors[:5],
        "latency_p50_ms": pct(latencies, 0.5) if latencies else None,
        "latency_p95_ms": p95,
        "event_p50_ms": pct(event_ms, 0.5) if event_ms else None,
        "event_p95_ms": pct(event_ms, 0.95) if event_ms else None,
        "holds": (
            connected == len(results)
            and lost == 0
            and not errors
            and oks == events
            and p95 is not None
            and p95 <= LATENCY_P95_MS
            and rate >= ROWS_SHARE * 1000 / PERIOD_MS
        ),
    }


def measure_levels(
    name: str,
    plan: Plan,
    urls: Callable[[int], tuple[str, str]],
    origin: str,
    memory: Callable[[], dict[str, float]],
    cpu: Callable[[], dict[str, float]],
    settle: float,
) -> list[dict[str, Any]]:
    """Every level in turn; stops after the first level that does not hold."""
    out = []
    for visitors in plan.levels:
        before, cpu_before = memory(), cpu()
        # the visitors are this process's (its other threads idle meanwhile)
        cpu_before |= {"visitors": time.process_time(), "machine": machine_cpu_seconds()}
        t0 = time.monotonic()
        results = run_level(urls, origin, visitors, plan.seconds)
        wall = time.monotonic() - t0
        level = summarize(results, plan.seconds)
        during, cpu_after = memory(), cpu()
        cpu_after |= {"visitors": time.process_time(), "machine": machine_cpu_seconds()}
        level["rss_mb_per_visitor"] = {
            k: (during[k] - before[k]) / visitors for k in before if k in during
        }
        level["cpu_share"] = {k: (cpu_after[k] - cpu_before[k]) / wall for k in cpu_before}
        out.append(level)
        print(f"  {name}: {visitors} visitors: {json.dumps(level)}", flush=True)
        time.sleep(settle)  # the level's sessions end before the next
        if not level["holds"]:
            break
    return out


def bokeh_nb_levels(plan: Plan, work: Path, browser: Any) -> list[dict[str, Any]]:
    server = start_lab(Path(sys.executable), work / "lab")
    try:
        page = browser.new_context().new_page()
        run_notebook(server, page, f"visitors-{uuid.uuid4().hex[:6]}.ipynb", [APP])
        kernel_id = kernel_json(page, "bokeh_nb.kernel.app.kernel_id()")
        kernel_pid = kernel_json(page, "__import__('os').getpid()")
        links = (max(plan.levels) + PER_LINK - 1) // PER_LINK
        paths = [
            create_share(server, kernel_id, "ticker", "interact", expires=24 * 3600)["path"]
            for _ in range(links)
        ]

        def urls(i: int) -> tuple[str, str]:
            return f"{server.ws_origin}{paths[i // PER_LINK]}/ws", "x"

        assert server.proc is not None
        procs = {"kernel": kernel_pid, "jupyter_server": server.proc.pid}
        return measure_levels(
            "bokeh_nb",
            plan,
            urls,
            server.origin,
            lambda: {k: rss_mb(pid) for k, pid in procs.items()},
            lambda: {k: cpu_seconds(pid) for k, pid in procs.items()},
            settle=15.0,
        )
    finally:
        stop_lab(server)


def bokeh_serve_levels(plan: Plan, work: Path) -> list[dict[str, Any]]:
    work.mkdir(parents=True, exist_ok=True)
    serve = start_bokeh_serve(anchors_python(print), work / "serve", script=serve_script(work))
    try:
        origin = f"http://{HOST}:{serve.port}"

        def urls(_i: int) -> tuple[str, str]:
            token = generate_jwt_token(generate_session_id(), signed=False)
            return f"ws://{HOST}:{serve.port}/ticker/ws", token

        return measure_levels(
            "bokeh_serve",
            plan,
            urls,
            origin,
            lambda: {"bokeh_serve": rss_mb(serve.pid)},
            lambda: {"bokeh_serve": cpu_seconds(serve.pid)},
            settle=35.0,  # unused sessions end after 15 s, checked every 17 s
        )
    finally:
        stop_bokeh_serve(serve)


def held(levels: list[dict[str, Any]]) -> int:
    return max((lv["visitors"] for lv in levels if lv["holds"]), default=0)


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Visitors on one live app, {result['mode']} run of {result['started']}",
        "",
        f"Each level held {result['seconds']:.0f} s; a level holds with every row received, "
        f"an OK for every event, row latency p95 <= {LATENCY_P95_MS:.0f} ms and at least "
        f"{ROWS_SHARE:.0%} of the {1000 / PERIOD_MS:.0f} rows/s each session's schedule "
        "asks for.",
        "",
        "| system | visitors | held | rows lost | rows/s a session | row p50 (ms) | "
        "row p95 (ms) | event p95 (ms) | RSS per visitor (MB) | CPU share |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for system, levels in result["systems"].items():
        for lv in levels:
            rss = ", ".join(f"{k} {v:.2f}" for k, v in lv["rss_mb_per_visitor"].items())
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in lv["cpu_share"].items())
            fmt = [
                "—" if lv[k] is None else f"{lv[k]:.1f}"
                for k in ("latency_p50_ms", "latency_p95_ms", "event_p95_ms")
            ]
            lines.append(
                f"| {system} | {lv['visitors']} | {'yes' if lv['holds'] else '**no**'} | "
                f"{lv['rows_lost']} | {lv.get('rows_per_session_s', 0):.2f} | "
                f"{' | '.join(fmt)} | {rss} | {cpu} |"
            )
    ours, theirs = held(result["systems"]["bokeh_nb"]), held(result["systems"]["bokeh_serve"])
    met = "met" if ours >= theirs and ours > 0 else "**not met**"
    lines += [
        "",
        f"Largest level held: bokeh_nb {ours}, bokeh serve {theirs} (levels tried: "
        f"{', '.join(str(n) for n in result.get('levels', []))}; each system stops after "
        f"the first level it does not hold): target (bokeh_nb >= bokeh serve) {met}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.visitors", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two small levels, 10 s each")
    parser.add_argument("--out", type=Path, help="where the results go")
    parser.add_argument(
        "--levels",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="the visitor counts to try, in order (default 10,25,...,300; quick 5,10)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.levels:
        plan = Plan(levels=args.levels, seconds=plan.seconds)
    out = args.out or (HERE / "runs" / "quick" if args.quick else HERE / "results")
    work = HERE / "runs" / "visitors-work"
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        try:
            ours = bokeh_nb_levels(plan, work, browser)
        finally:
            browser.close()
    theirs = bokeh_serve_levels(plan, work)
    result = {
        "mode": "quick" if args.quick else "full",
        "started": started,
        "seconds": plan.seconds,
        "levels": list(plan.levels),
        "systems": {"bokeh_nb": ours, "bokeh_serve": theirs},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "visitors.json").write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    (out / "visitors.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
