"""A local OpenAI-protocol server for tests and benchmarks: deterministic answers that we
control, and faults on demand (latency, 429 with Retry-After, 500, timeouts, malformed
bodies, garbage answers). Standard library only; the real ``openai`` client talks to it.

    with FakeOpenAI(faults=[Fault("429", match="EU")]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)

A chat-completion request is handled in this order: its body is recorded in
``server.requests``; a request the server cannot serve (``stream``, a JSON mode it does not
support, no ``messages``) is refused without consuming a fault; otherwise the first fault
that applies is consumed; ``latency`` is slept; then the fault, or the answer, is sent.
"""

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

Answer = Callable[[list[dict]], str]

MODEL_ID = "fake-teacher"
FAULT_KINDS = ("429", "500", "400", "401", "timeout", "trickle", "malformed", "garbage")
GARBAGE = "Sure! Here are the entities you asked for: banana, telescope; purple (maybe)."
MALFORMED = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"mess'

# The rule-based teacher's word lists.
FIRST_NAMES = {"John", "Peter", "Mary", "Angela", "Bob", "Alice", "David", "Maria"}
ORG_ENDINGS = {"Corp", "Inc", "Ltd", "Bank", "Union", "Group", "Party"}
ORGS = {"EU", "UN", "NATO", "Reuters", "BBC", "FIFA"}
PLACES = {"London", "Paris", "Germany", "France", "Britain", "Berlin", "New York", "Iraq",
          "Washington", "Moscow", "Tokyo", "China", "Japan", "Russia", "Europe", "Spain",
          "Italy", "Rome", "Madrid", "United States"}
# Capitalised only because they open a sentence: dropped from the front of a run there.
SENTENCE_OPENERS = {"The", "A", "An", "In", "On", "At", "But", "And", "He", "She", "It", "They",
                    "We", "I", "This", "That", "After", "When", "If", "As"}
_WORD = re.compile(r"[^\W_](?:[\w'’-]|\.(?=\w))*")


