"""Silver labels from a teacher: ask, parse, align, and stream records out in input order.

Requests run concurrently (bounded), every answer goes through the call log first (so a
re-run pays only for what was never answered), transient failures are retried with
exponential backoff and jitter (honouring Retry-After), and token or cost budgets stop the
run cleanly: the records written so far are complete and valid.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.align import align_entities
from nerkd.core.calllog import CallLog, call_key
from nerkd.core.parse import ParseError, parse_entities
from nerkd.core.prompt import PromptBuilder, similar_examples
from nerkd.core.records import Record
from nerkd.core.tags import TokenSpan, spans_to_iob2
from nerkd.core.teachers import Completion, Retryable, Teacher, TeacherError


@dataclass
class AnnotateOptions:
    """How to ask; defaults suit a served model. Prices are per million tokens."""

    concurrency: int = 8
    temperature: float = 0.0
    votes: int = 1
    max_answer_tokens: int | None = None  # None: enough for the text's entities (see _params)
    retries: int = 5
    parse_retries: int = 2
    connect_retries: int = 2
    backoff: float = 1.0
    max_tokens: int | None = None
    max_cost: float | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    label_map: Mapping[str, str] = field(default_factory=dict)
    fuzzy: bool = False
    keep_gold: bool = False
    similar_shots: int = 0
    max_chars: int = 2000
    seed: int = 0


@dataclass
class AnnotateStats:
    """What happened, for the summary on stderr and ``--report``."""

    records: int = 0
    annotated: int = 0
    passed_through: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    calls: int = 0
    cached: int = 0
    retries: int = 0
    parse_failures: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    stopped: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "entities": dict(sorted(self.entities.items()))}


class BudgetReached(Exception):
    pass


class Annotator:
    """Labels records with one teacher, prompt, call log and set of options."""

    def __init__(self, teacher: Teacher, prompt: PromptBuilder, log: CallLog,
                 options: AnnotateOptions | None = None) -> None:
        self.teacher, self.prompt, self.log = teacher, prompt, log
        self.options = options or AnnotateOptions()
        self.stats = AnnotateStats()
        self._rng = random.Random(self.options.seed)
        self._inflight: dict[str, asyncio.Future[str]] = {}

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Annotated records in input order; failed records are reported and left out."""
        started = time.perf_counter()
        loop = asyncio.new_event_loop()
        self._gate = asyncio.Semaphore(self.options.concurrency)
        pending: deque[asyncio.Task] = deque()
        source = iter(records)
        window = max(4 * self.options.concurrency, 16)
        try:
            while True:
                while len(pending) < window and (record := next(source, None)) is not None:
                    pending.append(loop.create_task(self._one(record)))
                if not pending:
                    break
                result = loop.run_until_complete(pending.popleft())
                self.stats.seconds = time.perf_counter() - started
                if isinstance(result, BudgetReached):
                    break
                if result is not None:
                    yield result
        finally:
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            closing = getattr(self.teacher, "aclose", None)
            if closing is not None:
                loop.run_until_complete(closing())
            loop.close()
            self.stats.seconds = time.perf_counter() - started

    async def _one(self, record: Record) -> Record | BudgetReached | None:
        self.stats.records += 1
        if self.options.keep_gold and record.tags is not None:
            self.stats.passed_through += 1
            return record
        if not record.tokens:
            return None
        if len(record.text) > self.options.max_chars:
            return self._fail(record, f"longer than {self.options.max_chars} characters")
        try:
            spans, confidence = await self._vote(record)
        except BudgetReached as stop:
            return stop
        except _ItemFailed as failure:
            return self._fail(record, str(failure))
        self.stats.annotated += 1
        return self._silver(record, spans, confidence)

    def _fail(self, record: Record, reason: str) -> None:
        self.stats.failed.append({"id": record.id or "", "reason": reason})
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
            answer = await self._ask(messages, self._params(record.text, sample, attempt))
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
        raise _ItemFailed(f"unreadable answer after {self.options.parse_retries + 1} tries")

    def _shots(self, record: Record) -> Sequence[Record] | None:
        if not self.options.similar_shots:
            return None
        pool = [r for r in self.prompt.examples if r.text != record.text]
        return similar_examples(record.text, pool, self.options.similar_shots)

    async def _ask(self, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
        """The answer to one request: from the call log, or from the teacher (then logged)."""
        key = call_key(self.teacher.backend, self.teacher.model, messages, params)
        cached = self.log.get(key)
        if cached is not None:
            self.stats.cached += 1
            self._count_tokens(cached["prompt_tokens"], cached["completion_tokens"])
            return str(cached["answers"][0])
        if key in self._inflight:  # the same request is already on its way (a repeated text)
            return await asyncio.shield(self._inflight[key])
        self._inflight[key] = asyncio.ensure_future(self._call(key, messages, params))
        try:
            return await asyncio.shield(self._inflight[key])
        finally:
            self._inflight.pop(key, None)

    async def _call(self, key: str, messages: list[dict[str, str]],
                    params: dict[str, Any]) -> str:
        started = time.perf_counter()
        completion = await self._with_retries(messages, params)
        self.log.put(key, self.teacher.backend, self.teacher.model,
                     {"messages": messages, "params": params}, [completion.answer],
                     completion.prompt_tokens, completion.completion_tokens,
                     time.perf_counter() - started)
        self.stats.calls += 1
        self._count_tokens(completion.prompt_tokens, completion.completion_tokens)
        return completion.answer

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

    async def _with_retries(self, messages: list[dict[str, str]],
                            params: dict[str, Any]) -> Completion:
        failures = 0
        while True:
            try:
                async with self._gate:
                    self._check_budget()  # here, so queued requests see earlier answers
                    return await self.teacher.complete(
                        messages, temperature=params["temperature"],
                        max_tokens=params["max_tokens"], schema=params["schema"],
                        seed=params["seed"] + params["attempt"])
            except Retryable as error:
                failures += 1
                limit = self.options.connect_retries if error.connection else self.options.retries
                if failures > limit:
                    if error.connection:
                        raise TeacherError(f"cannot reach the teacher at {self.teacher.where}: "
                                           f"{error.reason}") from None
                    raise _ItemFailed(f"{error.reason}, {failures} tries") from None
                self.stats.retries += 1
                await asyncio.sleep(self._delay(failures, error.retry_after))

    def _delay(self, failures: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than the server asked."""
        backoff = self.options.backoff * 2 ** (failures - 1)
        return max(retry_after or 0.0, self._rng.uniform(0, backoff))

    def _count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self.stats.cost = (self.stats.prompt_tokens * self.options.price_in
                           + self.stats.completion_tokens * self.options.price_out) / 1e6

    def _check_budget(self) -> None:
        options, stats = self.options, self.stats
        if options.max_tokens is not None and (
                stats.prompt_tokens + stats.completion_tokens >= options.max_tokens):
            stats.stopped = f"token budget of {options.max_tokens} reached"
        elif options.max_cost is not None and stats.cost >= options.max_cost:
            stats.stopped = f"cost budget of {options.max_cost} reached"
        if stats.stopped:
            raise BudgetReached(stats.stopped)

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


class _ItemFailed(Exception):
    """This record cannot be annotated; the run goes on."""
