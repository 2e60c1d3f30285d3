"""`annotate --teacher hf`: a trained tiny token classifier as the teacher."""

import json

import pytest

from nerkd.core.formats import write_records
from tiny import pattern_sentences


@pytest.fixture
def data(tmp_path):
    gold = tmp_path / "gold.jsonl"
    write_records(pattern_sentences(20, 2), gold)
    unlabelled = tmp_path / "raw.jsonl"
    unlabelled.write_text("".join(json.dumps({"id": r.id, "tokens": r.tokens}) + "\n"
                                  for r in pattern_sentences(20, 2)))
    return gold, unlabelled


def test_the_model_labels_tokens_and_eval_scores_it(nerkd, teacher_model, data, tmp_path):
    gold, raw = data
    silver = tmp_path / "silver.jsonl"
    result = nerkd("annotate", raw, "--teacher", "hf", "--model", teacher_model, "-o", silver,
                   "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in silver.read_text().splitlines()]
    assert len(records) == 20
    assert {r["source"] for r in records} == {"silver"}
    assert {(r["meta"]["backend"], r["meta"]["teacher"]) for r in records} == {
        ("hf", str(teacher_model))}
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["annotated"] == 20 and (report["calls"], report["cached"]) == (20, 0)
    scored = nerkd("eval", gold, silver)
    assert json.loads(scored.stdout)["micro"]["f1"] > 0.9


def test_a_rerun_reads_the_call_log_until_the_model_changes(nerkd, teacher_model, data,
                                                            tmp_path):
    _, raw = data
    log = tmp_path / "calls.sqlite"

    def run(name):
        result = nerkd("annotate", raw, "--teacher", "hf", "--model", teacher_model,
                       "--call-log", log, "--report", tmp_path / f"{name}.json")
        assert result.exit_code == 0, result.stderr
        report = json.loads((tmp_path / f"{name}.json").read_text())
        return result.stdout, (report["calls"], report["cached"])

    first, counts = run("first")
    assert counts == (20, 0)
    again, counts = run("again")
    assert again == first and counts == (0, 20)
    config = teacher_model / "config.json"  # same bytes, new mtime: it counts as retrained
    config.write_text(config.read_text())
    retrained, counts = run("retrained")
    assert retrained == first and counts == (20, 0)


def test_types_outside_the_schema_are_dropped_or_mapped(nerkd, teacher_model, data, tmp_path):
    _, raw = data
    only_people = nerkd("annotate", raw, "--teacher", "hf", "--model", teacher_model,
                        "--labels", "PER", "--report", tmp_path / "r1.json")
    assert only_people.exit_code == 0, only_people.stderr
    assert {t for r in only_people.jsonl() for t in r["tags"]} <= {"O", "B-PER", "I-PER"}
    dropped = json.loads((tmp_path / "r1.json").read_text())["entities"]
    assert dropped["dropped_label"] >= 15
    mapped = nerkd("annotate", raw, "--teacher", "hf", "--model", teacher_model,
                   "--labels", "PER,ORG", "--label-map", "LOC=ORG")
    assert mapped.exit_code == 0, mapped.stderr
    assert sum(r["tags"].count("B-ORG") for r in mapped.jsonl()) >= 15


def test_keep_gold_passes_labelled_records_through(nerkd, teacher_model, tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps({"id": "g", "tokens": ["the", "john", "said"],
                                 "tags": ["O", "O", "B-MISC"]}) + "\n"
                     + json.dumps({"id": "u", "tokens": ["the", "john", "said"]}) + "\n")
    result = nerkd("annotate", mixed, "--teacher", "hf", "--model", teacher_model,
                   "--keep-gold", "--labels", "PER,LOC,MISC")
    assert result.exit_code == 0, result.stderr
    gold, silver = result.jsonl()
    assert gold["tags"] == ["O", "O", "B-MISC"] and "backend" not in gold["meta"]
    assert silver["tags"] == ["O", "B-PER", "O"] and silver["source"] == "silver"
    gold_only = tmp_path / "gold.jsonl"
    gold_only.write_text(json.dumps({"id": "g", "tokens": ["the"], "tags": ["O"]}) + "\n")
    result = nerkd("annotate", gold_only, "--teacher", "hf", "--model", teacher_model,
                   "--keep-gold", "--labels", "PER,LOC,MISC")
    assert result.exit_code == 0, result.stderr  # nothing left to ask the model
    assert [r["id"] for r in result.jsonl()] == ["g"]


def test_the_hf_teacher_needs_a_model(nerkd, data):
    _, raw = data
    result = nerkd("annotate", raw, "--teacher", "hf")
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --teacher hf needs --model DIR "
                             "(a token-classification model)\n")


