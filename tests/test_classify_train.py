"""`train`, `predict` and `eval` on documents with a class: a tiny BERT learns two topics."""

import json

import pytest

from tiny import topic_documents


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def trained(text_classifier):
    return text_classifier


def test_the_task_is_detected_and_the_student_learns_it(trained):
    folder, summary = trained
    info = json.loads((folder / "model" / "nerkd.json").read_text())
    assert info["config"]["task"] == "classify"
    assert info["labels"] == ["business", "sport"]
    assert summary["best_dev"]["micro"]["f1"] >= 0.9
    assert set(summary["best_dev"]["per_class"]) == {"business", "sport"}


def test_the_model_loads_as_a_sequence_classifier(trained):
    from transformers import AutoModelForSequenceClassification

    folder, _ = trained
    network = AutoModelForSequenceClassification.from_pretrained(folder / "model")
    assert network.config.id2label == {0: "business", 1: "sport"}


def test_classes_do_not_depend_on_how_texts_are_batched(trained, monkeypatch):
    """Subword-budget batches (the default), fixed text counts and a budget smaller than one
    text all classify alike, in input order."""
    import nerkd.core.predict as predict_module
    from nerkd.core.tasks.classify import load_classifier

    folder, _ = trained
    texts = [row["text"] for row in topic_documents(25, 3)]
    texts[3] = texts[3] * 12  # one long text sorts last but must stay in its place
    by_default = load_classifier(str(folder / "model"), "cpu").classify(texts)
    assert by_default == load_classifier(str(folder / "model"), "cpu", 1).classify(texts)
    assert by_default == load_classifier(str(folder / "model"), "cpu", 7).classify(texts)
    monkeypatch.setattr(predict_module, "CPU_TOKENS", 10)
    assert by_default == load_classifier(str(folder / "model"), "cpu").classify(texts)
    assert set(by_default) == {"business", "sport"}
    assert load_classifier(str(folder / "model"), "cpu").classify([]) == []
    fast = load_classifier(str(folder / "model"), "cpu", precision="bfloat16")
    assert fast.precision == "bfloat16"
    assert sum(a == b for a, b in zip(fast.classify(texts), by_default)) >= 0.9 * len(texts)


def test_predict_then_eval(nerkd, trained, tmp_path):
    folder, _ = trained
    test = _write(tmp_path / "test.jsonl", topic_documents(30, 2))
    unlabelled = _write(tmp_path / "raw.jsonl", [{"id": r["id"], "text": r["text"]}
                                                  for r in topic_documents(30, 2)])
    predicted = nerkd("predict", unlabelled, "--model", folder / "model", "-o",
                      tmp_path / "pred.jsonl")
    assert predicted.exit_code == 0, predicted.stderr
    rows = [json.loads(line) for line in (tmp_path / "pred.jsonl").read_text().splitlines()]
    assert {r["label"] for r in rows} <= {"business", "sport"} and len(rows) == 30
    report = json.loads(nerkd("eval", test, tmp_path / "pred.jsonl").stdout)
    assert report["accuracy"] >= 0.9


def test_only_the_first_window_is_read(nerkd, trained, tmp_path):
    """With --max-length 16 a document is its first 14 words (+ CLS and SEP): a tail that
    alone reads as business changes nothing."""
    folder, _ = trained
    head = "the club match said the club win to the match and club win the"  # 14 words
    tail = " ".join(["bank company government"] * 5)
    rows = [{"id": "head", "text": head}, {"id": "tail", "text": tail},
            {"id": "both", "text": f"{head} {tail}"}]
    result = nerkd("predict", _write(tmp_path / "long.jsonl", rows), "--model",
                   folder / "model", "--max-length", "16")
    assert result.exit_code == 0, result.stderr
    labels = {r["id"]: r["label"] for r in result.jsonl()}
    assert labels == {"head": "sport", "tail": "business", "both": "sport"}


def test_prediction_reads_as_much_as_training_did(trained, tiny_tagger, tmp_path):
    """Without --max-length, a model is read with the window it was trained with."""
    from nerkd.core.predict import load_tagger
    from nerkd.core.tasks.classify import load_classifier

    folder, _ = trained
    card = json.loads((folder / "model" / "nerkd.json").read_text())
    trained_with = card["config"]["max_length"]
    assert load_classifier(str(folder / "model")).max_length == min(trained_with, 128)
    card["config"]["max_length"] = 24
    (folder / "model" / "nerkd.json").write_text(json.dumps(card))
    try:
        assert load_classifier(str(folder / "model")).max_length == 24
        assert load_classifier(str(folder / "model"), max_length=40).max_length == 40
    finally:
        card["config"]["max_length"] = trained_with
        (folder / "model" / "nerkd.json").write_text(json.dumps(card))
    assert load_tagger(str(tiny_tagger)).max_length == 128  # no card: 256, within positions


