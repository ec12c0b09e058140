"""From raw measurements to the summary and a markdown table (the targets: targets.py)."""

from __future__ import annotations

import statistics
from typing import Any

__all__ = ("ANCHORS", "NOTEBOOK_ANCHORS", "OURS", "get", "markdown", "sizes_of", "summarize")

#: bokeh_nb's two systems, and the anchors they are compared with
OURS = ("bokeh_nb", "bokeh_nb_standalone")
ANCHORS = ("jupyter_bokeh", "panel", "show_app", "bokeh_serve", "bokeh_serve_nodelay")
#: the anchors a notebook user has (target 3 compares the notebook round trip with these)
NOTEBOOK_ANCHORS = ("jupyter_bokeh", "panel", "show_app")
MB = 1e6
MIB = 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _round_trip(raw: dict[str, Any]) -> dict[str, Any]:
    ms = raw["samples_ms"]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 0.5),
        "p95_ms": percentile(ms, 0.95),
        "min_ms": min(ms),
    }


def _by_size(raw: dict[str, list[float]], bytes_per_value: int) -> dict[str, Any]:
    """Per size n (values per column), the median time and MB/s of n x bytes_per_value."""
    out = {}
    for n, ms in raw.items():
        median = statistics.median(ms)
        out[n] = {
            "reps": len(ms),
            "median_ms": median,
            "mb_per_s": bytes_per_value * int(n) / MB / (median / 1e3),
        }
    return out


def _kernel_to_browser(raw: dict[str, list[float]]) -> dict[str, Any]:
    """Two float64 columns of each size."""
    return _by_size(raw, 16)


def _browser_to_kernel(raw: dict[str, list[float]]) -> dict[str, Any]:
    """Per size, one float64 column (8 bytes a value) or a selection (its rows)."""
    return _by_size(raw, 8)


def _streaming(raw: dict[str, Any]) -> dict[str, Any]:
    sent = raw.get("sent") or 0
    out = {**raw, "lost": sent - raw["received"]}
    probes = raw.get("probes_ms")
    if probes is not None:  # round trips during a saturated stream (None: no answer)
        answered = [p for p in probes if p is not None]
        out["probes"] = len(probes)
        out["probes_unanswered"] = len(probes) - len(answered)
        out["probe_p50_ms"] = percentile(answered, 0.5) if answered else None
        out["probe_p95_ms"] = (
            percentile(answered, 0.95) if answered and len(answered) == len(probes) else None
        )
        to_python = raw.get("probes_to_python_ms") or []
        out["probe_to_python_p95_ms"] = percentile(to_python, 0.95) if to_python else None
    return out


def _update(raw: dict[str, list[float]]) -> dict[str, Any]:
    out = {}
    for n, ms in raw.items():
        median = statistics.median(ms)
        rate = int(n) / 1e6 / (median / 1e3)
        out[n] = {"reps": len(ms), "median_ms": median, "mpoints_per_s": rate}
    return out


def _first_render(raw: dict[str, Any], models: dict[int, int]) -> dict[str, Any]:
    return {
        "plots": raw["plots"],
        "models": models.get(raw["plots"]),
        "reps": len(raw["ms"]),
        "median_ms": statistics.median(raw["ms"]),
    }


def _wire(raw: dict[str, Any]) -> dict[str, Any]:
    raw_bytes = raw["raw_bytes"]
    return {
        **raw,
        # the window holds exactly one Bokeh message (one PATCH-DOC of bulk's data)
        "kernel_messages_per_bokeh_message": raw["kernel"]["messages"],
        "browser_messages_per_bokeh_message": raw["browser"]["messages"],
        "kernel_bytes_per_raw_byte": raw["kernel"]["bytes"] / raw_bytes,
        "browser_bytes_per_raw_byte": raw["browser"]["bytes"] / raw_bytes,
    }


def _memory(raw: dict[str, Any]) -> dict[str, Any]:
    per_session = (raw["rss_sessions_open_bytes"] - raw["rss_before_bytes"]) / raw["sessions"]
    growth = raw["rss_after_cycles_bytes"] - raw["rss_warm_bytes"]
    return {**raw, "per_session_mb": per_session / MIB, "growth_mb": growth / MIB}


