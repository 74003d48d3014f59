"""Helpers for the LLM planner tests: a local OpenAI-compatible server with canned answers,
and a tiny random Qwen3 model built offline (tokenizer trained on the fly)."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

# A reply: the answer text (wrapped as a chat completion), or (HTTP status, raw body bytes).
Reply = str | tuple[int, bytes]


class FakeChatServer:
    """Serves POST /v1/chat/completions from `replies` (a list consumed in order, the last
    one repeating, or a function of the request body) and GET /v1/models (`models`: its
    entries). With `tokenize` (prompt -> token count) it also answers vLLM's POST /tokenize,
    as vLLM does; without, /tokenize is a 404. Records every request as (method, path,
    Authorization header, body)."""

    def __init__(self, replies: list[Reply] | Callable[[dict], Reply], models: list[dict] | None = None,
                 tokenize: Callable[[str], int] | None = None):
        self.replies = replies
        self.models = models if models is not None else [{"id": "tiny-chat"}]
        self.tokenize = tokenize
        self.requests: list[tuple[str, str, str | None, dict | None]] = []
        self.url = ""

    def chats(self) -> list[dict]:
        """The bodies of the chat-completion requests, in order."""
        return [b for m, path, _, b in self.requests if m == "POST" and path.endswith("/chat/completions") and b]

    def prompts(self) -> list[str]:
        return [b["messages"][0]["content"] for b in self.chats()]

    def _next(self, body: dict) -> Reply:
        if callable(self.replies):
            return self.replies(body)
        return self.replies[min(len(self.chats()) - 1, len(self.replies) - 1)]


# GET /v1/models as vLLM answers it (vllm/entrypoints/openai/protocol.py ModelCard).
def vllm_model_card(name: str) -> dict:
    return {"id": name, "object": "model", "created": 1737783302, "owned_by": "vllm", "root": f"/models/{name}",
            "parent": None, "max_model_len": 32768, "permission": [{"id": "modelperm-0", "object": "model_permission"}]}


@contextmanager
def serve(replies: list[Reply] | Callable[[dict], Reply], *, models: list[dict] | None = None,
          tokenize: Callable[[str], int] | None = None) -> Iterator[FakeChatServer]:
    fake = FakeChatServer(replies, models, tokenize)

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, raw: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self):  # noqa: N802 (http.server's naming)
            fake.requests.append(("GET", self.path, self.headers.get("Authorization"), None))
            self._send(200, json.dumps({"object": "list", "data": fake.models}).encode())

        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(("POST", self.path, self.headers.get("Authorization"), body))
            if self.path == "/tokenize":
                if fake.tokenize is None:
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                n = fake.tokenize(body["prompt"])
                self._send(200, json.dumps({"count": n, "max_model_len": 32768, "tokens": list(range(n)),
                                            "token_strs": None}).encode())
                return
            reply = fake._next(body)
            if isinstance(reply, tuple):
                self._send(*reply)
                return
            out = {"id": "x", "object": "chat.completion",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                                "finish_reason": "stop"}]}
            self._send(200, json.dumps(out, ensure_ascii=False).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits for one poll, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}/v1"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_CORPUS = [
    "clip 1, 2, 3, 4, 5 product brand script line music track",
    "你是专业的视频剪辑师。请你根据商品信息和广告台词，选择相关的视频片段，并输出它们的编号。",
    "You are a professional video editor. Output the numbers of the clips: 2,5,1",
]


def build_tiny_qwen3(folder: Path, *, chat_template: bool = True, seed: int = 0) -> Path:
    """A random 2-layer Qwen3 (~100 k parameters) and a 300-token byte-level BPE tokenizer,
    saved to `folder` as a transformers model folder. Offline, about a second."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 5, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    if chat_template:
        fast.chat_template = _CHAT_TEMPLATE
    config = Qwen3Config(
        vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=8192,
        eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
