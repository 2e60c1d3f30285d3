"""The record: one sentence or short text, with tokens, IOB2 tags and character spans, or a
document-level class.

The record schema (see README): ``id``, ``text``, ``tokens``, ``tags``, ``spans``, ``label``
(the class of the whole text, for text classification), ``source``, ``meta``; CoNLL input adds
``columns`` (the middle columns, per token) and ``docstart`` (the ``-DOCSTART-`` line that
precedes the sentence). Unknown keys pass through untouched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.offsets import Offsets, align_tokens, char_spans, token_spans
from nerkd.core.tags import iob2_spans, spans_to_iob2, to_iob2

SOURCES = ("gold", "silver", "synthetic")
# The meta keys that say who made a record's labels: a machine relabelling it drops them.
PROVENANCE = ("teacher", "backend", "prompt", "votes", "confidence", "predicted_by")
KNOWN_KEYS = ("id", "text", "tokens", "tags", "spans", "label", "source", "meta", "columns",
              "docstart")

Tokenizer = Callable[[str], list[tuple[str, int, int]]]


@dataclass
class Record:
    """A tokenised text; ``tags`` is None when the record carries no labels."""

    tokens: list[str]
    text: str
    offsets: Offsets
    tags: list[str] | None = None
    spans: list[dict] | None = None
    label: str | None = None
    id: str | None = None
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    columns: list[list[str]] | None = None
    docstart: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Where a reader found it (its first line), so later checks can name the line; never written.
    line: int | None = field(default=None, compare=False, repr=False)
    # IOB tags as given, where reading them as IOB2 repaired them (an I- that opens an
    # entity): what ``eval --mode strict`` scores; never written.
    written_tags: list[str] | None = field(default=None, compare=False, repr=False)

    @property
    def labelled(self) -> bool:
        """Tags (entities) or a class (a document's label)."""
        return self.tags is not None or self.label is not None

    def carries(self, task: str) -> bool:
        """Whether the record holds the labels ``task`` makes: tags (``ner``) or a class."""
        return (self.tags if task == "ner" else self.label) is not None

    def with_tags(self, tags: Sequence[str] | None) -> Record:
        """A copy carrying ``tags`` (any scheme; stored as IOB2) and matching spans."""
        copy = Record(**{**self.__dict__, "meta": dict(self.meta), "extra": dict(self.extra)})
        copy.tags, copy.spans, copy.written_tags = None, None, None
        if tags is not None:
            copy.tags = to_iob2(tags)
            copy.spans = char_spans(self.text, self.offsets, iob2_spans(copy.tags))
            if list(tags) != copy.tags and all(t[:2] in ("B-", "I-") or t == "O" for t in tags):
                copy.written_tags = list(tags)
        return copy

    def silver(self, tags: Sequence[str] | None = None, label: str | None = None) -> Record:
        """A copy carrying one task's machine labels, ``tags`` or a class ``label``, and no
        other: ``source`` speaks for every label of a record, so gold labels of the other task
        would be passed off as silver (and tags kept beside a class make it an entity record);
        the old labels' provenance in ``meta`` goes with them."""
        if (tags is None and self.tags is not None) or (label is None and self.label is not None):
            warnings.warn("records that held the other task's labels (entity tags or a class) "
                          "are written with the machine's labels only", NerkdWarning,
                          stacklevel=2)
        copy = self.with_tags(tags)
        copy.label, copy.source = label, "silver"
        copy.meta = {k: v for k, v in self.meta.items() if k not in PROVENANCE}
        return copy

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object, known keys first, unknown keys after."""
        obj: dict[str, Any] = {"id": self.id, "text": self.text, "tokens": self.tokens}
        if self.tags is not None:
            obj["tags"], obj["spans"] = self.tags, self.spans
        if self.label is not None:
            obj["label"] = self.label
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


def require_labels(records: Sequence[Record], what: str, task: str | None = None,
                   why: str | None = None) -> None:
    """Fail before any work when ``records`` carry none of what ``task`` scores: tags for
    ``ner``, classes for ``classify``, either for None; ``why`` they are needed ends the
    message."""
    tagged = any(r.carries("ner") and r.tokens for r in records)
    classed = any(r.carries("classify") for r in records)
    if task == "ner" and not tagged:
        raise NerkdError(f"{what}: no tagged records ({why or 'scoring entities needs gold tags'})")
    if task == "classify" and not classed:
        raise NerkdError(f"{what}: no labelled documents ({why or 'scoring needs gold classes'})")
    if not (tagged or classed):
        raise NerkdError(f"{what}: no labelled records ({why or 'scoring needs gold labels'})")


def failure(record: Record, number: int, reason: str) -> dict[str, Any]:
    """A record a teacher could not label, for the run's report: its place in the input
    (from 1), its id (else that place) and why."""
    return {"record": number, "id": record.id or f"record {number}", "reason": reason}


def located(name: str, record: Record) -> str:
    """``name:line`` for a record a reader found there, else ``name``."""
    return f"{name}:{record.line}" if record.line is not None else name


def index_by_id(records: Sequence[Record], name: str) -> dict[str | None, Record]:
    """``records`` keyed by id, for pairing two files by id: an id used twice is an error
    (which of the two would be meant?), located at its second use."""
    found: dict[str | None, Record] = {}
    for record in records:
        if record.id in found:
            first = found[record.id].line
            where = f" (first at line {first})" if first is not None else ""
            raise NerkdError(f"--by-id: id {record.id} appears twice{where}", name, record.line)
        found[record.id] = record
    return found


def unmatched(gold: Sequence[Record], pred: Sequence[Record], names: tuple[str, str],
              what: str) -> NerkdError:
    """The error for two streams that should pair up but differ in length, located at the
    first record the shorter one lacks; ``what`` names one record (``sentence``)."""
    def count(n: int) -> str:
        return f"{n} {what}{'' if n == 1 else 's'}"

    k = min(len(gold), len(pred))
    longer, name = (gold, names[0]) if len(gold) > len(pred) else (pred, names[1])
    return NerkdError(f"{count(len(gold))} in {names[0]} but {count(len(pred))} in {names[1]}; "
                      f"the first unmatched is {what} {k} (id {longer[k].id})", name,
                      longer[k].line)


def record_from_json(obj: Any, tokenize: Tokenizer | None = None,
                     default_id: str | None = None, label_field: str = "label") -> Record:
    """Parse a JSON record, checking every field; derive tokens from text, tags from spans,
    and so on. A record without an ``id`` gets ``default_id``; its class is read from
    ``label_field`` (another name, such as ``topic``, is moved to ``label``)."""
    if not isinstance(obj, dict):
        raise NerkdError(f"expected a JSON object, got {type(obj).__name__}")
    if label_field != "label" and label_field in obj:
        obj = {**{k: v for k, v in obj.items() if k not in (label_field, "label")},
               "label": obj[label_field]}
    fields = _plain_fields(obj, default_id)
    tokens, text, offsets = _tokens_and_text(obj, tokenize)
    _check_columns(fields["columns"], len(tokens))
    tags = obj.get("tags")
    if tags is not None and not _is_str_list(tags):
        raise NerkdError("'tags' must be a list of strings")
    from_spans = None
    if obj.get("spans") is not None:
        from_spans = spans_to_iob2(len(tokens),
                                   token_spans(offsets, _check_spans(obj["spans"], text)))
    record = make_record(tokens, from_spans if tags is None else tags, text=text,
                         offsets=offsets, **fields)
    if tags is not None and from_spans is not None and record.tags != from_spans:
        warnings.warn("a record's 'spans' and 'tags' disagree: the tags are kept",
                      NerkdWarning, stacklevel=2)
    if obj.get("spans") is not None and record.tags is not None:
        record.spans = _carry_span_extras(record.spans or [], obj["spans"])
    return record


def _plain_fields(obj: dict[str, Any], default_id: str | None) -> dict[str, Any]:
    source = obj.get("source")
    if source is not None and source not in SOURCES:
        raise NerkdError(f"'source' must be one of {', '.join(SOURCES)}, got {source!r}")
    meta = {} if obj.get("meta") is None else obj["meta"]
    if not isinstance(meta, dict):
        raise NerkdError("'meta' must be a JSON object")
    record_id = obj.get("id")
    if record_id is not None and (not isinstance(record_id, str | int) or record_id is True
                                  or record_id is False):
        raise NerkdError("'id' must be a string")
    docstart = obj.get("docstart")
    if docstart is not None and not (isinstance(docstart, str) and _is_docstart(docstart)):
        raise NerkdError(f"'docstart' must be a CoNLL document marker line (such as "
                         f"'-DOCSTART- -X- -X- O'), got {docstart!r}")
    _check_plan_fields(obj)
    return {
        "id": default_id if record_id is None else str(record_id),
        "label": _class_label(obj.get("label")),
        "source": source,
        "meta": meta,
        "columns": obj.get("columns"),
        "docstart": None if docstart is None else docstart.strip(),  # as CoNLL reads it
        "extra": {k: v for k, v in obj.items() if k not in KNOWN_KEYS},
    }


def _class_label(label: Any) -> str | None:
    """A document's class: a non-empty one-line string without spaces around it ("sport " is
    not "sport", and as a class of its own it would split one); an integer is read as text."""
    if label is None:
        return None
    if _is_int(label):
        return str(label)
    if (not isinstance(label, str) or not label.strip() or label != label.strip()
            or "\n" in label or "\r" in label):
        raise NerkdError(f"'label' must be a class name (a non-empty line, no spaces around "
                         f"it) or an integer, got {label!r}")
    return label


def _check_plan_fields(obj: dict[str, Any]) -> None:
    """A plan's ``epoch`` (an integer >= 0) and ``weight`` (a finite number >= 0)."""
    epoch, weight = obj.get("epoch"), obj.get("weight")
    if "epoch" in obj and (not _is_int(epoch) or epoch < 0):
        raise NerkdError(f"'epoch' must be an integer >= 0, got {epoch!r}")
    if "weight" in obj and (not _is_number(weight) or not math.isfinite(weight) or weight < 0):
        raise NerkdError(f"'weight' must be a finite number >= 0, got {weight!r}")


