"""A cold `nerkd predict` of one sentence, each run a fresh process, as a script calls it:
the PyTorch runtime vs `--runtime onnx` with its int8 graph already made, alternated. At
this size nearly all of a run is starting up (imports, loading), so this is the wait a
user sees per call.

    python bench/cold_start.py --model DIR [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="a trained model directory (copied)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "model"
        shutil.copytree(args.model, model, ignore=shutil.ignore_patterns("onnx"))
        text = Path(folder) / "one.txt"
        text.write_text("Peter Blackburn lives in Paris .\n", encoding="utf-8")
        runs = {"torch": [], "onnx": []}
        _predict(model, text, "onnx")  # makes the graph: not timed
        for _ in range(args.repeats):
            for runtime, seconds in runs.items():
                seconds.append(_predict(model, text, runtime))
    medians = {runtime: statistics.median(seconds) for runtime, seconds in runs.items()}
    print(f"one sentence, a fresh process each, {args.repeats} alternated runs (medians)")
    for runtime, seconds in runs.items():
        each = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{runtime:>6}: {medians[runtime]:5.2f} s  ({each})")
    print(f"--runtime onnx starts {medians['torch'] / medians['onnx']:.2f}x faster")


def _predict(model: Path, text: Path, runtime: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nerkd", "--quiet", "predict", str(text), "--from",
                    "text", "--model", str(model), "--runtime", runtime, "-o", "/dev/null"],
                   check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
