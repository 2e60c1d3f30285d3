#!/usr/bin/env bash
# The embedded teacher (SmolLM2-135M-Instruct via llama-cpp-python) on the first N CoNLL-2003
# dev sentences with 3 few-shot examples from train: sentences/s and entity F1 against gold.
# Further arguments go to `nerkd annotate` (they win over the defaults): --cot, --shots 0 ...
#   bash bench/teacher_quality.sh [N [ANNOTATE-OPTIONS...]]
set -euo pipefail
n=${1:-200}
if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash bench/teacher_quality.sh [N [ANNOTATE-OPTIONS...]]  (N sentences, default 200)" >&2
    exit 2
fi
shift || true
work=$(mktemp -d)
data=../shared/data/conll2003
python - "$n" "$work" "$data" <<'PY'
import itertools, sys
from nerkd.core.formats import read_records, write_records
n, work, data = int(sys.argv[1]), sys.argv[2], sys.argv[3]
write_records(itertools.islice(read_records(f"{data}/dev.txt"), n), f"{work}/gold.conll", "conll")
PY
start=$(date +%s.%N)
nerkd annotate "$work/gold.conll" --examples "$data/train.txt" --shots 3 \
    --call-log "$work/calls.sqlite" --report "$work/report.json" --min-annotated 0 "$@" \
    > "$work/silver.jsonl"  # a small teacher fails many: scored, not a failed run
end=$(date +%s.%N)
python - "$work" "$n" "$start" "$end" <<'PY'
import json, subprocess, sys
work, n, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
report = json.load(open(f"{work}/report.json"))
print(f"sentences: {n}, annotated {report['annotated']}, failed {len(report['failed'])}, "
      f"{n / (end - start):.2f} sentences/s, entities {report['entities']}")
PY
# --by-id: sentences the teacher could not answer count as predicting nothing.
nerkd eval "$work/gold.conll" "$work/silver.jsonl" --by-id | python -c "
import json, sys; r = json.load(sys.stdin)
print('micro P/R/F1', *(round(r['micro'][k], 4) for k in ('precision', 'recall', 'f1')),
      {t: round(v['f1'], 3) for t, v in r['per_type'].items()})"
