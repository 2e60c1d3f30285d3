import pytest

from nerkd.core.errors import NerkdError
from nerkd.core.tags import TokenSpan, from_iob2, iob2_spans, spans_to_iob2, to_iob2


def test_iob1_to_iob2_starts_every_entity_with_b():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"]
    assert to_iob2(iob1) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"]


def test_iob2_i_after_o_is_repaired_to_b():
    assert to_iob2(["O", "I-MISC", "I-MISC"]) == ["O", "B-MISC", "I-MISC"]


def test_bioes_and_bilou_to_iob2():
    assert to_iob2(["S-PER", "B-ORG", "I-ORG", "E-ORG", "O"]) == [
        "B-PER", "B-ORG", "I-ORG", "I-ORG", "O"]
    assert to_iob2(["U-LOC", "B-PER", "L-PER"]) == ["B-LOC", "B-PER", "I-PER"]


def test_an_entity_ends_at_its_e_or_s_tag():
    """Ill-formed BIOES as models write it: what follows an E- or S- starts anew (conlleval,
    seqeval)."""
    assert to_iob2(["S-PER", "I-PER"]) == ["B-PER", "B-PER"]
    assert to_iob2(["B-PER", "E-PER", "I-PER", "E-PER", "O", "S-LOC", "E-LOC"]) == [
        "B-PER", "I-PER", "B-PER", "I-PER", "O", "B-LOC", "B-LOC"]
    assert to_iob2(["U-ORG", "L-ORG"]) == ["B-ORG", "B-ORG"]


@pytest.mark.parametrize("scheme", ["iob1", "bioes", "iob2"])
def test_writing_another_scheme_and_reading_back_is_identity(scheme):
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG", "I-ORG", "O", "B-MISC"]
    assert to_iob2(from_iob2(iob2, scheme)) == iob2


def test_bioes_output_marks_singles_and_ends():
    assert from_iob2(["B-PER", "I-PER", "O", "B-LOC"], "bioes") == ["B-PER", "E-PER", "O", "S-LOC"]


def test_iob1_output_uses_b_only_between_adjacent_same_type():
    assert from_iob2(["B-PER", "B-PER", "B-LOC"], "iob1") == ["I-PER", "B-PER", "I-LOC"]


@pytest.mark.parametrize("bad", ["X-FOO", "B-", "b-PER", "PER", ""])
def test_tags_outside_every_scheme_are_rejected(bad):
    with pytest.raises(NerkdError, match="not an IOB1/IOB2/BIOES tag"):
        to_iob2(["O", bad])


def test_spans_round_trip():
    tags = ["B-ORG", "O", "B-MISC", "I-MISC", "O", "B-PER"]
    spans = iob2_spans(tags)
    assert spans == [TokenSpan(0, 1, "ORG"), TokenSpan(2, 4, "MISC"), TokenSpan(5, 6, "PER")]
    assert spans_to_iob2(len(tags), spans) == tags


def test_overlapping_spans_are_an_error():
    with pytest.raises(NerkdError, match="overlap"):
        spans_to_iob2(4, [TokenSpan(0, 2, "PER"), TokenSpan(1, 3, "LOC")])
