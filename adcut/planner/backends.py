"""Chat backends for the LLM planner: one user turn in, the model's answer out.

Two kinds: any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, hosted APIs) over
plain HTTP, and a local transformers causal LM (a folder, a hub name, or a GGUF file).
Both decode deterministically (temperature 0 / greedy), so a plan is reproducible, and
both strip <think> blocks, so the parsers see only the answer.

Requests go only to the URL the user named; the key comes from an environment variable
(ADCUT_LLM_API_KEY, else OPENAI_API_KEY) and is never stored.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from adcut.core.errors import BadInputError, DependencyError
from adcut.tasks.parse import strip_reasoning

CHECK_TIMEOUT_S = 5.0  # reachability check: fail before any work, not after minutes
# Request options for a trained adcut model behind vLLM's OpenAI-compatible server
# (docs/serving.md). vLLM drops special tokens from answers by default, and the ten sentinels
# (<|audio_start|>...) are special tokens: keep them, without the spaces vLLM would put
# between them. The <v_l_c> / <a_l_c> tokens are normal added tokens and survive anyway.
# The model was fine-tuned on prompts rendered with thinking off. Sent only when asked
# (`adcut_model=True`): a hosted API refuses parameters it does not know.
VLLM_ADCUT_OPTIONS: dict[str, Any] = {
    "skip_special_tokens": False,
    "spaces_between_special_tokens": False,
    "chat_template_kwargs": {"enable_thinking": False},
}
_DETAIL_CHARS = 200  # how much of a server's error body an error message quotes
# What an adcut model's tokenizer reads as exactly 4 tokens (two sentinels, two added audio
# tokens) and any other tokenizer as many more: the probe of `serves_adcut_model`.
ADCUT_PROBE = "<|audio_start|><a_0_0><a_7_255><|audio_end|>"
ADCUT_PROBE_TOKENS = 4


@runtime_checkable
class ChatBackend(Protocol):
    name: str

    def complete(self, prompt: str, *, max_tokens: int = 512) -> str:
        """The model's answer to `prompt` as one user turn, decoded deterministically."""


def check_backend(backend: ChatBackend) -> None:
    """Run the backend's own readiness check when it has one (server reachable, model
    loadable), so a command fails before doing any work."""
    check = getattr(backend, "check", None)
    if callable(check):
        check()


def strip_think(text: str) -> str:
    """The answer without reasoning: <think>…</think> blocks removed, an answer after a
    lone </think> kept, an unterminated <think> (cut off while thinking) dropped."""
    return strip_reasoning(text, []).strip()


# --------------------------------------------------------------------------- OpenAI-compatible