def test_first_windows_keep_the_special_tokens(tiny_bert):
    from nerkd.core.student import load_tokenizer
    from nerkd.core.tasks.classify import first_windows

    tokenizer = load_tokenizer(str(tiny_bert))
    ids = first_windows(tokenizer, ["the " * 100, "club"], 16)
    assert len(ids[0]) == 16 and ids[0][0] == tokenizer.cls_token_id
    assert ids[0][-1] == tokenizer.sep_token_id and len(ids[1]) == 3


def test_dev_classes_must_be_known(nerkd, tiny_bert, tmp_path):
    train = _write(tmp_path / "train.jsonl", topic_documents(10, 0))
    dev = _write(tmp_path / "dev.jsonl", [{"text": "a club", "label": "weather"}])
    result = nerkd("train", train, "--dev", dev, "--model", tiny_bert, "-o", tmp_path / "m")
    assert result.exit_code == 1
    assert result.stderr == (f"nerkd: error: {dev}:1: dev classes unseen in training: weather "
                             "(add with --labels)\n")


def test_one_class_is_nothing_to_learn(nerkd, tiny_bert, tmp_path):
    sport = [r for r in topic_documents(10, 0) if r["label"] == "sport"]
    train = _write(tmp_path / "train.jsonl", sport)
    result = nerkd("train", train, "--labels", "sport,business", "--model", tiny_bert, "-o",
                   tmp_path / "m")
    assert result.exit_code == 1 and not (tmp_path / "m").exists()
    assert result.stderr == (f"nerkd: error: {train}: every training document is of class "
                             "'sport': a student trained on them would only ever predict it\n")
    empty = _write(tmp_path / "empty.jsonl", [{"text": "", "label": "sport"},
                                              {"text": "  ", "label": "business"}])
    result = nerkd("train", empty, "--model", tiny_bert, "-o", tmp_path / "m")
    assert result.exit_code == 1 and "no labelled training documents" in result.stderr


def test_blend_plans_documents_and_train_follows_the_plan(nerkd, tiny_bert, tmp_path):
    gold = _write(tmp_path / "gold.jsonl", topic_documents(12, 3))
    silver = _write(tmp_path / "silver.jsonl", [{**r, "source": "silver"}
                                                 for r in topic_documents(20, 4)])
    plan = tmp_path / "plan.jsonl"
    blended = nerkd("blend", "--gold", gold, "--silver", silver, "--schedule", "sequential",
                    "--epochs", "2", "-o", plan)
    assert blended.exit_code == 0, blended.stderr
    rows = [json.loads(line) for line in plan.read_text().splitlines()]
    assert [sum(r["epoch"] == e for r in rows) for e in (0, 1)] == [20, 12]  # silver, gold
    assert all(r["label"] in ("sport", "business") for r in rows)
    result = nerkd("train", plan, "--model", tiny_bert, "-o", tmp_path / "model",
                   "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    info = json.loads((tmp_path / "model" / "nerkd.json").read_text())
    assert info["config"]["task"] == "classify" and info["plan"] is True
    assert [e["records"] for e in info["schedule"]] == [20, 12]


def test_extra_classes_keep_their_case(nerkd, tiny_bert, tmp_path):
    train = _write(tmp_path / "train.jsonl", topic_documents(10, 0))
    result = nerkd("train", train, "--model", tiny_bert, "-o", tmp_path / "m", "--epochs", "1",
                   "--labels", "Weather", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    info = json.loads((tmp_path / "m" / "nerkd.json").read_text())
    assert info["labels"] == ["Weather", "business", "sport"]


def test_a_trained_classifier_teaches_classes(nerkd, trained, tmp_path):
    folder, _ = trained
    raw = _write(tmp_path / "raw.jsonl", [{"id": r["id"], "text": r["text"]}
                                          for r in topic_documents(20, 5)])
    result = nerkd("annotate", raw, "--task", "classify", "--teacher", "hf", "--model",
                   folder / "model", "--labels", "sport,business", "--report",
                   tmp_path / "report.json")
    assert result.exit_code == 0, result.stderr
    silver = result.jsonl()
    assert all(r["meta"]["backend"] == "hf" and r["source"] == "silver" for r in silver)
    gold = {r["id"]: r["label"] for r in topic_documents(20, 5)}
    assert sum(r["label"] == gold[r["id"]] for r in silver) >= 18
    only_sport = nerkd("annotate", raw, "--task", "classify", "--teacher", "hf", "--model",
                       folder / "model", "--labels", "sport", "--min-annotated", "0")
    assert {r["label"] for r in only_sport.jsonl()} == {"sport"}  # business: dropped


def test_the_zero_shot_teacher_picks_the_closest_definition(nerkd, tiny_bert, tmp_path):
    (tmp_path / "classes.txt").write_text("sport: club match win\nbusiness: bank company\n")
    raw = _write(tmp_path / "raw.jsonl", [{"id": "a", "text": "sport: club match win"},
                                          {"id": "b", "text": "business: bank company"}])
    result = nerkd("annotate", raw, "--task", "classify", "--teacher", "embed", "--model",
                   tiny_bert, "--labels", tmp_path / "classes.txt")
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], r["label"]) for r in result.jsonl()] == [("a", "sport"), ("b", "business")]


