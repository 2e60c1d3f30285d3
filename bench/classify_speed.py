"""predict for a text classifier on the CPU: batches of 32 texts (the old default) vs the
tagger's subword budget (the default now), on BBC News articles read to --max-length subwords.

    python bench/classify_speed.py [--texts 500] [--max-length 128] [--repeats 3]

Runs are interleaved so machine noise hits both alike; texts/s are medians. The embedded
student with a random 5-class head: speed does not depend on what the head learned.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT

from nerkd.core.student import default_student_dir, load_for_training, load_tokenizer
from nerkd.core.tasks.classify import load_classifier

BBC = ROOT.parent / "shared" / "data" / "bbc" / "bbc.jsonl"
TOPICS = ["business", "entertainment", "politics", "sport", "tech"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with BBC.open() as handle:
        texts = [json.loads(line)["text"] for line, _ in zip(handle, range(args.texts))]
    model = Path(tempfile.mkdtemp())
    base = str(default_student_dir())
    load_for_training(base, TOPICS, head="sequence").save_pretrained(model)
    load_tokenizer(base).save_pretrained(model)
    arms = {"32 texts": load_classifier(str(model), "cpu", 32, args.max_length),
            "subword budget": load_classifier(str(model), "cpu", None, args.max_length)}
    answers = {name: arm.classify(texts) for name, arm in arms.items()}  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in arms}
    for _ in range(args.repeats):
        for name, arm in arms.items():
            start = time.perf_counter()
            arm.classify(texts)
            seconds[name].append(time.perf_counter() - start)
    rates = {name: len(texts) / statistics.median(s) for name, s in seconds.items()}
    for name, rate in rates.items():
        print(f"{name}: {rate:.1f} texts/s")
    same = sum(a == b for a, b in zip(*answers.values())) / len(texts)
    print(f"budget / 32 texts: {rates['subword budget'] / rates['32 texts']:.2f}x; "
          f"same class for {same:.3f} of texts")


if __name__ == "__main__":
    main()