def summarize(metrics: dict[str, dict[str, Any]], models: dict[int, int]) -> dict[str, Any]:
    """Per metric and system, the figures the table and the targets use."""
    makers: dict[str, Any] = {
        "round_trip": _round_trip,
        "kernel_to_browser": _kernel_to_browser,
        "browser_to_kernel": _browser_to_kernel,
        "selection": _browser_to_kernel,
        "streaming": _streaming,
        "saturated": _streaming,
        "update": _update,
        "update_floor": _update,
        "update_arrival": _update,
        "comm_echo": _round_trip,
        "round_trip_in_page": _round_trip,
        "first_render": lambda raw: _first_render(raw, models),
        "wire": _wire,
        "memory": _memory,
    }
    makers["transport_floor"] = _kernel_to_browser
    makers["upload_floor"] = _browser_to_kernel
    summary = {
        metric: {key: make(raw) for key, raw in metrics.get(metric, {}).items()}
        for metric, make in makers.items()
    }
    summary["round_trip_floor"] = _round_trip_floor(summary)
    return summary


def _round_trip_floor(summary: dict[str, Any]) -> dict[str, Any]:
    """The notebook round trip's floor: the comm echo's p50 plus the in-page part's p50
    (a bound below the p95 as well); nothing when either was not measured."""
    out = {}
    for key, echo in summary["comm_echo"].items():
        in_page = summary["round_trip_in_page"].get(key)
        if in_page is not None:
            out[key] = {"p50_ms": echo["p50_ms"] + in_page["p50_ms"]}
    return out


def get(summary: dict[str, Any], metric: str, key: str, *path: str) -> float | None:
    """One figure of the summary, or None when it was not measured."""
    node: Any = summary.get(metric, {}).get(key)
    for step in path:
        if not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return float(node) if isinstance(node, int | float) else None


# ---- the table ----------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        digits = 0
    return f"{value:,.{digits}f}{unit}"


def sizes_of(summary: dict[str, Any], metric: str) -> list[str]:
    """The sizes any system has figures of for metric, smallest first."""
    return sorted({n for by_size in summary.get(metric, {}).values() for n in by_size}, key=int)


def _rows(
    summary: dict[str, Any], sizes: list[str], points: list[str]
) -> list[tuple[str, str, list[str]]]:
    """(label, metric, path) rows of the table."""
    rows: list[tuple[str, str, list[str]]] = [
        ("event round trip p50 (ms)", "round_trip", ["p50_ms"]),
        ("event round trip p95 (ms)", "round_trip", ["p95_ms"]),
    ]
    for n in points:
        rows.append(
            (
                f"update of a drawn scatter, {int(n):.0e} points, request → repainted (ms)",
                "update",
                [n, "median_ms"],
            )
        )
        rows.append(
            (
                f"update of a drawn scatter, {int(n):.0e} points, request → data in BokehJS (ms)",
                "update_arrival",
                [n, "median_ms"],
            )
        )
    for n in sizes:
        rows.append(
            (
                f"kernel → browser, {int(n):.0e} x 2 float64 (MB/s)",
                "kernel_to_browser",
                [n, "mb_per_s"],
            )
        )
    for n in sizes_of(summary, "browser_to_kernel"):
        rows.append(
            (
                f"browser → kernel, a float64 column of {int(n):.0e} (MB/s)",
                "browser_to_kernel",
                [n, "mb_per_s"],
            )
        )
    for n in sizes_of(summary, "selection"):
        rows.append(
            (
                f"browser → kernel, a selection of {int(n):.0e} rows (ms)",
                "selection",
                [n, "median_ms"],
            )
        )
    rows += [
        ("streaming: rows sent", "streaming", ["sent"]),
        ("streaming: rows lost", "streaming", ["lost"]),
        ("streaming: delivered rows/s", "streaming", ["rows_per_s"]),
        ("streaming: patches/s", "streaming", ["patches_per_s"]),
        ("streaming: browser frames/s", "streaming", ["frames_per_s"]),
        ("saturated stream: rows sent", "saturated", ["sent"]),
        ("saturated stream: rows lost", "saturated", ["lost"]),
        ("saturated stream: delivered rows/s", "saturated", ["rows_per_s"]),
        ("saturated stream: round trip p95 during it (ms)", "saturated", ["probe_p95_ms"]),
        (
            "saturated stream: of which page → Python p95 (ms)",
            "saturated",
            ["probe_to_python_p95_ms"],
        ),
        ("saturated stream: browser frames/s", "saturated", ["frames_per_s"]),
        ("first render of the grid (ms)", "first_render", ["median_ms"]),
        ("wire: kernel messages per Bokeh message", "wire", ["kernel_messages_per_bokeh_message"]),
        (
            "wire: browser messages per Bokeh message",
            "wire",
            ["browser_messages_per_bokeh_message"],
        ),
        ("wire: kernel bytes / raw bytes", "wire", ["kernel_bytes_per_raw_byte"]),
        ("wire: browser bytes / raw bytes", "wire", ["browser_bytes_per_raw_byte"]),
        ("memory: kernel RSS per open session (MB)", "memory", ["per_session_mb"]),
        ("memory: growth after the cycles (MB)", "memory", ["growth_mb"]),
    ]
    return rows


