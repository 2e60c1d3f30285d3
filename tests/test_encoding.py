import random

import pytest

from nerkd.core.encoding import IGNORE, encode, length_batches, window_labels


@pytest.fixture
def tokenizer(tiny_bert):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert)


def test_first_subword_carries_the_label_and_later_subwords_are_ignored(tokenizer):
    [window] = encode(tokenizer, [["the", "xyz", "paris"]])
    pieces = tokenizer.convert_ids_to_tokens(window.input_ids)
    assert pieces == ["[CLS]", "the", "x", "##y", "##z", "paris", "[SEP]"]
    assert window.first == [-1, 0, 1, -1, -1, 2, -1]
    assert window_labels(window, [5, 6, 7]) == [IGNORE, 5, 6, IGNORE, IGNORE, 7, IGNORE]


def test_long_sentence_is_windowed_and_every_word_is_owned_once(tokenizer):
    words = [random.Random(i).choice(["the", "london", "qwerty", "a1b2", "."]) for i in range(400)]
    windows = encode(tokenizer, [words], max_length=32)
    assert len(windows) > 10
    assert all(len(w.input_ids) <= 32 for w in windows)
    owned = [word for w in windows for word in w.first if word >= 0]
    assert owned == list(range(400))
    # windows see context beyond the words they own
    assert any(len(w.input_ids) - 2 > sum(1 for f in w.first if f >= 0) for w in windows)


def test_a_word_the_tokenizer_drops_owns_no_position(tokenizer):
    [window] = encode(tokenizer, [["the", "\u200b", "paris"]])
    assert [f for f in window.first if f >= 0] == [0, 2]


def test_an_enormous_word_still_fits_a_window(tokenizer):
    windows = encode(tokenizer, [["the", "x" * 5000, "paris"]], max_length=64)
    assert all(len(w.input_ids) <= 64 for w in windows)
    assert sorted(f for w in windows for f in w.first if f >= 0) == [0, 1, 2]


def test_length_batches_cover_everything_once_and_group_similar_lengths():
    lengths = [random.Random(i).randint(1, 100) for i in range(1000)]
    batches = length_batches(lengths, 10, random.Random(0), pool=5)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread / len(batches) < 20  # unsorted batches would spread ~80
    assert batches == length_batches(lengths, 10, random.Random(0), pool=5)
    assert batches != length_batches(lengths, 10, random.Random(1), pool=5)
