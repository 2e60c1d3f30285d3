"""EvoKD's task half for text classification (as in the paper's news-topic and sentiment
runs): a document is shown as its text, its class and the student's; the teacher analyses
which classes the student confuses and writes short labelled texts aimed at that; a written
sample is kept when its text is usable and its class is in the schema."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.evolve_task import (
    label_lines,
    numbered,
    sample_text,
    samples_schema,
    validated_samples,
)
from nerkd.core.records import Record, record_from_json
from nerkd.core.tasks.classify import SHOWN_CHARS, Classifier, evaluate_labels, load_classifier

SYSTEM = ("You are an expert teacher of text classification. You study a student model's "
          "mistakes and write training data that fixes them.")

ANALYSE = """A student model sorts texts into these classes:
{labels}

Its scores on held-out texts: {scores}.

Texts it got wrong, with the correct class and the student's:
{wrong}

Texts it got right:
{right}

In a few sentences, describe the student's weaknesses: which classes it confuses, misses or \
over-predicts, and on what kinds of text. Do not write new texts yet."""

WRITE_TARGETED = """Classes:
{labels}

A student model has these weaknesses:
{analysis}

Write {count} new short texts in the style of news (two or three sentences each) that teach \
the student exactly these points: some easy, some hard. Give each text its correct class.
{examples}
{answer_format}"""

WRITE_RANDOM = """Classes:
{labels}

Write {count} new, different short texts in the style of news (two or three sentences each), \
each with its correct class.
{examples}
{answer_format}"""

ANSWER_FORMAT = ('Answer with JSON only: {"samples": [{"text": "...", "difficulty": '
                 '"easy or hard", "label": "..."}]}')
MAX_SAMPLE_CHARS = 2000
SHOWN_TO_ANALYSE = 400  # characters of each text the analysis prompt shows


class ClassTask:
    """Text classification over a set of classes with definitions."""

    name = "classify"
    score_name = "accuracy"  # one class per text: micro F1 is accuracy

    def __init__(self, labels: Mapping[str, str], examples: Sequence[Record] = (),
                 label_map: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels)
        self.by_case = {name.casefold(): name for name in self.labels}
        self.label_map = {k.casefold(): v for k, v in (label_map or {}).items()}
        self.examples = [r for r in examples if r.label is not None][:2]

    def show(self, record: Record, predicted: Record) -> str:
        return (f"Text: {record.text[:SHOWN_TO_ANALYSE]}\n   Correct: {record.label}\n"
                f"   Student: {predicted.label}")

    def analysis_messages(self, wrong: Sequence[str], right: Sequence[str],
                          scores: Mapping[str, Any]) -> list[dict[str, str]]:
        per_class = ", ".join(f"{k} {v['f1']:.2f}" for k, v in scores["per_class"].items())
        prompt = ANALYSE.format(labels=self._label_lines(),
                                scores=f"accuracy {scores['accuracy']:.2f}; F1 {per_class}",
                                wrong=numbered(wrong), right=numbered(right))
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]

    def writing_messages(self, analysis: str | None, count: int) -> list[dict[str, str]]:
        examples = "".join(
            "\nExample sample: " + json.dumps({"text": r.text[:SHOWN_CHARS],
                                               "difficulty": "easy", "label": r.label},
                                              ensure_ascii=False)
            for r in self.examples)
        fields = {"labels": self._label_lines(), "count": count, "examples": examples,
                  "answer_format": ANSWER_FORMAT}
        if analysis is None:
            prompt = WRITE_RANDOM.format(**fields)
        else:
            prompt = WRITE_TARGETED.format(analysis=analysis.strip(), **fields)
        return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]

    def writing_schema(self) -> dict[str, Any]:
        sample = {"type": "object", "required": ["text", "label"], "properties": {
            "text": {"type": "string"}, "difficulty": {"type": "string"},
            "label": {"type": "string", "enum": list(self.labels)}}}
        return samples_schema(sample)

    def samples(self, answer: str) -> tuple[list[Record], Counter[str]]:
        return validated_samples(answer, self._validate)

    def score(self, gold: Sequence[Record], predicted: Sequence[Record]) -> dict[str, Any]:
        return evaluate_labels([r.label or "" for r in gold], [r.label for r in predicted])

    def wrong(self, gold: Record, predicted: Record) -> bool:
        return gold.label != predicted.label

    def load_student(self, model: str, device: str) -> ClassifierStudent:
        return ClassifierStudent(load_classifier(model, device))

    def _validate(self, item: Any) -> tuple[Record | None, str]:
        text, problem = sample_text(item, MAX_SAMPLE_CHARS)
        if text is None:
            return None, problem
        said = str(item.get("label", "")).strip()
        label = self.by_case.get(self.label_map.get(said.casefold(), said).casefold())
        if label is None:
            return None, "label out of schema"
        try:
            record = record_from_json({"text": text, "label": label})
        except NerkdError:
            return None, "not a sample"
        if item.get("difficulty"):
            record.meta["difficulty"] = str(item["difficulty"])[:20]
        return record, ""

    def _label_lines(self) -> str:
        return label_lines(self.labels)


class ClassifierStudent:
    """A text classifier as evolve's student."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier

    def predict(self, records: Sequence[Record]) -> list[Record]:
        labels = self.classifier.classify([r.text for r in records])
        predicted = []
        for record, label in zip(records, labels):
            copy = record.with_tags(None)
            copy.label = label
            predicted.append(copy)
        return predicted

    def vectors(self, records: Sequence[Record]) -> Any:
        return self.classifier.vectors([r.text for r in records])
