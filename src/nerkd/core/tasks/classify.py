"""Text classification: the teacher's prompt and how its answers are read (one class from the
schema; votes give a confidence), training pieces (a sequence-classification head),
prediction, and scores (accuracy, micro and macro P/R/F1, per-class P/R/F1 and the confusion
matrix, for documents paired in order or by id).

Long documents: the student reads the first ``max_length`` subwords of each text (256 by
default) and nothing after. News and reviews state their subject early; averaging over
windows would cost a forward pass per window for every document, at training and prediction.

Single-label: each document has one gold class and at most one predicted class (a teacher may
leave a document unanswered). With every document answered, micro P = R = F1 = accuracy;
unanswered ones lower recall only. Macro averages run over every class seen in gold or
predictions (a class predicted but never true scores 0).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.evaluate import macro, scores
from nerkd.core.io import read_text
from nerkd.core.parse import ParseError, json_values
from nerkd.core.plan import record_weight
from nerkd.core.records import (
    PROVENANCE,
    Record,
    index_by_id,
    located,
    require_labels,
    unmatched,
)
from nerkd.core.tasks import refuse_unseen_in_dev

UNANSWERED = "(none)"  # the confusion matrix's column for documents without a prediction
SHOWN_CHARS = 1500  # of each few-shot example's text: the first window is what counts
# what a --labels that names a missing file ends with (else it is read as class names)
FILE_SUFFIXES = frozenset({".txt", ".tsv", ".csv", ".json", ".jsonl", ".md", ".yaml", ".yml"})
READ_CHARS = 4000  # of the text to classify (about 1,000 tokens): a long article is cut

SYSTEM = "You are a careful annotator who sorts texts into classes. You answer in JSON."
USER = """Which class does the text belong to?

Classes:
{labels}

Answer with JSON only: {{"label": "..."}}, with exactly one of the class names above.

Text: {text}"""


def read_classes(spec: str) -> dict[str, str]:
    """Class names with optional definitions: ``sport,tech`` or a file of ``name: definition``
    lines (``#`` starts a comment). Names keep their case."""
    path = Path(spec)
    if spec.strip() and path.is_file():
        pairs = [line.partition(":") for line in read_text(path).splitlines()
                 if line.strip() and not line.startswith("#")]
        classes: dict[str, str] = {}
        for name, _, about in pairs:
            if classes.get(name.strip(), about.strip()) != about.strip():
                raise NerkdError(f"class {name.strip()!r} is defined twice", spec)
            classes[name.strip()] = about.strip()
    elif spec.strip() and (path.suffix.lower() in FILE_SUFFIXES or path.is_dir()):
        raise NerkdError(f"--labels {spec}: no such file (class names are given as "
                         "sport,tech or in a file)")
    else:
        classes = {name.strip(): "" for name in spec.split(",") if name.strip()}
    if not classes:
        raise NerkdError(f"--labels: no class names in {spec!r} (e.g. sport,tech or a file)")
    return classes


@dataclass
class ClassPrompt:
    """Chat messages asking for one document's class (its first ``READ_CHARS`` characters);
    few-shot examples are documents with their class (cut to ``SHOWN_CHARS``)."""

    labels: dict[str, str]
    examples: Sequence[Record] = ()
    cot: bool = False  # no reasoning variant (yet): the answer is one word
    system: str = SYSTEM

    def messages(self, text: str, shots: Sequence[Record] | None = None) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": self.system}]
        for example in self.examples if shots is None else shots:
            messages.append({"role": "user", "content": self._user(example.text[:SHOWN_CHARS])})
            messages.append({"role": "assistant",
                             "content": json.dumps({"label": example.label}, ensure_ascii=False)})
        return [*messages, {"role": "user", "content": self._user(text[:READ_CHARS])}]

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "required": ["label"],
                "properties": {"label": {"type": "string", "enum": list(self.labels)}}}

    @functools.cached_property
    def fingerprint(self) -> str:
        shape = json.dumps(self.messages("$text"), sort_keys=True)
        return hashlib.sha256(shape.encode()).hexdigest()[:16]

    def _user(self, text: str) -> str:
        lines = "\n".join(f"- {name}: {about}" if about else f"- {name}"
                          for name, about in self.labels.items())
        return USER.format(labels=lines, text=text)


