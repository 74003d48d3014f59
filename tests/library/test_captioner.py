import base64

import pytest

from adcut.core.errors import BadInputError, DependencyError
from adcut.library.captioner import Captioner, build_caption_request, parse_caption_response


def test_request_carries_the_image_and_temperature_zero():
    body = build_caption_request("m", b"\xff\xd8jpeg")
    assert body["model"] == "m" and body["temperature"] == 0
    url = body["messages"][0]["content"][1]["image_url"]["url"]
    assert base64.b64decode(url.split(",", 1)[1]) == b"\xff\xd8jpeg"


def test_parse_response_variants():
    assert parse_caption_response({"choices": [{"message": {"content": " a  dog\n"}}]}) == "a dog"
    parts = {"choices": [{"message": {"content": [{"type": "text", "text": "a cat"}]}}]}
    assert parse_caption_response(parts) == "a cat"
    for bad in ({}, {"choices": []}, {"choices": [{"message": {"content": "  "}}]}):
        with pytest.raises(ValueError):
            parse_caption_response(bad)


def test_captioner_talks_to_an_openai_compatible_server(caption_server, monkeypatch):
    url, seen = caption_server
    monkeypatch.setenv("ADCUT_CAPTIONER_API_KEY", "sk-test")
    assert Captioner(url + "/", "vlm").caption(b"jpeg") == "a bottle on a table"
    path, auth, body = seen[0]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test" and body["model"] == "vlm"


def test_captioner_errors_name_the_url():
    with pytest.raises(BadInputError):
        Captioner("localhost:9", "m")
    with pytest.raises(DependencyError, match=r"127\.0\.0\.1:9/v1/chat/completions is unreachable"):
        Captioner("http://127.0.0.1:9/v1", "m", timeout_s=2).caption(b"x")
