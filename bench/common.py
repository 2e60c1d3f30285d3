"""Shared helpers for the benchmarks: data, timing, a model directory to measure with."""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# NERKD_CONLL_DIR: where a copy is, e.g. on a machine the repository travelled to alone
SHARED = Path(os.environ.get("NERKD_CONLL_DIR") or ROOT.parent / "shared" / "data" / "conll2003")
SAMPLE = ROOT / "examples" / "sample"


def conll(split: str, limit: int | None = None) -> list:
    """Records of a CoNLL-2003 split (the shared copy, else the shipped sample)."""
    from itertools import islice

    from nerkd.core.formats import read_records

    path = SHARED / f"{split}.txt"
    if not path.exists():
        path = SAMPLE / f"{split}.conll"
        print(f"note: {SHARED} absent, using {path}", file=sys.stderr)
    return list(islice(read_records(path), limit))


def median_time(run: Callable[[], object], repeats: int) -> float:
    return statistics.median(run_times(run, repeats))


def run_times(run: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` runs, in order (the first is the cold one)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def untrained_model(directory: Path, labels: list[str]) -> Path:
    """The embedded student with a fresh CoNLL head: speed does not depend on the head."""
    from nerkd.core.student import default_student_dir, load_for_training, load_tokenizer

    base = str(default_student_dir())
    load_for_training(base, labels).save_pretrained(directory)
    load_tokenizer(base).save_pretrained(directory)
    return directory


def tag_cold(tagger, words: list) -> list:
    """Tag as a fresh process would: the word cache emptied first (a repeat would otherwise
    find every word known and time no tokenizing at all)."""
    tagger.pieces.known.clear()
    return tagger.tag(words)
