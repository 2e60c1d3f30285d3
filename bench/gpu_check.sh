#!/usr/bin/env bash
# The GPU targets of the speed issue as one prepared run for the `device` tool (see
# bench/README.md): training time and test F1 at several batch sizes on all of CoNLL-2003,
# then predict vs the HF pipeline on test x 5 and the share of tokens tagged as on the CPU.
#
#   bash bench/gpu_check.sh prepare        # here: fills .device/ (git-ignored, ~50 MB)
#   device run, carry [".device"]:  bash bench/gpu_check.sh run
#   bash bench/gpu_check.sh score DIR      # here: test F1 of the predictions that came back
#
# A dry run here (small and slow, to check the script): DEVICE=cpu TRAIN=small.conll
# SETTINGS=default SPEED="--sentences 50 --repeats 1" HOST="--cycle 1 --repeats 1" \
# SHAPES="--sentences 100 --cycle 1 --variants nerkd cudnn" COMMAND_RUNS= OUT=/tmp/out \
#     bash bench/gpu_check.sh run
#
# .device/ holds the embedded student stored in float16 (half the size; training keeps
# float32 master weights) and the three CoNLL-2003 files. The machine there has torch,
# transformers, typer and rich; nerkd runs from src/ and nothing there needs seqeval.
set -euo pipefail
cd "$(dirname "$0")/.."
step=${1:?prepare, run or score}
export PYTHONPATH=$PWD/src:$PWD/bench NERKD_CONLL_DIR=$PWD/.device/conll2003
# this checkout's venv where there is one (here), else the machine's python (there)
py=${PYTHON:-$(if [ -x .venv/bin/python ]; then echo .venv/bin/python; else echo python; fi)}
# models and test x 5 go outside .device/, which is what is carried (64 MiB at most)
work=${WORK:-${TMPDIR:-/tmp}/nerkd-gpu-check}
nerkd() { "$py" -c "from nerkd.cli.app import app; app()" "$@"; }
loop_seconds() {  # the epochs' seconds in a train --log
    "$py" -c 'import json, sys
print(round(sum(e["seconds"] for e in map(json.loads, open(sys.argv[1])) if e["event"] == "epochend"), 1))' "$1"
}

case $step in
prepare)
    rm -rf .device/models .device/test5.*  # left by dry runs of older versions
    mkdir -p .device/conll2003
    cp ../shared/data/conll2003/{train,dev,test}.txt .device/conll2003/
    "$py" - <<'PY'
import torch
from transformers import AutoModel, AutoTokenizer
from nerkd.core.student import default_student_dir
source = default_student_dir()
AutoModel.from_pretrained(source, dtype=torch.float16).save_pretrained(".device/student")
AutoTokenizer.from_pretrained(source).save_pretrained(".device/student")
PY
    du -sh .device ;;
run)
    out=${OUT:-out}; mkdir -p "$out" "$work"
    failures=0
    failed() { echo "FAILED: $1"; failures=$((failures + 1)); }  # the rest still runs
    exec > >(tee -a "$out/log.txt") 2>&1  # what a timeout cuts short still comes back
    nvidia-smi --query-gpu=name --format=csv,noheader || true
    # the host CPU, and whether it has int8 dot products (the ONNX int8 path's 2x needs them)
    grep -m1 "model name" /proc/cpuinfo || true
    flags=$(grep -m1 -o -w -E "avx512_vnni|avx_vnni|amx_int8" /proc/cpuinfo | sort -u |
        tr "\n" " " || true)  # none found must not end the run (set -e, pipefail)
    echo "int8 dot-product instructions: ${flags:-none}"
    dev=${DEVICE:-cuda}
    # batch:lr pairs; "default" trains with the CUDA defaults (32:1.5e-4), 16:1e-4 is the CPU's.
    # The first is timed for prediction too; each step may fail without stopping the rest.
    settings=${SETTINGS:-default 16:1e-4}
    train_one() {
        local name=b${1/:/-} options=(--batch-size "${1%%:*}" --lr "${1##*:}")
        [ "$1" = default ] && options=()
        nerkd train "${TRAIN:-.device/conll2003/train.txt}" --model .device/student \
            --epochs 3 "${options[@]}" --device "$dev" --seed 0 \
            -o "$work/models/$name" --force --log "$out/train-$name.jsonl" > /dev/null &&
        nerkd predict .device/conll2003/test.txt --model "$work/models/$name" --device "$dev" \
            -o "$out/test-$name.jsonl" &&
        echo "$1: training loop $(loop_seconds "$out/train-$name.jsonl") s"
    }
    first=${settings%% *}
    train_one "$first" || failed "train $first"
    model="$work/models/b${first/:/-}"
    # shellcheck disable=SC2086  # SPEED and HOST are lists of options
    "$py" bench/predict_speed.py --model "$model" --device "$dev" \
        --pipeline-batch 128 ${SPEED:---sentences 0 --cycle 5 --repeats 3} || failed "predict_speed"
    # the Python side alone on that machine's CPU: the ceiling of the rate above
    "$py" bench/predict_host.py --model .device/student ${HOST:---repeats 3} || failed "predict_host"
    # the command itself, reading CoNLL and writing JSONL, on test x 5
    for _ in 1 2 3 4 5; do cat .device/conll2003/test.txt; done > "$work/test5.txt"
    TIMEFORMAT="nerkd predict on test x 5, the whole command: %R s"
    for _ in ${COMMAND_RUNS-1 2 3}; do
        time nerkd --quiet predict "$work/test5.txt" --model "$model" --device "$dev" \
            -o "$work/test5.jsonl" || failed "predict command"
    done
    for setting in ${settings#"$first"}; do train_one "$setting" || failed "train $setting"; done
    # a cold start's cost per new batch shape: shipped attention vs cuDNN's, padding to 16
    "$py" bench/gpu_shapes.py --device "$dev" ${SHAPES:-} || failed "gpu_shapes"
    [ "$failures" = 0 ] || { echo "$failures steps failed"; exit 1; } ;;
score)
    for pred in "${2:?the folder the files came back to}"/test-b*.jsonl; do
        printf '%s: ' "$(basename "$pred")"
        .venv/bin/nerkd --quiet eval ../shared/data/conll2003/test.txt "$pred" \
            | "$py" -c "import json,sys; print('test F1', round(json.load(sys.stdin)['micro']['f1'], 4))"
    done ;;
esac
