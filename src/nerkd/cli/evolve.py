"""``nerkd evolve``: EvoKD, the teacher studies the student's mistakes and writes (or labels)
data aimed at them."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

import typer

from nerkd.cli import teaching
from nerkd.cli.common import (
    MIN_MAX_LENGTH,
    DeviceOpt,
    SeedOpt,
    fail,
    info,
    positive,
    warn,
    write_json,
)
from nerkd.cli.tasks import kit


def evolve(
    seed_data: Annotated[str, typer.Option("--seed-data", help="The few gold records to start from (e.g. 5 per type).")],
    dev: Annotated[str, typer.Option("--dev", help="Dev records: scored each round; its errors are what the teacher sees.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Run directory (pools, analyses, metrics.jsonl, model/, curve.png); rerun to resume.")],
    test: Annotated[str | None, typer.Option("--test", help="Held-out records scored each round (test_f1) and never shown to the teacher: with targeting aimed at dev's errors, dev F1 flatters it.")] = None,
    rounds: Annotated[int, typer.Option("--rounds", min=0, help="Rounds of teaching; the student trains rounds+1 times.")] = 3,
    per_round: Annotated[int, typer.Option("--per-round", min=1, help="Synthetic samples added per round (at most).")] = 20,
    per_call: Annotated[int, typer.Option("--per-call", min=1, help="Samples asked for in one request.")] = 5,
    control: Annotated[Literal["targeted", "random"], typer.Option("--control", help="random: same budget, no error analysis, or with --pool a random pick (a baseline for targeting).")] = "targeted",
    task: Annotated[Literal["auto", "ner", "classify"], typer.Option("--task", help="auto: classify when the seed data are documents with a label, else ner. For classify, --labels are class names or a file of 'name: definition' lines (default: the seed data's classes).")] = "auto",
    pool: Annotated[str | None, typer.Option("--pool", help="Unlabelled text (one per line, JSONL or CoNLL; tags are ignored): each round the teacher labels the --per-round sentences nearest to the student's dev errors instead of writing new ones. Needed by hf and spacy teachers.")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Records synthetic samples must not repeat (e.g. test data); dev is always excluded.")] = None,
    teacher: teaching.TeacherOpt = "auto",
    model: teaching.TeacherModelOpt = None,
    base_url: teaching.BaseUrlOpt = None,
    labels: teaching.LabelsOpt = None,
    label_map: teaching.LabelMapOpt = None,
    concurrency: teaching.ConcurrencyOpt = 8,
    timeout: teaching.TimeoutOpt = 120.0,
    retries: teaching.RetriesOpt = 5,
    max_tokens: teaching.MaxTokensOpt = None,
    max_cost: teaching.MaxCostOpt = None,
    price_in: teaching.PriceInOpt = 0.0,
    price_out: teaching.PriceOutOpt = 0.0,
    call_log: Annotated[str | None, typer.Option("--call-log", help="SQLite call log: cache and resume journal (default: OUTPUT/calls.sqlite).")] = None,
    student: Annotated[str | None, typer.Option("--student", help="Student encoder directory; default: the embedded all-MiniLM-L6-v2.")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Student epochs per round (small pools need many).")] = 10,
    lr: Annotated[float, typer.Option("--lr", callback=positive, help="Student peak learning rate (> 0).")] = 1e-4,
    max_length: Annotated[int, typer.Option("--max-length", min=MIN_MAX_LENGTH, help="Student subwords per window (for a classifier: of each text, from its start).")] = 256,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Student sentences per step.")] = 8,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
) -> None:
    """Grow a training pool round by round with samples aimed at the student's weaknesses
    (EvoKD, Liu et al. 2024); print the last round's metrics as JSON.

    Each round: train the student on the pool, score it on dev, show the teacher what it got
    wrong and right, ask for an analysis, then for new labelled sentences (easy and hard);
    valid unseen ones join the pool. With --pool, the teacher instead labels the pool
    sentences closest to the dev sentences the student got wrong (by the student's own
    sentence vectors, each error in turn taking its nearest), which any teacher can do.
    Killed runs resume from the last finished round, and the call log (default
    RUN_DIR/calls.sqlite) answers what was already asked. Exit code 3: a budget stopped the
    run. Example: nerkd evolve --seed-data seed.conll --dev dev.conll -o run
    """
    from pathlib import Path

    from nerkd.core.calllog import CallLog
    from nerkd.core.errors import NerkdError
    from nerkd.core.evolve import EvolveOptions, Evolver, claim_run_dir
    from nerkd.core.formats import read_records
    from nerkd.core.io import file_digest
    from nerkd.core.records import require_labels
    from nerkd.core.student import resolve_model
    from nerkd.core.tasks import task_of
    from nerkd.core.train import TrainConfig

    seeds = list(read_records(seed_data))
    kind = kit(task_of(seeds) if task == "auto" else task)
    label_set = kind.labels(labels, seeds)
    require_labels(seeds, f"--seed-data {seed_data}", kind.name,
                   "the first student is trained on them")
    backend = teaching.pick_backend(teacher, base_url)
    teaching.check_teacher_fits(kind, backend)
    if pool is None and backend in teaching.MODEL_BACKENDS:
        raise fail(f"--teacher {backend} labels but cannot write: give it --pool FILE of "
                   "unlabelled text to pick sentences from")
    # Every input is read before the run directory (and its call log) is made.
    candidates = list(read_records(pool, text_unit=kind.text_unit)) if pool is not None else []
    dev_records = list(read_records(dev))
    test_records = list(read_records(test)) if test else []
    held_out = [*dev_records, *test_records,
                *(r for path in exclude or [] for r in read_records(path))]
    left_out = kind.left_out([*seeds, *dev_records, *test_records], label_set)
    if left_out:
        in_use = "--labels" if labels else f"the labels in use ({', '.join(label_set)})"
        raise fail(f"{in_use} leave out {', '.join(sorted(left_out))}, which the seed, dev or "
                   "test data hold: the student would be scored on them while the teacher's "
                   "samples of them are refused; give every one in --labels")
    config = TrainConfig(model=resolve_model(student), epochs=epochs, lr=lr,
                         batch_size=batch_size, seed=seed, device=device,
                         max_length=max_length, labels=list(label_set), task=kind.name)
    claim_run_dir(Path(output), {
        "--task": kind.name, "--seed-data": file_digest(seed_data), "--dev": file_digest(dev),
        "--test": test and file_digest(test), "--pool": pool and file_digest(pool),
        "--exclude": [file_digest(path) for path in exclude or []],
        "--per-round": per_round, "--per-call": per_call, "--control": control,
        "--teacher": backend, "--model": _one_spelling(model), "--labels": label_set,
        "--label-map": teaching.label_map(label_map), "--student": _one_spelling(student),
        "--epochs": epochs, "--lr": lr, "--batch-size": batch_size, "--max-length": max_length,
        "--seed": seed})
    log = CallLog(call_log or Path(output) / "calls.sqlite")
    options = EvolveOptions(rounds=rounds, per_round=per_round, per_call=per_call,
                            control=control, seed=seed)
    evolve_task = kind.evolve_task(label_set, seeds, teaching.label_map(label_map))
    calls = dict(concurrency=concurrency, retries=retries, max_tokens=max_tokens,
                 max_cost=max_cost, price_in=price_in, price_out=price_out, seed=seed)
    if pool is not None:
        from nerkd.core.evolve_select import Selector

        labeller = _labeller(kind, backend, model, base_url, timeout, label_set,
                             teaching.label_map(label_map), log, seeds, calls, device)
        source: Any = Selector(candidates, labeller, options, held_out)
    else:
        source = _writer(evolve_task, backend, model, base_url, timeout, log, calls, options,
                         Path(output), held_out)
    evolver = Evolver(evolve_task, source, config, options, output, dev_records, test_records)
    last = None
    for metrics in evolver.run(seeds):
        last = metrics
        tested = (f", test {kind.score} {metrics.test_f1:.4f}" if metrics.test_f1 is not None
                  else "")
        info(f"round {metrics.round}: dev {kind.score} {metrics.dev_f1:.4f}{tested}, "
             f"pool {metrics.pool}, "
             f"+{metrics.accepted} new samples, rejected {metrics.rejected}")
    if last is not None and last.pool_left == 0 and last.round < rounds:
        info(f"the pool is used up: after round {last.round} no --pool sentence is left to "
             "pick, so the run ends there")
    try:
        evolver.plot()
    except NerkdError as error:  # matplotlib missing: the run itself is still complete
        warn(f"no curve.png: {error}")
    finished = evolver.finished()
    write_json(finished[-1] if finished else {})
    if evolver.stopped:
        warn(f"stopped early: {evolver.stopped}; rerun with a larger budget to go on "
             "from the last finished round")
        raise typer.Exit(teaching.EXIT_BUDGET)
    if last is None:
        info("nothing to do: every round is finished")
    # the rounds the teacher taught, resumed ones included: none added a sample, nothing learned
    taught = [m for m in finished if m["round"] < rounds and m.get("pool_left") != 0]
    if taught and not any(m.get("accepted") for m in taught):
        rejected = Counter[str]()
        for metrics in taught:
            rejected.update(metrics.get("rejected") or {})
        raise fail(f"no round added a sample (rejected: {dict(rejected) or 'none offered'}): "
                   "the student learned nothing from the teacher")


def _writer(task: Any, backend: str, model: str | None, base_url: str | None,
            timeout: float, log: Any, calls: dict[str, Any], options: Any, run_dir: Any,
            held_out: list[Any]) -> Any:
    """An LLM teacher that writes samples, behind a caller (call log, budgets, retries)."""
    from nerkd.core.calls import Caller, CallOptions, CallStats
    from nerkd.core.evolve_write import Writer
    from nerkd.core.teachers import make_teacher

    caller = Caller(make_teacher(backend, model, base_url, timeout, calls["seed"]), log,
                    CallOptions(**calls), CallStats())
    return Writer(task, caller, options, run_dir, held_out)


def _labeller(kind: Any, backend: str, model: str | None, base_url: str | None,
              timeout: float, labels: dict[str, str], label_map: dict[str, str], log: Any,
              seeds: list[Any], calls: dict[str, Any], device: str) -> Any:
    """The teacher that labels picked records: a trained model (on the student's device), or
    an LLM prompted with three of the seed records as examples."""
    from nerkd.core.annotate import AnnotateOptions, Annotator
    from nerkd.core.teachers import make_teacher

    if backend in teaching.MODEL_BACKENDS:
        return kind.model_labeller(backend, model, labels, label_map, log, device=device)
    asking = kind.labelling(labels, seeds, 3, calls["seed"], label_map)
    options = AnnotateOptions(label_map=label_map, **calls, **asking.options)
    return Annotator(make_teacher(backend, model, base_url, timeout, calls["seed"]),
                     asking.prompt, log, options, asking.reading)


def _one_spelling(path: str | None) -> str | None:
    """A local path as one absolute spelling (``enc``, ``enc/`` and ``/abs/enc`` are the same
    run's); a server's model name, or None for the default, as given."""
    from pathlib import Path

    return str(Path(path).resolve()) if path and Path(path).exists() else path
