"""What identifies a training run, so that ``train --resume`` goes on only with the run it
checkpointed: the records of every epoch (by content, so data from stdin counts too), the dev
records, the labels, the seed, the window length and the starting model (its config and
tokenizer files: a copy elsewhere is the same model). Batch size and learning rate are the
checkpoint's own (``train._step_settings``); patience and the device may change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.records import Record

# The starting model's files that decide what it is (the weights are in the checkpoint).
IDENTIFYING_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                     "vocab.json", "merges.txt")
# Option names as the user typed them, for the refusal.
OPTIONS = {"data": "training data", "dev": "--dev", "labels": "labels (data or --labels)",
           "task": "--task", "class_weights": "--class-weights", "seed": "--seed",
           "epochs": "--epochs (or the plan's)", "max_length": "--max-length",
           "model": "--model"}


def run_settings(epochs: Sequence[Sequence[Record]], dev: Sequence[Record] | None,
                 labels: Sequence[str], config: Any) -> dict[str, Any]:
    """The settings a resumed run must share with the run that checkpointed."""
    per_epoch = [_digest([_content(r) for r in epoch]) for epoch in epochs]
    return {"data": _digest(list(dict.fromkeys(per_epoch))),  # plain data: once, whatever E
            "dev": _digest([_content(r) for r in dev]) if dev else None,
            "labels": list(labels), "task": config.task, "class_weights": config.class_weights,
            "seed": config.seed, "epochs": len(epochs), "max_length": config.max_length,
            "model": model_identity(config.model)}


def check_resumed(checkpointed: dict[str, Any] | None, settings: dict[str, Any],
                  work: Path) -> None:
    """Refuse to resume a checkpoint made with other settings (one from before they were
    recorded is resumed as it is)."""
    if not isinstance(checkpointed, dict):
        return
    differing = [OPTIONS[key] for key in OPTIONS if checkpointed.get(key) != settings[key]]
    if differing:
        raise NerkdError(f"--resume: the run checkpointed in {work} was started with other "
                         f"{', '.join(differing)}; rerun it as it was started to go on, or "
                         "leave out --resume to start over")


def model_identity(model: str) -> str:
    """A local model by the content of its identifying files; a hub id by its name."""
    directory = Path(model)
    if not directory.is_dir():
        return model
    digest = hashlib.sha256()
    for name in IDENTIFYING_FILES:
        path = directory / name
        if path.is_file():
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _content(record: Record) -> list[Any]:
    return [record.tokens, record.tags, record.label, record.extra.get("weight")]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()[:16]
