"""CPU prediction as shipped (two forward passes at once, each on half the threads) vs one
pass at a time on every thread, same model, sentences and runtime, in one process.

    python bench/cpu_passes.py [--model DIR] [--runtime torch|onnx] [--sentences 2000]
                               [--repeats 3]

Runs alternate (one pass, two passes, one pass, ...) after a round that warms up, and the
medians are quoted; the word cache is emptied before each run. Without --model the embedded
student with a random head measures speed only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from common import conll, tag_cold, untrained_model
from predict_speed import _labels

import nerkd.core.onnx_runtime as onnx_module
import nerkd.core.predict as predict_module
from nerkd.core.predict import load_tagger
from nerkd.core.student import cpu_threads


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--runtime", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    words = [r.tokens for r in conll("test", args.sentences) if r.tokens]
    model = args.model or str(untrained_model(Path(tempfile.mkdtemp()), _labels()))
    with one_pass():  # an ONNX session takes its thread count when it is made
        single = load_tagger(model, "cpu", runtime=args.runtime)
    shipped = load_tagger(model, "cpu", runtime=args.runtime)
    runs = (("one pass", single), ("two passes", shipped))
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    tags = {}
    for repeat in range(args.repeats + 1):  # the first round warms up, untimed
        for name, tagger in runs:
            with one_pass() if name == "one pass" else nullcontext():
                start = time.perf_counter()
                tags[name] = tag_cold(tagger, words)
                if repeat:
                    times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"sentences: {len(words)}, runtime {args.runtime}, threads {cpu_threads()}, "
          f"repeats {args.repeats} (alternated, medians)")
    for name, seconds in medians.items():
        print(f"{name:>10}: {len(words) / seconds:7.1f} sentences/s")
    print(f"two passes vs one: {medians['one pass'] / medians['two passes']:.2f}x")
    pairs = [(a, b) for s, t in zip(tags["one pass"], tags["two passes"]) for a, b in zip(s, t)]
    print(f"same tags: {sum(a == b for a, b in pairs) / len(pairs):.5f} of {len(pairs)} tokens")


@contextmanager
def one_pass():
    """What CPU inference did before: one pass at a time, on every thread."""
    shipped = predict_module.inference_split
    predict_module.inference_split = onnx_module.inference_split = lambda: (1, cpu_threads())
    try:
        yield
    finally:
        predict_module.inference_split = onnx_module.inference_split = shipped


if __name__ == "__main__":
    main()
