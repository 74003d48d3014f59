"""`--planner` specs -> Planner objects.

`openai URL` with `--model NAME` is any OpenAI-compatible server; when it is vLLM serving a
trained adcut model (OpenAIBackend.serves_adcut_model asks the server), the planner is the
one `model URL` makes: tokens-track prompts and the request options that keep adcut's
special tokens (docs/serving.md). Every other server gets today's plain chat requests."""

from __future__ import annotations

from adcut.core.errors import BadInputError
from adcut.planner.base import Planner

SPECS = "zero-shot | openai URL (with --model NAME) | hf PATH_OR_NAME | model PATH | model URL (with --model NAME)"


def load_planner(spec: str, model: str | None = None, *, language: str = "auto") -> Planner:
    kind, _, arg = spec.strip().partition(" ")
    kind = kind.lower()
    arg = arg.strip()
    if kind in ("zero-shot", "zeroshot", "zero_shot"):
        from adcut.planner.zero_shot import ZeroShotPlanner

        return ZeroShotPlanner()
    if kind == "model":
        if not arg:
            raise BadInputError("--planner model needs the trained model's folder",
                                hint=f"use --planner {SPECS}")
        if arg.lower().startswith(("http://", "https://")):
            # The trained adcut model served by vLLM (docs/serving.md): the tokens track's
            # prompts, with the request options that keep its special tokens.
            if not model:
                raise BadInputError("--planner model URL needs --model NAME",
                                    hint="the name vLLM serves the model under (--served-model-name)")
            return _served_adcut_model(arg, model, language, check=True)
        from adcut.planner.model import ModelPlanner

        # The trained adcut model folder: tokens-track prompts, constrained decoding, music
        # matched by the audio RQ-VAE (adcut.planner.model). Loaded and checked here.
        return ModelPlanner(arg, language=language if language in ("en", "zh") else "auto")
    if kind in ("openai", "hf"):
        if not arg:
            raise BadInputError(f"--planner {kind} needs a {'URL' if kind == 'openai' else 'path'}",
                                hint=f"use --planner {SPECS}")
        from adcut.planner.backends import HFBackend, OpenAIBackend
        from adcut.planner.llm import LLMPlanner

        if kind == "openai":
            if not model:
                raise BadInputError("--planner openai needs --model NAME",
                                    hint="the model name the server serves")
            served = OpenAIBackend(arg, model)
            served.check()  # fail before any work: server unreachable, key refused
            if served.serves_adcut_model():
                return _served_adcut_model(arg, model, language, check=False)
            return LLMPlanner(served, language=language)
        backend = HFBackend(arg)  # any local transformers causal LM, asked like a chat model
        backend.check()  # fail before any work: model not loadable
        return LLMPlanner(backend, language=language)
    raise BadInputError(f"unknown planner {spec!r}", hint=f"use --planner {SPECS}")


def _served_adcut_model(url: str, model: str, language: str, *, check: bool) -> Planner:
    """The trained adcut model served by vLLM at `url` as `model`: the tokens track's prompts,
    every request with the options that keep its special tokens (VLLM_ADCUT_OPTIONS).
    `check`: make sure the server answers first (not yet done by the caller)."""
    from adcut.planner.backends import OpenAIBackend
    from adcut.planner.llm import LLMPlanner
    from adcut.tasks.types import TRACK_TOKENS

    served = OpenAIBackend(url, model, adcut_model=True)
    if check:
        served.check()
    return LLMPlanner(served, language=language if language in ("zh", "en") else "auto", track=TRACK_TOKENS)
