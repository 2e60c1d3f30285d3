"""EvoKD on CoNLL-2003 from 5 gold sentences per type: a targeted run and a random control.

Both runs use the same teacher, student, seed data, dev subset and budget (rounds x
per-round samples); the control writes its sentences without seeing the student's errors.

    python examples/evolve_demo.py --out runs/evolve            # embedded SmolLM2 teacher
    python examples/evolve_demo.py --teacher-arg=--base-url=http://host:8000/v1 \\
        --teacher-arg=--model=my-model

Writes OUT/results.md (dev F1 and pool per round, both runs) and OUT/curves.png.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from pathlib import Path

from nerkd.core.formats import read_records, write_records
from nerkd.core.plots import line_plot

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "conll2003"
TYPES = ("PER", "ORG", "LOC", "MISC")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/evolve")
    parser.add_argument("--per-type", type=int, default=5)
    parser.add_argument("--dev", type=int, default=300, help="dev sentences scored each round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30,
                        help="student epochs per round (20-100 sentences need many)")
    parser.add_argument("--teacher-arg", action="append", default=[])
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seed_file, dev_file = out / "seed.jsonl", out / "dev.jsonl"
    write_records(seed_sentences(args.per_type, args.seed), str(seed_file), "jsonl")
    dev = list(read_records(str(DATA / "dev.txt")))
    write_records(random.Random(args.seed).sample(dev, args.dev), str(dev_file), "jsonl")
    runs = {}
    for control in ("targeted", "random"):
        run = out / control
        subprocess.run(["nerkd", "evolve", "--seed-data", str(seed_file), "--dev", str(dev_file),
                        "-o", str(run), "--rounds", str(args.rounds), "--per-round",
                        str(args.per_round), "--control", control, "--seed", str(args.seed),
                        "--epochs", str(args.epochs),
                        "--exclude", str(DATA / "test.txt"), "--call-log",
                        str(out / "calls.sqlite"), *args.teacher_arg],
                       check=True, stdout=subprocess.DEVNULL)
        runs[control] = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    report(out, runs)


def seed_sentences(per_type: int, seed: int) -> list:
    """``per_type`` train sentences holding each type (seeded), 4 x per_type in all."""
    train = list(read_records(str(DATA / "train.txt")))
    random.Random(seed).shuffle(train)
    chosen: dict[int, object] = {}
    for label in TYPES:
        having = [r for r in train if id(r) not in chosen
                  and any(s["label"] == label for s in r.spans or [])]
        chosen.update((id(r), r) for r in having[:per_type])
    return list(chosen.values())


def report(out: Path, runs: dict[str, list[dict]]) -> None:
    lines = ["| round | " + " | ".join(f"{c} dev F1 | {c} pool (+accepted)" for c in runs)
             + " |", "|---" * (1 + 2 * len(runs)) + "|"]
    for number in range(max(len(m) for m in runs.values())):
        cells = []
        for metrics in runs.values():
            m = metrics[number] if number < len(metrics) else None
            cells += [f"{m['dev_f1']:.4f}", f"{m['pool']} (+{m['accepted']})"] if m else ["–"] * 2
        lines.append(f"| {number} | " + " | ".join(cells) + " |")
    lines.append("")
    for control, metrics in runs.items():
        rejected: dict[str, int] = {}
        for m in metrics:
            for reason, n in m["rejected"].items():
                rejected[reason] = rejected.get(reason, 0) + n
        tokens = sum(m["prompt_tokens"] + m["completion_tokens"] for m in metrics)
        seconds = sum(m["seconds"] for m in metrics)
        lines.append(f"- {control}: {sum(m['accepted'] for m in metrics)} samples accepted, "
                     f"rejected {rejected}; {tokens} teacher tokens; {seconds:.0f} s")
    (out / "results.md").write_text("\n".join(lines) + "\n")
    line_plot({c: [(m["round"], m["dev_f1"]) for m in ms] for c, ms in runs.items()},
              out / "curves.png", xlabel="round", ylabel="dev micro-F1 (conlleval)",
              title="EvoKD: targeted vs random synthetic data")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
