"""``nerkd blend``: a training plan that mixes gold and silver records epoch by epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import typer

from nerkd.cli.common import (
    OutputOpt,
    SeedOpt,
    finite,
    flag,
    given_options,
    info,
    notice_stdin,
    warn,
)

if TYPE_CHECKING:
    from rich.console import RenderableType

    from nerkd.core.blend import BlendStats

ScheduleName = Literal[
    "gold", "silver", "concat", "sequential", "simple-mix", "sigmoid", "power-decay", "linear",
    "custom",
]
SCHEDULE_PARAMETERS = ("switch", "variant", "steepness", "centre", "power", "gold_fraction",
                       "custom")
PoolOpt = "records, file or - (.jsonl, .conll, .txt); records without tags (or, for documents, a label) are skipped."
ScheduleOpt = Annotated[ScheduleName, typer.Option(
    "--schedule", help="Which share of each pool every epoch uses (see above).")]
EpochsOpt = Annotated[int | None, typer.Option(
    "--epochs", min=1, max=1000, help="Epochs to plan (required; a custom table sets its own).")]
SwitchOpt = Annotated[int | None, typer.Option(
    "--switch", min=0, help="sequential/simple-mix: silver-only epochs before the switch [default: ceil(E/2)].")]
VariantOpt = Annotated[Literal["silver-then-mix", "silver-then-gold"], typer.Option(
    "--variant", help="simple-mix after the switch: silver+gold (paper v1, default: the only "
    "reading that differs from sequential) or gold only (paper v4's abstract).")]
SteepnessOpt = Annotated[float, typer.Option(
    "--steepness", callback=finite, help="sigmoid k (our default; the paper gives none).")]
CentreOpt = Annotated[float, typer.Option(
    "--centre", callback=finite, help="sigmoid c: where s(e) crosses 0.5, as a fraction of E.")]
PowerOpt = Annotated[float, typer.Option("--power", min=0.0, callback=finite, help="power-decay p (our default).")]
GoldFractionOpt = Annotated[Literal["complement", "constant"], typer.Option(
    "--gold-fraction", help="sigmoid/power-decay/linear: g(e) = 1 - s(e), or 1 every epoch.")]
CustomOpt = Annotated[str | None, typer.Option(
    "--custom", help="custom: a table, one 'silver gold' line per epoch, or JSONL "
    '{"epoch", "silver", "gold"}.')]
MinConfidenceOpt = Annotated[float | None, typer.Option(
    "--min-confidence", min=0.0, max=1.0, help="Drop silver records whose confidence (annotate --votes: "
    "a sentence's lowest span confidence, a document's class share) is below this; records "
    "without one count as 1.")]
WeightOpt = Annotated[bool, flag(
    "--weight-by-confidence", "Weight each silver record's loss by that confidence.")]
ShowOpt = Annotated[bool, flag(
    "--show", "Print a per-epoch table (the plan itself is then written only to -o FILE).")]
PlotOpt = Annotated[str | None, typer.Option(
    "--plot", help="Draw s(e), g(e) and counts per epoch to this PNG (the plan itself is then "
    "written only to -o FILE).")]


def blend(
    context: typer.Context,
    gold: Annotated[str | None, typer.Option("--gold", help=f"Gold {PoolOpt}")] = None,
    silver: Annotated[str | None, typer.Option("--silver", help=f"Silver {PoolOpt}")] = None,
    schedule: ScheduleOpt = "simple-mix",
    epochs: EpochsOpt = None,
    switch: SwitchOpt = None,
    variant: VariantOpt = "silver-then-mix",
    steepness: SteepnessOpt = 10.0,
    centre: CentreOpt = 0.5,
    power: PowerOpt = 1.0,
    gold_fraction: GoldFractionOpt = "complement",
    custom: CustomOpt = None,
    min_confidence: MinConfidenceOpt = None,
    weight_by_confidence: WeightOpt = False,
    seed: SeedOpt = 42,
    output: OutputOpt = "-",
    show: ShowOpt = False,
    plot: PlotOpt = None,
) -> None:
    """Write a training plan (JSONL, each record tagged with its `epoch`) for `nerkd train`.

    Epoch e of E uses a fraction s(e) of the silver pool and g(e) of the gold pool, drawn
    without replacement (seeded by --seed and e; floor(f*n + 0.5) records) and shuffled
    together. Silver sentences that also appear in gold are dropped.

    Schedules (s, g): **gold** (0, 1); **silver** (1, 0); **concat** (1, 1); **sequential**
    (1, 0) before --switch, then (0, 1); **simple-mix** (default, the paper's best) (1, 0)
    before --switch, then (1, 1) or (0, 1) by --variant; **sigmoid** s = 1/(1 + exp(k(e/E - c)));
    **power-decay** s = (1 + e)^-p; **linear** s = 1 - e/(E - 1); **custom** from --custom.
    The paper (arXiv 2402.09282) gives no formulas: these curves and defaults are our own.

    Example: nerkd blend --gold gold.conll --silver silver.jsonl --schedule sigmoid --epochs 6 -o plan.jsonl
    """
    from nerkd.core import blend as core
    from nerkd.core.formats import output_format, write_records
    from nerkd.core.io import check_output

    for path in (output, plot or "-"):
        check_output(path)
    writes_plan = output != "-" or not (show or plot)  # stdout holds the table or the plan
    if writes_plan and output_format(output, None) != "jsonl":
        shown = output if output != "-" else "stdout"
        raise typer.BadParameter(f"{shown}: a plan is JSONL (its records carry an epoch and a "
                                 "weight, which CoNLL cannot hold): write it to a .jsonl file")
    for path in (gold, silver):
        notice_stdin(path or "")
    unused = [option for option in given_options(context, SCHEDULE_PARAMETERS)
              if option not in core.SCHEDULE_OPTIONS[schedule]]
    if "--custom" in unused or (schedule == "custom" and custom is None):  # exit 2
        raise typer.BadParameter("--schedule custom needs a table file (--custom), and only it "
                                 "takes one")
    for name in unused:
        warn(f"{name} does nothing with --schedule {schedule}")
    table = core.read_schedule_table(custom) if custom else None
    plan_schedule = core.make_schedule(
        schedule, switch=switch, variant=variant, steepness=steepness, centre=centre,
        power=power, gold_fraction=gold_fraction, table=table,
    )
    if epochs is None and plan_schedule.length is None:  # a missing option: exit 2
        raise typer.BadParameter(f"--epochs is required with --schedule {plan_schedule.name}")
    if switch is not None and epochs is not None and switch > epochs:  # options that clash: 2
        raise typer.BadParameter(f"--switch {switch} is beyond --epochs {epochs}")
    if switch is not None and switch in (0, epochs) and "--switch" not in unused:
        before = "no epoch is" if switch == 0 else "every epoch is"
        warn(f"--switch {switch}: {before} before the switch, so every epoch of {schedule} is "
             "alike")
    plan, stats = core.blend_plan(
        *core.read_pools(gold, silver, min_confidence is not None or weight_by_confidence),
        plan_schedule, epochs, seed, min_confidence,
        weight_by_confidence,
    )
    if show:
        from rich.console import Console

        Console(highlight=False, soft_wrap=True).print(epoch_table(stats))  # lines unbroken
    if plot:
        core.plot_schedule(stats, plot)
    if writes_plan:
        write_records(plan, output, "jsonl")
    info(stats.summary())


def epoch_table(stats: BlendStats) -> RenderableType:
    """Per-epoch fractions and record counts, with the pools above and what was dropped below."""
    from rich.console import Group
    from rich.table import Table

    table = Table()
    for column in ("epoch", "s(e)", "g(e)", "silver", "gold", "total"):
        table.add_column(column, justify="right")
    for c in stats.epochs:
        table.add_row(str(c.epoch), f"{c.silver_fraction:.3f}", f"{c.gold_fraction:.3f}",
                      str(c.silver), str(c.gold), str(c.silver + c.gold))
    return Group(
        f"{stats.schedule}: pools of {stats.silver} silver and {stats.gold} gold", table,
        f"dropped: {stats.duplicates} duplicate, {stats.low_confidence} low-confidence, "
        f"{stats.unlabelled} unlabelled",
    )
