"""predict vs transformers.pipeline("token-classification"): sentences/s on the same model
and sentences, agreement of their entities, and the share of measured matmul FLOP/s used.

    python bench/predict_speed.py [--model DIR] [--sentences 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from common import conll, median_time, untrained_model

from nerkd.core.predict import load_tagger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    records = [r for r in conll("test", args.sentences) if r.tokens]
    model = args.model or str(untrained_model(Path(tempfile.mkdtemp()), _labels()))
    tagger = load_tagger(model)
    ours = median_time(lambda: tagger.tag([r.tokens for r in records]), args.repeats)
    pipe = _pipeline(model)
    texts = [r.text for r in records]
    theirs = median_time(lambda: list(pipe(texts)), args.repeats)
    n = len(records)
    print(f"sentences: {n}, threads: {torch.get_num_threads()}, repeats: {args.repeats} (medians)")
    print(f"nerkd predict: {n / ours:8.1f} sentences/s")
    print(f"HF pipeline:   {n / theirs:8.1f} sentences/s")
    print(f"speed-up: {theirs / ours:.2f}x")
    print(f"entity agreement on all {n} sentences: {_agreement(tagger, pipe, records):.3f}")
    print(f"share of matmul FLOP/s: {_flop_share(tagger, records, ours):.3f}")


def _labels() -> list[str]:
    return ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI"]


def _pipeline(model: str):
    from transformers import pipeline
    from transformers.utils import logging

    logging.set_verbosity_error()
    return pipeline("token-classification", model=model, aggregation_strategy="first",
                    device="cpu")


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
