"""Why a cold run on a GPU is slow: each variant in a fresh process trains the student
2 epochs at batch 64 on the first --sentences of CoNLL-2003 train (epoch 0 meets each batch
shape for the first time, epoch 1 mostly meets them again), then tags test x 5 twice with a
fresh tagger (cold, then warm). The variants: nerkd as shipped (any attention kernel but
cuDNN's), PyTorch's own choice (cuDNN's attention on recent cards, which builds a graph per
new batch shape), batches padded on to a multiple of 16 subwords (fewer shapes), and both
of the last two.

    python bench/gpu_shapes.py [--sentences 6000] [--cycle 5] [--device cuda]
        [--model .device/student] [--variants nerkd cudnn pad16 cudnn-pad16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

VARIANTS = ("nerkd", "cudnn", "pad16", "cudnn-pad16")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=6000)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--cycle", type=int, default=5, help="tag CoNLL-2003 test this many times")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default=".device/student")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_measure(args.child, args.sentences, args.cycle, args.model,
                                  args.device)))
        return
    failures = 0
    for variant in args.variants:
        done = subprocess.run([sys.executable, __file__, "--child", variant,
                               "--sentences", str(args.sentences), "--cycle", str(args.cycle),
                               "--model", args.model,
                               "--device", args.device],
                              capture_output=True, text=True)
        result = done.stdout.strip().splitlines()[-1] if done.returncode == 0 else \
            f"failed: {done.stderr.strip().splitlines()[-1:]}"
        print(f"{variant:>8}: {result}", flush=True)
        failures += done.returncode != 0
    if failures:
        sys.exit(f"{failures} of {len(args.variants)} variants failed")


def _measure(variant: str, sentences: int, cycle: int, model: str, device: str) -> dict:
    from common import conll

    from nerkd.core.predict import load_tagger
    from nerkd.core.train import EpochEnd, TrainConfig, train

    if variant.startswith("cudnn"):
        _any_attention()
    if variant.endswith("pad16"):
        _pad_to(16)
    config = TrainConfig(model=model, epochs=2, batch_size=64, lr=2e-4, device=device,
                         seed=0)
    with tempfile.TemporaryDirectory() as folder:
        output = f"{folder}/model"
        events = list(train(conll("train", sentences), config, output))
        epochs = [round(e.seconds, 2) for e in events if isinstance(e, EpochEnd)]
        tagger = load_tagger(output, device)
    words = [r.tokens for r in conll("test") if r.tokens] * cycle
    tags = []
    for _ in range(2):
        start = time.perf_counter()
        tagger.tag(words)
        tags.append(round(time.perf_counter() - start, 2))
    return {"train epochs s": epochs, f"tag test x{cycle} s (cold, warm)": tags}


def _any_attention() -> None:
    """Forward passes with bfloat16 autocast alone: PyTorch picks the attention kernel."""
    import torch

    import nerkd.core.predict as predict
    import nerkd.core.train as train

    def autocast_only(device, precision="auto"):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    predict.forward_mode = train.forward_mode = autocast_only


def _pad_to(multiple: int) -> None:
    """Every collated batch padded on to a multiple of ``multiple`` subwords."""
    import torch.nn.functional as F

    import nerkd.core.predict as predict
    import nerkd.core.train as train
    from nerkd.core.encoding import IGNORE, collate

    def collate_padded(rows, pad_id, labels=None):
        batch = collate(rows, pad_id, labels)
        extra = -batch["input_ids"].shape[1] % multiple
        fills = {"input_ids": pad_id, "attention_mask": 0, "labels": IGNORE}
        return {k: F.pad(v, (0, extra), value=fills[k]) for k, v in batch.items()}

    predict.collate = train.collate = collate_padded


if __name__ == "__main__":
    main()
