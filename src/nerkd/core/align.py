"""Entity strings -> character spans -> token spans.

LLMs name entities, not offsets. Each ``(text, label)`` is placed in the sentence by trying,
in order: the exact string at or after the previous entity (``exact``); the exact string
anywhere (the nth mention of a string takes its nth occurrence); the same ignoring case
(``relaxed``); and, if ``fuzzy`` is set, the most similar run of tokens, bounded in length and
similarity (``fuzzy``). A match must begin and end on token boundaries (a token's final
period may be left out: ``Acme Corp`` matches the tokens ``Acme Corp.``). Labels are upper-cased,
mapped through ``label_map``, else (outside the schema) through the built-in aliases, and
dropped when still outside.

A match longer than ``MAX_ENTITY_TOKENS`` tokens is dropped (``too_long``): small teachers
sometimes return a whole clause as one "entity", and no CoNLL-2003 entity is that long.
A mention is also looked for composed and decomposed (Unicode NFC, NFD), and a match loses the
tokens of sentence punctuation, quotes or brackets at its edges (``London.`` tags ``London``,
not the full stop).

Overlaps: spans are accepted longest first (earlier-listed first among equals); a span that
overlaps one already accepted is dropped (reason ``overlap``).

With ``repeats`` set, every further exact occurrence of an accepted entity's text (as matched,
or as the teacher wrote it) that no span covers gets its label too (``repeat``): a writer asked
to label every entity of a sentence it wrote lists "Kim" once in "Kim saw Kim", and the second
"Kim" would teach the student O.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nerkd.core.offsets import Offsets
from nerkd.core.tags import TokenSpan

DEFAULT_LABEL_MAP = {
    "PERSON": "PER", "PEOPLE": "PER", "ORGANIZATION": "ORG", "ORGANISATION": "ORG",
    "COMPANY": "ORG", "LOCATION": "LOC", "GPE": "LOC", "PLACE": "LOC", "COUNTRY": "LOC",
    "CITY": "LOC", "MISCELLANEOUS": "MISC", "NORP": "MISC", "EVENT": "MISC",
}
FUZZY_MIN_RATIO = 0.85
_ENCLOSING = {"Ps", "Pe", "Pi", "Pf"}  # brackets and quotation marks
MAX_ENTITY_TOKENS = 10


@dataclass
class Alignment:
    """Token spans found, and what happened to every proposed entity."""

    spans: list[TokenSpan] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


@dataclass
class _Placed:
    order: int
    start: int  # token indices
    end: int
    label: str
    how: str
    mention: str = ""  # as the teacher wrote it


def align_entities(
    entities: Sequence[tuple[str, str]],
    text: str,
    offsets: Offsets,
    labels: Sequence[str],
    label_map: Mapping[str, str] | None = None,
    fuzzy: bool = False,
    repeats: bool = False,
) -> Alignment:
    """Place ``entities`` in ``text`` (tokens at ``offsets``); see the module docstring."""
    result = Alignment()
    mapping = {k.upper(): v for k, v in (label_map or {}).items()}
    starts = {s: i for i, (s, _) in enumerate(offsets)}
    ends = {e: i for i, (_, e) in enumerate(offsets)}
    for i, (s, e) in enumerate(offsets):  # "Acme Corp" names the token "Corp." too
        if e - s > 1 and text[e - 1] == ".":
            ends.setdefault(e - 1, i)
    placed: list[_Placed] = []
    cursor, seen = 0, Counter[str]()
    for order, (mention, raw_label) in enumerate(entities):
        label = _schema_label(raw_label, labels, mapping)
        if label is None:
            result.counts["dropped_label"] += 1
            continue
        mention = mention.strip()
        seen[mention] += 1
        found = _locate(mention, text, cursor, seen[mention], starts, ends)
        for spelling in _other_normal_forms(mention) if found is None else []:
            found = found or _locate(spelling, text, cursor, seen[mention], starts, ends)
        if found is None and fuzzy and mention:  # a blank mention is like no other
            found = _fuzzy(mention, text, offsets)
        if found is None:
            result.counts["dropped_not_found"] += 1
            continue
        (start, end), how = found
        start, end = _inside_punctuation(start, end, text, offsets)
        if end - start > MAX_ENTITY_TOKENS:
            result.counts["dropped_too_long"] += 1
            continue
        cursor = offsets[end - 1][1]
        placed.append(_Placed(order, start, end, label, how, mention))
    taken = _without_overlaps(placed, result.counts)
    if repeats:
        taken += _repeats(taken, text, offsets, starts, ends, result.counts)
    result.spans = sorted(TokenSpan(p.start, p.end, p.label) for p in taken)
    return result


def _other_normal_forms(mention: str) -> list[str]:
    """The mention composed and decomposed, where that changes it: "José" typed with one
    code point or two is the same name (a teacher answers NFC for NFD input)."""
    forms = {unicodedata.normalize(form, mention) for form in ("NFC", "NFD")}
    return sorted(forms - {mention})


def _inside_punctuation(start: int, end: int, text: str, offsets: Offsets) -> tuple[int, int]:
    """The span without tokens of sentence punctuation, quotes or brackets alone at its
    edges: "London." or a quoted title names the entity, not the full stop or the quotes
    (CoNLL never tags them). Other signs are part of names: C++, C#, Yahoo! (so "Paris!"
    keeps its "!")."""
    def bare(i: int) -> bool:
        return all(c in ".,;:?'\"`" or unicodedata.category(c) in _ENCLOSING
                   for c in text[offsets[i][0] : offsets[i][1]])

    while end - start > 1 and bare(end - 1):
        end -= 1
    while end - start > 1 and bare(start):
        start += 1
    return start, end


def _schema_label(raw: str, labels: Sequence[str], mapping: Mapping[str, str]) -> str | None:
    """The schema label a teacher's label names: the user's ``mapping`` first, then the label
    itself when in the schema (``--labels PERSON,CITY`` keeps both), else the built-in
    aliases."""
    label = raw.strip().upper()
    if label in mapping:
        label = mapping[label]
    elif label not in labels:
        label = DEFAULT_LABEL_MAP.get(label, label)
    return label if label in labels else None


def _locate(mention: str, text: str, cursor: int, nth: int, starts: dict[int, int],
            ends: dict[int, int]) -> tuple[tuple[int, int], str] | None:
    if not mention:
        return None
    exact = _occurrences(mention, text, starts, ends, fold_case=False)
    after = [m for m in exact if m[2] >= cursor]
    if after:
        return after[0][:2], "exact"
    if exact:
        return exact[min(nth, len(exact)) - 1][:2], "exact"
    relaxed = _occurrences(mention, text, starts, ends, fold_case=True)
    if relaxed:
        later = [m for m in relaxed if m[2] >= cursor] or relaxed
        return later[0][:2], "relaxed"
    return None


def _occurrences(mention: str, text: str, starts: dict[int, int], ends: dict[int, int],
                 fold_case: bool) -> list[tuple[int, int, int]]:
    """Token-aligned matches as ``(first_token, end_token, char_start)``."""
    haystack, needle = (text.lower(), mention.lower()) if fold_case else (text, mention)
    if len(haystack) != len(text) or len(needle) != len(mention):  # lower() moved offsets
        places = [m.span() for m in re.finditer(re.escape(mention), text, re.IGNORECASE)]
    else:  # str.find, not a regex: a compiled pattern per entity costs more than the search
        places, at = [], haystack.find(needle)
        while at >= 0:
            places.append((at, at + len(needle)))
            at = haystack.find(needle, at + len(needle))
    return [(starts[start], ends[end] + 1, start) for start, end in places
            if start in starts and end in ends]


def _fuzzy(mention: str, text: str, offsets: Offsets) -> tuple[tuple[int, int], str] | None:
    """The most similar token run of about the mention's length (ratio >= 0.85)."""
    width = len(mention.split())
    best, best_ratio = None, FUZZY_MIN_RATIO
    for size in {max(1, width - 1), width, width + 1}:
        for start in range(0, len(offsets) - size + 1):
            candidate = text[offsets[start][0] : offsets[start + size - 1][1]]
            ratio = difflib.SequenceMatcher(None, mention.lower(), candidate.lower()).ratio()
            if ratio > best_ratio:
                best, best_ratio = (start, start + size), ratio
    return (best, "fuzzy") if best else None


