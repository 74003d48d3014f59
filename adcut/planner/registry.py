"""`--planner` specs -> Planner objects."""

from __future__ import annotations

from adcut.core.errors import BadInputError
from adcut.planner.base import Planner

SPECS = "zero-shot | openai URL (with --model NAME) | hf PATH_OR_NAME | model PATH"


def load_planner(spec: str, model: str | None = None, *, language: str = "auto") -> Planner:
    kind, _, arg = spec.strip().partition(" ")
    kind = kind.lower()
    arg = arg.strip()
    if kind in ("zero-shot", "zeroshot", "zero_shot"):
        from adcut.planner.zero_shot import ZeroShotPlanner

        return ZeroShotPlanner()
    if kind in ("openai", "hf", "model"):
        if not arg:
            raise BadInputError(f"--planner {kind} needs a {'URL' if kind == 'openai' else 'path'}",
                                hint=f"use --planner {SPECS}")
        from adcut.planner.backends import HFBackend, OpenAIBackend
        from adcut.planner.llm import LLMPlanner

        if kind == "openai":
            if not model:
                raise BadInputError("--planner openai needs --model NAME",
                                    hint="the model name the server serves")
            backend = OpenAIBackend(arg, model)
        else:  # a trained adcut model is a transformers model folder too
            backend = HFBackend(arg)
        backend.check()  # fail before any work: server unreachable, model not loadable
        return LLMPlanner(backend, language=language)
    raise BadInputError(f"unknown planner {spec!r}", hint=f"use --planner {SPECS}")
