"""Record readers and writers for JSONL, CoNLL and raw text, with format sniffing.

Readers are lazy iterators: memory stays flat however large the input. Every error names the
file and line it comes from.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.io import STDOUT_NAME, display_name, open_output, read_lines, stdout_file
from nerkd.core.records import Record, make_record, record_from_json
from nerkd.core.tags import TAG_RE, Scheme, check_tag, from_iob2

Format = Literal["jsonl", "conll", "text"]
TextUnit = Literal["sentence", "line"]  # what a record of raw text is
Lines = Iterator[tuple[int, str]]
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

DOCSTART = "-DOCSTART-"
MAX_CONLL_LINE = 100_000  # characters; a token line longer than this is not CoNLL
SNIFF_LINES = 50
_EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
    ".conll": "conll", ".conllu": "conll", ".bio": "conll", ".iob": "conll", ".iob2": "conll",
    ".bioes": "conll", ".tsv": "conll",
}


def format_from_name(path: str | Path) -> Format | None:
    """The format an extension promises (``.gz`` looked through); None if it promises none."""
    suffixes = Path(str(path)).suffixes
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _EXTENSIONS.get(suffixes[-1].lower()) if suffixes else None


def sniff(lines: list[str]) -> Format:
    """Guess the format of the first lines of a file (``.txt`` may hold CoNLL or raw text)."""
    content = [line for line in lines if line.strip()]
    if not content:
        return "text"
    rows = [line.split() for line in content if not line.startswith(DOCSTART)]
    # CoNLL: every row ends in a tag (a row of the wrong width is the reader's to name)
    conll = bool(rows) and all(len(row) >= 2 and TAG_RE.match(row[-1]) for row in rows)
    if content[0].lstrip().startswith("{") and not (conll and not _json_object(content[0])):
        return "jsonl"  # a CoNLL file may open with a "{" token
    return "conll" if conll else "text"


def _json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _trusted_format(name: str, named: Format | None, sniffed: Format) -> Format:
    """The format to read: the name's, unless the content plainly says otherwise (JSON
    objects, or well-formed CoNLL rows), in which case the content wins, with a warning."""
    if named is None:
        return sniffed
    if named != sniffed and sniffed in ("jsonl", "conll"):
        warnings.warn(f"{name} holds {sniffed.upper()}, not the {named.upper()} its name says; "
                      f"reading it as {sniffed.upper()}", NerkdWarning, stacklevel=2)
        return sniffed
    return named


def output_format(path: str | Path, requested: Format | None) -> Format:
    """The format to write: ``--to``, else the output's extension; for stdout, the extension
    of the file stdout is redirected to (``> silver.conll``); else JSONL."""
    if requested:
        return requested
    name = stdout_file() if str(path) == "-" else path
    return (format_from_name(name) if name else None) or "jsonl"


def read_records(path: str | Path, fmt: Format | None = None,
                 label_field: str = "label", text_unit: TextUnit = "sentence") -> Iterator[Record]:
    """Records of one file (or ``-``), in order, lazily; the format is sniffed when not given.
    JSONL records take their class from ``label_field``; raw text makes a record of each
    sentence, or with ``text_unit="line"`` of each line (a document to classify)."""
    lines = read_lines(path)
    name = display_name(path)
    if fmt is None:
        head = list(itertools.islice(lines, SNIFF_LINES))
        fmt = _trusted_format(name, format_from_name(path), sniff([line for _, line in head]))
        lines = itertools.chain(head, lines)
    stem = "stdin" if name == "<stdin>" else Path(name.removesuffix(".gz")).stem
    if fmt == "jsonl":
        return _locate_errors(_read_jsonl(lines, stem, label_field), name)
    if fmt == "text":
        return _locate_errors(_read_text(lines, stem, text_unit), name)
    return _locate_errors(_read_conll(lines, stem), name)


def _locate_errors(records: Iterator[tuple[int, Record]], name: str) -> Iterator[Record]:
    line = None
    try:
        for line, record in records:  # noqa: B007 - the line is read in the handler
            record.line = line
            yield record
    except NerkdError as error:
        raise error.located(name, line) from None


def _read_jsonl(lines: Lines, stem: str,
                label_field: str = "label") -> Iterator[tuple[int, Record]]:
    count = 0
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = record_from_json(_parse_json(line), default_id=f"{stem}-{count}",
                                      label_field=label_field)
        except NerkdError as error:
            raise error.located(line=number) from None
        count += 1
        yield number, record


def _parse_json(line: str) -> object:
    """One JSON value, strictly: no NaN or Infinity, no lone surrogates, no key given twice
    in an object (the last would win unseen), bounded nesting."""
    try:
        obj = json.loads(line, parse_constant=_reject_constant, parse_float=_finite,
                         object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as error:
        raise NerkdError(f"invalid JSON: {error.msg} (column {error.colno})") from None
    except RecursionError:
        raise NerkdError("invalid JSON: nested too deeply") from None
    except ValueError as error:  # e.g. an integer past Python's digit limit
        raise NerkdError(f"invalid JSON: {error}") from None
    if _SURROGATE_ESCAPE.search(line):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise NerkdError("invalid JSON: a lone surrogate escape (not a character)") from None
    return obj


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        keys = [key for key, _ in pairs]
        twice = next(key for i, key in enumerate(keys) if key in keys[:i])
        raise NerkdError(f"ambiguous JSON: key {twice!r} is given twice in one object")
    return obj


def _reject_constant(name: str) -> None:
    raise NerkdError(f"invalid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number as a float, refused where it is too large for one (it would be written
    back as Infinity, which is not JSON)."""
    value = float(text)
    if math.isinf(value):
        raise NerkdError(f"invalid JSON: {text} is too large for a number")
    return value


