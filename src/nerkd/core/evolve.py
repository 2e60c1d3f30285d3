"""EvoKD (Liu et al., LREC-COLING 2024): each round trains the student on the pool, scores
it on dev, and has the teacher add samples aimed at the student's errors for the next round:
written by the teacher (``core.evolve_write``, the paper's way) or picked from unlabelled
text and labelled by the teacher (``core.evolve_select``, for teachers that cannot write).

The run directory is the state: ``pool-<r>.jsonl`` is what round r trains on (pool-0 is the
seed data), ``analysis-<r>.md`` the teacher's reading of round r, ``metrics.jsonl`` a line
per finished round, ``model/`` the latest student, ``curve.png`` dev (and test) F1 per round, and
``run.json`` the settings that started it. A round is finished once the next pool is
written, so a killed run restarts at its last round, and the call log answers what the
teacher already said; a rerun with other settings is refused rather than mixed in.

A choice the paper leaves open: the student is re-trained from its base weights, with the
same seed, each round (the pool grows, so the last model has seen everything).
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from nerkd.core.calls import SPENT
from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.evolve_task import EvolveTask, Student
from nerkd.core.formats import read_records, write_records
from nerkd.core.io import open_output
from nerkd.core.records import Record, require_labels
from nerkd.core.train import TrainConfig, train

RUN_FILE = "run.json"


def _refuse_a_round_of_nothing(number: int, rejected: dict[str, int]) -> None:
    """A round whose requests went unanswered, or whose answers were all unreadable, added
    nothing and learned nothing: it stays unfinished (exit 1) rather than count as done."""
    if set(rejected) == {"no answer"}:
        raise NerkdError(
            f"round {number}: the teacher answered none of its requests, so nothing was added "
            "and the round is not finished; rerun to ask again (answers already given are in "
            "the call log)")
    if rejected and set(rejected) <= {"no answer", "unreadable answer"}:
        raise NerkdError(
            f"round {number}: none of the teacher's answers could be read "
            f"({rejected.get('unreadable answer', 0)} unreadable), so nothing was added and the "
            "round is not finished; a rerun reads the same answers from the call log: "
            "--call-log NEW.sqlite asks afresh (another teacher or model needs a new -o)")


def claim_run_dir(run_dir: Path, settings: dict[str, Any]) -> None:
    """Make ``run_dir`` this run's, or check that it already is: a rerun resumes only with the
    ``settings`` (option name -> value or file digest) that started it; the rest (--rounds,
    budgets, device) may change. A directory that is not an evolve run is never written into."""
    if str(run_dir) == "-":
        raise NerkdError("-o -: a run is a directory of files, not a stream: name one")
    settings = json.loads(json.dumps(settings))
    record = run_dir / RUN_FILE
    began = (run_dir / "pool-0.jsonl").is_file()  # a start that failed before it claims nothing
    if began and record.is_file():
        _check_settings(run_dir, record, settings)
        return
    if began:
        warnings.warn(f"{run_dir}: a run from before nerkd recorded its settings: resuming it "
                      "without checking them", NerkdWarning, stacklevel=2)
    elif not record.is_file() and run_dir.exists() and (
            not run_dir.is_dir() or any(run_dir.iterdir())):
        raise NerkdError(f"exists and is not an evolve run directory (no {RUN_FILE}); "
                         "nerkd writes no run into it", str(run_dir))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise NerkdError(f"cannot write {run_dir}: {error.strerror}") from None
    with open_output(record) as handle:
        handle.write(json.dumps(settings, indent=2) + "\n")


def _check_settings(run_dir: Path, record: Path, settings: dict[str, Any]) -> None:
    try:
        started = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NerkdError(f"unreadable ({error}); nerkd writes no run into {run_dir}",
                         str(record)) from None
    differing = sorted(k for k in settings.keys() | started.keys()
                       if settings.get(k) != started.get(k))
    if differing:
        raise NerkdError(f"a run started with other {', '.join(differing)}: rerun with the "
                         "same to resume it, or give a new --output", str(run_dir))


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
    synthetic: int  # records the teacher made (written or labelled) in this round's pool
    dev_f1: float
    dev_per_type: dict[str, float]
    test_f1: float | None = None  # held-out score: nothing of test is shown to the teacher
    pool_left: int | None = None  # --pool: sentences still to pick from (0: the run ends)
    accepted: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    truncated: int = 0  # answers that stayed cut off at their token limit (core.calls)
    seconds: float = 0.0


@dataclass
class RoundView:
    """What a round knows when it asks for new samples."""

    number: int
    pool: list[Record]
    dev: list[Record]
    predicted: list[Record]
    scores: dict[str, Any]
    student: Student
    wrong: list[Record]  # the dev records the student got wrong


class Teaching(Protocol):
    """Where new samples come from: ``evolve_write.Writer`` or ``evolve_select.Selector``."""

    def new_samples(self, view: RoundView) -> tuple[list[Record], Counter[str]]: ...

    def usage(self) -> dict[str, Any]: ...  # calls, cached, tokens, cost, stopped so far

    def remaining(self, pool: Sequence[Record]) -> int | None: ...  # None: no end in sight

    def close(self) -> None: ...


class Evolver:
    """One EvoKD run: a task, a source of samples, a student config, a run directory."""

    def __init__(self, task: EvolveTask, teaching: Teaching, student: TrainConfig,
                 options: EvolveOptions, run_dir: str | Path, dev: Sequence[Record],
                 test: Sequence[Record] = ()) -> None:
        self.task, self.teaching, self.student = task, teaching, student
        self.options, self.run_dir = options, Path(run_dir)
        self.dev, self.test = list(dev), list(test)
        require_labels(self.dev, "--dev", task.name)
        if self.test:
            require_labels(self.test, "--test", task.name)

    def run(self, seed_data: Sequence[Record]) -> Iterator[RoundMetrics]:
        """Metrics of each round finished in this call (earlier ones are kept on disk)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        start = self._resume_point(seed_data)
        try:
            for number in range(start, self.options.rounds + 1):
                metrics = self._round(number)
                yield metrics
                if self.stopped or metrics.pool_left == 0:
                    break
        finally:
            self.teaching.close()

    @property
    def stopped(self) -> str | None:
        """Why a budget stopped the run, if it did."""
        return self.teaching.usage()["stopped"]

    def _resume_point(self, seed_data: Sequence[Record]) -> int:
        """The first unfinished round; metrics of rounds from there on are dropped."""
        if not self._pool_path(0).exists():
            seeds = [replace(r, source=r.source or "gold") for r in seed_data if r.labelled]
            write_records(seeds, str(self._pool_path(0)), "jsonl")
        start = 0
        while self._pool_path(start + 1).exists() and start < self.options.rounds:
            start += 1
        finished = self.finished()
        if any(m["round"] == start and (start == self.options.rounds or m.get("pool_left") == 0)
               for m in finished):
            return self.options.rounds + 1  # the last round is done too: nothing to do
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

    def _round(self, number: int) -> RoundMetrics:
        started = time.perf_counter()
        before = self.teaching.usage()
        pool = list(read_records(str(self._pool_path(number))))
        student = self.task.load_student(str(self._train(pool)), self.student.device)
        predicted = student.predict(self.dev)
        scores = self.task.score(self.dev, predicted)
        per_label = scores.get("per_type") or scores.get("per_class") or {}
        metrics = RoundMetrics(
            number, len(pool), sum(r.source in ("synthetic", "silver") for r in pool),
            scores["micro"]["f1"], {k: v["f1"] for k, v in per_label.items()})
        if self.test:
            metrics.test_f1 = self.task.score(self.test, student.predict(self.test))["micro"]["f1"]
        metrics.pool_left = self.teaching.remaining(pool)
        goes_on = number < self.options.rounds and metrics.pool_left != 0
        if goes_on:
            wrong = [g for g, p in zip(self.dev, predicted) if self.task.wrong(g, p)]
            view = RoundView(number, pool, self.dev, predicted, scores, student, wrong)
            added, rejected = self.teaching.new_samples(view)
            if not added and not self.stopped:
                _refuse_a_round_of_nothing(number, rejected)
            metrics.accepted, metrics.rejected = len(added), dict(rejected)
        self._account(metrics, before, started)
        with self._metrics_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(metrics)) + "\n")
        if goes_on and not self.stopped:
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

    def _account(self, metrics: RoundMetrics, before: dict[str, Any], started: float) -> None:
        after = self.teaching.usage()
        for name in SPENT:
            setattr(metrics, name, after[name] - before[name])
        metrics.seconds = round(time.perf_counter() - started, 2)
        if metrics.truncated:
            warnings.warn(f"round {metrics.round}: {metrics.truncated} of the teacher's answers "
                          "stayed cut off at their token limit (asked again with twice the "
                          "room): what they would have held after the cut is missing",
                          NerkdWarning, stacklevel=2)

    def plot(self) -> None:
        """curve.png: the dev score (and the test score, where measured) per finished round."""
        finished = self.finished()
        if not finished:
            return
        from nerkd.core.plots import line_plot

        line_plot(curve_series(finished, self.options.control), self.run_dir / "curve.png",
                  xlabel="round", ylabel=self.task.score_name, title="nerkd evolve",
                  from_zero=True)

    def _pool_path(self, number: int) -> Path:
        return self.run_dir / f"pool-{number}.jsonl"

    @property
    def _metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"


def curve_series(finished: Sequence[Mapping[str, Any]], control: str) -> dict[str, list]:
    """curve.png's lines: dev score per round, and test score where rounds measured it."""
    series = {f"{control} (dev)": [(m["round"], m["dev_f1"]) for m in finished]}
    tested = [(m["round"], m["test_f1"]) for m in finished if m.get("test_f1") is not None]
    if tested:
        series[f"{control} (test)"] = tested
    return series
