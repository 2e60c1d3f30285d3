"""Train the strong rung of the teacher ladder: a student on CoNLL-2003 train sentences that
no gold pool and no silver input of `reproduce.py` contains.

The pools are re-drawn exactly as reproduce.py draws them (same seeds, same sizes), and every
sentence whose words equal one of theirs is left out, so the teacher has never seen a sentence
it labels nor one the students are given gold for. Only the 100% budget cannot be disjoint:
it is all of train.

    python examples/strong_teacher.py --out runs/teacher-strong
    python examples/reproduce.py --out runs/ladder-strong \\
        --teacher-arg=--teacher=hf --teacher-arg=--model=runs/teacher-strong/model

Writes OUT/train.jsonl (the teacher's sentences), OUT/model and OUT/split.json (counts).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from reproduce import DATA, nerkd, run_script, subset

from nerkd.core.formats import read_records, write_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/teacher-strong")
    parser.add_argument("--pools", default="1:3,5:3,25:1",
                        help="gold budgets (%%) to keep out, each with its number of seeds")
    parser.add_argument("--silver-conll", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = list(read_records(str(DATA / "conll2003" / "train.txt")))
    pools = {float(b): int(n) for b, n in (item.split(":") for item in args.pools.split(","))}
    held = held_out(train, pools, args.silver_conll)
    kept = [record for record in train if tuple(record.tokens) not in held]
    write_records(kept, str(out / "train.jsonl"), "jsonl")
    split = {"train": len(train), "held_out_texts": len(held), "teacher": len(kept),
             "pools": args.pools, "silver_conll": args.silver_conll}
    (out / "split.json").write_text(json.dumps(split, indent=1) + "\n")
    nerkd("train", str(out / "train.jsonl"), "--dev", str(DATA / "conll2003" / "dev.txt"),
          "--epochs", str(args.epochs), "--seed", "0", "-o", str(out / "model"), "--force")


def held_out(train: list, pools: dict[float, int], silver: int) -> set:
    """Word sequences of every gold pool (seeds 0..n-1) and of the silver input, drawn as
    reproduce.py draws them."""
    drawn = [subset(train, silver, 1234)]
    drawn += [subset(train, round(len(train) * budget / 100), seed)
              for budget, seeds in pools.items() for seed in range(seeds)]
    return {tuple(record.tokens) for pool in drawn for record in pool}


if __name__ == "__main__":
    run_script(main)