def _tokens_and_text(obj: dict[str, Any], tokenize: Tokenizer | None) -> tuple[list, str, Offsets]:
    tokens, text = obj.get("tokens"), obj.get("text")
    if text is not None and not isinstance(text, str):
        raise NerkdError("'text' must be a string")
    if tokens is not None:
        _check_tokens(tokens)
        text = " ".join(tokens) if text is None else text
        return tokens, text, align_tokens(tokens, text)
    if text is None:
        raise NerkdError("record has neither 'tokens' nor 'text'")
    if tokenize is None:
        from nerkd.core.tokenize import tokenize as default_tokenize

        tokenize = default_tokenize  # type: ignore[assignment]
    found = tokenize(text)  # type: ignore[misc]
    return [t[0] for t in found], text, [(t[1], t[2]) for t in found]


def _check_tokens(tokens: Any) -> None:
    """Tokens are non-empty strings without whitespace (a CoNLL row could not hold them)."""
    if not _is_str_list(tokens):
        raise NerkdError("'tokens' must be a list of strings")
    for i, token in enumerate(tokens):
        if not _is_word(token):
            problem = "is empty" if not token else f"{token!r} contains whitespace"
            raise NerkdError(f"token {i} {problem}")


def _check_columns(columns: Any, count: int) -> None:
    """CoNLL middle columns: one list of whitespace-free strings per token, all as wide."""
    if columns is None:
        return
    if not isinstance(columns, list) or not all(_is_str_list(row) for row in columns):
        raise NerkdError("'columns' must be a list of lists of strings")
    if len(columns) != count:
        raise NerkdError(f"'columns' has {len(columns)} rows for {count} tokens")
    if len({len(row) for row in columns}) > 1:
        raise NerkdError("'columns' rows differ in width")
    if not all(_is_word(cell) for row in columns for cell in row):
        raise NerkdError("'columns' cells must be non-empty and without whitespace")


