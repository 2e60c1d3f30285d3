"""The task-specific half of EvoKD for NER: how a sample is shown to the teacher, the two
prompts (analyse the student's weaknesses; write samples aimed at them), how written
samples are validated, the metric, and the trained student. Text classification implements
``EvolveTask`` too (``core.tasks.classify_evolve``); the loop in ``core.evolve`` knows nothing
else of the task."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nerkd.core.align import align_entities
from nerkd.core.evaluate import evaluate
from nerkd.core.parse import entity_pairs, json_values
from nerkd.core.records import Record, make_record
from nerkd.core.tags import spans_to_iob2
from nerkd.core.tokenize import tokenize

SYSTEM = ("You are an expert teacher of named-entity recognition. You study a student "
          "model's mistakes and write training data that fixes them.")

ANALYSE = """A student model tags named entities of these types:
{labels}

Its entity F1 on held-out sentences: {scores}.

Sentences it got wrong, with the correct entities and the student's:
{wrong}

Sentences it got right:
{right}

In a few sentences, describe the student's weaknesses: which entity types, kinds of names \
or contexts it misses, confuses or over-predicts. Do not write new sentences yet."""

WRITE_TARGETED = """Entity types:
{labels}

A student model has these weaknesses:
{analysis}

Write {count} new sentences in the style of news text that teach the student exactly \
these points: some easy, some hard. Use new names and new contexts. Label every named \
entity in each sentence, copying its text exactly as written.
{examples}
{answer_format}"""

WRITE_RANDOM = """Entity types:
{labels}

Write {count} new, different sentences in the style of news text that contain named \
entities. Label every named entity in each sentence, copying its text exactly as written.
{examples}
{answer_format}"""

ANSWER_FORMAT = ('Answer with JSON only: {"samples": [{"text": "...", "difficulty": '
                 '"easy or hard", "entities": [{"text": "...", "label": "..."}]}]}')
MAX_SAMPLE_CHARS = 600


class Student(Protocol):
    """A trained student as the loop uses it."""

    def predict(self, records: Sequence[Record]) -> list[Record]: ...

    def vectors(self, records: Sequence[Record]) -> Any: ...  # unit rows, for closeness


class EvolveTask(Protocol):
    """What the loop needs from a task: how to show a sample, the two prompts, how to read
    and validate written samples, the metric (a report with ``micro`` F1 and ``per_type`` or
    ``per_class`` scores), which predictions are wrong, and the trained student."""

    name: str
    score_name: str  # what micro F1 is called on a plot: micro-F1, or accuracy (one class per text)

    def wrong(self, gold: Record, predicted: Record) -> bool: ...

    def load_student(self, model: str, device: str) -> Student: ...

    def show(self, record: Record, predicted: Record) -> str: ...

    def analysis_messages(self, wrong: Sequence[str], right: Sequence[str],
                          scores: Mapping[str, Any]) -> list[dict[str, str]]: ...

    def writing_messages(self, analysis: str | None, count: int) -> list[dict[str, str]]: ...

    def writing_schema(self) -> dict[str, Any]: ...

    def samples(self, answer: str) -> tuple[list[Record], Counter[str]]: ...

    def score(self, gold: Sequence[Record], predicted: Sequence[Record]) -> dict[str, Any]: ...