def build_chat_request(model: str, prompt: str, max_tokens: int, extra_body: dict | None = None) -> dict:
    """The chat-completions body for one user turn at temperature 0 (pure)."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": int(max_tokens),
        "stream": False,
    }
    if extra_body:
        body.update(extra_body)  # the user's server-specific options win
    return body


def parse_chat_response(payload: Any) -> str:
    """The answer text of a chat-completions response (pure); ValueError when absent."""
    try:
        message = payload["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError("the response has no choices[0].message") from exc
    if not isinstance(message, dict):
        raise ValueError("choices[0].message is not an object")
    content = message.get("content")
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    if content is None:
        content = ""  # e.g. every token went to reasoning_content: an empty answer
    if not isinstance(content, str):
        raise ValueError(f"choices[0].message.content is a {type(content).__name__}, not text")
    return strip_think(content)


class OpenAIBackend:
    """Any server speaking the OpenAI chat-completions API at `url` (the base URL, e.g.
    http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama).

    `adcut_model`: the server is vLLM serving a trained adcut model; every request then
    carries VLLM_ADCUT_OPTIONS (under the caller's own `extra_body`, which wins).
    `serves_adcut_model()` finds that out from the server itself."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        api_key_env: str = "ADCUT_LLM_API_KEY",
        timeout_s: float = 120,
        extra_body: dict | None = None,
        adcut_model: bool = False,
    ):
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise BadInputError(
                f"LLM server URL {url!r} is not an http(s) URL",
                hint="give the server's base URL, e.g. --planner openai http://localhost:8000/v1",
            )
        if not model or not str(model).strip():
            raise BadInputError(
                "an OpenAI-compatible planner needs a model name",
                hint="add --model NAME (the name the server serves, e.g. Qwen/Qwen3-8B)",
            )
        self.url = url.rstrip("/")
        self.model = str(model).strip()
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.adcut_model = bool(adcut_model)
        self.extra_body = {**(VLLM_ADCUT_OPTIONS if adcut_model else {}), **(extra_body or {})}
        self.name = f"openai:{self.model}"
        self._listed: list[dict] | None = None  # GET /models' entries, once check() ran

    def _api_key(self) -> str:
        # Read at call time so a key exported after construction is honoured.
        return os.environ.get(self.api_key_env) or os.environ.get("OPENAI_API_KEY", "")

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        return {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}

    def _unreachable(self, endpoint: str, exc: BaseException) -> DependencyError:
        reason = getattr(exc, "reason", None) or exc
        return DependencyError(
            f"LLM server URL is unreachable ({endpoint}: {reason})",
            hint="start the server, check the URL, or use --planner zero-shot",
        )

    def _http_error(self, endpoint: str, exc: urllib.error.HTTPError) -> DependencyError:
        try:
            detail = " ".join(exc.read()[:_DETAIL_CHARS].decode(errors="replace").split())
        except Exception:  # the body is only for the message
            detail = ""
        if exc.code in (401, 403):
            hint = f"set the API key in ${self.api_key_env} (or $OPENAI_API_KEY)"
        elif exc.code == 404:
            hint = "check the base URL (it usually ends in /v1) and --model"
        else:
            hint = "check the server's log and --model"
        return DependencyError(f"LLM server {endpoint} answered HTTP {exc.code}: {detail or exc.reason}", hint=hint)

    def check(self) -> list[str]:
        """Fail fast when the server is unreachable or refuses the key; returns the model
        ids the server lists (empty when it does not say). Any other HTTP answer counts as
        reachable: some servers do not implement /models."""
        endpoint = f"{self.url}/models"
        request = urllib.request.Request(endpoint, method="GET", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout_s, CHECK_TIMEOUT_S)) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise self._http_error(endpoint, exc) from exc
            return []
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise self._unreachable(self.url, exc) from exc
        try:
            data = json.loads(raw).get("data", [])
            self._listed = [m for m in data if isinstance(m, dict) and "id" in m]
            return [str(m["id"]) for m in self._listed]
        except (ValueError, AttributeError, TypeError):
            self._listed = []
            return []

    def serves_adcut_model(self) -> bool:
        """Whether the server is vLLM serving a trained adcut model as `model`.

        Two questions, the second asked only of vLLM: does GET /models list the model as
        `owned_by: "vllm"` (what vLLM answers for every model it serves; OpenAI, llama.cpp
        and Ollama answer otherwise), and does vLLM's POST /tokenize (at the server's root,
        beside /v1) read ADCUT_PROBE as 4 tokens, i.e. are `<|audio_start|>` and `<a_0_0>`
        single tokens of the served tokenizer (a plain model splits them into many)? Any
        other server gets no request beyond the GET /models of `check` (run here if it was
        not yet). A failed /tokenize counts as no: the model is then asked as a general chat
        model, and `--planner "model URL"` still forces the adcut form."""
        if self._listed is None:
            self.check()
        listed = self._listed or []
        named = [m for m in listed if str(m.get("id")) == self.model] or listed
        if not any(str(m.get("owned_by", "")).lower() == "vllm" for m in named):
            return False
        endpoint = f"{self.url.removesuffix('/v1')}/tokenize"
        body = json.dumps({"model": self.model, "prompt": ADCUT_PROBE, "add_special_tokens": False}).encode()
        request = urllib.request.Request(endpoint, data=body, method="POST", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=min(self.timeout_s, CHECK_TIMEOUT_S)) as response:
                answer = json.loads(response.read())
        except (urllib.error.URLError, TimeoutError, OSError, ValueError):  # HTTPError is a URLError
            return False
        if not isinstance(answer, dict):
            return False
        tokens = answer.get("tokens")
        count = answer.get("count", len(tokens) if isinstance(tokens, list) else None)
        return isinstance(count, int) and not isinstance(count, bool) and count == ADCUT_PROBE_TOKENS

    def complete(self, prompt: str, *, max_tokens: int = 512) -> str:
        endpoint = f"{self.url}/chat/completions"
        body = json.dumps(build_chat_request(self.model, prompt, max_tokens, self.extra_body)).encode()
        request = urllib.request.Request(endpoint, data=body, method="POST", headers=self._headers())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(endpoint, exc) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise self._unreachable(endpoint, exc) from exc
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            shown = " ".join(raw[:80].decode(errors="replace").split())
            raise DependencyError(
                f"LLM server {endpoint} did not answer JSON: {shown!r}",
                hint="check that the URL is the server's OpenAI-compatible base URL (usually …/v1)",
            ) from exc
        try:
            return parse_chat_response(payload)
        except ValueError as exc:
            if isinstance(payload, dict) and "error" in payload:  # some servers answer 200 with an error
                raise DependencyError(
                    f"LLM server {endpoint} answered an error: {str(payload['error'])[:_DETAIL_CHARS]}",
                    hint="check --model and the server's log",
                ) from exc
            raise DependencyError(f"LLM server {endpoint}: {exc}",
                                  hint="is this an OpenAI-compatible chat endpoint?") from exc


