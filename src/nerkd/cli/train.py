"""``nerkd train``: fine-tune the student on data or on a blend plan."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from nerkd.cli.common import (
    MIN_MAX_LENGTH,
    DeviceOpt,
    SeedOpt,
    empty_input,
    fail,
    flag,
    info,
    notice_stdin,
    positive,
    progress,
    warn,
    write_json,
)
from nerkd.cli.tasks import kit


def train(
    data: Annotated[list[str], typer.Argument(help="Training data or a plan from `nerkd blend` (- for stdin).")],
    output: Annotated[str, typer.Option("--output", "-o", help="Model directory to write.")],
    dev: Annotated[str | None, typer.Option("--dev", help="Dev data, scored each epoch; the best epoch is kept.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Encoder directory; default: the embedded all-MiniLM-L6-v2.")] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, max=1000, help="Epochs (default 3; a plan sets its own).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", callback=positive, help="Peak learning rate (AdamW; default 1e-4 on a CPU, 1.5e-4 on a GPU, as suits the small default student).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Sentences per step (per process; default 16 on a CPU, 32 on a GPU).")] = None,
    seed: SeedOpt = 42,
    max_length: Annotated[int, typer.Option("--max-length", min=MIN_MAX_LENGTH, help="Subwords per window; longer sentences are split, never cut.")] = 256,
    patience: Annotated[int | None, typer.Option("--patience", min=1, help="Stop after N epochs without a better dev F1.")] = None,
    labels: Annotated[str | None, typer.Option("--labels", help="Extra entity types (or classes): PER,ORG,... or a labels file (as for annotate).")] = None,
    task: Annotated[Literal["auto", "ner", "classify"], typer.Option("--task", help="auto: classify when the records are documents with a label and no tags, else ner. classify reads each document's first --max-length subwords.")] = "auto",
    class_weights: Annotated[bool, flag("--class-weights", "Classification: weight each class's documents by n / (classes x n_class), so rare classes count as much as common ones (the best epoch is still the one of best dev accuracy).")] = False,
    device: DeviceOpt = "auto",
    resume: Annotated[bool, flag("--resume", "Continue a crashed run from its last finished epoch.")] = False,
    force: Annotated[bool, flag("--force", "Replace OUTPUT if it is a nerkd model directory: its model files, not what else you put there (nothing else is ever replaced).")] = False,
    log: Annotated[str | None, typer.Option("--log", "--metrics", help="Write per-step and per-epoch metrics as JSONL (--metrics under torchrun, whose own --log-* options shadow --log).")] = None,
) -> None:
    """Fine-tune a token classifier (or a text classifier, for documents with a label); print
    a JSON summary on stdout.

    Multi-GPU: torchrun --nproc-per-node N -m nerkd train ... Example: nerkd train train.conll --dev dev.conll -o model
    """
    from nerkd.core.formats import read_records
    from nerkd.core.io import check_output, display_name, file_digest
    from nerkd.core.plan import is_plan
    from nerkd.core.records import require_labels
    from nerkd.core.student import resolve_model
    from nerkd.core.tasks import one_task, task_of, training_task
    from nerkd.core.train import TrainConfig, check_model_output, resumable
    from nerkd.core.train import train as run

    check_model_output(Path(output), force)  # before reading any data
    check_output(log or "-")
    if [*data, dev].count("-") > 1:  # exit 2: the second would read nothing
        raise typer.BadParameter("stdin (-) can be read once: give the other data as a file")
    for path in data:
        notice_stdin(path)
    per_file = [list(read_records(path)) for path in data]
    records = [r for file_records in per_file for r in file_records]
    if not records:
        names = ", ".join(display_name(path) for path in data)
        raise empty_input(names, "train on")
    plans = [display_name(path) for path, rows in zip(data, per_file) if is_plan(rows)]
    if plans and len(plans) < len(data):
        raise fail(f"{plans[0]} is a training plan (records with an epoch) and not every "
                   "input is: train on one plan, made by blend from all the data")
    dev_records = list(read_records(dev)) if dev else None
    if epochs is None and not is_plan(records):
        epochs = 3
    one_task(records)
    kind = kit(task_of(records) if task == "auto" else task)
    extra_labels = list(kind.labels(labels)) if labels else None
    if dev_records is not None:
        require_labels(dev_records, f"--dev {display_name(dev)}", kind.name)
    _check_data(records, epochs, dev_records, extra_labels,
                training_task(kind.name, class_weights), data, dev)
    if resume and not resumable(Path(output)):
        warn(f"--resume: {output} has no unfinished run to resume; training from the start")
    if not resume and resumable(Path(output)):
        warn(f"{output}: an unfinished run's checkpoint is discarded, training from the start "
             "(--resume goes on from it)")
    config = TrainConfig(
        model=resolve_model(model), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
        max_length=max_length, patience=patience, device=device, labels=extra_labels,
        task=kind.name, class_weights=class_weights,
    )
    hashes = {p: file_digest(p) for p in [*data, *([dev] if dev else [])] if p != "-"}
    events = run(records, config, output, dev_records, resume, hashes, force)  # type: ignore[arg-type]
    if os.environ.get("RANK", "0") != "0":  # torchrun: rank 0 alone reports
        for _ in events:
            pass
        return
    write_json(_render(events, Path(log) if log else None, kind))


def _check_data(records: list[Any], epochs: int | None, dev_records: list[Any] | None,
                labels: list[str] | None, task: Any, data: list[str], dev: str | None) -> None:
    """What training would refuse in the data, refused here, before the model loads, at
    the file it concerns: a plan's epochs, labels there is nothing to learn from, a dev
    label training lacks (at its dev line)."""
    from nerkd.core.errors import NerkdError
    from nerkd.core.io import display_name
    from nerkd.core.plan import epochs_of_plan

    name = display_name(data[0]) if len(data) == 1 else None
    try:
        epochs_of_plan([r for r in records if r.tokens], epochs)
    except NerkdError as error:
        raise error.located(name) from None
    try:
        task.labels(records, dev_records, labels)
    except NerkdError as error:  # of its errors, only a dev label training lacks has a line
        raise error.located(display_name(dev) if dev and error.line else name) from None


def _render(events: Any, log: Path | None, kind: Any) -> dict[str, Any]:
    """Drive training: a progress bar on stderr, metrics to ``log``; return the summary. The
    log is written in place, a line at a time (line buffered), so it follows the run and a
    failed run keeps what it logged."""
    from nerkd.core.train import Done, EpochEnd, Step

    summary: dict[str, Any] = {}
    with progress() as bar, _Log(log) as sink:
        task = bar.add_task("training", total=None)
        for event in events:
            if isinstance(event, Step):
                bar.update(task, completed=event.step, total=event.total_steps,
                           description=f"epoch {event.epoch} loss {event.loss:.3f}")
            elif isinstance(event, EpochEnd) and event.dev:
                info(f"epoch {event.epoch}: {kind.dev_words(event.dev)}")
            elif isinstance(event, Done):
                summary = {"output": event.output, "best_epoch": event.summary["best_epoch"],
                           "best_dev": event.summary["best_dev"], "epochs": event.summary["epochs"]}
            sink.write(json.dumps(_as_json(event)) + "\n")
    return summary


def _as_json(event: Any) -> dict[str, Any]:
    from dataclasses import asdict

    obj = {"event": type(event).__name__.lower(), **asdict(event)}
    if obj.get("dev"):
        key = "per_class" if "per_class" in obj["dev"] else "per_type"
        obj["dev"] = {"micro": obj["dev"]["micro"], key: obj["dev"][key]}
    return obj


class _Log:
    """The --log file (None: no log), opened at the first event, so a run stopped before it
    leaves an existing file as it was."""

    def __init__(self, path: Path | None) -> None:
        self.path, self.handle = path, None

    def __enter__(self) -> _Log:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()

    def write(self, text: str) -> None:
        if self.path is None:
            return
        if self.handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = self.path.open("w", encoding="utf-8", buffering=1)
        self.handle.write(text)
