"""Teacher options that annotate and evolve share, declared once with their bounds."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

import typer

from nerkd.cli import common

EXIT_BUDGET = 3  # a token or cost budget stopped the run; its output is valid so far


TeacherOpt = Annotated[Literal["auto", "openai", "llamacpp", "hf", "spacy", "embed"], typer.Option("--teacher", help="auto: openai when --base-url or OPENAI_BASE_URL is set, else the embedded local model; hf: a trained model directory (--model DIR) labels by itself (model-to-model distillation: a token classifier for entities, a text classifier for classes); spacy: an installed spaCy pipeline (--model NAME or path; OntoNotes types mapped to CoNLL's); embed: classes zero-shot, by the cosine between a text and each class definition in a sentence-embedding model (--model DIR, default the embedded all-MiniLM-L6-v2).")]
TeacherModelOpt = Annotated[str | None, typer.Option("--model", help="Model name on the server, a .gguf file for llamacpp (default: embedded SmolLM2-135M-Instruct), a model directory for hf, or a spaCy pipeline name or path.")]
LabelMapOpt = Annotated[str | None, typer.Option("--label-map", help="Map teacher labels to yours: PERSON=PER,COMPANY=ORG, or a file of such pairs (unmapped out-of-schema labels are dropped).")]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (key from OPENAI_API_KEY).")]
LabelsOpt = Annotated[str | None, typer.Option("--labels", help="Entity types: PER,ORG,... or a file of 'LABEL: description' lines (default: CoNLL-2003).")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Requests in flight.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", callback=common.positive, help="Seconds per request (> 0).")]
RetriesOpt = Annotated[int, typer.Option("--retries", min=0, help="Retries per request on timeouts, 429 and 5xx.")]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Stop cleanly before a request could take the run past this many tokens in+out.")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", callback=common.positive, help="Stop cleanly before a request could take the run past this cost (> 0; see --price-in/--price-out).")]
PriceInOpt = Annotated[float, typer.Option("--price-in", min=0.0, callback=common.finite, help="Price per million prompt tokens.")]
PriceOutOpt = Annotated[float, typer.Option("--price-out", min=0.0, callback=common.finite, help="Price per million completion tokens.")]
CallLogOpt = Annotated[str | None, typer.Option("--call-log", help="SQLite call log: cache and resume journal (default ~/.cache/nerkd/calls.sqlite, or $NERKD_HOME).")]


MODEL_BACKENDS = ("hf", "spacy", "embed")  # trained models: they label, they cannot write


def pick_backend(teacher: str, base_url: str | None) -> str:
    if teacher != "auto":
        return teacher
    return "openai" if base_url or os.environ.get("OPENAI_BASE_URL") else "llamacpp"


def label_map(spec: str | None) -> dict[str, str]:
    """``--label-map``: FROM=TO pairs, comma- or whitespace-separated, or a file of them."""
    from pathlib import Path

    from nerkd.core.errors import NerkdError
    from nerkd.core.io import read_text

    if not spec:
        return {}
    if Path(spec).exists():
        spec = ",".join(read_text(spec).split())
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise NerkdError(f"--label-map wants FROM=TO pairs, got {spec!r}")
    return {source.strip().upper(): target.strip().upper() for source, target in pairs}


def check_teacher_fits(kind: Any, backend: str) -> None:
    """A model teacher of the other task is refused in one line (``kind``: a task's kit)."""
    if backend in kind.wrong_teachers:
        raise common.fail(kind.wrong_teachers[backend])
