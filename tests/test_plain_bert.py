"""Prediction without transformers' model code: ``PlainBert`` against transformers' own BERT
classes, ``FileTokenizer`` against transformers' tokenizer, and what falls back to them."""

import json
import subprocess
import sys

import pytest
import torch

from nerkd.core.encoding import collate, encode
from nerkd.core.plain_bert import PlainBert, plain_bert
from nerkd.core.predict import Tagger, load_tagger
from nerkd.core.tokenizer_file import FileTokenizer, file_tokenizer

ROWS = [[2, 40, 41, 42, 43, 44, 45, 3], [2, 50, 51, 3], [2, 60, 3]]  # padded to 8


@pytest.fixture(scope="module")
def sequence_model(tiny_bert, tmp_path_factory):
    """A random 3-class sequence classifier (with BERT's pooler) on the tiny encoder."""
    from transformers import AutoModelForSequenceClassification

    directory = tmp_path_factory.mktemp("sequence")
    AutoModelForSequenceClassification.from_pretrained(
        tiny_bert, num_labels=3, id2label={0: "a", 1: "b", 2: "c"},
        label2id={"a": 0, "b": 1, "c": 2}).save_pretrained(directory)
    return directory


def transformers_network(directory, head):
    import transformers

    auto = {"token": transformers.AutoModelForTokenClassification,
            "sequence": transformers.AutoModelForSequenceClassification}[head]
    return auto.from_pretrained(directory).eval()


@pytest.mark.parametrize("head", ["token", "sequence"])
def test_logits_and_hidden_states_are_transformers_own(head, tiny_tagger, sequence_model):
    directory = tiny_tagger if head == "token" else sequence_model
    plain, theirs = plain_bert(str(directory), head), transformers_network(directory, head)
    assert isinstance(plain, PlainBert)
    for rows in (ROWS, [ROWS[0], ROWS[0]]):  # padded, and with nothing padded
        inputs = collate(rows, 0)
        with torch.inference_mode():
            ours = plain(**inputs, output_hidden_states=True)
            expected = theirs(**inputs, output_hidden_states=True)
        kept = inputs["attention_mask"].bool()
        if head == "token":
            torch.testing.assert_close(ours.logits[kept], expected.logits[kept])
        else:
            torch.testing.assert_close(ours.logits, expected.logits)
        assert len(ours.hidden_states) == len(expected.hidden_states) == 3  # embeddings + 2
        for mine, reference in zip(ours.hidden_states, expected.hidden_states):
            torch.testing.assert_close(mine[kept], reference[kept])


def test_a_tagger_on_the_cpu_runs_plain_and_tags_as_transformers(teacher_model):
    from nerkd.core.student import load_tokenizer, load_trained
    from tiny import pattern_sentences

    sentences = [r.tokens for r in pattern_sentences(60, 3)]
    sentences += [sentences[0] * 20, [], ["paris", "\u200b", "london"]]
    plain = load_tagger(str(teacher_model), "cpu", max_length=24)
    network, labels = load_trained(str(teacher_model))
    reference = Tagger(network, load_tokenizer(str(teacher_model)), labels, plain.device,
                       max_length=24)
    assert isinstance(plain.network, PlainBert) and isinstance(plain.tokenizer, FileTokenizer)
    found = plain.tag(sentences)
    assert found == reference.tag(sentences)
    assert sum(t != "O" for tags in found for t in tags) > 60  # the teacher does tag