# --------------------------------------------------------------------------- local transformers

_DTYPES = ("auto", "float32", "bfloat16", "float16")


class HFBackend:
    """A local transformers causal LM: a model folder, a hub name (downloaded only when the
    user allows hub access), or a .gguf file (needs the `gguf` package). Loaded on first
    use or by `check()`; greedy decoding; the tokenizer's chat template when it has one."""

    def __init__(self, name_or_path: str, *, device: str = "cpu", dtype: str = "auto"):
        if not name_or_path or not str(name_or_path).strip():
            raise BadInputError("--planner hf needs a model folder, .gguf file or hub name")
        if dtype not in _DTYPES:
            raise BadInputError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(_DTYPES)}")
        self.name_or_path = str(name_or_path).strip()
        self.device = device
        self.dtype = dtype
        path = Path(self.name_or_path).expanduser()
        self.name = f"hf:{path.name if path.exists() else self.name_or_path}"
        self._model: Any = None
        self._tokenizer: Any = None

    def _location(self) -> tuple[str, dict[str, Any]]:
        """(what from_pretrained gets, extra keyword arguments)."""
        path = Path(self.name_or_path).expanduser()
        if path.suffix.lower() == ".gguf":
            if not path.is_file():
                raise BadInputError(f"GGUF file {path} does not exist")
            return str(path.parent), {"gguf_file": path.name}
        if path.exists():
            if not path.is_dir():
                raise BadInputError(f"{path} is neither a model folder nor a .gguf file")
            if not (path / "config.json").is_file():
                raise DependencyError(f"cannot load model {path}: the folder has no config.json",
                                      hint="give a folder written by save_pretrained (config, tokenizer, weights)")
            return str(path), {}
        # A hub name is "name" or "org/name"; anything else was meant as a local path.
        name = self.name_or_path
        if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:
            raise BadInputError(f"model folder {self.name_or_path} does not exist")
        return self.name_or_path, {}  # a hub name such as Qwen/Qwen3-0.6B

    def check(self) -> None:
        """Load the model now, so a bad path fails before any work."""
        self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        where, extra = self._location()
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise DependencyError("the hf planner needs torch and transformers",
                                  hint="pip install 'adcut[llm]' (torch, transformers)") from exc
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise DependencyError(f"device {self.device!r} asked but no CUDA GPU is available",
                                  hint="use device cpu")
        if self.dtype == "auto":
            # CPUs run float32 fastest and everywhere; accelerators keep the checkpoint's dtype.
            dtype: Any = torch.float32 if self.device == "cpu" else "auto"
        else:
            dtype = getattr(torch, self.dtype)
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, **extra)
            model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype, **extra)
        except ImportError as exc:  # e.g. gguf_file without the gguf package
            raise DependencyError(f"cannot load model {self.name_or_path}: {exc}",
                                  hint="install the missing package (GGUF files need `pip install gguf`)") from exc
        except Exception as exc:
            if Path(where).expanduser().exists():
                hint = "check that the folder or .gguf file is a complete causal language model"
            elif os.environ.get("HF_HUB_OFFLINE") == "1":
                hint = "give a local model folder or .gguf file (HF_HUB_OFFLINE=1 blocks hub downloads)"
            else:
                hint = "check the hub name, or give a local model folder or .gguf file"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DependencyError(f"cannot load model {self.name_or_path}: {first[:_DETAIL_CHARS]}",
                                  hint=hint) from exc
        model.to(self.device)
        model.eval()
        self._tokenizer, self._model = tokenizer, model

    def _stop_ids(self) -> set[int]:
        ids: set[int] = set()
        for src in (getattr(self._model, "generation_config", None), self._tokenizer):
            eos = getattr(src, "eos_token_id", None)
            if isinstance(eos, int):
                ids.add(eos)
            elif isinstance(eos, (list, tuple)):
                ids.update(int(i) for i in eos)
        return ids

    def complete(self, prompt: str, *, max_tokens: int = 512) -> str:
        self._load()
        import torch

        tok, model = self._tokenizer, self._model
        if getattr(tok, "chat_template", None):
            # enable_thinking=False: Qwen3-style templates skip reasoning; other templates ignore it.
            text = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                           tokenize=False, enable_thinking=False)
            enc = tok(text, return_tensors="pt", add_special_tokens=False)  # the template has them
        else:
            enc = tok(prompt, return_tensors="pt")
        enc = {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        stop = self._stop_ids()
        pad = tok.pad_token_id if tok.pad_token_id is not None else (min(stop) if stop else None)
        try:
            with torch.inference_mode():
                out = model.generate(**enc, max_new_tokens=int(max_tokens), do_sample=False,
                                     pad_token_id=pad, temperature=None, top_p=None, top_k=None)
        except (RuntimeError, IndexError, ValueError) as exc:  # e.g. a prompt longer than the context
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DependencyError(
                f"model {self.name_or_path} failed to generate ({enc['input_ids'].shape[1]} prompt tokens): "
                f"{first[:_DETAIL_CHARS]}",
                hint="use a model with a longer context, fewer candidate clips, or --planner zero-shot",
            ) from exc
        new = out[0, enc["input_ids"].shape[1]:].tolist()
        for k, token_id in enumerate(new):  # stop at the end of the turn, keep added tokens like <a_l_c>
            if token_id in stop:
                new = new[:k]
                break
        return strip_think(tok.decode(new, skip_special_tokens=False))


# --------------------------------------------------------------------------- choosing one


def load_backend(spec: str, model: str | None = None) -> ChatBackend:
    """A backend from the CLI's words: "openai URL" (with `model`, from --model NAME) or
    "hf PATH_OR_NAME". Nothing is contacted or loaded yet; see `check_backend`."""
    parts = (spec or "").strip().split(None, 1)
    kind = parts[0].lower() if parts else ""
    target = parts[1].strip() if len(parts) > 1 else ""
    forms = "use 'openai URL' with --model NAME, or 'hf PATH_OR_NAME'"
    if kind == "openai":
        if not target:
            raise BadInputError("--planner openai needs the server's URL", hint=forms)
        if not model:
            raise BadInputError("--planner openai needs --model NAME",
                                hint="the name the server serves, e.g. --model Qwen/Qwen3-8B")
        return OpenAIBackend(target, model)
    if kind == "hf":
        if not target:
            raise BadInputError("--planner hf needs a model folder, .gguf file or hub name", hint=forms)
        if model:
            raise BadInputError("--model is for --planner openai; with hf the model is the path itself",
                                hint=f"drop --model {model}")
        return HFBackend(target)
    raise BadInputError(f"unknown LLM planner {spec!r}", hint=forms)
