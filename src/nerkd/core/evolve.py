"""EvoKD (Liu et al., LREC-COLING 2024): each round trains the student on the pool, scores
it on dev, shows the teacher samples it got wrong and right, asks for an analysis of its
weaknesses, then for new labelled samples (easy and hard) aimed at them; valid, unseen
samples join the pool as ``synthetic`` records for the next round.

The run directory is the state: ``pool-<r>.jsonl`` is what round r trains on (pool-0 is the
seed data), ``analysis-<r>.md`` the teacher's reading of round r, ``metrics.jsonl`` a line
per finished round, ``model/`` the latest student, ``curve.png`` dev F1 per round. A round
is finished once the next pool is written, so a killed run restarts at its last round, and
the call log answers what the teacher already said.

Choices the paper leaves open: the student is re-trained from its base weights, with the
same seed, each round (the pool grows, so the last model has seen everything); a sample that
shares ``NEAR_DUPLICATE`` of its words with a known sentence counts as a duplicate; with
``control="random"`` the teacher writes the same number of samples with no analysis and no
examples of errors.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from nerkd.core.calls import BudgetReached, Caller, ItemFailed, close_loop
from nerkd.core.evolve_task import EvolveTask
from nerkd.core.formats import read_records, write_records
from nerkd.core.io import open_output
from nerkd.core.predict import load_tagger, predict
from nerkd.core.records import Record, require_labels
from nerkd.core.train import TrainConfig, train

NEAR_DUPLICATE = 0.8


@dataclass
class EvolveOptions:
    rounds: int = 3
    per_round: int = 20
    per_call: int = 5  # samples asked for in one request
    show_wrong: int = 6
    show_right: int = 2
    control: Literal["targeted", "random"] = "targeted"
    analysis_tokens: int = 300
    seed: int = 0


@dataclass
class RoundMetrics:
    round: int
    pool: int
    synthetic: int
    dev_f1: float
    dev_per_type: dict[str, float]
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0


class Evolver:
    """One EvoKD run: a task, a teacher behind a caller, a student config, a run directory."""

    def __init__(self, task: EvolveTask, caller: Caller, student: TrainConfig,
                 options: EvolveOptions, run_dir: str | Path, dev: Sequence[Record],
                 exclude: Sequence[Record] = ()) -> None:
        self.task, self.caller, self.student, self.options = task, caller, student, options
        self.run_dir, self.dev = Path(run_dir), list(dev)
        require_labels(self.dev, "--dev")
        self._held_out = [_words(r.text) for r in [*self.dev, *exclude]]

    def run(self, seed_data: Sequence[Record]) -> Iterator[RoundMetrics]:
        """Metrics of each round finished in this call (earlier ones are kept on disk)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start = self._resume_point(seed_data)
        loop = asyncio.new_event_loop()
        try:
            for number in range(start, self.options.rounds + 1):
                yield self._round(number, loop)
                if self.caller.stats.stopped:
                    break
        finally:
            close_loop(loop, self.caller)

    def _resume_point(self, seed_data: Sequence[Record]) -> int:
        """The first unfinished round; metrics of rounds from there on are dropped."""
        if not self._pool_path(0).exists():
            seeds = [replace(r, source=r.source or "gold") for r in seed_data if r.tags]
            write_records(seeds, str(self._pool_path(0)), "jsonl")
        start = 0
        while self._pool_path(start + 1).exists() and start < self.options.rounds:
            start += 1
        finished = self.finished()
        if any(m["round"] == start == self.options.rounds for m in finished):
            return start + 1  # the last round is done too: nothing to do
        kept = [m for m in finished if m["round"] < start]
        with open_output(self._metrics_path) as handle:
            handle.writelines(json.dumps(m) + "\n" for m in kept)
        return start

    def finished(self) -> list[dict[str, Any]]:
        """Metrics of every finished round on disk."""
        if not self._metrics_path.exists():
            return []
        rows = []
        for line in self._metrics_path.open(encoding="utf-8"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut short by a kill: that round reruns
                break
        return rows

    def _round(self, number: int, loop: asyncio.AbstractEventLoop) -> RoundMetrics:
        started = time.perf_counter()
        before = asdict(self.caller.stats)
        pool = list(read_records(str(self._pool_path(number))))
        model = self._train(pool)
        predicted = list(predict(self.dev, load_tagger(str(model), self.student.device)))
        scores = self.task.score(self.dev, predicted)
        metrics = RoundMetrics(
            number, len(pool), sum(r.source == "synthetic" for r in pool),
            scores["micro"]["f1"], {k: v["f1"] for k, v in scores["per_type"].items()})
        if number < self.options.rounds:
            added, rejected = loop.run_until_complete(
                self._teach(number, pool, predicted, scores))
            metrics.accepted, metrics.rejected = len(added), dict(rejected)
        self._account(metrics, before, started)
        with self._metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(metrics)) + "\n")
        if number < self.options.rounds and not self.caller.stats.stopped:
            write_records([*pool, *added], str(self._pool_path(number + 1)), "jsonl")
        return metrics

    def _train(self, pool: Sequence[Record]) -> Path:
        model = self.run_dir / "model"
        # The same seed every round: with a few dozen sentences, a new seed alone moves dev F1
        # by 0.1 or more, which would drown what the new samples did. No dev here either: the
        # dev score is what a round reports, so it must not pick the epoch. force: the model
        # directory is this run's own, replaced each round.
        for _ in train(pool, self.student, model, force=True):
            pass
        return model

    async def _teach(self, number: int, pool: Sequence[Record], predicted: Sequence[Record],
                     scores: dict[str, Any]) -> tuple[list[Record], Counter[str]]:
        """New synthetic records for the next round, and counts of rejected samples."""
        rejected: Counter[str] = Counter()
        try:
            analysis = await self._analyse(number, predicted, scores)
            answers = await asyncio.gather(*(
                self._write(number, call, analysis) for call in range(self._calls)),
                return_exceptions=True)
        except BudgetReached:
            return [], rejected
        seen = [*self._held_out, *(_words(r.text) for r in pool)]
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
                    added.append(self._synthetic(record, number, len(added)))
        return added, rejected

    async def _analyse(self, number: int, predicted: Sequence[Record],
                       scores: dict[str, Any]) -> str | None:
        if self.options.control == "random":
            return None
        rng = random.Random(self.options.seed * 1000 + number)
        pairs = list(zip(self.dev, predicted))
        wrong = [p for p in pairs if p[0].tags != p[1].tags]
        right = [p for p in pairs if p[0].tags == p[1].tags and p[0].spans]
        shown_wrong = rng.sample(wrong, min(self.options.show_wrong, len(wrong)))
        shown_right = rng.sample(right, min(self.options.show_right, len(right)))
        messages = self.task.analysis_messages([self.task.show(*p) for p in shown_wrong],
                                               [self.task.show(*p) for p in shown_right], scores)
        params = {"temperature": 0.0, "max_tokens": self.options.analysis_tokens,
                  "seed": self.options.seed, "schema": None, "purpose": "analysis"}
        try:
            analysis = await self.caller.ask(messages, params)
        except ItemFailed as failure:
            analysis = f"(no analysis this round: {failure})"
        _write_text(self.run_dir / f"analysis-{number}.md", analysis.strip() + "\n")
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

    def _account(self, metrics: RoundMetrics, before: dict[str, Any], started: float) -> None:
        after = asdict(self.caller.stats)
        for name in ("calls", "cached", "prompt_tokens", "completion_tokens", "cost"):
            setattr(metrics, name, after[name] - before[name])
        metrics.seconds = round(time.perf_counter() - started, 2)

    def plot(self) -> None:
        """curve.png: dev F1 per finished round."""
        finished = self.finished()
        if not finished:
            return
        from nerkd.core.plots import line_plot

        points = [(m["round"], m["dev_f1"]) for m in finished]
        line_plot({f"dev micro-F1 ({self.options.control})": points},
                  self.run_dir / "curve.png", xlabel="round", ylabel="dev micro-F1",
                  title="nerkd evolve")

    def _pool_path(self, number: int) -> Path:
        return self.run_dir / f"pool-{number}.jsonl"

    @property
    def _metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.lower().split())


def _near_duplicate(words: frozenset[str], seen: Sequence[frozenset[str]]) -> bool:
    """Small teachers copy the prompt's example with a word or two changed: a sample sharing
    ``NEAR_DUPLICATE`` of its words (Jaccard) with a pool, dev or excluded sentence is out."""
    return any(len(words & other) >= NEAR_DUPLICATE * len(words | other) for other in seen)


def _write_text(path: Path, text: str) -> None:
    with open_output(path) as handle:
        handle.write(text)
