"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's server, Ollama) through the
``openai`` client. JSON mode is chosen by capability: ``json_schema``, else ``json_object``
with a ``schema`` field (llama.cpp's server takes that and answers 500 to ``json_schema``),
else plain text; what worked is remembered for the rest of the run. A mode counts as
unsupported only when the server says so (400 or 422, or a 5xx whose body names
``response_format``); any other 5xx is transient and retried in the same mode, so a
server's hiccup at start-up cannot cost the whole run its JSON mode."""

from __future__ import annotations

import asyncio
import email.utils
import os
import time
from typing import Any

from nerkd.core.teachers import Completion, Refused, Retryable, TeacherError

MODES = ("json_schema", "json_object", "text")


class OpenAITeacher:
    backend = "openai"

    def __init__(self, model: str | None, base_url: str | None, timeout: float = 60.0) -> None:
        import openai  # noqa: F401  (here, not in the first request: importing takes ~0.8 s)

        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not model:
            raise TeacherError("the openai backend needs --model")
        self.model, self.where = model, _public(base_url or "https://api.openai.com/v1")
        _check_url(base_url)
        self._base_url, self._timeout = base_url, timeout
        self._client: Any = None  # made in the running event loop
        self._mode: str | None = None  # settled after the first success

    def _connection(self) -> Any:
        from openai import AsyncOpenAI

        if self._client is None:
            # Local servers want no key; the client insists on one, so pass a placeholder.
            key = _key() or "no-key"
            self._client = AsyncOpenAI(base_url=self._base_url, api_key=key,
                                       timeout=self._timeout, max_retries=0)
        return self._client

    async def aclose(self) -> None:
        """Close connections before their event loop goes away."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(self, messages: list[dict[str, str]], *, temperature: float,
                       max_tokens: int, schema: dict[str, Any] | None,
                       seed: int | None) -> Completion:
        modes = [self._mode] if self._mode else list(MODES) if schema else ["text"]
        for mode in modes:
            try:
                response = await self._create(messages, temperature, max_tokens, schema, seed,
                                              mode)
            except _Rejected:
                continue
            if schema is not None:  # a request without a schema says nothing of JSON modes
                self._mode = mode
            return _completion(response)
        raise TeacherError(f"{self.where} rejected every JSON mode")

    async def _create(self, messages: list[dict[str, str]], temperature: float, max_tokens: int,
                      schema: dict[str, Any] | None, seed: int | None, mode: str) -> Any:
        import openai

        options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if seed is not None:
            options["seed"] = seed
        if mode == "json_schema":
            options["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "entities", "schema": schema, "strict": False}}
        elif mode == "json_object":
            options["response_format"] = {"type": "json_object", "schema": schema}
        body = {"model": self.model, "messages": messages, **options}
        try:
            # post() rather than chat.completions.create(), and a plain dict back: the typed
            # call walks every message and schema on the way out and builds models on the
            # way in (~2.5 ms a call here), and both sides are plain JSON.
            # The client's timeout bounds each wait for bytes; wait_for bounds the request (a
            # server that trickles padding would otherwise hold it as long as it likes).
            return await asyncio.wait_for(
                self._connection().post("/chat/completions", body=body, cast_to=dict),
                self._timeout)
        except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
            raise Retryable("timeout") from None
        except openai.APIStatusError as error:
            if self._mode is None and mode != "text" and _refuses_mode(error):
                raise _Rejected() from error
            raise _map(error) from None
        except openai.OpenAIError as error:
            raise _map(error) from None
        except ValueError as error:  # a body that is not JSON
            raise Retryable(f"unreadable response: {type(error).__name__}") from None


class _Rejected(Exception):
    """The server does not support the JSON mode asked for."""


def _refuses_mode(error: Any) -> bool:
    """Whether a status error says the server cannot do what was asked: a 400 or 422, or a
    5xx whose body names ``response_format`` (llama-cpp-python's server answers a JSON mode
    it does not know with a 500 validation error). Other 5xx are transient."""
    if error.status_code in (400, 422):
        return not _too_long(error)  # the same in every mode: asking in the others is waste
    return error.status_code >= 500 and "response_format" in str(error.body)


def _too_long(error: Any) -> bool:
    """Whether a refusal is for the request's length: OpenAI and vLLM say "maximum context
    length", llama.cpp's server "exceeds the available context size"."""
    body = getattr(error, "body", None)
    code = body.get("code") if isinstance(body, dict) else None
    return code == "context_length_exceeded" or "context" in _message(error).lower()


def _without_key(text: str) -> str:
    """``text`` with the API key taken out: some servers and proxies quote it back in their
    error messages ("Incorrect API key provided: sk-...")."""
    key = _key()
    return text.replace(key, "[the API key]") if len(key) >= 8 else text


def _key() -> str:
    """``OPENAI_API_KEY`` without the spaces or line end a key file leaves (an HTTP header
    cannot carry them: the request failed as "connection error")."""
    return os.environ.get("OPENAI_API_KEY", "").strip()


def _check_url(url: str | None) -> None:
    """A base URL the client cannot use, said without its parts (the client's own message
    quotes the password: "Invalid port: 'hunt'")."""
    import httpx

    if url is None:
        return
    try:
        usable = httpx.URL(url).scheme in ("http", "https")
    except (httpx.InvalidURL, TypeError, ValueError):
        usable = False
    if not usable:
        raise TeacherError(f"the base URL {_public(url)} is not usable: it takes http:// or "
                           "https://, a host, an optional port and a path")


def _public(url: str) -> str:
    """A base URL fit for messages: a user, password, query or fragment (where keys are
    sometimes put) left out. An @ past the host (a password holding / or #, or a key in the
    query) leaves only the scheme: which part is secret cannot be told."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    host, tail = rest[:end].rpartition("@")[2], rest[end:]
    if "@" in tail:
        return f"{scheme}{separator}(address not shown: it holds an @)"
    return f"{scheme}{separator}{host}{tail.partition('?')[0].partition('#')[0]}"


def _map(error: Exception) -> Exception:
    """The client's exceptions as ours (retryable or not), without the request's headers."""
    import openai

    if isinstance(error, openai.APITimeoutError):
        return Retryable("timeout")
    if isinstance(error, openai.APIConnectionError):
        return Retryable(f"connection failed: {_without_key(str(error))}", connection=True)
    if isinstance(error, openai.RateLimitError):
        return Retryable("rate limited (429)", _retry_after(error))
    if isinstance(error, openai.APIStatusError) and error.status_code >= 500:
        return Retryable(f"server error ({error.status_code})", _retry_after(error))
    if isinstance(error, openai.APIStatusError):
        refusal = Refused if error.status_code in (400, 413, 422) else TeacherError
        return refusal(f"the server refused the request ({error.status_code}): "
                       f"{_message(error)}")
    return Retryable(f"unreadable response: {type(error).__name__}")


def _retry_after(error: Any) -> float | None:
    """Seconds the server asked to wait: OpenAI's ``retry-after-ms``, else ``Retry-After`` as
    seconds or as an HTTP date."""
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    message = str(error)
    if isinstance(body, dict):
        inner = body.get("error")
        message = str(body.get("message") or (inner.get("message", "") if isinstance(
            inner, dict) else inner or ""))
    return _without_key(message)[:200]


def _completion(response: Any) -> Completion:
    """The answer and token counts of a chat-completion body, read defensively."""
    try:
        choice = response["choices"][0]
        answer = choice["message"].get("content") or ""
    except (TypeError, KeyError, IndexError, AttributeError):
        raise Retryable("no answer in the response") from None
    usage = response.get("usage") or {}
    return Completion(answer=str(answer), prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0),
                      truncated=choice.get("finish_reason") == "length")