class ClassReading:
    """An answer names a class: exactly, through the label map, or differing only in case; a
    short sentence instead of a class ("I would say business.") counts when it names one
    class alone, as a word, and is re-asked like unreadable JSON when it names none or
    several or denies one ("not sport");
    anything else is dropped and counted. Votes: the most named class, with the share of votes
    that named it (below half, the document is left out)."""

    task = "classify"

    def __init__(self, labels: Sequence[str], label_map: dict[str, str]) -> None:
        self.labels = list(labels)
        self.by_case = {label.casefold(): label for label in labels}
        self.label_map = {k.casefold(): v for k, v in label_map.items()}

    def read(self, answer: str, record: Record) -> tuple[str | None, Counter[str]]:
        named = _named_class(answer)
        if named is None:
            raise ParseError(f"no class in the answer: {answer[:80]!r}")
        plain = named.strip("*_`").rstrip(".!").strip()  # "**Business.**" names business
        for name in dict.fromkeys((named, plain)):  # as written first: "U.S." may be a class
            if name in self.labels:
                return name, Counter(proposed=1, aligned_exact=1)
            mapped = self.label_map.get(name.casefold())
            target = self.by_case.get((mapped or name).casefold())
            if target is not None:
                return target, Counter(proposed=1, **{"aligned_mapped" if mapped else
                                                       "aligned_case": 1})
        if " " in plain:  # a sentence, not a class name
            return self._named_in(plain), Counter(proposed=1, aligned_prose=1)
        return None, Counter(proposed=1, dropped_label=1)

    def _named_in(self, sentence: str) -> str:
        """The one class a sentence names, by its name or a ``--label-map`` name (a name
        inside a longer one named, as "spam" in "not spam", does not count); a sentence
        naming none or several, or denying the one ("not sport", "isn't really sport"), is
        unreadable."""
        names = {**{k: self.by_case.get(v.casefold()) for k, v in self.label_map.items()},
                 **{label.casefold(): label for label in self.labels}}
        found = [(match, names[name]) for name in names if names[name]
                 for match in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", sentence,
                                          re.IGNORECASE)]
        found = [(m, c) for m, c in found  # a name inside a longer one found there is not one
                 if not any(o is not m and o.start() <= m.start() and m.end() <= o.end()
                            and o.end() - o.start() > m.end() - m.start() for o, _ in found)]
        classes = {c for _, c in found}
        if len(classes) != 1 or any(_NEGATION.search(sentence[max(0, m.start() - 20):m.start()])
                                    for m, _ in found):
            raise ParseError(f"names no single class, or denies it: {sentence[:80]!r}")
        return classes.pop()

    def agree(self, values: list[str | None], votes: int) -> tuple[str | None, float]:
        counts = Counter(v for v in values if v is not None)
        if not counts:
            return None, 0.0
        label, n = counts.most_common(1)[0]
        return (label, n / votes) if n * 2 >= votes else (None, n / votes)

    def silver(self, record: Record, label: str, confidence: float, votes: int) -> Record:
        silver = record.silver(label=label)
        if votes > 1:
            silver.meta["confidence"] = confidence
        return silver


def pick_documents(pool: Sequence[Record], k: int, seed: int = 0) -> list[Record]:
    """``k`` labelled documents, drawn with a seed, one class at a time so that few shots
    still show as many classes as they can."""
    import random

    shuffled = [r for r in pool if r.label is not None and r.text.strip()]
    random.Random(seed).shuffle(shuffled)
    by_class: dict[str, list[Record]] = {}
    for record in shuffled:
        by_class.setdefault(record.label, []).append(record)  # type: ignore[arg-type]
    turns = itertools.zip_longest(*by_class.values())
    return [r for turn in turns for r in turn if r is not None][:k]


