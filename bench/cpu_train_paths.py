"""nerkd train's CPU paths (quick dropout masks, the word embeddings' gradient in a kept
buffer) vs PyTorch's stock ones, in one process: the same data and settings, the two ways
alternated, round r training with seed 42 + r; training-loop seconds and dev F1 (medians over the
rounds: one seed's F1 says little after one short epoch).

    python bench/cpu_train_paths.py [--train 2000] [--dev 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from common import conll

from nerkd.core import cpu_training
from nerkd.core.evaluate import evaluate
from nerkd.core.predict import load_tagger
from nerkd.core.student import default_student_dir
from nerkd.core.train import EpochEnd, TrainConfig, train

SHIPPED = cpu_training.speed_up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--dev", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    records = [r for r in conll("train", args.train) if r.tokens]
    dev = [r for r in conll("dev", args.dev) if r.tokens]
    ways = {"stock": lambda network, distributed: None, "nerkd": SHIPPED}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    scores: dict[str, list[float]] = {name: [] for name in ways}
    for seed in range(42, 42 + args.rounds):  # 42: train's default
        for name, paths in ways.items():
            cpu_training.speed_up = paths  # what train() calls on a CPU
            loop, f1 = _train_once(records, dev, seed)
            seconds[name].append(loop)
            scores[name].append(f1)
            print(f"seed {seed} {name:6} {len(records) / loop:6.1f} sentences/s  dev F1 {f1:.4f}",
                  flush=True)
    cpu_training.speed_up = SHIPPED
    stock, ours = (statistics.median(seconds[n]) for n in ("stock", "nerkd"))
    print(f"medians: stock {len(records) / stock:.1f}, nerkd {len(records) / ours:.1f} "
          f"sentences/s: {stock / ours:.2f}x; dev F1 stock {statistics.median(scores['stock']):.4f}"
          f", nerkd {statistics.median(scores['nerkd']):.4f}")


def _train_once(records, dev, seed: int) -> tuple[float, float]:
    config = TrainConfig(model=str(default_student_dir()), epochs=1, batch_size=16, lr=1e-4,
                         seed=seed)
    events = list(train(records, config, Path(tempfile.mkdtemp()) / "m"))
    loop = sum(e.seconds for e in events if isinstance(e, EpochEnd))
    tagger = load_tagger(events[-1].output)
    f1 = evaluate([r.tags for r in dev], tagger.tag([r.tokens for r in dev]))["micro"]["f1"]
    return loop, f1


if __name__ == "__main__":
    main()
