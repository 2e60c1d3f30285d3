"""The teacher ladder: reproduce.py's journals for teachers of graded quality, side by side.

Each teacher's runs live in RUNS/<dir> (made by reproduce.py; see examples/README.md for the
commands). This script only reads them: it copies each journal and teacher score into
OUT/<dir>/ and writes OUT/results.md (the answer table, then one table per teacher) and
OUT/results.png (one panel per teacher: test F1 against gold budget, a line per schedule).

    python examples/ladder.py --runs runs --out examples/results/ladder
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
from pathlib import Path

from reproduce import curves, load_runs, run_script, table

from nerkd.core.plots import panel_plot

# Teacher name -> reproduce.py output directory, weakest first.
TEACHERS = {
    "SmolLM2-135M (embedded LLM)": "ladder-smollm2",
    "spaCy en_core_web_sm": "ladder-spacy",
    "MiniLM fine-tuned on disjoint CoNLL": "ladder-strong",
}
KEPT = ("runs.jsonl", "teacher-eval.json", "teacher-test.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--out", default="examples/results/ladder")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    found = {name: Path(args.runs) / folder for name, folder in TEACHERS.items()
             if (Path(args.runs) / folder / "runs.jsonl").exists()}
    if not found:
        raise SystemExit(f"ladder.py: no ladder runs under {args.runs} (folders "
                         f"{', '.join(TEACHERS.values())}, each with runs.jsonl)")
    for folder in found.values():
        (out / folder.name).mkdir(exist_ok=True)
        for kept in KEPT:
            if (folder / kept).exists():
                shutil.copyfile(folder / kept, out / folder.name / kept)
    lines = answer(found) + [""]
    for name, folder in found.items():
        lines += [f"## {name}", "", quality(folder), "", *table(load_runs(folder)), ""]
    (out / "results.md").write_text("\n".join(lines))
    panel_plot({f"{name}\n(silver F1 {silver_f1(folder):.2f})": curves(load_runs(folder))
                for name, folder in found.items()}, out / "results.png",
               xlabel="gold budget (% of CoNLL-2003 train)", ylabel="test micro-F1",
               logx=True)
    print("\n".join(lines))


def answer(found: dict[str, Path]) -> list[str]:
    """Per teacher and budget: the best schedule with silver against gold alone on the same
    seeds (a one-seed blend is compared with the one-seed gold run)."""
    lines = ["| teacher | silver F1 | gold budget | gold only | best with silver | gain | "
             "seeds |", "|---|---|---|---|---|---|---|"]
    for name, folder in found.items():
        f1 = {(r["schedule"], r["budget"], r["seed"]): r["f1"] for r in load_runs(folder)}
        for budget in sorted({b for s, b, _ in f1 if s == "gold"}):
            blends = {}
            for schedule in {s for s, b, _ in f1 if b == budget and s != "gold"}:
                seeds = [seed for s, b, seed in f1 if (s, b) == (schedule, budget)
                         and ("gold", budget, seed) in f1]
                if seeds:
                    blends[schedule] = (mean(f1, schedule, budget, seeds),
                                        mean(f1, "gold", budget, seeds), seeds)
            if blends:
                best = max(blends, key=lambda s: blends[s][0] - blends[s][1])
                ours, gold, seeds = blends[best]
                lines.append(f"| {name} | {silver_f1(folder):.3f} | {budget:g}% | {gold:.4f} | "
                             f"{best} {ours:.4f} | {ours - gold:+.4f} | {len(seeds)} |")
    return lines


def mean(f1: dict, schedule: str, budget: float, seeds: list[int]) -> float:
    return statistics.mean(f1[schedule, budget, seed] for seed in seeds)


def silver_f1(folder: Path) -> float:
    return json.loads((folder / "teacher-eval.json").read_text())["micro"]["f1"]


def quality(folder: Path) -> str:
    """The teacher's own scores: on the silver sentences, and on test when measured."""
    micro = json.loads((folder / "teacher-eval.json").read_text())["micro"]
    text = (f"Silver vs gold on the labelled CoNLL train sentences: P {micro['precision']:.4f}, "
            f"R {micro['recall']:.4f}, F1 {micro['f1']:.4f}.")
    test = folder / "teacher-test.json"
    if test.exists():
        text += (" The teacher itself on CoNLL-2003 test: F1 "
                 f"{json.loads(test.read_text())['micro']['f1']:.4f}.")
    return text


if __name__ == "__main__":
    run_script(main)
