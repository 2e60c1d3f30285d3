"""Streams: ``-`` for stdin/stdout, transparent ``.gz``, strict UTF-8 with line numbers,
and atomic file output (a failed run never leaves a half-written file behind)."""

from __future__ import annotations

import errno
import glob
import gzip
import io
import os
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from nerkd.core.errors import NerkdError

STDIO = "-"
STDOUT_NAME = "<stdout>"  # how messages name it
PART_SUFFIX = ".part"


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == STDIO else str(path)


def stdout_file() -> str | None:
    """The path of the regular file stdout is redirected to, where the system tells
    (Linux's /proc); None for a terminal, a pipe, or elsewhere."""
    try:
        if not stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode):
            return None
        return os.readlink(f"/proc/self/fd/{sys.stdout.fileno()}")
    except (OSError, ValueError, AttributeError):  # no /proc, or stdout is not a real file
        return None


def _open_binary(path: str | Path) -> IO[bytes]:
    """The input's bytes, gunzipped where its name ends in ``.gz`` or its bytes begin as
    gzip's do (``cat x.jsonl.gz | nerkd ...``: stdin has no name)."""
    if str(path) == STDIO:
        handle: IO[bytes] = sys.stdin.buffer
    else:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed by read_lines
        except OSError as error:
            raise NerkdError(f"cannot open: {error.strerror}", str(path)) from None
    if str(path).endswith(".gz") or _begins_as_gzip(handle):
        return gzip.GzipFile(fileobj=handle)  # type: ignore[return-value]
    return handle


