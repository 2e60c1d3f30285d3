"""Fuzz: generated malformed inputs through every reader and the data commands.

Each case must end in records that write and read back, or in one located error line
(``nerkd: error: ...``) with exit 1 or 2: never a traceback, never a hang, never a broken or
half-written output. ``FUZZ_EXAMPLES`` scales the run (the default keeps it under a minute);
the cases are the same every run (CI stays stable) unless ``FUZZ_RANDOM=1``.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import string
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nerkd.core.errors import NerkdError
from nerkd.core.formats import read_records, write_records

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "190"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    derandomize=os.environ.get("FUZZ_RANDOM", "") in ("", "0"),
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
CASES: collections.Counter[str] = collections.Counter()  # cases run, and how each ended

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-ORG", "E-MISC", "S-LOC", "B-", "X-PER", "B-B-PER",
        "o", "I-", "-", "B-PER-I", ""]
WORDS = ["EU", "rejects", "German", "a b", "", "\t", "x\u00a0y", "-DOCSTART-", "{", "\ud83d",
         "é", "\u200b", "'", '"', "\\"]
ENDINGS = ["\n", "\r\n", "\r"]


@contextmanager
def time_limit(seconds: int):
    """Fail instead of hanging (SIGALRM: the test runs in the main thread)."""
    def stop(*_: object) -> None:
        raise TimeoutError(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- generated inputs ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 50) | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=8,
)
FIELDS = ["id", "text", "tokens", "tags", "spans", "source", "meta", "columns", "docstart",
          "epoch", "weight"]


@st.composite
def jsonl_line(draw) -> str:
    """A record with edgy tokens and tags; often with fields broken, dropped or swapped, or
    cut short."""
    words = WORDS if draw(st.booleans()) else WORDS[:3]
    tokens = draw(st.lists(st.sampled_from(words), min_size=1, max_size=5))
    tags = TAGS if draw(st.integers(0, 3)) == 0 else TAGS[:7]
    record: dict = {"id": "r", "tokens": tokens,
                    "tags": draw(st.lists(st.sampled_from(tags), min_size=len(tokens),
                                          max_size=len(tokens)))}
    if draw(st.booleans()):
        for key in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
            record[key] = draw(json_values | st.lists(st.sampled_from(WORDS)) |
                               st.lists(st.sampled_from(TAGS)))
        for key in draw(st.lists(st.sampled_from(FIELDS), max_size=2)):
            record.pop(key, None)
    line = json.dumps(record, ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 6)) == 0:
        line = line[: draw(st.integers(0, len(line)))]
    return line


@st.composite
def conll_block(draw) -> str:
    rows = draw(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(["NN", "", "x y"]),
                                   st.sampled_from(TAGS)), min_size=0, max_size=6))
    width = draw(st.sampled_from([1, 2, 3]))
    lines = [" ".join(row[:width] if width < 3 else row) for row in rows]
    return "\n".join(lines)


@st.composite
def file_content(draw) -> bytes:
    kind = draw(st.sampled_from(["jsonl"] * 8 + ["conll"] * 6 + ["text"] * 2 + ["mixed"] * 3
                                + ["bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "jsonl":
        parts = draw(st.lists(jsonl_line(), max_size=4))
    elif kind == "conll":
        parts = draw(st.lists(conll_block(), max_size=4))
    elif kind == "text":
        parts = draw(st.lists(st.text(string.printable + "éü\u00a0", max_size=60), max_size=4))
    else:
        parts = draw(st.lists(jsonl_line() | conll_block(), max_size=4))
    ending = draw(st.sampled_from(ENDINGS))
    data = ending.join(parts).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 11)) == 0:  # a stray invalid byte
        at = draw(st.integers(0, len(data)))
        data = data[:at] + b"\xff" + data[at:]
    return data


extensions = st.sampled_from([".jsonl", ".conll", ".txt", ".bio", ".tsv", ""])


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


# --- readers ------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::UserWarning")
@SETTINGS
@given(data=file_content(), extension=extensions)
def test_readers_give_records_that_round_trip_or_a_located_error(tmp_path, data, extension):
    CASES["count"] += 1
    path = _write(tmp_path, f"in{extension}", data)
    with time_limit(20):
        try:
            records = list(read_records(path))
        except NerkdError as error:
            assert str(error).startswith(f"{path}:"), str(error)
            assert "\n" not in str(error)
            CASES["located error"] += 1
            return
    CASES["records"] += 1
    for fmt in ("jsonl", "conll"):
        out = tmp_path / f"out.{fmt}"
        out.unlink(missing_ok=True)  # hypothesis runs every example in one tmp_path
        try:
            write_records(records, out, fmt)
        except NerkdError as error:  # what CoNLL cannot hold is refused, naming the output
            assert fmt == "conll" and str(error).startswith(f"{out}: record "), str(error)
            assert "write JSONL" in str(error) and not out.exists()
            CASES["refused by CoNLL"] += 1
            continue
        back = list(read_records(out, fmt))
        if fmt == "jsonl":
            assert [r.to_json() for r in back] == [r.to_json() for r in records]
        else:  # everything CoNLL holds comes back: words, tags, middle columns, markers
            assert [_conll_view(r) for r in back if r.tokens] == [
                _conll_view(r) for r in records if r.tokens]


def _conll_view(record) -> tuple:
    return record.tokens, record.tags, record.columns, record.docstart


# --- commands -----------------------------------------------------------------------------

def _one_line_failure(result) -> None:
    assert result.exit_code in (1, 2), (result.exit_code, result.stderr)
    CASES[f"exit {result.exit_code}"] += 1
    assert "Traceback" not in result.stderr
    if result.exit_code == 1:
        lines = [line for line in result.stderr.splitlines()
                 if not line.startswith("nerkd: warning:")]
        assert len(lines) == 1 and lines[0].startswith("nerkd: error: "), result.stderr


def _succeeded(result) -> bool:
    """Tally how a command ended; a failure must be one located line with exit 1 or 2."""
    if result.exit_code:
        _one_line_failure(result)
        return False
    CASES["exit 0"] += 1
    return True


outputs = st.sampled_from(["out.jsonl", "out.conll", "-", "missing/dir/out.jsonl", "adir",
                           "afile/x.jsonl", "/proc/nerkd-fuzz.jsonl"])


@SETTINGS
@given(data=file_content(), extension=extensions, output=outputs,
       to=st.sampled_from([None, "jsonl", "conll", "text"]))
def test_convert_never_breaks(nerkd, tmp_path, data, extension, output, to):
    CASES["count"] += 1
    (tmp_path / "adir").mkdir(exist_ok=True)
    (tmp_path / "afile").write_text("keep")
    source = _write(tmp_path, f"in{extension}", data)
    target = output if output.startswith(("/", "-")) else str(tmp_path / output)
    args = ["convert", source, "-o", target] + (["--to", to] if to else [])
    with time_limit(20):
        result = nerkd(*args)
    assert (tmp_path / "afile").read_text() == "keep"
    assert not list(tmp_path.rglob("*.part"))
    if not _succeeded(result):
        return
    if target != "-" and to != "text":
        list(read_records(target, to))  # what was written reads back


@SETTINGS
@given(gold=file_content(), pred=file_content(), by_id=st.booleans(),
       mode=st.sampled_from(["conlleval", "strict"]))
def test_eval_never_breaks(nerkd, tmp_path, gold, pred, by_id, mode):
    CASES["count"] += 1
    args = ["eval", _write(tmp_path, "gold.conll", gold), _write(tmp_path, "pred.jsonl", pred),
            "--mode", mode] + (["--by-id"] if by_id else [])
    with time_limit(20):
        result = nerkd(*args)
    if not _succeeded(result):
        return
    assert "micro" in json.loads(result.stdout)


@SETTINGS
@given(gold=file_content(), silver=file_content(),
       schedule=st.sampled_from(["gold", "silver", "simple-mix", "sigmoid", "power-decay"]),
       epochs=st.integers(-2, 5))
def test_blend_never_breaks(nerkd, tmp_path, gold, silver, schedule, epochs):
    CASES["count"] += 1
    args = ["blend", "--gold", _write(tmp_path, "gold.conll", gold),
            "--silver", _write(tmp_path, "silver.jsonl", silver),
            "--schedule", schedule, "--epochs", str(epochs)]
    with time_limit(20):
        result = nerkd(*args)
    if not _succeeded(result):
        return
    assert all("epoch" in row for row in result.jsonl())


# Each case below loads a model (or asks a server): fewer of them keep the run short.
HEAVY = settings(SETTINGS, max_examples=max(EXAMPLES // 10, 5))


@HEAVY
@given(data=file_content(), extension=extensions, to=st.sampled_from(["jsonl", "conll"]))
def test_predict_never_breaks(nerkd, tmp_path, tiny_tagger, data, extension, to):
    CASES["count"] += 1
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # hypothesis reuses the fixture's folder
    out = tmp_path / f"tagged.{to}"
    with time_limit(60):
        result = nerkd("predict", _write(tmp_path, f"in{extension}", data),
                       "--model", tiny_tagger, "-o", out)
    if not _succeeded(result):
        assert not out.exists()
        return
    assert all(r.tags is not None for r in read_records(out))


@HEAVY
@given(data=file_content(), extension=extensions)
def test_train_never_breaks(nerkd, tmp_path, tiny_bert, data, extension):
    CASES["count"] += 1
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))
    model = tmp_path / "model"
    with time_limit(120):
        result = nerkd("train", _write(tmp_path, f"in{extension}", data), "-o", model,
                       "--model", tiny_bert, "--epochs", "1", "--force")
    if not _succeeded(result):
        assert not model.exists()
        return
    assert json.loads((model / "nerkd.json").read_text())["labels"][0] == "O"


@pytest.fixture(scope="module")
def teacher():
    from fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server


@HEAVY
@given(data=file_content(), extension=extensions)
def test_annotate_never_breaks(nerkd, tmp_path, teacher, data, extension):
    CASES["count"] += 1
    out = tmp_path / "silver.jsonl"
    with time_limit(60):
        result = nerkd("annotate", _write(tmp_path, f"in{extension}", data), "-o", out,
                       "--base-url", teacher.base_url, "--model", "m", "--retries", "0",
                       "--call-log", tmp_path / "calls.sqlite")
    if not _succeeded(result):
        return
    assert all(r.source == "silver" or r.tags is not None for r in read_records(out))


NUMBERS = st.sampled_from(["0", "-1", "-4", "nan", "inf", "-inf", "1e309", "abc", "", "3",
                           "0.5", "1000000000"])
OPTIONS = {
    "train": ["--epochs", "--lr", "--batch-size", "--max-length", "--patience", "--seed"],
    "predict": ["--batch-size", "--max-length"],
    "annotate": ["--votes", "--timeout", "--concurrency", "--retries", "--max-tokens",
                 "--max-cost", "--shots", "--temperature", "--price-in"],
    "blend": ["--epochs", "--switch", "--steepness", "--centre", "--power", "--min-confidence"],
    "eval": ["--examples"],
}


@SETTINGS
@given(command=st.sampled_from(sorted(OPTIONS)), data=st.data(), value=NUMBERS)
def test_bad_numbers_are_refused_before_any_work(nerkd, tmp_path, command, data, value):
    """An out-of-range number is a usage error (exit 2) before any work; an accepted one gets
    as far as a missing model or examples file, which fails in one line (exit 1)."""
    CASES["count"] += 1
    option = data.draw(st.sampled_from(OPTIONS[command]))
    good = _write(tmp_path, "good.conll", b"EU B-ORG\nrejects O\n")
    other = _write(tmp_path, "other.conll", b"Peter B-PER\nsaid O\n")
    args = {"train": ["train", good, "-o", tmp_path / "model", "--model", tmp_path / "none"],
            "predict": ["predict", good, "--model", tmp_path / "none"],
            "annotate": ["annotate", good, "--base-url", "http://127.0.0.1:9/v1",
                         "--model", "m", "--examples", tmp_path / "none.conll"],
            "blend": ["blend", "--gold", good, "--silver", other, "--epochs", "2"],
            "eval": ["eval", good, good]}[command]
    with time_limit(30):
        result = nerkd(*args, option, value)
    assert "Traceback" not in result.stderr
    if result.exit_code == 2:
        CASES["exit 2"] += 1
        return
    if result.exit_code == 1:
        _one_line_failure(result)
        return
    CASES["exit 0"] += 1
    assert command in ("blend", "eval"), (command, option, value, result.stderr)


def test_the_fuzz_suite_ran_enough_cases():
    """Recorded in the README: the case count of one default run and how the cases ended
    (``pytest -s`` prints it)."""
    if CASES["count"]:
        assert CASES["count"] >= 5 * EXAMPLES
        print("\nfuzz:", dict(CASES))
