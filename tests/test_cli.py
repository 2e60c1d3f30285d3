"""CLI conventions: help, lazy imports, stdout for data only, one-line errors, quiet pipes."""

import json
import subprocess
import sys

import pytest

COMMANDS = ["annotate", "blend", "train", "predict", "eval", "evolve", "convert"]


def test_help_lists_every_command_with_a_description(nerkd):
    result = nerkd("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        line = next(row for row in result.stdout.splitlines() if f" {name} " in row)
        assert len(line.split(name, 1)[1].strip(" │")) > 10


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help_with_an_example(nerkd, name):
    result = nerkd(name, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout


def test_help_does_not_import_torch_or_transformers():
    code = (
        "import sys\n"
        "from nerkd.cli.app import app\n"
        "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('loaded:' + ','.join(m for m in ('torch', 'transformers') if m in sys.modules),"
        " file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "loaded:"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "nerkd", "--version"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and out.stdout.startswith("nerkd ")


def test_convert_stdin_to_stdout(nerkd):
    result = nerkd("convert", "--from", "conll", input="EU B-ORG\nrejects O\n\nPeter B-PER\n")
    assert result.exit_code == 0
    records = result.jsonl()
    assert [r["tags"] for r in records] == [["B-ORG", "O"], ["B-PER"]]
    assert result.stderr == ""


def test_convert_to_conll_in_bioes(nerkd, fixtures):
    result = nerkd("convert", fixtures / "iob1.conll", "--to", "conll", "--scheme", "bioes")
    assert result.exit_code == 0
    assert "Peter NNP I-NP B-PER\nBlackburn NNP I-NP E-PER\n" in result.stdout
    assert "-DOCSTART- -X- -X- O\n" in result.stdout


def test_convert_writes_output_file_by_extension(nerkd, fixtures, tmp_path):
    out = tmp_path / "out.conll"
    assert nerkd("convert", fixtures / "iob1.conll", "-o", out).exit_code == 0
    assert out.read_text().startswith("-DOCSTART- -X- -X- O\n\nEU NNP I-NP B-ORG\n")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"EU B-ORG\nrejects X-FOO\n", "x.conll:2: 'X-FOO' is not an IOB1/IOB2/BIOES tag"),
        (b"EU B-ORG\nrejects\n", "x.conll:2: expected 2 columns"),
        (b"EU B-ORG\nM\xfcnchen B-LOC\n", "x.conll:2: not valid UTF-8"),
    ],
)
def test_bad_input_is_one_line_error_with_exit_1(nerkd, tmp_path, content, expected):
    path = tmp_path / "x.conll"
    path.write_bytes(content)
    result = nerkd("convert", path)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"nerkd: error: {tmp_path}/{expected}")
    assert "Traceback" not in result.stderr


def test_missing_file_is_an_error(nerkd, tmp_path):
    result = nerkd("convert", tmp_path / "nope.conll")
    assert result.exit_code == 1
    assert "nope.conll: cannot open: No such file" in result.stderr


def test_usage_error_exits_2(nerkd):
    assert nerkd("convert", "--to", "xml").exit_code == 2


def _run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "nerkd", *args], capture_output=True, **kwargs)


def test_verbose_shows_traceback_and_default_does_not(tmp_path):
    path = tmp_path / "x.conll"
    path.write_bytes(b"EU B-ORG\nrejects X-FOO\n")
    quiet = _run(["convert", str(path)])
    loud = _run(["--verbose", "convert", str(path)])
    loud_after = _run(["convert", str(path), "-v"])  # where a user types it
    assert quiet.returncode == 1 and b"Traceback" not in quiet.stderr
    assert loud.returncode == 1 and b"Traceback" in loud.stderr
    assert loud_after.returncode == 1 and b"Traceback" in loud_after.stderr


def test_broken_pipe_exits_quietly(conll_dir):
    nerkd_proc = subprocess.Popen(
        [sys.executable, "-m", "nerkd", "convert", str(conll_dir / "train.txt")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    first = nerkd_proc.stdout.readline()
    nerkd_proc.stdout.close()  # like `| head -1`
    _, stderr = nerkd_proc.communicate(timeout=120)
    assert json.loads(first)["id"] == "train-0"
    assert nerkd_proc.returncode == 0
    assert stderr == b""


def test_stdout_carries_only_data_when_piped(fixtures):
    out = _run(["convert", str(fixtures / "iob1.conll")], text=True)
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == [
        "iob1-0", "iob1-1", "iob1-2"]
    assert out.stderr == ""


def test_predict_on_an_empty_input_fails_before_loading_a_model(nerkd, tmp_path):
    empty = tmp_path / "empty.conll"
    empty.write_text("\n")
    out, unloadable = tmp_path / "tagged.jsonl", tmp_path / "model"
    unloadable.mkdir()
    (unloadable / "config.json").write_text("{}")  # loading it would fail: it must not start
    result = nerkd("predict", empty, "--model", unloadable, "-o", out)
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {empty}: no records to predict: the input is empty\n"
    assert not out.exists()


def test_train_on_an_empty_input_names_it(nerkd, tmp_path):
    empty = tmp_path / "empty.conll"
    empty.write_text("")
    result = nerkd("train", empty, "-o", tmp_path / "model")
    assert result.exit_code == 1
    assert result.stderr == f"nerkd: error: {empty}: no records to train on: the input is empty\n"
    assert not (tmp_path / "model").exists()


def test_predict_precision(nerkd, tiny_tagger, tmp_path, monkeypatch):
    """bfloat16 is opt-in on a CPU, warned of where the CPU lacks it, and not for onnx."""
    source = tmp_path / "in.txt"
    source.write_text("Peter went to Paris .\n")
    monkeypatch.setattr("nerkd.core.predict.has_bfloat16", lambda: False)
    slow = nerkd("predict", source, "-m", tiny_tagger, "--precision", "bfloat16")
    assert slow.exit_code == 0 and len(slow.jsonl()) == 1
    assert "nerkd: warning: --precision bfloat16: this CPU lists no bfloat16" in slow.stderr
    plain = nerkd("predict", source, "-m", tiny_tagger, "--precision", "float32")
    assert plain.exit_code == 0 and plain.stderr == ""
    onnx = nerkd("predict", source, "-m", tiny_tagger, "--runtime", "onnx",
                 "--precision", "bfloat16")
    assert onnx.exit_code == 2 and "--runtime onnx runs its own int8 graph" in onnx.stderr
