"""Streams: ``-`` for stdin/stdout, transparent ``.gz``, strict UTF-8 with line numbers,
and atomic file output (a failed run never leaves a half-written file behind)."""

from __future__ import annotations

import gzip
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from nerkd.core.errors import NerkdError

STDIO = "-"


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == STDIO else str(path)


def _open_binary(path: str | Path) -> IO[bytes]:
    if str(path) == STDIO:
        return sys.stdin.buffer
    try:
        handle: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by read_lines
    except OSError as error:
        raise NerkdError(f"cannot open: {error.strerror}", str(path)) from None
    if str(path).endswith(".gz"):
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    return handle


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the newline, decoding strict UTF-8 (BOM dropped)."""
    handle = _open_binary(path)
    try:
        for number, raw in enumerate(handle, start=1):
            yield number, _decode(raw, path, number)
    except (OSError, EOFError) as error:  # e.g. a truncated .gz
        raise NerkdError(f"read failed: {error}", display_name(path)) from None
    finally:
        if handle is not getattr(sys.stdin, "buffer", None):
            handle.close()


def _decode(raw: bytes, path: str | Path, number: int) -> str:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"not valid UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1})"
        raise NerkdError(message, display_name(path), number) from None
    if number == 1:
        line = line.removeprefix("\ufeff")
    return line.rstrip("\r\n")


@contextmanager
def open_output(path: str | Path) -> Iterator[IO[str]]:
    """Text output to stdout, or to ``path`` atomically: a temp file renamed on success."""
    if str(path) == STDIO:
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            gz = target.suffix == ".gz"
            binary: IO[bytes] = gzip.GzipFile(fileobj=raw, mode="wb") if gz else raw  # type: ignore[assignment]
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
                yield text
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def file_digest(path: str | Path) -> str | None:
    """``sha256:<hex>`` of a file's bytes (None for stdin), recorded beside trained models."""
    if str(path) == STDIO:
        return None
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
