"""``nerkd predict``: tag text, JSONL or CoNLL with a trained model, streaming."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from nerkd.cli.common import (
    MIN_MAX_LENGTH,
    DeviceOpt,
    FromOpt,
    InputArg,
    OutputOpt,
    SchemeOpt,
    ToOpt,
    fail,
    nonempty,
    notice_stdin,
    progress,
    warn,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from nerkd.core.records import Record


def predict(
    input: InputArg = "-",
    model: Annotated[str, typer.Option("--model", "-m", help="Model directory (from nerkd train, or any HF token classifier with IOB2 labels).")] = ...,  # type: ignore[assignment]
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    scheme: SchemeOpt = "iob2",
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Windows (texts, for a classifier) per forward pass (default: as many as fit 1,024 subwords on a CPU, 16,384 on a GPU).")] = None,
    max_length: Annotated[int | None, typer.Option("--max-length", min=MIN_MAX_LENGTH, help="Subwords per window (default: the window the model was trained with; 256 for a model from elsewhere).")] = None,
    device: DeviceOpt = "auto",
    runtime: Annotated[Literal["torch", "onnx"], typer.Option("--runtime", help="onnx: an int8 ONNX Runtime graph on the CPU, exported into MODEL/onnx/ on first use (needs nerkd[onnx]; tags may differ from torch's on a few tokens).")] = "torch",
    precision: Annotated[Literal["auto", "float32", "bfloat16"], typer.Option("--precision", help="auto: bfloat16 on a GPU that computes it natively (Ampere and later), else float32. bfloat16 on a CPU with AMX (recent Xeons) tags about 1.8x faster (tags may differ on a few tokens); without bfloat16 matmuls it is slower.")] = "auto",
) -> None:
    """Tag records with entities: tags and character-offset spans, in input order. With a
    text classifier (a sequence-classification model), give each record its class (label).

    Example: nerkd predict news.txt --model model > tagged.jsonl; on CPUs, --runtime onnx
    is faster (int8).
    """
    from nerkd.core.errors import NerkdError
    from nerkd.core.formats import output_format, read_records, write_records
    from nerkd.core.io import check_output
    from nerkd.core.predict import check_runtime
    from nerkd.core.student import head_of, resolve_model

    try:
        check_runtime(runtime, precision)
    except NerkdError as clash:  # two options that do not go together: exit 2
        raise typer.BadParameter(clash.message) from None
    check_output(output)
    notice_stdin(input)
    model = resolve_model(model)  # a missing one fails before stdin is waited on
    _say_if_beyond_positions(model, max_length)
    unit = "line" if head_of(model) == "sequence" else "sentence"  # a document per line
    records = nonempty(read_records(input, from_format, text_unit=unit), input, "predict")
    fmt = output_format(output, to_format)
    settings = {"device": device, "batch_size": batch_size, "max_length": max_length,
                "runtime": runtime, "precision": precision}
    records = _predicted(records, model, settings, fmt)
    with progress() as bar:  # moves as core hands over each tagged chunk (2048 records)
        task = bar.add_task("tagging", total=None)
        write_records(_counted(records, bar, task), output, fmt, scheme)


def _predicted(records: Iterable[Record], model: str, settings: dict[str, Any],
               fmt: str) -> Iterator[Record]:
    """Records tagged by a token classifier, or classified by a text classifier (refused
    before it loads when the output is CoNLL or text, which hold no classes); ``settings``:
    device, batch size, max length, runtime and precision."""
    from nerkd.core.student import head_of

    if head_of(model) == "sequence":
        if fmt != "jsonl":
            raise fail(f"{model} is a text classifier and {fmt} output holds no classes: "
                       "write JSONL (-o FILE.jsonl or --to jsonl)")
        from nerkd.core.tasks.classify import load_classifier, predict_labels

        classifier = load_classifier(model, **settings)
        return predict_labels(records, classifier, name=model)
    from nerkd.core.predict import load_tagger, predict

    return predict(records, load_tagger(model, **settings), name=model)


def _say_if_beyond_positions(model: str, max_length: int | None) -> None:
    """A window longer than the model's position embeddings is cut to them: said, since the
    windows (and so the tags of long sentences) are not what was asked for."""
    from pathlib import Path

    from nerkd.core.student import saved_config

    if max_length is None or not Path(model).is_dir():
        return
    positions = saved_config(model).get("max_position_embeddings")
    if isinstance(positions, int) and max_length > positions:
        warn(f"--max-length {max_length} is beyond the {positions} positions of {model}: "
             f"windows of {positions} subwords are used")


def _counted(records: Iterable[Record], bar: Progress, task: TaskID) -> Iterator[Record]:
    """``records`` unchanged, counted on the bar as they are taken."""
    for number, record in enumerate(records, 1):
        yield record
        bar.update(task, description=f"tagging: {number} records done")
