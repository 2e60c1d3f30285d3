#!/usr/bin/env bash
# The demo on the shipped sample, offline: train the embedded student on gold sentences,
# tag unseen sentences and raw news text, and score the tags against gold.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/demo
mkdir -p "$out"
nerkd train examples/sample/train.conll --dev examples/sample/dev.conll --epochs 3 \
    --batch-size 16 --lr 1e-4 -o "$out/model" > "$out/train.json"
nerkd predict examples/sample/test.conll --model "$out/model" > "$out/test.pred.jsonl"
nerkd predict examples/sample/news.txt --model "$out/model" -o "$out/news.pred.jsonl"
nerkd eval examples/sample/test.conll "$out/test.pred.jsonl" --table > "$out/eval.json"
echo "model: $out/model  predictions: $out/*.pred.jsonl  report: $out/eval.json" >&2
