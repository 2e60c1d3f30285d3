"""nerkd train vs a plain Hugging Face Trainer (run_ner style): sentences/s and dev F1 with the
same model, data, epochs, batch size and learning rate. Needs `pip install accelerate`
(the Trainer's dependency; nerkd itself does not use it).

    python bench/train_speed.py [--train 2000] [--dev 500] [--epochs 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import conll

from nerkd.core.evaluate import evaluate
from nerkd.core.predict import Tagger
from nerkd.core.student import default_student_dir, label_list, load_tokenizer
from nerkd.core.train import EpochEnd, TrainConfig, train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--dev", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    args = parser.parse_args()
    records = [r for r in conll("train", args.train) if r.tokens]
    dev = [r for r in conll("dev", args.dev) if r.tokens]
    seen = len(records) * args.epochs
    print(f"train sentences: {len(records)} x {args.epochs} epochs, batch {args.batch_size}")
    ours, our_f1 = _nerkd(records, dev, args)
    print(f"nerkd train:  {seen / ours:7.1f} sentences/s  dev F1 {our_f1:.4f}", flush=True)
    theirs, their_f1 = _trainer(records, dev, args)
    print(f"HF Trainer:   {seen / theirs:7.1f} sentences/s  dev F1 {their_f1:.4f}")
    print(f"speed-up: {theirs / ours:.2f}x")


def _nerkd(records, dev, args) -> tuple[float, float]:
    config = TrainConfig(model=str(default_student_dir()), epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr)
    start = time.perf_counter()
    events = list(train(records, config, Path(tempfile.mkdtemp()) / "m"))
    total = time.perf_counter() - start
    # Like the Trainer's train(): the loop only, not loading, tokenising or saving the model.
    seconds = sum(e.seconds for e in events if isinstance(e, EpochEnd))
    print(f"nerkd train() wall time with loading, tokenising and saving: {total:.1f}s")
    from nerkd.core.predict import load_tagger

    tagger = load_tagger(events[-1].output)
    f1 = evaluate([r.tags for r in dev], tagger.tag([r.tokens for r in dev]))["micro"]["f1"]
    return seconds, f1


def _trainer(records, dev, args) -> tuple[float, float]:
    import torch
    from transformers import (
        AutoModelForTokenClassification,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    labels = label_list([r.tags for r in records])
    index = {label: i for i, label in enumerate(labels)}
    tokenizer = load_tokenizer(str(default_student_dir()))
    # Seeded here, not only by the Trainer (after the model exists): the head's initial
    # weights must not depend on how many random numbers nerkd's run drew before.
    set_seed(42)
    model = AutoModelForTokenClassification.from_pretrained(
        default_student_dir(), num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id=index)
    data = [_features(tokenizer, r, index) for r in records]
    arguments = TrainingArguments(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=args.batch_size,
        num_train_epochs=args.epochs, learning_rate=args.lr, warmup_steps=0.1,
        weight_decay=0.01, save_strategy="no", report_to=[], logging_strategy="no",
        disable_tqdm=True, use_cpu=True, seed=42)
    trainer = Trainer(model=model, args=arguments, train_dataset=data,
                      data_collator=DataCollatorForTokenClassification(tokenizer))
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    tagger = Tagger(model.eval(), tokenizer, labels, torch.device("cpu"))
    f1 = evaluate([r.tags for r in dev], tagger.tag([r.tokens for r in dev]))["micro"]["f1"]
    return seconds, f1


def _features(tokenizer, record, index) -> dict:
    """run_ner.py's labelling: first subword of each word labelled, the rest -100."""
    encoded = tokenizer(record.tokens, is_split_into_words=True, truncation=True, max_length=256)
    previous, labels = None, []
    for word in encoded.word_ids():
        labels.append(-100 if word is None or word == previous else index[record.tags[word]])
        previous = word
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
            "labels": labels}


if __name__ == "__main__":
    main()
