"""The call log: every teacher call in SQLite, keyed by a hash of what was asked.

It is the cache (an answered request is never paid for twice), the resume journal (a run
killed at any point re-asks only what was never answered) and the audit trail (prompt,
answer, tokens, latency). It never stores API keys: nothing in a request carries one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nerkd.core.errors import NerkdError

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    answers TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    latency REAL NOT NULL,
    created REAL NOT NULL
)
"""


def default_path() -> Path:
    """``$NERKD_HOME/calls.sqlite``, else under ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    home = os.environ.get("NERKD_HOME")
    if home:
        return Path(home) / "calls.sqlite"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "nerkd" / "calls.sqlite"


def call_key(backend: str, model: str, messages: list[dict], params: dict[str, Any]) -> str:
    """Content hash of a request: same question, same key, whatever the run."""
    payload = json.dumps([backend, model, messages, params], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class CallLog:
    """SQLite-backed store of answered calls; commits after every answer."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Each answer is committed as it comes; NORMAL keeps every commit through a crash
            # or kill -9 (not a power cut) without an fsync that would stall the event loop.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise NerkdError(f"cannot open the call log: {error}", str(self.path)) from None

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT answers, prompt_tokens, completion_tokens FROM calls WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        return {"answers": json.loads(row[0]), "prompt_tokens": row[1],
                "completion_tokens": row[2]}

    def put(self, key: str, backend: str, model: str, request: dict[str, Any],
            answers: list[str], prompt_tokens: int, completion_tokens: int,
            latency: float) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, backend, model, json.dumps(request, ensure_ascii=False), json.dumps(answers),
             prompt_tokens, completion_tokens, latency, time.time()),
        )

    def put_many(self, rows: Sequence[tuple[str, str, str, dict[str, Any], list[str]]]) -> None:
        """(key, backend, model, request, answers) rows in one transaction: a model teacher
        answers thousands a second, too many for a commit each. No tokens, no latency."""
        if not rows:
            return
        now = time.time()
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO calls VALUES (?, ?, ?, ?, ?, 0, 0, 0.0, ?)",
            [(key, backend, model, json.dumps(request, ensure_ascii=False), json.dumps(answers),
              now) for key, backend, model, request, answers in rows])
        self._db.execute("COMMIT")

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def close(self) -> None:
        self._db.close()
