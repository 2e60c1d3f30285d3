"""annotate memory: peak RSS of `nerkd annotate` over 2,000 and over 20,000 sentences (the
CoNLL-2003 test sentences cycled) against the local test server, in fresh processes.

    python bench/annotate_memory.py [--small 2000] [--large 20000]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, conll

sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--large", type=int, default=20000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    texts = [r.text for r in conll("test") if r.tokens]
    with FakeOpenAI() as server:
        rss = {n: _peak_rss(server.base_url, texts, n, work) for n in (args.small, args.large)}
    for n, kib in rss.items():
        print(f"{n:>6} sentences: peak RSS {kib / 1024:.0f} MiB")
    print(f"ratio large/small: {rss[args.large] / rss[args.small]:.3f}")


def _peak_rss(base_url: str, texts: list[str], n: int, work: Path) -> int:
    source = work / f"in-{n}.txt"
    # Number each line so every request differs (nothing is answered from the log).
    lines = (f"{i} {t}" for i, t in enumerate(itertools.islice(itertools.cycle(texts), n)))
    source.write_text("\n".join(lines) + "\n")
    code = ("import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    command = [sys.executable, "-c", code, sys.executable, "-m", "nerkd", "annotate",
               str(source), "--base-url", base_url, "--model", "fake-teacher",
               "--concurrency", "32", "--call-log", str(work / f"calls-{n}.sqlite")]
    env = {**os.environ, "OPENAI_API_KEY": "bench"}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