def user_text(messages: list[dict]) -> str:
    """The content of the last ``user`` message ("" when there is none)."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _content(message)
    return ""


def text_to_annotate(messages: list[dict]) -> str:
    """What follows the last ``Text:`` of the last user message (all of it when absent)."""
    return user_text(messages).rsplit("Text:", 1)[-1].strip()


def default_answer(messages: list[dict]) -> str:
    """A deterministic rule-based teacher: each maximal run of capitalised words, typed by
    small word lists (PER, ORG, LOC, else MISC), as ``{"entities": [{text, label}]}``."""
    text = text_to_annotate(messages)
    return json.dumps({"entities": [{"text": run, "label": label}
                                    for run, label in _entities(text)]})


def _entities(text: str) -> list[tuple[str, str]]:
    entities = []
    for run in _runs(text):  # run: [(start, end, word), ...]
        initial = _sentence_initial(text, run[0][0])
        if initial and len(run) > 1 and run[0][2] in SENTENCE_OPENERS:
            run, initial = run[1:], False
        words = [word for _, _, word in run]
        label = _label(" ".join(words), words)
        if label == "MISC" and initial and len(run) == 1:
            continue  # capitalised only because it opens the sentence
        entities.append((text[run[0][0]:run[-1][1]], label))
    return entities


def _runs(text: str) -> list[list[tuple[int, int, str]]]:
    """Maximal runs of capitalised words separated by whitespace only."""
    runs: list[list[tuple[int, int, str]]] = []
    previous_end = None
    for match in _WORD.finditer(text):
        word = match.group()
        if not word[0].isupper():
            previous_end = None
            continue
        item = (match.start(), match.end(), word)
        if previous_end is not None and not text[previous_end:match.start()].strip():
            runs[-1].append(item)
        else:
            runs.append([item])
        previous_end = match.end()
    return runs


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip().rstrip("\"'“‘(")
    return not before or before[-1] in ".!?"


def _label(run: str, words: list[str]) -> str:
    if FIRST_NAMES & set(words):
        return "PER"
    if words[-1] in ORG_ENDINGS or run in ORGS:
        return "ORG"
    if run in PLACES:
        return "LOC"
    return "MISC"


def fixed_answer(text: str) -> Answer:
    """An answer that is always ``text``."""
    return lambda messages: text


def answer_from(mapping: dict[str, str], default: Answer | str = default_answer) -> Answer:
    """The value of the first key (in order) found in the last user message; else
    ``default`` (an answer callable, or fixed text)."""

    def answer(messages: list[dict]) -> str:
        message = user_text(messages)
        for key, value in mapping.items():
            if key in message:
                return value
        return default if isinstance(default, str) else default(messages)

    return answer


@dataclass
class Fault:
    """One injected failure: ``kind`` is 429, 500, 400 (too long for the model), 401 (the
    key refused, and quoted in the message), timeout,
    trickle (a space every 0.2 s for ``seconds``, then the answer), malformed or garbage; it
    applies
    to the next ``times`` requests whose last user message contains ``match`` (any request
    when None). ``retry_after``: the 429's Retry-After seconds; ``seconds``: a timeout's
    sleep before it answers normally."""

    kind: str
    match: str | None = None
    times: int = 1
    retry_after: float = 1.0
    seconds: float = 5.0

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")

    def applies_to(self, messages: list[dict]) -> bool:
        return self.times > 0 and (self.match is None or self.match in user_text(messages))


@dataclass
class FakeOpenAI:
    """A local OpenAI-protocol server: start() binds 127.0.0.1 on a free port."""

    answer: Answer = default_answer
    latency: float = 0.0
    json_schema_supported: bool = True  # False: json_schema gets 500, as llama.cpp's server
    json_object_supported: bool = True  # False: json_object gets 400
    usage: bool = True  # False: answers carry no token counts, as some servers send them
    faults: list[Fault] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._port: int | None = None
        self._served = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (kept after stop())."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return self._port

    def start(self) -> FakeOpenAI:
        """Serve on a free port in a background thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self})
        server = _Server(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server, self._port = server, server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-openai-{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port and every open connection; sleeping handlers wake and give up."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler -----------------------------------------------------------

    def _record(self, body: dict) -> None:
        with self._lock:
            self.requests.append(body)

    def _take_fault(self, messages: list[dict]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies_to(messages):
                    fault.times -= 1
                    return fault
        return None

    def _next_id(self) -> str:
        with self._lock:
            self._served += 1
            return f"chatcmpl-fake{self._served:06d}"

    def _sleep(self, seconds: float) -> bool:
        """Sleep; False when stop() interrupted it."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5: a client opening 32 connections at once
    # had the rest of its SYNs dropped and retried a second later, as no real server does.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"  # keep-alive, as the openai client expects

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm holds
        # the body back for the client's delayed ACK (~40 ms a request on keep-alive).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/v1/models":
            self._reply(200, {"object": "list", "data": [_model()]})
        elif path == f"/v1/models/{MODEL_ID}":
            self._reply(200, _model())
        else:
            self._reply(404, _error(f"unknown path {self.path}", "invalid_request_error",
                                    code="unknown_url"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?", 1)[0].rstrip("/") != "/v1/chat/completions":
            return self._reply(404, _error(f"unknown path {self.path}", "invalid_request_error",
                                           code="unknown_url"))
        try:
            body = json.loads(raw)
        except ValueError:
            return self._reply(400, _error("the request body is not valid JSON",
                                           "invalid_request_error"))
        if not isinstance(body, dict):
            return self._reply(400, _error("the request body must be an object",
                                           "invalid_request_error"))
        self.fake._record(body)
        refusal = self._refusal(body)
        if refusal is not None:
            return self._reply(*refusal)
        fault = self.fake._take_fault(body["messages"])
        if not self.fake._sleep(self.fake.latency):
            return self._drop()
        if fault is None:
            return self._answer(body, None)
        if fault.kind == "429":
            seconds = f"{fault.retry_after:g}"
            self._reply(429, _error("Rate limit reached (fake)", "requests",
                                    code="rate_limit_exceeded"), {"Retry-After": seconds})
        elif fault.kind == "500":
            self._reply(500, _error("The server had an error while processing your request "
                                    "(fake)", "server_error"))
        elif fault.kind == "400":
            self._reply(400, _error("This model's maximum context length is 10 tokens (fake)",
                                    "invalid_request_error", code="context_length_exceeded"))
        elif fault.kind == "401":  # quoting the key back, as OpenAI and some proxies do
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._reply(401, _error(f"Incorrect API key provided: {key}.",
                                    "invalid_request_error", code="invalid_api_key"))
        elif fault.kind == "timeout":
            if not self.fake._sleep(fault.seconds):
                return self._drop()
            self._answer(body, None)
        elif fault.kind == "trickle":
            self._trickle(json.dumps(_completion(body, self.fake.answer, None,
                                                 self.fake._next_id())).encode(), fault.seconds)
        elif fault.kind == "malformed":
            self._send(200, MALFORMED)
        else:  # garbage
            self._answer(body, GARBAGE)

    def _refusal(self, body: dict) -> tuple[int, dict] | None:
        """Why this server cannot serve the request, as (status, error body)."""
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return 400, _error("'messages' must be a non-empty list", "invalid_request_error",
                               param="messages")
        if body.get("stream"):
            return 400, _error("streaming is not supported by this server",
                               "invalid_request_error", param="stream")
        kind = (body.get("response_format") or {}).get("type", "text")
        if kind == "json_schema" and not self.fake.json_schema_supported:
            return 500, _error("response_format type json_schema is not supported",
                               "server_error")
        if kind == "json_object" and not self.fake.json_object_supported:
            return 400, _error("response_format type json_object is not supported",
                               "invalid_request_error", param="response_format")
        if kind not in ("text", "json_object", "json_schema"):
            return 400, _error(f"unknown response_format type {kind!r}",
                               "invalid_request_error", param="response_format")
        return None

    def _answer(self, body: dict, fixed: str | None) -> None:
        try:
            completion = _completion(body, self.fake.answer, fixed, self.fake._next_id())
            if not self.fake.usage:
                del completion["usage"]
        except Exception as error:  # a test's answer callable failed: say so, don't hang
            return self._reply(500, _error(f"the answer callable failed: {error!r}",
                                           "server_error"))
        self._reply(200, completion)

    def _reply(self, status: int, obj: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _send(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (a timeout) or stop() closed the connection
            self.close_connection = True

    def _trickle(self, data: bytes, seconds: float) -> None:
        """Padding a byte at a time before the answer, as some proxies keep a connection."""
        padding = max(1, int(seconds / 0.2))
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(padding + len(data)))
            self.end_headers()
            for _ in range(padding):
                self.wfile.write(b" ")
                self.wfile.flush()
                if not self.fake._sleep(0.2):
                    return self._drop()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _drop(self) -> None:
        self.close_connection = True


def _content(message: dict) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _words(text: str) -> int:
    return len(text.split())


def _limited(content: str, max_tokens: Any) -> tuple[str, str]:
    """The answer cut after ``max_tokens`` words (a word is a token here), as a server stops
    generating at the limit, with its finish reason."""
    if not isinstance(max_tokens, int) or _words(content) <= max_tokens:
        return content, "stop"
    ends = [m.end() for m in re.finditer(r"\S+", content)]
    return content[: ends[max_tokens - 1]] if max_tokens > 0 else "", "length"


def _model() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "nerkd-tests"}


def _error(message: str, kind: str, *, param: str | None = None,
           code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _completion(body: dict, answer: Answer, fixed: str | None, completion_id: str) -> dict:
    messages = body["messages"]
    choices = []
    for index in range(max(1, int(body.get("n") or 1))):
        content = fixed if fixed is not None else answer(messages)
        if not isinstance(content, str):
            content = json.dumps(content)
        content, finish = _limited(content, body.get("max_tokens"))
        choices.append({"index": index, "finish_reason": finish, "logprobs": None,
                        "message": {"role": "assistant", "content": content}})
    prompt_tokens = sum(_words(_content(m)) for m in messages if isinstance(m, dict))
    completion_tokens = sum(_words(c["message"]["content"]) for c in choices)
    return {"id": completion_id, "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model") or MODEL_ID, "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def main() -> None:
    """Serve from a separate process: ``python tests/fake_openai.py --latency 0.2`` prints the
    base URL on stdout, then serves until killed (benchmarks keep the GIL to themselves)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--no-json-schema", action="store_true",
                        help="answer json_schema requests with 500, as llama.cpp's server")
    args = parser.parse_args()
    server = FakeOpenAI(latency=args.latency,
                        json_schema_supported=not args.no_json_schema).start()
    print(server.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