def test_predicting_with_a_nerkd_model_never_imports_transformers(teacher_model):
    code = ("import sys; from nerkd.core.predict import load_tagger; "
            f"tags = load_tagger({str(teacher_model)!r}, 'cpu').tag([['the', 'john', 'said']]); "
            "print(tags, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split()[-1] == "False", result.stdout
    assert "B-PER" in result.stdout


def edited_config(source, target, **changes):
    import shutil

    shutil.copytree(source, target)
    config = json.loads((target / "config.json").read_text())
    (target / "config.json").write_text(json.dumps({**config, **changes}))
    return target


@pytest.mark.parametrize("changes", [
    {"hidden_act": "gelu_new"}, {"is_decoder": True}, {"model_type": "roberta"},
    {"architectures": ["BertModel"]}, {"architectures": ["BertForSequenceClassification"]},
    {"type_vocab_size": 1}, {"max_position_embeddings": None}, {"intermediate_size": 65},
    {"id2label": {"0": "O", "1": "B-PER"}},  # sizes that do not fit the weights, or unstated
])
def test_what_it_does_not_reproduce_loads_through_transformers(changes, tiny_tagger, tmp_path):
    directory = edited_config(tiny_tagger, tmp_path / "model", **changes)
    assert plain_bert(str(directory), "token") is None


def test_missing_or_damaged_weights_fall_back_and_say_why(tiny_tagger, tmp_path):
    from safetensors.torch import load_file, save_file

    from nerkd.core.errors import NerkdError

    partial = edited_config(tiny_tagger, tmp_path / "partial")
    weights = load_file(partial / "model.safetensors")
    del weights["classifier.bias"]
    save_file(weights, partial / "model.safetensors")
    assert plain_bert(str(partial), "token") is None

    half = edited_config(tiny_tagger, tmp_path / "half")
    save_file({k: v.half() for k, v in load_file(half / "model.safetensors").items()},
              half / "model.safetensors")
    assert plain_bert(str(half), "token") is None  # transformers keeps float16 in float16

    damaged = edited_config(tiny_tagger, tmp_path / "damaged")
    (damaged / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    assert plain_bert(str(damaged), "token") is None
    with pytest.raises(NerkdError, match="cannot load model"):
        load_tagger(str(damaged), "cpu")


def saved_tokenizer(source, directory, card=True):
    from transformers import AutoTokenizer

    AutoTokenizer.from_pretrained(source).save_pretrained(directory)
    if card:
        (directory / "nerkd.json").write_text("{}")
    return directory


def test_the_file_tokenizer_is_transformers_own_on_conll_dev(conll_dir, tmp_path):
    """The embedded student's tokenizer, saved as nerkd train saves it: the same windows
    for every CoNLL-2003 dev sentence, and the same cut ids for its texts (as a classifier
    reads them) and for text with accents, CJK, emoji, zero-width spaces and [SEP]."""
    from nerkd.core.formats import read_records
    from nerkd.core.student import default_student_dir, load_tokenizer
    from nerkd.core.tasks.classify import first_windows

    directory = saved_tokenizer(default_student_dir(), tmp_path / "model")
    theirs, ours = load_tokenizer(str(directory)), file_tokenizer(str(directory))
    records = [r for r in read_records(conll_dir / "dev.txt") if r.tokens]
    sentences = [r.tokens for r in records]
    assert [(w.item, w.input_ids, w.first) for w in encode(ours, sentences, 64)] == \
        [(w.item, w.input_ids, w.first) for w in encode(theirs, sentences, 64)]
    texts = [r.text for r in records] + ["Café Zürich 東京 😀 a\u200bb [SEP] x", ""]
    for length in (16, 256):
        assert first_windows(ours, texts, length) == first_windows(theirs, texts, length)
    assert (ours.cls_token_id, ours.sep_token_id, ours.pad_token_id) == \
        (theirs.cls_token_id, theirs.sep_token_id, theirs.pad_token_id)


@pytest.mark.parametrize("setting", [{"split_special_tokens": True},
                                     {"truncation_side": "left"}])
def test_settings_kept_outside_the_file_load_through_transformers(setting, tiny_bert, tmp_path):
    from transformers import AutoTokenizer

    directory = tmp_path / "model"
    AutoTokenizer.from_pretrained(tiny_bert, **setting).save_pretrained(directory)
    (directory / "nerkd.json").write_text("{}")
    assert file_tokenizer(str(directory)) is None


def test_the_file_tokenizer_is_only_for_models_nerkd_trained(tiny_bert, tmp_path):
    assert file_tokenizer(str(saved_tokenizer(tiny_bert, tmp_path / "other", card=False))) is None
    damaged = saved_tokenizer(tiny_bert, tmp_path / "damaged")
    (damaged / "tokenizer.json").write_text("{not json")
    assert file_tokenizer(str(damaged)) is None
    assert isinstance(file_tokenizer(str(saved_tokenizer(tiny_bert, tmp_path / "ok"))),
                      FileTokenizer)