def _read_text(lines: Lines, stem: str, unit: TextUnit) -> Iterator[tuple[int, Record]]:
    from nerkd.core.tokenize import sentences, tokenize

    for number, line in lines:
        pieces = [tokenize(line)] if unit == "line" else sentences(line)
        for k, sentence in enumerate(piece for piece in pieces if piece):
            start, end = sentence[0].start, sentence[-1].end
            record = make_record(
                [t.text for t in sentence],
                text=line[start:end],
                offsets=[(t.start - start, t.end - start) for t in sentence],
                id=f"{stem}-{number}" if unit == "line" else f"{stem}-{number}-{k}",
            )
            yield number, record


def _read_conll(lines: Lines, stem: str) -> Iterator[tuple[int, Record]]:
    rows: list[list[str]] = []
    first_line, docstart, count, width = 0, None, 0, 0
    for number, line in lines:
        if len(line) > MAX_CONLL_LINE:
            message = f"line of {len(line)} characters is not a CoNLL token line"
            raise NerkdError(message, line=number)
        columns = line.split()
        if columns and columns[0] == DOCSTART:
            if rows:
                yield first_line, _conll_record(rows, stem, count, docstart)
                rows, docstart, count = [], None, count + 1
            elif docstart is not None:  # an empty document: keep its marker
                yield number, _conll_record([], stem, count, docstart)
                count += 1
            docstart = line.strip()
            continue
        if not columns:
            if rows:
                yield first_line, _conll_record(rows, stem, count, docstart)
                rows, docstart, count = [], None, count + 1
            continue
        width = width or len(columns)
        _check_row(columns, width, number)
        first_line = first_line if rows else number
        rows.append(columns)
    if rows or docstart is not None:
        yield first_line, _conll_record(rows, stem, count, docstart)


def _check_row(columns: list[str], width: int, number: int) -> None:
    if len(columns) != width:
        raise NerkdError(
            f"expected {width} columns like the first token line, got {len(columns)}", line=number
        )
    if width > 1:
        try:
            check_tag(columns[-1])
        except NerkdError as error:
            raise error.located(line=number) from None