class NerTask:
    """Entity recognition over a label set with definitions."""

    name = "ner"
    score_name = "micro-F1"

    def __init__(self, labels: Mapping[str, str], examples: Sequence[Record] = (),
                 label_map: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels)
        self.examples = list(examples)[:2]  # the answer's shape, shown in every writing prompt
        self.label_map = dict(label_map or {})  # the teacher's types into the labels

    def show(self, record: Record, predicted: Record) -> str:
        """A sample as the teacher sees it: text, correct entities, the student's entities."""
        correct, student = (json.dumps(_entities(r), ensure_ascii=False)
                            for r in (record, predicted))
        return f"Text: {record.text}\n   Correct: {correct}\n   Student: {student}"

    def analysis_messages(self, wrong: Sequence[str], right: Sequence[str],
                          scores: Mapping[str, Any]) -> list[dict[str, str]]:
        per_type = ", ".join(f"{k} {v['f1']:.2f}" for k, v in scores["per_type"].items())
        prompt = ANALYSE.format(labels=self._label_lines(),
                                scores=f"overall {scores['micro']['f1']:.2f}; {per_type}",
                                wrong=numbered(wrong), right=numbered(right))
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]

    def writing_messages(self, analysis: str | None, count: int) -> list[dict[str, str]]:
        """Ask for ``count`` samples: aimed at ``analysis``, or (None) at nothing in particular."""
        examples = "".join(f"\nExample sample: {json.dumps(_sample(r), ensure_ascii=False)}"
                           for r in self.examples)
        fields = {"labels": self._label_lines(), "count": count, "examples": examples,
                  "answer_format": ANSWER_FORMAT}
        if analysis is None:
            prompt = WRITE_RANDOM.format(**fields)
        else:
            prompt = WRITE_TARGETED.format(analysis=analysis.strip(), **fields)
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]

    def writing_schema(self) -> dict[str, Any]:
        entity = {"type": "object", "required": ["text", "label"], "properties": {
            "text": {"type": "string"}, "label": {"type": "string", "enum": list(self.labels)}}}
        sample = {"type": "object", "required": ["text", "entities"], "properties": {
            "text": {"type": "string"}, "difficulty": {"type": "string"},
            "entities": {"type": "array", "items": entity}}}
        return samples_schema(sample)

    def samples(self, answer: str) -> tuple[list[Record], Counter[str]]:
        return validated_samples(answer, self._validate)

    def score(self, gold: Sequence[Record], predicted: Sequence[Record]) -> dict[str, Any]:
        return evaluate([r.tags or [] for r in gold], [r.tags or [] for r in predicted])

    def wrong(self, gold: Record, predicted: Record) -> bool:
        return gold.tags != predicted.tags

    def load_student(self, model: str, device: str) -> Student:
        from nerkd.core.predict import load_tagger

        return TaggerStudent(load_tagger(model, device))

    def _validate(self, item: Any) -> tuple[Record | None, str]:
        text, problem = sample_text(item, MAX_SAMPLE_CHARS)
        if text is None:
            return None, problem
        pairs = entity_pairs(item.get("entities", []))
        if not pairs:
            return None, "no entities"
        tokens = tokenize(text)
        offsets = [(t.start, t.end) for t in tokens]
        alignment = align_entities(pairs, text, offsets, list(self.labels), self.label_map,
                                   repeats=True)
        dropped = sorted(k for k in alignment.counts if k.startswith("dropped_"))
        if dropped:  # one bad entity and the sample's labels cannot be trusted
            return None, _REASONS.get(dropped[0], dropped[0])
        record = make_record([t.text for t in tokens], text=text, offsets=offsets)
        record = record.with_tags(spans_to_iob2(len(tokens), alignment.spans))
        if item.get("difficulty"):
            record.meta["difficulty"] = str(item["difficulty"])[:20]
        return record, ""

    def _label_lines(self) -> str:
        return label_lines(self.labels)


class TaggerStudent:
    """A token classifier as evolve's student."""

    def __init__(self, tagger: Any) -> None:
        self.tagger = tagger

    def predict(self, records: Sequence[Record]) -> list[Record]:
        from nerkd.core.predict import predict

        return list(predict(records, self.tagger))

    def vectors(self, records: Sequence[Record]) -> Any:
        return self.tagger.sentence_vectors([r.tokens for r in records])


_REASONS = {"dropped_label": "label out of schema", "dropped_not_found": "entity not in text",
            "dropped_too_long": "entity too long", "dropped_overlap": "overlapping entities"}


def _entities(record: Record) -> list[dict[str, str]]:
    """Entity strings as the record's text spells them, with their labels."""
    return [{"text": s["text"], "label": s["label"]} for s in record.spans or []]


def _sample(record: Record) -> dict[str, Any]:
    return {"text": record.text, "difficulty": "easy", "entities": _entities(record)}


def samples_schema(sample: dict[str, Any]) -> dict[str, Any]:
    """The writing answer's JSON schema: ``{"samples": [sample, ...]}``."""
    return {"type": "object", "required": ["samples"],
            "properties": {"samples": {"type": "array", "items": sample}}}


def label_lines(labels: Mapping[str, str]) -> str:
    """``- NAME: definition`` lines, one per label, for a prompt."""
    return "\n".join(f"- {k}: {v}" if v else f"- {k}" for k, v in labels.items())


def sample_text(item: Any, max_chars: int) -> tuple[str | None, str]:
    """A written sample's text, whitespace collapsed, or None and why it is unusable."""
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None, "not a sample"
    text = " ".join(item["text"].split())
    if not text:
        return None, "empty text"
    if len(text) > max_chars:
        return None, "too long"
    return text, ""


def validated_samples(answer: str, validate: Any) -> tuple[list[Record], Counter[str]]:
    """Valid labelled records in a writing answer, and why every other sample was rejected
    (``validate(item)`` gives a record, or None and a reason)."""
    rejected: Counter[str] = Counter()
    items = sample_items(answer)
    if items is None:
        rejected["unreadable answer"] += 1
        return [], rejected
    accepted = []
    for item in items:
        record, reason = validate(item)
        if record is None:
            rejected[reason] += 1
        else:
            accepted.append(record)
    return accepted, rejected


def numbered(lines: Sequence[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1)) or "(none)"


def sample_items(answer: str) -> list[Any] | None:
    """The list of samples in an answer: ``{"samples": [...]}`` or a bare list of samples."""
    for value in json_values(answer):
        if isinstance(value, dict) and isinstance(value.get("samples"), list):
            return value["samples"]
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return value
    return None
