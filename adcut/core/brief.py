"""The product brief: what the ad must say and how it must feel."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from adcut.core.errors import BadInputError
from adcut.core.plan import Strict
from adcut.core.validation import problems_of

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


class Brief(Strict):
    product: str = Field(min_length=1, description="what is advertised")
    brand: str = ""
    selling_points: list[str] = Field(default_factory=list)
    description: str = Field("", description="free text: audience, setting, anything else")
    language: str = Field("auto", description="en, zh, ... or auto (from the text)")
    duration_s: float = Field(30.0, ge=5, le=180, description="target length of the ad")
    aspect: Literal["9:16", "1:1", "16:9", "4:5"] = "9:16"
    tone: str = Field("energetic", description="energetic, calm, playful, premium, warm, ...")
    call_to_action: str | None = Field(None, description="the last line, e.g. 'Order today'")

    @field_validator("product")
    @classmethod
    def _product(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("the brief names no product")
        return value

    @property
    def resolved_language(self) -> str:
        if self.language != "auto":
            return self.language
        text = " ".join([self.product, self.brand, self.description, *self.selling_points])
        return "zh" if len(CJK.findall(text)) >= max(2, 0.2 * len(text.replace(" ", ""))) else "en"


def brief_from_text(text: str) -> Brief:
    """A free-text brief: its first phrase names the product, the rest describes it."""
    text = " ".join(text.split())
    if not text:
        raise BadInputError("the brief is empty", hint="say what the ad is for")
    head = re.split(r"[.!?。！？:：,，;；\-–—]", text, maxsplit=1)[0].strip()
    product = head if 0 < len(head) <= 60 else text[:60].strip()
    return Brief(product=product, description=text)


def load_brief(value: str) -> Brief:
    """`--brief`: a YAML/JSON file, or free text."""
    path = Path(value).expanduser()
    looks_like_file = path.suffix.lower() in (".yaml", ".yml", ".json", ".txt")
    if looks_like_file and not path.is_file():
        raise BadInputError(f"brief file {value} does not exist")
    if not path.is_file():
        return brief_from_text(value)
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".txt":
        return brief_from_text(raw)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except Exception as exc:  # yaml and json raise many kinds
        raise BadInputError(f"{path}: cannot be read as {path.suffix[1:].upper()} ({exc})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a mapping of fields (product, brand, ...)")
    if not str(data.get("product") or "").strip():
        raise BadInputError(f"{path}: the brief names no product",
                            hint="add a line such as  product: Spark running shoe")
    try:
        return Brief.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"{path}: " + "; ".join(problems_of(exc))) from None
