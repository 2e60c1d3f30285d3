"""Teacher options that annotate and evolve share, declared once with their bounds."""

from __future__ import annotations

import os
from typing import Annotated, Literal

import typer

from nerkd.cli import common

EXIT_BUDGET = 3  # a token or cost budget stopped the run; its output is valid so far


TeacherOpt = Annotated[Literal["auto", "openai", "llamacpp"], typer.Option("--teacher", help="auto: openai when --base-url or OPENAI_BASE_URL is set, else the embedded local model.")]
TeacherModelOpt = Annotated[str | None, typer.Option("--model", help="Model name on the server, or a .gguf file for llamacpp (default: embedded SmolLM2-135M-Instruct).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (key from OPENAI_API_KEY).")]
LabelsOpt = Annotated[str | None, typer.Option("--labels", help="Entity types: PER,ORG,... or a file of 'LABEL: description' lines (default: CoNLL-2003).")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", callback=common.positive, help="Seconds per request (> 0).")]
RetriesOpt = Annotated[int, typer.Option("--retries", min=0, help="Retries per request on timeouts, 429 and 5xx.")]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Stop cleanly after this many tokens in+out.")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", callback=common.positive, help="Stop cleanly at this cost (> 0; see --price-in/--price-out).")]
PriceInOpt = Annotated[float, typer.Option("--price-in", min=0.0, help="Price per million prompt tokens.")]
PriceOutOpt = Annotated[float, typer.Option("--price-out", min=0.0, help="Price per million completion tokens.")]
CallLogOpt = Annotated[str | None, typer.Option("--call-log", help="SQLite call log: cache and resume journal (default ~/.cache/nerkd/calls.sqlite, or $NERKD_HOME).")]


def pick_backend(teacher: str, base_url: str | None) -> str:
    if teacher != "auto":
        return teacher
    return "openai" if base_url or os.environ.get("OPENAI_BASE_URL") else "llamacpp"
