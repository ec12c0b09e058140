"""``chart.py latest.json latest.png``: the run's chart (matplotlib, in the anchors' venv)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

COLORS = {
    "bokeh_nb": "#1f77b4",
    "bokeh_nb_standalone": "#17becf",
    "jupyter_bokeh": "#ff7f0e",
    "panel": "#2ca02c",
    "show_app": "#d62728",
    "bokeh_serve": "#9467bd",
    "bokeh_serve_nodelay": "#8c564b",
}


def _bars(ax: Axes, result: dict[str, Any], metric: str, field: str, title: str) -> None:
    data = result["summary"].get(metric, {})
    keys = [k for k in result["systems"] if k in data and data[k].get(field) is not None]
    values = [data[k][field] for k in keys]
    ax.bar(range(len(keys)), values, color=[COLORS.get(k, "gray") for k in keys])
    ax.set_xticks(range(len(keys)), keys, rotation=30, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    for i, v in enumerate(values):
        ax.annotate(f"{v:,.1f}", (i, v), ha="center", va="bottom", fontsize=7)


def _round_trips(ax: Axes, result: dict[str, Any]) -> None:
    data = result["summary"].get("round_trip", {})
    keys = [k for k in result["systems"] if k in data]
    width = 0.4
    for offset, field, alpha in ((-width / 2, "p50_ms", 1.0), (width / 2, "p95_ms", 0.5)):
        xs = [i + offset for i in range(len(keys))]
        ys = [data[k][field] for k in keys]
        ax.bar(xs, ys, width, color=[COLORS.get(k, "gray") for k in keys], alpha=alpha)
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(f"{y:.1f}", (x, y), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(range(len(keys)), keys, rotation=30, ha="right", fontsize=8)
    ax.set_title("event round trip, ms (p50 solid, p95 light)", fontsize=10)
    floor = result["summary"].get("round_trip_floor", {}).get("bokeh_nb")
    if floor:
        ax.axhline(
            floor["p50_ms"],
            color="black",
            linestyle="--",
            linewidth=1,
            label="notebook floor (p50)",
        )
        ax.legend(fontsize=7)


def _curves(
    ax: Axes,
    result: dict[str, Any],
    metric: str,
    field: str,
    floors: list[tuple[str, str, str]],
    title: str,
    xlabel: str = "values per column (2 float64 columns)",
) -> None:
    """One line per system over the sizes, and each floor (metric, key, label) dashed."""
    data = result["summary"].get(metric, {})
    for key in result["systems"]:
        sizes = sorted(data.get(key, {}), key=int)
        if sizes:
            ax.plot(
                [int(n) for n in sizes],
                [data[key][n][field] for n in sizes],
                marker="o",
                label=key,
                color=COLORS.get(key, "gray"),
            )
    for (floor_metric, floor_key, floor_label), style in zip(floors, ("--", ":"), strict=False):
        lowest = result["summary"].get(floor_metric, {}).get(floor_key, {})
        if lowest:
            sizes = sorted(lowest, key=int)
            ax.plot(
                [int(n) for n in sizes],
                [lowest[n][field] for n in sizes],
                linestyle=style,
                color="black",
                label=floor_label,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)


def main(json_path: str, png_path: str) -> None:
    result = json.loads(Path(json_path).read_text())
    fig, axes = plt.subplots(3, 3, figsize=(15, 12.5))
    _round_trips(axes[0][0], result)
    _curves(
        axes[0][1],
        result,
        "kernel_to_browser",
        "mb_per_s",
        [
            ("transport_floor", "websocket", "bare websocket (floor)"),
            ("transport_floor", "comm", "bare comm, notebook page (floor)"),
        ],
        "kernel -> browser, MB/s",
    )
    _curves(
        axes[0][2],
        result,
        "browser_to_kernel",
        "mb_per_s",
        [
            ("upload_floor", "websocket_upload", "bare websocket (floor)"),
            ("upload_floor", "comm_upload", "bare comm, notebook page (floor)"),
        ],
        "browser -> kernel, MB/s",
        xlabel="float64 values in one column",
    )
    _bars(axes[1][0], result, "streaming", "rows_per_s", "streaming: delivered rows/s")
    _bars(axes[1][1], result, "first_render", "median_ms", "first render of the grid, ms")
    _bars(axes[1][2], result, "memory", "growth_mb", "kernel RSS growth after the cycles, MB")
    _curves(
        axes[2][0],
        result,
        "update",
        "mpoints_per_s",
        [("update_floor", "in_page", "data made in the page (floor)")],
        "update of a drawn scatter, Mpoints/s until repainted",
    )
    _bars(axes[2][1], result, "saturated", "rows_per_s", "saturated stream: delivered rows/s")
    _bars(
        axes[2][2],
        result,
        "saturated",
        "probe_p95_ms",
        "saturated stream: round trip p95 during it, ms",
    )
    fig.suptitle(f"bokeh_nb and the anchors, {result['mode']} run of {result['started']}")
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
