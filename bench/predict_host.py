"""The Python side of predict alone: Tagger.tag with a stand-in network whose forward pass
costs nothing, so what is timed is reading words into subword windows, padding batches,
picking the labels out and writing tags. On a GPU the network's share is small (the
student used 0.6% of an H200's matmul rate), so this rate is the ceiling of GPU
prediction on the machine's CPU. Baseline in the same run: the fast tokenizer's own
batched call on the same sentences (the least any tagger on that tokenizer does).

    python bench/predict_host.py [--model DIR] [--cycle 5] [--repeats 5] [--budget 16384]

Runs are interleaved and the medians quoted; the word cache is emptied before each run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from types import SimpleNamespace

import torch
from common import conll, tag_cold
from predict_speed import _labels

import nerkd.core.predict as predict_module
from nerkd.core.predict import Tagger
from nerkd.core.student import default_student_dir, load_tokenizer


class FreeNetwork:
    """Logits of the right shape at no cost (their values are never looked at)."""

    config = SimpleNamespace(max_position_embeddings=512)

    def __init__(self, labels: int) -> None:
        self.labels = labels

    def eval(self) -> FreeNetwork:
        return self

    def __call__(self, input_ids, **_):
        return SimpleNamespace(logits=torch.empty(*input_ids.shape, self.labels))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycle", type=int, default=5, help="CoNLL-2003 test, this many times")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", help="whose tokenizer (default: the embedded student)")
    parser.add_argument("--budget", type=int, default=predict_module.CUDA_TOKENS,
                        help="subwords per batch (default: the GPU budget)")
    args = parser.parse_args()
    predict_module.CPU_TOKENS = args.budget  # the stand-in runs on the CPU
    predict_module.inference_split = lambda: (1, 1)  # one pass at a time, as on a GPU
    words = [r.tokens for r in conll("test") if r.tokens] * args.cycle
    tokenizer = load_tokenizer(args.model or str(default_student_dir()))
    labels = _labels()
    tagger = Tagger(FreeNetwork(len(labels)), tokenizer, labels, torch.device("cpu"))
    runs = {"nerkd tag": lambda: tag_cold(tagger, words),
            "tokenizer": lambda: _tokenize(tokenizer, words)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    n = len(words)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"sentences: {n}, budget {args.budget} subwords, repeats {args.repeats} "
          "(interleaved, medians)")
    for name, seconds in medians.items():
        print(f"{name:>10}: {n / seconds:9.0f} sentences/s")
    print(f"nerkd's whole Python side vs tokenizing alone: "
          f"{medians['tokenizer'] / medians['nerkd tag']:.2f}x")


def _tokenize(tokenizer, words: list) -> None:
    """The batched call with its word ids, as a first-subword tagger needs them."""
    encoded = tokenizer(words, is_split_into_words=True, truncation=True, max_length=256)
    for i in range(len(words)):
        encoded.word_ids(i)


if __name__ == "__main__":
    main()
