"""Words -> subword windows with first-subword labels, and padded batches.

A sentence longer than the model's limit is cut into windows: each window *owns* a run of
words (its core) and sees up to ``context`` subwords of the neighbouring words on either side.
Labels and predictions come only from the core, so every word is labelled exactly once and
nothing is silently truncated.
"""

from __future__ import annotations

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


def encode(
    tokenizer: Any, sentences: Sequence[Sequence[str]], max_length: int = 256
) -> list[Window]:
    """Subword windows for every sentence, in order (``Window.item`` indexes ``sentences``)."""
    windows: list[Window] = []
    if not sentences:
        return windows
    encoded = tokenizer([list(s) for s in sentences], is_split_into_words=True,
                        add_special_tokens=False)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for item in range(len(sentences)):
        ids, word_ids = encoded["input_ids"][item], encoded.word_ids(item)
        pieces = _pieces_per_word(len(sentences[item]), ids, word_ids, (max_length - 2) // 4)
        for core, left, right in _windows([len(p) for p in pieces], max_length - 2):
            input_ids, first = [cls], [-1]
            for word in range(left, right):
                input_ids += pieces[word]
                owned = core[0] <= word < core[1] and pieces[word]
                first += [word if owned else -1] + [-1] * (len(pieces[word]) - 1)
            windows.append(Window(item, input_ids + [sep], first + [-1]))
    return windows


def _pieces_per_word(
    n_words: int, ids: list[int], word_ids: list[int | None], limit: int
) -> list[list[int]]:
    """Subword ids per word, at most ``limit`` each (a 500-piece "word" is noise, and must
    still fit a window); a word the tokenizer drops (a zero-width space) keeps none."""
    pieces: list[list[int]] = [[] for _ in range(n_words)]
    for token_id, word in zip(ids, word_ids):
        if word is not None and len(pieces[word]) < limit:
            pieces[word].append(token_id)
    return pieces


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


def collate(
    rows: Sequence[list[int]], pad_id: int, labels: Sequence[list[int]] | None = None
) -> dict[str, Any]:
    """Pad to the longest row: ``input_ids``, ``attention_mask`` and optional ``labels`` tensors."""
    import torch

    width = max(len(r) for r in rows)
    batch = {
        "input_ids": torch.tensor([r + [pad_id] * (width - len(r)) for r in rows]),
        "attention_mask": torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows]),
    }
    if labels is not None:
        batch["labels"] = torch.tensor([r + [IGNORE] * (width - len(r)) for r in labels])
    return batch
