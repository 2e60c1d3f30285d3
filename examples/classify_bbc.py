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
import sys
import time
from pathlib import Path

from reproduce import nerkd, run_script

from nerkd.core.formats import read_records, write_records
from nerkd.core.plots import panel_plot

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
    score_teacher(out, test, args)
    for k in args.evolve_per_class:
        for seed in args.evolve_seeds:
            gold = gold_file(out, pool, k, seed, args)
            for control in ("targeted", "random"):
                key = f"evolve-{control}|k{k}|{seed}"
                if key not in done:
                    result = evolve(out, control, gold, dev, test, pool, k, seed, args)
                    log(journal, {"key": key, "part": "evolve", "control": control,
                                  "k": k, "seed": seed, **result})
    for k in args.per_class:
        for seed in args.seeds:
            gold = gold_file(out, pool, k, seed, args)
            for name in args.schedules:
                key = f"{name}|k{k}|{seed}"
                if key in done or (name == "silver" and k != args.per_class[0]):
                    continue
                result = student(out, name, gold, silver, test, seed, args)
                log(journal, {"key": key, "part": "distil", "schedule": name, "k": k,
                              "seed": seed, **result})
    report(out, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/bbc")
    parser.add_argument("--test", type=int, default=500, help="held-out articles scored")
    parser.add_argument("--dev", type=int, default=100, help="articles evolve aims at")
    parser.add_argument("--silver", type=int, default=300, help="articles the teacher labels")
    parser.add_argument("--per-class", default="1,5,25", help="gold articles per class")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--schedules", default="gold,silver,concat,simple-mix")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--max-length", default="128",
                        help="subwords read from the start of each article (title and lead)")
    parser.add_argument("--evolve-per-class", default="1,3,5",
                        help="part 2: gold articles per class to start from, e.g. 1,3,5")
    parser.add_argument("--evolve-seeds", default="0")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-round", type=int, default=10)
    parser.add_argument("--evolve-epochs", type=int, default=10,
                        help="student epochs per round (5-65 articles need many)")
    parser.add_argument("--evolve-pool", type=int, default=300,
                        help="unlabelled articles evolve picks from (each round embeds them)")
    parser.add_argument("--teacher-arg", action="append", default=[],
                        help="passed to annotate/evolve (default: --teacher embed)")
    args = parser.parse_args()
    args.per_class = [int(k) for k in args.per_class.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.evolve_per_class = [int(k) for k in args.evolve_per_class.split(",") if k]
    args.evolve_seeds = [int(s) for s in args.evolve_seeds.split(",")]
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
    if not silver.exists():  # written only once the teacher answered all it could
        raw = unlabelled(out / "silver-input.jsonl", articles)
        partial = out / "silver-annotated.jsonl"  # a budget stop (exit 3) leaves part of it
        nerkd("annotate", str(raw), "--task", "classify", "--labels", str(CLASSES),
              "--call-log", str(out / "calls.sqlite"), "-o", str(partial),
              "--report", str(out / "annotate.json"), *args.teacher_arg)
        gold = write(out / "silver-gold.jsonl", articles)
        quality = nerkd("eval", str(gold), str(partial), "--by-id", capture=True)
        (out / "teacher-eval.json").write_text(quality)
        partial.rename(silver)
    return silver


def score_teacher(out: Path, test: Path, args: argparse.Namespace) -> None:
    """The teacher's own accuracy on the held-out articles: does the student pass it?"""
    if (out / "teacher-test.json").exists():
        return
    raw = unlabelled(out / "test-input.jsonl", list(read_records(str(test))))
    nerkd("annotate", str(raw), "--task", "classify", "--labels", str(CLASSES), "--call-log",
          str(out / "calls.sqlite"), "-o", str(out / "teacher-test.jsonl"), *args.teacher_arg)
    report = nerkd("eval", str(test), str(out / "teacher-test.jsonl"), "--by-id", capture=True)
    (out / "teacher-test.json").write_text(report)


def student(out: Path, name: str, gold: Path, silver: Path, test: Path, seed: int,
            args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    work = out / "work"
    work.mkdir(exist_ok=True)
    nerkd("blend", "--gold", str(gold), "--silver", str(silver), *SCHEDULES[name],
          "--epochs", str(args.epochs), "--seed", str(seed), "-o", str(work / "plan.jsonl"))
    nerkd("train", str(work / "plan.jsonl"), "--seed", str(seed), "--labels", str(CLASSES),
          "--max-length", args.max_length, "-o", str(work / "model"), "--force", capture=True)
    return {**score(work / "model", test, work), "seconds": time.perf_counter() - started}


def evolve(out: Path, control: str, gold: Path, dev: Path, test: Path, pool: list, k: int,
           seed: int, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    run = out / f"evolve-k{k}-s{seed}" / control
    candidates = unlabelled(out / "evolve-pool.jsonl", pool[-args.evolve_pool:])
    nerkd("evolve", "--task", "classify", "--seed-data", str(gold), "--dev", str(dev),
          "--test", str(test), "--pool", str(candidates), "--labels", str(CLASSES),
          "-o", str(run), "--rounds", str(args.rounds), "--per-round", str(args.per_round),
          "--control", control, "--seed", str(seed), "--epochs", str(args.evolve_epochs),
          "--max-length", args.max_length,
          "--call-log", str(out / "calls.sqlite"), *args.teacher_arg, capture=True)
    rounds = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    return {"accuracy": rounds[-1]["test_f1"], "curve": [r["test_f1"] for r in rounds],
            "dev_curve": [r["dev_f1"] for r in rounds],
            "seconds": time.perf_counter() - started}


def score(model: Path, test: Path, work: Path) -> dict:
    nerkd("predict", str(test), "--model", str(model), "-o", str(work / "pred.jsonl"))
    report = json.loads(nerkd("eval", str(test), str(work / "pred.jsonl"), capture=True))
    return {"accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"]}


def gold_file(out: Path, pool: list, k: int, seed: int, args: argparse.Namespace) -> Path:
    """k articles per class, drawn from neither the silver input nor evolve's pool."""
    labelled = pool[args.silver: len(pool) - args.evolve_pool]
    return write(out / f"gold-k{k}-s{seed}.jsonl", per_class(labelled, k, seed))


def report(out: Path, args: argparse.Namespace) -> None:
    runs = [json.loads(line) for line in (out / "runs.jsonl").open()]
    lines = ["| schedule | " + " | ".join(f"{k} per class" for k in args.per_class) + " |",
             "|---" * (len(args.per_class) + 1) + "|"]
    for name in args.schedules:
        cells = []
        for k in args.per_class:
            found = [r for r in runs if r.get("schedule") == name
                     and (r["k"] == k or name == "silver")]
            cells.append(cell([r["accuracy"] for r in found], [r["macro_f1"] for r in found]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Accuracy (macro F1), mean ± sd over seeds (n runs), on "
              f"{args.test} held-out articles."]
    lines += evolve_report(out, [r for r in runs if r["part"] == "evolve"])
    for name, what in (("teacher-eval.json", f"its {args.silver} silver articles"),
                       ("teacher-test.json", f"the {args.test} test articles")):
        if (out / name).exists():
            quality = json.loads((out / name).read_text())
            lines += ["", f"Teacher on {what}: accuracy {quality['accuracy']:.4f}, macro F1 "
                      f"{quality['macro']['f1']:.4f}."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def cell(accuracy: list, macro: list) -> str:
    if not accuracy:
        return "–"
    spread = f" ± {statistics.stdev(accuracy):.3f}" if len(accuracy) > 1 else ""
    mean = statistics.mean
    return f"{mean(accuracy):.3f}{spread} ({mean(macro):.3f}, n={len(accuracy)})"


def evolve_report(out: Path, curves: list) -> list[str]:
    """Mean test (dev) accuracy per round for each k and control, and one panel per k."""
    if not curves:
        return []
    rounds = len(curves[0]["curve"])
    lines = ["", "| EvoKD (select) | gold per class | seeds | "
             + " | ".join(f"round {n}" for n in range(rounds)) + " |",
             "|---" * (rounds + 3) + "|"]
    panels: dict[str, dict] = {}
    for k in sorted({r["k"] for r in curves}):
        for control in ("targeted", "random"):
            found = [r for r in curves if r["k"] == k and r["control"] == control]
            if not found:
                continue
            test = [statistics.mean(r["curve"][n] for r in found) for n in range(rounds)]
            dev = [statistics.mean(r["dev_curve"][n] for r in found) for n in range(rounds)]
            lines.append(f"| {control} | {k} | {len(found)} | " + " | ".join(
                f"{t:.3f} ({d:.3f})" for t, d in zip(test, dev)) + " |")
            seeds = f"{len(found)} seed{'s' * (len(found) > 1)}"
            panel = panels.setdefault(f"{k} per class ({seeds})", {})
            panel[f"{control} (test)"] = list(enumerate(test))
            panel[f"{control} (dev)"] = list(enumerate(dev))
    panel_plot(panels, out / "evolve.png", xlabel="round", ylabel="accuracy")
    return lines + ["", "Test accuracy (dev accuracy, the set targeting aims at), mean over "
                    "seeds; each round the teacher labels the same number of pool articles."]


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


if __name__ == "__main__":
    run_script(main)
