"""`annotate --task classify` against the local OpenAI-protocol server: one class per text."""

import json

import pytest
import typer

from fake_openai import FakeOpenAI, text_to_annotate

CLASSES = "sport: games, clubs and athletes\nbusiness: companies, markets and money\n"
TEXTS = ["United won the cup final.", "Shares in Acme rose sharply.",
         "The club signed a striker.", "It rained all day in Leeds."]


def _teacher(messages):
    """Names a class by keywords, in the answer shapes teachers use."""
    text = text_to_annotate(messages)
    if "cup" in text or "club" in text:
        return json.dumps({"label": "Sport" if "club" in text else "sport"})
    if "Shares" in text:
        return '{"class": "markets"}'
    return json.dumps({"label": "weather"})


def _run(nerkd, tmp_path, server, *extra):
    (tmp_path / "classes.txt").write_text(CLASSES)
    (tmp_path / "news.txt").write_text("\n".join(TEXTS) + "\n")
    return nerkd("annotate", tmp_path / "news.txt", "--task", "classify", "--labels",
                 tmp_path / "classes.txt", "--base-url", server.base_url, "--model", "fake",
                 "--call-log", tmp_path / "calls.sqlite", "--report", tmp_path / "report.json",
                 *extra)


def test_each_text_gets_a_class_from_the_schema(nerkd, tmp_path):
    with FakeOpenAI(answer=_teacher) as server:
        result = _run(nerkd, tmp_path, server, "--label-map", "markets=business")
        prompt = server.requests[0]["messages"][-1]["content"]
    assert result.exit_code == 0, result.stderr
    records = result.jsonl()
    assert [(r["text"], r["label"]) for r in records] == [
        (TEXTS[0], "sport"), (TEXTS[1], "business"), (TEXTS[2], "sport")]  # Leeds: out
    assert all(r["source"] == "silver" and "tags" not in r for r in records)
    assert "- sport: games, clubs and athletes" in prompt
    report = json.loads((tmp_path / "report.json").read_text())
    assert "entities" not in report
    assert report["classes"] == {"proposed": 4, "aligned_exact": 1, "aligned_case": 1,
                                  "aligned_mapped": 1, "dropped_label": 1}
    assert report["failed"][0]["reason"] == "no answer within the label set"


def test_a_sentence_naming_one_class_counts_and_one_naming_none_is_asked_again(nerkd,
                                                                             tmp_path):
    def chatty(messages):
        text = text_to_annotate(messages)
        if "cup" in text:
            return "I would say this is Sport."
        if "Shares" in text:  # sport or business? asked again, answered the same: failed
            return "Either sport or business, hard to say."
        if "club" in text:
            return "This is not business, really."  # a class denied is none
        return "It is about the weather."  # none named

    with FakeOpenAI(answer=chatty) as server:
        result = _run(nerkd, tmp_path, server, "--min-annotated", "0")
        asked = len(server.requests)
    assert result.exit_code == 0, result.stderr
    assert [(r["text"], r["label"]) for r in result.jsonl()] == [(TEXTS[0], "sport")]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["classes"] == {"proposed": 1, "aligned_prose": 1}
    assert report["parse_failures"] == 9 and asked == 10  # three texts, three tries each


def test_votes_give_a_confidence_and_a_rerun_is_free(nerkd, tmp_path):
    with FakeOpenAI(answer=_teacher) as server:
        first = _run(nerkd, tmp_path, server, "--votes", "3", "--min-annotated", "0.5")
        asked = len(server.requests)
        again = _run(nerkd, tmp_path, server, "--votes", "3")
        assert len(server.requests) == asked  # the call log answered everything
    assert first.exit_code == 0, first.stderr
    assert again.stdout == first.stdout
    assert {r["meta"]["confidence"] for r in first.jsonl()} == {1.0}
    assert {r["meta"]["votes"] for r in first.jsonl()} == {3}


def test_long_texts_are_cut_and_examples_are_documents(nerkd, tmp_path):
    examples = tmp_path / "examples.jsonl"
    examples.write_text("".join(json.dumps({"text": t, "label": c}) + "\n" for t, c in [
        ("The club lost.", "sport"), ("Banks merged.", "business"), ("A rally ended.", "sport")]))
    (tmp_path / "long.txt").write_text("The club " + "played well and " * 1000 + "\n")
    with FakeOpenAI(answer=_teacher) as server:
        result = nerkd("annotate", tmp_path / "long.txt", "--task", "classify", "--labels",
                       "sport,business", "--examples", examples, "--shots", "2",
                       "--base-url", server.base_url, "--model", "fake")
        messages = server.requests[0]["messages"]
    assert result.exit_code == 0, result.stderr
    assert result.jsonl()[0]["label"] == "sport"
    assert len(text_to_annotate(messages)) <= 4000
    shown = [json.loads(m["content"])["label"] for m in messages if m["role"] == "assistant"]
    assert sorted(shown) == ["business", "sport"]  # two shots, two classes


