"""The core ``evaluate``: hand-checked numbers, both modes, the error kinds, and agreement with
seqeval on perturbed CoNLL-2003 dev tags."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import DATA, NO_DATA
from nerkd.core.evaluate import ERROR_KINDS, error_pairs, evaluate, extract

DEV = DATA / "conll2003" / "dev.txt"
LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]

# (tokens, gold, pred), one sentence a row
HAND = [
    ("John Smith lives in New York", "B-PER I-PER O O B-LOC I-LOC", "B-PER I-PER O O B-LOC I-LOC"),
    ("Acme Corp hired Mary", "B-ORG I-ORG O B-PER", "B-ORG I-ORG O O"),  # Mary missed
    ("Paris is nice", "B-LOC O O", "B-PER O O"),  # wrong type
    ("The United Nations met", "O B-ORG I-ORG O", "B-ORG I-ORG I-ORG O"),  # wrong boundary
    ("He said hello", "O O O", "O O B-MISC"),  # spurious
    ("Bank of England rates", "B-ORG I-ORG I-ORG O", "B-LOC O B-LOC O"),  # 2 boundary pairs
    ("German beer", "B-MISC O", "I-MISC O"),  # right in conlleval, missed in strict
    ("Berlin and Rome", "B-LOC O B-LOC", "B-LOC O B-LOC"),
]
TOKENS = [t.split() for t, _, _ in HAND]
GOLD = [g.split() for _, g, _ in HAND]
PRED = [p.split() for _, _, p in HAND]
IDS = [f"s{i}" for i in range(len(HAND))]


def _read_tags(path: Path) -> list[list[str]]:
    """Tag sequences of a CoNLL file: tag in the last column, blank lines between sentences."""
    sentences: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            sentences[-1].append(line.split()[-1])
        elif sentences[-1]:
            sentences.append([])
    return [s for s in sentences if s]


def _perturb(gold: list[list[str]], seed: int) -> list[list[str]]:
    """~10% of tags replaced by random labels (illegal I- after O included), and ~10% of
    entity starts moved one token left or right."""
    rng = random.Random(seed)
    pred = []
    for tags in gold:
        tags = [rng.choice(LABELS) if rng.random() < 0.1 else t for t in tags]
        for i in range(len(tags) - 1):
            if tags[i].startswith("B-") and rng.random() < 0.1:
                label = tags[i][2:]
                if i > 0 and tags[i - 1] == "O":  # extend one token left
                    tags[i - 1], tags[i] = f"B-{label}", f"I-{label}"
                else:  # drop the first token
                    tags[i], tags[i + 1] = "O", f"B-{label}"
        pred.append(tags)
    return pred


@pytest.fixture(scope="module")
def dev() -> tuple[list[list[str]], list[list[str]]]:
    if not DEV.exists():
        pytest.skip(NO_DATA)
    gold = _read_tags(DEV)
    return gold, _perturb(gold, seed=13)


def test_gold_against_itself_is_perfect() -> None:
    report = evaluate(GOLD, GOLD, tokens=TOKENS)
    assert report["micro"]["f1"] == report["macro"]["f1"] == report["token_accuracy"] == 1.0
    assert all(row["f1"] == 1.0 for row in report["per_type"].values())
    assert list(report["per_type"]) == ["LOC", "MISC", "ORG", "PER"]
    assert {kind: e["count"] for kind, e in report["errors"].items()} == dict.fromkeys(
        ERROR_KINDS, 0)


def test_hand_checked_conlleval_scores() -> None:
    report = evaluate(GOLD, PRED, tokens=TOKENS, ids=IDS)
    # gold 10: PER 2 (John Smith, Mary), LOC 4 (New York, Paris, Berlin, Rome),
    #          ORG 3 (Acme Corp, United Nations, Bank of England), MISC 1 (German)
    # pred 11: PER 2 (John Smith, Paris), LOC 5 (New York, Bank, England, Berlin, Rome),
    #          ORG 2 (Acme Corp, The United Nations), MISC 2 (hello, German from I-MISC)
    # correct 6: John Smith, New York, Acme Corp, German, Berlin, Rome
    # P = 6/11, R = 6/10, F1 = 2*6 / (11 + 10) = 4/7
    assert report["micro"] == {"precision": 6 / 11, "recall": 0.6, "f1": pytest.approx(4 / 7),
                               "support": 10, "predicted": 11, "correct": 6}
    per_type = report["per_type"]
    # PER 1/2 each; LOC P 3/5 R 3/4 F1 6/9; ORG P 1/2 R 1/3 F1 2/5; MISC P 1/2 R 1 F1 2/3
    expected = {"PER": (0.5, 0.5, 0.5), "LOC": (0.6, 0.75, 2 / 3), "ORG": (0.5, 1 / 3, 0.4),
                "MISC": (0.5, 1.0, 2 / 3)}
    for label, (p, r, f) in expected.items():
        row = per_type[label]
        assert (row["precision"], row["recall"]) == (pytest.approx(p), pytest.approx(r))
        assert row["f1"] == pytest.approx(f), label
    assert per_type["LOC"]["support"] == 4 and per_type["LOC"]["predicted"] == 5
    # macro P = (1/2 + 3/5 + 1/2 + 1/2) / 4, R = (1/2 + 3/4 + 1/3 + 1) / 4 = 31/48,
    # F1 = (1/2 + 2/3 + 2/5 + 2/3) / 4 = 67/120
    assert report["macro"] == {"precision": pytest.approx(0.525), "recall": pytest.approx(31 / 48),
                               "f1": pytest.approx(67 / 120), "support": 10}
    # 29 tokens; 9 differ: Mary, Paris, The, United, Bank, of, England, hello, German
    assert (report["sentences"], report["tokens"]) == (8, 29)
    assert report["token_accuracy"] == pytest.approx(20 / 29)


def test_hand_checked_error_kinds() -> None:
    errors = evaluate(GOLD, PRED, tokens=TOKENS, ids=IDS)["errors"]
    assert list(errors) == list(ERROR_KINDS)
    # United Nations vs The United Nations; Bank of England vs Bank and vs England
    counts = {kind: e["count"] for kind, e in errors.items()}
    assert counts == {"missed": 1, "spurious": 1, "wrong_type": 1, "wrong_boundary": 3}
    assert errors["wrong_type"]["examples"] == [{
        "sentence": 2, "id": "s2", "text": "Paris is nice",
        "gold": {"start": 0, "end": 1, "label": "LOC", "text": "Paris"},
        "pred": {"start": 0, "end": 1, "label": "PER", "text": "Paris"}}]
    missed, spurious = errors["missed"]["examples"][0], errors["spurious"]["examples"][0]
    assert (missed["gold"]["text"], missed["pred"]) == ("Mary", None)
    assert (spurious["gold"], spurious["pred"]["text"], spurious["id"]) == (None, "hello", "s4")
    boundary = [(e["sentence"], e["gold"]["text"], e["pred"]["text"], e["pred"]["label"])
                for e in errors["wrong_boundary"]["examples"]]
    assert boundary == [(3, "United Nations", "The United Nations", "ORG"),
                        (5, "Bank of England", "Bank", "LOC"),
                        (5, "Bank of England", "England", "LOC")]


def test_examples_are_capped_and_optional() -> None:
    report = evaluate(GOLD, PRED, max_examples=2)
    boundary = report["errors"]["wrong_boundary"]
    assert boundary["count"] == 3 and [e["sentence"] for e in boundary["examples"]] == [3, 5]
    example = boundary["examples"][0]
    assert (example["id"], example["text"], example["gold"]["text"]) == (None, None, None)
    assert evaluate(GOLD, PRED, max_examples=0)["errors"]["missed"] == {"count": 1, "examples": []}
    assert json.loads(json.dumps(report)) == report


def test_strict_mode_drops_ill_formed_predictions() -> None:
    report = evaluate(GOLD, PRED, mode="strict")
    # the I-MISC after O (German) is no entity: pred 10, correct 5 -> P = R = F1 = 1/2
    assert report["mode"] == "strict"
    assert (report["micro"]["precision"], report["micro"]["recall"]) == (0.5, 0.5)
    assert report["micro"]["f1"] == 0.5 and report["micro"]["predicted"] == 10
    assert report["per_type"]["MISC"]["predicted"] == 1 and report["per_type"]["MISC"]["f1"] == 0
    assert report["errors"]["missed"]["count"] == 2


def test_i_after_o_counts_only_in_conlleval_mode() -> None:
    gold, pred = [["O", "B-PER", "I-PER"]], [["O", "I-PER", "I-PER"]]
    assert evaluate(gold, pred)["micro"]["f1"] == 1.0
    strict = evaluate(gold, pred, mode="strict")
    assert strict["micro"]["f1"] == 0.0 and strict["micro"]["predicted"] == 0
    assert strict["errors"]["missed"]["count"] == 1


def test_every_unmatched_entity_lands_in_exactly_one_kind(dev) -> None:
    gold, pred = dev
    gold_entities, pred_entities = extract(gold, "conlleval"), extract(pred, "conlleval")
    correct = gold_entities & pred_entities
    pairs = error_pairs(gold_entities - correct, pred_entities - correct)
    kinds_of: dict[object, set[str]] = {}
    for kind, found in pairs.items():
        for g, p in found:
            for entity in (g, p):
                if entity is not None:
                    kinds_of.setdefault(entity, set()).add(kind)
    assert set(kinds_of) == (gold_entities | pred_entities) - correct
    assert all(len(kinds) == 1 for kinds in kinds_of.values())
    assert all(pairs[kind] for kind in ERROR_KINDS)  # the perturbation makes every kind


def test_matches_seqeval_on_perturbed_dev(dev) -> None:
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    gold, pred = dev
    for mode, kwargs in (("conlleval", {}), ("strict", {"mode": "strict", "scheme": IOB2})):
        report = evaluate(gold, pred, mode=mode)
        micro = report["micro"]
        assert 0.5 < micro["f1"] < 0.95  # a real perturbation, not a no-op
        assert micro["f1"] == pytest.approx(f1_score(gold, pred, **kwargs), abs=1e-12)
        assert micro["precision"] == pytest.approx(precision_score(gold, pred, **kwargs))
        assert micro["recall"] == pytest.approx(recall_score(gold, pred, **kwargs))
        table = classification_report(gold, pred, output_dict=True, **kwargs)
        assert set(report["per_type"]) == set(table) - {"micro avg", "macro avg", "weighted avg"}
        for label, row in report["per_type"].items():
            assert row["f1"] == pytest.approx(table[label]["f1-score"]), (mode, label)
            assert row["precision"] == pytest.approx(table[label]["precision"]), (mode, label)
            assert row["support"] == table[label]["support"]
        assert report["macro"]["f1"] == pytest.approx(table["macro avg"]["f1-score"])


def test_strict_reads_a_subset_of_conlleval_entities(dev) -> None:
    gold, pred = dev
    # gold is well-formed IOB2, so both modes read it alike; in pred, strict drops stray I- tags
    assert extract(gold, "strict") == extract(gold, "conlleval")
    strict, lenient = extract(pred, "strict"), extract(pred, "conlleval")
    assert strict < lenient


@pytest.mark.parametrize(("gold", "pred"), [
    ([["O"], ["O"]], [["O"]]),
    ([["O", "B-PER"]], [["O"]]),
    ([["O"], ["B-LOC", "O"]], [["O"], ["B-LOC"]]),
])
def test_misaligned_shapes_raise(gold: list[list[str]], pred: list[list[str]]) -> None:
    with pytest.raises(ValueError, match="sentence|gold"):
        evaluate(gold, pred)


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="token"):
        evaluate([["B-PER", "O"]], [["B-PER", "O"]], tokens=[["Ann"]])
    with pytest.raises(ValueError, match="ids"):
        evaluate([["O"]], [["O"]], ids=[])
    with pytest.raises(ValueError, match="mode"):
        evaluate([["O"]], [["O"]], mode="lenient")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["conlleval", "strict"])
def test_empty_input_gives_zeros(mode: str) -> None:
    report = evaluate([], [], mode=mode)  # type: ignore[arg-type]
    assert (report["sentences"], report["tokens"], report["token_accuracy"]) == (0, 0, 0.0)
    assert report["micro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0,
                               "predicted": 0, "correct": 0}
    assert report["macro"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["per_type"] == {}
    assert all(e == {"count": 0, "examples": []} for e in report["errors"].values())
    assert evaluate([[]], [[]], mode=mode)["token_accuracy"] == 0.0  # an empty sentence too


def test_no_predictions_scores_zero_without_dividing_by_zero() -> None:
    report = evaluate([["B-PER", "O"]], [["O", "O"]])
    assert report["micro"]["precision"] == 0.0 and report["micro"]["recall"] == 0.0
    assert report["per_type"]["PER"]["f1"] == 0.0 and report["token_accuracy"] == 0.5


def test_touching_entities_do_not_overlap() -> None:
    # gold PER [0, 1), pred PER [1, 3): adjacent, not overlapping -> missed + spurious
    report = evaluate([["B-PER", "O", "O"]], [["O", "B-PER", "I-PER"]])
    counts = {kind: e["count"] for kind, e in report["errors"].items()}
    assert counts == {"missed": 1, "spurious": 1, "wrong_type": 0, "wrong_boundary": 0}
