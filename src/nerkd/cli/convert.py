"""``nerkd convert``: bring data in and out (JSONL, CoNLL, text; IOB1/IOB2/BIOES)."""

from __future__ import annotations

from nerkd.cli.common import FromOpt, InputArg, OutputOpt, SchemeOpt, ToOpt, notice_stdin


def convert(
    input: InputArg = "-",
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    scheme: SchemeOpt = "iob2",
) -> None:
    """Convert records between JSONL, CoNLL and text, and between tag schemes.

    Input schemes (IOB1, IOB2, BIOES) are detected and normalised to IOB2; an I- tag after O
    starts a new entity. Example: nerkd convert eng.train --to jsonl -o train.jsonl
    """
    from nerkd.core.formats import output_format, read_records, write_records
    from nerkd.core.io import check_output

    check_output(output)
    notice_stdin(input)
    records = read_records(input, from_format)
    write_records(records, output, output_format(output, to_format), scheme)
