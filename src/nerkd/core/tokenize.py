"""A rule-based, offline tokenizer producing CoNLL-2003-style tokens with character offsets,
and a sentence splitter, for raw text.

Conventions, as in CoNLL-2003 (Reuters news): punctuation is split off; hyphenated words
(``all-rounder``), numbers with separators (``1,000``, ``3.5``, ``1996-08-30``, ``6-4``),
abbreviations with inner periods (``U.S.``, ``a.m.``), single initials (``J.``), common
titles and company suffixes (``Mr.``, ``Corp.``) and names with an inner apostrophe
(``O'Brien``) stay whole; clitics split off (``Clinton 's``, ``do n't``); ``--`` and ``...``
are one token each. Currency signs split from the amount (``$ 3.5``), except the CoNLL
forms ``C$`` and ``US$``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple


class Token(NamedTuple):
    text: str
    start: int
    end: int


ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev mt ft no vs etc inc corp "
    "co ltd plc bros dept est jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# Titles that never end a sentence, so a following capital does not start one.
_TITLES = frozenset("mr mrs ms dr prof st gen col lt sgt capt gov sen rep rev mt".split())

_TOKEN = re.compile(
    r"""
    (?:https?://|www\.)\S+?(?=[.,;:!?)"']*$)      # URLs, trailing punctuation left off
  | [\w.+-]+@[\w-]+(?:\.[\w-]+)+                  # e-mail addresses
  | (?:[A-Za-z]\.){2,}                             # U.S.  a.m.  F.C.
  | [A-Z]\.(?=$)                                   # an initial: J.
  | (?i:'(?:s|re|m|ve|ll|d)|n't)(?![\w'])          # clitics written apart: 's  n't
  | [A-Z]{1,2}\$                                   # C$  US$
  | [+]?\.?\d(?:[\w./:,+-]*\w)?                    # 1,000  3.5  1996-08-30  6-4  +44  .500
  | \w+(?:['\u2019]\w+)*(?:-\w+(?:['\u2019]\w+)*)*  # words: O'Brien  all-rounder  don't
  | -{2,} | \.{2,}                                 # --  ...
  | [^\w\s]                                        # any other symbol
    """,
    re.VERBOSE,
)
_JOINERS = frozenset("\u200c\u200d")  # zero-width (non-)joiner: join both neighbours
_SELECTORS = frozenset("\ufe0e\ufe0f")  # text or emoji form of the character before
_CLITIC = re.compile(r"(?i)^(.+?)(n't|'s|'re|'m|'ve|'ll|'d)$")
_CLOSERS = frozenset(['"', "'", ")", "]", "}", "\u201d", "\u2019"])
_TERMINALS = frozenset([".", "!", "?", "...", ".."])


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` with offsets: ``text[t.start:t.end] == t.text``."""
    tokens: list[Token] = []
    for chunk in re.finditer(r"\S+", text):
        tokens.extend(_chunk_tokens(chunk.group(), chunk.start(), first=not tokens))
    return tokens


def _chunk_tokens(chunk: str, offset: int, first: bool) -> list[Token]:
    if first and re.fullmatch(r"\d{1,3}\.", chunk):  # a ranking line: "1. Mark Knowles"
        return [Token(chunk, offset, offset + len(chunk))]
    found: list[Token] = []
    for match in _TOKEN.finditer(chunk):
        found.extend(_split_clitic(match.group(), offset + match.start()))
    return _merge_abbreviations(_join_marks(found))


def _split_clitic(word: str, start: int) -> list[Token]:
    match = _CLITIC.match(word) if "'" in word else None
    if match is None or not match.group(1)[-1].isalpha():
        return [Token(word, start, start + len(word))]
    cut = start + len(match.group(1))
    return [Token(match.group(1), start, cut), Token(match.group(2), cut, start + len(word))]


def _join_marks(tokens: list[Token]) -> list[Token]:
    """Rejoin what ``\\w`` cut at combining marks and joiners, which it does not count as
    word characters: NFD accents (``Jose`` + U+0301), Indic vowel signs and viramas, emoji
    joined by U+200D."""
    joined: list[Token] = []
    for token in tokens:
        if joined and _continues(joined[-1], token):
            previous = joined[-1]
            joined[-1] = Token(previous.text + token.text, previous.start, token.end)
        else:
            joined.append(token)
    return joined


def _continues(previous: Token, token: Token) -> bool:
    """Whether ``token`` is part of the word ``previous`` ends: it starts with a mark or
    joiner, or ``previous`` ends with a joiner, or with a mark that a letter follows."""
    if previous.end != token.start:
        return False
    first, last = token.text[0], previous.text[-1]
    return (_is_mark(first) or first in _JOINERS or first in _SELECTORS or last in _JOINERS
            or (_is_mark(last) and (first.isalnum() or first == "_")))


def _is_mark(char: str) -> bool:
    return unicodedata.category(char).startswith("M")


def _merge_abbreviations(tokens: list[Token]) -> list[Token]:
    """``Mr`` ``.`` -> ``Mr.`` when they touch and ``Mr`` is a known abbreviation."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if (token.text == "." and previous is not None and previous.end == token.start
                and previous.text.lower() in ABBREVIATIONS):
            merged[-1] = Token(previous.text + ".", previous.start, token.end)
        else:
            merged.append(token)
    return merged


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character ranges of the sentences of ``text``; a newline always ends a sentence."""
    ranges: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        tokens = tokenize(line.group())
        for first, last in _sentence_bounds(tokens):
            ranges.append((line.start() + tokens[first].start, line.start() + tokens[last].end))
    return ranges


def _sentence_bounds(tokens: list[Token]) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for i, token in enumerate(tokens):
        if token.text not in _TERMINALS:
            continue
        end = i
        while end + 1 < len(tokens) and tokens[end + 1].text in _CLOSERS:
            end += 1
        if end + 1 < len(tokens) and _starts_sentence(tokens[end + 1].text):
            if not _after_title(tokens, i):
                bounds.append((start, end))
                start = end + 1
    if start < len(tokens):
        bounds.append((start, len(tokens) - 1))
    return [(a, b) for a, b in bounds if a <= b]


def _starts_sentence(word: str) -> bool:
    return word[0].isupper() or word[0].isdigit() or word[0] in "\"'(\u201c\u2018"


def _after_title(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].text.lower() in _TITLES and tokens[i - 1].end == tokens[i].start


def sentences(text: str) -> list[list[Token]]:
    """Tokens of each sentence, with offsets into ``text``."""
    result = []
    for start, end in split_sentences(text):
        result.append([Token(t.text, t.start + start, t.end + start)
                       for t in tokenize(text[start:end])])
    return result
