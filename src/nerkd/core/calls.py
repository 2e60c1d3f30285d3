"""Asking a teacher through the call log, as annotate and evolve both do.

Every answer is looked up in the call log first (so a re-run pays only for what was never
answered) and written there after; an identical request already in flight is awaited, not
repeated; transient failures are retried with exponential backoff and full jitter, never
sooner than a Retry-After; token and cost budgets are checked before every request, counting
what the calls on their way may still spend. An answer cut off at its token limit is asked
once more with twice the room: the limit is a guess from the text's length (a cap against
small models that repeat themselves), and a long entity list can outgrow it.
"""

from __future__ import annotations

import asyncio
import random
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nerkd.core.calllog import CallLog, call_key
from nerkd.core.errors import NerkdWarning
from nerkd.core.teachers import Completion, Refused, Retryable, Teacher, TeacherError

LONG_WAIT = 30.0  # seconds of Retry-After that are said on stderr


@dataclass
class CallOptions:
    """Concurrency, retries and budgets; prices are per million tokens."""

    concurrency: int = 8
    retries: int = 5
    connect_retries: int = 2
    backoff: float = 1.0
    max_tokens: int | None = None
    max_cost: float | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    seed: int = 0


@dataclass
class CallStats:
    """Requests, and the tokens and cost this run spent (answers from the call log cost
    nothing, so a re-run after a budget stop makes progress), and why it stopped early."""

    calls: int = 0
    cached: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    truncated: int = 0  # answers cut off at their token limit and kept so
    stopped: str | None = None


# What a run's teacher use is reported by, per evolve round (CallStats fields).
USAGE = ("calls", "cached", "prompt_tokens", "completion_tokens", "cost", "truncated", "stopped")
SPENT = USAGE[:-1]  # counts that grow over a run: a round's share is after minus before


class BudgetReached(Exception):
    pass


class ItemFailed(Exception):
    """This request cannot be answered; the run goes on without it."""


