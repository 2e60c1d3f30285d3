"""Text classification records: `label` in JSONL, `convert --label-field`, and `eval` scores
(accuracy, micro/macro and per-class P/R/F1, confusion matrix)."""

import itertools
import json

import pytest

from conftest import DATA
from nerkd.core.tasks import task_of
from nerkd.core.tasks.classify import confusion_columns, evaluate_labels

ARTICLES = [
    {"id": "b1", "topic": "business", "text": "Shares in Acme rose 5% on Monday."},
    {"id": "s1", "topic": "sport", "text": "United won the cup final 2-0."},
    {"id": "t1", "topic": "tech", "text": "A new phone chip doubles battery life."},
    {"id": "s2", "topic": "sport", "text": "The Lions lost in Cardiff."},
]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_scores_by_hand():
    gold = ["sport", "sport", "tech", "business", "business"]
    pred = ["sport", "tech", "tech", "sport", None]
    report = evaluate_labels(gold, pred)
    assert report["accuracy"] == pytest.approx(2 / 5)
    assert report["unanswered"] == 1
    assert report["micro"]["precision"] == pytest.approx(2 / 4)  # 4 answered, 2 right
    assert report["micro"]["recall"] == pytest.approx(2 / 5)
    sport, tech, business = (report["per_class"][c] for c in ("sport", "tech", "business"))
    assert (sport["precision"], sport["recall"]) == (pytest.approx(1 / 2), pytest.approx(1 / 2))
    assert (tech["precision"], tech["recall"], tech["f1"]) == (
        pytest.approx(1 / 2), 1.0, pytest.approx(2 / 3))
    assert business["f1"] == 0.0 and business["support"] == 2
    assert report["macro"]["f1"] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert report["confusion"] == {"business": {"sport": 1, "(none)": 1},
                                   "sport": {"sport": 1, "tech": 1}, "tech": {"tech": 1}}
    # nothing was predicted business: its column of zeros stays, unanswered comes last
    assert confusion_columns(report["confusion"]) == ["business", "sport", "tech", "(none)"]
    assert confusion_columns({"a": {"zz": 2}, "b": {"b": 1}}) == ["a", "b", "zz"]


def test_convert_reads_the_class_from_another_field(nerkd, tmp_path):
    source = _jsonl(tmp_path / "news.jsonl", ARTICLES)
    result = nerkd("convert", source, "--label-field", "topic")
    assert result.exit_code == 0, result.stderr
    records = result.jsonl()
    assert [(r["id"], r["label"]) for r in records] == [(a["id"], a["topic"]) for a in ARTICLES]
    assert all("topic" not in r and "tags" not in r for r in records)


def test_classification_records_do_not_go_into_conll(nerkd, tmp_path):
    source = _jsonl(tmp_path / "news.jsonl", [{**a, "label": a.pop("topic")}
                                               for a in map(dict, ARTICLES)])
    result = nerkd("convert", source, "-o", tmp_path / "news.conll")
    assert result.exit_code == 1
    assert result.stderr == (f"nerkd: error: {tmp_path / 'news.conll'}: record b1: CoNLL "
                             "holds entity tags, not a document's class (label); write JSONL "
                             "instead (--to jsonl)\n")
    assert not (tmp_path / "news.conll").exists()


@pytest.mark.parametrize("label", [["a"], "", "two\nlines", 1.5, True])
def test_a_class_must_be_a_name_or_an_integer(nerkd, tmp_path, label):
    source = _jsonl(tmp_path / "bad.jsonl", [{"text": "A text.", "label": label}])
    result = nerkd("convert", source)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"nerkd: error: {source}:1: 'label' must be a class name")


