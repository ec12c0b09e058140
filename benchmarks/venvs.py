"""The anchors' virtual environment, made from ``requirements-anchors.txt`` by the
benchmark command itself and reused while that file is unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ("ANCHORS_REQUIREMENTS", "anchors_python")

HERE = Path(__file__).resolve().parent
ANCHORS_REQUIREMENTS = HERE / "requirements-anchors.txt"
VENVS = HERE / ".venvs"
INSTALL_TIMEOUT = 1800


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def anchors_python(log: Callable[[str], None] = print) -> Path:
    """The Python of ``.venvs/anchors``, created or brought up to date first."""
    venv = VENVS / "anchors"
    python = venv / "bin" / "python"
    stamp = venv / "requirements.sha256"
    wanted = _digest(ANCHORS_REQUIREMENTS)
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
