"""predict memory: peak RSS of `nerkd predict` on 10k and on 100k sentences (the same
sentences cycled), in child processes. Streaming should keep it flat.

    python bench/predict_memory.py [--model DIR] [--small 10000] [--large 100000]

Speed does not matter here, so by default a tiny random model keeps the run short; the
memory behaviour under test is the streaming, which is the same for any model.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, conll


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    model = args.model or _tiny_model(work)
    sentences = [r.text for r in conll("test") if r.tokens]
    results = {n: _peak_rss(model, sentences, n, work) for n in (args.small, args.large)}
    for n, rss in results.items():
        print(f"{n:>7} sentences: peak RSS {rss / 1024:.0f} MiB")
    print(f"ratio large/small: {results[args.large] / results[args.small]:.3f}")


def _tiny_model(work: Path) -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    from nerkd.core.student import load_for_training, load_tokenizer
    from tiny import build_tiny_bert

    base = str(build_tiny_bert(work / "base"))
    labels = ["O"] + [f"{p}-{t}" for t in ("LOC", "MISC", "ORG", "PER") for p in "BI"]
    load_for_training(base, labels).save_pretrained(work / "model")
    load_tokenizer(base).save_pretrained(work / "model")
    return str(work / "model")


def _peak_rss(model: str, sentences: list[str], n: int, work: Path) -> int:
    """Peak RSS in KiB of one `nerkd predict` run over ``n`` sentences (a fresh process)."""
    path = work / f"in-{n}.txt"
    path.write_text("\n".join(itertools.islice(itertools.cycle(sentences), n)) + "\n")
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    command = [sys.executable, "-c", code, sys.executable, "-m", "nerkd", "predict", str(path),
               "--model", model, "--from", "text"]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


if __name__ == "__main__":
    main()
