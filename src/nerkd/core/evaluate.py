"""Entity-level evaluation: precision, recall and F1 per type, micro and macro, token
accuracy, and a breakdown of the errors.

Modes (entities are ``(sentence, start, end_exclusive, label)``, scored by exact match):

- ``conlleval`` (default; the number NER papers report): entities are read as the conlleval
  script and seqeval's default mode read them, so an ``I-X`` after ``O`` or after another type
  starts an entity.
- ``strict``: seqeval's strict IOB2 mode; only well-formed ``B-X I-X...`` chunks are entities.

Precision with no predictions, recall with no gold and F1 with ``P + R == 0`` are 0, as in
seqeval. Macro scores are unweighted means over the types found in gold or predictions.

Errors. Entities of one sequence never overlap, so an entity that is not an exact match can
only overlap entities that are not exact matches either. Each of those falls in one kind:

- ``wrong_type``: a prediction with exactly the span of a gold entity but another type;
- ``wrong_boundary``: a prediction overlapping a gold entity with a different span, whatever
  its type (so ``B-ORG I-ORG`` read as ``B-LOC O`` is a boundary error too);
- ``missed``: a gold entity no prediction overlaps;
- ``spurious``: a prediction overlapping no gold entity.

``wrong_type`` and ``wrong_boundary`` count overlapping (gold, prediction) pairs, so a gold
entity split into two predictions is two boundary errors; ``missed`` and ``spurious`` count
entities. Example: ``evaluate([["B-PER", "O"]], [["B-LOC", "O"]])["errors"]["wrong_type"]``
is ``{"count": 1, "examples": [...]}``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, get_args

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.records import Record, index_by_id, located, unmatched

Mode = Literal["conlleval", "strict"]
DEFAULT_MODE: Mode = "conlleval"
ERROR_KINDS = ("missed", "spurious", "wrong_type", "wrong_boundary")


class Entity(NamedTuple):
    """Tokens ``start`` to ``end`` (exclusive) of sentence ``sentence``, of type ``label``."""

    sentence: int
    start: int
    end: int
    label: str


Pair = tuple[Entity | None, Entity | None]


def evaluate(
    gold: Sequence[Sequence[str]],
    pred: Sequence[Sequence[str]],
    *,
    mode: Mode = DEFAULT_MODE,
    tokens: Sequence[Sequence[str]] | None = None,
    ids: Sequence[str | None] | None = None,
    max_examples: int = 5,
) -> dict[str, Any]:
    """A JSON-ready report of ``pred`` scored against ``gold`` (aligned IOB2 tag sequences);
    ``tokens`` and ``ids``, when given, fill in the error examples."""
    _check_arguments(gold, pred, tokens, ids, max_examples)
    gold_entities, pred_entities = extract(gold, mode), extract(pred, mode)
    correct = gold_entities & pred_entities
    per_type = _per_type(gold_entities, pred_entities, correct)
    pairs = error_pairs(gold_entities - correct, pred_entities - correct)
    return {
        "mode": mode,
        "sentences": len(gold),
        "tokens": sum(len(g) for g in gold),
        "token_accuracy": _token_accuracy(gold, pred),
        "micro": scores(len(gold_entities), len(pred_entities), len(correct)),
        "macro": macro(per_type),
        "per_type": per_type,
        "errors": {kind: {"count": len(found), "examples": [
            _example(g, p, tokens, ids) for g, p in found[:max_examples]]}
            for kind, found in pairs.items()},
    }


def extract(sequences: Sequence[Sequence[str]], mode: Mode) -> set[Entity]:
    """Entities of tag sequences, read the way ``mode`` reads them."""
    if mode == "strict":
        from seqeval.scheme import IOB2, Entities

        found = Entities([list(s) for s in sequences], IOB2).entities
        return {Entity(e.sent_id, e.start, e.end, e.tag) for sent in found for e in sent}
    if mode != "conlleval":
        raise ValueError(f"unknown mode {mode!r}; expected one of {get_args(Mode)}")
    from seqeval.metrics.sequence_labeling import get_entities

    return {Entity(i, start, last + 1, label)
            for i, tags in enumerate(sequences) for label, start, last in get_entities(list(tags))}


def error_pairs(missed_gold: set[Entity], extra_pred: set[Entity]) -> dict[str, list[Pair]]:
    """The unmatched gold and predicted entities sorted into the kinds of the module docstring,
    as (gold, prediction) pairs in sentence order; the absent side of a pair is None."""
    by_sentence: dict[int, list[Entity]] = {}
    for entity in sorted(extra_pred):
        by_sentence.setdefault(entity.sentence, []).append(entity)
    found: dict[str, list[Pair]] = {kind: [] for kind in ERROR_KINDS}
    overlapped: set[Entity] = set()
    for gold in sorted(missed_gold):
        overlapping = [p for p in by_sentence.get(gold.sentence, []) if _overlap(gold, p)]
        for p in overlapping:
            same_span = (p.start, p.end) == (gold.start, gold.end)
            found["wrong_type" if same_span else "wrong_boundary"].append((gold, p))
        if not overlapping:
            found["missed"].append((gold, None))
        overlapped.update(overlapping)
    found["spurious"] = [(None, p) for p in sorted(extra_pred - overlapped)]
    return found


def _check_arguments(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]],
                     tokens: Sequence[Sequence[str]] | None, ids: Sequence[str | None] | None,
                     max_examples: int) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    if tokens is not None and len(tokens) != len(gold):
        raise ValueError(f"{len(gold)} gold sentences but {len(tokens)} token lists")
    for i, g in enumerate(gold):
        if len(pred[i]) != len(g) or (tokens is not None and len(tokens[i]) != len(g)):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(pred[i])} predicted"
                             + (f" and {len(tokens[i])} tokens" if tokens is not None else ""))
    if ids is not None and len(ids) != len(gold):
        raise ValueError(f"{len(gold)} gold sentences but {len(ids)} ids")
    if max_examples < 0:
        raise ValueError(f"max_examples must be 0 or more, not {max_examples}")


def _token_accuracy(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> float:
    total = sum(len(g) for g in gold)
    hits = sum(a == b for g, p in zip(gold, pred, strict=True)
               for a, b in zip(g, p, strict=True))
    return hits / total if total else 0.0


def _per_type(gold: set[Entity], pred: set[Entity], correct: set[Entity]
              ) -> dict[str, dict[str, Any]]:
    def count(entities: set[Entity], label: str) -> int:
        return sum(e.label == label for e in entities)

    labels = sorted({e.label for e in gold | pred})
    return {label: scores(count(gold, label), count(pred, label), count(correct, label))
            for label in labels}


def scores(support: int, predicted: int, correct: int) -> dict[str, Any]:
    """Precision, recall and F1 from counts (0 where a ratio has nothing to divide by)."""
    precision = correct / predicted if predicted else 0.0
    recall = correct / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support,
            "predicted": predicted, "correct": correct}


def macro(per_type: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Unweighted means of per-type (or per-class) precision, recall and F1."""
    rows = list(per_type.values())
    mean = {k: sum(r[k] for r in rows) / len(rows) if rows else 0.0
            for k in ("precision", "recall", "f1")}
    return {**mean, "support": sum(r["support"] for r in rows)}


