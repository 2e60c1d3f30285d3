"""The ``nerkd`` command: subcommands are registered here; heavy libraries load inside them."""

from __future__ import annotations

from typing import Annotated

import typer

from nerkd import __version__
from nerkd.cli import annotate, blend, common, convert, evaluate, evolve, predict, train

app = typer.Typer(
    name="nerkd",
    help="Distil an LLM's knowledge into a small, fast named-entity recognizer (or text "
    "classifier). "
    "Commands read and write JSONL/CoNLL on files or stdin/stdout, so they pipe.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals can hold an API key
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"nerkd {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: common.VerboseFlag = False,
    quiet: common.QuietFlag = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, metavar="", help="Show the version.")
    ] = False,
) -> None:
    common.set_verbose(verbose, quiet)


app.command("annotate")(common.command(annotate.annotate))
app.command("blend")(common.command(blend.blend))
app.command("train")(common.command(train.train))
app.command("predict")(common.command(predict.predict))
app.command("eval")(common.command(evaluate.evaluate))
app.command("evolve")(common.command(evolve.evolve))
app.command("convert")(common.command(convert.convert))


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except BrokenPipeError:
        raise SystemExit(common.quiet_broken_pipe().exit_code) from None
    except SystemExit as done:
        if done.code == common.EXIT_INTERRUPTED:
            common.leave_now(done.code)
        raise
