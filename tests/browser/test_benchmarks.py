"""The benchmarks' quick mode (``python -m benchmarks.run --quick``): every system still
starts and yields every metric, and the table is printed. It creates the anchors' virtual
environment on first use (in the user cache, reused afterwards). No timing is asserted:
the figures of a 2-core CI machine are for benchmarks/results, not for a pass or a fail."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.report import OURS
from benchmarks.run import ORDER

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ORDER  # every system the harness measures
METRICS = (
    "round_trip",
    "update",
    "saturated",
    "kernel_to_browser",
    "browser_to_kernel",
    "selection",
    "streaming",
    "first_render",
    "wire",
    "memory",
)


@pytest.mark.timeout(1200)
def test_quick_mode_runs_every_system(tmp_path: Path, report_figure) -> None:
    out = tmp_path / "results"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1100,
    )
    output = run.stdout[-4000:] + run.stderr[-4000:]
    assert (out / "latest.json").exists(), output
    assert "| metric |" in run.stdout and "| target |" in run.stdout, run.stdout[-4000:]
    result = json.loads((out / "latest.json").read_text())
    errors = {metric: errs for metric, errs in result["errors"].items() if errs}
    assert run.returncode == (1 if errors else 0), output  # an error is an exit code
    # The one error allowed is an anchor's, after its own saturated stream: pushed past
    # Jupyter's IOPub rate limit, it may not answer within the plan's drain_ms (Panel, in a
    # CI run with the unit tests beside it). Its later figures are still taken, and
    # checked below for every system; bokeh_nb's systems may have no error at all.
    undrained = set(errors.pop("drained_after_saturate", {}))
    assert not undrained & set(OURS), result["errors"]
    assert not errors, result["errors"]
    for metric in METRICS:
        missing = [s for s in SYSTEMS if s not in result["summary"][metric]]
        assert not missing, f"{metric}: no figures for {missing}"
    floors = result["summary"]["transport_floor"]
    assert set(floors) == {"websocket", "http_fetch", "comm"}, floors
    pushes = set(result["summary"]["kernel_to_browser"]["bokeh_nb"])
    assert set(floors["comm"]) == pushes, floors["comm"]  # the bare comm, same sizes
    uploaded = set(result["summary"]["browser_to_kernel"]["bokeh_nb"])
    for transport in ("websocket_upload", "comm_upload"):
        uploads = result["summary"]["upload_floor"][transport]
        assert set(uploads) == uploaded, (transport, uploads)
    assert set(result["summary"]["update_floor"]["in_page"]) == set(
        result["summary"]["update"]["bokeh_nb"]
    )
    assert result["summary"]["comm_echo"]["bokeh_nb"]["n"] > 0
    in_page = result["summary"]["round_trip_in_page"]["bokeh_nb"]
    assert in_page["n"] == result["summary"]["comm_echo"]["bokeh_nb"]["n"], in_page
    assert 0 < in_page["p50_ms"] < result["summary"]["round_trip"]["bokeh_nb"]["p50_ms"], in_page
    probes = result["raw"]["saturated"]["bokeh_nb"]["probes_ms"]
    assert probes and all(p is not None for p in probes), probes
    for key, system in result["systems"].items():
        assert system["foreign_requests"] == [], f"{key} left 127.0.0.1"
    quiet = result["quiet"]  # each measurement waited for a quiet machine, counted
    assert 0 <= quiet["started_quiet"] <= quiet["measurements"] > 0, quiet
    assert (out / "latest.md").read_text().count("| metric |") == 1
    assert "Each measurement started once" in (out / "latest.md").read_text()
    assert (out / "latest.png").stat().st_size > 10_000
    late = f"; not drained after its saturated stream: {', '.join(sorted(undrained))}"
    started = f"{quiet['started_quiet']} of {quiet['measurements']} measurements on a quiet machine"
    report_figure(
        f"benchmarks quick mode: {result['wall_seconds']} s, {started}{late if undrained else ''}"
    )
