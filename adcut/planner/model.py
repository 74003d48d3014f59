"""The trained adcut model (`adcut train sft` / `adcut train export`) as a Planner.

A model folder is a Hugging Face causal-LM folder whose tokenizer holds adcut's added tokens
(`<v_l_c>` / `<a_l_c>`, 8 levels x 256 codes each, and the ten sentinels), plus
`rqvae/video/` and `rqvae/audio/` (adcut RQ-VAE tokenizer folders; audio may be missing)
and `adcut_model.json` (e.g. {"format": "adcut-model/1", "language": "zh"}; every key is
optional).

Each task is asked exactly as the model was fine-tuned: adcut's prompt for the tokens track
in the model's language (adcut_model.json, else the planner's `language`, else the task's
own language), as one user turn of the folder's chat template (generation prompt on,
thinking off). Decoding is greedy and constrained (adcut.planner.constrained), so the answer
has the task's shape by construction: n distinct clip numbers, a permutation, n script
lines, or `<|audio_start|>` + 8 audio tokens in level order + `<|audio_end|>`.

How clips are shown: a clip's RQ-VAE tokens when it has them (the AutoCut-364 token track;
`adcut edit`, which encodes the library's frames with this folder's video RQ-VAE, see
adcut.planner.edit.library_tokens). A clip may carry its caption too; the model is still
shown only its tokens, because the prompts it was fine-tuned on have no place for a caption
beside a clip's tokens: a clip's `<|text_start|>...<|text_end|>` block holds the script line
spoken over it (pre-training, and the music prompt), so a caption there would read as a
voice line. The caption serves the fallback planner and the claims gate instead. A clip
without tokens but with a caption (no video RQ-VAE in the folder, a frame array missing) is
shown as its caption text in the clip's slot: the model was trained on tokens, so this is a
best effort, and every decision says how many clips were shown by caption. A clip with
neither is the prompt's empty clip.

Music: the 8 generated codes are decoded by the audio RQ-VAE into a vector; candidate
tracks that carry their own audio tokens are decoded too and the nearest by cosine (FAISS
IndexFlatIP over L2-normalised vectors) is chosen, every candidate's cosine in `scores`.
Without candidates the 8 token strings are the value; without an audio RQ-VAE candidates are
matched by shared leading codes. Candidates without tokens cannot be matched to a generated
track: that task goes to the fallback planner.

An answer that is still unusable (the token budget ran out, generation failed on a prompt
longer than the model's context) is planned by the fallback planner (zero-shot by default),
with a note in the Decision's explanation: a plan is never lost to a model's output.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from adcut.core.errors import AdcutError, BadInputError, DependencyError
from adcut.planner.base import Decision, Hints, Planner
from adcut.planner.constrained import (
    AudioTrack,
    Constraint,
    NumberList,
    ScriptLines,
    VocabInfo,
    vocab_info,
)
from adcut.tasks.parse import AUDIO_LEVELS, parse_order, parse_script, parse_selection
from adcut.tasks.prompts_zh import PromptLanguage, build_prompt
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    AudioCandidate,
    ClipRef,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
    Task,
    task_name,
)

META_NAME = "adcut_model.json"
META_FORMAT = "adcut-model/1"
RQVAE_DIR = "rqvae"
LANGUAGES = ("auto", "en", "zh")
MAX_LINE_TOKENS = 48  # a script line is closed after this many tokens (zh ~10 chars, en ~20 words)
_DETAIL_CHARS = 200
_SHOWN_CHARS = 80
_DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class Generation:
    """One constrained answer: its ids (end of turn removed), text, and cost."""

    ids: list[int]
    text: str
    prompt_tokens: int
    seconds: float
    ended: bool  # the model ended its turn (else the budget ran out)


class _Unusable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def nearest_by_cosine(query: np.ndarray, items: np.ndarray) -> list[tuple[int, float]]:
    """(row of `items`, cosine with `query`) for every row, nearest first; ties go to the
    lower row. An exact search with FAISS IndexFlatIP over L2-normalised vectors."""
    import faiss

    q = np.asarray(query, dtype=np.float32).reshape(1, -1)
    x = np.ascontiguousarray(np.asarray(items, dtype=np.float32))
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != q.shape[1]:
        raise ValueError(f"cannot match a {q.shape[1]}-d vector to items of shape {x.shape}")
    q = q / max(float(np.linalg.norm(q)), 1e-12)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    scores, rows = index.search(q, x.shape[0])
    found = [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]
    return sorted(found, key=lambda rs: (-round(rs[1], 6), rs[0]))


def shown_clips(clips: list[ClipRef]) -> tuple[list[ClipRef], int]:
    """The clips as the model is shown them, numbered 1..m in the task's order, and how many
    are shown by caption: tokens when a clip has them, else its caption in the token slot,
    else the empty clip (tokens None)."""
    out: list[ClipRef] = []
    by_caption = 0
    for k, clip in enumerate(clips, 1):
        if clip.tokens:
            out.append(ClipRef(number=k, tokens=clip.tokens))
        elif clip.caption and clip.caption.strip():
            out.append(ClipRef(number=k, tokens=" ".join(clip.caption.split())))
            by_caption += 1
        else:
            out.append(ClipRef(number=k))
    return out, by_caption


# --------------------------------------------------------------------------- the folder


def read_meta(folder: Path) -> dict[str, Any]:
    """adcut_model.json as a dict ({} when absent); a damaged or newer file is refused."""
    path = folder / META_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(f"{path} cannot be read as JSON ({str(exc)[:_DETAIL_CHARS]})",
                            hint="export the model again with `adcut train export`") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path} is not a JSON object", hint="export the model again with `adcut train export`")
    fmt = data.get("format")
    if isinstance(fmt, str) and fmt.startswith("adcut-model/") and fmt != META_FORMAT:
        raise BadInputError(f"{path} is {fmt}; this adcut reads {META_FORMAT}", hint="upgrade adcut")
    return data


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:_DETAIL_CHARS]


def _load_rqvae(folder: Path, modality: str) -> Any:
    """The folder's RQ-VAE tokenizer of `modality`, or None when the folder has none."""
    path = folder / RQVAE_DIR / modality
    if not path.exists():
        return None
    from adcut.tokens.tokenizer import Tokenizer

    tok = Tokenizer.load(path)
    if tok.config.modality != modality:
        raise BadInputError(f"{path} is a {tok.config.modality} tokenizer, not a {modality} one",
                            hint=f"put the {modality} RQ-VAE in {RQVAE_DIR}/{modality}/")
    return tok


