"""Numeric options are checked where they are parsed: a bad value is a usage error (exit 2)
before any work starts, never a hang, a traceback or a silently wrong result."""

import subprocess
import sys
import time

import pytest

# Each command's required arguments; the port is closed, so nothing could answer anyway.
ANNOTATE = ["annotate", "in.txt", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
EVOLVE = ["evolve", "--seed-data", "seed.conll", "--dev", "dev.conll", "-o", "run",
          "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
PREDICT = ["predict", "in.txt", "--model", "model"]
TEACHING = [("--votes", "0"), ("--timeout", "0"), ("--timeout", "-1"), ("--timeout", "inf"),
            ("--concurrency", "0"), ("--retries", "-1"), ("--max-tokens", "0"),
            ("--max-cost", "0"), ("--price-in", "-0.5"), ("--price-out", "-1"),
            ("--price-in", "inf"), ("--price-out", "nan")]


@pytest.mark.parametrize(("option", "value"), [
    *TEACHING, ("--shots", "-1"), ("--temperature", "-0.1"), ("--temperature", "2.5"),
    ("--min-annotated", "-0.1"), ("--min-annotated", "1.5"),
])
def test_annotate_rejects_out_of_range_values(nerkd, option, value):
    result = nerkd(*ANNOTATE, option, value)
    assert result.exit_code == 2, result.stderr
    assert option in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("option", "value"), [
    *[pair for pair in TEACHING if pair[0] != "--votes"], ("--rounds", "-1"),
    ("--per-round", "0"), ("--per-call", "0"), ("--epochs", "0"), ("--lr", "0"),
    ("--batch-size", "0"), ("--device", "gpu"),
])
def test_evolve_rejects_out_of_range_values(nerkd, option, value):
    result = nerkd(*EVOLVE, option, value)
    assert result.exit_code == 2, result.stderr
    assert option in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("option", "value"), [
    ("--batch-size", "-1"), ("--batch-size", "0"), ("--max-length", "7"),
    ("--device", "gpu"), ("--device", "cuda:"), ("--device", "cuda:x"), ("--device", "CPU"),
])
def test_predict_rejects_out_of_range_values(nerkd, option, value):
    result = nerkd(*PREDICT, option, value)
    assert result.exit_code == 2, result.stderr
    assert option in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_devices_torch_knows_are_accepted(device):
    from nerkd.cli.common import check_device

    assert check_device(device) == device


def test_concurrency_zero_is_refused_at_once_and_leaves_no_file(tmp_path):
    # It used to wait forever on a semaphore of size 0, with a .part file in the output dir.
    source = tmp_path / "in.txt"
    source.write_text("Peter went to London .\n")
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nerkd", "annotate", str(source), "--base-url",
         "http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "0",
         "-o", str(tmp_path / "out.jsonl")],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--concurrency" in done.stderr
    assert time.monotonic() - started < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


@pytest.mark.parametrize("command", ["annotate", "evolve", "predict"])
def test_flags_render_as_plain_flags_in_help(nerkd, command):
    # Typer's rich help showed "<bool>" beside each flag, as if it took a value (--help's
    # own row is typer's, not ours).
    rows = nerkd(command, "--help").stdout.splitlines()
    options = [row for row in rows if " --" in row and "--help" not in row]
    assert any("--similar" in row for row in options) == (command == "annotate")
    assert options and not any("<bool>" in row for row in options)
