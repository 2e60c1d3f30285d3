"""Warm CPU tagging with the network and tokenizer `predict` now uses for a BERT nerkd
trained (`PlainBert`, `FileTokenizer`: no transformers import) vs transformers' own
(`AutoModelForTokenClassification`, `AutoTokenizer`), same model and sentences, in one
process: the change must not slow a long run to speed up a short one.

    python bench/plain_bert.py [--model DIR] [--sentences 2000] [--repeats 3]

Runs alternate after a round that warms up; medians; the word cache is emptied before each
run. Without --model the embedded student with a random head measures speed only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import conll, tag_cold, untrained_model
from predict_speed import _labels

from nerkd.core.predict import Tagger, load_tagger
from nerkd.core.student import load_tokenizer, load_trained


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    words = [r.tokens for r in conll("test", args.sentences) if r.tokens]
    model = args.model
    if model is None:
        model = str(untrained_model(Path(tempfile.mkdtemp()), _labels()))
        (Path(model) / "nerkd.json").write_text("{}")  # as train writes: the file tokenizer
    shipped = load_tagger(model, "cpu")
    network, labels = load_trained(model)
    reference = Tagger(network, load_tokenizer(model), labels, shipped.device,
                       max_length=shipped.max_length)
    runs = (("transformers", reference), ("plain", shipped))
    print(f"shipped: {type(shipped.network).__name__}, {type(shipped.tokenizer).__name__}")
    times: dict[str, list[float]] = {name: [] for name, _ in runs}
    tags = {}
    for repeat in range(args.repeats + 1):  # the first round warms up, untimed
        for name, tagger in runs:
            start = time.perf_counter()
            tags[name] = tag_cold(tagger, words)
            if repeat:
                times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"sentences: {len(words)}, repeats {args.repeats} (alternated, medians)")
    for name, seconds in medians.items():
        print(f"{name:>12}: {len(words) / seconds:7.1f} sentences/s")
    print(f"plain vs transformers: {medians['transformers'] / medians['plain']:.2f}x")
    pairs = [(a, b) for s, t in zip(tags["transformers"], tags["plain"]) for a, b in zip(s, t)]
    print(f"same tags: {sum(a == b for a, b in pairs) / len(pairs):.5f} of {len(pairs)} tokens")


if __name__ == "__main__":
    main()