@pytest.fixture(scope="module")
def spacy_pipeline(tmp_path_factory):
    """A real spaCy pipeline, built here: a blank English tokenizer and an entity ruler
    with OntoNotes types (no trained weights)."""
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": "Peter Smith"},
                        {"label": "GPE", "pattern": "London"},
                        {"label": "ORG", "pattern": "Acme Corp."},
                        {"label": "DATE", "pattern": "Monday"},
                        {"label": "NORP", "pattern": "German"}])
    path = tmp_path_factory.mktemp("spacy") / "pipeline"
    nlp.to_disk(path)
    return path


def test_a_spacy_pipeline_labels_text_with_conll_types(nerkd, spacy_pipeline, tmp_path):
    raw = tmp_path / "news.txt"
    raw.write_text("Peter Smith of Acme Corp. flew to London on Monday.\n"
                   "The German minister said nothing.\n")
    result = nerkd("annotate", raw, "--teacher", "spacy", "--model", spacy_pipeline,
                   "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.stderr
    first, second = result.jsonl()
    assert [(s["text"], s["label"]) for s in first["spans"]] == [
        ("Peter Smith", "PER"), ("Acme Corp.", "ORG"), ("London", "LOC")]
    assert [(s["text"], s["label"]) for s in second["spans"]] == [("German", "MISC")]
    assert first["meta"]["backend"] == "spacy"
    entities = json.loads((tmp_path / "report.json").read_text())["entities"]
    assert entities == {"proposed": 5, "dropped_label": 1, "aligned_model": 4}  # Monday: DATE


def test_the_label_map_overrides_the_shipped_one(nerkd, spacy_pipeline, tmp_path):
    raw = tmp_path / "news.txt"
    raw.write_text("Peter Smith flew to London.\n")
    result = nerkd("annotate", raw, "--teacher", "spacy", "--model", spacy_pipeline,
                   "--label-map", "GPE=MISC")
    assert result.exit_code == 0, result.stderr
    assert [(s["text"], s["label"]) for s in result.jsonl()[0]["spans"]] == [
        ("Peter Smith", "PER"), ("London", "MISC")]


def test_an_unknown_spacy_pipeline_is_one_line(nerkd, tmp_path):
    pytest.importorskip("spacy")
    raw = tmp_path / "news.txt"
    raw.write_text("Peter went home.\n")
    result = nerkd("annotate", raw, "--teacher", "spacy", "--model", "no_such_pipeline")
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: no_such_pipeline: cannot load the spaCy "
                                    "pipeline: ")
    assert len(result.stderr.splitlines()) == 1


def test_ontonotes_types_in_the_schema_stay_themselves(nerkd, spacy_pipeline, tmp_path):
    raw = tmp_path / "news.txt"
    raw.write_text("Peter Smith flew to London.\n")
    result = nerkd("annotate", raw, "--teacher", "spacy", "--model", spacy_pipeline,
                   "--labels", "PERSON,GPE")
    assert result.exit_code == 0, result.stderr
    assert [(s["text"], s["label"]) for s in result.jsonl()[0]["spans"]] == [
        ("Peter Smith", "PERSON"), ("London", "GPE")]


def test_a_spacy_rerun_is_cached_and_still_maps_afresh(nerkd, spacy_pipeline, tmp_path):
    raw = tmp_path / "news.txt"
    raw.write_text("Peter Smith flew to London.\n")
    log, report = tmp_path / "calls.sqlite", tmp_path / "report.json"
    runs = []
    for mapping in ("GPE=LOC", "GPE=MISC"):
        result = nerkd("annotate", raw, "--teacher", "spacy", "--model", spacy_pipeline,
                       "--label-map", mapping, "--call-log", log, "--report", report)
        assert result.exit_code == 0, result.stderr
        stats = json.loads(report.read_text())
        runs.append(([s["label"] for s in result.jsonl()[0]["spans"]],
                     (stats["calls"], stats["cached"])))
    assert runs == [(["PER", "LOC"], (1, 0)), (["PER", "MISC"], (0, 1))]


def test_a_text_classifier_is_no_entity_teacher(nerkd, text_classifier, data):
    folder, _ = text_classifier
    _, raw = data
    result = nerkd("annotate", raw, "--teacher", "hf", "--model", folder / "model")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(f"nerkd: error: {folder / 'model'}: its label ")
    assert result.stderr.endswith("is it a text classifier? (use it with --task classify)\n")


@pytest.mark.parametrize("teacher", ["hf", "embed"])
def test_a_model_teacher_runs_on_the_device_asked_for(nerkd, teacher_model, tiny_bert, data,
                                                      teacher):
    """--device reaches the model: a card this machine lacks is named, not ignored."""
    _, raw = data
    model = teacher_model if teacher == "hf" else tiny_bert
    task = ["--task", "classify", "--labels", "a,b"] if teacher == "embed" else []
    result = nerkd("annotate", raw, "--teacher", teacher, "--model", model, *task,
                   "--device", "cuda:3")
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: --device cuda:3: ")
