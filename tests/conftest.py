"""Shared fixtures: the real CoNLL-2003 files (skipped when absent), the CLI runner, --slow."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NO_DATA = f"shared CoNLL-2003 data not present at {DATA / 'conll2003'}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say plainly when tests on the real data did not run (the clone is not beside shared/)."""
    skipped = terminalreporter.stats.get("skipped", [])
    missing = sum(1 for report in skipped if NO_DATA in str(report.longrepr))
    if missing:
        terminalreporter.write_line(
            f"NOTE: {missing} tests on real CoNLL-2003 data were skipped: {NO_DATA}",
            yellow=True, bold=True)


@pytest.fixture
def conll_dir() -> Path:
    """The shared CoNLL-2003 copy (IOB2, no -DOCSTART-)."""
    path = DATA / "conll2003"
    if not (path / "dev.txt").exists():
        pytest.skip(NO_DATA)
    return path


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


class Result:
    """What a command did: exit code, stdout, stderr."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr

    def jsonl(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


@pytest.fixture
def nerkd():
    """Run ``nerkd ARGS`` in-process: ``nerkd("convert", "x.conll", input="...")``."""
    from nerkd.cli.app import app

    runner = CliRunner()

    def run(*args: str, input: str | bytes | None = None) -> Result:
        result = runner.invoke(app, [str(a) for a in args], input=input)
        return Result(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT directory (built, never downloaded)."""
    from tiny import build_tiny_bert

    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="session")
def tiny_tagger(tiny_bert, tmp_path_factory) -> Path:
    """A token classifier with CoNLL-2003 labels on the tiny BERT (untrained head)."""
    from tiny import build_tiny_tagger

    return build_tiny_tagger(tiny_bert, tmp_path_factory.mktemp("tiny-tagger"))


@pytest.fixture(scope="session")
def teacher_model(tiny_bert, tmp_path_factory) -> Path:
    """A tiny BERT trained until it tags ``pattern_sentences`` right (PER and LOC)."""
    from nerkd.core.train import TrainConfig, train
    from tiny import pattern_sentences

    out = tmp_path_factory.mktemp("teacher") / "model"
    config = TrainConfig(model=str(tiny_bert), epochs=6, batch_size=8, lr=3e-3)
    list(train(pattern_sentences(120, 0), config, out, pattern_sentences(30, 1)))
    return out


@pytest.fixture(scope="session")
def text_classifier(tiny_bert, tmp_path_factory) -> tuple[Path, dict]:
    """A tiny BERT trained (through `nerkd train`) to tell ``topic_documents`` apart: its
    folder (train.jsonl, dev.jsonl, model/) and the training summary."""
    import json

    from nerkd.cli.app import app
    from tiny import topic_documents

    folder = tmp_path_factory.mktemp("classify")
    for name, rows in (("train", topic_documents(120, 0)), ("dev", topic_documents(40, 1))):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = CliRunner().invoke(app, [
        "train", str(folder / "train.jsonl"), "--dev", str(folder / "dev.jsonl"), "--model",
        str(tiny_bert), "-o", str(folder / "model"), "--epochs", "8", "--lr", "3e-3",
        "--batch-size", "8", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    return folder, json.loads(result.stdout)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Each test gets its own call log home and no OpenAI settings from the environment."""
    monkeypatch.setenv("NERKD_HOME", str(tmp_path / "nerkd-home"))
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NERKD_DEBUG"):
        monkeypatch.delenv(name, raising=False)
