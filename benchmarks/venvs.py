"""The anchors' virtual environment, made from ``requirements-anchors.txt`` by the
benchmark command itself and reused while that file is unchanged.

It lives in the user's cache (``$BOKEH_NB_BENCH_VENVS``, default
``~/.cache/bokeh_nb/venvs/anchors-<digest of the requirements>``), outside the checkout,
so a fresh clone of the same requirements does not install the anchors again."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ("ANCHORS_REQUIREMENTS", "anchors_python")

HERE = Path(__file__).resolve().parent
ANCHORS_REQUIREMENTS = HERE / "requirements-anchors.txt"
_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
VENVS = Path(os.environ.get("BOKEH_NB_BENCH_VENVS") or _CACHE / "bokeh_nb" / "venvs")
INSTALL_TIMEOUT = 1800


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def anchors_python(log: Callable[[str], None] = print) -> Path:
    """The Python of the anchors' venv, created first if these requirements have none."""
    wanted = _digest(ANCHORS_REQUIREMENTS)
    venv = VENVS / f"anchors-{wanted[:16]}"
    python = venv / "bin" / "python"
    stamp = venv / "requirements.sha256"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    t0 = time.monotonic()
    log(f"creating {venv} from {ANCHORS_REQUIREMENTS.name} (pip, from PyPI)")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install_log = venv / "pip-install.log"
    with open(install_log, "wb") as out:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-r",
                str(ANCHORS_REQUIREMENTS),
            ],
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=INSTALL_TIMEOUT,
        )
    stamp.write_text(wanted)
    log(f"  done in {time.monotonic() - t0:.0f} s (log: {install_log})")
    return python
