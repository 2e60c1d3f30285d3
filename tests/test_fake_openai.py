"""The fake OpenAI-protocol server, driven through the real ``openai`` client."""

from __future__ import annotations

import json
import socket
import threading
import time

import openai
import pytest

from fake_openai import (
    FakeOpenAI,
    Fault,
    answer_from,
    default_answer,
    fixed_answer,
    text_to_annotate,
)

SENTENCE = "Peter Smith flew from London to Paris for Acme Corp."
SCHEMA = {"type": "object", "properties": {"entities": {"type": "array"}},
          "required": ["entities"]}


def _client(server: FakeOpenAI, timeout: float = 5.0) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0,
                         timeout=timeout)


def _ask(client: openai.OpenAI, text: str = SENTENCE, **options):
    messages = [{"role": "system", "content": "You annotate named entities."},
                {"role": "user", "content": f"Find the entities.\n\nText: {text}"}]
    return client.chat.completions.create(model=options.pop("model", "teacher-x"),
                                          messages=messages, **options)


def _pairs(content: str) -> list[tuple[str, str]]:
    return [(e["text"], e["label"]) for e in json.loads(content)["entities"]]


@pytest.fixture
def server():
    with FakeOpenAI() as running:
        yield running


# -- answers ------------------------------------------------------------------------------


def test_default_answer_through_the_client(server):
    response = _ask(_client(server), model="my-teacher")
    [choice] = response.choices
    assert _pairs(choice.message.content) == [("Peter Smith", "PER"), ("London", "LOC"),
                                              ("Paris", "LOC"), ("Acme Corp", "ORG")]
    assert choice.message.role == "assistant" and choice.finish_reason == "stop"
    assert response.object == "chat.completion" and response.id.startswith("chatcmpl-")
    assert response.model == "my-teacher" and server.requests[-1]["model"] == "my-teacher"
    usage = response.usage
    assert usage.prompt_tokens == len("You annotate named entities.".split()) + len(
        f"Find the entities.\n\nText: {SENTENCE}".split())
    assert usage.completion_tokens == len(choice.message.content.split()) > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.parametrize(("text", "expected"), [
    ("The EU rejected the plan on Monday.", [("EU", "ORG"), ("Monday", "MISC")]),
    ("Mary visited New York and Germany.",
     [("Mary", "PER"), ("New York", "LOC"), ("Germany", "LOC")]),
    ("Yesterday Mary left.", [("Yesterday Mary", "PER")]),  # maximal runs, like a sloppy LLM
    ("London is big. Paris is not.", [("London", "LOC"), ("Paris", "LOC")]),
    ("Reuters reported that Angela Merkel met officials of Deutsche Bank.",
     [("Reuters", "ORG"), ("Angela Merkel", "PER"), ("Deutsche Bank", "ORG")]),
    ("Fans of Real Madrid cheered in Rome , Italy .",
     [("Real Madrid", "MISC"), ("Rome", "LOC"), ("Italy", "LOC")]),
    ("nothing capitalised here at all", []),
])
def test_default_answer_rules(text, expected):
    messages = [{"role": "user", "content": f"Text: {text}"}]
    assert _pairs(default_answer(messages)) == expected


def test_default_answer_reads_the_last_user_message_after_the_last_text_marker():
    messages = [{"role": "user", "content": "Text: Mary was here."},
                {"role": "assistant", "content": "{}"},
                {"role": "user", "content": "Label it.\nText: not this\nText:   John left."},
                {"role": "assistant", "content": "Text: Paris"}]
    assert text_to_annotate(messages) == "John left."
    assert _pairs(default_answer(messages)) == [("John", "PER")]
    whole = [{"role": "user", "content": "John went to Berlin."}]
    assert _pairs(default_answer(whole)) == [("John", "PER"), ("Berlin", "LOC")]


def test_default_answer_fits_nerkds_own_prompt():
    from nerkd.core.prompt import PromptBuilder

    messages = PromptBuilder().messages("John met Angela in Berlin.")
    assert _pairs(default_answer(messages)) == [("John", "PER"), ("Angela", "PER"),
                                                ("Berlin", "LOC")]


def test_n_gives_n_choices(server):
    response = _ask(_client(server), n=3)
    assert [c.index for c in response.choices] == [0, 1, 2]
    assert len({c.message.content for c in response.choices}) == 1
    assert response.usage.completion_tokens == 3 * len(
        response.choices[0].message.content.split())


