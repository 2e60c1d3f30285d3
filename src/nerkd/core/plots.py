"""PNG charts for blend schedules, eval reports, experiment tables and evolve curves.

matplotlib is an optional extra (``nerkd[plot]``) and is imported only when a chart is
drawn; figures are rendered off-screen (Agg) so this works without a display.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.io import open_output


def figure(rows: int = 1, columns: int = 1,
           size: tuple[float, float] = (7, 4.5)) -> tuple[Any, Any]:
    """An off-screen figure and its axes."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise NerkdError("plots need matplotlib: pip install 'nerkd[plot]'") from None
    drawing = Figure(figsize=size, tight_layout=True)
    FigureCanvasAgg(drawing)
    return drawing, drawing.subplots(rows, columns)


def save(drawing: Any, path: str | Path) -> None:
    """Write the PNG (atomically when it is a regular file, creating its folder)."""
    with open_output(path, binary=True) as stream:
        drawing.savefig(stream, format="png", dpi=100)


def line_plot(series: Mapping[str, Sequence[tuple[float, float]]], path: str | Path, *,
              xlabel: str, ylabel: str, title: str = "", logx: bool = False) -> None:
    """One line per named series of (x, y) points."""
    drawing, axes = figure()
    for name, points in series.items():
        if points:
            xs, ys = zip(*points)
            axes.plot(xs, ys, "o-", label=name)
    if logx:
        axes.set_xscale("log")
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    if series:
        axes.legend(fontsize="small")
    save(drawing, path)


def eval_plot(report: Mapping[str, Any], path: str | Path) -> None:
    """Per-type precision/recall/F1 bars (left) and error counts by kind (right)."""
    drawing, (scores, errors) = figure(1, 2, size=(10, 4))
    types = [*report["per_type"], "micro"]
    rows = [*report["per_type"].values(), report["micro"]]
    width = 0.27
    for offset, metric in enumerate(("precision", "recall", "f1")):
        positions = [i + (offset - 1) * width for i in range(len(types))]
        scores.bar(positions, [row[metric] for row in rows], width, label=metric)
    scores.set(xticks=range(len(types)), xticklabels=types, ylim=(0, 1.05),
               title=f"entity scores ({report['mode']} mode)")
    scores.legend(fontsize="small")
    kinds = list(report["errors"])
    errors.barh([k.replace("_", " ") for k in kinds],
                [report["errors"][k]["count"] for k in kinds])
    errors.set(xlabel="count", title="errors")
    save(drawing, path)
