import warnings

import pytest

from nerkd.core.errors import NerkdError
from nerkd.core.records import make_record, record_from_json


def test_tokens_and_tags_give_char_spans_into_joined_text():
    record = make_record(["EU", "rejects", "German", "call"], ["I-ORG", "O", "B-MISC", "O"])
    assert record.text == "EU rejects German call"
    assert record.tags == ["B-ORG", "O", "B-MISC", "O"]
    assert record.spans == [
        {"start": 0, "end": 2, "label": "ORG", "text": "EU"},
        {"start": 11, "end": 17, "label": "MISC", "text": "German"},
    ]


def test_text_and_spans_give_tokens_and_tags():
    record = record_from_json(
        {"text": "Angela Merkel visited Paris.", "spans": [
            {"start": 0, "end": 13, "label": "PER"}, {"start": 22, "end": 27, "label": "LOC"}]}
    )
    assert record.tokens == ["Angela", "Merkel", "visited", "Paris", "."]
    assert record.tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]
    assert record.spans[1]["text"] == "Paris"


def test_tokens_are_located_in_given_text_with_irregular_spacing():
    record = record_from_json(
        {"text": "New  York\tis big", "tokens": ["New", "York", "is", "big"],
         "tags": ["B-LOC", "I-LOC", "O", "O"]}
    )
    assert record.spans == [{"start": 0, "end": 9, "label": "LOC", "text": "New  York"}]


def test_unknown_keys_and_span_extras_pass_through():
    obj = {"id": "a", "tokens": ["Paris"], "tags": ["B-LOC"], "source": "silver",
           "spans": [{"start": 0, "end": 5, "label": "LOC", "confidence": 0.8}],
           "meta": {"teacher": "x"}, "my_field": [1, 2]}
    out = record_from_json(obj).to_json()
    assert out["my_field"] == [1, 2]
    assert out["meta"] == {"teacher": "x"}
    assert out["spans"][0]["confidence"] == 0.8
    assert out["source"] == "silver"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"tokens": ["a", "b"], "tags": ["O"]}, "2 tokens but 1 tags"),
        ({"id": 1}, "neither 'tokens' nor 'text'"),
        ({"tokens": "a b"}, "'tokens' must be a list"),
        ({"tokens": ["a"], "tags": ["O"], "source": "bronze"}, "'source' must be one of"),
        ({"text": "abc", "spans": [{"start": 0, "end": 9, "label": "X"}]}, "outside the text"),
        ({"text": "a b", "tokens": ["a", "c"]}, "not found in text"),
        ([1, 2], "expected a JSON object"),
        ({"text": "a", "meta": []}, "'meta' must be a JSON object"),
        ({"text": "a", "meta": ""}, "'meta' must be a JSON object"),
        ({"text": "a", "meta": False}, "'meta' must be a JSON object"),
    ],
)
def test_invalid_records_name_the_problem(obj, message):
    with pytest.raises(NerkdError, match=message):
        record_from_json(obj)


def test_a_null_meta_is_an_empty_one():
    assert record_from_json({"text": "a", "meta": None}).meta == {}


def test_a_span_inside_a_token_is_widened_with_a_warning():
    from nerkd.core.errors import NerkdWarning

    obj = {"text": "EU-backed plan", "spans": [{"start": 0, "end": 2, "label": "ORG"}]}
    with pytest.warns(NerkdWarning, match="widened to whole tokens"):
        record = record_from_json(obj)
    assert record.spans[0]["text"] == "EU-backed" and record.tags == ["B-ORG", "O"]
    exact = {"text": "EU-backed plan", "spans": [{"start": 0, "end": 9, "label": "ORG"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert record_from_json(exact).tags == ["B-ORG", "O"]


@pytest.mark.parametrize("labels", [("MISC", "MISC"), ("MISC", "LOC"), ("LOC", "MISC")])
def test_spans_apart_in_one_token_are_named_not_called_overlapping(labels):
    obj = {"text": "The Anglo-French treaty",
           "spans": [{"start": 4, "end": 9, "label": labels[0]},
                     {"start": 10, "end": 16, "label": labels[1]}]}
    with pytest.warns(UserWarning), pytest.raises(
            NerkdError, match="spans 4-9 and 10-16 fall in the same token"):
        record_from_json(obj)
    overlapping = {"text": "a b", "spans": [{"start": 0, "end": 3, "label": "X"},
                                            {"start": 2, "end": 3, "label": "Y"}]}
    with pytest.raises(NerkdError, match="entity spans overlap"):
        record_from_json(overlapping)