_NEGATION = re.compile(r"\b(not|no|never|neither|nor)\b|n't\b", re.IGNORECASE)


def _named_class(answer: str) -> str | None:
    """The class an answer names: ``{"label": ...}`` (or ``class``), else a bare word."""
    for value in json_values(answer):
        if isinstance(value, dict):
            for key in ("label", "class", "category"):
                if isinstance(value.get(key), str) and value[key].strip():
                    return value[key].strip()
    bare = answer.strip().strip('"').strip()
    return bare if bare and "\n" not in bare and len(bare) <= 60 else None


def confusion_columns(confusion: Mapping[str, Mapping[str, int]]) -> list[str]:
    """The predicted-class columns of a confusion matrix: every gold class, in row order,
    even one nothing was predicted as (its column of zeros is the finding), then any other
    class predicted, and documents left without a class last."""
    found = {p for row in confusion.values() for p in row}
    extra = sorted(found - set(confusion) - {UNANSWERED})
    return [*confusion, *extra, *([UNANSWERED] if UNANSWERED in found else [])]


def evaluate_labels(gold: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Scores of ``predicted`` classes against ``gold`` (same length, same order)."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold classes but {len(predicted)} predicted")
    pairs = list(zip(gold, predicted))
    correct = sum(g == p for g, p in pairs)
    answered = sum(p is not None for p in predicted)
    classes = sorted(set(gold) | {p for p in predicted if p is not None})
    per_class = {c: scores(sum(g == c for g in gold), sum(p == c for p in predicted),
                            sum(g == p == c for g, p in pairs)) for c in classes}
    confusion = {c: dict(Counter(p or UNANSWERED for g, p in pairs if g == c))
                 for c in sorted(set(gold))}
    return {
        "task": "classify",
        "documents": len(gold),
        "accuracy": correct / len(gold) if gold else 0.0,
        "micro": scores(len(gold), answered, correct),
        "macro": macro(per_class),
        "per_class": per_class,
        "confusion": confusion,
        "unanswered": len(gold) - answered,
    }


def evaluate_label_records(gold: Iterable[Record], pred: Iterable[Record], *,
                           names: tuple[str, str] = ("gold", "pred"),
                           by_id: bool = False) -> dict[str, Any]:
    """Score two record streams of the same documents, in the same order (or paired by
    ``id``: a gold document missing from ``pred`` counts as unanswered)."""
    gold_records, pred_records = list(gold), list(pred)
    for i, record in enumerate(gold_records):
        if record.label is None:
            raise NerkdError(f"document {i} (id {record.id}) has no label", names[0], record.line)
    if by_id:
        index_by_id(gold_records, names[0])
        found = index_by_id(pred_records, names[1])
        stray = sorted(set(found) - {r.id for r in gold_records}, key=str)
        if stray:
            raise NerkdError(f"--by-id: id {stray[0]} is not in {names[0]}", names[1],
                         found[stray[0]].line)
        for i, g in enumerate(gold_records):
            if g.id in found:
                _check_same_text(i, g, found[g.id], names)
        predicted = [found[g.id].label if g.id in found else None for g in gold_records]
    else:
        _check_aligned(gold_records, pred_records, names)
        predicted = [r.label for r in pred_records]
    if pred_records and all(r.label is None for r in pred_records):
        raise NerkdError("no record has a class (label): is it a prediction of another task?",
                         names[1])
    return evaluate_labels([r.label for r in gold_records], predicted)  # type: ignore[misc]


def _check_aligned(gold: list[Record], pred: list[Record], names: tuple[str, str]) -> None:
    for i, (g, p) in enumerate(zip(gold, pred)):
        _check_same_text(i, g, p, names)
    if len(gold) != len(pred):
        raise unmatched(gold, pred, names, "document")


