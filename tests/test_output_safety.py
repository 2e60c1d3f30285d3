"""Outputs never destroy what nerkd did not create, and stdout follows its redirect's name."""

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nerkd.core.formats import read_records, write_records
from nerkd.core.records import make_record

CONLL = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\nPeter B-PER\nBlackburn I-PER\n"
ROOT = os.geteuid() == 0 if hasattr(os, "geteuid") else False


def _shell(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run a command line in a real shell, with our Python's ``nerkd`` first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    environ = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", **env}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def gold(tmp_path) -> Path:
    path = tmp_path / "gold.conll"
    path.write_text(CONLL)
    return path


def test_a_fifo_is_written_through_not_replaced(nerkd, gold, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = nerkd("convert", gold, "-o", fifo, "--to", "conll")
    reader.join(10)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and "German B-MISC" in received[0]


@pytest.mark.skipif(not ROOT, reason="making device files needs root")
def test_a_device_is_written_through_not_replaced(nerkd, gold, tmp_path):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a copy of /dev/null
    result = nerkd("convert", gold, "-o", null)
    assert result.exit_code == 0, result.stderr
    assert stat.S_ISCHR(null.lstat().st_mode)


@pytest.mark.skipif(not ROOT, reason="making device files needs root")
def test_a_full_device_gives_one_line_and_stays_a_device(nerkd, gold, tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a copy of /dev/full
    result = nerkd("convert", gold, "-o", full)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"nerkd: error: cannot write {full}: No space left on device"
    assert stat.S_ISCHR(full.lstat().st_mode)


@pytest.mark.skipif(not ROOT, reason="making device files needs root")
def test_stdout_on_a_full_device_gives_one_line(gold, tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    result = _shell(f"nerkd convert {gold} > full", tmp_path)
    assert result.returncode == 1
    assert result.stderr == "nerkd: error: cannot write <stdout>: No space left on device\n"


def test_a_symlink_is_followed_and_kept(nerkd, gold, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "out.jsonl"
    target.write_text("old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    result = nerkd("convert", gold, "-o", link)
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert [r.tokens[0] for r in read_records(target)] == ["EU", "Peter"]


def test_stale_parts_of_a_dead_run_are_removed_and_live_ones_kept(tmp_path):
    out = tmp_path / "out.jsonl"
    dead = tmp_path / f".out.jsonl.{2**22 + 7}.x1y2z3.part"  # above Linux's pid_max
    live = tmp_path / f".out.jsonl.{os.getpid()}.a1b2c3.part"
    other = tmp_path / f".other.jsonl.{2**22 + 7}.x1y2z3.part"
    for part in (dead, live, other):
        part.write_text("partial")
    write_records([make_record(["a"], ["O"])], out)
    assert not dead.exists()
    assert live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["out.jsonl", live.name, other.name])


@pytest.mark.parametrize("target, reason", [
    ("/proc/x.jsonl", "No such file or directory"),
    ("{tmp}", "is a directory"),
    ("{tmp}/afile/x.jsonl", "Not a directory"),
])
def test_unwritable_output_is_found_before_any_work(nerkd, gold, tmp_path, target, reason):
    (tmp_path / "afile").write_text("keep")
    target = target.format(tmp=tmp_path)
    result = nerkd("convert", gold, "-o", target)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"nerkd: error: cannot write {target}: {reason}"
    assert (tmp_path / "afile").read_text() == "keep"


@pytest.mark.parametrize("name, expected_start", [
    ("out.conll", "EU B-ORG"), ("out.jsonl", "{"), ("out.txt", "{"), ("out.bio", "EU B-ORG"),
])
def test_stdout_format_follows_the_redirect_target(gold, tmp_path, name, expected_start):
    result = _shell(f"nerkd convert {gold} > {name}", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / name).read_text().startswith(expected_start)


@pytest.mark.parametrize("name", ["out.conll.gz", "out.jsonl.gz"])
def test_a_redirect_to_a_gz_name_is_compressed_and_reads_back(gold, tmp_path, name):
    import gzip

    result = _shell(f"nerkd convert {gold} > {name} && nerkd convert {name} -o back.conll "
                    f"&& nerkd convert {gold} -o plain.conll", tmp_path)
    assert result.returncode == 0, result.stderr
    assert gzip.decompress((tmp_path / name).read_bytes()).startswith(
        b"EU B-ORG" if "conll" in name else b"{")
    assert (tmp_path / "back.conll").read_text() == (tmp_path / "plain.conll").read_text()


def test_to_wins_over_the_redirect_target(gold, tmp_path):
    result = _shell(f"nerkd convert {gold} --to jsonl > out.conll", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.conll").read_text().startswith("{")


def test_a_pipe_gets_jsonl(gold, tmp_path):
    result = _shell(f"nerkd convert {gold} | head -1", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("{")


def test_content_wins_over_the_extension_with_one_warning(nerkd, tmp_path):
    disguised = tmp_path / "silver.conll"
    write_records([make_record(["EU", "rejects"], ["B-ORG", "O"], id="a")] * 3, disguised)
    result = nerkd("convert", disguised, "--to", "conll")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("EU B-ORG\nrejects O\n")
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [f"nerkd: warning: {disguised} holds JSONL, not the CONLL its name says; "
                        "reading it as JSONL"]
    assert nerkd("--quiet", "convert", disguised, "--to", "conll").stderr == ""


def test_conll_named_jsonl_is_read_as_conll(tmp_path, gold):
    renamed = tmp_path / "gold.jsonl"
    renamed.write_text(gold.read_text())
    with pytest.warns(UserWarning, match="holds CONLL"):
        records = list(read_records(renamed))
    assert [r.tags for r in records] == [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"]]


@pytest.mark.parametrize("newline", ["\r", "\r\n", "\n"])
def test_every_line_ending_ends_a_line(tmp_path, gold, newline):
    path = tmp_path / "x.conll"
    path.write_bytes(CONLL.replace("\n", newline).encode())
    records = list(read_records(path))
    assert [r.tokens for r in records] == [["EU", "rejects", "German", "call"],
                                           ["Peter", "Blackburn"]]


def test_messages_reach_a_redirected_stderr(gold, tmp_path):
    disguised = tmp_path / "x.conll"
    disguised.write_text('{"tokens": ["a"], "tags": ["O"]}\n')
    result = _shell(f"nerkd convert {disguised} > out.jsonl 2> run.log", tmp_path)
    assert result.returncode == 0
    assert "holds JSONL" in (tmp_path / "run.log").read_text()


def test_annotate_redirected_to_conll_feeds_eval(tmp_path):
    from fake_openai import FakeOpenAI
    from nerkd.core.tokenize import tokenize

    texts = ["Peter Smith flew from London to Paris .", "Mary said nothing at all ."]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    gold_tags = {"Peter": "B-PER", "Smith": "I-PER", "London": "B-LOC", "Paris": "B-LOC"}
    write_records([make_record([t.text for t in tokenize(text)],
                               [gold_tags.get(t.text, "O") for t in tokenize(text)])
                   for text in texts], tmp_path / "gold.conll", "conll")
    with FakeOpenAI() as server:
        annotate = _shell(f"nerkd annotate in.txt --base-url {server.base_url} --model fake "
                          "> silver.conll", tmp_path, NERKD_HOME=str(tmp_path / "home"))
    assert annotate.returncode == 0, annotate.stderr
    assert (tmp_path / "silver.conll").read_text().startswith("Peter B-PER\nSmith I-PER\n")
    scored = _shell("nerkd eval gold.conll silver.conll", tmp_path)
    assert scored.returncode == 0, scored.stderr
    assert '"f1": 1.0' in scored.stdout


def test_convert_predict_eval_pipe_through_stdin(tmp_path, gold, tiny_tagger):
    result = _shell(f"nerkd convert {gold} --to jsonl | nerkd predict - --model {tiny_tagger} "
                    f"| nerkd eval {gold} -", tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"micro"' in result.stdout


@pytest.mark.parametrize("command", [
    ["train", "{gold}", "-o", "/proc/nerkd-model"],
    ["train", "{gold}", "-o", "{tmp}/model", "--log", "/proc/x.jsonl"],
    ["predict", "{gold}", "--model", "{tmp}/none", "-o", "/proc/x.jsonl"],
    ["annotate", "{gold}", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
     "--report", "/proc/x.json"],
    ["annotate", "{gold}", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
     "-o", "/proc/x.jsonl"],
    ["blend", "--gold", "{gold}", "--epochs", "2", "--plot", "/proc/x.png"],
    ["eval", "{gold}", "{gold}", "--plot", "/proc/x.png"],
])
def test_every_output_is_checked_before_any_work(nerkd, gold, tmp_path, command):
    args = [part.format(gold=gold, tmp=tmp_path) for part in command]
    result = nerkd(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("nerkd: error: cannot write /proc/")
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


def test_dev_stdout_appends_to_the_redirect_and_a_pipe_is_writable(gold, tmp_path):
    (tmp_path / "log.txt").write_text("earlier\n")
    appended = _shell(f"nerkd convert {gold} -o /dev/stdout --to conll >> log.txt", tmp_path)
    assert appended.returncode == 0, appended.stderr
    assert (tmp_path / "log.txt").read_text().startswith("earlier\nEU B-ORG\n")
    piped = _shell(f"nerkd convert {gold} -o /dev/stdout --to conll | head -1", tmp_path)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == "EU B-ORG\n"
    substituted = _shell(f"nerkd convert {gold} --to conll -o >(cat > sub.conll); sleep 1",
                         tmp_path)
    assert substituted.returncode == 0, substituted.stderr
    assert (tmp_path / "sub.conll").read_text().startswith("EU B-ORG\n")


def test_an_error_of_the_caller_is_not_called_a_write_error(tmp_path):
    from nerkd.core.io import open_output

    with pytest.raises(FileNotFoundError), open_output(tmp_path / "out.txt") as stream:
        stream.write("partial")
        open(tmp_path / "missing" / "input.txt")  # noqa: SIM115 - the caller's own failure
    assert not (tmp_path / "out.txt").exists()
    assert not list(tmp_path.glob(".*.part"))


def test_a_replaced_file_keeps_its_mode_and_a_new_one_gets_the_usual(nerkd, gold, tmp_path):
    private, new = tmp_path / "private.conll", tmp_path / "new.conll"
    private.write_text("old\n")
    private.chmod(0o640)
    for output in (private, new):
        assert nerkd("convert", gold, "-o", output).exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(private.stat().st_mode) == 0o640
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    assert private.read_text() == CONLL + "\n"