def test_classify_needs_classes(nerkd, tmp_path):
    (tmp_path / "news.txt").write_text("Some text.\n")
    result = nerkd("annotate", tmp_path / "news.txt", "--task", "classify",
                   "--base-url", "http://127.0.0.1:9/v1")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --task classify needs --labels: class names "
                             "(sport,tech) or a file of 'name: definition' lines\n")


def test_entity_prompt_options_are_refused_before_any_file_is_read(nerkd, tmp_path):
    (tmp_path / "news.txt").write_text("Some text.\n")
    result = nerkd("annotate", tmp_path / "news.txt", "--task", "classify", "--labels",
                   "sport,tech", "--cot", "--examples", tmp_path / "missing.jsonl",
                   "--base-url", "http://127.0.0.1:9/v1", "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --cot and --prompt shape the entity prompt: they "
                             "do not apply to --task classify\n")
    assert not (tmp_path / "out.jsonl").exists()


def test_labels_that_name_a_missing_file_are_not_class_names(nerkd, tmp_path):
    (tmp_path / "news.txt").write_text("United won the cup.\n")
    missing = nerkd("annotate", tmp_path / "news.txt", "--task", "classify", "--labels",
                    tmp_path / "bbc-classes.txt", "--base-url", "http://127.0.0.1:9/v1",
                    "--model", "m")
    assert missing.exit_code == 1 and "bbc-classes.txt: no such file" in missing.stderr
    twice = tmp_path / "classes.txt"
    twice.write_text("sport: games\nbusiness: money\nsport: politics\n")
    defined = nerkd("annotate", tmp_path / "news.txt", "--task", "classify", "--labels", twice,
                    "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert defined.exit_code == 1
    assert f"{twice}: class 'sport' is defined twice" in defined.stderr


def test_documents_without_text_are_failures_not_silence(nerkd, tmp_path, tiny_bert):
    source = tmp_path / "empty.jsonl"
    source.write_text('{"id": "x", "text": ""}\n{"id": "y", "text": "  "}\n')
    with FakeOpenAI(answer=_teacher) as server:
        result = nerkd("annotate", source, "--task", "classify", "--labels", "sport,business",
                       "--base-url", server.base_url, "--model", "fake",
                       "--call-log", tmp_path / "calls.sqlite")
        assert server.requests == []
    assert result.exit_code == 1
    assert "no record annotated: all 2 failed (first: x: no text)" in result.stderr
    embedded = nerkd("annotate", source, "--task", "classify", "--labels", "sport,business",
                     "--teacher", "embed", "--model", tiny_bert)
    assert embedded.exit_code == 1 and "(first: x: no text)" in embedded.stderr


def test_a_line_of_raw_text_is_one_document(nerkd, tmp_path):
    source = tmp_path / "news.txt"
    source.write_text("United won the cup. The club signed a striker.\nShares fell.\n")
    with FakeOpenAI(answer=_teacher) as server:
        result = nerkd("annotate", source, "--task", "classify", "--labels", "sport,business",
                       "--base-url", server.base_url, "--model", "fake", "--min-annotated", "0",
                       "--call-log", tmp_path / "calls.sqlite")
        asked = len(server.requests)
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], r["label"]) for r in result.jsonl()] == [("news-1", "sport")]
    assert asked == 2  # one request per line, not per sentence


def test_examples_show_only_classes_of_the_schema(tmp_path):
    from nerkd.cli.tasks import KITS
    from nerkd.core.records import make_record

    def document(text, label):
        record = make_record(text.split(), text=text)
        record.label = label
        return record

    pool = [document("United won", "sport"), document("Rain again", "weather")]
    labelling = KITS["classify"].labelling({"sport": "", "business": ""}, pool, None, 0, {})
    assert [r.label for r in labelling.prompt.examples] == ["sport"]
    with pytest.raises(typer.Exit):
        KITS["classify"].labelling({"business": ""}, pool, None, 0, {})


def test_votes_that_split_are_reported_as_such(nerkd, tmp_path):
    import itertools

    answers = itertools.cycle(["sport", "business", "tech"])
    source = tmp_path / "one.txt"
    source.write_text("United won the cup.\n")
    with FakeOpenAI(answer=lambda messages: json.dumps({"label": next(answers)})) as server:
        result = nerkd("annotate", source, "--task", "classify", "--labels",
                       "sport,business,tech", "--base-url", server.base_url, "--model", "fake",
                       "--votes", "3", "--concurrency", "1",
                       "--call-log", tmp_path / "calls.sqlite")
    assert result.exit_code == 1
    assert "(first: one-1: no majority among the votes)" in result.stderr
