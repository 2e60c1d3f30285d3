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


def figure(rows: int = 1, columns: int = 1, size: tuple[float, float] = (7, 4.5),
           sharey: bool = False) -> tuple[Any, Any]:
    """An off-screen figure and its axes."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise NerkdError("plots need matplotlib: pip install 'nerkd[plot]'") from None
    drawing = Figure(figsize=size, tight_layout=True)
    FigureCanvasAgg(drawing)
    return drawing, drawing.subplots(rows, columns, sharey=sharey)


def save(drawing: Any, path: str | Path) -> None:
    """Write the PNG (atomically when it is a regular file, creating its folder)."""
    with open_output(path, binary=True) as stream:
        drawing.savefig(stream, format="png", dpi=100)


Series = Mapping[str, Sequence[tuple[float, float]]]


def line_plot(series: Series, path: str | Path, *, xlabel: str, ylabel: str, title: str = "",
              logx: bool = False, from_zero: bool = False) -> Any:
    """One line per named series of (x, y) points; ``from_zero`` starts the y axis at 0 (a
    score moving from 0.41 to 0.43 should not fill the height). Returns the axes drawn."""
    drawing, axes = figure()
    _lines(axes, series, xlabel=xlabel, ylabel=ylabel, title=title, logx=logx)
    if from_zero:
        axes.set_ylim(bottom=0)
    save(drawing, path)
    return axes


def panel_plot(panels: Mapping[str, Series], path: str | Path, *, xlabel: str, ylabel: str,
               logx: bool = False) -> None:
    """Side by side panels (titled by their names) of line plots sharing the y axis."""
    drawing, axes = figure(1, len(panels), size=(4.5 * len(panels), 4), sharey=True)
    for axis, (name, series) in zip(_flat(axes), panels.items()):
        _lines(axis, series, xlabel=xlabel, ylabel=ylabel, title=name, logx=logx)
    save(drawing, path)


def _lines(axes: Any, series: Series, *, xlabel: str, ylabel: str, title: str,
           logx: bool) -> None:
    colours: dict[str, str] = {}  # "x (dev)" is drawn dashed in the colour of "x (test)"
    for name, points in series.items():
        if points:
            xs, ys = zip(*points)
            base = name.removesuffix(" (dev)").removesuffix(" (test)")
            colour = colours.setdefault(base, f"C{len(colours)}")
            style = "o--" if name.endswith(" (dev)") else "o-"
            axes.plot(xs, ys, style, label=name, color=colour)
    if logx:  # ticks at the measured x values, written plainly (1, 5, 25), not as powers
        axes.set_xscale("log")
        xs = sorted({x for points in series.values() for x, _ in points})
        axes.set_xticks(xs, [f"{x:g}" for x in xs])
        axes.minorticks_off()
    elif all(float(x).is_integer() for points in series.values() for x, _ in points):
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # rounds, epochs: no 0.5
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    if series:
        axes.legend(fontsize="small")


def _flat(axes: Any) -> list[Any]:
    return list(axes.flat) if hasattr(axes, "flat") else [axes]


def eval_plot(report: Mapping[str, Any], path: str | Path) -> None:
    """Per-type precision/recall/F1 bars (left) and error counts by kind (right)."""
    drawing, (scores, errors) = figure(1, 2, size=(10, 4))
    _score_bars(scores, report["per_type"], report["micro"],
                f"entity scores ({report['mode']} mode)")
    kinds = list(report["errors"])
    errors.barh([k.replace("_", " ") for k in kinds],
                [report["errors"][k]["count"] for k in kinds])
    errors.set(xlabel="count", title="errors")
    save(drawing, path)


def confusion_plot(report: Mapping[str, Any], path: str | Path) -> None:
    """Per-class precision/recall/F1 bars (left) and the confusion matrix (right)."""
    from nerkd.core.tasks.classify import confusion_columns

    drawing, (scores, matrix) = figure(1, 2, size=(11, 4.5))
    _score_bars(scores, report["per_class"], report["micro"],
                f"class scores (accuracy {report['accuracy']:.3f})")
    gold = list(report["confusion"])
    predicted = confusion_columns(report["confusion"])
    counts = [[report["confusion"][g].get(p, 0) for p in predicted] for g in gold]
    matrix.imshow(counts, cmap="Blues")
    for i, row in enumerate(counts):
        for j, count in enumerate(row):
            matrix.text(j, i, str(count), ha="center", va="center", fontsize="small")
    matrix.set(xticks=range(len(predicted)), xticklabels=predicted, yticks=range(len(gold)),
               yticklabels=gold, xlabel="predicted", ylabel="gold", title="confusion")
    matrix.tick_params(axis="x", labelrotation=45)
    save(drawing, path)


def _score_bars(axes: Any, rows: Mapping[str, Any], micro: Mapping[str, Any],
                title: str) -> None:
    names = [*rows, "micro"]
    values = [*rows.values(), micro]
    width = 0.27
    for offset, metric in enumerate(("precision", "recall", "f1")):
        positions = [i + (offset - 1) * width for i in range(len(names))]
        axes.bar(positions, [row[metric] for row in values], width, label=metric)
    axes.set(xticks=range(len(names)), xticklabels=names, ylim=(0, 1.05), title=title)
    axes.tick_params(axis="x", labelrotation=30)  # class names are long enough to collide
    axes.legend(fontsize="small")