class Caller:
    """One teacher, one call log, one set of options; ``ask`` from inside an event loop."""

    def __init__(self, teacher: Teacher, log: CallLog, options: CallOptions,
                 stats: CallStats) -> None:
        self.teacher, self.log, self.options, self.stats = teacher, log, options, stats
        self._rng = random.Random(options.seed)
        # Async state belongs to one event loop (a run makes its own): see _state().
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[str, asyncio.Future[str]] = {}
        self._calls: set[asyncio.Task[str]] = set()
        self._gate = asyncio.Semaphore(options.concurrency)
        self._probe = asyncio.Lock()  # a budgeted run asks one at a time until a call is sized
        self._sent = 0  # requests on their way (inside the gate, not yet answered)
        self._largest = (0, 0.0)  # the tokens and cost of this run's costliest call so far
        self._sized = False  # an answer has told what a call costs
        self._unmetered = False  # an answer came without token counts: budgets cannot hold

    async def ask(self, messages: list[dict[str, str]], params: dict[str, Any]) -> str:
        """The answer to one request. ``params`` holds ``temperature``, ``max_tokens``,
        ``schema``, ``seed`` and optionally ``attempt`` (a re-ask samples with the next
        seed); any other keys only tell apart otherwise equal requests."""
        key = call_key(self.teacher.backend, self.teacher.model, messages, params)
        cached = self.log.get(key)
        if cached is not None:
            self.stats.cached += 1  # its tokens were spent by an earlier run, not this one
            return str(cached["answers"][0])
        self._state()
        if key in self._inflight:  # the same request is already on its way (a repeated text)
            return await asyncio.shield(self._inflight[key])
        call = asyncio.ensure_future(self._call(key, messages, params))
        self._inflight[key] = call
        self._calls.add(call)
        call.add_done_callback(self._calls.discard)
        try:
            return await asyncio.shield(call)
        finally:
            self._inflight.pop(key, None)

    async def aclose(self) -> None:
        """Cancel the calls still running (shielded, so cancelling their askers left them
        alive: a failed run's loop would close with them pending), then close the
        teacher's connections; call it before the event loop goes away."""
        calls = list(self._calls)
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        closing = getattr(self.teacher, "aclose", None)
        if closing is not None:
            await closing()

    def _state(self) -> None:
        """A fresh gate and in-flight table for each event loop: asyncio objects are bound to
        the loop they were first used in, and each run has its own loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._inflight, self._calls = loop, {}, set()
            self._gate = asyncio.Semaphore(self.options.concurrency)
            self._probe, self._sent = asyncio.Lock(), 0

    async def _call(self, key: str, messages: list[dict[str, str]],
                    params: dict[str, Any]) -> str:
        started = time.perf_counter()
        completion = await self._with_retries(messages, params)
        if completion.truncated:  # what was cut off is missing: once more, with twice the room
            longer = {**params, "max_tokens": 2 * params["max_tokens"]}
            try:
                completion, params = await self._with_retries(messages, longer), longer
                self.stats.calls += 1
            except ItemFailed:  # refused (past the model's context?): the cut answer it is
                pass
            except BudgetReached:  # this run keeps the cut answer; one with budget left
                self.stats.truncated += 1  # asks afresh, so it is not logged
                return completion.answer
            self.stats.truncated += completion.truncated
        self.log.put(key, self.teacher.backend, self.teacher.model,
                     {"messages": messages, "params": params}, [completion.answer],
                     completion.prompt_tokens, completion.completion_tokens,
                     time.perf_counter() - started)
        self.stats.calls += 1
        return completion.answer

    async def _with_retries(self, messages: list[dict[str, str]],
                            params: dict[str, Any]) -> Completion:
        failures = 0
        while True:
            try:
                if self._budgeted and not self._sized:  # a failed call tells no size either
                    async with self._probe:
                        return await self._attempt(messages, params)
                return await self._attempt(messages, params)
            except Refused as error:  # this request, not the run: its record is left out
                raise ItemFailed(error.message) from None
            except Retryable as error:
                failures += 1
                limit = self.options.connect_retries if error.connection else self.options.retries
                if failures > limit:
                    if error.connection:
                        raise TeacherError(f"cannot reach the teacher at {self.teacher.where}: "
                                           f"{error.reason}") from None
                    tries = "1 try" if failures == 1 else f"{failures} tries"
                    raise ItemFailed(f"{error.reason}, {tries}") from None
                self.stats.retries += 1
                delay = self._delay(failures, error.retry_after)
                if delay >= LONG_WAIT:  # else a run the server paused looks hung
                    warnings.warn(f"the teacher asked to wait {delay:.0f} s before a retry "
                                  f"({error.reason}); waiting", NerkdWarning, stacklevel=1)
                await asyncio.sleep(delay)

    async def _attempt(self, messages: list[dict[str, str]],
                       params: dict[str, Any]) -> Completion:
        async with self._gate:
            self._check_budget()  # here, so queued requests see earlier answers
            self._sent += 1
            try:
                completion = await self.teacher.complete(
                    messages, temperature=params["temperature"],
                    max_tokens=params["max_tokens"], schema=params.get("schema"),
                    seed=params["seed"] + params.get("attempt", 0))
            finally:
                self._sent -= 1
        self._count_tokens(completion.prompt_tokens, completion.completion_tokens)
        return completion

    def _delay(self, failures: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than the server asked."""
        backoff = self.options.backoff * 2 ** (failures - 1)
        return max(retry_after or 0.0, self._rng.uniform(0, backoff))

    def _count_tokens(self, prompt_tokens: int, completion_tokens: int) -> None:
        options = self.options
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self.stats.cost = (self.stats.prompt_tokens * options.price_in
                           + self.stats.completion_tokens * options.price_out) / 1e6
        cost = (prompt_tokens * options.price_in + completion_tokens * options.price_out) / 1e6
        self._largest = (max(self._largest[0], prompt_tokens + completion_tokens),
                         max(self._largest[1], cost))
        self._sized = True
        self._unmetered = self._unmetered or prompt_tokens + completion_tokens == 0

    @property
    def _budgeted(self) -> bool:
        return self.options.max_tokens is not None or self.options.max_cost is not None

    def _check_budget(self) -> None:
        """Stop before a request that could take the run past a budget: every call on its
        way, and this one, may spend as much as the costliest call so far (before the
        first answer, only one call goes out). With --concurrency 32 the old rule, spent
        below the budget, let 32 calls past it."""
        options, stats = self.options, self.stats
        if self._budgeted and self._unmetered:
            stats.stopped = ("the teacher's answers carry no token counts, so the token or cost "
                             "budget cannot be kept")
            raise BudgetReached(stats.stopped)
        coming = self._sent + 1
        tokens = stats.prompt_tokens + stats.completion_tokens + coming * self._largest[0]
        if options.max_tokens is not None and tokens >= options.max_tokens:
            stats.stopped = f"token budget of {options.max_tokens} reached"
        elif options.max_cost is not None and (
                stats.cost + coming * self._largest[1] >= options.max_cost):
            stats.stopped = f"cost budget of {options.max_cost} reached"
        if stats.stopped:
            raise BudgetReached(stats.stopped)


def close_loop(loop: asyncio.AbstractEventLoop, caller: Caller,
               pending: Iterable[asyncio.Task] = ()) -> None:
    """Cancel every task still running (a failed record leaves the records queued after it,
    and its sibling votes), collect the outcome of those already done, close the teacher's
    connections, then the loop. Otherwise Python prints ``Task was destroyed but it is
    pending!`` or ``Task exception was never retrieved`` for each at exit."""
    tasks = {*pending, *asyncio.all_tasks(loop)}
    for task in tasks:
        task.cancel()
    if tasks:  # gather() of nothing would belong to another loop
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(caller.aclose())
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
