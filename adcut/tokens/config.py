"""The settings of one RQ-VAE tokenizer: its shape, its training, and the embedding it applies to.

A tokenizer is only meaningful for vectors of the encoder it was trained on, so the config names
that encoder (`encoder`, `encoder_version`) next to the network's shape; both are saved with the
weights (tokenizer.py) and checked whenever vectors are encoded.

Presets: `paper-video` / `paper-audio` are AutoCut's final RQ-VAEs as released
(`video_8_256_0729` / `audio_8_256_0729`, AUTOCUT-PAPER-CODE.md section 4.2); `adcut-video` /
`adcut-audio` fit adcut's own CPU encoders (EfficientNet-Lite0 1280-d frames, YAMNet 1024-d
patches) at the same 8 x 256 token budget.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from adcut.core.errors import BadInputError
from adcut.core.validation import echo, problems_of


class TokenizerConfig(BaseModel):
    """Shape and training of one RQ-VAE tokenizer (every field is saved in its config.json)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modality: Literal["video", "audio"] = Field(
        description="what the vectors embed: video frames (<v_l_c> tokens) or music (<a_l_c> tokens)")
    encoder: str = Field(min_length=1, max_length=200,
                         description="encoder spec whose vectors this tokenizer takes, e.g. efficientnet-lite0")
    encoder_version: str = Field(min_length=1, max_length=200,
                                 description="that encoder's version string (weights and preprocessing)")
    input_dim: int = Field(ge=1, description="dimension of the embedding vectors")
    encoder_hidden: list[int] = Field(
        description="hidden sizes of the encoder MLP (Linear -> GELU -> BatchNorm1d each); "
                    "the decoder uses them reversed")
    codebook_dim: int = Field(ge=1, description="dimension of the latent that is quantized")
    levels: int = Field(default=8, ge=1, le=64, description="residual quantization levels (tokens per vector)")
    codebook_size: int = Field(default=256, ge=2, le=65536, description="codes per level")
    kmeans_iters: int = Field(default=10, ge=1, description="k-means iterations of the codebook initialisation")
    threshold_ema_dead_code: int = Field(
        default=2, ge=0, description="a code whose EMA usage falls below this is re-seeded from the batch (0: never)")
    ema_decay: float = Field(default=0.8, gt=0.0, lt=1.0, description="EMA decay of the codebook updates")
    lr: float = Field(default=1e-3, gt=0.0, le=1.0, description="peak learning rate (AdamW)")
    min_lr: float = Field(default=2e-5, ge=0.0, description="learning rate at the end of the cosine decay")
    betas: tuple[float, float] = Field(default=(0.9, 0.98), description="AdamW betas")
    weight_decay: float = Field(default=1e-4, ge=0.0, description="AdamW weight decay")
    batch_size: int = Field(default=8192, ge=2, description="training batch (BatchNorm needs 2 or more)")
    epochs: int = Field(ge=1, le=100_000, description="passes over the training vectors")
    seed: int = Field(default=0, ge=0, lt=2**63, description="seeds the weights, the split and the shuffling")
    heldout_fraction: float = Field(default=0.1, gt=0.0, lt=1.0,
                                    description="share of the vectors held out (whole sources) for the metrics")

    @field_validator("encoder_hidden")
    @classmethod
    def _hidden_positive(cls, v: list[int]) -> list[int]:
        bad = [h for h in v if h < 1]
        if bad:
            raise ValueError(f"hidden sizes must be at least 1 (got {bad[0]})")
        if len(v) > 16:
            raise ValueError(f"{len(v)} hidden layers are too many; at most 16")
        return v

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0.0 <= b < 1.0 for b in v):
            raise ValueError(f"AdamW betas must each be in [0, 1) (got {list(v)})")
        return v

    @model_validator(mode="after")
    def _min_lr_below_lr(self) -> TokenizerConfig:
        if self.min_lr > self.lr:
            raise ValueError(f"min_lr {self.min_lr:g} is above lr {self.lr:g}; the cosine schedule decays "
                             "from lr down to min_lr")
        return self

    @property
    def code_dtype(self) -> str:
        """The smallest numpy integer type that holds every code: uint8 for up to 256 codes."""
        if self.codebook_size <= 256:
            return "uint8"
        return "int16" if self.codebook_size <= 32768 else "int32"

    def describe_encoder(self) -> str:
        return f"{self.encoder} {self.encoder_version}"

    def training_fields(self) -> dict[str, Any]:
        """Every field as JSON data (the form saved in config.json and checkpoints)."""
        return self.model_dump(mode="json")


# The adcut presets train on a personal library on a CPU laptop. 30 epochs: between the paper's
# 20 (video, millions of frames) and 50 (audio, far fewer tracks), since a library has fewer
# vectors than the paper's video set and fewer vectors need more passes; training runs at about
# 6k vectors/s on two cores (1280-d), so 30 epochs of a 20k-frame library (5.5 hours of video at
# 1 fps) take under 2 minutes and of a 100k-frame one under 10. Batch 2048 instead of 8192 keeps
# ~10 optimizer steps per epoch on 20k vectors, while each level's k-means initialisation (on the
# first batch) still gets 8 vectors per code.
_ADCUT_EPOCHS = 30
_ADCUT_BATCH = 2048

PRESETS: dict[str, dict[str, Any]] = {
    # AutoCut video_8_256_0729: 128-d frames of Kuaishou's internal MMU cnnv2 service.
    "paper-video": dict(modality="video", encoder="mmu-cnnv2", input_dim=128, encoder_hidden=[512, 512],
                        codebook_dim=128, levels=8, codebook_size=256, batch_size=8192, epochs=20),
    # AutoCut audio_8_256_0729: 2048-d PANNs Cnn14 embeddings, one per music track.
    "paper-audio": dict(modality="audio", encoder="panns-cnn14", input_dim=2048, encoder_hidden=[1024, 512],
                        codebook_dim=256, levels=8, codebook_size=256, batch_size=8192, epochs=50),
    "adcut-video": dict(modality="video", encoder="efficientnet-lite0", input_dim=1280,
                        encoder_hidden=[1024, 512], codebook_dim=128, levels=8, codebook_size=256,
                        batch_size=_ADCUT_BATCH, epochs=_ADCUT_EPOCHS),
    "adcut-audio": dict(modality="audio", encoder="yamnet", input_dim=1024, encoder_hidden=[1024, 512],
                        codebook_dim=128, levels=8, codebook_size=256,
                        batch_size=_ADCUT_BATCH, epochs=_ADCUT_EPOCHS),
}


def config_from_data(data: object, where: str) -> TokenizerConfig:
    """A TokenizerConfig from parsed JSON data; every problem in one line naming `where`."""
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a JSON object of tokenizer settings")
    try:
        return TokenizerConfig.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"{where}: " + "; ".join(problems_of(exc))) from None


def preset(name: str, **overrides: Any) -> TokenizerConfig:
    """A preset with some fields replaced, e.g. `preset("adcut-video", encoder_version=enc.version)`.

    No preset knows the encoder's version (it depends on the installed weights), so
    `encoder_version` must be given."""
    if name not in PRESETS:
        raise BadInputError(f"unknown tokenizer preset {echo(name)}", hint=f"presets: {', '.join(PRESETS)}")
    if "encoder_version" not in overrides:
        raise BadInputError(f"preset {name!r} needs encoder_version",
                            hint=f"pass the version string of the {PRESETS[name]['encoder']} encoder "
                                 "that produced the vectors")
    return config_from_data({**PRESETS[name], **overrides}, f"tokenizer preset {name!r}")
