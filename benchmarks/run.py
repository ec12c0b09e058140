"""``python -m benchmarks.run [--quick]``: bokeh_nb against the anchors, side by side.

Creates the anchors' virtual environment if needed, starts JupyterLab in each environment
and ``bokeh serve``, opens every system's benchmark page in headless Chromium, runs the
measurements interleaved over the systems and writes ``latest.json``, ``latest.md`` and
``latest.png`` (``benchmarks/results/`` for a full run, ``benchmarks/runs/quick/`` for
``--quick``), then prints the table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from tests.browser.plugin import CHROMIUM, CHROMIUM_ARGS

from . import machine, report
from .floor import floor_server, measure_floor
from .measure import FULL, QUICK, Plan, Recorder, run_all
from .servers import start_bokeh_serve, start_lab, stop_bokeh_serve, stop_lab
from .systems import System, notebook_systems, page_systems
from .targets import targets
from .venvs import anchors_python

HERE = Path(__file__).resolve().parent
#: Several pages are measured in turn: none may be throttled as a background page.
BROWSER_ARGS = [
    *CHROMIUM_ARGS,
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
ORDER = (
    "bokeh_nb",
    "bokeh_nb_standalone",
    "jupyter_bokeh",
    "panel",
    "show_app",
    "bokeh_serve",
    "bokeh_serve_nodelay",
)


def log(text: str) -> None:
    print(text, flush=True)


@contextlib.contextmanager
def servers(work: Path, anchors: Path) -> Iterator[tuple[Any, Any, Any, Any]]:
    """bokeh_nb's JupyterLab, the anchors' JupyterLab and ``bokeh serve`` (as it comes,
    and with TCP_NODELAY on its websockets)."""
    with contextlib.ExitStack() as stack:
        ours = start_lab(Path(sys.executable), work / "lab-bokeh_nb")
        stack.callback(stop_lab, ours)
        theirs = start_lab(anchors, work / "lab-anchors")
        stack.callback(stop_lab, theirs)
        serve = start_bokeh_serve(anchors, work / "bokeh-serve")
        stack.callback(stop_bokeh_serve, serve)
        fast = start_bokeh_serve(anchors, work / "bokeh-serve-nodelay", nodelay=True)
        stack.callback(stop_bokeh_serve, fast)
        log(
            f"servers: bokeh_nb lab {ours.origin}, anchors lab {theirs.origin}, {serve.url}, "
            f"{fast.url} (TCP_NODELAY)"
        )
        yield ours, theirs, serve, fast


def open_systems(systems: Sequence[System], browser: Browser, rec: Recorder) -> list[System]:
    opened = []
    for system in systems:
        t0 = time.monotonic()
        if rec.attempt("open", system, partial(system.open, browser)) is None and (
            system.key in rec.errors.get("open", {})
        ):
            continue
        log(f"  {system.key} open ({time.monotonic() - t0:.0f} s)")
        opened.append(system)
    return opened


def resent(system: System) -> int | None:
    """How often the page had to ask the kernel again for a lost answer."""
    try:
        return int(system.bench_page.evaluate("window.__bench.resent"))
    except Exception:
        return None


def grid_models(plots: int) -> int:
    """Models in the document of the first-render grid."""
    sys.path.insert(0, str(HERE / "app"))
    from bench import grid_layout
    from bokeh.document import Document

    doc = Document()
    doc.add_root(grid_layout(plots, "grid"))
    return len(doc.models)


def measure(plan: Plan, work: Path, anchors: Path, only: set[str]) -> dict[str, Any]:
    quiet = machine.Quiet()
    rec = Recorder(log=log, quiet=quiet)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    with (
        servers(work, anchors) as (ours, theirs, serve, fast),
        floor_server() as floor_origin,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS, timeout=120_000
        )
        rec.floor = partial(measure_floor, browser, floor_origin)
        everything: list[System] = [
            *notebook_systems(ours, theirs),
            *page_systems(ours, serve, fast),
        ]
        systems = sorted(
            (s for s in everything if not only or s.key in only), key=lambda s: ORDER.index(s.key)
        )
        log("== opening every system")
        opened = open_systems(systems, browser, rec)
        try:
            run_all(opened, plan, rec)
        finally:
            # what the pages recorded is kept in Python: it is there even when the
            # browser or Playwright's driver has gone (then closing them fails, unheeded)
            info = {
                s.key: {
                    "label": s.label,
                    "foreign_requests": s.foreign_requests(),
                    "console_errors": s.log.console_errors()[:20],
                    "commands_asked_again": resent(s),
                }
                for s in systems
            }
            for s in systems:
                with contextlib.suppress(Exception):
                    s.close()
            chromium = _version_of(browser)
            with contextlib.suppress(Exception):
                browser.close()
    summary = report.summarize(rec.metrics, {plan.grid_plots: grid_models(plan.grid_plots)})
    result: dict[str, Any] = {
        "mode": plan.name,
        "plan": {k: (str(v) if isinstance(v, dict) else v) for k, v in vars(plan).items()},
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - t0),
        "machine": machine.describe(anchors, chromium),
        "quiet": quiet.as_dict(),
        "systems": info,
        "raw": rec.metrics,
        "errors": rec.errors,
        "summary": summary,
    }
    result["targets"] = [t.as_dict() for t in targets(summary)]
    return result


def _version_of(browser: Any) -> str:
    try:
        return str(browser.version)
    except Exception:  # the driver is gone
        return "unknown (the browser had gone when the run ended)"


def draw_chart(anchors: Path, json_path: Path, png_path: Path) -> None:
    """The chart is drawn by matplotlib in the anchors' environment."""
    subprocess.run(
        [str(anchors), str(HERE / "chart.py"), str(json_path), str(png_path)],
        check=True,
        timeout=300,
    )


def write(result: dict[str, Any], out: Path, anchors: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "latest.json"
    json_path.write_text(json.dumps(result, indent=1) + "\n")
    table = report.markdown(result)
    (out / "latest.md").write_text(
        f"# Benchmarks, {result['mode']} run of {result['started']}\n\n"
        f"{machine.as_markdown(result['machine'])}\n"
        f"{machine.quiet_as_markdown(result['quiet'])}{table}"
    )
    draw_chart(anchors, json_path, out / "latest.png")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few iterations")
    parser.add_argument("--out", type=Path, help="where the results go")
    parser.add_argument(
        "--systems",
        help=f"a comma-separated subset of {','.join(ORDER)} (default: all)",
    )
    args = parser.parse_args(argv)
    # a SIGTERM (a timeout) still stops every server and browser this run started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = QUICK if args.quick else FULL
    out = args.out or (HERE / "runs" / "quick" if args.quick else HERE / "results")
    anchors = anchors_python(log)
    work = HERE / "runs" / f"{plan.name}-work"  # server logs of the last run, kept
    shutil.rmtree(work, ignore_errors=True)
    only = set(args.systems.split(",")) if args.systems else set()
    if only - set(ORDER):
        parser.error(f"unknown systems: {', '.join(sorted(only - set(ORDER)))}")
    result = measure(plan, work, anchors, only)
    table = write(result, out, anchors)
    log(f"\n{table}")
    log(f"results: {out}/latest.json, latest.md, latest.png ({result['wall_seconds']} s)")
    failed = {m: list(e) for m, e in result["errors"].items() if e}
    if failed:
        log(f"errors: {json.dumps(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
