"""Progress bars: on stderr when it is a terminal, never on stdout, absent off-terminal."""

import errno
import json
import os
import pty
import subprocess
import sys

import pytest

from fake_openai import FakeOpenAI

TEXTS = [f"Item {i} : Peter went to London ." for i in range(30)]


def _on_terminal(args, timeout=120):
    """Run ``nerkd ARGS`` with stderr on a pseudo-terminal and stdout on a pipe: what a
    person sees while redirecting the data. Returns (exit code, stdout, terminal text)."""
    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "nerkd", *map(str, args)],
                               stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                               env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError as error:  # EIO: the child closed the terminal
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    stdout, _ = process.communicate(timeout=timeout)
    return process.returncode, stdout.decode(), seen.decode(errors="replace")


def _plain(args):
    done = subprocess.run([sys.executable, "-m", "nerkd", *map(str, args)],
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def test_annotate_shows_a_bar_on_a_terminal_only(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n")
    with FakeOpenAI(latency=0.05) as server:
        args = ["annotate", source, "--base-url", server.base_url, "--model", "m",
                "--concurrency", "2", "--call-log", tmp_path / "log.sqlite"]
        code, stdout, terminal = _on_terminal(args)
        plain = _plain([*args, "--call-log", tmp_path / "other.sqlite"])
    assert code == 0, terminal
    assert [json.loads(line)["text"] for line in stdout.splitlines()] == TEXTS
    assert "annotating: 30 records done" in terminal and "annotated 30 of 30" in terminal
    assert plain[0] == 0 and "annotating" not in plain[2]
    assert plain[1] == stdout


@pytest.mark.slow
def test_predict_shows_a_bar_on_a_terminal_only(tmp_path, tiny_bert):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    labels = ["O", "B-PER", "I-PER"]
    network = AutoModelForTokenClassification.from_pretrained(
        tiny_bert, id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)})
    network.save_pretrained(tmp_path / "model")
    AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(tmp_path / "model")
    source = tmp_path / "in.txt"
    source.write_text("\n".join(TEXTS) + "\n")
    args = ["predict", source, "--model", tmp_path / "model", "--device", "cpu"]
    code, stdout, terminal = _on_terminal(args)
    plain = _plain(args)
    assert code == 0, terminal
    assert [json.loads(line)["text"] for line in stdout.splitlines()] == TEXTS
    assert "tagging: 30 records done" in terminal
    assert plain[0] == 0 and plain[2] == "" and plain[1] == stdout


def test_eval_shows_its_table_on_a_terminal_unless_quiet():
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    args = ["eval", fixtures / "eval_gold.conll", fixtures / "eval_pred.conll"]
    code, stdout, terminal = _on_terminal(args)
    assert code == 0 and "PER" in terminal  # the table, unasked, for a person
    code, quiet_stdout, quiet_terminal = _on_terminal([*args, "--quiet"])
    assert code == 0 and quiet_terminal.strip() == ""
    assert json.loads(quiet_stdout) == json.loads(stdout)  # the report itself is data
