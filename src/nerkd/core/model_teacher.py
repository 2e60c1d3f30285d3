"""Trained models as the teacher: a token classifier (model-to-model distillation) or a spaCy
pipeline.

No prompt and no parsing: the model finds entities in each record itself; their types are
mapped into the label schema (``label_map``), types outside it are dropped and counted, and of
overlapping entities the longest wins. The output is silver with the same provenance keys as
an LLM teacher's. The model's raw entities go into the call log, keyed by the model's
fingerprint and the record's words, so a re-run labels only what it has not seen.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nerkd.core.calllog import CallLog, call_key
from nerkd.core.errors import NerkdError
from nerkd.core.offsets import snap_to_tokens
from nerkd.core.predict import Tagger
from nerkd.core.records import Record, failure
from nerkd.core.student import model_fingerprint
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
    ``dropped_overlap``; ``calls`` counts records the model labelled, ``cached`` those the
    call log answered."""

    records: int = 0
    annotated: int = 0
    passed_through: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    entities: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    cached: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        no_calls = {"retries": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost": 0.0,
                    "stopped": None, "parse_failures": 0}
        return {**self.__dict__, **no_calls, "entities": dict(sorted(self.entities.items()))}


class ModelTeacher:
    """Labels records with one model, mapping its types into ``labels``."""

    def __init__(self, labeller: Labeller, backend: str, name: str, labels: Collection[str],
                 label_map: Mapping[str, str] | None = None, keep_gold: bool = False,
                 log: CallLog | None = None, fingerprint: str | None = None) -> None:
        self.labeller, self.backend, self.model = labeller, backend, name
        self.labels, self.label_map = set(labels), dict(label_map or {})
        self.keep_gold = keep_gold
        # No fingerprint (a pipeline built in memory): nothing identifies it, so no caching.
        self.log = log if fingerprint else None
        self.fingerprint = fingerprint or ""
        self.stats = ModelTeacherStats()

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Silver records in input order, ``CHUNK`` at a time; with ``keep_gold``, records
        that already have tags pass through unchanged; records without tokens are reported
        as failed."""
        started = time.perf_counter()
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            first = self.stats.records + 1
            self.stats.records += len(chunk)
            todo = [r for r in chunk if r.tokens and not self._kept(r)]
            found = iter(self._label(todo) if todo else [])
            for number, record in enumerate(chunk, first):
                if self._kept(record):
                    self.stats.passed_through += 1
                    yield record
                elif record.tokens:
                    yield self._silver(record, next(found))
                else:
                    self.stats.failed.append(failure(record, number, "no text"))
            self.stats.seconds = time.perf_counter() - started

    def _label(self, records: list[Record]) -> list[list[TokenSpan]]:
        """The model's own entities per record: from the call log where this model (same
        fingerprint) already labelled the same words, else from the model, then logged."""
        if self.log is None:
            self.stats.calls += len(records)
            return self.labeller(records)
        keys = [call_key(self.backend, self.fingerprint, [],
                         {"tokens": r.tokens, "text": r.text}) for r in records]
        logged = [self.log.get(key) for key in keys]
        missing = [record for record, hit in zip(records, logged) if hit is None]
        fresh = iter(self.labeller(missing) if missing else [])
        found, rows = [], []
        for record, key, hit in zip(records, keys, logged):
            if hit is None:
                spans = next(fresh)
                answer = json.dumps([list(span) for span in spans], ensure_ascii=False)
                rows.append((key, self.backend, self.model, {"tokens": record.tokens}, [answer]))
            else:
                spans = [TokenSpan(*span) for span in json.loads(hit["answers"][0])]
            found.append(spans)
        self.log.put_many(rows)
        self.stats.calls += len(missing)
        self.stats.cached += len(records) - len(missing)
        return found

    def _kept(self, record: Record) -> bool:
        return self.keep_gold and record.carries("ner")

    def _silver(self, record: Record, spans: list[TokenSpan]) -> Record:
        self.stats.entities["proposed"] += len(spans)
        mapped = [span for span in map(self._mapped, spans) if span is not None]
        silver = record.silver(tags=spans_to_iob2(len(record.tokens), self._longest(mapped)))
        silver.meta.update({"teacher": self.model, "backend": self.backend})
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


def load_model_teacher(backend: str, model: str | None, labels: Collection[str],
                       label_map: Mapping[str, str], log: CallLog | None = None,
                       keep_gold: bool = False, device: str = "auto") -> ModelTeacher:
    """``--teacher hf`` (a token-classification model directory, run on ``device``) or
    ``spacy`` (an installed pipeline, its OntoNotes types mapped to CoNLL's unless ``labels``
    names them)."""
    if model is None:
        what = ("DIR (a token-classification model)" if backend == "hf"
                else "NAME (a spaCy pipeline)")
        raise NerkdError(f"--teacher {backend} needs --model {what}")
    if backend == "hf":
        from nerkd.core.predict import load_tagger

        tagger = load_tagger(model, device)
        return ModelTeacher(tagger_labeller(tagger), backend, model, labels, label_map,
                            keep_gold, log, model_fingerprint(Path(model)))
    nlp = _load_spacy(model)
    shipped = {k: v for k, v in ONTONOTES_TO_CONLL.items() if k not in labels}
    label_map = {**shipped, **label_map}  # yours win; a type in labels stays itself
    where = Path(nlp.path) if getattr(nlp, "path", None) else None
    return ModelTeacher(spacy_labeller(nlp), backend, model, labels, label_map, keep_gold,
                        log, model_fingerprint(where) if where else None)


def _load_spacy(name: str) -> Any:
    try:
        import spacy
    except ImportError:
        raise NerkdError("--teacher spacy needs spaCy: pip install 'nerkd[spacy]'") from None
    try:
        return spacy.load(name)
    except (OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise NerkdError(f"{name}: cannot load the spaCy pipeline: {first}") from None

