"""``nerkd eval``: entity-level scores of predictions (or teacher silver) against gold, or
class scores when the records are documents with a ``label``."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from nerkd.cli.common import (
    console,
    empty_input,
    flag,
    for_a_person,
    given_options,
    notice_stdin,
    warn,
    write_json,
)

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
    context: typer.Context,
    gold: Annotated[str, typer.Argument(help="Gold records (file or -).")],
    pred: Annotated[str, typer.Argument(help="Predicted records, same sentences in the same order.")],
    mode: ModeOpt = "conlleval",
    examples: Annotated[int, typer.Option("--examples", min=0, max=1000, help="Examples per error kind.")] = 5,
    table: Annotated[
        bool | None, typer.Option("--table/--no-table", help="Rich table on stderr (default: on a terminal, unless --quiet).")
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
    from nerkd.core.io import check_output, display_name
    from nerkd.core.tasks import task_of

    if plot is not None and (plot in ("", "-") or _is_one_of(plot, gold, pred)):
        raise typer.BadParameter(f"--plot {plot!r}: name a new PNG file (stdout holds the "
                                 "report, and an input is never overwritten)")
    check_output(plot or "-")
    if gold == pred == "-":
        raise typer.BadParameter("only one of GOLD and PRED can be - (stdin)")
    notice_stdin(gold if gold == "-" else pred)
    gold_records = list(read_records(gold, gold_format))
    if not gold_records:  # scores of nothing are zeros that look like a result
        raise empty_input(display_name(gold), "evaluate")
    kind = kit(task_of(gold_records))
    if kind.name == "classify":
        for option in given_options(context, ("mode", "examples")):
            warn(f"{option} is for entities: it does nothing for documents with a class")
    report = kind.evaluate(gold_records, read_records(pred, pred_format), (gold, pred), by_id,
                           mode, examples)
    write_json(report)
    if plot:
        kind.plot(report, plot)
    if table if table is not None else for_a_person():
        console().print(kind.table(report))


def _is_one_of(path: str, *inputs: str) -> bool:
    """Whether ``path`` is an existing file among ``inputs`` (however spelt) or stdout
    (``/dev/stdout``, or the file stdout is redirected to)."""
    import os

    try:
        here = os.stat(path)
    except (OSError, ValueError):
        return False
    sources = [os.stat(name) for name in inputs if name != "-" and os.path.exists(name)]
    try:
        sources.append(os.fstat(1))
    except OSError:  # no stdout
        pass
    return any(os.path.samestat(here, source) for source in sources)
