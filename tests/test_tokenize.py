"""The raw-text tokenizer against CoNLL-2003 itself, and on natural text."""

import pytest

from nerkd.core.formats import read_records
from nerkd.core.tokenize import sentences, split_sentences, tokenize


def _texts(tokens):
    return [t.text for t in tokens]


def test_reproduces_conll2003_tokens_of_space_joined_dev_sentences(conll_dir):
    records = [r for r in read_records(conll_dir / "dev.txt")][:500]
    same = sum(_texts(tokenize(r.text)) == r.tokens for r in records)
    assert same / len(records) >= 0.98


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mr. Smith paid $3.5m for 1,200 shares of Acme Corp. in the U.S. on Monday.",
         ["Mr.", "Smith", "paid", "$", "3.5m", "for", "1,200", "shares", "of", "Acme",
          "Corp.", "in", "the", "U.S.", "on", "Monday", "."]),
        ('He said: "It\'s done."', ["He", "said", ":", '"', "It", "'s", "done", ".", '"']),
        ("I don't know O'Brien's all-rounder.",
         ["I", "do", "n't", "know", "O'Brien", "'s", "all-rounder", "."]),
        ("LONDON 1996-08-30 -- Won 6-4 at 3 p.m.",
         ["LONDON", "1996-08-30", "--", "Won", "6-4", "at", "3", "p.m."]),
        ("1. Mark Knowles ( Bahamas ) 64", ["1.", "Mark", "Knowles", "(", "Bahamas", ")", "64"]),
        ("Zürich\tnaïve  €5m 😀", ["Zürich", "naïve", "€", "5m", "😀"]),
        ("", []),
        ("   \t ", []),
    ],
)
def test_natural_text(text, expected):
    assert _texts(tokenize(text)) == expected


def test_offsets_point_into_the_original_text(conll_dir):
    texts = ["Mr.  Smith\tpaid €5m — naïve 😀 ...", *[r.text for r in
             read_records(conll_dir / "dev.txt")][:200]]
    for text in texts:
        tokens = tokenize(text)
        assert all(text[t.start:t.end] == t.text for t in tokens)
        assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:]))


def test_sentence_splitting():
    text = "Peter went home. He slept! Did he? Yes."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Peter went home.", "He slept!", "Did he?", "Yes."]
    keep = "Mr. Smith met Dr. Jones and J. Smith in the U.S. on a 3.5 per cent rise."
    assert len(split_sentences(keep)) == 1
    assert len(split_sentences('He said "Go." Then he left.\nA new line')) == 3
    assert split_sentences(" \n ") == []


def test_sentences_carry_offsets_into_the_whole_text():
    text = "First one. Second one."
    second = sentences(text)[1]
    assert _texts(second) == ["Second", "one", "."]
    assert text[second[0].start:second[-1].end] == "Second one."


@pytest.mark.slow
def test_a_five_megabyte_line_is_tokenized():
    tokens = tokenize("word, " * 850_000)
    assert len(tokens) == 1_700_000


@pytest.mark.parametrize(("text", "expected"), [
    ("Jose\u0301 lives in Sa\u0303o Paulo.", ["Jose\u0301", "lives", "in", "Sa\u0303o", "Paulo",
                                              "."]),  # NFD, as macOS writes file names
    ("\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e",
     ["\u0939\u093f\u0928\u094d\u0926\u0940", "\u092d\u093e\u0937\u093e"]),  # vowel signs
    ("A family \U0001F468\u200d\U0001F469\u200d\U0001F467 and \u2764\ufe0f.",
     ["A", "family", "\U0001F468\u200d\U0001F469\u200d\U0001F467", "and", "\u2764\ufe0f", "."]),
    ("e\u0301.", ["e\u0301", "."]),  # a mark joins the letter, not the full stop after it
])
def test_combining_marks_and_joiners_stay_in_their_word(text, expected):
    tokens = tokenize(text)
    assert _texts(tokens) == expected
    assert all(text[t.start:t.end] == t.text for t in tokens)
