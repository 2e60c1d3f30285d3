"""Trained models as the teacher: a token classifier (model-to-model distillation) or a spaCy
pipeline.

No prompt and no parsing: the model finds entities in each record itself; their types are
mapped into the label schema (``label_map``), types outside it are dropped and counted, and of
overlapping entities the longest wins. The output is silver with the same provenance keys as
an LLM teacher's.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.offsets import snap_to_tokens
from nerkd.core.predict import Tagger
from nerkd.core.records import Record
from nerkd.core.tags import TokenSpan, iob2_spans, spans_to_iob2

# Entities (with the model's own type names) per record, for a batch of records.
Labeller = Callable[[Sequence[Record]], list[list[TokenSpan]]]

# spaCy's English pipelines follow OntoNotes; these are CoNLL-2003's nearest types. The
# rest (DATE, CARDINAL, MONEY, ...) have no CoNLL type and are dropped.
ONTONOTES_TO_CONLL = {
    "PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC", "NORP": "MISC",
    "EVENT": "MISC", "PRODUCT": "MISC", "WORK_OF_ART": "MISC", "LAW": "MISC",
    "LANGUAGE": "MISC",
}

CHUNK = 2048  # records tagged together: batches sort well, memory stays flat


@dataclass
class ModelTeacherStats:
    """What happened, in the keys of an LLM teacher's summary and ``--report``: entities
    ``proposed``, ``aligned_model`` (kept), ``dropped_label`` (outside the schema) and
    ``dropped_overlap``."""

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
    """Labels records with one model, mapping its types into ``labels``."""

    def __init__(self, labeller: Labeller, backend: str, name: str, labels: Collection[str],
                 label_map: Mapping[str, str] | None = None, keep_gold: bool = False) -> None:
        self.labeller, self.backend, self.model = labeller, backend, name
        self.labels, self.label_map = set(labels), dict(label_map or {})
        self.keep_gold = keep_gold
        self.stats = ModelTeacherStats()

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Silver records in input order, ``CHUNK`` at a time; with ``keep_gold``, records
        that already have tags pass through unchanged; records without tokens are skipped."""
        started = time.perf_counter()
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            self.stats.records += len(chunk)
            todo = [r for r in chunk if r.tokens and not self._kept(r)]
            found = iter(self.labeller(todo))
            for record in chunk:
                if self._kept(record):
                    self.stats.passed_through += 1
                    yield record
                elif record.tokens:
                    yield self._silver(record, next(found))
            self.stats.seconds = time.perf_counter() - started

    def _kept(self, record: Record) -> bool:
        return self.keep_gold and record.tags is not None

    def _silver(self, record: Record, spans: list[TokenSpan]) -> Record:
        self.stats.entities["proposed"] += len(spans)
        mapped = [span for span in map(self._mapped, spans) if span is not None]
        silver = record.with_tags(spans_to_iob2(len(record.tokens), self._longest(mapped)))
        silver.source = "silver"
        silver.meta = {**record.meta, "teacher": self.model, "backend": self.backend}
        self.stats.annotated += 1
        return silver

    def _mapped(self, span: TokenSpan) -> TokenSpan | None:
        label = self.label_map.get(span.label.upper(), span.label.upper())
        if label not in self.labels:
            self.stats.entities["dropped_label"] += 1
            return None
        return TokenSpan(span.start, span.end, label)

    def _longest(self, spans: list[TokenSpan]) -> list[TokenSpan]:
        """Of overlapping spans (tokens coarser than the model's), the longest, then first."""
        kept: list[TokenSpan] = []
        for span in sorted(spans, key=lambda s: (s.start - s.end, s.start)):
            if any(span.start < k.end and k.start < span.end for k in kept):
                self.stats.entities["dropped_overlap"] += 1
            else:
                kept.append(span)
                self.stats.entities["aligned_model"] += 1
        return sorted(kept)


def tagger_labeller(tagger: Tagger) -> Labeller:
    """A token classifier tags the records' own tokens."""
    return lambda records: [iob2_spans(tags) for tags in tagger.tag([r.tokens for r in records])]


def spacy_labeller(nlp: Any) -> Labeller:
    """A spaCy pipeline reads each record's text with its own tokenizer; its entities' character
    spans are snapped to the record's tokens."""
    def label(records: Sequence[Record]) -> list[list[TokenSpan]]:
        found = []
        for record, doc in zip(records, nlp.pipe(r.text for r in records)):
            spans = []
            for entity in doc.ents:
                snapped = snap_to_tokens(record.offsets, entity.start_char, entity.end_char)
                if snapped is not None:
                    spans.append(TokenSpan(snapped[0], snapped[1], entity.label_))
            found.append(spans)
        return found

    return label