def _conll_record(rows: list[list[str]], stem: str, index: int, docstart: str | None) -> Record:
    tokens = [row[0] for row in rows]
    labelled = bool(rows) and len(rows[0]) > 1
    tags = [row[-1] for row in rows] if labelled else None
    middle = [row[1:-1] for row in rows] if labelled else None
    columns = middle if middle and any(middle) else None
    return make_record(tokens, tags, id=f"{stem}-{index}", columns=columns, docstart=docstart)


def write_records(
    records: Iterable[Record], path: str | Path = "-", fmt: Format = "jsonl",
    scheme: Scheme = "iob2",
) -> int:
    """Write records (streaming to stdout, or atomically to a file); return how many. A
    record CoNLL cannot hold fails the write, naming the output."""
    render = {"jsonl": _jsonl_line, "conll": _conll_block, "text": _text_line}[fmt]
    count, width, empty = 0, None, 0
    name = STDOUT_NAME if str(path) == "-" else str(path)
    with open_output(path) as stream:
        for record in records:
            try:
                if fmt == "conll":
                    width = _same_width(record, width)
                    empty += not record.tokens and record.docstart is None
                block = render(record, scheme)
            except NerkdError as error:
                raise error.located(name) from None
            stream.write(block)
            count += 1
    if empty:
        records_are = "1 record without tokens is" if empty == 1 else (
            f"{empty} records without tokens are")
        warnings.warn(f"{records_are} not in {name} (CoNLL has no empty sentence), so it "
                      "pairs with its input by id, not by place", NerkdWarning, stacklevel=2)
    return count


def _same_width(record: Record, width: int | None) -> int | None:
    """The CoNLL column count so far, checked against ``record``'s: a file is read back
    with the column count of its first token line, so one file holds one layout."""
    if not record.tokens:
        return width
    mine = 1 + len(record.columns[0] if record.columns else []) + (record.tags is not None)
    if width is None or mine == width:
        return mine
    raise NerkdError(f"record {record.id}: {mine} CoNLL columns where the records before it "
                     f"have {width} (tagged and untagged records mixed?); CoNLL needs one "
                     "layout per file: write JSONL instead (--to jsonl)")


def _jsonl_line(record: Record, scheme: Scheme) -> str:
    obj = record.to_json()
    if record.tags is not None and scheme != "iob2":
        obj["tags"] = from_iob2(record.tags, scheme)
    return json.dumps(obj, ensure_ascii=False) + "\n"


def _conll_block(record: Record, scheme: Scheme) -> str:
    if record.label is not None:
        raise NerkdError(f"record {record.id}: CoNLL holds entity tags, not a document's class "
                         "(label); write JSONL instead (--to jsonl)")
    if record.columns and record.tags is None:
        raise NerkdError(f"record {record.id}: CoNLL columns without tags would read back "
                         "with the last column as the tags; write JSONL instead (--to jsonl)")
    lines = [record.docstart, ""] if record.docstart is not None else []
    tags = from_iob2(record.tags, scheme) if record.tags is not None else None
    for i, token in enumerate(record.tokens):
        row = [token, *(record.columns[i] if record.columns else [])]
        lines.append(_conll_row(record, i, row + ([tags[i]] if tags is not None else [])))
    if record.tokens:
        lines.append("")
    return "".join(line + "\n" for line in lines)


def _conll_row(record: Record, i: int, row: list[str]) -> str:
    """One token's line, refused where it would not read back as that token."""
    line = " ".join(row)
    problem = ("is -DOCSTART-, a document marker in CoNLL" if row[0] == DOCSTART else
               "starts with a byte-order mark" if row[0].startswith("\ufeff") else
               f"makes a line longer than CoNLL's {MAX_CONLL_LINE:,} characters"
               if len(line) > MAX_CONLL_LINE else None)
    if problem:
        raise NerkdError(f"record {record.id}: token {i} {problem}; write JSONL instead "
                         "(--to jsonl)")
    return line


def _text_line(record: Record, scheme: Scheme) -> str:
    return record.text.replace("\n", " ") + "\n"
