"""Read a teacher's answer defensively: code fences, prose around the JSON, single quotes,
truncated output and the common shapes LLMs choose all yield ``(text, label)`` pairs."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from nerkd.core.errors import NerkdError

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_QUOTED = r"""(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')"""
_PAIR = re.compile(  # one complete {"text": ..., "label": ...} object, either quote style
    r"""\{\s*["'](?:text|entity|name)["']\s*:\s*""" + _QUOTED
    + r"""\s*,\s*["'](?:label|type|category)["']\s*:\s*""" + _QUOTED + r"\s*\}"
)
MAX_CANDIDATES = 50  # JSON starts tried per answer; keeps hostile answers cheap


class ParseError(NerkdError):
    """The answer holds no entity list we can read."""


def parse_entities(answer: str) -> list[tuple[str, str]]:
    """Entity ``(text, label)`` pairs from an LLM answer, in the order given."""
    for candidate in json_values(answer):
        found = entity_pairs(candidate)
        if found is not None:
            return found
    salvaged = _PAIR.findall(answer)  # truncated JSON: keep every complete entity object
    if salvaged:
        return [(_unescape(t1 or t2), l1 or l2) for t1, t2, l1, l2 in salvaged]
    raise ParseError(f"no entity list in the answer: {answer[:80]!r}")


def json_values(answer: str) -> list[Any]:
    """Decoded JSON values found in the answer, fenced blocks first."""
    texts = [*_FENCE.findall(answer), answer]
    values: list[Any] = []
    for text in texts:
        starts = [m.start() for m in re.finditer(r"[\[{]", text)][:MAX_CANDIDATES]
        for start in starts:
            value = _decode_at(text, start)
            if value is not None:
                values.append(value)
    return values


def _decode_at(text: str, start: int) -> Any:
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except json.JSONDecodeError:
        pass
    end = _matching_bracket(text, start)
    if end is None:
        return None
    try:  # Python-style literals: single quotes, True/None
        return ast.literal_eval(text[start : end + 1])
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _matching_bracket(text: str, start: int) -> int | None:
    depth = 0
    for i in range(start, min(len(text), start + 100_000)):
        if text[i] in "[{":
            depth += 1
        elif text[i] in "]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def entity_pairs(value: Any) -> list[tuple[str, str]] | None:
    """Pairs from the shapes we accept, or None if ``value`` has none of them."""
    if isinstance(value, dict):
        for key in ("entities", "named_entities", "ner", "results"):
            if key in value:
                return entity_pairs(value[key])
        if value and all(isinstance(v, list) for v in value.values()):  # {"PER": ["..."]}
            return [(str(t), str(label)) for label, texts in value.items() for t in texts
                    if isinstance(t, str)]
        return None  # a lone entity object is left to the salvage pass, which finds them all
    if isinstance(value, list):
        pairs = [_pair(item) for item in value]
        if value and all(p is None for p in pairs):
            return None
        return [p for p in pairs if p is not None]
    return None


def _pair(item: Any) -> tuple[str, str] | None:
    if isinstance(item, dict):
        text = next((item[k] for k in ("text", "entity", "name", "span") if k in item), None)
        label = next((item[k] for k in ("label", "type", "category", "tag") if k in item), None)
        if isinstance(text, str) and isinstance(label, str):
            return text, label
    if isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(v, str) for v in item):
        return item[0], item[1]
    return None


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except json.JSONDecodeError:
        return text
