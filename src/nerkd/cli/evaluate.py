"""``nerkd eval``: entity-level scores of predictions (or teacher silver) against gold, or
class scores when the records are documents with a ``label``."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

import typer

from nerkd.cli.common import console, flag, notice_stdin, write_json

FormatName = Literal["jsonl", "conll", "text"]
ModeOpt = Annotated[
    Literal["conlleval", "strict"],
    typer.Option(
        "--mode",
        help="conlleval (default; the number papers report: an I- after O starts an entity) "
        "or strict IOB2 (ill-formed entities count as wrong).",
    ),
]


def evaluate(
    gold: Annotated[str, typer.Argument(help="Gold records (file or -).")],
    pred: Annotated[str, typer.Argument(help="Predicted records, same sentences in the same order.")],
    mode: ModeOpt = "conlleval",
    examples: Annotated[int, typer.Option("--examples", min=0, max=1000, help="Examples per error kind.")] = 5,
    table: Annotated[
        bool | None, typer.Option("--table/--no-table", help="Rich table on stderr (default: if a terminal).")
    ] = None,
    gold_format: Annotated[FormatName | None, typer.Option("--from", "--gold-from", help="Format of GOLD; default: from its name, else sniffed.")] = None,
    pred_format: Annotated[FormatName | None, typer.Option("--pred-from", help="Format of PRED; default: from its name, else sniffed.")] = None,
    by_id: Annotated[bool, flag("--by-id", "Pair sentences by id, not by position; a gold sentence missing from PRED (e.g. one the teacher could not answer) counts as predicting no entities.")] = False,
    plot: Annotated[str | None, typer.Option("--plot", help="Also draw per-type scores and error counts to this PNG.")] = None,
) -> None:
    """Score predictions against gold: entity P/R/F1 per type (or class), micro/macro, errors.

    Documents with a class (label) get accuracy, micro/macro and per-class P/R/F1 and a
    confusion matrix instead. The JSON report goes to stdout; a table goes to stderr on a
    terminal. Example: nerkd eval test.conll predictions.jsonl --mode strict
    """
    from nerkd.cli.tasks import kit
    from nerkd.core.formats import read_records
    from nerkd.core.io import check_output
    from nerkd.core.tasks import task_of

    check_output(plot or "-")
    if gold == pred == "-":
        raise typer.BadParameter("only one of GOLD and PRED can be - (stdin)")
    notice_stdin(gold if gold == "-" else pred)
    gold_records = list(read_records(gold, gold_format))
    kind = kit(task_of(gold_records))
    report = kind.evaluate(gold_records, read_records(pred, pred_format), (gold, pred), by_id,
                           mode, examples)
    write_json(report)
    if plot:
        kind.plot(report, plot)
    if table if table is not None else sys.stderr.isatty():
        console().print(kind.table(report))


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

    scores = _scores_table(f"class scores: accuracy {report['accuracy']:.4f} over "
                           f"{report['documents']} documents", "class", report["per_class"],
                           report)
    columns = sorted({p for row in report["confusion"].values() for p in row})
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
