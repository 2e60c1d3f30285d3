"""Conventions every command shares, declared once: options, the stderr console, progress
bars, and the mapping of errors to one-line messages and exit codes."""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer

from nerkd.core.errors import NerkdError, NerkdWarning
from nerkd.core.student import DEVICES

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_state = {"verbose": False, "quiet": False}

InputArg = Annotated[str, typer.Argument(help="Input file (.jsonl, .conll, .txt, .gz) or - for stdin.")]
OutputOpt = Annotated[
    str, typer.Option("--output", "-o", help="Output file (written atomically) or - for stdout.")
]
FromOpt = Annotated[
    Literal["jsonl", "conll", "text"] | None,
    typer.Option("--from", help="Input format; default: from the extension, else sniffed."),
]
ToOpt = Annotated[
    Literal["jsonl", "conll", "text"] | None,
    typer.Option("--to", help="Output format; default: from the output extension, else jsonl."),
]
SchemeOpt = Annotated[
    Literal["iob2", "iob1", "bioes"],
    typer.Option("--scheme", help="Tag scheme to write (input schemes are detected)."),
]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Random seed.")]
# A window holds [CLS] and [SEP] around its subwords, and each word keeps at most
# (max_length - 2) // 4 of them: below 6 that is none, so words would vanish unlabelled;
# 8 leaves every word a subword plus room for context on either side.
MIN_MAX_LENGTH = 8


def positive(value: float | None) -> float | None:
    """Callback for an open lower bound (typer's ``min`` is inclusive, and lets NaN through):
    a finite number > 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value:g} is not a finite number > 0")
    return value


def finite(value: float | None) -> float | None:
    """Callback: any finite number (typer's bounds let NaN and infinities through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value:g} is not a finite number")
    return value


def check_device(value: str) -> str:
    """auto, cpu, cuda or cuda:N; anything else is a usage error, not a torch traceback."""
    if not DEVICES.fullmatch(value):
        raise typer.BadParameter(f"{value!r}: expected auto, cpu, cuda or cuda:N")
    return value


def flag(name: str, help: str) -> Any:
    """A boolean flag; the empty metavar stops typer's rich help from showing ``<bool>``."""
    return typer.Option(name, help=help, metavar="")


DeviceOpt = Annotated[str, typer.Option("--device", callback=check_device, help="auto, cpu, cuda or cuda:N.")]


def set_verbose(verbose: bool, quiet: bool = False) -> None:
    _state["verbose"], _state["quiet"] = verbose, quiet


def debug_enabled() -> bool:
    return _state["verbose"] or os.environ.get("NERKD_DEBUG", "") not in ("", "0")


@functools.cache
def console() -> Console:
    """The one console for messages; it writes to stderr, never to stdout."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def info(message: str) -> None:
    """A message for a person (scores, summaries): always on stderr, so ``2> run.log`` keeps
    it; ``--quiet`` silences it."""
    if not _state["quiet"]:
        # soft_wrap: a long message stays one line in a log file (rich wraps at 80 there)
        console().print(message, markup=False, emoji=False, soft_wrap=True)


def warn(message: str) -> None:
    """``nerkd: warning: ...`` on stderr (``--quiet`` silences it)."""
    if not _state["quiet"]:
        print(f"nerkd: warning: {message}", file=sys.stderr, flush=True)


def _show_core_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """Core reports recoverable surprises with ``warnings.warn``; they print as our warnings.
    Other libraries' warnings are for developers: shown, as Python shows them, only with
    --verbose."""
    if issubclass(category, NerkdWarning):
        warn(str(message))
    elif debug_enabled():
        warnings._showwarning_orig(message, category, *args, **kwargs)  # type: ignore[attr-defined]


def for_a_person() -> bool:
    """Whether stderr is a terminal and messages are wanted (no ``--quiet``): where progress
    bars and tables nobody asked for go."""
    return sys.stderr.isatty() and not _state["quiet"]


def progress() -> Progress:
    """A transient progress bar on stderr, shown only ``for_a_person``."""
    from rich.progress import Progress

    return Progress(
        console=console(), redirect_stdout=False, redirect_stderr=False, transient=True,
        disable=not for_a_person(),
    )


def notice_stdin(path: str) -> None:
    """Say so when we wait for a person to type into stdin."""
    if path == "-" and sys.stdin.isatty() and not _state["quiet"]:
        print("nerkd: reading from stdin (end with Ctrl-D)", file=sys.stderr)


def write_json(obj: Any) -> None:
    """One JSON document on stdout: the data a command returns (NaN and infinities, which
    JSON cannot hold, become null)."""
    sys.stdout.write(json.dumps(json_safe(obj), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (valid JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: json_safe(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(value) for value in obj]
    return obj


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def leave_now(code: int) -> NoReturn:
    """Exit at once, once our own clean-up has run (outputs committed or left as they were):
    after Ctrl-C, the native libraries' exit-time teardown can abort the process (exit 134,
    "terminate called without an active exception") while torch's worker threads wind down."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away, a closed stream
            pass
    os._exit(code)


