"""predict vs transformers.pipeline("token-classification"): sentences/s on the same model,
sentences and device, agreement of their entities, and the share of measured matmul FLOP/s
used (CPU only).

    python bench/predict_speed.py [--model DIR] [--sentences 2000] [--repeats 3]
    python bench/predict_speed.py --model DIR --sentences 0 --cycle 5 --device cuda \
        --pipeline-batch 128        # the GPU target: CoNLL-2003 test x 5

On a GPU it also tags the sentences on the CPU and reports the share of tokens tagged alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import torch
from common import conll, median_time, run_times, tag_cold, untrained_model

from nerkd.core.predict import load_tagger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cycle", type=int, default=1, help="the sentences, this many times")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pipeline-batch", type=int, default=1)
    args = parser.parse_args()
    records = [r for r in conll("test", args.sentences or None) if r.tokens] * args.cycle
    model = args.model or str(untrained_model(Path(tempfile.mkdtemp()), _labels()))
    tagger = load_tagger(model, args.device)
    words = [r.tokens for r in records]
    tagger.tag(words[:64])  # warm-up: CUDA context, kernels
    # the first run meets every batch shape first: on a GPU a cold command pays what it pays
    our_times = run_times(lambda: tag_cold(tagger, words), args.repeats)
    ours = statistics.median(our_times)
    pipe = _pipeline(model, tagger.device, args.pipeline_batch)
    texts = [r.text for r in records]
    theirs = median_time(lambda: list(pipe(texts)), args.repeats)
    n = len(records)
    print(f"sentences: {n}, device: {tagger.device}, threads: {torch.get_num_threads()}, "
          f"repeats: {args.repeats} (medians)")
    print(f"nerkd predict: {n / ours:8.1f} sentences/s (first run {n / our_times[0]:.1f})")
    print(f"HF pipeline:   {n / theirs:8.1f} sentences/s (batch {args.pipeline_batch})")
    print(f"speed-up: {theirs / ours:.2f}x")
    print(f"entity agreement on all {n} sentences: {_agreement(tagger, pipe, records):.3f}")
    if tagger.device.type == "cpu":
        print(f"share of matmul FLOP/s: {_flop_share(tagger, records, ours):.3f}")
    else:
        cpu = load_tagger(model, "cpu").tag(words)
        mine = [t for tags in tagger.tag(words) for t in tags]
        same = sum(a == b for a, b in zip(mine, (t for tags in cpu for t in tags)))
        print(f"tokens tagged as on the CPU: {same / len(mine):.5f}")


def _labels() -> list[str]:
    return ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI"]


def _pipeline(model: str, device, batch_size: int):
    from transformers import pipeline
    from transformers.utils import logging

    logging.set_verbosity_error()
    return pipeline("token-classification", model=model, aggregation_strategy="first",
                    device=device, batch_size=batch_size)


def _agreement(tagger, pipe, records) -> float:
    """Share of sentences whose (start, end, label) entity sets are identical."""
    ours = [r.with_tags(t).spans for r, t in zip(records, tagger.tag([r.tokens for r in records]))]
    same = 0
    for spans, found in zip(ours, pipe([r.text for r in records])):
        mine = {(s["start"], s["end"], s["label"]) for s in spans}
        theirs = {(e["start"], e["end"], e["entity_group"]) for e in found}
        same += mine == theirs
    return same / len(records)


def _flop_share(tagger, records, seconds: float) -> float:
    """Model FLOPs per second achieved, over the FLOP/s of a large float32 matmul here."""
    from nerkd.core.encoding import encode

    config = tagger.network.config
    windows = encode(tagger.tokenizer, [r.tokens for r in records])
    lengths = [len(w.input_ids) for w in windows]
    params = sum(p.numel() for n, p in tagger.network.named_parameters() if "embeddings" not in n)
    attention = sum(4 * config.num_hidden_layers * n * n * config.hidden_size for n in lengths)
    flops = 2 * params * sum(lengths) + attention
    a = torch.randn(2048, 2048)
    matmul = median_time(lambda: a @ a, 5)
    peak = 2 * 2048**3 / matmul
    return flops / seconds / peak


if __name__ == "__main__":
    main()
