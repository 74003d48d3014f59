"""Optional image-text encoders (CLIP, SigLIP, ...) through transformers: `clip:PATH_OR_NAME`.

No registry ships pretrained CLIP-like weights, so the user names a local folder or a hub model
(the hub is only reached when HF_HUB_OFFLINE is unset). Images and texts land in one joint space,
so a planner can score a brief's sentences against frames with a dot product.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError
from adcut.encoders.base import VisionResult, dist_version, l2_normalize, quiet_transformers, weights_tag

log = logging.getLogger(__name__)

BATCH = 32
HUB_HINT = "give a local model folder, or a hub name with network access (unset HF_HUB_OFFLINE)"
# Models whose text tower was trained on fixed-length, unmasked, max-length-padded input.
_PAD_TO_MAX = ("siglip", "siglip2")


def _pooled(out: object):
    """get_*_features returns a tensor in transformers 4 and a ModelOutput (pooler_output holds the
    projected features) in transformers 5."""
    return out if hasattr(out, "shape") else out.pooler_output  # type: ignore[attr-defined]


class ClipEncoder:
    """VisionEncoder (class_probs None) that is also a TextEncoder in the same space."""

    class_names: list[str] | None = None

    def __init__(self, name_or_path: str) -> None:
        if not name_or_path:
            raise BadInputError("clip: needs a model folder or hub name", hint="e.g. clip:/models/clip-vit-b32")
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModel, AutoTokenizer
        except ImportError as e:
            raise DependencyError(f"cannot import transformers ({e})", hint="pip install transformers") from e
        self._torch = torch
        local = Path(name_or_path).expanduser()
        src = str(local) if local.exists() else name_or_path
        if local.exists() and not local.is_dir():
            raise BadInputError(f"clip: {local} is a file; expected a model folder (save_pretrained output)")
        try:
            with quiet_transformers():
                model = AutoModel.from_pretrained(src)
                # the PIL backend always: torchvision is not installable here, and one backend
                # everywhere keeps embeddings identical across machines
                self._images = AutoImageProcessor.from_pretrained(src, backend="pil")
                self._tok = AutoTokenizer.from_pretrained(src)
        except (OSError, ValueError) as e:
            raise BadInputError(f"cannot load image-text model {name_or_path!r}: {e}", hint=HUB_HINT) from e
        if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
            raise BadInputError(f"{name_or_path!r} ({type(model).__name__}) is not an image-text model",
                                hint="use a CLIP or SigLIP checkpoint")
        self._model = model.eval()
        self._type = str(getattr(model.config, "model_type", "clip"))
        self.name = f"clip:{name_or_path}"
        self.dim = self._infer_dim()
        self._max_len = self._text_max_len()
        if local.is_dir():
            tag = _folder_tag(local)
        else:
            tag = str(getattr(model.config, "_commit_hash", None) or "hub")[:10]
        self.version = f"transformers-{dist_version('transformers')}+{tag}-{self._type}-pil"

    def _infer_dim(self) -> int:
        v = getattr(self._model.config, "projection_dim", None)
        if isinstance(v, int) and v > 0 and self._type.startswith("clip"):
            return v
        # SigLIP and others: ask the model (one tiny text forward) rather than guess from config
        return int(self.encode_texts(["a"]).shape[1])

    def _text_max_len(self) -> int:
        n = getattr(self._tok, "model_max_length", None)
        tc = getattr(self._model.config, "text_config", None)
        pos = getattr(tc, "max_position_embeddings", None)
        cands = [x for x in (n, pos) if isinstance(x, int) and 0 < x < 100_000]
        return min(cands) if cands else 64

    def encode_images(self, images: Sequence[np.ndarray]) -> VisionResult:
        images = [_rgb(im) for im in images]
        if not images:
            return VisionResult(np.zeros((0, self.dim), np.float32), None)
        torch = self._torch
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for s in range(0, len(images), BATCH):
                # channels_last stated: tiny images make the processor's layout guess ambiguous
                px = self._images(images=images[s:s + BATCH], return_tensors="pt",
                                  input_data_format="channels_last")["pixel_values"]
                out.append(_pooled(self._model.get_image_features(pixel_values=px)).float().numpy())
        return VisionResult(l2_normalize(np.concatenate(out)), None)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise BadInputError("encode_texts takes a list of strings, got one string", hint="wrap it in a list")
        texts = list(texts)
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), np.float32)
        torch = self._torch
        pad_to_max = self._type in _PAD_TO_MAX
        max_len = getattr(self, "_max_len", None) or self._text_max_len()
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for s in range(0, len(texts), BATCH):
                enc = self._tok(texts[s:s + BATCH], padding="max_length" if pad_to_max else True,
                                truncation=True, max_length=max_len, return_tensors="pt")
                kwargs = {"input_ids": enc["input_ids"]}
                if not pad_to_max and "attention_mask" in enc:
                    kwargs["attention_mask"] = enc["attention_mask"]
                out.append(_pooled(self._model.get_text_features(**kwargs)).float().numpy())
        return l2_normalize(np.concatenate(out))


def _rgb(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise BadInputError(f"image has shape {a.shape}; expected an RGB array HxWx3")
    return np.ascontiguousarray(a[:, :, :3])


def _folder_tag(folder: Path) -> str:
    cands = [p for ext in ("*.safetensors", "*.bin") for p in folder.glob(ext)]
    return weights_tag(max(cands, key=lambda p: p.stat().st_size)) if cands else "noweights"
