"""`--planner "openai URL" --model NAME` finds out whether the server is vLLM serving a trained
adcut model (GET /v1/models says `owned_by: "vllm"`, POST /tokenize reads adcut's tokens as
single tokens) and then plans like `model URL`; every other server gets exactly the plain
chat requests. Against local 127.0.0.1 servers that answer like vLLM, or like others."""

from __future__ import annotations

import re

import pytest

from adcut.planner.backends import ADCUT_PROBE, VLLM_ADCUT_OPTIONS
from adcut.planner.llm import LLMPlanner
from adcut.planner.registry import load_planner
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    AudioCandidate,
    ClipRef,
    MusicTask,
    Product,
    SelectTask,
)
from tests.planner_llm import serve, vllm_model_card

PRODUCT = Product("Spark running shoe", "Spark", ["light"])
LINES = ["Fast on every road.", "Get yours today."]
PLAIN_BODY_KEYS = {"model", "messages", "temperature", "max_tokens", "stream"}


ADCUT_TOKEN = re.compile(r"<\|[a-z_]+\|>|<[va]_\d+_\d+>")


def adcut_tokenizer(prompt: str) -> int:
    """What vLLM's /tokenize counts for an adcut model: one token per adcut token, one per
    other character."""
    return len(ADCUT_TOKEN.findall(prompt)) + len(ADCUT_TOKEN.sub("", prompt))


def plain_tokenizer(prompt: str) -> int:
    """A plain model's tokenizer: adcut's tokens are split into pieces (about 3 characters)."""
    return max(1, len(prompt) // 3)


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    monkeypatch.delenv("ADCUT_LLM_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_vllm_serving_an_adcut_model_is_asked_like_model_url():
    clips = [ClipRef(number=1, tokens="<|clip_start|><|video_start|><|frame_start|>"
                     + "".join(f"<v_{lv}_5>" for lv in range(8)) + "<|frame_end|><|video_end|><|clip_end|>"),
             ClipRef(number=2, caption="a runner tying his laces"), ClipRef(number=3, caption="a shoe")]
    with serve(["1,3"], models=[vllm_model_card("adcut")], tokenize=adcut_tokenizer) as srv:
        planner = load_planner(f"openai {srv.url}", "adcut", language="en")
        assert isinstance(planner, LLMPlanner) and planner.track == TRACK_TOKENS
        assert planner.backend.adcut_model
        assert planner.select(SelectTask(PRODUCT, LINES, clips, n_select=2)).value == [1, 3]
    assert [(m, path) for m, path, _, _ in srv.requests] == [
        ("GET", "/v1/models"), ("POST", "/tokenize"), ("POST", "/v1/chat/completions")]
    assert srv.requests[1][3] == {"model": "adcut", "prompt": ADCUT_PROBE, "add_special_tokens": False}
    (body,) = srv.chats()
    assert {k: body[k] for k in VLLM_ADCUT_OPTIONS} == VLLM_ADCUT_OPTIONS and body["temperature"] == 0
    prompt = body["messages"][0]["content"]
    # the tokens track's prompt: clip 1 as its tokens, clips without tokens by their caption
    assert "each given as video tokens" in prompt and "1)<|clip_start|><|video_start|><|frame_start|><v_0_5>" in prompt
    assert "\n2)a runner tying his laces\n3)a shoe" in prompt


@pytest.mark.parametrize("models, tokenize", [
    ([{"id": "gpt-4o-mini", "object": "model", "created": 1, "owned_by": "system"}], None),  # OpenAI
    ([{"id": "qwen3:8b", "object": "model", "created": 1, "owned_by": "library"}], None),  # Ollama
    ([{"id": "model.gguf", "object": "model", "created": 1, "owned_by": "llamacpp", "meta": {}}], None),  # llama.cpp
    ([{"id": "tiny-chat"}], adcut_tokenizer),  # no owner said: not asked, even if it could answer
])
def test_other_servers_get_exactly_the_plain_requests(models, tokenize):
    name = models[0]["id"]
    with serve(["1,2"], models=models, tokenize=tokenize) as srv:
        planner = load_planner(f"openai {srv.url}", name, language="en")
        assert planner.track == TRACK_CAPTION and not planner.backend.adcut_model
        planner.select(SelectTask(PRODUCT, LINES, [ClipRef(1, "a shoe"), ClipRef(2, "a road")], n_select=2))
    assert [(m, path) for m, path, _, _ in srv.requests] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    (body,) = srv.chats()
    assert set(body) == PLAIN_BODY_KEYS and body["model"] == name


@pytest.mark.parametrize("tokenize", [plain_tokenizer, None])  # a plain model; a /tokenize that fails
def test_vllm_serving_a_plain_model_is_a_chat_model(tokenize):
    with serve(["1"], models=[vllm_model_card("Qwen/Qwen3-8B")], tokenize=tokenize) as srv:
        planner = load_planner(f"openai {srv.url}", "Qwen/Qwen3-8B", language="en")
        assert planner.track == TRACK_CAPTION and not planner.backend.adcut_model
        planner.music(MusicTask(PRODUCT, LINES, [ClipRef(1, "a shoe"), ClipRef(2, "a road")],
                                [AudioCandidate(1, "calm piano")]))
    (body,) = srv.chats()
    assert set(body) == PLAIN_BODY_KEYS
    assert [p for m, p, _, _ in srv.requests if m == "POST"] == ["/tokenize", "/v1/chat/completions"]


def test_model_url_stays_explicit_and_asks_nothing_more():
    with serve(["1,2"], models=[vllm_model_card("adcut")], tokenize=plain_tokenizer) as srv:
        planner = load_planner(f"model {srv.url}", "adcut", language="en")
        assert planner.track == TRACK_TOKENS and planner.backend.adcut_model
    assert [(m, path) for m, path, _, _ in srv.requests] == [("GET", "/v1/models")]
