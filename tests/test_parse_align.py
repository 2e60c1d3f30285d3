"""Reading teacher answers and placing entity strings in the text."""

import pytest

from nerkd.core.align import align_entities
from nerkd.core.parse import ParseError, parse_entities
from nerkd.core.records import make_record
from nerkd.core.tags import TokenSpan

LABELS = ["PER", "ORG", "LOC", "MISC"]
EXPECTED = [("EU", "ORG"), ("German", "MISC")]


@pytest.mark.parametrize(
    "answer",
    [
        '{"entities": [{"text": "EU", "label": "ORG"}, {"text": "German", "label": "MISC"}]}',
        '```json\n{"entities": [{"text": "EU", "label": "ORG"}, '
        '{"text": "German", "label": "MISC"}]}\n```',
        'Sure! Here you go: [{"entity": "EU", "type": "ORG"}, '
        '{"entity": "German", "type": "MISC"}] Hope it helps.',
        "{'entities': [{'text': 'EU', 'label': 'ORG'}, {'text': 'German', 'label': 'MISC'}]}",
        '{"ORG": ["EU"], "MISC": ["German"]}',
        '[["EU", "ORG"], ["German", "MISC"]]',
        '{"reasoning": "EU is a body {not a place}; German is an adjective", "entities": '
        '[{"text": "EU", "label": "ORG"}, {"text": "German", "label": "MISC"}]}',
        '{"entities": [{"text": "EU", "label": "ORG"}, {"text": "German", "label": "MISC"}, '
        '{"text": "Brit',
    ],
)
def test_answers_in_many_shapes_parse_to_the_same_pairs(answer):
    assert parse_entities(answer) == EXPECTED


def test_empty_entity_list_is_a_valid_answer():
    assert parse_entities('{"entities": []}') == []


@pytest.mark.parametrize("answer", ["I cannot help with that.", "", "{not json", '["a", "b"]'])
def test_answers_without_entities_are_parse_errors(answer):
    with pytest.raises(ParseError):
        parse_entities(answer)


def _align(entities, tokens, **options):
    record = make_record(tokens)
    return align_entities(entities, record.text, record.offsets, LABELS, **options)


def test_exact_in_order_and_nth_occurrence():
    tokens = "Paris beat Lyon and then Paris lost".split()
    result = _align([("Paris", "LOC"), ("Lyon", "LOC"), ("Paris", "LOC")], tokens)
    assert result.spans == [TokenSpan(0, 1, "LOC"), TokenSpan(2, 3, "LOC"), TokenSpan(5, 6, "LOC")]
    assert result.counts["aligned_exact"] == 3


def test_case_insensitive_match_is_relaxed():
    result = _align([("new york", "LOC")], "He left New York".split())
    assert result.spans == [TokenSpan(2, 4, "LOC")]
    assert result.counts["aligned_relaxed"] == 1


def test_strings_not_in_the_text_or_not_on_token_boundaries_are_dropped():
    result = _align([("Berlin", "LOC"), ("Germ", "MISC")], "German beer".split())
    assert result.spans == []
    assert result.counts["dropped_not_found"] == 2


def test_labels_are_mapped_or_dropped():
    result = _align([("Peter", "person"), ("Acme", "COMPANY"), ("Monday", "DATE")],
                    "Peter joined Acme on Monday".split(), label_map={"DATE": "MISC"})
    assert result.spans == [TokenSpan(0, 1, "PER"), TokenSpan(2, 3, "ORG"), TokenSpan(4, 5, "MISC")]
    dropped = _align([("Monday", "DATE")], "on Monday".split())
    assert dropped.spans == [] and dropped.counts["dropped_label"] == 1
    schema = ["PERSON", "CITY"]  # labels of the schema are never mapped away from it
    record = make_record("Peter left Paris".split())
    kept = align_entities([("Peter", "person"), ("Paris", "CITY")], record.text, record.offsets,
                          schema)
    assert kept.spans == [TokenSpan(0, 1, "PERSON"), TokenSpan(2, 3, "CITY")]


