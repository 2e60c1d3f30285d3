"""Blend plans: which gold and silver records each training epoch uses.

A schedule maps epoch ``e`` (0-based, of ``E``) to ``(s, g)``: the fractions of the silver
and of the gold pool that epoch trains on. :func:`blend_plan` draws that many records from each
pool without replacement (seeded by ``seed`` and ``e``), shuffles them together and tags each
copy with ``epoch`` (and ``weight`` where it is not 1), so ``train`` needs to know nothing about
schedules. An epoch takes ``floor(f * n + 0.5)`` records of a pool of ``n`` (``f`` a fraction;
halves round up, so ``0.5`` of 3 records is 2).

The paper behind the schedules (Huang, Tang & Chen 2024, arXiv 2402.09282) names its regimens
(sequential, simple mix) and its blending curves (sigmoid, power decay) but the stored copies
give no formula or parameter: the curves below are this project's own, with every parameter an
option. ``simple-mix`` has two readings (v1 and v4 of the paper); see :data:`VARIANTS`.

Example::

    schedule = make_schedule("sigmoid", steepness=10, centre=0.5)
    plan, stats = blend_plan(gold, silver, schedule, epochs=6, seed=1)
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.io import display_name, read_lines
from nerkd.core.records import Record

Fractions = tuple[float, float]  # (silver fraction, gold fraction) of one epoch
Curve = Callable[[int, int], Fractions]  # (epoch, epochs) -> fractions

SCHEDULES = (
    "gold", "silver", "concat", "sequential", "simple-mix", "sigmoid", "power-decay", "linear",
    "custom",
)
# simple-mix readings: v1 of the paper "initially employing GPT-4 annotated data for
# pre-training and then refining the model with a combination of distilled and original
# human-annotated data"; v4 "a simple mix of training first with distilled data followed by
# original data" (which alone would make it the same as ``sequential``).
# The options each schedule reads (the others do nothing with it).
SCHEDULE_OPTIONS = {
    "gold": (), "silver": (), "concat": (), "sequential": ("--switch",),
    "simple-mix": ("--switch", "--variant"),
    "sigmoid": ("--steepness", "--centre", "--gold-fraction"),
    "power-decay": ("--power", "--gold-fraction"), "linear": ("--gold-fraction",),
    "custom": ("--custom",),
}
VARIANTS = ("silver-then-mix", "silver-then-gold")
GOLD_FRACTIONS = ("complement", "constant")  # g(e) = 1 - s(e), or g(e) = 1
PLAN_KEYS = ("epoch", "weight")


@dataclass(frozen=True)
class Schedule:
    """A named curve of (silver, gold) fractions per epoch; ``length`` fixes the epoch count."""

    name: str
    curve: Curve
    params: dict[str, Any] = field(default_factory=dict)
    length: int | None = None

    def fractions(self, epoch: int, epochs: int) -> Fractions:
        silver, gold = self.curve(epoch, epochs)
        return float(silver), float(gold)

    def resolve_epochs(self, epochs: int | None) -> int:
        """The number of epochs to plan: the given one, or the length of a fixed table."""
        if self.length is not None and epochs is not None and epochs != self.length:
            raise NerkdError(
                f"the {self.name} schedule has {self.length} epochs but --epochs is {epochs}")
        epochs = self.length if epochs is None else epochs
        if epochs is None:
            raise NerkdError(f"--epochs is required with --schedule {self.name}")
        if epochs < 1:
            raise NerkdError(f"--epochs must be at least 1, got {epochs}")
        return epochs

    def describe(self) -> str:
        """``sigmoid (steepness=10, centre=0.5, gold=complement)``."""
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name} ({inner})" if inner else self.name


def make_schedule(
    name: str,
    *,
    switch: int | None = None,
    variant: str = "silver-then-mix",
    steepness: float = 10.0,
    centre: float = 0.5,
    power: float = 1.0,
    gold_fraction: str = "complement",
    table: Sequence[Fractions] | None = None,
) -> Schedule:
    """Build a schedule by name; options a schedule does not use are ignored."""
    if name not in SCHEDULES:
        raise NerkdError(f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}")
    if (table is not None) != (name == "custom"):
        raise NerkdError("--schedule custom needs a table file (--custom), and only it takes one")
    if gold_fraction not in GOLD_FRACTIONS:
        raise NerkdError(f"--gold-fraction must be one of {', '.join(GOLD_FRACTIONS)}")
    if name == "custom":
        return _custom(list(table or []))
    if name in ("sequential", "simple-mix"):
        return _phased(name, switch, variant)
    if name in ("sigmoid", "power-decay", "linear"):
        return _decaying(name, steepness, centre, power, gold_fraction)
    fixed = {"gold": (0.0, 1.0), "silver": (1.0, 0.0), "concat": (1.0, 1.0)}[name]
    return Schedule(name, lambda e, n: fixed)


def _custom(table: list[Fractions]) -> Schedule:
    if not table:
        raise NerkdError("the custom schedule table has no epochs")
    return Schedule("custom", lambda e, n: table[e], {"epochs": len(table)}, len(table))


def _phased(name: str, switch: int | None, variant: str) -> Schedule:
    """Silver-only epochs up to ``switch`` (default ceil(E/2)), then gold (or silver+gold)."""
    if name == "simple-mix" and variant not in VARIANTS:
        raise NerkdError(f"--variant must be one of {', '.join(VARIANTS)}")
    if switch is not None and switch < 0:
        raise NerkdError(f"--switch must be at least 0, got {switch}")
    after = (1.0, 1.0) if name == "simple-mix" and variant == "silver-then-mix" else (0.0, 1.0)

    def curve(epoch: int, epochs: int) -> Fractions:
        at = math.ceil(epochs / 2) if switch is None else switch
        if at > epochs:
            raise NerkdError(f"--switch {at} is beyond --epochs {epochs}")
        return (1.0, 0.0) if epoch < at else after

    params: dict[str, Any] = {"switch": "ceil(E/2)" if switch is None else switch}
    if name == "simple-mix":
        params["variant"] = variant
    return Schedule(name, curve, params)


def _decaying(name: str, k: float, c: float, p: float, gold_fraction: str) -> Schedule:
    """A falling silver curve s(e); gold is its complement or constant 1."""
    if not all(math.isfinite(v) for v in (k, c, p)):
        raise NerkdError("--steepness, --centre and --power must be finite numbers")
    if name == "power-decay" and p < 0:
        raise NerkdError(f"--power must be at least 0, got {p}")
    silver: Callable[[int, int], float] = {
        "sigmoid": lambda e, n: sigmoid_fraction(e, n, k, c),
        "power-decay": lambda e, n: (1.0 + e) ** -p,
        "linear": lambda e, n: 1.0 - e / (n - 1) if n > 1 else 1.0,
    }[name]
    params: dict[str, Any] = {
        "sigmoid": {"steepness": k, "centre": c}, "power-decay": {"power": p}, "linear": {},
    }[name]

    def curve(epoch: int, epochs: int) -> Fractions:
        s = silver(epoch, epochs)
        return s, (1.0 - s if gold_fraction == "complement" else 1.0)

    return Schedule(name, curve, {**params, "gold": gold_fraction})


def sigmoid_fraction(epoch: int, epochs: int, steepness: float, centre: float) -> float:
    """s(e) = 1 / (1 + exp(k (e/E - c))), computed without overflow."""
    x = steepness * (epoch / epochs - centre)
    if x > 0:
        z = math.exp(-x)
        return z / (1.0 + z)
    return 1.0 / (1.0 + math.exp(x))


def read_schedule_table(path: str | Path) -> list[Fractions]:
    """A custom schedule: per epoch ``silver gold`` (space or comma separated; ``#`` starts a
    comment), or JSON lines ``{"epoch": 0, "silver": 1.0, "gold": 0.0}``."""
    name = display_name(path)
    rows: dict[int, tuple[int, Fractions]] = {}
    for number, line in read_lines(path):
        text = line.split("#", 1)[0].strip() if not line.lstrip().startswith("{") else line.strip()
        if not text:
            continue
        try:
            epoch, fractions = _table_row(text, len(rows))
            if epoch in rows:
                raise NerkdError(f"epoch {epoch} given twice (first on line {rows[epoch][0]})")
        except NerkdError as error:
            raise error.located(name, number) from None
        rows[epoch] = (number, fractions)
    missing = [e for e in range(len(rows)) if e not in rows]
    if missing:
        raise NerkdError(f"no row for epoch {missing[0]}", name)
    return [rows[e][1] for e in range(len(rows))]


def _table_row(text: str, index: int) -> tuple[int, Fractions]:
    if text.startswith("{"):
        return _json_row(text)
    fields = text.replace(",", " ").split()
    if len(fields) != 2:
        raise NerkdError(f"expected 'silver_fraction gold_fraction', got {text!r}")
    try:
        values = (float(fields[0]), float(fields[1]))
    except ValueError:
        raise NerkdError(f"expected two numbers, got {text!r}") from None
    return index, _checked(values)


def _json_row(text: str) -> tuple[int, Fractions]:
    import json

    try:
        obj = json.loads(text)
    except json.JSONDecodeError as error:
        raise NerkdError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    if not isinstance(obj, dict) or not {"epoch", "silver", "gold"} <= obj.keys():
        raise NerkdError("expected a JSON object with 'epoch', 'silver' and 'gold'")
    epoch = obj["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise NerkdError("'epoch' must be an integer >= 0")
    values = (obj["silver"], obj["gold"])
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise NerkdError("'silver' and 'gold' must be numbers")
    return epoch, _checked((float(values[0]), float(values[1])))


def _checked(values: Fractions) -> Fractions:
    if not all(0.0 <= v <= 1.0 for v in values):
        raise NerkdError(f"fractions must lie in [0, 1], got {values[0]:g} {values[1]:g}")
    return values


@dataclass
class EpochCounts:
    """One epoch of a plan: the fractions the schedule asked for and the records drawn."""

    epoch: int
    silver_fraction: float
    gold_fraction: float
    silver: int
    gold: int


@dataclass
class BlendStats:
    """What went into a plan and what was left out, and why."""

    schedule: str = ""
    gold: int = 0  # labelled gold records in the pool
    silver: int = 0  # silver records in the pool after deduplication and filtering
    unlabelled: int = 0  # records without tags or a class (either input), skipped
    duplicates: int = 0  # silver records whose text is also in gold, dropped
    low_confidence: int = 0  # silver records under --min-confidence, dropped
    epochs: list[EpochCounts] = field(default_factory=list)

    @property
    def planned(self) -> int:
        return sum(c.silver + c.gold for c in self.epochs)

    def summary(self) -> str:
        return (
            f"blend {self.schedule}: {len(self.epochs)} epochs, {self.planned} planned records "
            f"from {self.gold} gold and {self.silver} silver; dropped {self.duplicates} "
            f"duplicate, {self.low_confidence} low-confidence, {self.unlabelled} unlabelled"
        )


def record_confidence(record: Record) -> float:
    """The lowest ``confidence`` among the record's spans and its ``meta`` (a document's
    class); 1.0 when none carries one (gold, a single-vote teacher, no entities). A
    confidence that is not a number from 0 to 1 is an error (as a weight it would make a
    plan train refuses, or count a record it should drop)."""
    found = [span.get("confidence") for span in record.spans or []]
    found.append(record.meta.get("confidence"))
    for value in found:
        if value is not None and not (_is_number(value) and 0 <= value <= 1):
            raise NerkdError(f"record {record.id}: confidence {value!r} is not a number "
                             "from 0 to 1", line=record.line)
    return min((float(v) for v in found if v is not None), default=1.0)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def sentence_key(record: Record) -> str:
    """A record's words as tokenized: CoNLL gold reads "lamb ." where raw text said "lamb.",
    and both are the tokens ``lamb`` ``.``."""
    return " ".join(record.tokens) if record.tokens else " ".join(record.text.split())


def take(fraction: float, size: int) -> int:
    """How many of ``size`` records a fraction selects: round half up, at most ``size``."""
    # rounded first: 1 - 5/6 is 0.16666666666666663, and half of a pool of 3 must round up
    return min(size, max(0, math.floor(round(fraction * size, 9) + 0.5)))


def read_pools(gold: str | None, silver: str | None,
               confidences: bool = False) -> tuple[list[Record], list[Record]]:
    """Read the gold and silver files (either may be None, one may be ``-``) into memory;
    ``confidences``: the silver's are used, so each must be a number from 0 to 1."""
    from nerkd.core.formats import read_records
    from nerkd.core.tasks import one_task

    if gold is None and silver is None:
        raise NerkdError("give --gold, --silver or both")
    if gold == silver == "-":
        raise NerkdError("only one of --gold and --silver can read stdin")
    pools = (list(read_records(gold)) if gold is not None else [],
             list(read_records(silver)) if silver is not None else [])
    one_task([*pools[0], *pools[1]])
    if confidences and pools[1]:
        _check_confidences(pools[1], display_name(silver))  # type: ignore[arg-type]
    return pools


