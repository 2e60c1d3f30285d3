"""A local OpenAI-protocol server for tests and benchmarks: deterministic answers that we
control, and faults on demand (latency, 429 with Retry-After, 500, timeouts, malformed
bodies, garbage answers). Standard library only; the real ``openai`` client talks to it."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIRST_NAMES = {"John", "Peter", "Mary", "Angela", "Bob"}
ORG_ENDINGS = {"Corp", "Inc", "Ltd", "Bank", "Union"}
ORGS = {"EU", "UN", "Reuters"}
PLACES = {"London", "Paris", "Germany", "France", "Britain", "Berlin", "New York", "Iraq"}
_CAPITALISED = re.compile(r"[A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*")


def _text_of(messages: list[dict]) -> str:
    last = messages[-1]["content"] if messages else ""
    return last.rsplit("Text:", 1)[-1].strip()


def default_answer(messages: list[dict]) -> str:
    """A rule-based teacher: runs of capitalised words, typed by small word lists."""
    text = _text_of(messages)
    entities = []
    for match in _CAPITALISED.finditer(text):
        run, words = match.group(), match.group().split()
        label = _label(run, words)
        if label is None:
            continue
        entities.append({"text": run, "label": label})
    return json.dumps({"entities": entities})


def _label(run: str, words: list[str]) -> str | None:
    if FIRST_NAMES & set(words):
        return "PER"
    if words[-1] in ORG_ENDINGS or run in ORGS:
        return "ORG"
    if run in PLACES:
        return "LOC"
    if len(words) == 1 and words[0] in {"The", "A", "He", "She", "It", "Item", "Word"}:
        return None
    return "MISC"


def fixed_answer(content: str) -> Callable[[list[dict]], str]:
    return lambda messages: content


def answer_from(mapping: dict[str, str],
                default: Callable[[list[dict]], str] = default_answer) -> Callable[..., str]:
    """The content of the first key found in the text, else ``default``'s answer."""
    def answer(messages: list[dict]) -> str:
        text = _text_of(messages)
        return next((v for k, v in mapping.items() if k in text), None) or default(messages)

    return answer


@dataclass
class Fault:
    """``kind``: 429, 500, timeout, malformed or garbage; applied to ``times`` requests whose
    text contains ``match`` (any request when None)."""

    kind: str
    match: str | None = None
    times: int = 1
    retry_after: float = 1.0
    seconds: float = 5.0


@dataclass
class FakeOpenAI:
    answer: Callable[[list[dict]], str] = default_answer
    latency: float = 0.0
    json_schema_supported: bool = True
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeOpenAI:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def take_fault(self, body: dict) -> Fault | None:
        text = _text_of(body.get("messages", []))
        with self._lock:
            self.requests.append(body)
            for fault in self.faults:
                if fault.times > 0 and (fault.match is None or fault.match in text):
                    fault.times -= 1
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm holds
        # the body back for the client's delayed ACK (~40 ms a request on keep-alive).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "fake-teacher",
                                                         "object": "model"}]})
        else:
            self._json(404, _error("not found"))

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._json(404, _error("not found"))
        fault = self.fake.take_fault(body)
        time.sleep(self.fake.latency)
        if fault is not None and fault.kind != "garbage":
            return self._fault(fault, body)
        kind = (body.get("response_format") or {}).get("type")
        if kind == "json_schema" and not self.fake.json_schema_supported:
            return self._json(500, _error("json_schema is not supported"))
        if body.get("stream"):
            return self._json(400, _error("streaming is not supported here"))
        answer = "Sorry, I can't do that right now!" if fault else None
        self._json(200, _completion(body, self.fake.answer, answer))

    def _fault(self, fault: Fault, body: dict) -> None:
        if fault.kind == "429":
            self._json(429, _error("rate limited"), {"Retry-After": str(fault.retry_after)})
        elif fault.kind == "500":
            self._json(500, _error("internal error"))
        elif fault.kind == "timeout":
            time.sleep(fault.seconds)
            self._json(200, _completion(body, self.fake.answer, None))
        elif fault.kind == "malformed":
            self._raw(200, b'{"id": "x", "choices": [{"mess')

    def _json(self, status: int, obj: dict, headers: dict | None = None) -> None:
        self._raw(status, json.dumps(obj).encode(), headers)

    def _raw(self, status: int, data: bytes, headers: dict | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "fake_error", "code": None}}


def _completion(body: dict, answer: Callable[[list[dict]], str], fixed: str | None) -> dict:
    messages = body.get("messages", [])
    choices = []
    for index in range(int(body.get("n") or 1)):
        content = fixed if fixed is not None else answer(messages)
        choices.append({"index": index, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": content}})
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    completion_tokens = sum(len(c["message"]["content"].split()) for c in choices)
    return {"id": f"chatcmpl-{len(messages)}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", "fake-teacher"),
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def main() -> None:
    """Serve from a separate process: ``python tests/fake_openai.py --latency 0.2`` prints the
    base URL on stdout, then serves until killed (benchmarks keep the GIL to themselves)."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAI(latency=args.latency).start()
    print(server.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
