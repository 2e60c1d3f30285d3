"""The one exception type core raises for bad input; the CLI turns it into a one-line message."""

from __future__ import annotations


class NerkdError(Exception):
    """A user-facing error, optionally located at ``path:line``."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def located(self, path: str | None = None, line: int | None = None) -> NerkdError:
        """Return a copy with a location filled in where this one has none."""
        return NerkdError(self.message, self.path or path, self.line or line)

    def __str__(self) -> str:
        where = self.path or ""
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        return f"{where}: {self.message}" if where else self.message


class NerkdWarning(UserWarning):
    """Something surprising that we could handle; the CLI shows it as ``nerkd: warning:``."""
