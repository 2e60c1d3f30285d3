"""A trained token classifier as the teacher: model-to-model distillation.

No prompt and no parsing: the teacher model tags each record's tokens directly; its entity
types are mapped into the label schema (``label_map``), and types outside the schema are
dropped and counted. The output is silver with the same provenance keys as an LLM teacher's.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.predict import Tagger
from nerkd.core.records import Record
from nerkd.core.tags import TokenSpan, iob2_spans, spans_to_iob2

CHUNK = 2048  # records tagged together: batches sort well, memory stays flat


@dataclass
class ModelTeacherStats:
    """What happened, in the keys of an LLM teacher's summary and ``--report``."""

    records: int = 0
    annotated: int = 0
    passed_through: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    entities: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        no_calls = {"calls": 0, "cached": 0, "retries": 0, "prompt_tokens": 0,
                    "completion_tokens": 0, "cost": 0.0, "stopped": None, "parse_failures": 0}
        return {**self.__dict__, **no_calls, "entities": dict(sorted(self.entities.items()))}


class ModelTeacher:
    """Labels records with one tagger, mapping its types into ``labels``."""

    backend = "hf"

    def __init__(self, tagger: Tagger, name: str, labels: Collection[str],
                 label_map: Mapping[str, str] | None = None, keep_gold: bool = False) -> None:
        self.tagger, self.model, self.labels = tagger, name, set(labels)
        self.label_map, self.keep_gold = dict(label_map or {}), keep_gold
        self.stats = ModelTeacherStats()

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Silver records in input order, ``CHUNK`` at a time; with ``keep_gold``, records
        that already have tags pass through unchanged; records without tokens are skipped."""
        started = time.perf_counter()
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            self.stats.records += len(chunk)
            todo = [r for r in chunk if r.tokens and not self._kept(r)]
            predicted = iter(self.tagger.tag([r.tokens for r in todo]))
            for record in chunk:
                if self._kept(record):
                    self.stats.passed_through += 1
                    yield record
                elif record.tokens:
                    yield self._silver(record, next(predicted))
            self.stats.seconds = time.perf_counter() - started

    def _kept(self, record: Record) -> bool:
        return self.keep_gold and record.tags is not None

    def _silver(self, record: Record, tags: list[str]) -> Record:
        kept = [span for span in map(self._mapped, iob2_spans(tags)) if span is not None]
        silver = record.with_tags(spans_to_iob2(len(record.tokens), kept))
        silver.source = "silver"
        silver.meta = {**record.meta, "teacher": self.model, "backend": self.backend}
        self.stats.annotated += 1
        return silver

    def _mapped(self, span: TokenSpan) -> TokenSpan | None:
        label = self.label_map.get(span.label.upper(), span.label.upper())
        if label not in self.labels:
            self.stats.entities["dropped_out_of_schema"] += 1
            return None
        self.stats.entities["kept"] += 1
        return TokenSpan(span.start, span.end, label)
