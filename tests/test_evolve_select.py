"""`nerkd evolve --pool`: the teacher labels pool sentences picked near the student's errors
(or at random), with a trained tiny model teacher and with an LLM teacher on the local server."""

import json
import random

import pytest

from fake_openai import FakeOpenAI
from nerkd.core.evolve_select import nearest_in_turn
from nerkd.core.formats import write_records
from tiny import pattern_sentences


def test_each_error_in_turn_takes_its_nearest_free_sentence():
    torch = pytest.importorskip("torch")
    apart = torch.tensor([[0.9, 0.1, 0.8, 0.0],    # error 0: sentence 0, then 2
                          [0.7, 0.2, 0.1, 0.95]])  # error 1: sentence 3, then 0
    assert sorted(nearest_in_turn(apart, 2, random.Random(0))) == [0, 3]
    same = torch.tensor([[0.9, 0.8, 0.0, 0.1],   # both nearest to sentence 0; then 1 ...
                         [0.9, 0.0, 0.8, 0.1]])  # ... or 2
    for seed in range(4):
        rows = [0, 1]
        random.Random(seed).shuffle(rows)
        second = {0: 1, 1: 2}[rows[1]]  # the row whose turn comes second takes its next
        assert nearest_in_turn(same, 2, random.Random(seed)) == [0, second]
    assert sorted(nearest_in_turn(same, 4, random.Random(1))) == [0, 1, 2, 3]


def test_sentence_vectors_are_unit_length_and_equal_for_equal_sentences(teacher_model):
    from nerkd.core.predict import load_tagger

    tagger = load_tagger(str(teacher_model), "cpu")
    vectors = tagger.sentence_vectors([["the", "john", "said"], ["paris", "is", "far"],
                                       ["the", "john", "said"]])
    assert vectors.shape[0] == 3
    assert vectors.norm(dim=-1).sub(1).abs().max() < 1e-5
    assert float(vectors[0] @ vectors[2]) > 0.9999 and float(vectors[0] @ vectors[1]) < 0.9999


def test_a_sentence_vector_sums_its_windows_means(teacher_model):
    import torch

    from nerkd.core.predict import load_tagger

    tagger = load_tagger(str(teacher_model), "cpu", max_length=8)
    sentences = [["the", "john", "said", "in", "paris"] * 4, ["paris", "is", "far"]]
    windows = tagger.encode(sentences)
    assert len(windows) > 3  # the long one is windowed
    reference = torch.zeros(2, tagger.network.config.hidden_size)
    with torch.inference_mode():
        for window in windows:
            ids = torch.tensor([window.input_ids])
            out = tagger.network(input_ids=ids, attention_mask=torch.ones_like(ids),
                                 output_hidden_states=True)
            reference[window.item] += out.hidden_states[-1][0].mean(0)
    expected = torch.nn.functional.normalize(reference, dim=-1)
    assert torch.allclose(tagger.sentence_vectors(sentences), expected, atol=1e-5)
    assert tagger.sentence_vectors([]).shape == (0, tagger.network.config.hidden_size)


@pytest.fixture
def data(tmp_path):
    seed, dev = pattern_sentences(4, 5), pattern_sentences(6, 6)
    write_records(seed, tmp_path / "seed.jsonl")
    write_records(dev, tmp_path / "dev.jsonl")
    write_records(pattern_sentences(5, 8), tmp_path / "test.jsonl")
    pool = [" ".join(r.tokens) for r in pattern_sentences(12, 7)]
    pool += [f"{line} today" for line in pool]  # distinct sentences
    pool += [" ".join(dev[0].tokens)]  # a dev sentence: must never be picked
    (tmp_path / "pool.txt").write_text("\n".join(pool) + "\n")
    return tmp_path


def _evolve(nerkd, data, tiny_bert, *teacher, control="targeted", run="run"):
    return nerkd("evolve", "--seed-data", data / "seed.jsonl", "--dev", data / "dev.jsonl",
                 "-o", data / run, "--pool", data / "pool.txt", "--rounds", "2",
                 "--per-round", "3", "--control", control, "--student", tiny_bert,
                 "--epochs", "2", "--device", "cpu", "--labels", "PER,LOC", *teacher)


