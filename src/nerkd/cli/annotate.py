"""``nerkd annotate``: silver labels from a teacher LLM."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from nerkd.cli import teaching
from nerkd.cli.common import FromOpt, InputArg, OutputOpt, SeedOpt, ToOpt, info, notice_stdin


def annotate(
    input: InputArg = "-",
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    teacher: teaching.TeacherOpt = "auto",
    model: teaching.TeacherModelOpt = None,
    base_url: teaching.BaseUrlOpt = None,
    labels: teaching.LabelsOpt = None,
    label_map: Annotated[str | None, typer.Option("--label-map", help="Map teacher labels to yours: PERSON=PER,COMPANY=ORG (unmapped out-of-schema labels are dropped).")] = None,
    examples: Annotated[str | None, typer.Option("--examples", help="Gold records to draw few-shot examples from.")] = None,
    shots: Annotated[int, typer.Option("--shots", help="Few-shot examples per prompt.")] = 3,
    similar: Annotated[bool, typer.Option("--similar", help="Pick the examples most similar to each text (else a seeded draw).")] = False,
    cot: Annotated[bool, typer.Option("--cot", help="Chain of thought: the teacher reasons before answering.")] = False,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Prompt template file ($labels, $answer_format, $text).")] = None,
    votes: Annotated[int, typer.Option("--votes", help="Self-consistency: N samples at temperature >= 0.7, keep majority spans with confidence.")] = 1,
    temperature: Annotated[float, typer.Option("--temperature", help="Sampling temperature.")] = 0.0,
    concurrency: teaching.ConcurrencyOpt = 8,
    timeout: teaching.TimeoutOpt = 60.0,
    retries: teaching.RetriesOpt = 5,
    max_tokens: teaching.MaxTokensOpt = None,
    max_cost: teaching.MaxCostOpt = None,
    price_in: teaching.PriceInOpt = 0.0,
    price_out: teaching.PriceOutOpt = 0.0,
    fuzzy: Annotated[bool, typer.Option("--fuzzy", help="Also place entity strings by bounded fuzzy match.")] = False,
    keep_gold: Annotated[bool, typer.Option("--keep-gold", help="Pass records that already have tags through unchanged.")] = False,
    call_log: teaching.CallLogOpt = None,
    report: Annotated[str | None, typer.Option("--report", help="Write the run summary as JSON.")] = None,
    seed: SeedOpt = 0,
) -> None:
    """Label entities with a teacher LLM; write silver records in input order.

    Reads raw text (one text per line), JSONL or CoNLL. Re-running a finished or killed job
    asks only what was never answered. Exit code 3: a budget stopped the run (the output
    holds every record finished before it). Example: nerkd annotate news.txt > silver.jsonl
    """
    from nerkd.core.annotate import AnnotateOptions, Annotator
    from nerkd.core.calllog import CallLog
    from nerkd.core.formats import format_from_name, read_records, write_records
    from nerkd.core.prompt import PromptBuilder, load_template, pick_examples, read_labels
    from nerkd.core.teachers import make_teacher

    notice_stdin(input)
    label_set = read_labels(labels)
    pool = list(read_records(examples)) if examples else []
    builder = PromptBuilder(labels=label_set, cot=cot, template=load_template(prompt),
                            examples=pool if similar else pick_examples(pool, shots, seed))
    options = AnnotateOptions(
        concurrency=concurrency, temperature=temperature, votes=votes, retries=retries,
        max_tokens=max_tokens, max_cost=max_cost, price_in=price_in, price_out=price_out,
        label_map=_label_map(label_map), fuzzy=fuzzy, keep_gold=keep_gold,
        similar_shots=shots if similar else 0, seed=seed)
    backend = teaching.pick_backend(teacher, base_url)
    annotator = Annotator(make_teacher(backend, model, base_url, timeout, seed), builder,
                          CallLog(call_log), options)
    records = annotator.run(read_records(input, from_format))
    write_records(records, output, to_format or format_from_name(output) or "jsonl")
    _finish(annotator.stats.as_json(), report)


def _label_map(spec: str | None) -> dict[str, str]:
    from nerkd.core.errors import NerkdError

    if not spec:
        return {}
    if Path(spec).exists():
        spec = ",".join(Path(spec).read_text(encoding="utf-8").split())
    pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise NerkdError(f"--label-map wants FROM=TO pairs, got {spec!r}")
    return {source.strip().upper(): target.strip().upper() for source, target in pairs}


def _finish(stats: dict, report: str | None) -> None:
    if report:
        Path(report).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    info(f"annotated {stats['annotated']} of {stats['records']} records; "
         f"{stats['calls']} calls ({stats['cached']} from the log), {stats['retries']} retries, "
         f"{stats['prompt_tokens'] + stats['completion_tokens']} tokens, "
         f"{stats['seconds']:.1f}s; entities {stats['entities']}")
    if stats["failed"]:
        print(f"nerkd: warning: {len(stats['failed'])} records could not be annotated "
              f"(first: {stats['failed'][0]['id']}: {stats['failed'][0]['reason']})",
              file=sys.stderr)
    if stats["stopped"]:
        print(f"nerkd: warning: stopped early: {stats['stopped']}; the output is complete up "
              "to that point, and a re-run resumes from the call log", file=sys.stderr)
        raise typer.Exit(teaching.EXIT_BUDGET)
