"""`nerkd eval` end to end: numbers checked by hand, gold against itself, alignment errors."""

import json
import random

import pytest

from nerkd.core.formats import read_records, write_records
from nerkd.core.records import make_record


def test_hand_checked_report(nerkd, fixtures):
    # gold: PER(Peter Smith) LOC(Paris) ORG(EU) ORG(Acme Corp) PER(John) LOC(Germany) = 6
    # pred: PER(Peter Smith) ORG(Paris) ORG(The EU) ORG(Acme Corp) LOC(Germany) MISC(won) = 6
    # correct: Peter Smith, Acme Corp, Germany = 3 -> P = R = F1 = 0.5
    result = nerkd("eval", fixtures / "eval_gold.conll", fixtures / "eval_pred.conll")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "conlleval"
    assert (report["micro"]["precision"], report["micro"]["recall"]) == (0.5, 0.5)
    assert report["micro"]["f1"] == 0.5
    # ORG: gold 2 (EU, Acme Corp), pred 3 (Paris, The EU, Acme Corp), correct 1
    assert report["per_type"]["ORG"]["precision"] == pytest.approx(1 / 3)
    assert report["per_type"]["ORG"]["recall"] == 0.5
    assert report["per_type"]["ORG"]["f1"] == pytest.approx(0.4)
    assert report["per_type"]["MISC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                          "support": 0, "predicted": 1, "correct": 0}
    # macro precision over LOC (1/1: Germany), MISC (0/1), ORG (1/3), PER (1/1)
    assert report["macro"]["precision"] == pytest.approx((1 + 0 + 1 / 3 + 1) / 4)
    # macro recall over LOC (1/2), MISC (0, no gold), ORG (1/2), PER (1/2)
    assert report["macro"]["recall"] == pytest.approx((0.5 + 0 + 0.5 + 0.5) / 4)
    counts = {kind: entry["count"] for kind, entry in report["errors"].items()}
    assert counts == {"missed": 1, "spurious": 1, "wrong_type": 1, "wrong_boundary": 1}
    assert report["errors"]["wrong_boundary"]["examples"][0]["pred"]["text"] == "The EU"
    assert report["errors"]["missed"]["examples"][0]["gold"]["text"] == "John"
    # 15 tokens, 5 differ: Paris, The, EU (I-ORG vs B-ORG), John, won
    assert report["token_accuracy"] == pytest.approx(10 / 15)


def test_gold_against_itself_is_perfect(nerkd, conll_dir):
    result = nerkd("eval", conll_dir / "dev.txt", conll_dir / "dev.txt", "--mode", "strict")
    report = json.loads(result.stdout)
    assert report["micro"]["f1"] == report["macro"]["f1"] == report["token_accuracy"] == 1.0
    assert report["micro"]["support"] == 5942
    assert all(entry["count"] == 0 for entry in report["errors"].values())


def test_matches_seqeval_on_perturbed_dev(nerkd, conll_dir, tmp_path):
    from seqeval.metrics import f1_score

    gold = list(read_records(conll_dir / "dev.txt"))
    rng = random.Random(7)
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
    pred_tags = [[rng.choice(labels) if rng.random() < 0.1 else t for t in r.tags] for r in gold]
    pred = tmp_path / "pred.conll"
    pred.write_text("".join(
        "".join(f"{w} {t}\n" for w, t in zip(r.tokens, tags)) + "\n"
        for r, tags in zip(gold, pred_tags)))
    result = nerkd("eval", conll_dir / "dev.txt", pred)
    # the written file is read back with the I- repair; seqeval's default mode reads the same
    assert json.loads(result.stdout)["micro"]["f1"] == pytest.approx(
        f1_score([r.tags for r in gold], pred_tags), abs=1e-12)
    # strict scores the tags as written: an I- that opens an entity is no entity
    from seqeval.scheme import IOB2

    strict = nerkd("eval", conll_dir / "dev.txt", pred, "--mode", "strict")
    expected = f1_score([r.tags for r in gold], pred_tags, mode="strict", scheme=IOB2)
    assert json.loads(strict.stdout)["micro"]["f1"] == pytest.approx(expected, abs=1e-12)
    assert abs(expected - json.loads(result.stdout)["micro"]["f1"]) > 0.05  # not the same


def test_strict_warns_of_gold_that_opens_entities_with_i(nerkd, tmp_path):
    iob1 = tmp_path / "iob1.conll"
    iob1.write_text("John I-PER\nSmith I-PER\nin O\nParis I-LOC\n")
    result = nerkd("eval", iob1, iob1, "--mode", "strict")
    assert result.exit_code == 0
    assert f"{iob1}: 1 sentences open an entity with I- (IOB1?)" in result.stderr
    assert "IOB1" not in nerkd("eval", iob1, iob1).stderr


def test_misaligned_files_name_the_first_differing_sentence_and_its_line(nerkd, tmp_path):
    gold, pred = tmp_path / "gold.conll", tmp_path / "pred.jsonl"
    gold.write_text("-DOCSTART- O\n\na O\nb O\n\nc O\nd O\n\ne O\n")
    write_records([make_record(["a", "b"], ["O", "O"], id="s0"),
                   make_record(["c", "X"], ["O", "O"], id="s1")], pred)
    result = nerkd("eval", gold, pred)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"nerkd: error: {gold}:6: sentence 1 (id gold-1) differs "
                                    f"from {pred}:2 (id s1) at token 1: 'd' vs 'X'")
    write_records([make_record(["a", "b"], ["O", "O"], id="s0")], pred)
    short = nerkd("eval", gold, pred)  # located at the first sentence the prediction lacks
    assert short.exit_code == 1
    assert short.stderr.startswith(f"nerkd: error: {gold}:6: 3 sentences in {gold} but 1 "
                                   f"sentence in {pred}; the first unmatched is sentence 1")


