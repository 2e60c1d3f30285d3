import gzip
import itertools
from pathlib import Path

import pytest

from nerkd.core.errors import NerkdError
from nerkd.core.formats import read_records, sniff, write_records


def _sentences(path: Path) -> list[list[list[str]]]:
    """The raw CoNLL structure: sentences of column lists, blank-line runs collapsed."""
    text = path.read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return [[line.split() for line in block.strip("\n").split("\n")] for block in blocks]


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_conll2003_round_trip_through_jsonl_is_lossless(conll_dir, tmp_path, split):
    source = conll_dir / f"{split}.txt"
    jsonl, back = tmp_path / "x.jsonl", tmp_path / "back.conll"
    write_records(read_records(source), jsonl, "jsonl")
    write_records(read_records(jsonl), back, "conll")
    assert _sentences(back) == _sentences(source)


def test_iob1_with_docstart_converts_to_iob2_and_keeps_documents(fixtures, tmp_path):
    records = list(read_records(fixtures / "iob1.conll"))
    assert [r.docstart is not None for r in records] == [True, False, True]
    assert records[0].tags[:3] == ["B-ORG", "O", "B-MISC"]
    assert records[2].tags == ["B-LOC", "B-LOC", "O", "B-LOC", "O"]
    assert records[0].columns[0] == ["NNP", "I-NP"]
    out = tmp_path / "out.conll"
    write_records(read_records(fixtures / "iob1.conll"), out, "conll", scheme="iob1")
    assert _sentences(out) == _sentences(fixtures / "iob1.conll")


def test_gzip_input_and_output(fixtures, tmp_path):
    out = tmp_path / "x.jsonl.gz"
    count = write_records(read_records(fixtures / "iob1.conll"), out, "jsonl")
    assert count == 3
    assert gzip.open(out, "rt").read().count("\n") == 3
    assert [r.tokens for r in read_records(out)] == [
        r.tokens for r in read_records(fixtures / "iob1.conll")]


def test_reading_is_lazy(conll_dir):
    first = list(itertools.islice(read_records(conll_dir / "train.txt"), 2))
    assert first[0].id == "train-0" and first[1].id == "train-1"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['{"text": "a"}'], "jsonl"),
        (["EU NNP B-ORG", "rejects VBZ O", ""], "conll"),
        (["-DOCSTART- -X- -X- O", "", "EU B-ORG"], "conll"),
        (["EU rejects German call", "Peter Blackburn"], "text"),
        (["Hello O", "This is a sentence."], "text"),
        ([], "text"),
    ],
)
def test_sniffing(lines, expected):
    assert sniff(lines) == expected


