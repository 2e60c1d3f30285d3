"""`nerkd evolve` end to end against the local OpenAI-protocol server, with a tiny student."""

import itertools
import json

import pytest

from fake_openai import FakeOpenAI, answer_from, user_text
from nerkd.core.evolve_task import NerTask
from nerkd.core.prompt import CONLL_LABELS

SEED = """Peter B-PER
Smith I-PER
visited O
London B-LOC
. O

The O
EU B-ORG
rejected O
German B-MISC
beef O
. O

Mary B-PER
works O
for O
Reuters B-ORG
in O
Paris B-LOC
. O
"""

DEV = """John B-PER
left O
Berlin B-LOC
. O

The O
UN B-ORG
met O
in O
Tokyo B-LOC
. O
"""

ANALYSIS = "The student confuses ORG with LOC and misses people's surnames."


def _writer():
    """Writes two valid samples per request (new each time), plus one of each kind of bad
    sample: an entity missing from the text, an out-of-schema label, a dev sentence."""
    counter = itertools.count()

    def write(messages):
        n = next(counter)
        samples = [
            {"text": f"Anna Kowalski{n} joined Zeta Bank in Oslo.", "difficulty": "easy",
             "entities": [{"text": f"Anna Kowalski{n}", "label": "PER"},
                          {"text": "Zeta Bank", "label": "ORG"}, {"text": "Oslo", "label": "LOC"}]},
            {"text": f"Fans of Club{n} cheered in Lima.", "difficulty": "hard",
             "entities": [{"text": f"Club{n}", "label": "ORG"}, {"text": "Lima", "label": "LOC"}]},
            {"text": "Nobody came to Rome.", "entities": [{"text": "Madrid", "label": "LOC"}]},
            {"text": "Bob sold Apple shares.",
             "entities": [{"text": "Apple", "label": "COMPANY_X"}]},
            {"text": "John left Berlin .", "entities": [{"text": "John", "label": "PER"}]},
        ]
        return json.dumps({"samples": samples})

    return write


def _answers():
    return answer_from({"describe the student's weaknesses": ANALYSIS}, default=_writer())


@pytest.fixture
def data(tmp_path):
    (tmp_path / "seed.conll").write_text(SEED)
    (tmp_path / "dev.conll").write_text(DEV)
    return tmp_path


def _evolve(nerkd, server, data, tiny_bert, *extra, rounds=2, output="run"):
    return nerkd("evolve", "--seed-data", data / "seed.conll", "--dev", data / "dev.conll",
                 "-o", data / output, "--rounds", str(rounds), "--per-round", "3",
                 "--per-call", "2", "--base-url", server.base_url, "--model", "fake-teacher",
                 "--student", tiny_bert, "--epochs", "2", "--device", "cpu", *extra)


def _metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _pool(run, number):
    return [json.loads(line) for line in (run / f"pool-{number}.jsonl").read_text().splitlines()]