def _check_spans(spans: Any, text: str) -> list[dict]:
    if not isinstance(spans, list):
        raise NerkdError("'spans' must be a list")
    for span in spans:
        if not isinstance(span, dict) or not {"start", "end", "label"} <= span.keys():
            raise NerkdError("each span needs 'start', 'end' and 'label'")
        start, end, label = span["start"], span["end"], span["label"]
        if not (_is_int(start) and _is_int(end)):
            raise NerkdError(f"span offsets must be integers, got {start!r}-{end!r}")
        if not 0 <= start < end <= len(text):
            raise NerkdError(f"span {start}-{end} outside the text")
        if not isinstance(label, str) or not _is_word(label):
            raise NerkdError(f"span label must be a word, got {label!r}")
        said = span.get("text")
        if isinstance(said, str) and said != text[start:end]:
            raise NerkdError(f"span {start}-{end} gives its text as {said!r}, but the text "
                             f"there is {text[start:end]!r} (offsets count characters, not "
                             "UTF-16 units or bytes)")
    return spans


def _carry_span_extras(derived: list[dict], given: list[dict] | None) -> list[dict]:
    """Keep extra keys (e.g. confidence) of input spans that survive unchanged."""
    if not given:
        return derived
    by_key = {(s.get("start"), s.get("end"), s.get("label")): s for s in given}
    return [{**by_key.get((s["start"], s["end"], s["label"]), {}), **s} for s in derived]


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_docstart(line: str) -> bool:
    """A CoNLL document marker: one line whose first field is -DOCSTART-."""
    return line.split()[:1] == ["-DOCSTART-"] and "\n" not in line and "\r" not in line


def _is_word(text: str) -> bool:
    """Non-empty and without whitespace of any kind (one C-level split, not a loop)."""
    return text.split() == [text]