def test_eval_scores_documents(nerkd, tmp_path):
    gold = _jsonl(tmp_path / "gold.jsonl", [{**a, "label": a["topic"]} for a in ARTICLES])
    guesses = ["business", "sport", "sport", "sport"]
    pred = _jsonl(tmp_path / "pred.jsonl", [{**a, "label": g} for a, g in zip(ARTICLES, guesses)])
    result = nerkd("eval", gold, pred, "--table", "--plot", tmp_path / "confusion.png")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "classify" and report["accuracy"] == 0.75
    assert report["per_class"]["tech"]["recall"] == 0.0
    assert report["confusion"]["tech"] == {"sport": 1}
    assert "confusion" in result.stderr and "accuracy 0.7500 over 4 documents" in result.stderr
    assert (tmp_path / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert "does nothing" not in result.stderr
    strict = nerkd("eval", gold, pred, "--mode", "strict", "--examples", "3")
    assert strict.stdout == result.stdout  # the same scores, and a word on the options
    assert "--mode is for entities" in strict.stderr and "--examples is for" in strict.stderr


def test_eval_by_id_counts_missing_documents_as_unanswered(nerkd, tmp_path):
    gold = _jsonl(tmp_path / "gold.jsonl", [{**a, "label": a["topic"]} for a in ARTICLES])
    spaced = "United  won the\ncup final 2-0."  # the same words: raw text puts it on a line
    pred = _jsonl(tmp_path / "pred.jsonl", [{"id": "s1", "text": spaced, "label": "sport"}])
    report = json.loads(nerkd("eval", gold, pred, "--by-id").stdout)
    assert (report["unanswered"], report["accuracy"]) == (3, 0.25)
    other = _jsonl(tmp_path / "other.jsonl", [{"id": "s1", "text": "United lost the cup final.",
                                               "label": "sport"}])
    result = nerkd("eval", gold, other, "--by-id")  # the same id, another document
    assert result.exit_code == 1 and result.stderr.startswith(
        f"nerkd: error: {gold}:2: document 1 (id s1) differs from {other}:1 (id s1) at "
        "character 7: 'United won the cup final 2-0.' vs 'United lost the cup final.'")
    twice = _jsonl(tmp_path / "twice.jsonl", [{"id": "s1", "text": "x", "label": "sport"}] * 2)
    result = nerkd("eval", gold, twice, "--by-id")
    assert result.exit_code == 1 and f"{twice}:2: --by-id: id s1 appears twice" in result.stderr
    misordered = _jsonl(tmp_path / "order.jsonl", [{**a, "label": "sport"} for a in ARTICLES[::-1]])
    result = nerkd("eval", gold, misordered)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"nerkd: error: {gold}:1: document 0 (id b1) differs from "
                                    f"{misordered}:1 ")
    short = _jsonl(tmp_path / "short.jsonl", [{**a, "label": "sport"} for a in ARTICLES[:1]])
    result = nerkd("eval", gold, short)  # located at the first document the prediction lacks
    assert result.exit_code == 1 and result.stderr.startswith(f"nerkd: error: {gold}:2: ")


def test_the_task_is_read_off_the_records():
    from nerkd.core.records import make_record

    document = make_record(["Shares", "rose"], label="business")
    sentence = make_record(["Peter", "left"], ["B-PER", "O"])
    assert task_of([document, make_record(["no", "label"])]) == "classify"
    assert task_of([sentence, document]) == "ner"
    assert task_of([]) == "ner"


def test_the_bbc_topics_come_in_through_convert(nerkd, tmp_path):
    bbc = DATA / "bbc" / "bbc.jsonl"
    if not bbc.exists():
        pytest.skip(f"shared BBC data not present at {bbc}")
    with bbc.open() as lines:
        sample = tmp_path / "bbc.jsonl"
        sample.write_text("".join(itertools.islice(lines, 0, 2225, 100)))
    result = nerkd("convert", sample, "--label-field", "topic")
    assert result.exit_code == 0, result.stderr
    labels = {r["label"] for r in result.jsonl()}
    assert labels == {"business", "entertainment", "politics", "sport", "tech"}


def test_eval_of_predictions_without_any_class_is_an_error(nerkd, tmp_path):
    gold = _jsonl(tmp_path / "gold.jsonl", [{**a, "label": a["topic"]} for a in ARTICLES])
    tagged = _jsonl(tmp_path / "tagged.jsonl", [{"id": a["id"], "text": a["text"]}
                                                for a in ARTICLES])
    result = nerkd("eval", gold, tagged)
    assert result.exit_code == 1
    assert f"{tagged}: no record has a class (label)" in result.stderr


def test_a_sentence_names_a_class_alone_or_none():
    from nerkd.core.parse import ParseError
    from nerkd.core.records import make_record
    from nerkd.core.tasks.classify import ClassReading

    dotted = ClassReading(["U.S.", "World!"], {})  # classes that end in a sign, as written
    assert [dotted.read(a, make_record(["a"]))[0] for a in ("U.S.", "World!")] == [
        "U.S.", "World!"]
    nested = ClassReading(["business", "small business"], {})
    assert nested.read("It is small business.", make_record(["a"]))[0] == "small business"
    with pytest.raises(ParseError):  # both named, each in its own place
        nested.read("Business rather than small business", make_record(["a"]))
    reading = ClassReading(["spam", "not spam"], {})
    record = make_record(["a"])
    assert reading.read("This is not spam.", record)[0] == "not spam"  # the longer one
    assert reading.read("Plainly spam, I think.", record)[0] == "spam"
    assert ClassReading(["sport", "business"], {}).read("business.", record)[0] == "business"
    mapped = ClassReading(["sport", "business", "tech"], {"football": "sport"})
    assert mapped.read("I would say football.", record)[0] == "sport"  # --label-map names too
    assert mapped.read("**Tech**", record)[0] == "tech"
    assert mapped.read("Sport, no doubt.", record)[0] == "sport"  # a negation elsewhere
    for denied in ("It is not sport at all.", "It isn't really sport."):
        with pytest.raises(ParseError):
            mapped.read(denied, record)