def test_text_input_is_split_into_sentences_with_offsets(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("Peter went to Paris. He liked it.\n\nEU rejects German call\n")
    records = list(read_records(path))
    assert [r.text for r in records] == [
        "Peter went to Paris.", "He liked it.", "EU rejects German call"]
    assert records[1].id == "in-1-1" and records[2].id == "in-3-0"
    assert not records[0].labelled


def test_one_column_conll_is_unlabelled_tokens(tmp_path):
    path = tmp_path / "tokens.conll"
    path.write_text("EU\nrejects\n\nPeter\n")
    records = list(read_records(path))
    assert [r.tokens for r in records] == [["EU", "rejects"], ["Peter"]]
    assert records[0].tags is None


def _error(path: Path, fmt=None) -> str:
    with pytest.raises(NerkdError) as info:
        list(read_records(path, fmt))
    return str(info.value)


@pytest.mark.parametrize(
    ("content", "fmt", "expected"),
    [
        (b"EU B-ORG\nrejects\n", "conll", "x:2: expected 2 columns like the first token line"),
        (b"EU NNP B-ORG\nrejects\tVBZ O\nbad\t \tO\n", "conll", "x:3: expected 3 columns"),
        (b"EU B-ORG\nrejects X-FOO\n", "conll", "x:2: 'X-FOO' is not an IOB1/IOB2/BIOES tag"),
        (b'{"tokens": ["a"]}\n{"tokens": [\n', "jsonl", "x:2: invalid JSON"),
        (b'{"tokens": ["a", "b"], "tags": ["O"]}\n', "jsonl", "x:1: 2 tokens but 1 tags"),
        (b"EU B-ORG\nM\xfcnchen B-LOC\n", "conll", "x:2: not valid UTF-8 (byte 0xfc at column 2)"),
        (b"a O\n" + b"x " * 2_500_000 + b"\n", "conll", "x:2: line of 5000000 characters"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, content, fmt, expected):
    path = tmp_path / "x"
    path.write_bytes(content)
    assert _error(path, fmt).startswith(f"{path}{expected[1:]}")


def test_empty_file_gives_no_records(tmp_path):
    path = tmp_path / "empty.conll"
    path.write_bytes(b"")
    assert list(read_records(path)) == []


def test_failed_write_leaves_existing_output_untouched(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")

    def records():
        yield from read_records(Path(__file__).parent / "fixtures" / "iob1.conll")
        raise NerkdError("boom")

    with pytest.raises(NerkdError):
        write_records(records(), out)
    assert out.read_text() == "precious\n"
    assert list(tmp_path.iterdir()) == [out]


def test_conll_output_refuses_to_mix_tagged_and_untagged_records(tmp_path):
    """Read back, a CoNLL file takes its column count from the first token line: a tagged
    record followed by an untagged one would write a file nerkd cannot read."""
    from nerkd.core.records import make_record

    tagged = make_record(["EU", "rejects"], ["B-ORG", "O"], id="a")
    untagged = make_record(["Peter", "left"], id="b")
    out = tmp_path / "mixed.conll"
    with pytest.raises(NerkdError, match="record b: 1 CoNLL columns where the records before"):
        write_records([tagged, make_record([], id="empty"), untagged], out, "conll")
    assert not out.exists()
    write_records([untagged, untagged], out, "conll")  # one layout: fine, and reads back
    assert [r.tokens for r in read_records(out)] == [["Peter", "left"]] * 2


def test_cr_before_a_crlf_is_a_blank_line(tmp_path):
    path = tmp_path / "mixed.conll"
    path.write_bytes(b"EU B-ORG\r\r\nPeter B-PER\r\n\rParis B-LOC\r")
    assert [r.tokens for r in read_records(path)] == [["EU"], ["Peter"], ["Paris"]]


@pytest.mark.parametrize(("record", "problem"), [
    ({"tokens": ["-DOCSTART-", "x"], "tags": ["O", "O"]}, "token 0 is -DOCSTART-"),
    ({"tokens": ["\ufeffEU"], "tags": ["B-ORG"]}, "token 0 starts with a byte-order mark"),
    ({"tokens": ["a"], "columns": [["NN"]]}, "CoNLL columns without tags"),
    ({"tokens": ["x" * 100_000], "tags": ["O"]}, "longer than CoNLL's 100,000 characters"),
])
def test_conll_refuses_records_it_would_not_read_back(tmp_path, record, problem):
    from nerkd.core.records import record_from_json

    out = tmp_path / "out.conll"
    out.write_text("kept\n")
    with pytest.raises(NerkdError) as caught:
        write_records([record_from_json({"id": "r", **record})], out, "conll")
    assert str(caught.value).startswith(f"{out}: record r: ") and problem in str(caught.value)
    assert out.read_text() == "kept\n"


def test_a_conll_file_may_open_with_a_brace_token(tmp_path):
    path = tmp_path / "brace.conll"
    path.write_text("{ O\nx O\n")
    assert [r.tokens for r in read_records(path)] == [["{", "x"]]
    assert sniff(['{"tokens": ["a"], "tags": ["O"]}']) == "jsonl"
    assert sniff(['{"tokens": ["a"]']) == "jsonl"  # broken JSON is still JSONL, to be refused


def test_records_without_tokens_left_out_of_conll_are_said(tmp_path):
    from nerkd.core.records import make_record

    out = tmp_path / "out.conll"
    with pytest.warns(UserWarning, match="1 record without tokens is not in .*out.conll"):
        write_records([make_record([], id="e"), make_record(["a"], id="a")], out, "conll")


def test_gzipped_bytes_are_read_whatever_the_name(tmp_path):
    """stdin has no name (``cat x.conll.gz | nerkd ...``), nor has a file renamed."""
    import subprocess
    import sys

    packed = gzip.compress(b"EU B-ORG\nrejects O\n")
    (tmp_path / "x.conll").write_bytes(packed)
    for source, given in ((tmp_path / "x.conll", b""), ("-", packed)):
        done = subprocess.run([sys.executable, "-m", "nerkd", "convert", str(source), "--to",
                               "conll"], input=given, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"EU B-ORG\nrejects O\n\n"


def test_a_corrupt_gzip_is_a_located_read_error(tmp_path):
    data = bytearray(gzip.compress(b'{"tokens": ["a"]}\n' * 2000))
    data[30] ^= 0xFF
    data[40] ^= 0x55
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(bytes(data))
    assert _error(path).startswith(f"{path}: read failed: ")


def test_a_ragged_conll_txt_is_read_as_conll_and_its_bad_row_named(tmp_path):
    path = tmp_path / "ragged.txt"
    path.write_text("John NNP B-PER\nlives VBZ O\nin IN O\nNew York NNP B-LOC\n")
    assert _error(path).startswith(f"{path}:4: expected 3 columns like the first token line")