def _check_same_text(i: int, gold: Record, pred: Record, names: tuple[str, str]) -> None:
    """The two must be one document: the same words, however spaced (raw text output puts
    a document on one line), or the error shows where they part."""
    ours, theirs = " ".join(gold.text.split()), " ".join(pred.text.split())
    if ours == theirs:
        return
    at = next((k for k, (a, b) in enumerate(zip(ours, theirs)) if a != b),
              min(len(ours), len(theirs)))
    start = max(0, at - 15)
    raise NerkdError(f"document {i} (id {gold.id}) differs from {located(names[1], pred)} "
                     f"(id {pred.id}) at character {at}: {ours[start:at + 25]!r} vs "
                     f"{theirs[start:at + 25]!r}", names[0], gold.line)


class ClassifyTraining:
    """Sequence classification: one class per document, read from its first window."""

    name = "classify"
    head = "sequence"

    def __init__(self, balanced: bool = False) -> None:
        self.balanced = balanced

    def labels(self, records: Sequence[Record], dev: Sequence[Record] | None,
               given: list[str] | None) -> list[str]:
        """Every class of the training records and ``given``, sorted; dev may not hold a
        class training lacks."""
        seen = {r.label for r in records if r.label is not None and r.text.strip()}
        if not seen:
            raise NerkdError("no labelled training documents (records need a label and a "
                             "text that is not empty)")
        if len(seen) == 1:
            raise NerkdError(f"every training document is of class {seen.pop()!r}: a "
                             "student trained on them would only ever predict it")
        classes = sorted(seen | set(given or []))
        if dev is not None:
            require_labels(dev, "--dev", self.name)
        refuse_unseen_in_dev(dev or [], classes, lambda r: [] if r.label is None else [r.label],
                             "classes")
        return classes

    def rows(self, records: Sequence[Record], tokenizer: Any, labels: list[str],
             max_length: int) -> list[tuple[list[int], int, float]]:
        """(input_ids of the first window, class id, weight) per labelled document; with
        ``balanced``, the weight is the record's times its class's among these rows (one
        epoch's, for a plan: each epoch is balanced on its own)."""
        index = {label: i for i, label in enumerate(labels)}
        records = [r for r in records if r.label is not None and r.text.strip()]
        ids = first_windows(tokenizer, [r.text for r in records], max_length)
        classes = [r.label for r in records]
        share = balanced_weights(classes) if self.balanced else dict.fromkeys(classes, 1.0)
        return [(row, index[r.label], record_weight(r) * share[r.label])  # type: ignore[index]
                for row, r in zip(ids, records)]

    def loss(self, logits: Any, targets: Sequence[int], weights: Any) -> Any:
        """Cross-entropy per document, weighted by its record's weight, averaged."""
        import torch

        labels = torch.tensor(list(targets), device=logits.device)
        losses = torch.nn.functional.cross_entropy(logits.float(), labels, reduction="none")
        return (losses * weights).sum() / len(targets)

    def dev_report(self, network: Any, tokenizer: Any, labels: list[str], device: Any,
                   max_length: int, dev: Sequence[Record]) -> dict[str, Any]:
        gold = [r for r in dev if r.label is not None and r.text.strip()]
        classifier = Classifier(network, tokenizer, labels, device, max_length=max_length)
        return evaluate_labels([r.label for r in gold],  # type: ignore[misc]
                               classifier.classify([r.text for r in gold]))


def balanced_weights(classes: Sequence[str]) -> dict[str, float]:
    """Per class, n / (k * n_class): each of the k classes then weighs as much in the loss as
    if they were equally frequent (counted by rows; a record's own weight is applied on top)."""
    counts = Counter(classes)
    return {name: len(classes) / (len(counts) * n) for name, n in counts.items()}


