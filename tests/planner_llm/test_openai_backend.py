"""OpenAIBackend against a local 127.0.0.1 server: the request it sends, the key, <think>
stripping, and clear errors for an unreachable server, HTTP errors and malformed answers."""

from __future__ import annotations

import json
import time

import pytest

from adcut.core.errors import BadInputError, DependencyError
from adcut.planner.backends import (
    HFBackend,
    OpenAIBackend,
    build_chat_request,
    check_backend,
    load_backend,
    parse_chat_response,
)
from tests.planner_llm import serve


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    monkeypatch.delenv("ADCUT_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_request_body_and_auth_header(monkeypatch):
    monkeypatch.setenv("ADCUT_LLM_API_KEY", "sk-adcut")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    with serve(["1,2"]) as srv:
        backend = OpenAIBackend(srv.url + "/", "tiny-chat", extra_body={"seed": 7})
        assert backend.name == "openai:tiny-chat"
        assert backend.complete("pick clips", max_tokens=33) == "1,2"
    method, path, auth, body = srv.requests[0]
    assert (method, path, auth) == ("POST", "/v1/chat/completions", "Bearer sk-adcut")
    assert body["model"] == "tiny-chat"
    assert body["messages"] == [{"role": "user", "content": "pick clips"}]
    assert body["temperature"] == 0
    assert body["max_tokens"] == 33
    assert body["seed"] == 7  # extra_body reaches the server


def test_key_falls_back_to_openai_env_and_is_optional(monkeypatch):
    with serve(["ok"]) as srv:
        OpenAIBackend(srv.url, "m").complete("hi")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
        OpenAIBackend(srv.url, "m").complete("hi")
        monkeypatch.setenv("MY_KEY", "sk-mine")
        OpenAIBackend(srv.url, "m", api_key_env="MY_KEY").complete("hi")
    assert [r[2] for r in srv.requests] == [None, "Bearer sk-openai", "Bearer sk-mine"]


@pytest.mark.parametrize("content, answer", [
    ("<think>clip 9 looks good... 9,9</think>\n\n3,1", "3,1"),
    ("<think>\n\n</think>\n\n第一句\n第二句", "第一句\n第二句"),
    ("reasoning without an opening tag</think>2", "2"),
    ("4,5<think>cut off while thinking", "4,5"),
])
def test_think_blocks_are_stripped(content, answer):
    with serve([content]) as srv:
        assert OpenAIBackend(srv.url, "m").complete("q") == answer


def test_content_parts_and_null_content():
    payload = {"choices": [{"message": {"content": [{"type": "text", "text": "1,"}, {"type": "text", "text": "2"}]}}]}
    assert parse_chat_response(payload) == "1,2"
    # All tokens spent on reasoning: an empty answer (the planner then retries), not a crash.
    assert parse_chat_response({"choices": [{"message": {"content": None, "reasoning_content": "…"}}]}) == ""
    with pytest.raises(ValueError):
        parse_chat_response({"choices": []})
    body = build_chat_request("m", "p", 10, {"temperature": 0.5})
    assert body["temperature"] == 0.5  # the user's explicit server options win


def test_unreachable_url_fails_fast_naming_it():
    url = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
    backend = OpenAIBackend(url, "m", timeout_s=30)
    start = time.monotonic()
    with pytest.raises(DependencyError) as exc:
        backend.check()
    assert "LLM server URL is unreachable" in exc.value.message and url in exc.value.message
    with pytest.raises(DependencyError) as exc:
        check_backend(backend)
    with pytest.raises(DependencyError) as exc:
        backend.complete("q")
    assert "unreachable" in exc.value.message and "127.0.0.1:9" in exc.value.message
    assert time.monotonic() - start < 5


def test_check_lists_models_and_sends_the_key(monkeypatch):
    monkeypatch.setenv("ADCUT_LLM_API_KEY", "sk-adcut")
    with serve(["x"]) as srv:
        assert OpenAIBackend(srv.url, "tiny-chat").check() == ["tiny-chat"]
    assert srv.requests == [("GET", "/v1/models", "Bearer sk-adcut", None)]


def test_http_500_is_a_clear_error():
    with serve([(500, b'{"error": "CUDA out of memory"}')]) as srv:
        with pytest.raises(DependencyError) as exc:
            OpenAIBackend(srv.url, "m").complete("q")
    msg = exc.value.message
    assert "HTTP 500" in msg and srv.url + "/chat/completions" in msg and "CUDA out of memory" in msg


def test_http_401_hints_at_the_key_variable():
    with serve([(401, b"unauthorized")]) as srv:
        with pytest.raises(DependencyError) as exc:
            OpenAIBackend(srv.url, "m").complete("q")
    assert "HTTP 401" in exc.value.message and "ADCUT_LLM_API_KEY" in exc.value.hint


@pytest.mark.parametrize("raw, words", [
    (b"<html>Bad Gateway</html>", "did not answer JSON"),
    (b'{"choices": [{"text": "1,2"}]}', "choices[0].message"),
    (json.dumps({"error": {"message": "model not found"}}).encode(), "model not found"),
    (b'{"choices": [{"message": {"content": 12}}]}', "not text"),
])
def test_malformed_answers_are_clear_errors(raw, words):
    with serve([(200, raw)]) as srv:
        with pytest.raises(DependencyError) as exc:
            OpenAIBackend(srv.url, "m").complete("q")
    assert words in exc.value.message and srv.url in exc.value.message


def test_bad_arguments():
    with pytest.raises(BadInputError):
        OpenAIBackend("localhost:8000", "m")
    with pytest.raises(BadInputError):
        OpenAIBackend("http://localhost:8000/v1", "")


def test_load_backend_specs(tmp_path):
    backend = load_backend("openai http://localhost:8000/v1", model="Qwen/Qwen3-8B")
    assert isinstance(backend, OpenAIBackend)
    assert backend.url == "http://localhost:8000/v1" and backend.model == "Qwen/Qwen3-8B"
    hf = load_backend(f"hf {tmp_path}")
    assert isinstance(hf, HFBackend) and hf.name == f"hf:{tmp_path.name}"
    for spec, model in [("openai http://localhost:8000/v1", None), ("openai", "m"), ("hf", None),
                        (f"hf {tmp_path}", "m"), ("vllm http://x", "m"), ("", None)]:
        with pytest.raises(BadInputError):
            load_backend(spec, model=model)