def _check_confidences(silver: list[Record], name: str) -> None:
    """Each confidence is a number from 0 to 1 (named now, where its file is known); a pool
    with none at all is said: the options that read them would do nothing."""
    for record in silver:
        try:
            record_confidence(record)
        except NerkdError as error:
            raise error.located(name) from None
    if not any(_has_confidence(record) for record in silver):
        warnings.warn(f"{name}: no silver record carries a confidence (annotate --votes writes "
                      "them), so every one counts as 1", NerkdWarning, stacklevel=2)


def _has_confidence(record: Record) -> bool:
    return record.meta.get("confidence") is not None or any(
        span.get("confidence") is not None for span in record.spans or [])


def blend_plan(
    gold: Sequence[Record],
    silver: Sequence[Record],
    schedule: Schedule,
    epochs: int | None,
    seed: int = 0,
    min_confidence: float | None = None,
    weight_by_confidence: bool = False,
) -> tuple[Iterator[Record], BlendStats]:
    """A plan (records tagged ``epoch``, epoch by epoch, lazily) and its statistics.

    Silver records whose tokens are also in gold are dropped; so are silver
    records whose confidence (:func:`record_confidence`) is under ``min_confidence``: a whole
    record, because dropping one span would teach its tokens as O. ``weight_by_confidence``
    weights silver records by that confidence; gold weighs 1. Any ``epoch`` or ``weight`` the
    inputs carry is replaced. Raises :class:`NerkdError` when some epoch would be empty.
    """
    total = schedule.resolve_epochs(epochs)
    stats = BlendStats(schedule=schedule.describe())
    gold_pool = _labelled(gold, stats)
    silver_pool = _silver_pool(_labelled(silver, stats), gold_pool, min_confidence, stats)
    stats.gold, stats.silver = len(gold_pool), len(silver_pool)
    if not gold_pool and not silver_pool:
        raise NerkdError("no labelled records in gold or silver")
    stats.epochs = [_counts(schedule, e, total, stats) for e in range(total)]
    weights = [record_confidence(r) if weight_by_confidence else 1.0 for r in silver_pool]
    pools = {"silver": (silver_pool, weights), "gold": (gold_pool, [1.0] * len(gold_pool))}
    return _plan(pools, stats.epochs, seed), stats