def test_answer_factories():
    mapping = answer_from({"Mary": '{"entities": []}', "John": "john"}, default="other")
    with FakeOpenAI(answer=mapping) as server:
        client = _client(server)
        assert _ask(client, "Mary and John").choices[0].message.content == '{"entities": []}'
        assert _ask(client, "John alone").choices[0].message.content == "john"
        assert _ask(client, "Nobody").choices[0].message.content == "other"
    fallback = answer_from({"HACKED": "x"})
    assert fallback([{"role": "user", "content": "Text: Paris"}]) == default_answer(
        [{"role": "user", "content": "Text: Paris"}])
    with FakeOpenAI(answer=fixed_answer("always this")) as server:
        assert _ask(_client(server)).choices[0].message.content == "always this"


def test_a_failing_answer_callable_is_a_500_not_a_hang():
    answers = iter(["first"])
    with FakeOpenAI(answer=lambda messages: next(answers)) as server:
        client = _client(server, timeout=2)
        assert _ask(client).choices[0].message.content == "first"
        with pytest.raises(openai.InternalServerError, match="StopIteration"):
            _ask(client)


# -- protocol -----------------------------------------------------------------------------


def test_json_schema_unsupported_is_a_500_and_json_object_still_works():
    with FakeOpenAI(json_schema_supported=False, faults=[Fault("500")]) as server:
        client = _client(server)
        schema_format = {"type": "json_schema",
                         "json_schema": {"name": "entities", "schema": SCHEMA}}
        with pytest.raises(openai.InternalServerError) as caught:
            _ask(client, response_format=schema_format)
        assert caught.value.status_code == 500
        assert server.faults[0].times == 1  # a refusal consumes no fault
        with pytest.raises(openai.InternalServerError):
            _ask(client, response_format={"type": "json_object"})  # now the fault
        response = _ask(client, response_format={"type": "json_object"})
        assert _pairs(response.choices[0].message.content)[0] == ("Peter Smith", "PER")
    kinds = [r.get("response_format", {}).get("type") for r in server.requests]
    assert kinds == ["json_schema", "json_object", "json_object"]


def test_json_object_unsupported_is_a_400():
    with FakeOpenAI(json_object_supported=False) as server:
        client = _client(server)
        with pytest.raises(openai.BadRequestError) as caught:
            _ask(client, response_format={"type": "json_object"})
        assert caught.value.status_code == 400
        schema_format = {"type": "json_schema",
                         "json_schema": {"name": "entities", "schema": SCHEMA}}
        assert _ask(client, response_format=schema_format).choices[0].message.content


def test_streaming_is_refused(server):
    with pytest.raises(openai.BadRequestError, match="streaming"):
        _ask(_client(server), stream=True)
    assert server.requests[-1]["stream"] is True


def test_models_and_unknown_paths(server):
    client = _client(server)
    assert [m.id for m in client.models.list()] == ["fake-teacher"]
    assert client.models.retrieve("fake-teacher").id == "fake-teacher"
    with pytest.raises(openai.NotFoundError):
        client.get("/no/such/path", cast_to=object)
    with pytest.raises(openai.NotFoundError):
        client.post("/completions", body={"model": "m", "prompt": "x"}, cast_to=object)
    assert server.requests == []  # only chat completions are recorded


# -- faults -------------------------------------------------------------------------------


def test_429_has_retry_after_and_is_consumed():
    with FakeOpenAI(faults=[Fault("429"), Fault("429", retry_after=0.25)]) as server:
        client = _client(server)
        for expected in ("1", "0.25"):
            with pytest.raises(openai.RateLimitError) as caught:
                _ask(client)
            assert caught.value.status_code == 429
            assert caught.value.response.headers["retry-after"] == expected
            assert caught.value.body["code"] == "rate_limit_exceeded"
        assert _ask(client).choices[0].message.content.startswith('{"entities"')
    assert len(server.requests) == 3


def test_500_fault():
    with FakeOpenAI(faults=[Fault("500")]) as server:
        client = _client(server)
        with pytest.raises(openai.InternalServerError) as caught:
            _ask(client)
        assert caught.value.status_code == 500 and caught.value.body["type"] == "server_error"
        assert _ask(client).choices


