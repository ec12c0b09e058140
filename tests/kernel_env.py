"""A second Python environment with another bokeh, for kernels and for the unit and kernel
tests: ``.venv-kernels/bokeh-<version>/`` (created once, then reused).

bokeh_nb itself comes from this checkout (a ``.pth`` file and its metadata: no build, no
copy), so the environment holds only what a kernel needs plus the test tools. ``./dev.sh test`` creates
it; ``tests/browser/test_kernel_env.py`` registers a kernelspec pointing to it.

    python -m tests.kernel_env            # create it (no-op when it exists)
    python -m tests.kernel_env --python   # print its interpreter
"""

from __future__ import annotations

import fcntl
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The bokeh versions the suite runs on: ``./dev.sh test`` puts the newest in ``.venv``
#: (pre-releases included: 3.10.0 final is not published on this machine's index, 3.10.0.dev5
#: is the last 3.10 pre-release), the other one is here. The first is the newest release
#: (pip's choice for a user), the one the shipped notebooks carry.
SUPPORTED = ("3.9.2", "3.10.0.dev5")
#: The other bokeh: the supported version that ``.venv`` does not run.
OTHER_BOKEH = next(v for v in reversed(SUPPORTED) if v != importlib.metadata.version("bokeh"))
#: What a kernel with bokeh_nb needs, the tools tests/unit and tests/kernel use, and
#: JupyterLab (a server in this environment, with kernels in ``.venv``: the other direction).
PACKAGES = [
    "jupyterlab>=4.2",
    "ipykernel>=6.29",
    "ipywidgets>=8.1",
    "jupyter-server>=2.14",
    "traitlets",
    "numpy",
    "pandas",
    "pytest",
    "pytest-timeout",
    "hypothesis",
    "nbval",
    "playwright",
]
#: Bounds the one-time creation (pip downloads about 100 MB).
CREATE_TIMEOUT = 900


def env_dir(version: str = OTHER_BOKEH) -> Path:
    return ROOT / ".venv-kernels" / f"bokeh-{version}"


def python(version: str = OTHER_BOKEH) -> Path:
    return env_dir(version) / "bin" / "python"


def _ready_marker(version: str) -> Path:
    return env_dir(version) / ".bokeh_nb-ready"


def _link_checkout(version: str) -> None:
    """bokeh_nb of this checkout on the environment's path, with its metadata (the
    version the kernel tells the frontend), as an editable install would do."""
    purelib = subprocess.run(
        [str(python(version)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(purelib) / "bokeh_nb_checkout.pth").write_text(f"{ROOT}\n")
    ours = json.loads((ROOT / "labextension" / "package.json").read_text())["version"]
    for old in Path(purelib).glob("bokeh_nb-*.dist-info"):
        shutil.rmtree(old)
    info = Path(purelib) / f"bokeh_nb-{ours}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: bokeh_nb\nVersion: {ours}\n")
    (info / "INSTALLER").write_text("tests.kernel_env\n")
    (info / "RECORD").write_text("")


def ensure(version: str = OTHER_BOKEH) -> Path:
    """The environment's interpreter, creating the environment first if needed."""
    target = env_dir(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{target.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one creator at a time (parallel test runs)
        wanted = "\n".join([f"bokeh=={version}", *PACKAGES]) + "\n"
        marker = _ready_marker(version)
        if marker.exists() and marker.read_text() == wanted:
            _link_checkout(version)
            return python(version)
        if not marker.exists():  # a changed package list is installed into the environment
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(target)], check=True)
        pip = [str(python(version)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        subprocess.run(
            [*pip, f"bokeh=={version}", *PACKAGES],
            check=True,
            timeout=CREATE_TIMEOUT,
            env=env,
        )
        marker.write_text(wanted)
    _link_checkout(version)
    return python(version)


def main() -> None:
    interpreter = ensure()
    if "--python" in sys.argv[1:]:
        print(interpreter)
    else:
        print(f"kernel environment: {env_dir()} (bokeh {OTHER_BOKEH}, {sysconfig.get_platform()})")


if __name__ == "__main__":
    main()
