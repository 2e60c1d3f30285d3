"""EvoKD's own way to grow the pool: the teacher reads the student's errors, writes an analysis
of its weaknesses, then writes new labelled samples (easy and hard) aimed at them.

With ``control="random"`` the teacher writes the same number of samples with no analysis and
no examples of errors: the baseline for targeting. A sample sharing ``NEAR_DUPLICATE`` of its
words with a known sentence counts as a duplicate.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nerkd.core.calls import USAGE, BudgetReached, Caller, ItemFailed, close_loop
from nerkd.core.evolve_task import EvolveTask
from nerkd.core.io import open_output
from nerkd.core.records import Record

NEAR_DUPLICATE = 0.8


class Writer:
    """The teacher writes a round's new samples (``synthetic`` records)."""

    def __init__(self, task: EvolveTask, caller: Caller, options: Any, run_dir: Path,
                 held_out: Sequence[Record]) -> None:
        self.task, self.caller, self.options, self.run_dir = task, caller, options, run_dir
        self._held_out = [_words(r.text) for r in held_out]
        self._loop = asyncio.new_event_loop()

    def new_samples(self, view: Any) -> tuple[list[Record], Counter[str]]:
        return self._loop.run_until_complete(self._teach(view))

    def usage(self) -> dict[str, Any]:
        stats = asdict(self.caller.stats)
        return {name: stats[name] for name in USAGE}

    def remaining(self, pool: Sequence[Record]) -> None:
        """A writer never runs out."""
        return None

    def close(self) -> None:
        close_loop(self._loop, self.caller)

    async def _teach(self, view: Any) -> tuple[list[Record], Counter[str]]:
        rejected: Counter[str] = Counter()
        try:
            analysis = await self._analyse(view)
            answers = await asyncio.gather(*(
                self._write(view.number, call, analysis) for call in range(self._calls)),
                return_exceptions=True)
        except BudgetReached:
            return [], rejected
        seen = [*self._held_out, *(_words(r.text) for r in view.pool)]
        added: list[Record] = []
        for answer in answers:
            if isinstance(answer, ItemFailed | BudgetReached):
                rejected["no answer"] += 1
                continue
            if isinstance(answer, BaseException):
                raise answer
            records, reasons = self.task.samples(answer)
            rejected.update(reasons)
            for record in records:
                words = _words(record.text)
                if _near_duplicate(words, seen):
                    rejected["duplicate"] += 1
                elif len(added) >= self.options.per_round:
                    rejected["over quota"] += 1
                else:
                    seen.append(words)
                    added.append(self._synthetic(record, view.number, len(added)))
        return added, rejected

    async def _analyse(self, view: Any) -> str | None:
        if self.options.control == "random":
            return None
        rng = random.Random(self.options.seed * 1000 + view.number)
        pairs = list(zip(view.dev, view.predicted))
        wrong = [p for p in pairs if self.task.wrong(*p)]
        right = [p for p in pairs if not self.task.wrong(*p) and (p[0].spans or p[0].label)]
        shown_wrong = rng.sample(wrong, min(self.options.show_wrong, len(wrong)))
        shown_right = rng.sample(right, min(self.options.show_right, len(right)))
        messages = self.task.analysis_messages([self.task.show(*p) for p in shown_wrong],
                                               [self.task.show(*p) for p in shown_right],
                                               view.scores)
        params = {"temperature": 0.0, "max_tokens": self.options.analysis_tokens,
                  "seed": self.options.seed, "schema": None, "purpose": "analysis"}
        try:
            analysis = await self.caller.ask(messages, params)
        except ItemFailed as failure:
            analysis = f"(no analysis this round: {failure})"
        with open_output(self.run_dir / f"analysis-{view.number}.md") as handle:
            handle.write(analysis.strip() + "\n")
        return analysis

    async def _write(self, number: int, call: int, analysis: str | None) -> str:
        count = min(self.options.per_call, self.options.per_round)
        params = {"temperature": 0.8, "max_tokens": 60 + 90 * count,
                  "seed": self.options.seed * 1000 + 100 * number + call,
                  "schema": self.task.writing_schema(), "purpose": "write", "round": number,
                  "call": call}
        return await self.caller.ask(self.task.writing_messages(analysis, count), params)

    @property
    def _calls(self) -> int:
        """Requests per round: enough for ``per_round`` samples if half of them pass."""
        return max(1, math.ceil(2 * self.options.per_round / self.options.per_call))

    def _synthetic(self, record: Record, number: int, index: int) -> Record:
        record.id = f"synthetic-{number}-{index}"
        record.source = "synthetic"
        record.meta.update({"round": number + 1, "teacher": self.caller.teacher.model,
                            "control": self.options.control})
        return record


def _words(text: str) -> frozenset[str]:
    """The words of a sentence as the tokenizer cuts them, in lower case: "Essex, however"
    from a teacher is the CoNLL sentence "Essex , however" (split on spaces, "essex," was
    another word, and dev sentences passed as new samples)."""
    from nerkd.core.tokenize import tokenize

    return frozenset(token.text.lower() for token in tokenize(text))


def _near_duplicate(words: frozenset[str], seen: Sequence[frozenset[str]]) -> bool:
    """Small teachers copy the prompt's example with a word or two changed: a sample sharing
    ``NEAR_DUPLICATE`` of its words (Jaccard) with a pool, dev or excluded sentence is out."""
    return any(len(words & other) >= NEAR_DUPLICATE * len(words | other) for other in seen)
