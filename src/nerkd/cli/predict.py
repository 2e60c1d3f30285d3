"""``nerkd predict``: tag text, JSONL or CoNLL with a trained model, streaming."""

from __future__ import annotations

from typing import Annotated

import typer

from nerkd.cli.common import FromOpt, InputArg, OutputOpt, SchemeOpt, ToOpt, notice_stdin


def predict(
    input: InputArg = "-",
    model: Annotated[str, typer.Option("--model", "-m", help="Model directory (from nerkd train, or any HF token classifier with IOB2 labels).")] = ...,  # type: ignore[assignment]
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    scheme: SchemeOpt = "iob2",
    batch_size: Annotated[int, typer.Option("--batch-size", help="Windows per forward pass.")] = 32,
    max_length: Annotated[int, typer.Option("--max-length", help="Subwords per window.")] = 256,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Tag records with entities: tags and character-offset spans, in input order.

    Example: nerkd predict news.txt --model model > tagged.jsonl
    """
    from nerkd.core.formats import format_from_name, read_records, write_records
    from nerkd.core.predict import load_tagger
    from nerkd.core.predict import predict as run

    notice_stdin(input)
    tagger = load_tagger(model, device, batch_size, max_length)
    records = run(read_records(input, from_format), tagger, name=model)
    write_records(records, output, to_format or format_from_name(output) or "jsonl", scheme)