def _labelled(records: Sequence[Record], stats: BlendStats) -> list[Record]:
    kept = [r for r in records if r.labelled]  # blending is about records, whatever the task
    stats.unlabelled += len(records) - len(kept)
    return kept


def _silver_pool(
    silver: list[Record], gold: list[Record], min_confidence: float | None, stats: BlendStats
) -> list[Record]:
    gold_texts = {sentence_key(r) for r in gold}
    unique = [r for r in silver if sentence_key(r) not in gold_texts]
    stats.duplicates = len(silver) - len(unique)
    if min_confidence is None:
        return unique
    confident = [r for r in unique if record_confidence(r) >= min_confidence]
    stats.low_confidence = len(unique) - len(confident)
    return confident


def _counts(schedule: Schedule, epoch: int, epochs: int, stats: BlendStats) -> EpochCounts:
    s, g = schedule.fractions(epoch, epochs)
    if not (0.0 <= s <= 1.0 and 0.0 <= g <= 1.0):
        raise NerkdError(f"epoch {epoch}: fractions must lie in [0, 1], got {s:g} {g:g}")
    counts = EpochCounts(epoch, s, g, take(s, stats.silver), take(g, stats.gold))
    if counts.silver + counts.gold == 0:
        raise NerkdError(
            f"epoch {epoch} would have no records (silver {s:.3g} of {stats.silver}, "
            f"gold {g:.3g} of {stats.gold}); check --gold/--silver and the schedule"
        )
    return counts


