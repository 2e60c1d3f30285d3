"""Silver labels from a teacher: ask, parse, align, and stream records out in input order.

Requests run concurrently (bounded) through a ``Caller`` (call log, retries, budgets; see
``core.calls``); a budget stops the run cleanly: the records written so far are complete
and valid.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.align import align_entities
from nerkd.core.calllog import CallLog
from nerkd.core.calls import BudgetReached, Caller, CallOptions, CallStats, ItemFailed, close_loop
from nerkd.core.parse import ParseError, parse_entities
from nerkd.core.prompt import PromptBuilder, similar_examples
from nerkd.core.records import Record
from nerkd.core.tags import TokenSpan, spans_to_iob2
from nerkd.core.teachers import Teacher


@dataclass
class AnnotateOptions(CallOptions):
    """How to ask; defaults suit a served model."""

    temperature: float = 0.0
    votes: int = 1
    max_answer_tokens: int | None = None  # None: enough for the text's entities (see _params)
    parse_retries: int = 2
    label_map: Mapping[str, str] = field(default_factory=dict)
    fuzzy: bool = False
    keep_gold: bool = False
    similar_shots: int = 0
    max_chars: int = 2000


@dataclass
class AnnotateStats(CallStats):
    """What happened, for the summary on stderr and ``--report``."""

    records: int = 0
    annotated: int = 0
    passed_through: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    parse_failures: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "entities": dict(sorted(self.entities.items()))}


class Annotator:
    """Labels records with one teacher, prompt, call log and set of options."""

    def __init__(self, teacher: Teacher, prompt: PromptBuilder, log: CallLog,
                 options: AnnotateOptions | None = None) -> None:
        self.teacher, self.prompt, self.log = teacher, prompt, log
        self.options = options or AnnotateOptions()
        self.stats = AnnotateStats()
        self.caller = Caller(teacher, log, self.options, self.stats)

    def run(self, records: Iterable[Record],
            on_done: Callable[[], object] | None = None) -> Iterator[Record]:
        """Annotated records in input order; failed records are reported and left out.
        ``on_done`` is called as each record is finished, failed or not (for progress)."""
        started = time.perf_counter()
        loop = asyncio.new_event_loop()
        pending: deque[asyncio.Task] = deque()
        source = iter(records)
        window = max(4 * self.options.concurrency, 16)
        try:
            while True:
                while len(pending) < window and (record := next(source, None)) is not None:
                    self.stats.records += 1
                    pending.append(loop.create_task(self._one(record, self.stats.records)))
                if not pending:
                    break
                result = loop.run_until_complete(pending.popleft())
                self.stats.seconds = time.perf_counter() - started
                if on_done is not None:
                    on_done()
                if isinstance(result, BudgetReached):
                    break
                if result is not None:
                    yield result
        finally:
            close_loop(loop, self.caller, pending)
            self.stats.seconds = time.perf_counter() - started

    async def _one(self, record: Record, number: int) -> Record | BudgetReached | None:
        """``number``: the record's place in the input, naming a failed record without id."""
        if self.options.keep_gold and record.tags is not None:
            self.stats.passed_through += 1
            return record
        if not record.tokens:
            return None
        if len(record.text) > self.options.max_chars:
            return self._fail(record, number, f"longer than {self.options.max_chars} characters")
        try:
            spans, confidence = await self._vote(record)
        except BudgetReached as stop:
            return stop
        except ItemFailed as failure:
            return self._fail(record, number, str(failure))
        self.stats.annotated += 1
        return self._silver(record, spans, confidence)

    def _fail(self, record: Record, number: int, reason: str) -> None:
        self.stats.failed.append({"id": record.id or f"record {number}", "reason": reason})
        return None

    async def _vote(self, record: Record) -> tuple[list[TokenSpan], dict[TokenSpan, float]]:
        """Spans a majority of ``votes`` answers agree on, with the share that agreed."""
        votes = self.options.votes
        answers = await asyncio.gather(*(self._labelled(record, s) for s in range(votes)))
        counts = Counter(span for spans in answers for span in set(spans))
        kept = sorted(span for span, n in counts.items() if n * 2 > votes)
        return kept, {span: counts[span] / votes for span in kept}

    async def _labelled(self, record: Record, sample: int) -> list[TokenSpan]:
        """One answer's spans; an unreadable answer is re-asked up to ``parse_retries``."""
        messages = self.prompt.messages(record.text, self._shots(record))
        for attempt in range(self.options.parse_retries + 1):
            answer = await self.caller.ask(messages, self._params(record.text, sample, attempt))
            try:
                entities = parse_entities(answer)
            except ParseError:
                self.stats.parse_failures += 1
                continue
            alignment = align_entities(entities, record.text, record.offsets,
                                       list(self.prompt.labels), self.options.label_map,
                                       self.options.fuzzy)
            self.stats.entities.update({"proposed": len(entities), **alignment.counts})
            return alignment.spans
        raise ItemFailed(f"unreadable answer after {self.options.parse_retries + 1} tries")

    def _shots(self, record: Record) -> Sequence[Record] | None:
        if not self.options.similar_shots:
            return None
        pool = [r for r in self.prompt.examples if r.text != record.text]
        return similar_examples(record.text, pool, self.options.similar_shots)

    def _params(self, text: str, sample: int, attempt: int) -> dict[str, Any]:
        """Sampling parameters; they are part of the call's key. Votes and retries of an
        unreadable answer sample (at temperature 0 they would repeat the same answer)."""
        temperature = self.options.temperature
        if self.options.votes > 1 or attempt > 0:
            temperature = max(temperature, 0.7)
        # An entity list is shorter than the text: ~4 characters a token, ~12 tokens of JSON
        # per entity. A cap stops small models that repeat themselves until the limit.
        budget = self.options.max_answer_tokens or 64 + len(text) // 2
        if self.prompt.cot and not self.options.max_answer_tokens:
            budget *= 3
        return {"temperature": temperature, "max_tokens": budget,
                "seed": self.options.seed + sample, "sample": sample, "attempt": attempt,
                "schema": self.prompt.schema()}

    def _silver(self, record: Record, spans: list[TokenSpan],
                confidence: dict[TokenSpan, float]) -> Record:
        silver = record.with_tags(spans_to_iob2(len(record.tokens), spans))
        silver.source = "silver"
        silver.meta = {**record.meta, "teacher": self.teacher.model,
                       "backend": self.teacher.backend, "prompt": self.prompt.fingerprint}
        if self.options.votes > 1:
            silver.meta["votes"] = self.options.votes
            for span, char_span in zip(spans, silver.spans or []):
                char_span["confidence"] = confidence[span]
        return silver
