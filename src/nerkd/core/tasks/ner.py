"""What named entities mean to annotate and train: a teacher's answer read into spans, votes
agreed span by span; IOB2 labels from the records' tags, subword windows with first-subword
labels, a token-level loss, and entity F1 on dev."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from nerkd.core.align import align_entities
from nerkd.core.encoding import IGNORE, encode, window_labels
from nerkd.core.errors import NerkdError
from nerkd.core.parse import parse_entities
from nerkd.core.plan import record_weight
from nerkd.core.records import Record, require_labels
from nerkd.core.student import label_list
from nerkd.core.tags import TokenSpan, spans_to_iob2
from nerkd.core.tasks import refuse_unseen_in_dev


class EntityReading:
    """An answer is a list of entity strings with types, placed in the text; votes keep the
    spans most answers share, each with the share that agreed as its confidence."""

    task = "ner"

    def __init__(self, labels: list[str], label_map: Mapping[str, str], fuzzy: bool) -> None:
        self.labels, self.label_map, self.fuzzy = labels, label_map, fuzzy

    def read(self, answer: str, record: Record) -> tuple[list[TokenSpan], Counter[str]]:
        entities = parse_entities(answer)
        alignment = align_entities(entities, record.text, record.offsets, self.labels,
                                   self.label_map, self.fuzzy)
        return alignment.spans, Counter({"proposed": len(entities), **alignment.counts})

    def agree(self, values: list[list[TokenSpan]],
              votes: int) -> tuple[list[TokenSpan], dict[TokenSpan, float]]:
        counts = Counter(span for spans in values for span in set(spans))
        kept = sorted(span for span, n in counts.items() if n * 2 > votes)
        return kept, {span: counts[span] / votes for span in kept}

    def silver(self, record: Record, spans: list[TokenSpan],
               confidence: dict[TokenSpan, float], votes: int) -> Record:
        silver = record.silver(tags=spans_to_iob2(len(record.tokens), spans))
        if votes > 1:
            for span, char_span in zip(spans, silver.spans or []):
                char_span["confidence"] = confidence[span]
        return silver


def entity_types(tags: Sequence[str]) -> set[str]:
    """The types of entity tags (``B-PER``, ``I-PER`` -> ``PER``)."""
    return {tag[2:] for tag in tags if tag != "O"}


class NerTraining:
    """Token classification: a label per word (its first subword), ``O`` for none."""

    name = "ner"
    head = "token"

    def labels(self, records: Sequence[Record], dev: Sequence[Record] | None,
               given: list[str] | None) -> list[str]:
        """IOB2 labels of every type in the training tags and ``given`` types; dev may not
        hold a type training lacks."""
        tagged = [r.tags for r in records if r.tags]
        if not tagged:
            raise NerkdError("no labelled training records")
        if all(tag == "O" for tags in tagged for tag in tags):
            raise NerkdError("the training records hold no entities (every tag is O): a "
                             "student trained on them would only ever predict O")
        labels = label_list([*tagged, [f"B-{t}" for t in given or []]])
        if dev is not None:
            require_labels(dev, "--dev", self.name)
        refuse_unseen_in_dev(dev or [], entity_types(labels),
                             lambda r: entity_types(r.tags or []), "entity types")
        return labels

    def rows(self, records: Sequence[Record], tokenizer: Any, labels: list[str],
             max_length: int) -> list[tuple[list[int], list[int], float]]:
        """(input_ids, per-position label ids, weight) for every window of every record."""
        index = {label: i for i, label in enumerate(labels)}
        records = [r for r in records if r.tokens and r.tags]
        rows = []
        for window in encode(tokenizer, [r.tokens for r in records], max_length):
            record = records[window.item]
            ids = [index[t] for t in record.tags]  # type: ignore[union-attr]
            rows.append((window.input_ids, window_labels(window, ids), record_weight(record)))
        return rows

    def loss(self, logits: Any, targets: Sequence[list[int]], weights: Any) -> Any:
        """Token cross-entropy, each token weighted by its record's weight, averaged over the
        labelled tokens."""
        import torch

        width = logits.shape[1]
        labels = torch.tensor([t + [IGNORE] * (width - len(t)) for t in targets],
                              device=logits.device)
        losses = torch.nn.functional.cross_entropy(
            logits.float().transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")
        mask = labels != IGNORE
        return (losses * weights[:, None] * mask).sum() / mask.sum().clamp(min=1)

    def dev_report(self, network: Any, tokenizer: Any, labels: list[str], device: Any,
                   max_length: int, dev: Sequence[Record]) -> dict[str, Any]:
        from nerkd.core.evaluate import evaluate
        from nerkd.core.predict import Tagger

        gold = [r for r in dev if r.tokens and r.tags]
        tagger = Tagger(network, tokenizer, labels, device, max_length=max_length)
        return evaluate([r.tags for r in gold], tagger.tag([r.tokens for r in gold]))  # type: ignore[misc]
