"""Records are checked completely where they are read: every bad field is a located error."""

import json
import re

import pytest

from nerkd.core.errors import NerkdError
from nerkd.core.formats import read_records

GOOD = '{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}'


@pytest.mark.parametrize("line, message", [
    ('{"tokens": ["a b", "c"]}', "token 0 'a b' contains whitespace"),
    ('{"tokens": ["a", "b\\tc"]}', "token 1 'b\\tc' contains whitespace"),
    ('{"tokens": ["a", ""]}', "token 1 is empty"),
    ('{"text": "EU rejects", "spans": [{"start": "0", "end": 2, "label": "ORG"}]}',
     "span offsets must be integers, got '0'-2"),
    ('{"text": "EU rejects", "spans": [{"start": 0, "end": 2, "label": ""}]}',
     "span label must be a word, got ''"),
    ('{"tokens": ["a", "b"], "columns": [["NN"]]}', "'columns' has 1 rows for 2 tokens"),
    ('{"tokens": ["a"], "columns": "NN"}', "'columns' must be a list of lists of strings"),
    ('{"tokens": ["a"], "columns": [["N N"]]}', "cells must be non-empty and without whitespace"),
    ('{"tokens": ["a"], "text": "\\ud800 a"}', "lone surrogate"),
    ('[' * 5000 + ']' * 5000, "nested too deeply"),
    ('{"tokens": ["a"], "n": ' + "9" * 5000 + '}', "invalid JSON: Exceeds the limit"),
    ('{"tokens": ["a"], "weight": NaN}', "NaN is not a JSON number"),
    ('{"tokens": ["a"], "weight": -1}', "'weight' must be a finite number >= 0, got -1"),
    ('{"tokens": ["a"], "epoch": 1.5}', "'epoch' must be an integer >= 0, got 1.5"),
    ('{"tokens": ["a"], "tags": ["B-B-PER"]}', "'B-B-PER' is not an IOB1/IOB2/BIOES tag"),
    ('{"tokens": ["a"], "id": [1]}', "'id' must be a string"),
    ('{"tokens": ["a"], "docstart": 3}', "'docstart' must be a CoNLL document marker line"),
    ('{"tokens": ["a"], "docstart": "X O"}', "got 'X O'"),
    ('{"tokens": ["a"], "docstart": "-DOCSTART- O\\nb O"}', "marker line"),
    ('{"tokens": ["EU", "x"], "tags": ["B-PER\\n", "O"]}', "'B-PER\\n' is not an IOB1/IOB2"),
    ('{"tokens": ["a"], "meta": {"x": 1e400}}', "invalid JSON: 1e400 is too large for a number"),
    ('{"tokens": ["a"], "tags": ["B-PER"], "tags": ["O"]}', "ambiguous JSON: key 'tags'"),
    ('{"tokens": ["a"], "meta": {"c": 1, "c": 2}}', "key 'c' is given twice in one object"),
    ('{"text": "United won.", "label": "sport "}', "got 'sport '"),
    ('{"text": "\\ud83d\\ude00\\ud83d\\ude00 EU rejects", "spans": [{"start": 5, "end": 7, '
     '"label": "ORG", "text": "EU"}]}', "span 5-7 gives its text as 'EU', but the text there "
     "is ' r' (offsets count characters, not UTF-16 units or bytes)"),
])
def test_a_bad_field_is_a_located_error(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD}\n\n{line}\n")
    with pytest.raises(NerkdError) as caught:
        list(read_records(path))
    assert str(caught.value).startswith(f"{path}:3: ")
    assert message in str(caught.value)


def test_bad_records_fail_the_cli_in_one_line(nerkd, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"tokens": ["a b"]}\n')
    result = nerkd("convert", path, "--to", "conll")
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {path}:1: token 0 'a b' contains whitespace\n"
    assert result.stdout == ""


def test_records_without_an_id_get_stem_and_count(tmp_path):
    path = tmp_path / "news.jsonl"
    path.write_text(f'{GOOD}\n\n{{"id": "kept", "tokens": ["x"]}}\n{GOOD}\n')
    assert [r.id for r in read_records(path)] == ["news-0", "kept", "news-2"]


