"""The teacher's prompt and the call log."""

import json

from nerkd.core.calllog import CallLog, call_key
from nerkd.core.prompt import PromptBuilder, pick_examples, read_labels, similar_examples
from nerkd.core.records import make_record

GOLD = [
    make_record(["EU", "rejects", "German", "call"], ["B-ORG", "O", "B-MISC", "O"], id="a"),
    make_record(["Peter", "Blackburn"], ["B-PER", "I-PER"], id="b"),
    make_record(["nothing", "here"], ["O", "O"], id="c"),
]


def test_messages_hold_definitions_examples_and_the_text():
    builder = PromptBuilder(examples=GOLD[:2])
    messages = builder.messages("Angela Merkel met Chirac.")
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user",
                                             "assistant", "user"]
    assert "- PER: names of people" in messages[-1]["content"]
    assert messages[-1]["content"].endswith("Text: Angela Merkel met Chirac.")
    assert json.loads(messages[2]["content"]) == {"entities": [
        {"text": "EU", "label": "ORG"}, {"text": "German", "label": "MISC"}]}
    assert "offsets" in messages[-1]["content"]


def test_chain_of_thought_asks_for_reasoning_first():
    builder = PromptBuilder(examples=GOLD[:1], cot=True)
    assert "reasoning" in builder.messages("x")[-1]["content"]
    assert list(json.loads(builder.messages("x")[2]["content"])) == ["reasoning", "entities"]
    assert list(builder.schema()["properties"]) == ["reasoning", "entities"]


def test_fingerprint_changes_with_the_prompt_but_not_the_text():
    plain, cot = PromptBuilder(), PromptBuilder(cot=True)
    assert plain.fingerprint == PromptBuilder().fingerprint != cot.fingerprint
    assert PromptBuilder(examples=GOLD[:1]).fingerprint != plain.fingerprint


def test_labels_from_names_and_from_a_file(tmp_path):
    assert read_labels("per,DRUG") == {"PER": read_labels(None)["PER"], "DRUG": ""}
    path = tmp_path / "labels.txt"
    path.write_text("# custom\nDRUG: a medicine\nDOSE: an amount of it\n")
    assert read_labels(str(path)) == {"DRUG": "a medicine", "DOSE": "an amount of it"}


def test_examples_are_seeded_and_prefer_sentences_with_entities():
    assert [r.id for r in pick_examples(GOLD, 2, seed=1)] == [
        r.id for r in pick_examples(GOLD, 2, seed=1)]
    assert {r.id for r in pick_examples(GOLD, 2, seed=3)} == {"a", "b"}
    assert similar_examples("Peter Blackburn spoke", GOLD, 1)[0].id == "b"


def test_call_log_round_trip_and_keys(tmp_path):
    log = CallLog(tmp_path / "calls.sqlite")
    key = call_key("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 0})
    assert key == call_key("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 0})
    assert key != call_key("openai", "m", [{"role": "user", "content": "hi"}], {"temperature": 1})
    assert log.get(key) is None
    log.put(key, "openai", "m", {"messages": []}, ["answer"], 3, 4, 0.1)
    log.close()
    again = CallLog(tmp_path / "calls.sqlite")
    assert again.get(key) == {"answers": ["answer"], "prompt_tokens": 3, "completion_tokens": 4}
    assert len(again) == 1


def test_a_prompt_template_is_read_as_it_is(tmp_path):
    import gzip

    import pytest

    from nerkd.core.errors import NerkdError
    from nerkd.core.prompt import load_template

    template = "Label the entities.\r\n\r\nText: $text\n"
    (tmp_path / "t.txt").write_bytes(template.encode())  # its line ends are part of the key
    assert load_template(str(tmp_path / "t.txt")) == template
    (tmp_path / "t.txt.gz").write_bytes(gzip.compress(template.encode()))
    assert load_template(str(tmp_path / "t.txt.gz")) == template
    (tmp_path / "bad.txt").write_bytes(b"Text: $text\nna\xefve\n")
    with pytest.raises(NerkdError, match=r"bad.txt:2: not valid UTF-8 \(byte 0xef at column 3"):
        load_template(str(tmp_path / "bad.txt"))
    with pytest.raises(NerkdError, match="not - "):
        load_template("-")
