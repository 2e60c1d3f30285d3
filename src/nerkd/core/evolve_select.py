"""EvoKD for a teacher that labels but does not write: each round picks unlabelled sentences
from a pool and has the teacher label them.

``control="targeted"`` picks the sentences nearest to the student's current errors: every dev
record the student got wrong takes, in turn (errors in a seeded order), the unpicked pool
sentence whose vector is closest to its own (cosine of the student's mean last-layer states;
see ``predict.pooled_vectors``), so the picks spread over all the errors instead of
crowding round one. ``control="random"`` picks the same number at random: the baseline. The
teacher labels as many sentences either way, so the two cost the same.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from nerkd.core.calls import USAGE
from nerkd.core.records import Record


class Labeller(Protocol):
    """A teacher that labels records (``ModelTeacher`` or ``Annotator``): silver records in
    input order, leaving out those it could not label; ``stats.as_json()`` has its usage."""

    stats: Any

    def run(self, records: Iterable[Record]) -> Iterator[Record]: ...


class Selector:
    """Picks ``per_round`` pool sentences a round and has ``labeller`` label them."""

    def __init__(self, candidates: Sequence[Record], labeller: Labeller, options: Any,
                 held_out: Sequence[Record] = ()) -> None:
        self.labeller, self.options = labeller, options
        known = {tuple(r.tokens) for r in held_out}
        unique: dict[tuple[str, ...], Record] = {}
        for record in candidates:  # dev and excluded sentences are never picked
            key = tuple(record.tokens)
            if record.tokens and key not in known:
                unique.setdefault(key, record)
        self.candidates = list(unique.values())
        # Picked before: in the pool, or failed (the call log would fail them again).
        self.tried: set[tuple[str, ...]] = set()

    def new_samples(self, view: Any) -> tuple[list[Record], Counter[str]]:
        """Labelled records for the next round, and counts of picks the teacher failed."""
        free = self._free(view.pool)
        rng = random.Random(self.options.seed * 1000 + view.number)
        picked = self._pick(free, view, rng)
        self.tried.update(tuple(r.tokens) for r in picked)
        unlabelled = [_unlabelled(r) for r in picked]
        labelled = list(self.labeller.run(unlabelled))
        for record in labelled:
            record.source = "silver"
            record.meta.update({"round": view.number + 1, "control": self.options.control,
                                "selected": True})
        rejected = Counter({"no answer": len(picked) - len(labelled)} if
                           len(labelled) < len(picked) else {})
        return labelled, rejected

    def usage(self) -> dict[str, Any]:
        stats = self.labeller.stats.as_json()
        return {name: stats.get(name, 0) for name in USAGE}

    def remaining(self, pool: Sequence[Record]) -> int:
        """Candidates not yet in ``pool`` nor picked before."""
        return len(self._free(pool))

    def close(self) -> None:
        pass

    def _free(self, pool: Sequence[Record]) -> list[Record]:
        used = self.tried | {tuple(r.tokens) for r in pool}
        return [r for r in self.candidates if tuple(r.tokens) not in used]

    def _pick(self, free: list[Record], view: Any, rng: random.Random) -> list[Record]:
        count = min(self.options.per_round, len(free))
        if self.options.control == "random" or not view.wrong or not count:
            return rng.sample(free, count)
        vectors = view.student.vectors(free)
        errors = view.student.vectors(view.wrong)
        return [free[i] for i in nearest_in_turn(errors @ vectors.T, count, rng)]


def _unlabelled(record: Record) -> Record:
    """The record as the teacher gets it: no tags, no class (a labelled pool's are unseen)."""
    copy = record.with_tags(None)
    copy.label = None
    return copy


def nearest_in_turn(similarity: Any, count: int, rng: random.Random) -> list[int]:
    """Columns picked by rows taking turns (rows in a seeded order), each its most similar
    column not yet picked; ``similarity`` is rows x columns."""
    order = similarity.argsort(dim=1, descending=True).tolist()
    rows = list(range(len(order)))
    rng.shuffle(rows)
    cursor = [0] * len(order)
    picked: list[int] = []
    taken: set[int] = set()
    while len(picked) < count:
        for row in rows:
            while order[row][cursor[row]] in taken:
                cursor[row] += 1
            column = order[row][cursor[row]]
            taken.add(column)
            picked.append(column)
            if len(picked) == count:
                break
    return picked
