"""Text classification on BBC News topics (5 classes), EvoKD's other task, offline.

Part 1, distillation: a teacher labels unlabelled articles (silver); students train on gold
alone (k articles per class), silver alone, and blends, and are scored on held-out articles.
Part 2, EvoKD: from k gold articles per class, `nerkd evolve --task classify --pool` has the
teacher label 10 pool articles a round, picked nearest to the student's dev errors or at
random (the control), scored each round on the held-out articles.

    python examples/classify_bbc.py --out runs/bbc                  # zero-shot MiniLM teacher
    python examples/classify_bbc.py --out runs/bbc-llm --teacher-arg=--base-url=http://...

The default teacher is the embedded MiniLM reading zero-shot (`--teacher embed`, class
definitions in examples/bbc-classes.txt). Finished runs are journalled in OUT/runs.jsonl;
OUT/results.md holds both tables.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from nerkd.core.formats import read_records, write_records

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bbc" / "bbc.jsonl"
CLASSES = Path(__file__).resolve().parent / "bbc-classes.txt"
SCHEDULES = {"gold": ["--schedule", "gold"], "silver": ["--schedule", "silver"],
             "concat": ["--schedule", "concat"], "sequential": ["--schedule", "sequential"],
             "simple-mix": ["--schedule", "simple-mix"]}


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    test, dev, pool = split(out, args)
    journal = out / "runs.jsonl"
    done = {json.loads(line)["key"] for line in journal.open()} if journal.exists() else set()
    silver = make_silver(out, pool[: args.silver], args)
    for k in args.per_class:
        for seed in args.seeds:
            gold = write(out / f"gold-k{k}-s{seed}.jsonl", per_class(pool[args.silver:], k, seed))
            for name in args.schedules:
                key = f"{name}|k{k}|{seed}"
                if key in done or (name == "silver" and k != args.per_class[0]):
                    continue
                result = student(out, name, gold, silver, test, seed, args)
                log(journal, {"key": key, "part": "distil", "schedule": name, "k": k,
                              "seed": seed, **result})
            if args.evolve:
                for control in ("targeted", "random"):
                    key = f"evolve-{control}|k{k}|{seed}"
                    if key not in done:
                        result = evolve(out, control, gold, dev, test, pool, k, seed, args)
                        log(journal, {"key": key, "part": "evolve", "control": control,
                                      "k": k, "seed": seed, **result})
    report(out, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/bbc")
    parser.add_argument("--test", type=int, default=500, help="held-out articles scored")
    parser.add_argument("--dev", type=int, default=100, help="articles evolve aims at")
    parser.add_argument("--silver", type=int, default=500, help="articles the teacher labels")
    parser.add_argument("--per-class", default="1,5,25", help="gold articles per class")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--schedules", default=",".join(SCHEDULES))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--evolve", action="store_true", help="also run part 2")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--evolve-pool", type=int, default=500,
                        help="unlabelled articles evolve picks from (each round embeds them)")
    parser.add_argument("--teacher-arg", action="append", default=[],
                        help="passed to annotate/evolve (default: --teacher embed)")
    args = parser.parse_args()
    args.per_class = [int(k) for k in args.per_class.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.schedules = args.schedules.split(",")
    args.teacher_arg = args.teacher_arg or ["--teacher", "embed"]
    return args


def split(out: Path, args: argparse.Namespace) -> tuple[Path, Path, list]:
    """Held-out test and dev articles (files), and the rest as the pool (a seeded order)."""
    labelled = out / "bbc.jsonl"
    if not labelled.exists():
        nerkd("convert", str(DATA), "--label-field", "topic", "-o", str(labelled))
    records = list(read_records(str(labelled)))
    random.Random(1234).shuffle(records)
    test = write(out / "test.jsonl", records[: args.test])
    dev = write(out / "dev.jsonl", records[args.test: args.test + args.dev])
    return test, dev, records[args.test + args.dev:]


def per_class(records: list, k: int, seed: int) -> list:
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    by_class: dict[str, list] = {}
    for record in shuffled:
        by_class.setdefault(record.label, []).append(record)
    return [r for rows in by_class.values() for r in rows[:k]]


def make_silver(out: Path, articles: list, args: argparse.Namespace) -> Path:
    silver = out / "silver.jsonl"
    if not silver.exists():
        raw = unlabelled(out / "silver-input.jsonl", articles)
        nerkd("annotate", str(raw), "--task", "classify", "--labels", str(CLASSES),
              "--call-log", str(out / "calls.sqlite"), "-o", str(silver),
              "--report", str(out / "annotate.json"), *args.teacher_arg)
        gold = write(out / "silver-gold.jsonl", articles)
        quality = nerkd("eval", str(gold), str(silver), "--by-id", capture=True)
        (out / "teacher-eval.json").write_text(quality)
    return silver


def student(out: Path, name: str, gold: Path, silver: Path, test: Path, seed: int,
            args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    work = out / "work"
    work.mkdir(exist_ok=True)
    nerkd("blend", "--gold", str(gold), "--silver", str(silver), *SCHEDULES[name],
          "--epochs", str(args.epochs), "--seed", str(seed), "-o", str(work / "plan.jsonl"))
    nerkd("train", str(work / "plan.jsonl"), "--seed", str(seed), "--labels", str(CLASSES),
          "-o", str(work / "model"), "--force", capture=True)
    return {**score(work / "model", test, work), "seconds": time.perf_counter() - started}


def evolve(out: Path, control: str, gold: Path, dev: Path, test: Path, pool: list, k: int,
           seed: int, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    run = out / f"evolve-k{k}-s{seed}" / control
    candidates = unlabelled(out / "evolve-pool.jsonl", pool[-args.evolve_pool:])
    nerkd("evolve", "--task", "classify", "--seed-data", str(gold), "--dev", str(dev),
          "--test", str(test), "--pool", str(candidates), "--labels", str(CLASSES),
          "-o", str(run), "--rounds", str(args.rounds), "--per-round", str(args.per_round),
          "--control", control, "--seed", str(seed), "--epochs", "20",
          "--call-log", str(out / "calls.sqlite"), *args.teacher_arg, capture=True)
    rounds = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    return {"accuracy": rounds[-1]["test_f1"], "curve": [r["test_f1"] for r in rounds],
            "seconds": time.perf_counter() - started}


def score(model: Path, test: Path, work: Path) -> dict:
    nerkd("predict", str(test), "--model", str(model), "-o", str(work / "pred.jsonl"))
    report = json.loads(nerkd("eval", str(test), str(work / "pred.jsonl"), capture=True))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"]}


def report(out: Path, args: argparse.Namespace) -> None:
    runs = [json.loads(line) for line in (out / "runs.jsonl").open()]
    lines = ["| schedule | " + " | ".join(f"{k} per class" for k in args.per_class) + " |",
             "|---" * (len(args.per_class) + 1) + "|"]
    for name in SCHEDULES:
        cells = []
        for k in args.per_class:
            values = [r["accuracy"] for r in runs if r.get("schedule") == name
                      and (r["k"] == k or name == "silver")]
            cells.append(f"{statistics.mean(values):.4f} (n={len(values)})" if values else "–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    curves = [r for r in runs if r["part"] == "evolve"]
    if curves:
        lines += ["", "| EvoKD (select) | k | seed | test accuracy per round |",
                  "|---|---|---|---|"]
        lines += [f"| {r['control']} | {r['k']} | {r['seed']} | "
                  + " ".join(f"{v:.3f}" for v in r["curve"]) + " |" for r in curves]
    teacher = out / "teacher-eval.json"
    if teacher.exists():
        quality = json.loads(teacher.read_text())
        lines += ["", f"Teacher on its {args.silver} silver articles: accuracy "
                  f"{quality['accuracy']:.4f}, macro F1 {quality['macro']['f1']:.4f}."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def write(path: Path, records: list) -> Path:
    write_records(records, str(path), "jsonl")
    return path


def unlabelled(path: Path, records: list) -> Path:
    """The records' ids and texts only: what a teacher is given."""
    path.write_text("".join(json.dumps({"id": r.id, "text": r.text}) + "\n" for r in records))
    return path


def log(journal: Path, entry: dict) -> None:
    with journal.open("a") as handle:
        handle.write(json.dumps(entry) + "\n")
    print(f"{entry['key']}: accuracy {entry['accuracy']:.4f} ({entry['seconds']:.0f}s)",
          file=sys.stderr)


def nerkd(*argv: str, capture: bool = False) -> str:
    done = subprocess.run(["nerkd", *argv], check=True, text=True,
                          stdout=subprocess.PIPE if capture else None)
    return done.stdout or ""


if __name__ == "__main__":
    main()
