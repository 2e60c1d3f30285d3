"""``nerkd annotate``: silver labels (entities, or a class per text) from a teacher."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from nerkd.cli import teaching
from nerkd.cli.common import (
    FromOpt,
    InputArg,
    OutputOpt,
    SeedOpt,
    ToOpt,
    check_device,
    fail,
    flag,
    info,
    nonempty,
    notice_stdin,
    progress,
    warn,
)
from nerkd.cli.tasks import kit

if TYPE_CHECKING:
    from nerkd.core.records import Record


def annotate(
    input: InputArg = "-",
    output: OutputOpt = "-",
    from_format: FromOpt = None,
    to_format: ToOpt = None,
    task: Annotated[Literal["ner", "classify"], typer.Option("--task", help="ner: entities; classify: one class per text from --labels (names, or a file of 'name: definition' lines; texts past 4,000 characters are cut), few-shot --examples are documents with a label.")] = "ner",
    teacher: teaching.TeacherOpt = "auto",
    model: teaching.TeacherModelOpt = None,
    base_url: teaching.BaseUrlOpt = None,
    labels: teaching.LabelsOpt = None,
    label_map: teaching.LabelMapOpt = None,
    examples: Annotated[str | None, typer.Option("--examples", help="Gold records to draw few-shot examples from.")] = None,
    shots: Annotated[int, typer.Option("--shots", min=0, help="Few-shot examples per prompt.")] = 3,
    similar: Annotated[bool, flag("--similar", "Pick the examples most similar to each text (else a seeded draw).")] = False,
    cot: Annotated[bool, flag("--cot", "Chain of thought: the teacher reasons before answering.")] = False,
    prompt: Annotated[str | None, typer.Option("--prompt", help="Prompt template file ($labels, $answer_format, $text).")] = None,
    votes: Annotated[int, typer.Option("--votes", min=1, help="Self-consistency: N samples at temperature >= 0.7, keep majority spans with confidence.")] = 1,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, max=2.0, help="Sampling temperature.")] = 0.0,
    concurrency: teaching.ConcurrencyOpt = 8,
    timeout: teaching.TimeoutOpt = 60.0,
    retries: teaching.RetriesOpt = 5,
    max_tokens: teaching.MaxTokensOpt = None,
    max_cost: teaching.MaxCostOpt = None,
    price_in: teaching.PriceInOpt = 0.0,
    price_out: teaching.PriceOutOpt = 0.0,
    fuzzy: Annotated[bool, flag("--fuzzy", "Also place entity strings by bounded fuzzy match.")] = False,
    keep_gold: Annotated[bool, flag("--keep-gold", "Pass records that already have the task's labels (tags; a class with --task classify) through unchanged.")] = False,
    min_annotated: Annotated[float, typer.Option("--min-annotated", min=0.0, max=1.0, help="Exit 1 when fewer than this share of the records to annotate were annotated (gold passed through does not count); the output still holds those that were.")] = 0.5,
    call_log: teaching.CallLogOpt = None,
    report: Annotated[str | None, typer.Option("--report", help="Write the run summary as JSON.")] = None,
    seed: SeedOpt = 0,
    device: Annotated[str, typer.Option("--device", callback=check_device, help="Where a model teacher (hf, embed) runs: auto, cpu, cuda or cuda:N.")] = "auto",
) -> None:
    """Label entities (or, with --task classify, a class per text) with a teacher; write silver
    records in input order.

    Reads raw text (one text per line), JSONL or CoNLL. Re-running a finished or killed job
    asks only what was never answered. Records the teacher cannot answer are left out and
    reported. Exit code 1: fewer than --min-annotated of the records were annotated (none at
    all always fails); the output still holds those that were. Exit code 3: a budget stopped
    the run (the output holds every record finished before it). Example: nerkd annotate
    news.txt > silver.jsonl
    """
    from nerkd.core.annotate import AnnotateOptions, Annotator
    from nerkd.core.calllog import CallLog
    from nerkd.core.formats import output_format, read_records
    from nerkd.core.io import check_output
    from nerkd.core.teachers import make_teacher

    for path in (output, report or "-"):
        check_output(path)
    notice_stdin(input)
    backend = teaching.pick_backend(teacher, base_url)
    kind = kit(task)
    teaching.check_teacher_fits(kind, backend)
    label_names = kind.labels(labels)
    if backend not in teaching.MODEL_BACKENDS:
        kind.check_prompt_options(cot, prompt)
    mapping = teaching.label_map(label_map)
    # A file is read first: an empty or missing one fails before a teacher loads (seconds).
    # Stdin only once the teacher is ready: a bad option must not wait on it.
    records = _read_input(input, from_format, kind.text_unit) if input != "-" else None
    if backend in teaching.MODEL_BACKENDS:
        labeller = kind.model_labeller(backend, model, label_names, mapping, CallLog(call_log),
                                       keep_gold, device)
        silver = labeller.run(records or _read_input(input, from_format, kind.text_unit))
        _write(silver, output, output_format(output, to_format), labeller.stats.as_json,
               report, min_annotated, kind.counted)
        return
    pool = list(read_records(examples)) if examples else []
    asking = kind.labelling(label_names, pool, None if similar else shots, seed, mapping,
                            cot, prompt)
    options = AnnotateOptions(
        concurrency=concurrency, temperature=temperature, votes=votes, retries=retries,
        max_tokens=max_tokens, max_cost=max_cost, price_in=price_in, price_out=price_out,
        label_map=mapping, fuzzy=fuzzy, keep_gold=keep_gold,
        similar_shots=shots if similar else 0, seed=seed, **asking.options)
    annotator = Annotator(make_teacher(backend, model, base_url, timeout, seed), asking.prompt,
                          CallLog(call_log), options, asking.reading)
    with progress() as bar:  # counts every record finished, failed ones too
        counter = bar.add_task("annotating", total=None)
        done = itertools.count(1)

        def count() -> None:
            bar.update(counter, description=f"annotating: {next(done)} records done")

        records = annotator.run(records or _read_input(input, from_format, kind.text_unit),
                                on_done=count)
        _write(records, output, output_format(output, to_format), annotator.stats.as_json,
               report, min_annotated, kind.counted)


def _read_input(path: str, fmt: str | None, unit: str) -> Iterator[Record]:
    from nerkd.core.formats import read_records

    return nonempty(read_records(path, fmt, text_unit=unit), path, "annotate")  # type: ignore[arg-type]


def _write(records: Iterable[Record], output: str, fmt: str,
           stats: Callable[[], dict[str, Any]], report: str | None, min_annotated: float,
           what: str) -> None:
    """Write the records, then report and judge the run (``_finish``). A run that annotated
    nothing (every record failed, or a budget stopped it first) fails before its output is
    committed, so an existing file stays as it was. A teacher lost on the way (unreachable,
    key refused) fails the run after what it annotated before is written."""
    from nerkd.core.formats import write_records
    from nerkd.core.io import written_atomically
    from nerkd.core.teachers import TeacherError

    atomic = written_atomically(output)
    lost: list[TeacherError] = []

    def judged_first_if_empty() -> Iterator[Record]:
        try:
            yield from records
        except TeacherError as error:
            lost.append(error)
        so_far = stats()
        if so_far["annotated"] == 0 and lost:
            raise lost[0]
        if so_far["annotated"] == 0 and (so_far["failed"] or so_far["stopped"]):
            unwritten = f"nothing was written to {output}" if atomic else None
            _finish(so_far, report, min_annotated, what, unwritten)  # raises

    written = write_records(judged_first_if_empty(), output, fmt)
    failure = TeacherError(f"{lost[0].message.rstrip('.')}; the output holds the {written} "
                           "records before it, and a re-run resumes from the call log"
                           ) if lost else None
    _finish(stats(), report, min_annotated, what, lost=failure)


def _finish(stats: dict[str, Any], report: str | None, min_annotated: float,
            what: str, unwritten: str | None = None, lost: Exception | None = None) -> None:
    """Report, summary and warnings (``what`` was counted: entities or classes); exit 3 on a
    budget stop, 1 when too few were annotated or the teacher was ``lost`` on the way.
    ``unwritten``: says that the output was not written (nothing was annotated)."""
    from nerkd.core.io import open_output

    stats = {what if key == "entities" else key: value for key, value in stats.items()}
    if report:
        with open_output(report) as stream:
            stream.write(json.dumps(stats, indent=2) + "\n")
    info(_summary(stats, what))
    if stats.get("truncated"):
        warn(f"{stats['truncated']} of the teacher's answers stayed cut off at their token "
             "limit (asked again with twice the room, or refused that): what they would have "
             "listed after the cut is missing from their records")
    if lost is not None:
        raise lost
    failed = stats["failed"]
    first = f"{failed[0]['id']}: {failed[0]['reason']}" if failed else ""
    if failed:
        some = "1 record" if len(failed) == 1 else f"{len(failed)} records"
        warn(f"{some} could not be annotated (first: {first})")
    if stats["stopped"]:
        done = (f"nothing was annotated, so {unwritten}" if unwritten
                else "the output is complete up to that point")
        warn(f"stopped early: {stats['stopped']}; {done}, and a re-run resumes from the call "
             "log")
        raise typer.Exit(teaching.EXIT_BUDGET)
    annotated, wanted = stats["annotated"], stats["annotated"] + len(failed)
    if failed and annotated == 0:
        # answers read back from the call log fail the same way on every re-run
        replayed = ("; every answer came from the call log, so a re-run repeats them: "
                    "--call-log NEW.sqlite asks the teacher again"
                    if stats["cached"] and not stats["calls"] else "")
        raise fail(f"no record annotated: all {wanted} failed (first: {first})"
                   f"{'; ' + unwritten if unwritten else ''}{replayed}")
    if annotated < min_annotated * wanted:
        raise fail(f"only {annotated} of {wanted} records annotated, below --min-annotated "
                   f"{min_annotated:g}: {len(failed)} failed (first: {first}); the output "
                   f"holds the {annotated} that were")


def _summary(stats: dict[str, Any], what: str) -> str:
    gold = f", {stats['passed_through']} gold passed through" if stats["passed_through"] else ""
    return (f"annotated {stats['annotated']} of {stats['records']} records{gold}; "
            f"{stats['calls']} calls ({stats['cached']} from the log), "
            f"{stats['retries']} retries, "
            f"{stats['prompt_tokens'] + stats['completion_tokens']} tokens, "
            f"{stats['seconds']:.1f}s; {what}: {_counts_in_words(stats[what])}")


def _counts_in_words(counts: dict[str, int]) -> str:
    """``proposed 42, aligned (exact) 40, dropped (not found) 2``: what was proposed, then
    aligned, then dropped."""
    rank = {"proposed": 0, "aligned": 1, "dropped": 2}
    words = []
    for key in sorted(counts, key=lambda k: (rank.get(k.partition("_")[0], 3), k)):
        head, _, detail = key.partition("_")
        name = f"{head} ({detail.replace('_', ' ')})" if detail else head
        words.append(f"{name} {counts[key]}")
    return ", ".join(words) or "none"