def markdown(result: dict[str, Any]) -> str:
    summary, labels = result["summary"], result["systems"]
    keys = list(labels)
    sizes, points = sizes_of(summary, "kernel_to_browser"), sizes_of(summary, "update")
    head = "| metric | " + " | ".join(labels[k]["label"] for k in keys) + " |"
    lines = [head, "|---|" + "---:|" * len(keys)]
    for label, metric, path in _rows(summary, sizes, points):
        digits = 2 if "bytes / raw" in label else 1
        if "messages per" in label or "rows sent" in label or "rows lost" in label:
            digits = 0
        cells = []
        for key in keys:
            error = result["errors"].get(metric, {}).get(key)
            value = get(summary, metric, key, *path)
            cells.append("error" if value is None and error else _fmt(value, digits))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    said = (
        (
            "transport_floor",
            "websocket",
            "mb_per_s",
            " x 2",
            "Transport floor (the same bytes over a bare tornado websocket into the same "
            "Chromium, same run)",
        ),
        (
            "transport_floor",
            "http_fetch",
            "mb_per_s",
            " x 2",
            "Transport floor (the same bytes fetched over plain HTTP from the same tornado "
            "server into the same Chromium, same run)",
        ),
        (
            "upload_floor",
            "websocket_upload",
            "mb_per_s",
            "",
            "Upload floor (a float64 column sent from the same Chromium over a bare tornado "
            "websocket, until the server's answer that it has it is back, same run)",
        ),
        (
            "transport_floor",
            "comm",
            "mb_per_s",
            " x 2",
            "Comm floor toward the page (the same bytes as two binary buffers of a bare comm "
            "message from the kernel, asked for and received in bokeh_nb's notebook page, no "
            "Bokeh, same run): every notebook transfer goes over this path",
        ),
        (
            "upload_floor",
            "comm_upload",
            "mb_per_s",
            "",
            "Comm floor from the page (a float64 column as the binary buffer of a bare comm "
            "message from bokeh_nb's notebook page, until the kernel's answer that it has it "
            "is back, no Bokeh, same run)",
        ),
        (
            "update_floor",
            "in_page",
            "median_ms",
            "",
            "In-page floor of the update (the same data made in the page and assigned to the "
            "same source, no kernel, timed the same way)",
        ),
    )
    for metric, key, field, per, words in said:
        floor = summary.get(metric, {}).get(key, {})
        if floor:
            unit = "MB/s" if field == "mb_per_s" else "ms"
            figures = ", ".join(
                f"{int(n):.0e}{per}: {_fmt(v[field])} {unit}"
                for n, v in sorted(floor.items(), key=lambda i: int(i[0]))
            )
            lines += ["", f"{words}: {figures}."]
    echo = summary.get("comm_echo", {}).get("bokeh_nb")
    if echo:
        lines += [
            "",
            "Comm-echo floor of the round trip (a bare comm message to the kernel and back, "
            f"in bokeh_nb's notebook page): p50 {_fmt(echo['p50_ms'])} ms, "
            f"p95 {_fmt(echo['p95_ms'])} ms.",
        ]
    in_page = summary.get("round_trip_in_page", {}).get("bokeh_nb")
    if in_page:
        lines += [
            "",
            "In-page part of the round trip (BokehJS applying the slider's and the Div's "
            "changes in bokeh_nb's notebook page, sent nowhere): "
            f"p50 {_fmt(in_page['p50_ms'])} ms, p95 {_fmt(in_page['p95_ms'])} ms. "
            "The notebook round trip's floor is the comm echo's p50 plus this p50.",
        ]
    lines += ["", "| target | system | measured | limit | met |", "|---|---|---:|---:|---|"]
    for t in result["targets"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        if t.get("blocked_by_floor") is not None:
            met += f": blocked, the floor itself is {_fmt(t['blocked_by_floor'], 2)}"
        shown = f"{_fmt(t['value'], 2)} | {_fmt(t['limit'], 2)}"
        lines.append(f"| {t['what']} | {t['system']} | {shown} | {met} |")
    return "\n".join(lines) + "\n"
