"""What the benchmarks ran on: CPU, memory, OS, load, and the versions of every system."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ("as_markdown", "describe")

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


def as_markdown(m: dict[str, Any]) -> str:
    def pkgs(versions: dict[str, str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in versions.items())

    return (
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']} "
        f"(Linux {m['kernel']}), Python {m['python']}, Chromium {m['chromium']}; "
        f"load average at the end {m['load_average_at_end']}.\n\n"
        f"- bokeh_nb's environment: {pkgs(m['bokeh_nb_environment'])}\n"
        f"- the anchors' environment: {pkgs(m['anchors_environment'])}\n"
    )
