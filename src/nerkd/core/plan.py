"""Training plans: which records each epoch trains on, and with what weight.

A plan is a record stream in which every record carries ``epoch`` (0-based) and optionally
``weight`` (default 1.0), as ``nerkd blend`` writes it. Plain data (no ``epoch`` anywhere)
means every epoch uses every record.
"""

from __future__ import annotations

from collections.abc import Sequence

from nerkd.core.errors import NerkdError
from nerkd.core.records import Record


def is_plan(records: Sequence[Record]) -> bool:
    return any("epoch" in r.extra for r in records)


def epochs_of_plan(records: Sequence[Record], epochs: int | None) -> list[list[Record]]:
    """Records per epoch; a plan must cover every epoch from 0 to its last."""
    if not is_plan(records):
        if epochs is None or epochs < 1:
            raise NerkdError("--epochs must be at least 1")
        return [list(records) for _ in range(epochs)]
    by_epoch: dict[int, list[Record]] = {}
    for record in records:
        epoch = record.extra.get("epoch")
        if not isinstance(epoch, int) or epoch < 0:
            raise NerkdError(f"plan record {record.id}: 'epoch' must be an integer >= 0",
                             line=record.line)
        by_epoch.setdefault(epoch, []).append(record)
    total = max(by_epoch) + 1
    if epochs is not None and epochs != total:
        raise NerkdError(f"the plan has {total} epochs but --epochs is {epochs}")
    missing = [e for e in range(total) if e not in by_epoch]
    if missing:
        raise NerkdError(f"the plan has no records for epoch {', '.join(map(str, missing))}")
    labelled = [r for r in records if r.labelled]  # the rest are skipped in training
    if labelled and all(record_weight(r) == 0 for r in labelled):
        raise NerkdError("every labelled record of the plan weighs 0: training would learn "
                         "nothing")
    return [by_epoch[e] for e in range(total)]


def record_weight(record: Record) -> float:
    weight = record.extra.get("weight", 1.0)
    if not isinstance(weight, (int, float)) or weight < 0:
        raise NerkdError(f"record {record.id}: 'weight' must be a number >= 0")
    return float(weight)
