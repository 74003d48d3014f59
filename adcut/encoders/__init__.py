"""Vision / audio / text encoders behind one small protocol and a registry.

Defaults ship in wheels and run offline on a CPU: EfficientNet-Lite0 (ImageNet), YAMNet
(AudioSet), Universal Sentence Encoder multilingual v3 (clip texts at ingest); all-MiniLM-L6-v2,
WordLlama and multilingual-e5-small are the other text encoders. Importing this package is instant: models and their frameworks load
only when an encoder is asked for.
"""

from __future__ import annotations

from adcut.encoders.base import (
    AudioEncoder,
    AudioResult,
    TextEncoder,
    VisionEncoder,
    VisionResult,
    top_labels,
)
from adcut.encoders.registry import (
    DEFAULT_AUDIO,
    DEFAULT_TEXT,
    DEFAULT_VISION,
    describe_encoders,
    load_audio_encoder,
    load_text_encoder,
    load_vision_encoder,
)

__all__ = [
    "AudioEncoder",
    "AudioResult",
    "DEFAULT_AUDIO",
    "DEFAULT_TEXT",
    "DEFAULT_VISION",
    "TextEncoder",
    "VisionEncoder",
    "VisionResult",
    "describe_encoders",
    "load_audio_encoder",
    "load_text_encoder",
    "load_vision_encoder",
    "top_labels",
]
