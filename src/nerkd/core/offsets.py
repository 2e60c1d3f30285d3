"""Character offsets: tokens located in their text, token spans <-> character spans."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.tags import TokenSpan

Offsets = list[tuple[int, int]]


def joined_offsets(tokens: Sequence[str]) -> Offsets:
    """Offsets of ``tokens`` in ``" ".join(tokens)``."""
    offsets: Offsets = []
    position = 0
    for token in tokens:
        offsets.append((position, position + len(token)))
        position += len(token) + 1
    return offsets


def align_tokens(tokens: Sequence[str], text: str) -> Offsets:
    """Locate each token in ``text``, in order; tokens must appear verbatim."""
    if text == " ".join(tokens):
        return joined_offsets(tokens)
    offsets: Offsets = []
    position = 0
    for i, token in enumerate(tokens):
        start = text.find(token, position)
        if start < 0 or text[position:start].strip():
            raise NerkdError(f"token {i} '{token}' not found in text after offset {position}")
        offsets.append((start, start + len(token)))
        position = start + len(token)
    return offsets


def char_spans(text: str, offsets: Offsets, spans: Sequence[TokenSpan]) -> list[dict]:
    """Token spans as ``{"start", "end", "label", "text"}`` character spans into ``text``."""
    result = []
    for span in spans:
        start, end = offsets[span.start][0], offsets[span.end - 1][1]
        result.append({"start": start, "end": end, "label": span.label, "text": text[start:end]})
    return result


def snap_to_tokens(offsets: Offsets, start: int, end: int) -> tuple[int, int] | None:
    """Smallest token range covering every token that overlaps ``[start, end)``; None if none."""
    covered = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
    return (covered[0], covered[-1] + 1) if covered else None


def token_spans(offsets: Offsets, spans: Sequence[dict]) -> list[TokenSpan]:
    """Character spans snapped to token boundaries; a span covering no token is an error, one
    whose edge falls inside a token is widened to the whole token, with a warning."""
    result = []
    for span in spans:
        start, end = int(span["start"]), int(span["end"])
        snapped = snap_to_tokens(offsets, start, end)
        if snapped is None:
            raise NerkdError(f"span {start}-{end} covers no token")
        if offsets[snapped[0]][0] < start or offsets[snapped[1] - 1][1] > end:
            warnings.warn("a span's edge falls inside a token (such as 'EU' in 'EU-backed'): "
                          "it is widened to whole tokens, the unit the student tags",
                          NerkdWarning, stacklevel=2)
        result.append(TokenSpan(snapped[0], snapped[1], str(span["label"])))
    _check_apart(result, [(int(s["start"]), int(s["end"])) for s in spans])
    return result


def _check_apart(snapped: list[TokenSpan], chars: list[tuple[int, int]]) -> None:
    """Spans apart in the text that widening made share a token ('Anglo' and 'French' in
    'Anglo-French'): one token takes one tag, so say so rather than call them overlapping."""
    placed = sorted(zip(snapped, chars), key=lambda pair: (pair[0].start, pair[1]))
    for (a, (a_start, a_end)), (b, (b_start, b_end)) in zip(placed, placed[1:]):
        if b.start < a.end and a_end <= b_start:
            raise NerkdError(f"spans {a_start}-{a_end} and {b_start}-{b_end} fall in the same "
                             f"token (token {b.start}), which takes one tag: give tokens that "
                             "split it, or one span")
