"""The tasks nerkd distils: named entities (``ner``: tags per token) and text classification
(``classify``: a class per document). Task-specific code lives in ``core.tasks.<task>``;
records, formats, the call log and blending are shared by both; what the commands do per task
is one kit each in ``cli.tasks``.

A task is read off the records: a record with a ``label`` and no tags is a document to
classify, anything else is a sentence to tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from nerkd.core.records import Record

Task = Literal["ner", "classify"]
TASKS: tuple[Task, ...] = ("ner", "classify")


def task_of(records: Iterable[Record]) -> Task:
    """``classify`` when the labelled records carry classes and no tags, else ``ner``."""
    labelled = [r for r in records if r.label is not None or r.tags is not None]
    if labelled and all(r.label is not None and r.tags is None for r in labelled):
        return "classify"
    return "ner"


def one_task(records: Iterable[Record]) -> None:
    """Refuse data that holds both tasks: a student learns one, and training would leave the
    other task's records out without a word."""
    from nerkd.core.errors import NerkdError

    first: dict[str, Record] = {}
    counts: dict[str, int] = {"ner": 0, "classify": 0}
    for record in records:
        kind = "ner" if record.tags is not None else "classify" if record.label else None
        if kind is not None:
            counts[kind] += 1
            first.setdefault(kind, record)
    if len(first) == 2:
        raise NerkdError(
            f"the data holds both tasks: {counts['classify']} documents with a class (first: "
            f"{first['classify'].id}) and {counts['ner']} sentences with tags (first: "
            f"{first['ner'].id}); a student learns one task: give each its own data")


def training_task(task: Task, class_weights: bool = False) -> Any:
    """What ``train`` needs of a task: labels, rows, loss, head and dev report.
    ``class_weights`` (classification only) balances the classes' share of the loss."""
    if task == "classify":
        from nerkd.core.tasks.classify import ClassifyTraining

        return ClassifyTraining(balanced=class_weights)
    if class_weights:
        from nerkd.core.errors import NerkdError

        raise NerkdError("--class-weights is for text classification (--task classify)")
    from nerkd.core.tasks.ner import NerTraining

    return NerTraining()


def refuse_unseen_in_dev(dev: Sequence[Record], known: Iterable[str],
                         labels_of: Callable[[Record], Iterable[str]], what: str) -> None:
    """Fail when dev holds ``what`` (labels, classes) that training lacks, at the first dev
    record holding one: a student cannot score what it never learned."""
    from nerkd.core.errors import NerkdError

    known = set(known)
    unseen = sorted({label for r in dev for label in labels_of(r)} - known)
    if not unseen:
        return
    first = next(r for r in dev if set(labels_of(r)) - known)
    raise NerkdError(f"dev {what} unseen in training: {', '.join(unseen)} (add with --labels)",
                     line=first.line)  # the caller knows the dev file's name
