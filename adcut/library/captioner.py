"""Optional clip captions from a user-configured OpenAI-compatible vision endpoint.

Never used by default. The key comes from an environment variable (ADCUT_CAPTIONER_API_KEY,
else OPENAI_API_KEY); requests go only to the URL the user named.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from adcut.core.errors import BadInputError, DependencyError

DEFAULT_PROMPT = (
    "Describe this frame from raw advertising footage in one sentence: the subject, the "
    "product if any, the action and the setting. No preamble."
)


def build_caption_request(model: str, jpeg: bytes, prompt: str = DEFAULT_PROMPT) -> dict:
    """The chat-completions body asking for one caption of one image (pure)."""
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return {
        "model": model,
        "temperature": 0,
        "max_tokens": 80,
        "messages": [{
            "role": "user",
            "content": [
                {"type": "text", "text": prompt},
                {"type": "image_url", "image_url": {"url": data_url}},
            ],
        }],
    }


def parse_caption_response(body: dict) -> str:
    """The caption text from a chat-completions response (pure); raises ValueError if absent."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("response has no choices[0].message.content") from exc
    if isinstance(content, list):  # some servers return content parts
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    text = " ".join(str(content).split())
    if not text:
        raise ValueError("empty caption")
    return text


@dataclass
class Captioner:
    url: str  # base URL, e.g. http://localhost:8000/v1
    model: str
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise BadInputError(f"--captioner {self.url!r} is not an http(s) URL",
                                hint="give the server's base URL, e.g. http://localhost:8000/v1")
        self.url = self.url.rstrip("/")
        self.api_key = os.environ.get("ADCUT_CAPTIONER_API_KEY") or os.environ.get(
            "OPENAI_API_KEY", "")

    @property
    def origin(self) -> str:
        return f"captioner:{self.model}"

    def caption(self, jpeg: bytes) -> str:
        body = json.dumps(build_caption_request(self.model, jpeg)).encode()
        endpoint = f"{self.url}/chat/completions"
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode(errors="replace")
            raise DependencyError(f"captioner {endpoint} answered HTTP {exc.code}: {detail}",
                                  hint="check --captioner-model and the API key variable") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DependencyError(f"captioner {endpoint} is unreachable ({reason})",
                                  hint="start the server or drop --captioner") from exc
        except json.JSONDecodeError as exc:
            raise DependencyError(f"captioner {endpoint} did not answer JSON") from exc
        try:
            return parse_caption_response(payload)
        except ValueError as exc:
            raise DependencyError(f"captioner {endpoint}: {exc}") from exc
