"""Reproduce the three phases of Huang, Tang & Chen (2024) with any teacher.

Phase 1: teacher silver vs gold (nerkd eval), and students on gold only, silver only and
gold+silver (concat). Phase 2: the sequential and simple-mix regimens against concat.
Phase 3: sigmoid and power-decay blending with a small parameter grid. Each student is
trained at several gold budgets (a seeded share of CoNLL-2003 train) and seeds, and scored
on CoNLL-2003 test (conlleval mode). Every step is a plain `nerkd` command; finished runs
are journalled in OUT/runs.jsonl, so a killed experiment resumes where it stopped, and
the teacher's answers are cached in OUT/calls.sqlite.

    python examples/reproduce.py --out runs/reproduce               # embedded SmolLM2
    python examples/reproduce.py --teacher-arg=--base-url=http://host:8000/v1 \\
        --teacher-arg=--model=my-model                              # a served model

Writes OUT/results.md (table, mean ± sd over seeds) and OUT/results.png (F1 vs gold
budget, one line per schedule).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from nerkd.core.errors import NerkdError
from nerkd.core.formats import read_records, write_records
from nerkd.core.plots import line_plot

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Schedule name -> extra `nerkd blend` arguments. Phase 1, 2 and 3 in order.
SCHEDULES: dict[str, list[str]] = {
    "gold": ["--schedule", "gold"],
    "silver": ["--schedule", "silver"],
    "concat": ["--schedule", "concat"],
    "sequential": ["--schedule", "sequential"],
    "simple-mix": ["--schedule", "simple-mix"],
    "sigmoid k=5": ["--schedule", "sigmoid", "--steepness", "5"],
    "sigmoid k=10": ["--schedule", "sigmoid", "--steepness", "10"],
    "power-decay p=0.5": ["--schedule", "power-decay", "--power", "0.5"],
    "power-decay p=2": ["--schedule", "power-decay", "--power", "2"],
}
# What the stored copies of the paper state (abstract and summaries only: its F1 tables were
# not recoverable, so no numbers; see examples/README.md).
PAPER = {
    "gold": "the baseline",
    "sequential": "above gold (\"sequential strategies ... significantly boost performance\")",
    "simple-mix": "best of all regimens",
    "sigmoid k=10": "explored in phase 3; no ranking stated",
    "power-decay p=2": "explored in phase 3; no ranking stated",
}


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    silver = make_silver(args, out)
    journal = out / "runs.jsonl"
    done = {json.loads(line)["key"] for line in journal.open()} if journal.exists() else set()
    train = list(read_records(str(DATA / "conll2003" / "train.txt")))
    for budget in args.budgets:
        for seed in args.seeds[: args.seeds_at.get(budget, len(args.seeds))]:
            gold = out / f"gold-{budget:g}-{seed}.jsonl"
            if not gold.exists():
                write_records(subset(train, round(len(train) * budget / 100), seed),
                              str(gold), "jsonl")
            for name in args.schedules:
                key = f"{name}|{budget:g}|{seed}"
                if key in done or (name == "silver" and budget != args.budgets[0]):
                    continue  # silver-only ignores the gold budget: run it once
                result = run_student(args, out, name, gold, silver, seed)
                entry = {"key": key, "schedule": name, "budget": budget, "seed": seed, **result}
                with journal.open("a") as handle:
                    handle.write(json.dumps(entry) + "\n")
                print(f"{key}: test F1 {result['f1']:.4f} ({result['seconds']:.0f}s)",
                      file=sys.stderr)
    report(out, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--silver-conll", type=int, default=1000,
                        help="CoNLL-2003 train sentences the teacher labels (paper: 1,000)")
    parser.add_argument("--silver-bbc", type=int, default=100,
                        help="BBC articles whose first paragraph the teacher labels")
    parser.add_argument("--budgets", default="1,5,25,100",
                        help="gold budgets, percent of CoNLL-2003 train")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--seeds-at", default="",
                        help="fewer seeds at some budgets, e.g. 25:1,100:1")
    parser.add_argument("--schedules", default=",".join(SCHEDULES))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--shots", type=int, default=3)
    parser.add_argument("--teacher-arg", action="append", default=[],
                        help="passed to `nerkd annotate` (repeat), e.g. --teacher-arg=--cot")
    args = parser.parse_args()
    args.budgets = [float(b) for b in args.budgets.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.seeds_at = {float(b): int(n) for b, n in
                     (item.split(":") for item in args.seeds_at.split(",") if item)}
    args.schedules = args.schedules.split(",")
    unknown = set(args.schedules) - set(SCHEDULES)
    if unknown:
        parser.error(f"unknown schedules {sorted(unknown)}; known: {list(SCHEDULES)}")
    return args


def subset(records, n: int, seed: int) -> list:
    records = list(records)
    return random.Random(seed).sample(records, min(n, len(records)))


def make_silver(args: argparse.Namespace, out: Path) -> Path:
    """Teacher labels for a CoNLL subset (scored against its gold) and BBC paragraphs."""
    silver = out / "silver.jsonl"
    if silver.exists():
        return silver
    train = read_records(str(DATA / "conll2003" / "train.txt"))
    conll_gold = out / "silver-input-conll.jsonl"
    write_records(subset(train, args.silver_conll, 1234), str(conll_gold), "jsonl")
    bbc_text = out / "silver-input-bbc.txt"
    with (DATA / "bbc" / "bbc.jsonl").open() as articles:
        paragraphs = [json.loads(line)["text"].split("\n")[0] for line in articles]
    bbc_text.write_text("\n".join(subset(paragraphs, args.silver_bbc, 1234)) + "\n")
    annotate = ["annotate", "--examples", str(DATA / "conll2003" / "dev.txt"),
                "--shots", str(args.shots), "--call-log", str(out / "calls.sqlite"),
                *args.teacher_arg]
    # Asked on every run until silver.jsonl is written: a run stopped by a budget (exit 3)
    # leaves part of a file, and the call log makes the rerun pay only for the rest.
    for name, source in (("conll", conll_gold), ("bbc", bbc_text)):
        nerkd(*annotate, str(source), "-o", str(out / f"silver-{name}.jsonl"),
              "--report", str(out / f"annotate-{name}.json"))
    # --by-id: sentences the teacher could not answer are left out of its output.
    quality = nerkd("eval", str(conll_gold), str(out / "silver-conll.jsonl"), "--by-id",
                    capture=True)
    (out / "teacher-eval.json").write_text(quality)
    joined = [*read_records(str(out / "silver-conll.jsonl")),
              *read_records(str(out / "silver-bbc.jsonl"))]
    write_records(joined, str(silver), "jsonl")
    return silver


def run_student(args: argparse.Namespace, out: Path, name: str, gold: Path, silver: Path,
                seed: int) -> dict:
    started = time.perf_counter()
    work = out / "work"
    work.mkdir(exist_ok=True)
    plan, model, pred = work / "plan.jsonl", work / "model", work / "pred.jsonl"
    nerkd("blend", "--gold", str(gold), "--silver", str(silver), *SCHEDULES[name],
          "--epochs", str(args.epochs), "--seed", str(seed), "-o", str(plan))
    # No --dev: a schedule's last epoch is its result (a best-dev pick could stop a
    # sequential run in its silver half). --labels: a weak teacher may never use a type.
    # --force: every run trains into the same work/model, replacing the previous run's.
    nerkd("train", str(plan), "--seed", str(seed), "--labels", "PER,ORG,LOC,MISC",
          "-o", str(model), "--force", capture=True)
    nerkd("predict", str(DATA / "conll2003" / "test.txt"), "--model", str(model),
          "-o", str(pred))
    scores = json.loads(nerkd("eval", str(DATA / "conll2003" / "test.txt"), str(pred),
                              capture=True))
    return {"f1": scores["micro"]["f1"], "seconds": time.perf_counter() - started,
            "per_type": {k: v["f1"] for k, v in scores["per_type"].items()}}


def nerkd(*argv: str, capture: bool = False) -> str:
    done = subprocess.run(["nerkd", *argv], check=True, text=True,
                          stdout=subprocess.PIPE if capture else None)
    return done.stdout or ""


def run_script(main: Callable[[], None]) -> None:
    """An example's ``main``, with what stops it said in one line and exit 1: missing
    shared data, a nerkd error, or a ``nerkd`` step that failed (its message is above)."""
    name = Path(sys.argv[0]).name
    try:
        main()
    except NerkdError as error:
        sys.exit(f"{name}: {error}")
    except OSError as error:  # e.g. the shared data is not beside the clone
        sys.exit(f"{name}: {error.filename or ''}: {error.strerror or error}")
    except subprocess.CalledProcessError as error:
        sys.exit(f"{name}: stopped: '{' '.join(map(str, error.cmd[:2]))} ...' exited "
                 f"{error.returncode} (its message is above)")


def report(out: Path, args: argparse.Namespace) -> None:
    """results.md: test F1 mean ± sd per schedule and budget; results.png: the same, drawn."""
    runs = load_runs(out)
    lines = table(runs)
    teacher = out / "teacher-eval.json"
    if teacher.exists():
        micro = json.loads(teacher.read_text())["micro"]
        lines += ["", f"Teacher silver vs gold on the {args.silver_conll} annotated CoNLL "
                  f"sentences: P {micro['precision']:.4f}, R {micro['recall']:.4f}, "
                  f"F1 {micro['f1']:.4f}."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    line_plot(curves(runs), out / "results.png", xlabel="gold budget (% of CoNLL-2003 train)",
              ylabel="test micro-F1 (conlleval)", title="student F1 by schedule", logx=True)
    print("\n".join(lines))


def load_runs(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "runs.jsonl").open()]


def by_schedule(runs: list[dict]) -> dict[str, dict[float, list[float]]]:
    scores: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in runs:
        scores[run["schedule"]][run["budget"]].append(run["f1"])
    return scores


def table(runs: list[dict]) -> list[str]:
    """Markdown: a row per schedule, a column per gold budget, mean ± sd over seeds."""
    scores = by_schedule(runs)
    budgets = sorted({run["budget"] for run in runs if run["schedule"] != "silver"})
    lines = ["| schedule | " + " | ".join(f"gold {b:g}%" for b in budgets) + " | paper |",
             "|---" * (len(budgets) + 2) + "|"]
    for name in (s for s in SCHEDULES if s in scores):
        if name == "silver":  # no gold at all: one score, whatever the budget
            cells = [cell([v for vs in scores[name].values() for v in vs])] * len(budgets)
        else:
            cells = [cell(scores[name].get(b, [])) for b in budgets]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {PAPER.get(name, '')} |")
    return lines


def curves(runs: list[dict]) -> dict[str, list[tuple[float, float]]]:
    """Mean test F1 against gold budget, per schedule (silver-only has no budget: left out)."""
    scores = by_schedule(runs)
    return {name: [(b, statistics.mean(v)) for b, v in sorted(scores[name].items())]
            for name in SCHEDULES if name in scores and name != "silver"}


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.4f} (n=1)"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


if __name__ == "__main__":
    run_script(main)
