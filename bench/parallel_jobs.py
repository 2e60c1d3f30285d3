"""Two `nerkd train` jobs on one CPU machine: one after the other with every core each, vs side
by side with OMP_NUM_THREADS splitting the cores between them (how the ladder's queues ran).

    python bench/parallel_jobs.py [--train 702] [--epochs 2] [--repeats 3]

Each repeat times both arms back to back (the same two jobs, seeds 0 and 1); seconds are
medians. Whole commands are timed, model loading included, as a queue of experiments sees it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import conll

from nerkd.core.formats import write_records
from nerkd.core.student import usable_cpus


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=702, help="sentences (5%% of CoNLL train)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:  # two trained models: not left behind
        _compare(Path(folder), args)


def _compare(work: Path, args: argparse.Namespace) -> None:
    data = work / "train.jsonl"
    write_records(conll("train", args.train), str(data), "jsonl")
    cores = usable_cpus()
    jobs = [_job(data, work / f"model-{seed}", args.epochs, seed) for seed in (0, 1)]
    seconds: dict[str, list[float]] = {"one after the other": [], "side by side": []}
    for _ in range(args.repeats):
        seconds["one after the other"].append(_timed(jobs, threads=cores, together=False))
        seconds["side by side"].append(_timed(jobs, threads=max(1, cores // 2), together=True))
    medians = {name: statistics.median(s) for name, s in seconds.items()}
    for name, value in medians.items():
        print(f"{name}: {value:.1f} s for both jobs")
    print(f"side by side / one after the other: "
          f"{medians['one after the other'] / medians['side by side']:.2f}x the work per hour "
          f"({cores} cores)")


def _job(data: Path, model: Path, epochs: int, seed: int) -> list[str]:
    return [sys.executable, "-m", "nerkd", "-q", "train", str(data), "--epochs", str(epochs),
            "--seed", str(seed), "--labels", "PER,ORG,LOC,MISC", "-o", str(model), "--force"]


def _timed(jobs: list[list[str]], threads: int, together: bool) -> float:
    env = os.environ | {"OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    if together:
        running = [subprocess.Popen(job, env=env, stdout=subprocess.DEVNULL) for job in jobs]
        codes = [process.wait() for process in running]
    else:
        codes = [subprocess.run(job, env=env, stdout=subprocess.DEVNULL).returncode
                 for job in jobs]
    if any(codes):
        raise SystemExit(f"a training job failed: exit codes {codes}")
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
