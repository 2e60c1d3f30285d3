"""Tagger.tag against a plain reference: one window at a time through the network, the
argmax at every first subword the window owns; and the padding and collector helpers the
fast path is built from."""

import gc

import pytest
import torch

from nerkd.core.encoding import IGNORE, collate, encode
from nerkd.core.gcpause import paused_gc
from nerkd.core.predict import load_tagger
from nerkd.core.tags import to_iob2


def reference_tags(tagger, sentences):
    """Each window alone, unpadded, labels read position by position."""
    tags = [["O"] * len(s) for s in sentences]
    with torch.inference_mode():
        for window in encode(tagger.tokenizer, sentences, tagger.max_length):
            ids = torch.tensor([window.input_ids])
            best = tagger.network(input_ids=ids, attention_mask=torch.ones_like(ids))
            best = best.logits[0].argmax(-1).tolist()
            for position, word in enumerate(window.first):
                if word >= 0:
                    tags[window.item][word] = tagger.labels[best[position]]
    return [to_iob2(t) for t in tags]


@pytest.mark.parametrize("max_length", [256, 24])
def test_tags_are_those_of_one_window_at_a_time(teacher_model, max_length):
    from tiny import pattern_sentences

    sentences = [r.tokens for r in pattern_sentences(40, 7)]
    sentences += [sentences[0] * 12, [], ["\u200b"], ["paris", "\u200b", "london"],
                  sentences[2] + ["\u200b"]]  # windowed, empty, dropped words
    tagger = load_tagger(str(teacher_model), "cpu", max_length=max_length)
    found = tagger.tag(sentences)
    assert found == reference_tags(tagger, sentences)
    assert [len(t) for t in found] == [len(s) for s in sentences]
    assert any(t != "O" for tags in found for t in tags)
    if max_length == 24:
        assert len(tagger.encode(sentences)) > len(sentences)  # some were windowed
    assert tagger.tag([]) == []


def test_collate_pads_every_row_to_the_longest():
    rows = [[5, 6, 7], [8], [9, 10]]
    labels = [[1, 2, 3], [4], [5, 6]]
    batch = collate(rows, 0, labels)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    assert batch["labels"].tolist() == [[1, 2, 3], [4, IGNORE, IGNORE], [5, 6, IGNORE]]
    assert all(t.dtype == torch.long for t in batch.values())


def test_the_collector_is_back_after_the_block_even_on_error():
    assert gc.isenabled()
    with pytest.raises(ValueError), paused_gc():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_two_passes_at_once_tag_as_the_reference(teacher_model, monkeypatch):
    from tiny import pattern_sentences

    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # two passes of one thread, whatever the cores
    sentences = [r.tokens for r in pattern_sentences(40, 3)]
    tagger = load_tagger(str(teacher_model), "cpu", batch_size=4)  # ten passes
    assert tagger.tag(sentences) == reference_tags(tagger, sentences)


def test_cpu_passes_run_two_at_once_each_on_half_the_threads(monkeypatch):
    import threading

    from nerkd.core.predict import forward_each

    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    both_running = threading.Barrier(2, timeout=10)  # broken if the passes ran one by one
    seen = []

    def forward(item):
        both_running.wait()
        inference = torch.is_inference_mode_enabled()
        seen.append((threading.get_ident(), torch.get_num_threads(), inference))
        return item * item

    before = torch.get_num_threads()
    assert forward_each(iter(range(6)), forward, torch.device("cpu")) == [0, 1, 4, 9, 16, 25]
    assert len({thread for thread, _, _ in seen}) == 2
    assert {(threads, inference) for _, threads, inference in seen} == {(2, True)}
    assert torch.get_num_threads() == before


def test_a_failed_pass_stops_the_queued_ones(monkeypatch):
    import time

    from nerkd.core.predict import forward_each

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    ran = []

    def forward(item):
        ran.append(item)
        if item == 0:
            raise ValueError("pass 0 failed")
        time.sleep(0.2)

    with pytest.raises(ValueError, match="pass 0 failed"):
        forward_each(range(20), forward, torch.device("cpu"))
    assert len(ran) <= 3  # pass 0, the one beside it, and at most one taken before the stop


def test_a_lone_pass_runs_in_the_caller_on_every_thread(monkeypatch):
    import threading

    from nerkd.core.predict import forward_each

    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    seen = []
    forward_each([1], lambda item: seen.append((threading.get_ident(), torch.get_num_threads())),
                 torch.device("cpu"))
    assert seen == [(threading.get_ident(), torch.get_num_threads())]


@pytest.mark.parametrize(("device", "precision", "dtype"), [
    ("cpu", "auto", None), ("cpu", "float32", None), ("cpu", "bfloat16", "bfloat16"),
    ("cuda", "auto", "bfloat16"), ("cuda", "float32", None), ("cuda", "bfloat16", "bfloat16")])
def test_precision_is_float32_on_a_cpu_unless_asked(device, precision, dtype, monkeypatch):
    from nerkd.core.student import autocast_dtype

    monkeypatch.setattr("nerkd.core.student.native_bfloat16", lambda device: True)
    assert autocast_dtype(torch.device(device), precision) == dtype
    monkeypatch.setattr("nerkd.core.student.native_bfloat16", lambda device: False)  # a T4
    assert autocast_dtype(torch.device(device), precision) == (
        None if precision == "auto" else dtype)


def test_bfloat16_on_a_cpu_runs_the_passes_in_bfloat16(teacher_model, recwarn):
    from nerkd.core.predict import forward_each
    from tiny import pattern_sentences

    def product(_):
        return (torch.ones(2, 2) @ torch.ones(2, 2)).dtype

    cpu = torch.device("cpu")
    assert forward_each([0], product, cpu) == [torch.float32]
    assert forward_each([0, 1], product, cpu, "bfloat16") == [torch.bfloat16] * 2
    sentences = [r.tokens for r in pattern_sentences(40, 7)]
    exact = load_tagger(str(teacher_model), "cpu").tag(sentences)
    tagger = load_tagger(str(teacher_model), "cpu", precision="bfloat16")
    seen = []

    class Spy:  # the network, noting the dtype each pass is cast to
        def __init__(self, network):
            self.network, self.config = network, network.config

        def eval(self):
            self.network.eval()

        def __call__(self, *args, **kwargs):
            seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu"))
            return self.network(*args, **kwargs)

    tagger.network = Spy(tagger.network)
    fast = tagger.tag(sentences)
    assert seen and set(seen) == {torch.bfloat16}
    same = sum(a == b for x, y in zip(exact, fast) for a, b in zip(x, y))
    assert same >= 0.97 * sum(map(len, exact))  # bfloat16 keeps 8 bits: a few ties may move


def test_a_float16_checkpoint_tags_in_float32_and_under_bfloat16(tiny_tagger, tmp_path):
    """Models from elsewhere may ship half precision: they load as float32, so CPU bfloat16
    autocast does not mix dtypes (layer_norm refused float16 weights with bfloat16 input)."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    half = tmp_path / "half"
    AutoModelForTokenClassification.from_pretrained(tiny_tagger).half().save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_tagger).save_pretrained(half)
    sentences = [["Peter", "went", "to", "Paris"], ["the", "EU"]]
    tagger = load_tagger(str(half), "cpu", precision="bfloat16")
    assert next(tagger.network.parameters()).dtype == torch.float32
    assert [len(t) for t in tagger.tag(sentences)] == [4, 2]