def test_valid_surrogate_pairs_are_characters(tmp_path):
    path = tmp_path / "emoji.jsonl"
    path.write_text('{"tokens": ["\\ud83d\\ude00", "b"]}\n')
    assert next(read_records(path)).tokens == ["\N{GRINNING FACE}", "b"]


@pytest.mark.parametrize("spec, message", [
    (",,,", "no label names"), ("", "no label names"), ("B-PER", "'B-PER' is not an entity type"),
    ("PER,I-ORG", "'I-ORG' is not an entity type"),
])
def test_labels_option_wants_entity_types(spec, message):
    from nerkd.core.prompt import read_labels

    with pytest.raises(NerkdError, match=message):
        read_labels(spec)


def test_a_labels_file_names_its_bad_line(tmp_path):
    from nerkd.core.prompt import read_labels

    path = tmp_path / "labels.txt"
    path.write_text("PER: people\n\nB-ORG: companies\n")
    with pytest.raises(NerkdError, match=f"^{path}:3: 'B-ORG' is not an entity type"):
        read_labels(str(path))


def test_unlabelled_dev_is_refused_before_any_training(tmp_path):
    from nerkd.core.records import make_record
    from nerkd.core.train import TrainConfig, train

    gold = [make_record(["EU", "rejects"], ["B-ORG", "O"])]
    dev = [make_record(["Peter", "said"])]
    config = TrainConfig(model=str(tmp_path / "no-such-model"))
    with pytest.raises(NerkdError, match="--dev: no tagged records"):
        list(train(gold, config, tmp_path / "model", dev))


def test_ner_training_refuses_a_dev_file_without_tags_naming_it(nerkd, tiny_bert, tmp_path):
    gold, dev, model = tmp_path / "gold.conll", tmp_path / "docs.jsonl", tmp_path / "model"
    gold.write_text("EU B-ORG\nrejects O\n")
    dev.write_text('{"text": "Rates rise again.", "label": "business"}\n')  # a class, no tags
    result = nerkd("train", gold, "--dev", dev, "--model", tiny_bert, "-o", model)
    assert result.exit_code == 1
    assert result.stderr == (f"nerkd: error: --dev {dev}: no tagged records (scoring entities "
                             "needs gold tags)\n")
    assert not model.exists()