@pytest.mark.parametrize(("task", "teacher", "message"), [
    ("ner", "embed", "--teacher embed gives classes: use it with --task classify"),
    ("classify", "spacy", "--teacher spacy finds entities: for --task classify use hf (a text "
     "classifier), embed or an LLM")])
def test_teachers_of_the_other_task_are_refused(nerkd, tmp_path, task, teacher, message):
    raw = _write(tmp_path / "raw.jsonl", [{"text": "a text"}])
    result = nerkd("annotate", raw, "--task", task, "--teacher", teacher, "--labels", "a,b")
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {message}\n"


def test_balanced_class_weights_make_every_class_weigh_the_same():
    from nerkd.core.tasks.classify import balanced_weights

    weights = balanced_weights(["sport", "sport", "sport", "business"])
    assert weights == pytest.approx({"sport": 4 / 6, "business": 2.0})
    assert 3 * weights["sport"] == pytest.approx(1 * weights["business"])


def test_class_weights_reach_each_training_row(tiny_bert):
    from nerkd.core.records import record_from_json
    from nerkd.core.student import load_tokenizer
    from nerkd.core.tasks.classify import ClassifyTraining

    docs = [record_from_json(r) for r in
            [{"text": "club win", "label": "sport"}, {"text": "club match", "label": "sport"},
             {"text": "bank", "label": "business", "weight": 0.5},
             {"text": " ", "label": "business"}]]  # no text: not trained on, not counted
    tokenizer = load_tokenizer(str(tiny_bert))
    weights = {}
    for balanced in (False, True):
        task = ClassifyTraining(balanced=balanced)
        labels = task.labels(docs, None, None)
        weights[balanced] = [row[2] for row in task.rows(docs, tokenizer, labels, 16)]
    assert weights[False] == [1.0, 1.0, 0.5]
    assert weights[True] == pytest.approx([0.75, 0.75, 0.5 * 1.5])


def test_class_weights_are_saved_and_refused_for_entities(nerkd, tiny_bert, tmp_path):
    train = _write(tmp_path / "train.jsonl", topic_documents(10, 0)[:7])
    result = nerkd("train", train, "--model", tiny_bert, "-o", tmp_path / "m", "--epochs", "1",
                   "--class-weights", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "m" / "nerkd.json").read_text())["config"]["class_weights"]
    tagged = _write(tmp_path / "ner.jsonl", [{"tokens": ["Ann"], "tags": ["B-PER"]}])
    refused = nerkd("train", tagged, "--model", tiny_bert, "-o", tmp_path / "n",
                    "--class-weights")
    assert refused.exit_code == 1
    assert refused.stderr == ("nerkd: error: --class-weights is for text classification "
                              "(--task classify)\n")
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize(("name", "fmt"), [("classes.conll", "conll"), ("x.out", "text")])
def test_a_classifier_refuses_output_without_classes_in_one_line(nerkd, trained, tmp_path,
                                                                 name, fmt):
    folder, _ = trained
    out = tmp_path / name
    result = nerkd("predict", folder / "dev.jsonl", "--model", folder / "model", "-o", out,
                   "--to", fmt)
    assert result.exit_code == 1
    assert f"is a text classifier and {fmt} output holds no classes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_classifier_reads_a_document_per_line_of_raw_text(nerkd, trained, tmp_path):
    folder, _ = trained
    raw = tmp_path / "news.txt"
    raw.write_text("United won the cup. The club signed a striker. Fans cheered.\n\n"
                   "Shares fell. The bank lost money.\n")
    result = nerkd("predict", raw, "--model", folder / "model")
    assert result.exit_code == 0, result.stderr
    assert [r["id"] for r in result.jsonl()] == ["news-1", "news-3"]
    assert result.jsonl()[0]["text"].endswith("striker. Fans cheered.")


