"""The record: one sentence or short text, with tokens, IOB2 tags and character spans.

Schema version 1 (see README): ``id``, ``text``, ``tokens``, ``tags``, ``spans``, ``source``,
``meta``; CoNLL input adds ``columns`` (the middle columns, per token) and ``docstart`` (the
``-DOCSTART-`` line that precedes the sentence). Unknown keys pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.errors import NerkdError
from nerkd.core.offsets import Offsets, align_tokens, char_spans, token_spans
from nerkd.core.tags import iob2_spans, spans_to_iob2, to_iob2

SCHEMA_VERSION = 1
SOURCES = ("gold", "silver", "synthetic")
KNOWN_KEYS = ("id", "text", "tokens", "tags", "spans", "source", "meta", "columns", "docstart")

Tokenizer = Callable[[str], list[tuple[str, int, int]]]


@dataclass
class Record:
    """A tokenised text; ``tags`` is None when the record carries no labels."""

    tokens: list[str]
    text: str
    offsets: Offsets
    tags: list[str] | None = None
    spans: list[dict] | None = None
    id: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    columns: list[list[str]] | None = None
    docstart: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def labelled(self) -> bool:
        return self.tags is not None

    def with_tags(self, tags: Sequence[str] | None) -> Record:
        """A copy carrying ``tags`` (any scheme; stored as IOB2) and matching spans."""
        copy = Record(**{**self.__dict__, "meta": dict(self.meta), "extra": dict(self.extra)})
        copy.tags, copy.spans = None, None
        if tags is not None:
            copy.tags = to_iob2(tags)
            copy.spans = char_spans(self.text, self.offsets, iob2_spans(copy.tags))
        return copy

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object, known keys first, unknown keys after."""
        obj: dict[str, Any] = {"id": self.id, "text": self.text, "tokens": self.tokens}
        if self.tags is not None:
            obj["tags"], obj["spans"] = self.tags, self.spans
        if self.source is not None:
            obj["source"] = self.source
        obj["meta"] = self.meta
        if self.columns is not None:
            obj["columns"] = self.columns
        if self.docstart is not None:
            obj["docstart"] = self.docstart
        return {**obj, **self.extra}


def make_record(
    tokens: Sequence[str],
    tags: Sequence[str] | None = None,
    *,
    text: str | None = None,
    offsets: Offsets | None = None,
    **fields: Any,
) -> Record:
    """Build a record from tokens (and optional tags); text defaults to the tokens joined."""
    if tags is not None and len(tags) != len(tokens):
        raise NerkdError(f"{len(tokens)} tokens but {len(tags)} tags")
    if text is None:
        text = " ".join(tokens)
    if offsets is None:
        offsets = align_tokens(tokens, text)
    record = Record(tokens=list(tokens), text=text, offsets=offsets, **fields)
    return record.with_tags(tags) if tags is not None else record


def record_from_json(obj: Any, tokenize: Tokenizer | None = None) -> Record:
    """Parse a schema-1 JSON object; derive tokens from text, tags from spans, and so on."""
    if not isinstance(obj, dict):
        raise NerkdError(f"expected a JSON object, got {type(obj).__name__}")
    fields = _plain_fields(obj)
    tokens, text, offsets = _tokens_and_text(obj, tokenize)
    tags = obj.get("tags")
    if tags is None and obj.get("spans") is not None:
        tags = spans_to_iob2(len(tokens), token_spans(offsets, _check_spans(obj["spans"], text)))
    if tags is not None and not _is_str_list(tags):
        raise NerkdError("'tags' must be a list of strings")
    record = make_record(tokens, tags, text=text, offsets=offsets, **fields)
    if obj.get("spans") is not None and record.tags is not None:
        record.spans = _carry_span_extras(record.spans or [], obj["spans"])
    return record


def _plain_fields(obj: dict[str, Any]) -> dict[str, Any]:
    source = obj.get("source")
    if source is not None and source not in SOURCES:
        raise NerkdError(f"'source' must be one of {', '.join(SOURCES)}, got {source!r}")
    meta = obj.get("meta") or {}
    if not isinstance(meta, dict):
        raise NerkdError("'meta' must be a JSON object")
    return {
        "id": None if obj.get("id") is None else str(obj["id"]),
        "source": source,
        "meta": meta,
        "columns": obj.get("columns"),
        "docstart": obj.get("docstart"),
        "extra": {k: v for k, v in obj.items() if k not in KNOWN_KEYS},
    }


def _tokens_and_text(obj: dict[str, Any], tokenize: Tokenizer | None) -> tuple[list, str, Offsets]:
    tokens, text = obj.get("tokens"), obj.get("text")
    if text is not None and not isinstance(text, str):
        raise NerkdError("'text' must be a string")
    if tokens is not None:
        if not _is_str_list(tokens):
            raise NerkdError("'tokens' must be a list of strings")
        text = " ".join(tokens) if text is None else text
        return tokens, text, align_tokens(tokens, text)
    if text is None:
        raise NerkdError("record has neither 'tokens' nor 'text'")
    if tokenize is None:
        from nerkd.core.tokenize import tokenize as default_tokenize

        tokenize = default_tokenize  # type: ignore[assignment]
    found = tokenize(text)  # type: ignore[misc]
    return [t[0] for t in found], text, [(t[1], t[2]) for t in found]


def _check_spans(spans: Any, text: str) -> list[dict]:
    if not isinstance(spans, list):
        raise NerkdError("'spans' must be a list")
    for span in spans:
        if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
            raise NerkdError("each span needs 'start', 'end' and 'label'")
        if not 0 <= span["start"] < span["end"] <= len(text):
            raise NerkdError(f"span {span['start']}-{span['end']} outside the text")
    return spans


def _carry_span_extras(derived: list[dict], given: list[dict] | None) -> list[dict]:
    """Keep extra keys (e.g. confidence) of input spans that survive unchanged."""
    if not given:
        return derived
    by_key = {(s.get("start"), s.get("end"), s.get("label")): s for s in given}
    return [{**by_key.get((s["start"], s["end"], s["label"]), {}), **s} for s in derived]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