def _without_overlaps(placed: list[_Placed], counts: Counter[str]) -> list[_Placed]:
    taken: list[_Placed] = []
    for candidate in sorted(placed, key=lambda p: (p.start - p.end, p.order)):
        if _overlaps(candidate.start, candidate.end, taken):
            counts["dropped_overlap"] += 1
            continue
        taken.append(candidate)
        counts[f"aligned_{candidate.how}"] += 1
    return taken


def _repeats(taken: list[_Placed], text: str, offsets: Offsets, starts: dict[int, int],
             ends: dict[int, int], counts: Counter[str]) -> list[_Placed]:
    """Uncovered exact occurrences of the accepted entities, as matched and as the teacher
    wrote them ("Acme Corp" matched "Acme Corp." once and recurs without the period),
    longest entity first."""
    added: list[_Placed] = []
    for span in sorted(taken, key=lambda p: (p.start - p.end, p.order)):
        matched = text[offsets[span.start][0] : offsets[span.end - 1][1]]
        for mention in dict.fromkeys(m for m in (matched, span.mention) if m):
            for start, end, _ in _occurrences(mention, text, starts, ends, fold_case=False):
                if not _overlaps(start, end, taken + added):
                    added.append(_Placed(span.order, start, end, span.label, "repeat"))
                    counts["aligned_repeat"] += 1
    return added


def _overlaps(start: int, end: int, spans: Sequence[_Placed]) -> bool:
    return any(start < s.end and s.start < end for s in spans)