def _overlap(a: Entity, b: Entity) -> bool:
    return a.start < b.end and b.start < a.end


def _example(gold: Entity | None, pred: Entity | None, tokens: Sequence[Sequence[str]] | None,
             ids: Sequence[str | None] | None) -> dict[str, Any]:
    sentence = gold.sentence if gold is not None else pred.sentence  # type: ignore[union-attr]
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
    by_id: bool = False,
) -> dict[str, Any]:
    """Score two record streams that hold the same sentences in the same order (materialises
    the tags; records without tokens, such as empty documents, are skipped). ``by_id``: pair
    records by ``id`` instead; a gold sentence with no prediction counts as predicting none."""
    gold_records = [r for r in gold if r.tokens]
    pred_records = [r for r in pred if r.tokens]
    unpredicted = 0
    if by_id:
        pred_records, unpredicted = _paired_by_id(gold_records, pred_records, names)
    _check_aligned(gold_records, pred_records, names)

    opened_by_i = sum(r.written_tags is not None for r in gold_records)
    if mode == "strict" and opened_by_i:
        warnings.warn(f"{names[0]}: {opened_by_i} sentences open an entity with I- (IOB1?): "
                      "strict IOB2 counts no entity there", NerkdWarning, stacklevel=2)

    def tags(record: Record) -> list[str]:  # strict: as written, before any repair
        kept = record.written_tags if mode == "strict" else None
        return kept or record.tags or []

    report = evaluate(
        [tags(r) for r in gold_records], [tags(r) for r in pred_records], mode=mode,
        tokens=[r.tokens for r in gold_records], ids=[r.id for r in gold_records],
        max_examples=max_examples,
    )
    if by_id:
        report["unpredicted"] = unpredicted
    return report


def _paired_by_id(gold: list[Record], pred: list[Record],
                  names: tuple[str, str]) -> tuple[list[Record], int]:
    """``pred`` in gold's order; gold sentences it lacks are filled in with O tags."""
    for records, name in ((gold, names[0]), (pred, names[1])):
        unnamed = next((r for r in records if r.id is None), None)
        if unnamed is not None:
            raise NerkdError(f"--by-id: a record has no id ({' '.join(unnamed.tokens[:6])})",
                             name)
    index_by_id(gold, names[0])
    found = index_by_id(pred, names[1])
    stray = sorted(set(found) - {r.id for r in gold})
    if stray:
        raise NerkdError(f"--by-id: id {stray[0]} is not in {names[0]}", names[1],
                         found[stray[0]].line)
    paired = [found.get(g.id) or g.with_tags(["O"] * len(g.tokens)) for g in gold]
    return paired, len(gold) - len(found)


def _check_aligned(gold: list[Record], pred: list[Record], names: tuple[str, str]) -> None:
    for i, (g, p) in enumerate(zip(gold, pred, strict=False)):
        if g.tokens != p.tokens:
            pairs = zip(g.tokens, p.tokens, strict=False)
            k = next((k for k, (a, b) in enumerate(pairs) if a != b),
                     min(len(g.tokens), len(p.tokens)))
            raise NerkdError(
                f"sentence {i} (id {g.id}) differs from {located(names[1], p)} (id {p.id}) "
                f"at token {k}: {_token(g.tokens, k)} vs {_token(p.tokens, k)}",
                names[0], g.line)
        for record, name in ((g, names[0]), (p, names[1])):
            if record.tags is None:
                raise NerkdError(f"sentence {i} (id {record.id}) has no tags", name, record.line)
    if len(gold) != len(pred):
        raise unmatched(gold, pred, names, "sentence")


def _token(tokens: list[str], k: int) -> str:
    return repr(tokens[k]) if k < len(tokens) else "(end of sentence)"

