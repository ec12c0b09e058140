"""What the benchmarks ran on: CPU, memory, OS, load, and the versions of every system."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ("Quiet", "as_markdown", "busy", "cpu_ticks", "describe", "quiet_as_markdown")

PACKAGES = (
    "bokeh",
    "bokeh_nb",
    "jupyter_bokeh",
    "panel",
    "jupyterlab",
    "jupyter_server",
    "ipykernel",
    "ipywidgets",
    "tornado",
    "numpy",
)
VERSIONS = f"""\
import json, importlib.metadata as m
def v(p):
    try:
        return m.version(p)
    except m.PackageNotFoundError:
        return None
print(json.dumps({{p: v(p) for p in {PACKAGES!r} if v(p)}}))
"""


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_total_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return 0.0


def _os_name() -> str:
    with_name = Path("/etc/os-release")
    if with_name.exists():
        for line in with_name.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()


def _versions(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(python), "-c", VERSIONS], capture_output=True, text=True, check=True, timeout=60
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def describe(anchors: Path, chromium: str) -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _mem_total_gib(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "chromium": chromium,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "bokeh_nb_environment": _versions(Path(sys.executable)),
        "anchors_environment": _versions(anchors),
    }


def cpu_ticks() -> tuple[int, int]:
    """The machine's busy CPU time and all its CPU time since boot, in clock ticks
    (``/proc/stat``'s first line: busy is all but idle and iowait; guest time is counted
    in user time already, so it is left out)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields)
    return total - fields[3] - fields[4], total


def busy(window: float) -> float:
    """The share of the machine's CPU (all cores) busy over the next ``window`` seconds."""
    busy0, total0 = cpu_ticks()
    time.sleep(window)
    busy1, total1 = cpu_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


@dataclass
class Quiet:
    """Waits, before each measurement, until the machine is quiet: at most ``limit`` of its
    CPU busy over ``window`` seconds, for at most ``most`` seconds. Without it a sample
    started while the pages, kernels and servers of the one before were still at work (a
    page's canvas committed after its paint, a kernel freeing 160 MB): in a trial of 10^4
    updates, 10 per system back to back and 10 each after this wait, in alternation, the
    update's median was 72 / 62 / 55 / 55 ms back to back against 56 / 51 / 54 / 52 ms
    (bokeh_nb, its standalone page, ``bokeh serve``, with TCP_NODELAY;
    ``benchmarks/results/PROFILE.md``). Counts how often it waited and how long."""

    limit: float = 0.25
    window: float = 0.1
    most: float = 2.0
    measurements: int = 0
    started_quiet: int = 0
    seconds: float = 0.0

    def __call__(self) -> None:
        t0 = time.monotonic()
        while not (calm := busy(self.window) <= self.limit):
            if time.monotonic() - t0 >= self.most:
                break
        self.started_quiet += calm
        self.measurements += 1
        self.seconds += time.monotonic() - t0

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "window_s": self.window,
            "most_s": self.most,
            "measurements": self.measurements,
            "started_quiet": self.started_quiet,
            "mean_wait_ms": round(1000 * self.seconds / max(1, self.measurements), 1),
        }


def quiet_as_markdown(q: dict[str, Any]) -> str:
    return (
        f"Each measurement started once at most {q['limit']:.0%} of the machine's CPU was "
        f"busy over {q['window_s'] * 1000:.0f} ms (waiting {q['most_s']:.0f} s at most): "
        f"{q['started_quiet']} of {q['measurements']} did, after {q['mean_wait_ms']} ms on "
        "average.\n\n"
    )


def as_markdown(m: dict[str, Any]) -> str:
    def pkgs(versions: dict[str, str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in versions.items())

    ours = m["bokeh_nb_environment"].get("bokeh")
    theirs = m["anchors_environment"].get("bokeh")
    unlike = (
        f"- **not like for like**: bokeh_nb ran on bokeh {ours}, the anchors on {theirs}; "
        "BokehJS's own speed in the page differs between versions, so a ratio against an "
        "anchor holds only for these two\n"
        if ours != theirs
        else ""
    )
    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} "
        f"(Linux {m['kernel']}), Python {m['python']}, Chromium {m['chromium']}; "
        f"load average at the end {m['load_average_at_end']}.\n\n"
        f"- bokeh_nb's environment: {pkgs(m['bokeh_nb_environment'])}\n"
        f"- the anchors' environment: {pkgs(m['anchors_environment'])}\n"
        f"{unlike}"
    )