def test_malformed_body_raises_json_decode_error_from_the_client():
    # The openai client parses an application/json body with response.json() and lets the
    # decoder's error through unwrapped: a ValueError, not an openai.OpenAIError.
    with FakeOpenAI(faults=[Fault("malformed")]) as server:
        client = _client(server)
        with pytest.raises(json.JSONDecodeError) as caught:
            _ask(client)
        assert not isinstance(caught.value, openai.OpenAIError)
        assert _ask(client).choices


def test_garbage_is_a_valid_completion_whose_content_is_not_json():
    with FakeOpenAI(faults=[Fault("garbage", times=2)]) as server:
        client = _client(server)
        for _ in range(2):
            content = _ask(client).choices[0].message.content
            assert content
            with pytest.raises(json.JSONDecodeError):
                json.loads(content)
        assert _pairs(_ask(client).choices[0].message.content)


def test_timeout_fault_trips_the_client_timeout_quickly():
    with FakeOpenAI(faults=[Fault("timeout", seconds=5)]) as server:
        client = _client(server, timeout=0.5)
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            _ask(client)
        assert time.perf_counter() - started < 2.0
        assert _ask(client).choices  # the sleeping handler blocks nobody else
        started = time.perf_counter()
    assert time.perf_counter() - started < 1.0  # stop() wakes the sleeping handler


def test_timeout_fault_answers_normally_when_the_client_waits():
    with FakeOpenAI(faults=[Fault("timeout", seconds=0.3)]) as server:
        started = time.perf_counter()
        response = _ask(_client(server, timeout=5))
        assert time.perf_counter() - started >= 0.3
        assert _pairs(response.choices[0].message.content)[0] == ("Peter Smith", "PER")


def test_match_makes_only_matching_requests_fail():
    faults = [Fault("500", match="Mary", times=2), Fault("429", match="Berlin")]
    with FakeOpenAI(faults=faults) as server:
        client = _client(server)
        assert _ask(client, "John left.").choices
        with pytest.raises(openai.InternalServerError):
            _ask(client, "Mary said nothing.")
        assert _ask(client, "Angela smiled.").choices
        with pytest.raises(openai.InternalServerError):
            _ask(client, "Mary said nothing.")
        with pytest.raises(openai.RateLimitError):
            _ask(client, "John met Angela in Berlin.")
        assert _pairs(_ask(client, "Mary said nothing.").choices[0].message.content) == [
            ("Mary", "PER")]
        assert _ask(client, "John met Angela in Berlin.").choices
    assert [f.times for f in faults] == [0, 0]


def test_match_is_against_the_last_user_message_only():
    with FakeOpenAI(faults=[Fault("500", match="Mary")]) as server:
        client = _client(server)
        messages = [{"role": "user", "content": "Text: Mary was here."},
                    {"role": "assistant", "content": "{}"},
                    {"role": "user", "content": "Text: John was here."}]
        assert client.chat.completions.create(model="m", messages=messages).choices
        assert server.faults[0].times == 1


def test_unknown_fault_kind_is_rejected():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("503")
    assert Fault(429).kind == "429"


# -- concurrency and lifecycle -----------------------------------------------------------


def test_latency_is_served_concurrently():
    with FakeOpenAI(latency=0.2) as server:
        client = _client(server)
        started = time.perf_counter()
        _ask(client)
        assert time.perf_counter() - started >= 0.2
        results: list[str] = []
        errors: list[BaseException] = []

        def one(i: int) -> None:
            try:
                results.append(_ask(client, f"Item {i}: John went to Paris.").id)
            except BaseException as error:  # reported below
                errors.append(error)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    assert not errors and len(set(results)) == 10
    assert 0.2 <= elapsed < 1.0  # serial would take 2 s
    assert len(server.requests) == 11


def test_stop_closes_the_port():
    server = FakeOpenAI().start()
    client = _client(server, timeout=2)
    assert _ask(client).choices  # leaves a keep-alive connection open
    port = server.port
    server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port),
                                                                          timeout=1):
        pass
    with pytest.raises(openai.APIConnectionError):
        _ask(client)
    server.stop()  # idempotent
    assert server.base_url == f"http://127.0.0.1:{port}/v1"


def test_servers_get_distinct_free_ports():
    with FakeOpenAI() as first, FakeOpenAI() as second:
        assert first.port != second.port
        assert _ask(_client(first)).choices and _ask(_client(second)).choices
    with pytest.raises(RuntimeError, match="not been started"):
        _ = FakeOpenAI().base_url