def test_a_document_without_text_gets_no_class(nerkd, trained, tmp_path):
    folder, _ = trained
    docs = _write(tmp_path / "docs.jsonl", [{"id": "a", "text": "", "label": "sport"},
                                            {"id": "b", "text": "The club won."},
                                            {"id": "c", "text": "   "}])
    result = nerkd("predict", docs, "--model", folder / "model")
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], "label" in r) for r in result.jsonl()] == [
        ("a", False), ("b", True), ("c", False)]  # the gold "sport" is no prediction either
    assert "2 documents without text left without a class" in result.stderr
    nothing = _write(tmp_path / "nothing.jsonl", [{"id": "a", "text": " "}])
    result = nerkd("predict", nothing, "--model", folder / "model")
    assert result.exit_code == 1 and "no document to classify" in result.stderr


def test_a_machine_label_replaces_the_other_tasks_gold(nerkd, trained, tiny_tagger, tmp_path):
    """``source`` speaks for every label of a record: a class predicted for a record with gold
    tags (or tags for one with a gold class) drops the gold, with a warning, rather than pass it
    off as silver, and the eval that follows cannot score the copied gold as the prediction."""
    folder, _ = trained
    both = _write(tmp_path / "both.jsonl", [
        {"id": "x1", "text": "Smith won the club match", "label": "sport", "source": "gold",
         "tokens": ["Smith", "won", "the", "club", "match"],
         "tags": ["B-PER", "O", "O", "O", "O"], "note": "kept"}])
    classified = nerkd("predict", both, "--model", folder / "model")
    assert classified.exit_code == 0, classified.stderr
    [row] = classified.jsonl()
    assert "tags" not in row and "spans" not in row and row["label"] in {"business", "sport"}
    assert (row["source"], row["note"]) == ("silver", "kept")
    assert "written with the machine's labels only" in classified.stderr
    tagged = nerkd("predict", both, "--model", tiny_tagger)
    assert tagged.exit_code == 0, tagged.stderr
    [row] = tagged.jsonl()
    assert "label" not in row and len(row["tags"]) == 5 and row["source"] == "silver"
    (tmp_path / "pred.jsonl").write_text(classified.stdout)
    assert nerkd("eval", both, tmp_path / "pred.jsonl").exit_code == 1  # no tags to score


def test_keep_gold_passes_classed_documents_through_the_model_teacher(nerkd, trained,
                                                                      tmp_path):
    folder, _ = trained
    docs = topic_documents(3, 5)
    raw = _write(tmp_path / "mixed.jsonl", [
        {"id": "gold", "text": docs[0]["text"], "label": "business", "source": "gold"},
        {"id": "new", "text": docs[1]["text"],
         "meta": {"teacher": "old-llm", "confidence": 0.3, "mine": 1}},
        {"id": "tagged", "text": "Smith won", "tokens": ["Smith", "won"],
         "tags": ["B-PER", "O"]}])
    result = nerkd("annotate", raw, "--task", "classify", "--teacher", "hf", "--model",
                   folder / "model", "--labels", "sport,business", "--keep-gold")
    assert result.exit_code == 0, result.stderr
    rows = {r["id"]: r for r in result.jsonl()}
    assert rows["gold"] == {"id": "gold", "text": docs[0]["text"],
                            "tokens": docs[0]["text"].split(), "label": "business",
                            "source": "gold", "meta": {}}
    assert "1 gold passed through" in result.stderr
    # a document labelled anew loses the old labels' provenance, not the user's own keys
    assert rows["new"]["meta"] == {"mine": 1, "teacher": str(folder / "model"),
                                   "backend": "hf"}
    # tags are not the classify task's gold: the record is labelled, and its tags dropped
    assert rows["tagged"]["source"] == "silver" and "tags" not in rows["tagged"]
    all_gold = _write(tmp_path / "gold.jsonl", [{"text": "a club", "label": "sport"}])
    result = nerkd("annotate", all_gold, "--task", "classify", "--teacher", "hf", "--model",
                   folder / "model", "--labels", "sport,business", "--keep-gold")
    assert result.exit_code == 0, result.stderr  # nothing left to ask the model
    assert result.jsonl() == [{"id": "gold-0", "text": "a club", "tokens": ["a", "club"],
                               "label": "sport", "meta": {}}]


def test_a_token_classifier_is_no_text_classifier(nerkd, tiny_tagger, tmp_path):
    raw = _write(tmp_path / "raw.jsonl", [{"text": "United won the cup"}])
    taught = nerkd("annotate", raw, "--task", "classify", "--teacher", "hf", "--model",
                   tiny_tagger, "--labels", "B-ORG,O")
    assert taught.exit_code == 1
    assert "is a token classifier (entity tags), not a text classifier" in taught.stderr
