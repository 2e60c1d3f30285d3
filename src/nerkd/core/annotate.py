"""Silver labels from a teacher: ask, read, agree over votes, and stream records out in input
order. What an answer means is the task's (``Reading``: entities in ``core.tasks.ner``, a
class in ``core.tasks.classify``); asking, retrying and ordering are shared.

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
from typing import Any, Protocol

from nerkd.core.calllog import CallLog
from nerkd.core.calls import BudgetReached, Caller, CallOptions, CallStats, ItemFailed, close_loop
from nerkd.core.parse import ParseError
from nerkd.core.prompt import similar_examples
from nerkd.core.records import Record, failure
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
    failed: list[dict[str, Any]] = field(default_factory=list)
    parse_failures: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "entities": dict(sorted(self.entities.items()))}


class Prompt(Protocol):
    """What the annotator asks with (``prompt.PromptBuilder``, ``tasks.classify.ClassPrompt``)."""

    examples: Sequence[Record]
    cot: bool
    fingerprint: str

    def messages(self, text: str, shots: Sequence[Record] | None = None) -> list[dict]: ...

    def schema(self) -> dict[str, Any]: ...


class Reading(Protocol):
    """What answers mean for one task."""

    def read(self, answer: str, record: Record) -> tuple[Any, Counter[str]]:
        """The labels in one answer (raises ``ParseError`` when it has none), and counts for
        the report."""

    def agree(self, values: list[Any], votes: int) -> tuple[Any, Any]:
        """What a majority of the votes says (None: nothing usable), and its confidence."""

    def silver(self, record: Record, value: Any, confidence: Any, votes: int) -> Record:
        """The record labelled with ``value``."""


class Annotator:
    """Labels records with one teacher, prompt, call log and set of options; ``reading``
    says what answers mean (entities, by default)."""

    def __init__(self, teacher: Teacher, prompt: Prompt, log: CallLog,
                 options: AnnotateOptions | None = None, reading: Reading | None = None) -> None:
        self.teacher, self.prompt, self.log = teacher, prompt, log
        self.options = options or AnnotateOptions()
        if reading is None:
            from nerkd.core.tasks.ner import EntityReading

            reading = EntityReading(list(prompt.labels), self.options.label_map,  # type: ignore[attr-defined]
                                    self.options.fuzzy)
        self.reading = reading
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
            # records fail as their calls finish: report them in input order
            self.stats.failed.sort(key=lambda failure: failure["record"])

    async def _one(self, record: Record, number: int) -> Record | BudgetReached | None:
        """``number``: the record's place in the input, naming a failed record without id."""
        if self.options.keep_gold and record.carries(self.reading.task):
            self.stats.passed_through += 1
            return record
        if not record.tokens:
            return self._fail(record, number, "no text")
        if len(record.text) > self.options.max_chars:
            return self._fail(record, number, f"longer than {self.options.max_chars} characters")
        try:
            value, confidence = await self._vote(record)
        except BudgetReached as stop:
            return stop
        except ItemFailed as failure:
            return self._fail(record, number, str(failure))
        if value is None:  # a confidence left means answers were read, but split
            why = "no majority among the votes" if confidence else "no answer within the label set"
            return self._fail(record, number, why)
        self.stats.annotated += 1
        return self._silver(record, value, confidence)

    def _fail(self, record: Record, number: int, reason: str) -> None:
        self.stats.failed.append(failure(record, number, reason))
        return None

    async def _vote(self, record: Record) -> tuple[Any, Any]:
        """What a majority of ``votes`` answers agree on, with its confidence."""
        votes = self.options.votes
        answers = await asyncio.gather(*(self._labelled(record, s) for s in range(votes)))
        return self.reading.agree(list(answers), votes)

    async def _labelled(self, record: Record, sample: int) -> Any:
        """One answer's labels; an unreadable answer is re-asked up to ``parse_retries``."""
        messages = self.prompt.messages(record.text, self._shots(record))
        for attempt in range(self.options.parse_retries + 1):
            answer = await self.caller.ask(messages, self._params(record.text, sample, attempt))
            try:
                value, counts = self.reading.read(answer, record)
            except ParseError:
                self.stats.parse_failures += 1
                continue
            self.stats.entities.update(counts)
            return value
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

    def _silver(self, record: Record, value: Any, confidence: Any) -> Record:
        silver = self.reading.silver(record, value, confidence, self.options.votes)
        silver.meta.update({"teacher": self.teacher.model, "backend": self.teacher.backend,
                            "prompt": self.prompt.fingerprint})
        if self.options.votes > 1:
            silver.meta["votes"] = self.options.votes
        return silver