def _pool(run, number):
    return [json.loads(line) for line in (run / f"pool-{number}.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("control", ["targeted", "random"])
def test_a_model_teacher_labels_the_picked_sentences(nerkd, data, tiny_bert, teacher_model,
                                                     control):
    result = _evolve(nerkd, data, tiny_bert, "--teacher", "hf", "--model", teacher_model,
                     "--test", data / "test.jsonl", control=control)
    assert result.exit_code == 0, result.stderr
    metrics = [json.loads(line) for line in (data / "run/metrics.jsonl").read_text().splitlines()]
    assert [m["pool"] for m in metrics] == [4, 7, 10]
    assert [m["calls"] for m in metrics] == [3, 3, 0]  # the teacher labels 3 a round
    assert [m["synthetic"] for m in metrics] == [0, 3, 6]
    assert all(0.0 <= m["test_f1"] <= 1.0 for m in metrics)  # scored, never shown
    last = _pool(data / "run", 2)
    picked = [r for r in last if r["source"] == "silver"]
    assert len({tuple(r["tokens"]) for r in picked}) == 6  # never the same sentence twice
    dev_words = {tuple(r.tokens) for r in [*pattern_sentences(6, 6), *pattern_sentences(5, 8)]}
    assert not any(tuple(r["tokens"]) in dev_words for r in picked)
    for record in picked:  # labelled by the teacher, which has learnt the pattern
        assert record["tags"][1] == "B-PER" and record["tags"][4] == "B-LOC"
        assert record["meta"]["selected"] is True and record["meta"]["control"] == control
        assert record["meta"]["backend"] == "hf"
    assert {r["meta"]["round"] for r in picked} == {1, 2}


def test_an_llm_teacher_labels_picked_sentences_through_the_annotate_path(nerkd, data,
                                                                         tiny_bert):
    (data / "pool.txt").write_text("Peter Smith visited London today.\n"
                                   "Mary Jones flew to Paris.\nJohn Brown left Berlin.\n"
                                   "Anna Kowalski works in Oslo.\n")
    with FakeOpenAI() as server:
        result = _evolve(nerkd, data, tiny_bert, "--base-url", server.base_url,
                         "--model", "fake-teacher")
    assert result.exit_code == 0, result.stderr
    picked = [r for r in _pool(data / "run", 2) if r["source"] == "silver"]
    assert len(picked) == 4  # 3, then the one left
    assert {(s["text"], s["label"]) for r in picked for s in r["spans"]} >= {
        ("Peter Smith", "PER"), ("London", "LOC")}


def test_a_model_teacher_without_a_pool_is_refused_before_anything_is_made(nerkd, data,
                                                                           teacher_model):
    result = nerkd("evolve", "--seed-data", data / "seed.jsonl", "--dev", data / "dev.jsonl",
                   "-o", data / "run", "--teacher", "hf", "--model", teacher_model)
    assert result.exit_code == 1
    assert result.stderr == ("nerkd: error: --teacher hf labels but cannot write: give it "
                             "--pool FILE of unlabelled text to pick sentences from\n")
    assert not (data / "run").exists()


def test_a_missing_pool_is_one_line_and_makes_no_run_directory(nerkd, data, teacher_model):
    result = nerkd("evolve", "--seed-data", data / "seed.jsonl", "--dev", data / "dev.jsonl",
                   "-o", data / "run", "--pool", data / "none.txt", "--teacher", "hf",
                   "--model", teacher_model)
    assert result.exit_code == 1
    missing = data / "none.txt"
    assert result.stderr == f"nerkd: error: {missing}: cannot open: No such file or directory\n"
    assert not (data / "run").exists()


def test_the_run_ends_when_the_pool_is_used_up(nerkd, data, tiny_bert, teacher_model):
    (data / "pool.txt").write_text("".join(f"{' '.join(r.tokens)} {word}\n" for r, word in
                                           zip(pattern_sentences(4, 9), ["a", "b", "c", "d"])))
    command = ["evolve", "--seed-data", data / "seed.jsonl", "--dev", data / "dev.jsonl",
               "-o", data / "run", "--pool", data / "pool.txt", "--rounds", "5",
               "--per-round", "3", "--student", tiny_bert, "--epochs", "1", "--device", "cpu",
               "--labels", "PER,LOC", "--teacher", "hf", "--model", teacher_model]
    result = nerkd(*command)
    assert result.exit_code == 0, result.stderr
    metrics = [json.loads(line) for line in (data / "run/metrics.jsonl").read_text().splitlines()]
    assert [(m["round"], m["pool"], m["pool_left"]) for m in metrics] == [
        (0, 4, 4), (1, 7, 1), (2, 8, 0)]  # round 2 trains on all of it, then the run ends
    assert "the pool is used up: after round 2" in result.stderr
    again = nerkd(*command)
    assert again.exit_code == 0 and "nothing to do" in again.stderr
    assert len((data / "run/metrics.jsonl").read_text().splitlines()) == 3
