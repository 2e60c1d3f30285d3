"""`nerkd evolve` on documents: the teacher labels picked documents (a trained classifier) or
writes new ones (an LLM on the local server)."""

import itertools
import json

from fake_openai import FakeOpenAI, answer_from
from tiny import topic_documents


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _data(tmp_path):
    seeds = [r for label in ("sport", "business")
             for r in [d for d in topic_documents(40, 10) if d["label"] == label][:2]]
    _write(tmp_path / "seed.jsonl", seeds)
    _write(tmp_path / "dev.jsonl", topic_documents(12, 11))
    _write(tmp_path / "test.jsonl", topic_documents(12, 12))
    _write(tmp_path / "pool.jsonl", [{"id": r["id"], "text": r["text"]}
                                     for r in topic_documents(30, 13)])
    return tmp_path


def _evolve(nerkd, data, tiny_bert, *extra):
    return nerkd("evolve", "--seed-data", data / "seed.jsonl", "--dev", data / "dev.jsonl",
                 "--test", data / "test.jsonl", "-o", data / "run", "--rounds", "2",
                 "--per-round", "3", "--per-call", "2", "--student", tiny_bert, "--epochs",
                 "2", "--device", "cpu", *extra)


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_classifier_teacher_labels_picked_documents(nerkd, tmp_path, tiny_bert,
                                                      text_classifier):
    data = _data(tmp_path)
    teacher = text_classifier[0] / "model"
    result = _evolve(nerkd, data, tiny_bert, "--pool", data / "pool.jsonl", "--teacher", "hf",
                     "--model", teacher)
    assert result.exit_code == 0, result.stderr
    metrics = _metrics(data / "run")
    assert [m["pool"] for m in metrics] == [4, 7, 10]
    assert set(metrics[0]["dev_per_type"]) <= {"sport", "business"}
    assert all(0 <= m["test_f1"] <= 1 for m in metrics)
    assert "round 2: dev accuracy " in result.stderr and "test accuracy" in result.stderr
    last = [json.loads(line) for line in (data / "run/pool-2.jsonl").read_text().splitlines()]
    picked = [r for r in last if r["source"] == "silver"]
    truth = {r["id"]: r["label"] for r in topic_documents(30, 13)}
    assert len(picked) == 6 and sum(r["label"] == truth[r["id"]] for r in picked) >= 5
    info = json.loads((data / "run/model/nerkd.json").read_text())
    assert info["config"]["task"] == "classify"


def _writer():
    counter = itertools.count()

    def write(messages):
        n = next(counter)
        return json.dumps({"samples": [
            {"text": f"The club{n} won the match.", "label": "sport", "difficulty": "easy"},
            {"text": f"Bank{n} shares fell.", "label": "Business"},
            {"text": "It will rain.", "label": "weather"},
            {"text": "", "label": "sport"}]})

    return write


def test_an_llm_writes_labelled_documents(nerkd, tmp_path, tiny_bert):
    data = _data(tmp_path)
    answers = answer_from({"describe the student's weaknesses": "It confuses sport and "
                           "business when both appear."}, default=_writer())
    with FakeOpenAI(answer=answers) as server:
        result = _evolve(nerkd, data, tiny_bert, "--base-url", server.base_url, "--model",
                         "fake-teacher")
        prompts = [m["content"] for r in server.requests for m in r["messages"]]
    assert result.exit_code == 0, result.stderr
    first = _metrics(data / "run")[0]
    assert first["accepted"] == 3
    assert first["rejected"]["label out of schema"] == 3
    assert first["rejected"]["empty text"] == 3
    assert any("Correct: " in p and "Student: " in p for p in prompts)
    written = [json.loads(line) for line in (data / "run/pool-1.jsonl").read_text().splitlines()
               if '"synthetic"' in line]
    assert {r["label"] for r in written} == {"sport", "business"}  # "Business" case-folded


def test_unlabelled_seed_documents_need_the_classes_named(nerkd, tmp_path, tiny_bert):
    data = _data(tmp_path)
    _write(data / "seed.jsonl", [{"text": "a club match"}, {"text": "a bank"}])
    result = _evolve(nerkd, data, tiny_bert, "--pool", data / "pool.jsonl", "--task",
                     "classify", "--teacher", "embed")
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: --task classify needs --labels")
    assert not (data / "run").exists()


def test_every_task_has_a_command_kit():
    from nerkd.cli.tasks import KITS
    from nerkd.core.tasks import TASKS

    assert set(KITS) == set(TASKS)
    assert all(KITS[name].name == name for name in TASKS)


def test_labels_may_not_leave_out_a_class_of_the_data(nerkd, tmp_path, tiny_bert):
    data = _data(tmp_path)
    result = _evolve(nerkd, data, tiny_bert, "--labels", "sport", "--base-url",
                     "http://127.0.0.1:9/v1", "--model", "m")
    assert result.exit_code == 1
    assert "--labels leave out business, which the seed, dev or test data hold" in result.stderr
    assert not (data / "run").exists()
