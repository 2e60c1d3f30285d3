#!/usr/bin/env bash
# The demo on the shipped sample: convert the gold data, then score it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=runs/demo
mkdir -p "$out"
nerkd convert examples/sample/dev.conll -o "$out/dev.jsonl"
nerkd eval examples/sample/dev.conll "$out/dev.jsonl" --table > "$out/eval.json"
echo "report: $out/eval.json" >&2