def test_overlaps_keep_the_longest_span():
    result = _align([("Bank", "ORG"), ("Bank of England", "ORG"), ("England", "LOC")],
                    "the Bank of England said".split())
    assert result.spans == [TokenSpan(1, 4, "ORG")]
    assert result.counts["dropped_overlap"] == 2


def test_fuzzy_match_is_bounded_and_optional():
    tokens = "Manchester Utd won again".split()
    assert _align([("Manchester Utd.", "ORG")], tokens).spans == []
    fuzzy = _align([("Manchester Utd.", "ORG")], tokens, fuzzy=True)
    assert fuzzy.spans == [TokenSpan(0, 2, "ORG")] and fuzzy.counts["aligned_fuzzy"] == 1
    assert _align([("Liverpool", "ORG")], tokens, fuzzy=True).spans == []
    blank = _align([("", "PER"), ("  ", "PER"), ("Utd", "ORG")], tokens, fuzzy=True)
    assert blank.spans == [TokenSpan(1, 2, "ORG")] and blank.counts["dropped_not_found"] == 2


def test_clause_long_entities_are_dropped():
    tokens = "A US company has pulled out of a major contract to rebuild Iraq".split()
    result = _align([(" ".join(tokens), "MISC"), ("Iraq", "LOC")], tokens)
    assert result.spans == [TokenSpan(12, 13, "LOC")]
    assert result.counts["dropped_too_long"] == 1


def test_a_final_period_of_an_abbreviation_may_be_left_out():
    result = _align([("Acme Corp", "ORG")], ["Acme", "Corp.", "said"])
    assert result.spans == [TokenSpan(0, 2, "ORG")]


def test_repeats_label_every_further_mention_that_no_span_covers():
    tokens = "Kim saw Kim Jong and Kim , not kim".split()
    listed = [("Kim", "PER"), ("Kim Jong", "PER")]
    assert _align(listed, tokens).spans == [TokenSpan(0, 1, "PER"), TokenSpan(2, 4, "PER")]
    result = _align(listed, tokens, repeats=True)
    assert result.spans == [TokenSpan(0, 1, "PER"), TokenSpan(2, 4, "PER"), TokenSpan(5, 6, "PER")]
    assert result.counts["aligned_repeat"] == 1 and result.counts["aligned_exact"] == 2


def test_repeats_of_a_mention_found_with_a_tokens_final_period():
    result = _align([("Acme Corp", "ORG")], "Acme Corp. sued Acme Corp today".split(),
                    repeats=True)
    assert result.spans == [TokenSpan(0, 2, "ORG"), TokenSpan(3, 5, "ORG")]


def test_a_mention_is_found_in_either_unicode_normal_form():
    import unicodedata

    tokens = unicodedata.normalize("NFD", "José Müller moved to Zürich").split()
    result = _align([("José Müller", "PER"), ("Zürich", "LOC")], tokens)
    assert result.spans == [TokenSpan(0, 2, "PER"), TokenSpan(4, 5, "LOC")]


def test_punctuation_at_a_matchs_edges_is_left_out():
    from nerkd.core.tokenize import tokenize

    text = 'He saw "Titanic" in London. Who is Kim?'
    tokens = tokenize(text)
    assert [t.text for t in tokens][:8] == ["He", "saw", '"', "Titanic", '"', "in", "London", "."]
    result = align_entities([('"Titanic"', "MISC"), ("London.", "LOC"), ("Kim?", "PER")], text,
                            [(t.start, t.end) for t in tokens], LABELS)
    assert result.spans == [TokenSpan(3, 4, "MISC"), TokenSpan(6, 7, "LOC"),
                            TokenSpan(10, 11, "PER")]
    assert _align([("U.S.", "LOC")], ["the", "U.S.", "army"]).spans == [TokenSpan(1, 2, "LOC")]
    text = "He codes C++ at Yahoo!"
    tokens = tokenize(text)
    signs = align_entities([("C++", "MISC"), ("Yahoo!", "ORG")], text,
                           [(t.start, t.end) for t in tokens], LABELS)
    assert [tokens[s.start].text + "..." + tokens[s.end - 1].text for s in signs.spans] == [
        "C...+", "Yahoo...!"]  # signs that are part of a name stay in it