def test_rounds_grow_the_pool_with_valid_targeted_samples(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        result = _evolve(nerkd, server, data, tiny_bert)
    assert result.exit_code == 0, result.stderr
    run = data / "run"
    metrics = _metrics(run)
    assert [m["round"] for m in metrics] == [0, 1, 2]
    assert [m["pool"] for m in metrics] == [3, 6, 9]  # 3 seeds, +3 a round (--per-round)
    assert json.loads(result.stdout)["round"] == 2
    first = metrics[0]
    assert first["accepted"] == 3
    assert first["rejected"]["entity not in text"] == 3  # one a request, 3 requests a round
    assert first["rejected"]["label out of schema"] == 3
    assert first["rejected"]["duplicate"] == 3  # the dev sentence, written three times
    assert first["calls"] == 4  # one analysis, then ceil(2 * 3 / 2) writing requests
    assert 0.0 <= first["dev_f1"] <= 1.0 and set(first["dev_per_type"]) <= set(CONLL_LABELS)
    synthetic = [r for r in _pool(run, 1) if r["source"] == "synthetic"]
    assert len(synthetic) == 3 and all(r["meta"]["round"] == 1 for r in synthetic)
    for record in synthetic:  # every label sits on the text it names
        assert record["spans"] and all(record["text"][s["start"]:s["end"]] == s["text"]
                                       for s in record["spans"])
    assert (run / "analysis-0.md").read_text().strip() == ANALYSIS
    assert (run / "model" / "config.json").exists()
    assert (run / "curve.png").read_bytes()[:4] == b"\x89PNG"
    prompts = [user_text(r["messages"]) for r in server.requests]
    writing = [p for p in prompts if "Write" in p]
    assert writing and all(ANALYSIS in prompt for prompt in writing)


def test_more_rounds_continue_from_the_last_finished_one(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        first = _evolve(nerkd, server, data, tiny_bert, rounds=1)
    assert first.exit_code == 0, first.stderr
    run = data / "run"
    assert [m["round"] for m in _metrics(run)] == [0, 1]
    with FakeOpenAI(answer=_answers()) as server:
        again = _evolve(nerkd, server, data, tiny_bert, rounds=2)
    assert again.exit_code == 0, again.stderr
    metrics = _metrics(run)
    assert [m["round"] for m in metrics] == [0, 1, 2]  # round 1 redone once, not duplicated
    assert metrics[1]["calls"] == 4
    assert len(server.requests) == 4  # round 0 was not asked again
    assert len(_pool(run, 2)) == 9
    with FakeOpenAI(answer=_answers()) as server:
        finished = _evolve(nerkd, server, data, tiny_bert, rounds=2)
    assert finished.exit_code == 0 and not server.requests  # a finished run stays finished
    assert _metrics(run) == metrics


def test_a_run_directory_takes_only_its_own_run(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        assert _evolve(nerkd, server, data, tiny_bert, rounds=1).exit_code == 0
    run = data / "run"

    def files(folder):
        return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    before = files(run)
    (data / "dev.conll").write_text(DEV.replace("Tokyo", "Kyoto"))  # same name, new content
    with FakeOpenAI(answer=_answers()) as server:
        other = _evolve(nerkd, server, data, tiny_bert, "--control", "random", rounds=2)
        assert not server.requests
    assert other.exit_code == 1
    assert other.stderr == (f"nerkd: error: {run}: a run started with other --control, --dev: "
                            "rerun with the same to resume it, or give a new --output\n")
    assert files(run) == before
    mine = data / "mine" / "model"  # somebody's own model: never replaced by a round's student
    mine.mkdir(parents=True)
    (mine / "weights.bin").write_bytes(b"mine")
    foreign = _evolve(nerkd, server, data, tiny_bert, output="mine")
    assert foreign.exit_code == 1 and "is not an evolve run directory" in foreign.stderr
    assert files(data / "mine") == {mine / "weights.bin": b"mine"}


def test_a_start_that_failed_leaves_the_directory_free(nerkd, data, tiny_bert):
    """A first try that fails before its first round (a missing --exclude file) claims
    nothing; a local path is the same whatever its spelling."""
    with FakeOpenAI(answer=_answers()) as server:
        failed = _evolve(nerkd, server, data, tiny_bert, "--exclude", data / "none.conll",
                         rounds=1)
        assert failed.exit_code == 1 and "none.conll" in failed.stderr
        (data / "bad.jsonl").write_text('{"tokens": ["EU"]}\n{"tokens": [\n')
        unreadable = _evolve(nerkd, server, data, tiny_bert, "--exclude", data / "bad.jsonl",
                             rounds=1)
        assert unreadable.exit_code == 1 and "bad.jsonl" in unreadable.stderr
        assert not (data / "run" / "run.json").exists()
        fixed = _evolve(nerkd, server, data, tiny_bert, rounds=1)
        assert fixed.exit_code == 0, fixed.stderr
    respelt = nerkd("evolve", "--seed-data", data / "seed.conll", "--dev", data / "dev.conll",
                    "-o", data / "run", "--rounds", "1", "--per-round", "3", "--per-call", "2",
                    "--base-url", server.base_url, "--model", "fake-teacher",
                    "--student", f"{tiny_bert}/", "--epochs", "2", "--device", "cpu")
    assert respelt.exit_code == 0 and "nothing to do" in respelt.stderr


def test_inputs_read_once_are_not_opened_again_to_be_hashed(tmp_path):
    import os
    import subprocess
    import sys

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code = f"from nerkd.core.io import file_digest; print(file_digest({str(fifo)!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout == "None\n"


def test_interrupted_by_an_unreachable_teacher_then_resumed(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        done = _evolve(nerkd, server, data, tiny_bert, rounds=1)
    assert done.exit_code == 0
    run = data / "run"
    (run / "pool-1.jsonl").unlink()  # as if killed before round 0's pool was written...
    with (run / "metrics.jsonl").open("a") as metrics:
        metrics.write('{"round": 1, "po')  # ...or in the middle of a metrics line
    dead = FakeOpenAI().start()
    dead.stop()  # a port nobody listens on
    failed = _evolve(nerkd, dead, data, tiny_bert, "--retries", "0", rounds=1)
    assert failed.exit_code == 0  # every answer was in the call log: no server needed
    assert [m["round"] for m in _metrics(run)] == [0, 1]
    assert _metrics(run)[0]["cached"] == 4 and _metrics(run)[0]["calls"] == 0


def test_random_control_asks_for_no_analysis(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        result = _evolve(nerkd, server, data, tiny_bert, "--control", "random", rounds=1)
    assert result.exit_code == 0, result.stderr
    prompts = [user_text(r["messages"]) for r in server.requests]
    assert prompts and not any("weaknesses" in p for p in prompts)
    assert not list((data / "run").glob("analysis-*.md"))
    assert _metrics(data / "run")[0]["accepted"] == 3


def test_a_budget_stops_cleanly_with_exit_3(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        result = _evolve(nerkd, server, data, tiny_bert, "--max-tokens", "1", rounds=2)
    assert result.exit_code == 3
    assert "budget" in result.stderr
    assert not (data / "run" / "pool-2.jsonl").exists()


def test_answers_cut_off_at_their_token_limit_are_counted_and_said(nerkd, data, tiny_bert):
    write = _writer()

    def wordy(messages):  # the samples, then notes past any token limit
        return write(messages)[:-1] + ', "notes": "' + "word " * 2000 + '"}'

    with FakeOpenAI(answer=answer_from({"describe the student's weaknesses": ANALYSIS},
                                       default=wordy)) as server:
        result = _evolve(nerkd, server, data, tiny_bert, rounds=1)
    assert result.exit_code == 0, result.stderr
    first = _metrics(data / "run")[0]
    assert first["truncated"] == 3 and first["accepted"] == 3  # the samples came before the cut
    assert "round 0: 3 of the teacher's answers stayed cut off" in result.stderr


def test_samples_are_validated_one_by_one():
    task = NerTask(CONLL_LABELS)
    answer = "```json\n" + json.dumps({"samples": [
        {"text": "Kim visited Seoul.", "entities": [{"text": "Kim", "label": "PER"},
                                                     {"text": "Seoul", "label": "LOC"}]},
        {"text": "", "entities": []},
        {"text": "It rained.", "entities": []},
        {"text": "Ann met Tom.", "entities": [{"text": "Ann met", "label": "PER"},
                                              {"text": "Ann", "label": "PER"}]},
        "not a sample",
    ]}) + "\n```\nHope this helps!"
    records, rejected = task.samples(answer)
    assert [r.text for r in records] == ["Kim visited Seoul."]
    assert records[0].tags == ["B-PER", "O", "B-LOC", "O"]
    assert rejected == {"empty text": 1, "no entities": 1, "overlapping entities": 1,
                        "not a sample": 1}
    assert task.samples("I cannot help with that.") == ([], {"unreadable answer": 1})


def test_a_written_entity_named_twice_is_labelled_twice():
    answer = json.dumps({"samples": [
        {"text": "Kim saw Kim.", "entities": [{"text": "Kim", "label": "PER"}]}]})
    records, _ = NerTask(CONLL_LABELS).samples(answer)
    assert records[0].tags == ["B-PER", "O", "B-PER", "O"]


def test_written_samples_follow_the_label_map():
    """--label-map reaches what the teacher writes, and wins over the built-in aliases."""
    answer = json.dumps({"samples": [
        {"text": "Kim visited Seoul.", "entities": [{"text": "Kim", "label": "HUMAN"},
                                                     {"text": "Seoul", "label": "PERSON"}]}]})
    plain, rejected = NerTask(CONLL_LABELS).samples(answer)
    assert plain == [] and rejected == {"label out of schema": 1}
    mapped, _ = NerTask(CONLL_LABELS, label_map={"HUMAN": "PER", "PERSON": "MISC"}).samples(
        answer)
    assert mapped[0].tags == ["B-PER", "O", "B-MISC", "O"]


def test_written_documents_follow_the_label_map():
    from nerkd.core.tasks.classify_evolve import ClassTask

    answer = json.dumps({"samples": [{"text": "United won the cup.", "label": "Football"}]})
    task = ClassTask({"sport": "", "business": ""}, label_map={"football": "sport"})
    records, _ = task.samples(answer)
    assert [r.label for r in records] == ["sport"]
    assert ClassTask({"sport": "", "business": ""}).samples(answer)[0] == []


def test_an_unreachable_teacher_is_one_line_and_leaves_no_next_pool(nerkd, data, tiny_bert):
    dead = FakeOpenAI().start()
    dead.stop()  # a port nobody listens on
    result = _evolve(nerkd, dead, data, tiny_bert, "--retries", "0", rounds=1)
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: cannot reach the teacher")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (data / "run" / "pool-0.jsonl").exists()
    assert not (data / "run" / "pool-1.jsonl").exists()


def test_a_teacher_that_answers_nothing_leaves_the_round_unfinished(nerkd, data, tiny_bert):
    """Every request failing (a server answering 500) is no finished round: the next pool is
    not written, so the rerun asks again once the server is back."""
    from fake_openai import Fault

    with FakeOpenAI(answer=_answers(), faults=[Fault("500", times=1000)]) as server:
        failed = _evolve(nerkd, server, data, tiny_bert, "--retries", "0", rounds=1)
    assert failed.exit_code == 1 and failed.stderr.splitlines()[-1] == (
        "nerkd: error: round 0: the teacher answered none of its requests, so nothing was "
        "added and the round is not finished; rerun to ask again (answers already given are "
        "in the call log)")
    assert not (data / "run" / "pool-1.jsonl").exists()
    with FakeOpenAI(answer=_answers()) as server:
        again = _evolve(nerkd, server, data, tiny_bert, rounds=1)
        assert again.exit_code == 0, again.stderr
        assert server.requests  # asked again
    assert [m["round"] for m in _metrics(data / "run")] == [0, 1]


def test_a_round_of_unreadable_answers_is_unfinished(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=lambda messages: "I'd rather not.") as server:
        failed = _evolve(nerkd, server, data, tiny_bert, rounds=1)
    assert failed.exit_code == 1
    assert "round 0: none of the teacher's answers could be read" in failed.stderr
    assert not (data / "run" / "pool-1.jsonl").exists()


def test_bad_arguments_are_one_line_errors(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=_answers()) as server:
        missing = nerkd("evolve", "--seed-data", data / "nope.conll", "--dev", data / "dev.conll",
                        "-o", data / "run", "--base-url", server.base_url, "--model", "m")
        negative = _evolve(nerkd, server, data, tiny_bert, "--rounds", "-1")
        (data / "raw.txt").write_text("John left Berlin .\n")
        (data / "empty.conll").write_text("")
        unlabelled = [nerkd("evolve", "--seed-data", data / name, "--dev", data / "dev.conll",
                            "-o", data / "run", "--base-url", server.base_url, "--model", "m")
                      for name in ("raw.txt", "empty.conll")]
    assert missing.exit_code == 1
    assert missing.stderr.startswith("nerkd: error:") and "nope.conll" in missing.stderr
    assert not (data / "run").exists()
    assert negative.exit_code == 2
    for result in unlabelled:  # nothing to train the first student on
        assert result.exit_code == 1
        assert "no tagged records (the first student is trained on them)" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (data / "run").exists()
    with FakeOpenAI(answer=_answers()) as server:
        nowhere = _evolve(nerkd, server, data, tiny_bert, output="/proc/nerkd-run")
    assert nowhere.exit_code == 1
    assert nowhere.stderr == ("nerkd: error: cannot write /proc/nerkd-run: No such file or "
                              "directory\n")


def test_a_copy_with_a_word_changed_is_a_duplicate():
    from nerkd.core.evolve_write import _near_duplicate, _words

    seen = [_words("The newspaper said Weizman met Arafat in the village of Caesarea on Monday")]
    assert _near_duplicate(_words("The newspaper said Weizman met Arafat in the village of "
                                  "Caesarea on Tuesday"), seen)
    assert _near_duplicate(_words("the  NEWSPAPER said Weizman met Arafat in the village of "
                                  "Caesarea on Monday"), seen)
    assert not _near_duplicate(_words("Weizman met Arafat in Caesarea"), seen)
    # a CoNLL dev sentence written back with ordinary punctuation is still that sentence
    dev = [_words("Essex , however , look certain to regain their top spot after Nasser "
                  "Hussain and Peter Such gave them a firm grip on their match against "
                  "Yorkshire .")]
    assert _near_duplicate(_words("Essex, however, look certain to regain their top spot after "
                                  "Nasser Hussain and Peter Such gave them a firm grip on their "
                                  "match against Yorkshire."), dev)
    assert _near_duplicate(_words("CRICKET - LEICESTERSHIRE TAKE OVER AT TOP AFTER INNINGS "
                                  "VICTORY."),
                           [_words("CRICKET - LEICESTERSHIRE TAKE OVER AT TOP AFTER INNINGS "
                                   "VICTORY .")])


def test_labels_must_hold_every_type_of_the_data(nerkd, data, tiny_bert):
    """Types are compared as --labels reads them (upper case); without --labels, the message
    names the default set in use."""
    (data / "seed.conll").write_text("John B-person\nleft O\nParis B-DATE\n")
    dead = FakeOpenAI().start()
    dead.stop()
    default = _evolve(nerkd, dead, data, tiny_bert, rounds=1)
    assert default.exit_code == 1
    assert ("the labels in use (PER, ORG, LOC, MISC) leave out DATE, person, which the seed"
            in default.stderr)
    given = _evolve(nerkd, dead, data, tiny_bert, "--labels", "person,date,per,org,loc",
                    "--retries", "0", rounds=1)
    assert "leave out" not in given.stderr  # past the check: the dead server stops it
    assert given.stderr.startswith("nerkd: error: cannot reach the teacher")


def test_a_run_whose_rounds_added_nothing_fails(nerkd, data, tiny_bert):
    with FakeOpenAI(answer=answer_from({"describe the student's weaknesses": ANALYSIS},
                                       default=json.dumps({"samples": []}))) as server:
        result = _evolve(nerkd, server, data, tiny_bert, rounds=2)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "nerkd: error: no round added a sample (rejected: none offered): the student learned "
        "nothing from the teacher")
    assert [m["round"] for m in _metrics(data / "run")] == [0, 1, 2]  # the rounds are kept
    with FakeOpenAI(answer=_answers()) as server:
        again = _evolve(nerkd, server, data, tiny_bert, rounds=2)  # nothing left to do
    assert again.exit_code == 1 and "no round added a sample" in again.stderr
