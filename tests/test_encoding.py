import random

import pytest

from nerkd.core.encoding import (
    IGNORE,
    WordPieces,
    encode,
    length_batches,
    token_batches,
    window_labels,
)
from nerkd.core.formats import read_records


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
    assert len(window.first) == len(window.input_ids)  # the words after it stay in place
    pieces = tokenizer.convert_ids_to_tokens(window.input_ids)
    assert pieces[window.first.index(2)] == "paris"


def test_word_pieces_are_those_of_the_sentence_level_call_and_are_remembered(tokenizer):
    sentences = [["the", "paris", "xyz"], ["xyz", "london", "the"], ["\u200b"]]
    pieces = WordPieces(tokenizer)
    assert pieces(sentences) == reference_pieces(tokenizer, sentences)
    assert set(pieces.known) == {"the", "paris", "xyz", "london", "\u200b"}
    pieces.known["the"] = [7]  # a second call reads the cache, not the tokenizer
    assert pieces([["the"]]) == [[[7]]]


@pytest.mark.parametrize("split", [False, True])
def test_word_pieces_follow_the_tokenizer_on_special_token_text(tokenizer, split):
    tokenizer.split_special_tokens = split  # "[MASK]" in text: one id, or plain subwords
    sentences = [["a", "[MASK]", "paris"], ["[SEP]"]]
    assert WordPieces(tokenizer)(sentences) == reference_pieces(tokenizer, sentences)


def test_a_long_group_of_new_words_is_no_reason_to_warn(tokenizer, capsys, caplog):
    from transformers.utils import logging

    level = logging.get_verbosity()  # loading a model elsewhere may have quietened it
    logging.set_verbosity_warning()
    try:
        tokenizer.model_max_length = 64
        words = [f"w{i}" for i in range(600)]  # several groups, each over 64 subwords
        WordPieces(tokenizer)([words])
        assert "sequence length" not in capsys.readouterr().err + caplog.text
        tokenizer([words], is_split_into_words=True)  # the warning the test would see
        assert "sequence length" in capsys.readouterr().err + caplog.text
    finally:
        logging.set_verbosity(level)


def test_word_pieces_ignore_a_truncation_the_tokenizer_file_carries(tokenizer):
    tokenizer.backend_tokenizer.enable_truncation(max_length=2)
    words = ["xyz"] * 10
    assert WordPieces(tokenizer)([words]) == reference_pieces(tokenizer, [words])


def test_encode_matches_the_sentence_level_tokenizer_on_conll_dev(conll_dir):
    """The word cache changes nothing: the same windows and first-subword positions as
    tokenizing each sentence whole, on every CoNLL-2003 dev sentence."""
    from nerkd.core.student import default_student_dir, load_tokenizer

    tokenizer = load_tokenizer(str(default_student_dir()))
    sentences = [r.tokens for r in read_records(conll_dir / "dev.txt") if r.tokens]
    cached = encode(tokenizer, sentences, max_length=64)
    expected = [w for i, s in enumerate(sentences)
                for w in reference_windows(tokenizer, s, i, max_length=64)]
    assert len(sentences) > 3000 and len(cached) > len(sentences)  # some are windowed
    assert [(w.item, w.input_ids, w.first) for w in cached] == expected


def reference_pieces(tokenizer, sentences):
    """Subword ids per word from the tokenizer's own call on whole sentences."""
    encoded = tokenizer([list(s) for s in sentences], is_split_into_words=True,
                        add_special_tokens=False, truncation=False)
    result = []
    for item, words in enumerate(sentences):
        pieces = [[] for _ in words]
        for token_id, word in zip(encoded["input_ids"][item], encoded.word_ids(item)):
            pieces[word].append(token_id)
        result.append(pieces)
    return result


def reference_windows(tokenizer, words, item, max_length):
    """The windows of one sentence, built from the sentence-level call (no cache)."""
    from nerkd.core.encoding import _windows

    [pieces] = reference_pieces(tokenizer, [words])
    pieces = [p[: (max_length - 2) // 4] for p in pieces]
    windows = []
    for (start, end), left, right in _windows([len(p) for p in pieces], max_length - 2):
        ids, first = [tokenizer.cls_token_id], [-1]
        for word in range(left, right):
            ids += pieces[word]
            first += [word if start <= word < end else -1] * bool(pieces[word])
            first += [-1] * (len(pieces[word]) - 1)
        windows.append((item, ids + [tokenizer.sep_token_id], first + [-1]))
    return windows


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


def test_token_batches_cover_everything_once_within_the_budget():
    lengths = [random.Random(i).randint(1, 100) for i in range(500)] + [700]
    batches = token_batches(lengths, 512)
    assert sorted(i for b in batches for i in b) == list(range(501))
    assert [500] in batches  # longer than the budget: alone
    assert all(len(b) * max(lengths[i] for i in b) <= 512 for b in batches if b != [500])
    assert len(batches) < 150  # a budget, not one row per batch
    assert token_batches([], 512) == []