def first_windows(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Subword ids of each text, cut to ``max_length`` with the special tokens included."""
    if not texts:
        return []
    return tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]


class Classifier:
    """A sequence-classification network with its tokenizer and classes."""

    def __init__(self, network: Any, tokenizer: Any, labels: Sequence[str], device: Any,
                 batch_size: int | None = None, max_length: int = 256,
                 precision: str = "auto") -> None:
        from nerkd.core.student import window_limit

        self.network, self.tokenizer, self.labels = network, tokenizer, list(labels)
        self.device, self.batch_size, self.precision = device, batch_size, precision
        self.max_length = window_limit(network, max_length)

    def vectors(self, texts: Sequence[str]) -> Any:
        """Unit-length vectors of the texts' first windows (see ``pooled_vectors``)."""
        from nerkd.core.predict import pooled_vectors

        ids = first_windows(self.tokenizer, texts, self.max_length)
        return pooled_vectors(self.network, ids, range(len(ids)), len(ids),
                              self.tokenizer.pad_token_id, self.device, self.batch_size or 32)

    def classify(self, texts: Sequence[str]) -> list[str]:
        """The most likely class of each text, in order (batched as a tagger's windows are:
        by subword budget unless ``batch_size`` is set; one copy back from the device)."""
        import torch

        from nerkd.core.encoding import collate
        from nerkd.core.predict import forward_each, inference_batches, on_device

        ids = first_windows(self.tokenizer, texts, self.max_length)

        def best_class(batch: list[int]) -> Any:
            inputs = collate([ids[i] for i in batch], self.tokenizer.pad_token_id)
            return self.network(**on_device(inputs, self.device)).logits.argmax(-1)

        batches = inference_batches([len(row) for row in ids], self.device, self.batch_size)
        self.network.eval()
        best = forward_each(batches, best_class, self.device, self.precision)
        found = [""] * len(texts)
        order = [i for batch in batches for i in batch]
        for i, label_id in zip(order, torch.cat(best).tolist() if best else []):
            found[i] = self.labels[label_id]
        return found


def load_classifier(model: str, device: str = "auto", batch_size: int | None = None,
                    max_length: int | None = None, runtime: str = "torch",
                    precision: str = "auto") -> Classifier:
    """A classifier for a model directory (nerkd's, or any sequence-classification one);
    ``max_length`` defaults to the window it was trained with; ``runtime`` as for taggers."""
    from nerkd.core.predict import load_network, load_prediction_tokenizer
    from nerkd.core.student import resolve_model, trained_max_length

    path = resolve_model(model)
    network, labels, target = load_network(path, device, runtime, "sequence", precision)
    return Classifier(network, load_prediction_tokenizer(path), labels, target, batch_size,
                      max_length or trained_max_length(path), precision)


def predict_labels(records: Iterable[Record], classifier: Classifier, chunk: int = 2048,
                   name: str | None = None) -> Iterator[Record]:
    """Classify records lazily, ``chunk`` at a time, in input order (each gets ``label``). A
    document without text gets none (a class for nothing would be a guess), as ``annotate``
    leaves it out; how many is said."""
    iterator, empty, classified = iter(records), 0, 0
    while batch := list(itertools.islice(iterator, chunk)):
        labels = iter(classifier.classify([r.text for r in batch if r.text.strip()]))
        for record in batch:
            if not record.text.strip():
                empty += 1
                yield _unlabelled(record)
                continue
            labelled = record.silver(label=next(labels))
            if name:
                labelled.meta["predicted_by"] = name
            classified += 1
            yield labelled
    if empty and not classified:
        raise NerkdError(f"no document to classify: all {empty} are without text")
    if empty:
        warnings.warn(f"{empty} document{'s' if empty > 1 else ''} without text left without "
                      "a class", NerkdWarning, stacklevel=2)


def _unlabelled(record: Record) -> Record:
    """A record without labels or their provenance: nothing was predicted for it."""
    return replace(record, tags=None, spans=None, label=None, source=None, written_tags=None,
                   meta={k: v for k, v in record.meta.items() if k not in PROVENANCE})
