"""Text classification scores: accuracy, micro and macro P/R/F1, per-class P/R/F1 and the
confusion matrix, for documents paired in order or by id.

Single-label: each document has one gold class and at most one predicted class (a teacher may
leave a document unanswered). With every document answered, micro P = R = F1 = accuracy;
unanswered ones lower recall only. Macro averages run over every class seen in gold or
predictions (a class predicted but never true scores 0).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.evaluate import macro, scores
from nerkd.core.records import Record

UNANSWERED = "(none)"  # the confusion matrix's column for documents without a prediction


def evaluate_labels(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Scores of ``predicted`` classes against ``gold`` (same length, same order)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold classes but {len(predicted)} predicted")
    pairs = list(zip(gold, predicted))
    correct = sum(g == p for g, p in pairs)
    answered = sum(p is not None for p in predicted)
    classes = sorted(set(gold) | {p for p in predicted if p is not None})
    per_class = {c: scores(sum(g == c for g in gold), sum(p == c for p in predicted),
                            sum(g == p == c for g, p in pairs)) for c in classes}
    confusion = {c: dict(Counter(p or UNANSWERED for g, p in pairs if g == c))
                 for c in sorted(set(gold))}
    return {
        "task": "classify",
        "documents": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "micro": scores(len(gold), answered, correct),
        "macro": macro(per_class),
        "per_class": per_class,
        "confusion": confusion,
        "unanswered": len(gold) - answered,
    }


def evaluate_label_records(gold: Iterable[Record], pred: Iterable[Record], *,
                           names: tuple[str, str] = ("gold", "pred"),
                           by_id: bool = False) -> dict[str, Any]:
    """Score two record streams of the same documents, in the same order (or paired by
    ``id``: a gold document missing from ``pred`` counts as unanswered)."""
    gold_records, pred_records = list(gold), list(pred)
    for i, record in enumerate(gold_records):
        if record.label is None:
            raise NerkdError(f"document {i} (id {record.id}) has no label", names[0])
    if by_id:
        found = {r.id: r for r in pred_records}
        stray = sorted(set(found) - {r.id for r in gold_records}, key=str)
        if stray:
            raise NerkdError(f"--by-id: id {stray[0]} is not in {names[0]}", names[1])
        predicted = [found[g.id].label if g.id in found else None for g in gold_records]
    else:
        _check_aligned(gold_records, pred_records, names)
        predicted = [r.label for r in pred_records]
    return evaluate_labels([r.label for r in gold_records], predicted)  # type: ignore[misc]


def _check_aligned(gold: list[Record], pred: list[Record], names: tuple[str, str]) -> None:
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g.text != p.text:
            raise NerkdError(f"document {i} (id {g.id}) differs from {names[1]} (id {p.id}): "
                             f"{g.text[:40]!r} vs {p.text[:40]!r}", names[0])
    if len(gold) != len(pred):
        raise NerkdError(f"{len(gold)} documents in {names[0]} but {len(pred)} in {names[1]}",
                         names[0])

