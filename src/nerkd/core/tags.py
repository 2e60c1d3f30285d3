"""Tag schemes: read IOB1, IOB2, BIOES (and BILOU); convert; tags <-> token spans.

Every scheme is normalised to IOB2 the same way: ``S-``/``U-`` become ``B-``, ``E-``/``L-``
become ``I-``, and an ``I-X`` that does not continue an ``X`` entity becomes ``B-X``; an entity
ends at its ``E-``/``S-`` (``L-``/``U-``) tag, so an ``I-X`` or ``E-X`` after one starts another,
as in conlleval and seqeval. For IOB1
input that is exactly the IOB1 -> IOB2 conversion; for IOB2 input it *repairs* an ``I-`` after
``O`` (or after another type) by starting a new entity, as conlleval does. Nothing is rejected
except tags that belong to no scheme.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

from nerkd.core.errors import NerkdError

Scheme = Literal["iob1", "iob2", "bioes"]

# A type may not itself start with B- or I- (B-B-PER is a labelling mistake, not a type;
# E-MAIL or S-CLASS may be real types).
TAG_RE = re.compile(r"^(?:O|[BIESLU]-(?![BI]-)\S+)\Z")  # \Z: "B-PER\n" is no tag
_TO_IOB2_PREFIX = {"B": "B", "I": "I", "S": "B", "U": "B", "E": "I", "L": "I"}


class TokenSpan(NamedTuple):
    """Entity over tokens ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int
    label: str


def check_tag(tag: str) -> None:
    if tag not in _IOB2_FORMS and not TAG_RE.match(tag):  # a tag seen before is valid
        expected = "expected O, B-X, I-X, E-X or S-X"
        raise NerkdError(f"{tag!r} is not an IOB1/IOB2/BIOES tag ({expected})")


def split_tag(tag: str) -> tuple[str, str]:
    """``'B-PER'`` -> ``('B', 'PER')``; ``'O'`` -> ``('O', '')``."""
    return ("O", "") if tag == "O" else (tag[0], tag[2:])


def to_iob2(tags: Sequence[str]) -> list[str]:
    """Normalise any supported scheme to IOB2 (see the module docstring for the rule)."""
    out: list[str] = []
    previous_label = ""
    forms = _IOB2_FORMS
    for tag in tags:
        prefix, label, begin, inside, ends = forms.get(tag) or _iob2_forms(tag)
        if prefix == "I" and previous_label == label:
            out.append(inside)
        else:
            out.append(begin)  # "O" for O; an I- that continues nothing starts an entity
        previous_label = "" if ends else label
    return out


_IOB2_FORMS: dict[str, tuple[str, str, str, str, bool]] = {}


def _iob2_forms(tag: str) -> tuple[str, str, str, str, bool]:
    """A tag checked and read once (a file or a model repeats a handful of tags): its IOB2
    prefix, its type, its IOB2 spellings as a beginning and as a continuation, and whether
    it ends its entity (E-, S-, L-, U-). An invalid tag raises and is not kept; the table is
    bounded against endless new types."""
    check_tag(tag)
    prefix, label = split_tag(tag)
    forms = ("O", "", "O", "O", False) if prefix == "O" else (
        _TO_IOB2_PREFIX[prefix], label, f"B-{label}", f"I-{label}", prefix in "ESLU")
    if len(_IOB2_FORMS) < 4096:
        _IOB2_FORMS[tag] = forms
    return forms


def iob2_spans(tags: Sequence[str]) -> list[TokenSpan]:
    """Entities of an IOB2 sequence (normalising first, so any scheme works)."""
    spans: list[TokenSpan] = []
    start, label = 0, ""
    for i, tag in enumerate([*to_iob2(tags), "O"]):  # the "O" closes a last entity
        if tag[0] == "I":
            continue
        if label:
            spans.append(TokenSpan(start, i, label))
        start, label = i, tag[2:]
    return spans


def spans_to_iob2(length: int, spans: Sequence[TokenSpan]) -> list[str]:
    """IOB2 tags for ``length`` tokens; overlapping spans are an error."""
    tags = ["O"] * length
    for span in sorted(spans):
        if not 0 <= span.start < span.end <= length:
            raise NerkdError(f"entity span {span.start}-{span.end} outside 0-{length}")
        if any(tag != "O" for tag in tags[span.start : span.end]):
            raise NerkdError(f"entity spans overlap at tokens {span.start}-{span.end}")
        tags[span.start] = f"B-{span.label}"
        tags[span.start + 1 : span.end] = [f"I-{span.label}"] * (span.end - span.start - 1)
    return tags


def from_iob2(tags: Sequence[str], scheme: Scheme) -> list[str]:
    """Write IOB2 tags in another scheme."""
    if scheme == "iob2":
        return list(tags)
    out = ["O"] * len(tags)
    spans = iob2_spans(tags)
    for span in spans:
        out[span.start : span.end] = _span_tags(span, scheme, spans)
    return out


def _span_tags(span: TokenSpan, scheme: Scheme, spans: Sequence[TokenSpan]) -> list[str]:
    n = span.end - span.start
    if scheme == "bioes":
        if n == 1:
            return [f"S-{span.label}"]
        return [f"B-{span.label}"] + [f"I-{span.label}"] * (n - 2) + [f"E-{span.label}"]
    # IOB1: B- only where an entity directly follows another of the same type.
    follows_same = any(s.end == span.start and s.label == span.label for s in spans)
    first = "B" if follows_same else "I"
    return [f"{first}-{span.label}"] + [f"I-{span.label}"] * (n - 1)
