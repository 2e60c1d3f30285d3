"""Teachers of classes that are not LLMs: a trained text classifier (model-to-model
distillation), or a sentence-embedding model reading zero-shot (the class whose definition's
vector is closest to the text's, by cosine). all-MiniLM-L6-v2, the embedded student, is such
an embedding model, so the zero-shot teacher works offline with nothing extra.

Like ``core.model_teacher`` for entities: records in, silver records with provenance out,
classes mapped into the schema or dropped and counted.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from nerkd.core.model_teacher import ModelTeacherStats
from nerkd.core.records import Record, failure

# Texts -> one class name each (the model's own names).
ClassLabeller = Callable[[Sequence[str]], list[str]]
CHUNK = 256
READ_SUBWORDS = 256  # of each text: the same first window the student reads


class ClassModelTeacher:
    """Gives each record a class from one model, mapped into ``classes``."""

    def __init__(self, labeller: ClassLabeller, backend: str, name: str,
                 classes: Sequence[str], label_map: Mapping[str, str] | None = None,
                 keep_gold: bool = False) -> None:
        self.labeller, self.backend, self.model = labeller, backend, name
        self.keep_gold = keep_gold
        self.by_case = {c.casefold(): c for c in classes}
        self.label_map = {k.casefold(): v for k, v in (label_map or {}).items()}
        self.stats = ModelTeacherStats()

    def run(self, records: Iterable[Record]) -> Iterator[Record]:
        """Silver records in input order; with ``keep_gold``, documents that already have a
        class pass through unchanged; empty texts and classes outside the schema are left out
        and reported as failed."""
        started = time.perf_counter()
        iterator = iter(records)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            first = self.stats.records + 1
            self.stats.records += len(chunk)
            todo = [r for r in chunk if r.text.strip() and not self._kept(r)]
            self.stats.calls += len(todo)
            found = iter(self.labeller([r.text for r in todo]) if todo else [])
            for number, record in enumerate(chunk, first):
                if self._kept(record):
                    self.stats.passed_through += 1
                    yield record
                elif record.text.strip():
                    yield from self._labelled(record, number, next(found))
                else:
                    self.stats.failed.append(failure(record, number, "no text"))
            self.stats.seconds = time.perf_counter() - started

    def _kept(self, record: Record) -> bool:
        return self.keep_gold and record.carries("classify")

    def _labelled(self, record: Record, number: int, found: str) -> Iterator[Record]:
        self.stats.entities["proposed"] += 1
        label = self.by_case.get(self.label_map.get(found.casefold(), found).casefold())
        if label is None:
            self.stats.entities["dropped_label"] += 1
            self.stats.failed.append(failure(record, number, f"class {found!r} outside the "
                                             "schema"))
            return
        self.stats.entities["aligned_model"] += 1
        self.stats.annotated += 1
        yield self._silver(record, label)

    def _silver(self, record: Record, label: str) -> Record:
        silver = record.silver(label=label)
        silver.meta.update({"teacher": self.model, "backend": self.backend})
        return silver


def classifier_labeller(model: str, device: str = "auto") -> ClassLabeller:
    """A trained sequence-classification model directory names the classes."""
    from nerkd.core.tasks.classify import load_classifier

    return load_classifier(model, device, max_length=READ_SUBWORDS).classify


def embedding_labeller(model: str, classes: Mapping[str, str],
                       device: str = "auto") -> ClassLabeller:
    """Zero-shot: each text takes the class whose ``name: definition`` reads closest (cosine of
    mean-pooled, unit-length vectors of an embedding model such as all-MiniLM-L6-v2)."""
    embed = _embedder(model, device)
    names = list(classes)
    anchors = embed([f"{name}: {about}" if about else name for name, about in classes.items()])

    def label(texts: Sequence[str]) -> list[str]:
        best = (embed(texts) @ anchors.T).argmax(-1).tolist()
        return [names[i] for i in best]

    return label


def _embedder(model: str, device_name: str) -> Callable[[Sequence[str]], Any]:
    import torch

    from nerkd.core.encoding import collate, length_batches
    from nerkd.core.student import load_encoder, load_tokenizer, pick_device, resolve_model

    path = resolve_model(model)
    device = pick_device(device_name)
    network = load_encoder(path).to(device).eval()
    tokenizer = load_tokenizer(path)

    def embed(texts: Sequence[str]) -> Any:
        ids = tokenizer(list(texts), truncation=True, max_length=READ_SUBWORDS)["input_ids"]
        vectors = torch.zeros(len(ids), network.config.hidden_size)
        with torch.inference_mode():
            for batch in length_batches([len(row) for row in ids], 32):
                inputs = collate([ids[i] for i in batch], tokenizer.pad_token_id)
                inputs = {k: v.to(device) for k, v in inputs.items()}
                hidden = network(**inputs).last_hidden_state.float()
                mask = inputs["attention_mask"].unsqueeze(-1).float()
                vectors[batch] = ((hidden * mask).sum(1) / mask.sum(1)).cpu()
        return torch.nn.functional.normalize(vectors, dim=-1)

    return embed
