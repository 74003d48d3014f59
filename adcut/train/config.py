"""Training recipes: a YAML file per recipe (the base model and each stage's settings), read
into pydantic models that refuse unknown keys, so a typo in a user's YAML is an error, not a
silently ignored setting.

Shipped recipes live in adcut/train/recipes/: `tiny-cpu` (a random tiny Qwen3 for tests),
`smollm2-135m-cpu` (pretrained SmolLM2-135M from its wheel) and `qwen3-8b` (the paper's GPU
settings). `--recipe` takes one of those names or a path to a YAML file of the same shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adcut.core.errors import BadInputError

RECIPES_DIR = Path(__file__).parent / "recipes"
DEEPSPEED_CONFIGS = {"zero2": RECIPES_DIR / "deepspeed-zero2.json"}
STAGES = ("align", "sft")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoraSettings(_Strict):
    r: int = Field(16, ge=1)
    alpha: int = Field(32, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class StageSettings(_Strict):
    """One stage's Trainer settings. `cutoff_len` is the packed block length (align) or the
    longest sample kept (SFT; longer ones are left out and counted)."""

    learning_rate: float = Field(gt=0)
    epochs: float = Field(gt=0)
    batch_size: int = Field(1, ge=1)  # per device
    gradient_accumulation: int = Field(1, ge=1)
    cutoff_len: int = Field(ge=16)
    warmup_ratio: float = Field(0.0, ge=0.0, lt=1.0)
    scheduler: str = "cosine"
    bf16: bool = False
    gradient_checkpointing: bool = False
    deepspeed: str | None = None  # a name in DEEPSPEED_CONFIGS or a JSON path
    eval_steps: int | None = Field(None, ge=1)  # None: evaluate at the end of each epoch
    save_steps: int | None = Field(None, ge=1)  # None: a checkpoint at the end of each epoch
    logging_steps: int = Field(1, ge=1)
    max_steps: int | None = Field(None, ge=1)  # stop early (tests, dry runs)
    seed: int = 0
    lora: LoraSettings | None = None  # SFT only: LoRA adapters instead of full fine-tuning
    # SFT only, for models trained from scratch (adcut.train.sequence): each epoch shows the
    # clip tasks' samples with their clips in a new order; SFT opens with this many batches
    # of clip ordering alone.
    reshuffle_clips: bool = False
    order_warmup_steps: int = Field(0, ge=0)


class TinySettings(_Strict):
    """A random Qwen3 built from this config, and a BPE tokenizer learnt from the data."""

    vocab_size: int = Field(1024, ge=300)
    hidden_size: int = Field(128, ge=16)
    intermediate_size: int = Field(384, ge=16)
    num_hidden_layers: int = Field(4, ge=1)
    num_attention_heads: int = Field(4, ge=1)
    num_key_value_heads: int = Field(2, ge=1)
    head_dim: int = Field(32, ge=4)
    max_position_embeddings: int = Field(4096, ge=128)
    tie_word_embeddings: bool = False
    seed: int = 0


class Architecture(_Strict):
    """A transformer's shape, enough to estimate its memory (the base's config.json values)."""

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    tie_word_embeddings: bool = False


class Recipe(_Strict):
    name: str
    base: str  # "tiny", "smollm2", a local folder or a hub name
    tiny: TinySettings | None = None
    architecture: Architecture | None = None  # for the memory estimate without loading the base
    align: StageSettings
    sft: StageSettings

    def stage(self, name: str) -> StageSettings:
        return self.align if name == "align" else self.sft


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def load_recipe(name_or_path: str) -> Recipe:
    """A shipped recipe by name, or a YAML file of the same shape."""
    import yaml

    path = RECIPES_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        path = Path(name_or_path).expanduser()
        if not path.is_file():
            raise BadInputError(f"unknown recipe {name_or_path!r}",
                                hint=f"use one of {', '.join(recipe_names())} or a YAML file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInputError(f"cannot read recipe {path}: {str(exc).splitlines()[0]}",
                            hint="give a YAML file shaped like adcut/train/recipes/tiny-cpu.yaml") from None
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(f"recipe {path}: {where}: {first['msg']}",
                            hint="compare with adcut/train/recipes/tiny-cpu.yaml") from None


def with_overrides(settings: StageSettings, **overrides) -> StageSettings:
    """The stage's settings with the command line's explicit values (None = keep)."""
    changed = {k: v for k, v in overrides.items() if v is not None}
    try:
        return StageSettings.model_validate({**settings.model_dump(), **changed})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInputError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def deepspeed_config(name: str | None) -> Path | None:
    if name is None:
        return None
    path = DEEPSPEED_CONFIGS.get(name) or Path(name).expanduser()
    if not path.is_file():
        raise BadInputError(f"DeepSpeed config {name!r} not found", hint="use zero2 or a JSON file")
    return path


Stage = Literal["align", "sft"]