def _missing_adcut_tokens(tokenizer: Any) -> list[str]:
    from adcut.tokens.vocab import vocabulary

    vocab = tokenizer.get_vocab()
    return [t for t in vocabulary() if t not in vocab]


def load_model_folder(path: str | Path, *, device: str = "cpu", dtype: str = "auto") -> dict[str, Any]:
    """Everything in an adcut model folder, checked: {model, tokenizer, video, audio, meta}.
    A folder that is not a causal LM, lacks the adcut tokens or a chat template, or whose
    embeddings are smaller than its tokenizer is refused with one line."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise BadInputError(f"model folder {folder} does not exist",
                            hint="give the folder written by `adcut train sft` or `adcut train export`")
    if not folder.is_dir():
        raise BadInputError(f"{folder} is not a model folder", hint="give the folder, not a file in it")
    if not (folder / "config.json").is_file():
        raise BadInputError(f"{folder} is not a model folder (no config.json)",
                            hint="give the folder written by `adcut train sft` or `adcut train export`")
    if dtype not in _DTYPES:
        raise BadInputError(f"unknown dtype {dtype!r}", hint=f"use one of {', '.join(_DTYPES)}")
    meta = read_meta(folder)
    try:
        import torch
        from transformers import (
            MODEL_FOR_CAUSAL_LM_MAPPING,
            AutoConfig,
            AutoModelForCausalLM,
            AutoTokenizer,
        )
    except ImportError as exc:
        raise DependencyError("the model planner needs torch and transformers",
                              hint="pip install 'adcut[llm]' (torch, transformers)") from exc
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DependencyError(f"device {device!r} asked but no CUDA GPU is available", hint="use device cpu")
    try:
        config = AutoConfig.from_pretrained(str(folder))
    except Exception as exc:
        raise BadInputError(f"{folder}/config.json is not a model config ({_first_line(exc)})",
                            hint="give a folder written by save_pretrained") from None
    if type(config) not in MODEL_FOR_CAUSAL_LM_MAPPING:
        raise BadInputError(f"{folder} is not a causal language model (model type "
                            f"{getattr(config, 'model_type', '?')!r})",
                            hint="give the folder of a model trained with `adcut train sft`")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except Exception as exc:
        raise BadInputError(f"{folder} holds no usable tokenizer ({_first_line(exc)})",
                            hint="export the model again with `adcut train export`") from None
    missing = _missing_adcut_tokens(tokenizer)
    if missing:
        raise BadInputError(f"{folder} is not an adcut model: its tokenizer lacks {len(missing)} of the adcut "
                            f"tokens (e.g. {missing[0]})",
                            hint="train one with `adcut train`, or use --planner hf PATH for a plain chat model")
    if not getattr(tokenizer, "chat_template", None):
        raise BadInputError(f"{folder} has no chat template (the model was fine-tuned on chat turns)",
                            hint="export the model again with `adcut train export`")
    torch_dtype: Any = (torch.float32 if device == "cpu" else "auto") if dtype == "auto" else getattr(torch, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch_dtype)
    except Exception as exc:
        raise BadInputError(f"cannot load the model weights in {folder} ({_first_line(exc)})",
                            hint="check that the folder is complete (config, weights, tokenizer)") from None
    rows = model.get_input_embeddings().weight.shape[0]
    if rows < len(tokenizer):
        raise BadInputError(f"{folder}: the tokenizer has {len(tokenizer)} tokens but the model only {rows} "
                            "embedding rows", hint="export the model again with `adcut train export`")
    model.to(device)
    model.eval()
    video = _load_rqvae(folder, "video")
    audio = _load_rqvae(folder, "audio")
    if audio is not None and audio.levels != AUDIO_LEVELS:
        raise BadInputError(f"{folder}/{RQVAE_DIR}/audio has {audio.levels} levels; the model answers "
                            f"{AUDIO_LEVELS} audio tokens", hint="train the audio RQ-VAE with 8 levels")
    from adcut.tokens.library import tokenizer_id

    # The ids a library stores these tokenizers' codes under (`adcut tokenizer encode`).
    ids = {m: tokenizer_id(folder / RQVAE_DIR / m) for m, tok in (("video", video), ("audio", audio))
           if tok is not None}
    return {"model": model, "tokenizer": tokenizer, "video": video, "audio": audio, "meta": meta,
            "folder": folder, "tokenizer_ids": ids}


def _stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """End-of-turn ids the tokenizer holds (generation config's and tokenizer's eos)."""
    ids: set[int] = set()
    for src in (getattr(model, "generation_config", None), tokenizer):
        eos = getattr(src, "eos_token_id", None)
        if isinstance(eos, int):
            ids.add(eos)
        elif isinstance(eos, (list, tuple)):
            ids.update(int(i) for i in eos)
    return sorted(i for i in ids if 0 <= i < len(tokenizer))


# --------------------------------------------------------------------------- the planner


class ModelPlanner:
    """The Planner interface over a trained adcut model folder (see the module docstring).

    `fallback`: a Planner, or a callable making one on first need (default ZeroShotPlanner).
    `language`: the prompt language when adcut_model.json does not name one ("auto": the
    task's). `max_new_tokens` caps every answer's budget (tests force the fallback with it);
    `max_line_tokens` is when a script line must end.

    `video_tokenizer` / `audio_tokenizer` (the folder's RQ-VAEs, None when absent) and
    `tokenizer_ids` (modality -> the id a library stores their codes under) tell the edit path
    to show this planner the library as tokens (adcut.planner.edit.library_tokens)."""

    reads_tracks = (TRACK_TOKENS, TRACK_CAPTION)

    def __init__(self, path: str | Path, *, device: str = "cpu",
                 fallback: Planner | Callable[[], Planner] | None = None, language: str = "auto",
                 max_new_tokens: int | None = None, max_line_tokens: int = MAX_LINE_TOKENS, dtype: str = "auto"):
        if language not in LANGUAGES:
            raise BadInputError(f"unknown planner language {language!r}", hint=f"use one of {', '.join(LANGUAGES)}")
        if max_new_tokens is not None and max_new_tokens < 1:
            raise BadInputError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        if max_line_tokens < 1:
            raise BadInputError(f"max_line_tokens must be at least 1, got {max_line_tokens}")
        loaded = load_model_folder(path, device=device, dtype=dtype)
        self.folder: Path = loaded["folder"]
        self.model, self.tokenizer = loaded["model"], loaded["tokenizer"]
        self.video_tokenizer, self.audio_tokenizer = loaded["video"], loaded["audio"]
        self.tokenizer_ids: dict[str, str] = loaded["tokenizer_ids"]
        self.meta: dict[str, Any] = loaded["meta"]
        self.device = device
        self.name = f"model:{self.folder.name}"
        meta_language = self.meta.get("language")
        self.language = meta_language if meta_language in ("en", "zh") else language
        self.max_new_tokens = max_new_tokens
        self.max_line_tokens = int(max_line_tokens)
        self._fallback_spec = fallback
        self._fallback: Planner | None = None
        self.stop_ids = _stop_ids(self.model, self.tokenizer)
        if not self.stop_ids:
            raise BadInputError(f"{self.folder}: the tokenizer names no end-of-turn (eos) token",
                                hint="export the model again with `adcut train export`")
        self.info: VocabInfo = vocab_info(self.tokenizer, self.stop_ids)  # once per tokenizer

    def check(self) -> None:
        """Loaded and checked at construction; here for the registry's uniform call."""

    # -- helpers

    def fallback_planner(self) -> Planner:
        """The planner for tasks whose answer cannot be used, made on first need."""
        if self._fallback is None:
            spec = self._fallback_spec
            if spec is None:
                from adcut.planner.zero_shot import ZeroShotPlanner

                spec = ZeroShotPlanner
            self._fallback = spec if hasattr(spec, "select") and not isinstance(spec, type) else spec()
        return self._fallback

    def _lang(self, task: Task, hints: Hints | None) -> PromptLanguage:
        from adcut.planner.llm import prompt_language

        return prompt_language(self.language, task, hints)

    def _budget(self, constraint: Constraint) -> int:
        return min(constraint.budget, self.max_new_tokens) if self.max_new_tokens else constraint.budget

    def generate(self, prompt: str, constraint: Constraint, budget: int) -> Generation:
        """Greedy decoding of one user turn under `constraint`."""
        import torch
        from transformers import LogitsProcessorList

        from adcut.planner.constrained import constrained_processor

        tok, model = self.tokenizer, self.model
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                       tokenize=False, enable_thinking=False)
        enc = tok(text, return_tensors="pt", add_special_tokens=False)  # the template holds them
        input_ids = enc["input_ids"].to(model.device)
        length = int(input_ids.shape[1])
        pad = tok.pad_token_id if tok.pad_token_id is not None else self.stop_ids[0]
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(input_ids=input_ids, attention_mask=enc["attention_mask"].to(model.device),
                                 max_new_tokens=int(budget), do_sample=False, num_beams=1,
                                 logits_processor=LogitsProcessorList([constrained_processor(constraint, length)]),
                                 eos_token_id=list(self.stop_ids), pad_token_id=pad,
                                 temperature=None, top_p=None, top_k=None)
        seconds = time.perf_counter() - started
        new = out[0, length:].tolist()
        ended = False
        for k, token_id in enumerate(new):
            if token_id in self.stop_ids:
                new, ended = new[:k], True
                break
        return Generation(ids=new, text=tok.decode(new, skip_special_tokens=False), prompt_tokens=length,
                          seconds=seconds, ended=ended)

    def _ask(self, task: Task, hints: Hints | None, constraint: Constraint, shown: Task,
             by_caption: int) -> tuple[Generation, list[str]]:
        """Generate an answer to `shown` (the task as the model sees it); raises _Unusable
        when generation fails or the answer is incomplete."""
        prompt = build_prompt(shown, TRACK_TOKENS, self._lang(task, hints))
        budget = self._budget(constraint)
        try:
            gen = self.generate(prompt, constraint, budget)
        except (RuntimeError, ValueError, IndexError) as exc:  # e.g. a prompt longer than the context
            raise _Unusable(f"generation failed: {_first_line(exc)}") from None
        if not constraint.complete(gen.ids):
            shown_text = " ".join(gen.text.split())[:_SHOWN_CHARS]
            raise _Unusable(f"incomplete answer {shown_text!r} after {len(gen.ids)} of {budget} tokens")
        notes = [(f"{self.name}: constrained greedy answer, {len(gen.ids)} tokens in {gen.seconds:.2f} s "
                  f"({gen.prompt_tokens} prompt tokens)")]
        if by_caption:
            notes.append(f"{by_caption} of {len(task.clips)} clips had no video tokens: shown by caption")
        return gen, notes

    def _fall_back(self, kind: str, task: Task, hints: Hints | None, reason: str) -> Decision:
        planner = self.fallback_planner()
        fallback_name = getattr(planner, "name", type(planner).__name__)
        try:
            decision = getattr(planner, kind)(task, hints)
        except AdcutError as exc:
            from adcut.planner.llm import PlannerOutputError

            raise PlannerOutputError(f"{self.name}: {reason}; the {fallback_name} planner could not plan "
                                     f"{task_name(task)} either: {exc.message}", hint=exc.hint) from None
        note = f"{self.name}: {reason}: planned by the {fallback_name} planner instead"
        return replace(decision, explanation=[note, *decision.explanation])

    @staticmethod
    def _numbers(task: Task, shown_value: list[int]) -> list[int]:
        return [task.clips[k - 1].number for k in shown_value]

    # -- the four tasks

    def select(self, task: SelectTask, hints: Hints | None = None) -> Decision:
        m, n = len(task.clips), task.n_select
        if not task.clips:
            raise BadInputError("vid_select: there are no clips to plan with")
        if not 1 <= n <= m:
            raise BadInputError(f"cannot select {n} of {m} clips")
        clips, by_caption = shown_clips(task.clips)
        try:
            gen, notes = self._ask(task, hints, NumberList(self.info, m, n), replace(task, clips=clips), by_caption)
            parsed = parse_selection(gen.text, m, n)
            if not parsed.clean:
                raise _Unusable(parsed.reason or "; ".join(parsed.repairs))
        except _Unusable as bad:
            return self._fall_back("select", task, hints, bad.reason)
        return Decision(value=self._numbers(task, list(parsed.value)), explanation=notes)  # type: ignore[arg-type]

    def order(self, task: SortTask, hints: Hints | None = None) -> Decision:
        m = len(task.clips)
        if not m:
            raise BadInputError("vid_sort: there are no clips to plan with")
        clips, by_caption = shown_clips(task.clips)
        try:
            gen, notes = self._ask(task, hints, NumberList(self.info, m, m), replace(task, clips=clips), by_caption)
            parsed = parse_order(gen.text, m)
            if not parsed.clean:
                raise _Unusable(parsed.reason or "; ".join(parsed.repairs))
        except _Unusable as bad:
            return self._fall_back("order", task, hints, bad.reason)
        return Decision(value=self._numbers(task, list(parsed.value)), explanation=notes)  # type: ignore[arg-type]

    def write(self, task: ScriptTask, hints: Hints | None = None) -> Decision:
        n = len(task.clips)
        if not n:
            raise BadInputError("vid2text: there are no clips to plan with")
        clips, by_caption = shown_clips(task.clips)
        constraint = ScriptLines(self.info, n, max_line_tokens=self.max_line_tokens)
        try:
            gen, notes = self._ask(task, hints, constraint, replace(task, clips=clips), by_caption)
            parsed = parse_script(gen.text, n)
            if not parsed.ok or parsed.value is None or len(parsed.value) != n:
                raise _Unusable(parsed.reason or "; ".join(parsed.repairs))
        except _Unusable as bad:
            return self._fall_back("write", task, hints, bad.reason)
        return Decision(value=[str(s) for s in parsed.value], explanation=notes + list(parsed.repairs))

    def music(self, task: MusicTask, hints: Hints | None = None) -> Decision:
        if not task.clips:
            raise BadInputError("vid2aud: there are no clips to plan with")
        if len(task.script_lines) > len(task.clips):
            raise BadInputError(f"music task has {len(task.script_lines)} script lines for {len(task.clips)} clips")
        candidates = list(task.audio_candidates)
        if candidates and not any(c.tokens for c in candidates):
            return self._fall_back("music", task, hints,
                                   "no candidate track has audio tokens to match a generated track to")
        clips, by_caption = shown_clips(task.clips)
        codebook = self.audio_tokenizer.codebook_size if self.audio_tokenizer is not None else 256
        constraint = AudioTrack(self.info, codebook_size=min(256, codebook))
        try:
            gen, notes = self._ask(task, hints, constraint, replace(task, clips=clips, audio_candidates=[]),
                                   by_caption)
            codes = constraint.codes(gen.ids)
            if codes is None:
                raise _Unusable("not 8 audio tokens in level order")
            if not candidates:
                notes.append("no candidate tracks: returned the generated audio tokens")
                return Decision(value=[f"<a_{lv}_{c}>" for lv, c in enumerate(codes)], explanation=notes)
            number, scores, matched = self._match(codes, candidates)
        except _Unusable as bad:
            return self._fall_back("music", task, hints, bad.reason)
        return Decision(value=number, explanation=notes + matched, scores=scores)

    def _match(self, codes: list[int], candidates: list[AudioCandidate]) -> tuple[int, dict[int, float], list[str]]:
        """(chosen track number, per-track cosine, notes): the candidate nearest to the
        generated track in the audio RQ-VAE's vector space."""
        from adcut.tokens.vocab import TokenFormatError, parse_track

        if self.audio_tokenizer is None:
            from adcut.planner.llm import match_audio_tokens

            found = match_audio_tokens(list(enumerate(codes)), candidates)
            if found is None:
                raise _Unusable("no candidate track has readable audio tokens")
            number, prefix, equal = found
            return number, {}, [(f"no audio RQ-VAE in the model folder: matched track {number} by codes "
                                 f"({prefix} leading levels shared, {equal} of {AUDIO_LEVELS} codes equal)")]
        size = self.audio_tokenizer.codebook_size
        rows: list[np.ndarray] = []
        numbers: list[int] = []
        skipped: list[int] = []
        for cand in candidates:
            try:
                track = parse_track(cand.tokens or "", strict=False)
            except TokenFormatError:
                track = None
            if track is None or len(track) != AUDIO_LEVELS or (track < 0).any() or (track >= size).any():
                skipped.append(cand.number)
                continue
            rows.append(track)
            numbers.append(cand.number)
        if not rows:
            raise _Unusable("no candidate track has 8 readable audio tokens")
        vectors = self.audio_tokenizer.decode(np.stack([np.asarray(codes, dtype=np.int64), *rows]))
        ranking = nearest_by_cosine(vectors[0], vectors[1:])
        scores = {numbers[row]: round(cos, 6) for row, cos in ranking}
        best_row, best_cos = ranking[0]
        generated = "".join(f"<a_{lv}_{c}>" for lv, c in enumerate(codes))
        notes = [(f"generated track {generated} decoded by the audio RQ-VAE: nearest candidate track "
                  f"{numbers[best_row]} (cosine {best_cos:.3f}, FAISS over {len(rows)} tracks)")]
        if skipped:
            notes.append(f"tracks {skipped} have no readable audio tokens: not compared")
        return numbers[best_row], scores, notes
