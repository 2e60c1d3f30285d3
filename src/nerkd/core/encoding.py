"""Words -> subword windows with first-subword labels, and padded batches.

A sentence longer than the model's limit is cut into windows: each window *owns* a run of
words (its core) and sees up to ``context`` subwords of the neighbouring words on either side.
Labels and predictions come only from the core, so every word is labelled exactly once and
nothing is silently truncated.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

IGNORE = -100  # the loss skips these positions (special tokens, later subwords, context)


@dataclass
class Window:
    """One model input: ``first[i]`` is the word whose first subword sits at position i, or -1."""

    item: int
    input_ids: list[int]
    first: list[int]


def encode(tokenizer: Any, sentences: Sequence[Sequence[str]], max_length: int = 256,
           pieces: WordPieces | None = None) -> list[Window]:
    """Subword windows for every sentence, in order (``Window.item`` indexes ``sentences``).
    ``pieces``: a word cache kept across calls (a tagger keeps one)."""
    pieces = pieces or WordPieces(tokenizer)
    limit = (max_length - 2) // 4  # a 500-piece "word" is noise, and must still fit a window
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    windows: list[Window] = []
    for item, words in enumerate(pieces(sentences)):
        counts = list(map(len, words))
        if sum(counts) <= max_length - 2 and max(counts, default=0) <= limit:
            windows.append(_whole(item, words, counts, cls, sep))  # nearly every sentence
            continue
        words = [p if len(p) <= limit else p[:limit] for p in words]
        for core, left, right in _windows([len(p) for p in words], max_length - 2):
            input_ids, first = [cls], [-1]
            for word in range(left, right):
                if words[word]:  # a word the tokenizer drops (a zero-width space) has none
                    input_ids += words[word]
                    owned = core[0] <= word < core[1]
                    first += [word if owned else -1] + [-1] * (len(words[word]) - 1)
            windows.append(Window(item, input_ids + [sep], first + [-1]))
    return windows


def _whole(item: int, words: list[list[int]], counts: list[int], cls: int, sep: int) -> Window:
    """The one window of a sentence that fits: what the general loop builds, in fewer steps."""
    input_ids = [cls, *itertools.chain.from_iterable(words), sep]
    first = [-1] * len(input_ids)
    position = 1
    for word, count in enumerate(counts):
        if count:
            first[position] = word
            position += count
    return Window(item, input_ids, first)


class WordPieces:
    """Subword ids per word, each distinct word sent through the tokenizer once and kept.

    Exact, not an approximation: a fast tokenizer given pre-split words normalises and
    tokenizes each word on its own, so a word's subwords never depend on its neighbours;
    and text repeats its words, so most lookups skip the tokenizer and its per-sentence
    conversion (the larger part of prediction's Python time on a GPU).
    """

    GROUP = 256  # new words per tokenizer input: one conversion per group, not per word

    def __init__(self, tokenizer: Any, capacity: int = 100_000) -> None:
        self.tokenizer, self.capacity = tokenizer, capacity
        self.known: dict[str, list[int]] = {}

    def __call__(self, sentences: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """The subword ids of each word of each sentence (shared lists: do not modify)."""
        if len(self.known) > self.capacity:  # memory stays flat over an endless stream
            self.known.clear()
        known = self.known
        new = [w for w in dict.fromkeys(itertools.chain.from_iterable(sentences))
               if w not in known]
        if new:
            self._learn(new)
        return [list(map(known.__getitem__, s)) for s in sentences]

    def _learn(self, words: list[str]) -> None:
        groups = [words[i: i + self.GROUP] for i in range(0, len(words), self.GROUP)]
        # the tokenizer's own call, so its settings (truncation off, split_special_tokens,
        # custom pre-tokenizers) apply as for whole sentences; verbose=False: a group is
        # not a model input, so its length is no reason to warn
        encoded = self.tokenizer(groups, is_split_into_words=True, add_special_tokens=False,
                                 verbose=False)
        for number, group in enumerate(groups):
            pieces: list[list[int]] = [[] for _ in group]
            for token_id, word in zip(encoded["input_ids"][number], encoded.word_ids(number)):
                if word is not None:
                    pieces[word].append(token_id)
            self.known.update(zip(group, pieces))


def _windows(counts: list[int], capacity: int) -> list[tuple[tuple[int, int], int, int]]:
    """``((core_start, core_end), left, right)`` word ranges covering every word once."""
    if sum(counts) <= capacity:
        return [((0, len(counts)), 0, len(counts))]
    context = capacity // 4
    windows, start = [], 0
    while start < len(counts):
        end, used = start, 0
        while end < len(counts) and (used + counts[end] <= capacity - 2 * context or end == start):
            used += counts[end]
            end += 1
        left = _extend(counts, start, -1, context)
        right = _extend(counts, end - 1, 1, context) + 1
        windows.append(((start, end), left, right))
        start = end
    return windows


def _extend(counts: list[int], edge: int, step: int, budget: int) -> int:
    """The farthest word from ``edge`` (exclusive) whose pieces fit in ``budget`` subwords."""
    position = edge
    while 0 <= position + step < len(counts) and counts[position + step] <= budget:
        position += step
        budget -= counts[position]
    return position


def window_labels(window: Window, label_ids: Sequence[int]) -> list[int]:
    """Per-position label ids: the word's label at its first subword, IGNORE elsewhere."""
    return [label_ids[w] if w >= 0 else IGNORE for w in window.first]


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random | None = None, pool: int = 50
) -> list[list[int]]:
    """Index batches of similar length. With ``rng``: shuffle, sort within pools of
    ``pool`` batches, and shuffle batch order (padding shrinks, randomness stays)."""
    order = list(range(len(lengths)))
    if rng is None:
        order.sort(key=lambda i: lengths[i])
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(order)
    batches = []
    span = batch_size * pool
    for i in range(0, len(order), span):
        chunk = sorted(order[i : i + span], key=lambda j: lengths[j])
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def token_batches(lengths: Sequence[int], tokens: int) -> list[list[int]]:
    """Index batches in length order, each padded to at most ``tokens`` subwords (a row
    longer than that goes alone)."""
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if batch and (len(batch) + 1) * lengths[i] > tokens:
            batches.append(batch)
            batch = []
        batch.append(i)
    return batches + [batch] if batch else batches


def collate(
    rows: Sequence[list[int]], pad_id: int, labels: Sequence[list[int]] | None = None
) -> dict[str, Any]:
    """Pad to the longest row: ``input_ids``, ``attention_mask`` and optional ``labels`` tensors."""
    import numpy as np
    import torch

    lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    mask = np.arange(lengths.max(initial=0)) < lengths[:, None]
    batch = {"input_ids": padded(rows, mask, pad_id),
             "attention_mask": torch.from_numpy(mask.astype(np.int64))}
    if labels is not None:
        batch["labels"] = padded(labels, mask, IGNORE)
    return batch


def padded(rows: Sequence[list[int]], mask: Any, fill: int) -> Any:
    """``rows`` left-aligned in a tensor shaped as the boolean array ``mask``, ``fill``
    after them. numpy reads the values in one pass (several times faster than building a
    tensor from a nested list, which dominated prediction's Python time on a GPU)."""
    import numpy as np
    import torch

    out = np.full(mask.shape, fill, dtype=np.int64)
    out[mask] = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.int64, count=mask.sum())
    return torch.from_numpy(out)
