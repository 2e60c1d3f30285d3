"""The teacher protocol and its backends. Core knows no vendor: a backend turns chat
messages into answers and maps its own failures to ``Retryable`` or ``TeacherError``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from nerkd.core.errors import NerkdError


@dataclass
class Completion:
    answer: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    truncated: bool = False  # the answer stopped at max_tokens (finish_reason "length")


class TeacherError(NerkdError):
    """A failure that retrying will not mend (bad key, unknown model, unreachable server)."""


class Refused(TeacherError):
    """The server refused this one request (a 400, 413 or 422: too long for the model's
    context, filtered), not the run: its record is left out and reported."""


class Retryable(Exception):
    """A failure worth retrying (timeout, 429, 5xx); ``retry_after`` is the server's wish."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 connection: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.retry_after, self.connection = reason, retry_after, connection


class Teacher(Protocol):
    """Anything that answers chat messages."""

    backend: str
    model: str
    where: str  # for messages: a URL or a file, never a key

    async def complete(self, messages: list[dict[str, str]], *, temperature: float,
                       max_tokens: int, schema: dict[str, Any] | None,
                       seed: int | None) -> Completion: ...


def make_teacher(backend: str, model: str | None = None, base_url: str | None = None,
                 timeout: float = 60.0, seed: int = 0) -> Teacher:
    """A teacher by backend name; heavy clients are imported only here."""
    if backend == "openai":
        from nerkd.core.teachers.openai_teacher import OpenAITeacher

        return OpenAITeacher(model, base_url, timeout)
    if backend == "llamacpp":
        from nerkd.core.teachers.llamacpp_teacher import LlamaCppTeacher

        return LlamaCppTeacher(model, seed=seed)
    raise NerkdError(f"unknown teacher backend {backend!r} (openai or llamacpp)")