def _begins_as_gzip(handle: IO[bytes]) -> bool:
    peek = getattr(handle, "peek", None)  # buffered streams look ahead without consuming
    try:
        return peek is not None and peek(2)[:2] == b"\x1f\x8b"
    except (OSError, ValueError):
        return False


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` without the newline, decoding strict UTF-8 (BOM dropped).
    LF, CRLF and old Mac CR-only endings all end a line."""
    handle = _open_binary(path)
    try:
        number = 0
        for raw in handle:
            for piece in _split_cr(raw):
                number += 1
                yield number, _decode(piece, path, number)
    except (OSError, EOFError, zlib.error) as error:  # a truncated or corrupt .gz
        raise NerkdError(f"read failed: {error}", display_name(path)) from None
    finally:
        _close(handle)


def _close(handle: IO[bytes]) -> None:
    """Close an input (and the file under a gzip reader), never stdin."""
    for stream in (handle, getattr(handle, "fileobj", None)):
        if stream is not None and stream is not getattr(sys.stdin, "buffer", None):
            stream.close()


def read_text(path: str | Path) -> str:
    """A small text file (labels, a prompt, a label map) as it is, read as data files are:
    gzip looked through, a BOM dropped, strict UTF-8 with an error located at its line."""
    if str(path) == STDIO:
        raise NerkdError("give it as a file, not - (stdin holds the data)", str(path))
    handle = _open_binary(path)
    try:
        data = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise NerkdError(f"read failed: {error}", display_name(path)) from None
    finally:
        _close(handle)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:  # located as a data file's would be
        start = data.rfind(b"\n", 0, error.start) + 1
        end = data.find(b"\n", error.start)
        _decode(data[start : end if end >= 0 else len(data)], path,
                data.count(b"\n", 0, error.start) + 1)
        raise  # not reached: _decode raises


def _split_cr(raw: bytes) -> list[bytes]:
    """One line read up to LF, cut again at any bare CR inside it: only the CR of a final
    CRLF belongs to the line end (``a\\r\\r\\n`` is a line, then a blank one)."""
    if b"\r" not in raw:
        return [raw]
    body = raw[:-1].removesuffix(b"\r") if raw.endswith(b"\n") else raw.removesuffix(b"\r")
    return body.split(b"\r")


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
def open_output(path: str | Path, binary: bool = False) -> Iterator[IO[Any]]:
    """Output to stdout, or to ``path``: a regular file is written atomically (a temporary
    part renamed on success, so a failed run leaves the old file whole); a device, FIFO,
    socket or ``/proc`` file (``/dev/fd/N``) is written straight through, since renaming over
    it would replace it; a symlink is followed, so its target is what gets written. Errors
    writing the output are one line naming it; errors of the caller's own pass through."""
    if str(path) in (STDIO, "/dev/stdout"):
        if (stdout_file() or "").endswith(".gz"):  # `> out.jsonl.gz`: packed, as -o packs it
            with _packed_stdout(binary) as stream:
                yield stream
            return
        yield _Guarded(sys.stdout.buffer if binary else sys.stdout, STDOUT_NAME)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as error:  # a full disk under `> out.jsonl` shows here, buffered
            raise _write_error(STDOUT_NAME, error) from None
        return
    in_body = False
    try:
        if _writes_through(path):
            where = _stream(open(path, "wb"), Path(path), binary)  # noqa: SIM115
        else:
            where = _atomic(Path(os.path.realpath(path)), binary)
        with where as stream:
            in_body = True
            yield _Guarded(stream, str(path))
            in_body = False
    except OSError as error:
        if in_body or isinstance(error, BrokenPipeError):
            raise
        raise _write_error(path, error) from None


@contextmanager
def _packed_stdout(binary: bool) -> Iterator[IO[Any]]:
    """Stdout through gzip, left open for whatever follows."""
    sys.stdout.flush()
    with gzip.GzipFile(fileobj=sys.stdout.buffer, mode="wb") as packed:
        if binary:
            yield packed
        else:
            text = io.TextIOWrapper(packed, encoding="utf-8", newline="\n")
            yield text
            text.flush()
            text.detach()  # closing the wrapper would close the gzip stream before its end
    sys.stdout.buffer.flush()


def written_atomically(path: str | Path) -> bool:
    """Whether ``open_output`` commits ``path`` at the end (a regular file, or one it makes)
    instead of writing as records come (stdout, a device, a FIFO, ``/proc``)."""
    return str(path) not in (STDIO, "/dev/stdout") and not _writes_through(path)


def _writes_through(path: str | Path) -> bool:
    """Whether ``path`` (links followed) exists and is no regular file we may rename over."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing, or under a file: creating it is checked (and fails) elsewhere
        return False
    return not stat.S_ISREG(mode) or os.path.realpath(path).startswith("/proc/")


def _write_error(path: str | Path, error: OSError) -> NerkdError:
    return NerkdError(f"cannot write {path}: {error.strerror or error}")


class _Guarded:
    """The output stream, with a failed write (a full disk) reported as a one-line error."""

    def __init__(self, stream: IO[Any], path: str) -> None:
        self._stream, self._path = stream, path

    def write(self, data: Any) -> int:
        try:
            return self._stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise _write_error(self._path, error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _atomic(target: Path, binary: bool) -> Iterator[IO[Any]]:
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(target)
    prefix = f".{target.name}.{os.getpid()}."
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=PART_SUFFIX, dir=target.parent)
    try:
        with _stream(os.fdopen(fd, "wb"), target, binary) as stream:
            yield stream
        _keep_mode(target, temp)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def _stream(raw: IO[bytes], target: Path, binary: bool) -> Iterator[IO[Any]]:
    """``raw`` as the caller wants it: bytes or UTF-8 text, gzipped for a ``.gz`` name."""
    with raw:
        if target.suffix == ".gz":
            raw = gzip.GzipFile(fileobj=raw, mode="wb")  # type: ignore[assignment]
        if binary:
            with raw:
                yield raw
            return
        with io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as text:
            yield text


def _remove_stale_parts(target: Path) -> None:
    """Remove parts of ``target`` left by a killed run: ours by name, and their writer
    (the pid in the name) is gone. A live writer's part is left alone."""
    for part in target.parent.glob(f".{glob.escape(target.name)}.*{PART_SUFFIX}"):
        pid = part.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but is not ours to signal
        return True
    return True


def check_output(path: str | Path) -> None:
    """Fail before any work when ``path`` cannot be written: it must not be a folder, and
    the folder it goes in must take a new file."""
    if os.path.isdir(path):
        raise NerkdError(f"cannot write {path}: is a directory")
    if str(path) in (STDIO, "/dev/stdout") or _writes_through(path):
        return
    check_creatable(path)


def check_creatable(path: str | Path) -> None:
    """Fail unless something can be created at ``path``: its nearest existing folder must
    take a new entry (tried for real, then removed)."""
    target = Path(os.path.realpath(path))
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    try:
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory")
        fd, probe = tempfile.mkstemp(prefix=".nerkd-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno == errno.ENOENT and folder != target.parent:
            reason = f"cannot create folder {target.parent}"
        raise NerkdError(f"cannot write {path}: {reason}") from None


def _keep_mode(target: Path, temp: str) -> None:
    """The new file gets the mode of the one it replaces (a 0640 file stays 0640), or a new
    file's mode."""
    try:
        os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
    except FileNotFoundError:
        as_created(temp)


def as_created(path: str | Path) -> None:
    """Give a file the mode a plain ``open`` would have (0666 less the umask): temporary
    files, and safetensors' own writes, are private (0600), which would lock others out of
    an output or a model directory meant to be shared."""
    os.chmod(path, 0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def file_digest(path: str | Path) -> str | None:
    """``sha256:<hex>`` of a file's bytes, recorded beside trained models; None for stdin and
    anything else that cannot be read twice (a FIFO, ``<(command)``): opening it again would
    wait for a writer that never comes."""
    if str(path) == STDIO or not Path(path).is_file():
        return None
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"
