"""annotate against the local OpenAI-protocol test server: client overhead at a fixed
latency, and the speed of a finished job re-run from the call log.

    python bench/annotate_speed.py [--sentences 2000] [--latency 0.2] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import ROOT, conll

sys.path.insert(0, str(ROOT / "tests"))

from nerkd.core.annotate import AnnotateOptions, Annotator  # noqa: E402
from nerkd.core.calllog import CallLog  # noqa: E402
from nerkd.core.prompt import PromptBuilder  # noqa: E402
from nerkd.core.teachers import make_teacher  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    records = [r for r in conll("test", args.sentences) if r.tokens]
    log_path = Path(tempfile.mkdtemp()) / "calls.sqlite"
    with serve(args.latency) as base_url:
        fresh, stats = _run(records, base_url, log_path, args.concurrency)
        cached, again = _run(records, base_url, log_path, args.concurrency)
    n = len(records)
    ideal = stats.calls * args.latency / args.concurrency  # repeated texts are asked once
    print(f"sentences: {n}, latency {args.latency}s, concurrency {args.concurrency}")
    print(f"fresh run: {fresh:.2f}s wall, ideal {ideal:.2f}s, overhead "
          f"{100 * (fresh - ideal) / ideal:.1f}% ({stats.calls} calls)")
    print(f"cached re-run: {cached:.2f}s, {n / cached:.0f} sentences/s "
          f"({again.cached} answers from the log, {again.calls} calls)")


@contextmanager
def serve(latency: float) -> Iterator[str]:
    """The test server in its own process, so it does not share our interpreter's GIL."""
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_openai.py"),
                                "--latency", str(latency)], stdout=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def _run(records, base_url, log_path, concurrency):
    teacher = make_teacher("openai", "fake-teacher", base_url, timeout=30)
    annotator = Annotator(teacher, PromptBuilder(), CallLog(log_path),
                          AnnotateOptions(concurrency=concurrency))
    start = time.perf_counter()
    out = sum(1 for _ in annotator.run(records))
    seconds = time.perf_counter() - start
    assert out == len(records), (out, annotator.stats.failed[:3])
    return seconds, annotator.stats


if __name__ == "__main__":
    main()
