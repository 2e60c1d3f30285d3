#!/usr/bin/env bash
# The whole pipeline on the shipped sample, offline, on embedded defaults:
# the SmolLM2 teacher labels raw news text (silver), blend schedules silver with 600 gold
# sentences, the MiniLM student trains on the plan, then tags unseen sentences and is scored.
set -euo pipefail
cd "$(dirname "$0")/.."
sample=examples/sample
out=runs/demo
mkdir -p "$out"
say() { echo "== $*" >&2; }

say "annotate: the teacher labels $sample/news.txt"
nerkd annotate "$sample/news.txt" --examples "$sample/train.conll" --shots 3 \
    --call-log "$out/calls.sqlite" --report "$out/annotate.json" -o "$out/silver.jsonl"
say "blend: silver first, then silver + gold (simple-mix)"
nerkd blend --gold "$sample/train.conll" --silver "$out/silver.jsonl" \
    --schedule simple-mix --epochs 6 -o "$out/plan.jsonl"
say "train: the student on the plan"
nerkd train "$out/plan.jsonl" --dev "$sample/dev.conll" -o "$out/model" --force \
    > "$out/train.json"  # --force: a re-run replaces the model it wrote before
say "predict: unseen test sentences and the raw news text"
nerkd predict "$sample/test.conll" --model "$out/model" -o "$out/test.pred.jsonl"
nerkd predict "$sample/news.txt" --model "$out/model" -o "$out/news.pred.jsonl"
say "eval: predictions against gold"
nerkd eval "$sample/test.conll" "$out/test.pred.jsonl" --table > "$out/eval.json"
say "done: outputs in $out/ (model/, silver.jsonl, plan.jsonl, *.pred.jsonl, eval.json)"
