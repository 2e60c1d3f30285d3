"""Entity-level evaluation: precision, recall and F1 per type, micro and macro, token
accuracy, and a breakdown of the errors.

Modes:
- ``conlleval`` (default; the number NER papers report): entities are read as the conlleval
  script and seqeval's default mode read them, so an ``I-X`` after ``O`` starts an entity.
- ``strict``: seqeval's strict IOB2 mode; only well-formed ``B-X I-X...`` chunks are entities.

Every gold or predicted entity that is not an exact match falls in one error kind, decided in
this order:
- ``wrong_type``: a prediction with the same span as a gold entity but another type;
- ``wrong_boundary``: a prediction overlapping a gold entity with a different span (whatever
  its type);
- ``missed``: a gold entity no prediction overlaps;
- ``spurious``: a prediction overlapping no gold entity.
Counts are of gold entities for the first three kinds, of predictions for ``spurious``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

from nerkd.core.errors import NerkdError
from nerkd.core.records import Record

Mode = Literal["conlleval", "strict"]
DEFAULT_MODE: Mode = "conlleval"
ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_boundary")


class Entity(NamedTuple):
    sentence: int
    start: int
    end: int
    label: str


def extract(sequences: Sequence[Sequence[str]], mode: Mode) -> set[Entity]:
    """Entities of tag sequences, read the way ``mode`` reads them."""
    if mode == "strict":
        from seqeval.scheme import IOB2, Entities

        found = Entities([list(s) for s in sequences], IOB2).entities
        return {Entity(e.sent_id, e.start, e.end, e.tag) for sent in found for e in sent}
    from seqeval.metrics.sequence_labeling import get_entities

    entities = set()
    for i, tags in enumerate(sequences):
        for label, start, last in get_entities(list(tags)):
            entities.add(Entity(i, start, last + 1, label))
    return entities


def evaluate(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    *,
    mode: Mode = DEFAULT_MODE,
    tokens: Sequence[Sequence[str]] | None = None,
    ids: Sequence[str | None] | None = None,
    max_examples: int = 5,
) -> dict[str, Any]:
    """A JSON-ready report of ``pred`` scored against ``gold`` (aligned tag sequences)."""
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("gold and pred must have the same shape")
    gold_entities, pred_entities = extract(gold, mode), extract(pred, mode)
    correct = gold_entities & pred_entities
    labels = sorted({e.label for e in gold_entities | pred_entities})
    per_type = {
        label: _scores(*(_count(s, label) for s in (gold_entities, pred_entities, correct)))
        for label in labels
    }
    n_tokens = sum(len(g) for g in gold)
    hits = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    return {
        "mode": mode,
        "sentences": len(gold),
        "tokens": n_tokens,
        "token_accuracy": hits / n_tokens if n_tokens else 0.0,
        "micro": _scores(len(gold_entities), len(pred_entities), len(correct)),
        "macro": _macro(per_type),
        "per_type": per_type,
        "errors": _errors(gold_entities - correct, pred_entities - correct, tokens, ids,
                          max_examples),
    }


def _count(entities: set[Entity], label: str) -> int:
    return sum(e.label == label for e in entities)


def _scores(support: int, predicted: int, correct: int) -> dict[str, Any]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support,
            "predicted": predicted, "correct": correct}


def _macro(per_type: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rows = list(per_type.values())
    mean = {k: sum(r[k] for r in rows) / len(rows) if rows else 0.0
            for k in ("precision", "recall", "f1")}
    return {**mean, "support": sum(r["support"] for r in rows)}


def _errors(missed_gold: set[Entity], extra_pred: set[Entity], tokens: Any, ids: Any,
            max_examples: int) -> dict[str, Any]:
    """Sort every unmatched entity into one error kind (see the module docstring)."""
    pairs: dict[str, list[tuple[Entity | None, Entity | None]]] = {k: [] for k in ERROR_KINDS}
    by_sentence: dict[int, list[Entity]] = {}
    for entity in extra_pred:
        by_sentence.setdefault(entity.sentence, []).append(entity)
    explained: set[Entity] = set()
    for gold in sorted(missed_gold):
        overlapping = [p for p in by_sentence.get(gold.sentence, []) if _overlap(gold, p)]
        same_span = [p for p in overlapping if (p.start, p.end) == (gold.start, gold.end)]
        kind = "wrong_type" if same_span else "wrong_boundary" if overlapping else "missed"
        partner = (same_span or overlapping or [None])[0]
        pairs[kind].append((gold, partner))
        explained.update(overlapping)
    pairs["spurious"] = [(None, p) for p in sorted(extra_pred - explained)]
    return {kind: {"count": len(found), "examples": [
        _example(g, p, tokens, ids) for g, p in found[:max_examples]]}
        for kind, found in pairs.items()}


def _overlap(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _example(gold: Entity | None, pred: Entity | None, tokens: Any, ids: Any) -> dict[str, Any]:
    sentence = (gold or pred).sentence  # type: ignore[union-attr]
    words = tokens[sentence] if tokens is not None else None

    def describe(entity: Entity | None) -> dict[str, Any] | None:
        if entity is None:
            return None
        text = " ".join(words[entity.start : entity.end]) if words is not None else None
        return {"start": entity.start, "end": entity.end, "label": entity.label, "text": text}

    return {"sentence": sentence, "id": ids[sentence] if ids is not None else None,
            "text": " ".join(words) if words is not None else None,
            "gold": describe(gold), "pred": describe(pred)}


def evaluate_records(
    gold: Iterable[Record],
    pred: Iterable[Record],
    *,
    mode: Mode = DEFAULT_MODE,
    max_examples: int = 5,
    names: tuple[str, str] = ("gold", "pred"),
) -> dict[str, Any]:
    """Score two record streams that hold the same sentences in the same order (materialises
    the tags; records without tokens, such as empty documents, are skipped)."""
    gold_records = [r for r in gold if r.tokens]
    pred_records = [r for r in pred if r.tokens]
    _check_aligned(gold_records, pred_records, names)
    return evaluate(
        [r.tags or [] for r in gold_records], [r.tags or [] for r in pred_records], mode=mode,
        tokens=[r.tokens for r in gold_records], ids=[r.id for r in gold_records],
        max_examples=max_examples,
    )


def _check_aligned(gold: list[Record], pred: list[Record], names: tuple[str, str]) -> None:
    for i, (g, p) in enumerate(zip(gold, pred)):
        if g.tokens != p.tokens:
            k = next((k for k, (a, b) in enumerate(zip(g.tokens, p.tokens)) if a != b),
                     min(len(g.tokens), len(p.tokens)))
            raise NerkdError(
                f"sentence {i} (id {g.id}) differs from {names[1]} (id {p.id}) at token {k}: "
                f"{_token(g.tokens, k)} vs {_token(p.tokens, k)}", names[0])
        for record, name in ((g, names[0]), (p, names[1])):
            if record.tags is None:
                raise NerkdError(f"sentence {i} (id {record.id}) has no tags", name)
    if len(gold) != len(pred):
        raise NerkdError(f"{len(gold)} sentences in {names[0]} but {len(pred)} in {names[1]}; "
                         f"the first unmatched is sentence {min(len(gold), len(pred))}", names[0])


def _token(tokens: list[str], k: int) -> str:
    return repr(tokens[k]) if k < len(tokens) else "(end of sentence)"

