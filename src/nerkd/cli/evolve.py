"""``nerkd evolve``: EvoKD, the teacher studies the student's mistakes and writes data."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from nerkd.cli import teaching
from nerkd.cli.common import DeviceOpt, SeedOpt, info, positive, warn, write_json


def evolve(
    seed_data: Annotated[str, typer.Option("--seed-data", help="The few gold records to start from (e.g. 5 per type).")],
    dev: Annotated[str, typer.Option("--dev", help="Dev records: scored each round; its errors are what the teacher sees.")],
    output: Annotated[str, typer.Option("--output", "-o", help="Run directory (pools, analyses, metrics.jsonl, model/, curve.png); rerun to resume.")],
    rounds: Annotated[int, typer.Option("--rounds", min=0, help="Rounds of teaching; the student trains rounds+1 times.")] = 3,
    per_round: Annotated[int, typer.Option("--per-round", min=1, help="Synthetic samples added per round (at most).")] = 20,
    per_call: Annotated[int, typer.Option("--per-call", min=1, help="Samples asked for in one request.")] = 5,
    control: Annotated[Literal["targeted", "random"], typer.Option("--control", help="random: same budget, no error analysis (a baseline for targeting).")] = "targeted",
    exclude: Annotated[list[str] | None, typer.Option("--exclude", help="Records synthetic samples must not repeat (e.g. test data); dev is always excluded.")] = None,
    teacher: teaching.TeacherOpt = "auto",
    model: teaching.TeacherModelOpt = None,
    base_url: teaching.BaseUrlOpt = None,
    labels: teaching.LabelsOpt = None,
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
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Student sentences per step.")] = 8,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
) -> None:
    """Grow a training pool round by round with samples the teacher writes at the student's
    weaknesses (EvoKD, Liu et al. 2024); print the last round's metrics as JSON.

    Each round: train the student on the pool, score it on dev, show the teacher what it got
    wrong and right, ask for an analysis, then for new labelled sentences (easy and hard);
    valid unseen ones join the pool. Killed runs resume from the last finished round, and the
    call log (default RUN_DIR/calls.sqlite) answers what was already asked. Exit code 3: a
    budget stopped the run. Example: nerkd evolve --seed-data seed.conll --dev dev.conll -o run
    """
    from pathlib import Path

    from nerkd.core.calllog import CallLog
    from nerkd.core.calls import Caller, CallOptions, CallStats
    from nerkd.core.errors import NerkdError
    from nerkd.core.evolve import EvolveOptions, Evolver
    from nerkd.core.evolve_task import NerTask
    from nerkd.core.formats import read_records
    from nerkd.core.prompt import read_labels
    from nerkd.core.student import resolve_model
    from nerkd.core.teachers import make_teacher
    from nerkd.core.train import TrainConfig

    seeds = list(read_records(seed_data))
    label_set = read_labels(labels)
    caller = Caller(
        make_teacher(teaching.pick_backend(teacher, base_url), model, base_url, timeout, seed),
        CallLog(call_log or Path(output) / "calls.sqlite"),
        CallOptions(concurrency=concurrency, retries=retries, max_tokens=max_tokens,
                    max_cost=max_cost, price_in=price_in, price_out=price_out, seed=seed),
        CallStats())
    config = TrainConfig(model=resolve_model(student), epochs=epochs, lr=lr,
                         batch_size=batch_size, seed=seed, device=device,
                         labels=list(label_set))
    options = EvolveOptions(rounds=rounds, per_round=per_round, per_call=per_call,
                            control=control, seed=seed)
    held_out = [r for path in exclude or [] for r in read_records(path)]
    evolver = Evolver(NerTask(label_set, [r for r in seeds if r.spans]), caller, config,
                      options, output, list(read_records(dev)), held_out)
    last = None
    for metrics in evolver.run(seeds):
        last = metrics
        info(f"round {metrics.round}: dev F1 {metrics.dev_f1:.4f}, pool {metrics.pool}, "
             f"+{metrics.accepted} synthetic, rejected {metrics.rejected}")
    try:
        evolver.plot()
    except NerkdError as error:  # matplotlib missing: the run itself is still complete
        warn(f"no curve.png: {error}")
    finished = evolver.finished()
    write_json(finished[-1] if finished else {})
    if caller.stats.stopped:
        warn(f"stopped early: {caller.stats.stopped}; rerun with a larger budget to go on "
             "from the last finished round")
        raise typer.Exit(teaching.EXIT_BUDGET)
    if last is None:
        info("nothing to do: every round is finished")

