"""``nerkd convert``: bring data in and out (JSONL, CoNLL, text; IOB1/IOB2/BIOES)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from nerkd.cli.common import (
    FromOpt,
    InputArg,
    OutputOpt,
    SchemeOpt,
    ToOpt,
    fail,
    nonempty,
    notice_stdin,
)

if TYPE_CHECKING:
    from nerkd.core.records import Record


def convert(
    input: InputArg = "-",
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    scheme: SchemeOpt = "iob2",
    label_field: Annotated[str, typer.Option("--label-field", help="JSONL field holding each document's class (text classification), written as label.")] = "label",
) -> None:
    """Convert records between JSONL, CoNLL and text, and between tag schemes.

    Input schemes (IOB1, IOB2, BIOES) are detected and normalised to IOB2; an I- tag after O
    starts a new entity. Example: nerkd convert eng.train --to jsonl -o train.jsonl; for
    classification data whose class is in another field: nerkd convert bbc.jsonl
    --label-field topic -o bbc-labelled.jsonl
    """
    from nerkd.core.formats import output_format, read_records, write_records
    from nerkd.core.io import check_output

    check_output(output)
    notice_stdin(input)
    records = nonempty(read_records(input, from_format, label_field), input, "convert")
    if label_field != "label":
        records = _some_labelled(records, input, label_field)
    write_records(records, output, output_format(output, to_format), scheme)


def _some_labelled(records: Iterator[Record], input: str, field: str) -> Iterator[Record]:
    """``records``, then a failure (before a file output is committed) when none of them
    had ``field``: a misspelt --label-field would otherwise drop every class unnoticed."""
    from nerkd.core.io import display_name

    labelled = False
    for record in records:
        labelled = labelled or record.label is not None
        yield record
    if not labelled:
        raise fail(f"{display_name(input)}: no record has a {field!r} field (--label-field)")