def test_unlabelled_predictions_are_an_error(nerkd, tmp_path, fixtures):
    pred = tmp_path / "pred.txt"
    pred.write_text("EU rejects German call\n")
    gold = tmp_path / "gold.conll"
    gold.write_text("EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n")
    result = nerkd("eval", gold, pred)
    assert result.exit_code == 1 and "has no tags" in result.stderr


def test_table_goes_to_stderr_only(nerkd, fixtures):
    result = nerkd("eval", fixtures / "eval_gold.conll", fixtures / "eval_pred.conll", "--table")
    assert "conlleval mode" in result.stderr and "wrong boundary" in result.stderr
    json.loads(result.stdout)  # stdout is still pure JSON


def test_plot_draws_a_png_beside_the_same_report(nerkd, fixtures, tmp_path):
    png = tmp_path / "plots" / "eval.png"
    plain = nerkd("eval", fixtures / "eval_gold.conll", fixtures / "eval_pred.conll")
    drawn = nerkd("eval", fixtures / "eval_gold.conll", fixtures / "eval_pred.conll",
                  "--plot", png)
    assert drawn.exit_code == 0, drawn.stderr
    assert drawn.stdout == plain.stdout  # the plot adds a file, never changes the report
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000  # a real drawing, not an empty canvas


def test_plot_is_never_stdout_nor_an_input(nerkd, fixtures, tmp_path):
    pred = tmp_path / "pred.conll"
    pred.write_text((fixtures / "eval_pred.conll").read_text())
    for plot in ("-", "", pred, tmp_path / "." / "pred.conll", "/dev/stdout"):
        result = nerkd("eval", fixtures / "eval_gold.conll", pred, "--plot", plot)
        assert result.exit_code == 2 and "name a new PNG file" in result.stderr
        assert result.stdout == ""
    assert pred.read_text() == (fixtures / "eval_pred.conll").read_text()


def test_by_id_pairs_sentences_and_counts_missing_ones_as_empty(nerkd, tmp_path):
    gold = [make_record(["Peter", "runs"], ["B-PER", "O"], id="a"),
            make_record(["EU", "talks"], ["B-ORG", "O"], id="b"),
            make_record(["in", "Paris"], ["O", "B-LOC"], id="c")]
    pred = [gold[2], gold[0]]  # out of order, and "b" is missing (a failed teacher call)
    write_records(gold, str(tmp_path / "gold.jsonl"), "jsonl")
    write_records(pred, str(tmp_path / "pred.jsonl"), "jsonl")
    positional = nerkd("eval", tmp_path / "gold.jsonl", tmp_path / "pred.jsonl")
    assert positional.exit_code == 1 and "differs" in positional.stderr
    result = nerkd("eval", tmp_path / "gold.jsonl", tmp_path / "pred.jsonl", "--by-id")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unpredicted"] == 1
    assert report["micro"]["precision"] == 1.0
    assert report["micro"]["recall"] == pytest.approx(2 / 3)
    stray = [make_record(["Oslo"], ["B-LOC"], id="zzz")]
    write_records(stray, str(tmp_path / "stray.jsonl"), "jsonl")
    bad = nerkd("eval", tmp_path / "gold.jsonl", tmp_path / "stray.jsonl", "--by-id")
    assert bad.exit_code == 1
    assert f"{tmp_path / 'stray.jsonl'}:1: --by-id: id zzz is not in" in bad.stderr
    write_records([gold[0], gold[1], gold[0]], str(tmp_path / "twice.jsonl"), "jsonl")
    for args in (["gold.jsonl", "twice.jsonl"], ["twice.jsonl", "gold.jsonl"]):
        twice = nerkd("eval", *[tmp_path / a for a in args], "--by-id")
        assert twice.exit_code == 1 and twice.stderr == (
            f"nerkd: error: {tmp_path / 'twice.jsonl'}:3: --by-id: id a appears twice "
            "(first at line 1)\n")


def test_gold_and_pred_cannot_both_be_stdin(nerkd):
    result = nerkd("eval", "-", "-", input="EU B-ORG\n")
    assert result.exit_code == 2
    assert result.stderr == ("nerkd: error: Invalid value: only one of GOLD and PRED can be - "
                             "(stdin)\n")


def test_each_file_has_its_own_format_option(nerkd, tmp_path):
    gold, pred = tmp_path / "gold.data", tmp_path / "pred.data"
    gold.write_text("EU B-ORG\nrejects O\n")
    pred.write_text('{"tokens": ["EU", "rejects"], "tags": ["B-ORG", "O"]}\n')
    result = nerkd("eval", gold, pred, "--from", "conll", "--pred-from", "jsonl")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["micro"]["f1"] == 1.0


def test_an_empty_gold_file_is_an_error_not_zero_scores(nerkd, tmp_path, fixtures):
    empty = tmp_path / "gold.conll"
    empty.write_text("\n")
    result = nerkd("eval", empty, fixtures / "eval_pred.conll")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"nerkd: error: {empty}: no records to evaluate: the input is empty\n"
