"""The score tables ``eval`` prints on stderr: entities per type, or classes with their
confusion matrix (rich renderables)."""

from __future__ import annotations

from typing import Any


def report_table(report: dict[str, Any]) -> Any:
    """Per-type and overall scores, then error counts, as one rich renderable."""
    from rich.console import Group
    from rich.table import Table

    scores = _scores_table(f"entity scores ({report['mode']} mode)", "type",
                           report["per_type"], report)
    errors = Table(title="errors", title_justify="left")
    errors.add_column("kind")
    errors.add_column("count", justify="right")
    for kind, entry in report["errors"].items():
        errors.add_row(kind.replace("_", " "), str(entry["count"]))
    errors.add_section()
    errors.add_row("token accuracy", f"{report['token_accuracy']:.4f}")
    return Group(scores, errors)


def class_table(report: dict[str, Any]) -> Any:
    """Per-class and overall scores, then the confusion matrix (gold rows, predicted columns)."""
    from rich.console import Group
    from rich.table import Table

    from nerkd.core.tasks.classify import confusion_columns

    scores = _scores_table(f"class scores: accuracy {report['accuracy']:.4f} over "
                           f"{report['documents']} documents", "class", report["per_class"],
                           report)
    columns = confusion_columns(report["confusion"])
    matrix = Table(title="confusion (rows: gold, columns: predicted)", title_justify="left")
    matrix.add_column("gold")
    for column in columns:
        matrix.add_column(column, justify="right")
    for name, row in report["confusion"].items():
        matrix.add_row(name, *(str(row.get(column, 0)) for column in columns))
    return Group(scores, matrix)


def _scores_table(title: str, kind: str, rows: dict[str, Any], report: dict[str, Any]) -> Any:
    """A row of precision, recall, F1 and support per type or class, then micro and macro."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in (kind, "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == kind else "right")
    for name, row in rows.items():
        table.add_row(name, *_score_cells(row))
    table.add_section()
    for name in ("micro", "macro"):
        table.add_row(name, *_score_cells(report[name]))
    return table


def _score_cells(row: dict[str, Any]) -> list[str]:
    return [f"{row[k]:.4f}" for k in ("precision", "recall", "f1")] + [str(row["support"])]