def _plan(
    pools: dict[str, tuple[list[Record], list[float]]], epochs: list[EpochCounts], seed: int
) -> Iterator[Record]:
    for counts in epochs:
        rng = random.Random(f"nerkd-blend:{seed}:{counts.epoch}")
        picks = [("silver", i) for i in rng.sample(range(len(pools["silver"][0])), counts.silver)]
        picks += [("gold", i) for i in rng.sample(range(len(pools["gold"][0])), counts.gold)]
        rng.shuffle(picks)
        for pool, i in picks:
            records, weights = pools[pool]
            yield _planned(records[i], pool, counts.epoch, weights[i])


def _planned(record: Record, pool: str, epoch: int, weight: float) -> Record:
    extra = {k: v for k, v in record.extra.items() if k not in PLAN_KEYS}
    extra["epoch"] = epoch
    if weight != 1.0:
        extra["weight"] = weight
    return replace(record, source=record.source or pool, meta=dict(record.meta), extra=extra)


def plot_schedule(stats: BlendStats, path: str | Path) -> None:
    """A PNG of s(e) and g(e) (top) and the records drawn per epoch (bottom)."""
    from nerkd.core.plots import figure, save

    epochs = [c.epoch for c in stats.epochs]
    drawing, (top, bottom) = figure(2, 1, size=(7, 6))
    top.plot(epochs, [c.silver_fraction for c in stats.epochs], "o-", label="silver s(e)")
    top.plot(epochs, [c.gold_fraction for c in stats.epochs], "s-", label="gold g(e)")
    top.set(ylabel="fraction of pool", ylim=(-0.05, 1.05), title=stats.schedule)
    top.legend()
    silver = [c.silver for c in stats.epochs]
    bottom.bar(epochs, silver, label=f"silver (of {stats.silver})")
    gold = [c.gold for c in stats.epochs]
    bottom.bar(epochs, gold, bottom=silver, label=f"gold (of {stats.gold})")
    bottom.set(xlabel="epoch", ylabel="records", xticks=epochs)
    bottom.legend()
    save(drawing, path)