def test_resume_with_nothing_to_resume_says_so(nerkd, tiny_bert, tmp_path):
    gold, model = tmp_path / "gold.conll", tmp_path / "model"
    gold.write_text("EU B-ORG\nrejects O\n")
    result = nerkd("train", gold, "--model", tiny_bert, "-o", model, "--resume", "--epochs",
                   "1", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert (f"nerkd: warning: --resume: {model} has no unfinished run to resume; training "
            "from the start") in result.stderr
    assert (model / "model.safetensors").exists()


def test_convert_refuses_an_empty_input(nerkd, tmp_path):
    empty, out = tmp_path / "empty.jsonl", tmp_path / "out.jsonl"
    empty.write_text("")
    result = nerkd("convert", empty, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {empty}: no records to convert: the input is empty\n"
    assert not out.exists()


def test_a_misspelt_label_field_fails_and_keeps_the_output(nerkd, tmp_path):
    import json

    docs, out = tmp_path / "docs.jsonl", tmp_path / "out.jsonl"
    docs.write_text('{"text": "Rates rise again.", "topic": "business"}\n')
    out.write_text("earlier\n")
    misspelt = nerkd("convert", docs, "--label-field", "topc", "-o", out)
    assert misspelt.exit_code == 1
    assert misspelt.stderr == (f"nerkd: error: {docs}: no record has a 'topc' field "
                               "(--label-field)\n")
    assert out.read_text() == "earlier\n"
    right = nerkd("convert", docs, "--label-field", "topic", "-o", out)
    assert right.exit_code == 0 and json.loads(out.read_text())["label"] == "business"


def test_evolve_refuses_unlabelled_dev_before_round_one(nerkd, tmp_path):
    seed, dev = tmp_path / "seed.conll", tmp_path / "dev.txt"
    seed.write_text("EU B-ORG\nrejects O\n")
    dev.write_text("Peter said nothing .\n")
    result = nerkd("evolve", "--seed-data", seed, "--dev", dev, "-o", tmp_path / "run",
                   "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --dev: no tagged records (scoring entities needs "
                             "gold tags)\n")


@pytest.mark.parametrize("items, world", [(5, 4), (7, 3), (4, 4), (17, 8)])
def test_every_rank_gets_a_share_of_every_batch(items, world):
    from nerkd.core.train import _Distributed

    shares = [_Distributed(rank, world).share(list(range(items))) for rank in range(world)]
    assert all(shares)
    assert sorted(i for share in shares for i in share) == list(range(items))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_train_labels_are_entity_types(nerkd, tmp_path, tiny_bert):
    data = tmp_path / "train.conll"
    data.write_text("EU B-ORG\nrejects O\n")
    result = nerkd("train", data, "-o", tmp_path / "model", "--model", tiny_bert,
                   "--labels", "B-PER")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --labels: 'B-PER' is not an entity type "
                             "(a word like PER, not a tag)\n")


def test_train_log_may_go_in_a_new_folder(nerkd, tmp_path, tiny_bert):
    data = tmp_path / "train.conll"
    data.write_text("EU B-ORG\nrejects O\n\nPeter B-PER\nsaid O\n")
    log = tmp_path / "logs" / "run.jsonl"
    result = nerkd("train", data, "-o", tmp_path / "model", "--model", tiny_bert,
                   "--epochs", "1", "--log", log, "--labels", "LOC")
    assert result.exit_code == 0, result.stderr
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert events[-1] == "done"
    labels = json.loads((tmp_path / "model" / "nerkd.json").read_text())["labels"]
    assert "B-LOC" in labels


def test_types_starting_like_other_scheme_prefixes_are_real_types(tmp_path):
    path = tmp_path / "mail.conll"
    path.write_text("bob B-E-MAIL\nsent O\n")
    assert next(read_records(path)).tags == ["B-E-MAIL", "O"]


@pytest.mark.parametrize("task, refused", [("ner", "no tagged records (why)"),
                                           ("classify", None), (None, None)])
def test_documents_with_classes_are_no_labels_for_an_entity_task(task, refused):
    from nerkd.core.records import make_record, require_labels

    documents = [make_record(["Rates", "rise"], label="business")]
    if refused:
        with pytest.raises(NerkdError, match=rf"^dev\.jsonl: {re.escape(refused)}$"):
            require_labels(documents, "dev.jsonl", task, "why")
    else:
        require_labels(documents, "dev.jsonl", task, "why")
    with pytest.raises(NerkdError, match="no labelled documents"):
        require_labels([make_record(["EU"], ["B-ORG"])], "dev.jsonl", "classify")


def test_spans_that_disagree_with_the_tags_are_said_and_the_tags_kept(tmp_path):
    path = tmp_path / "both.jsonl"
    path.write_text('{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"], '
                    '"spans": [{"start": 0, "end": 2, "label": "ORG"}]}\n'
                    '{"tokens": ["EU", "rejects"], "tags": ["O", "O"], '
                    '"spans": [{"start": 0, "end": 2, "label": "ORG"}]}\n')
    with pytest.warns(UserWarning, match="'spans' and 'tags' disagree: the tags are kept"):
        records = list(read_records(path))
    assert [r.tags for r in records] == [["B-ORG", "O"], ["O", "O"]]


def test_data_of_both_tasks_is_refused_by_blend_and_train(nerkd, tmp_path, tiny_bert):
    """Documents with a class beside sentences with tags: training kept one task and left
    the other out without a word."""
    documents = tmp_path / "docs.jsonl"
    documents.write_text('{"id": "d1", "text": "United won the cup", "label": "sport"}\n'
                         '{"id": "d2", "text": "Shares fell", "label": "business"}\n')
    sentences = tmp_path / "ner.jsonl"
    sentences.write_text(GOOD + "\n")
    blended = nerkd("blend", "--gold", documents, "--silver", sentences, "--epochs", "2")
    trained = nerkd("train", documents, sentences, "--model", tiny_bert, "-o", tmp_path / "m")
    for result in (blended, trained):
        assert result.exit_code == 1
        assert ("the data holds both tasks: 2 documents with a class (first: d1) and 1 "
                "sentences with tags (first: ner-0)") in result.stderr
    assert not (tmp_path / "m").exists()
