"""A cold `nerkd predict` of one sentence, each run a fresh process, as a script calls it:
as shipped (PyTorch; on a CPU a BERT runs without transformers' model code), with
`--runtime onnx` (its int8 graph already made), and the baseline: the same tagging in a
fresh process through transformers' network and tokenizer, as `predict` did before,
alternated. At this size nearly all of a run is starting up (imports, loading), so this is
the wait a user sees per call.

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

# The baseline: predict's path before PlainBert and FileTokenizer, CLI modules included.
THROUGH_TRANSFORMERS = """
import sys
import nerkd.cli.app
from nerkd.core.formats import read_records, write_records
from nerkd.core.predict import Tagger, predict
from nerkd.core.student import load_tokenizer, load_trained, pick_device
model, text = sys.argv[1:]
network, labels = load_trained(model)
tagger = Tagger(network, load_tokenizer(model), labels, pick_device("cpu"))
write_records(predict(read_records(text, "text"), tagger), "/dev/null", "jsonl", "iob2")
"""


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
        commands = {
            "transformers": [sys.executable, "-c", THROUGH_TRANSFORMERS, str(model), str(text)],
            "shipped": _predict(model, text, "torch"),
            "onnx": _predict(model, text, "onnx"),
        }
        _timed(commands["onnx"])  # makes the graph: not timed
        runs: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                runs[name].append(_timed(command))
    medians = {name: statistics.median(seconds) for name, seconds in runs.items()}
    print(f"one sentence, a fresh process each, {args.repeats} alternated runs (medians)")
    for name, seconds in runs.items():
        each = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{name:>12}: {medians[name]:5.2f} s  ({each})")
    base = medians["transformers"]
    print(f"predict starts {base / medians['shipped']:.2f}x faster than through transformers;"
          f" --runtime onnx {base / medians['onnx']:.2f}x")


def _predict(model: Path, text: Path, runtime: str) -> list[str]:
    return [sys.executable, "-m", "nerkd", "--quiet", "predict", str(text), "--from", "text",
            "--model", str(model), "--runtime", runtime, "-o", "/dev/null"]


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