def fail(message: str, code: int = 1) -> typer.Exit:
    print(f"nerkd: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def empty_input(names: str, verb: str) -> typer.Exit:
    """The one line for an input with no records (``names``: the file or files read)."""
    return fail(f"{names}: no records to {verb}: the input is empty")


def nonempty(records: Iterator[T], path: str, verb: str) -> Iterator[T]:
    """``records`` whole, its first already read: an empty or unreadable input fails here,
    before a model loads (seconds) and before anything is written."""
    from nerkd.core.io import display_name

    first = next(records, _NOTHING)
    if first is _NOTHING:
        raise empty_input(display_name(path), verb)
    return itertools.chain([first], records)  # type: ignore[list-item]


_NOTHING = object()


# Accepted before the command name (by the root) and after it (by every command).
VerboseFlag = Annotated[
    bool, typer.Option("--verbose", "-v", metavar="", help="Show tracebacks and extra messages.")
]
QuietFlag = Annotated[
    bool, typer.Option("--quiet", "-q", metavar="", help="No messages on stderr, errors only.")
]


def command(fn: F) -> F:
    """Map every failure of a command to a one-line message and an exit code, and accept
    --verbose/--quiet after the command name as well as before it (``nerkd train ... -q``)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, verbose: bool = False, quiet: bool = False, **kwargs: Any) -> Any:
        set_verbose(verbose or _state["verbose"], quiet or _state["quiet"])
        warnings.showwarning = _show_core_warning
        try:
            return fn(*args, **kwargs)
        except NerkdError as error:
            if debug_enabled():
                raise
            raise fail(str(error)) from None
        except BrokenPipeError:
            raise quiet_broken_pipe() from None
        except KeyboardInterrupt:
            raise fail("interrupted", EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except typer.BadParameter as error:  # a wrong combination of arguments: exit 2
            raise fail(error.format_message(), 2) from None
        except Exception as error:  # noqa: BLE001 - last line of defence, no traceback
            if debug_enabled():
                raise
            raise fail(f"{type(error).__name__}: {error} (--verbose shows the traceback)") from None

    _add_message_flags(wrapper, fn)
    return wrapper  # type: ignore[return-value]


def _add_message_flags(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> None:
    """Show typer ``fn``'s parameters plus --verbose and --quiet as ``wrapper``'s."""
    flags = {"verbose": VerboseFlag, "quiet": QuietFlag}
    signature = inspect.signature(fn, eval_str=True)
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False,
                               annotation=flag) for name, flag in flags.items()]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra])
    wrapper.__annotations__ = {**fn.__annotations__, **flags}


def quiet_broken_pipe() -> typer.Exit:
    """The reader went away (``| head``): stop quietly, and stop Python's exit-time flush
    from complaining about the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (tests)
    return typer.Exit(0)


def given_options(context: typer.Context, names: tuple[str, ...]) -> list[str]:
    """The options among ``names`` set on the command line (a default repeated counts)."""
    given = []
    for name in names:
        source = context.get_parameter_source(name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            given.append(f"--{name.replace('_', '-')}")
    return given
