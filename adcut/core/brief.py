"""The product brief: what the ad must say and how it must feel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator

from adcut.core.errors import BadInputError
from adcut.core.plan import LANGUAGE_PATTERN, MAX_PATH_CHARS, Strict
from adcut.core.validation import (echo, parse_json_text, parse_yaml_text, problems_of,
                                   read_text_file, shorten)

CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


MIN_DURATION_S, MAX_DURATION_S = 5.0, 180.0
# Field lengths: a brief is read by people and spoken in a short ad; far longer text is a
# mistake (a wrong file, a paste gone wrong), refused with one line.
MAX_PRODUCT_CHARS = 120
MAX_POINTS, MAX_POINT_CHARS = 20, 200
MAX_DESCRIPTION_CHARS = 4000
FREE_TEXT_EXAMPLE = 'adcut edit --brief "Spark running shoe, light and fast" ...'
MAX_IMAGES = 20
HEX_COLOR = r"^#[0-9A-Fa-f]{6}$"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class Brief(Strict):
    product: str = Field(min_length=1, max_length=MAX_PRODUCT_CHARS, description="what is advertised")
    brand: str = Field("", max_length=80)
    selling_points: list[Annotated[str, Field(max_length=MAX_POINT_CHARS)]] = Field(
        default_factory=list, max_length=MAX_POINTS)
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS,
                             description="free text: audience, setting, anything else")
    language: str = Field("auto", max_length=35, pattern=f"^auto$|{LANGUAGE_PATTERN}",
                          description="en, zh, ... or auto (from the text)")
    duration_s: float = Field(30.0, ge=MIN_DURATION_S, le=MAX_DURATION_S,
                              description="target length of the ad")
    aspect: Literal["9:16", "1:1", "16:9", "4:5"] = "9:16"
    tone: str = Field("energetic", max_length=60,
                      description="energetic, calm, playful, premium, warm, ...")
    call_to_action: str | None = Field(None, max_length=200,
                                       description="the last line, e.g. 'Order today'")
    price: str | None = Field(None, max_length=60, description="as it may be said and shown, "
                                                               "e.g. '$4.99'")
    offer: str | None = Field(None, max_length=200,
                              description="a time-limited deal, e.g. 'Buy one, get one free'")
    url: str | None = Field(None, max_length=200, description="shown on the end card, e.g. "
                                                              "'verde.coffee'")
    product_images: list[Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)]] = Field(
        default_factory=list, max_length=MAX_IMAGES,
        description="photos or packshots of the product (PNG/JPG): clips that look like them "
                    "are the product shots; paths relative to the brief file")
    logo: str | None = Field(None, min_length=1, max_length=MAX_PATH_CHARS,
                             description="the brand's logo image (PNG/JPG), for the end card")
    brand_colors: list[Annotated[str, Field(pattern=HEX_COLOR)]] = Field(
        default_factory=list, max_length=3,
        description="the brand's colours as #RRGGBB, main colour first (end card, captions)")
    pronounce: dict[Annotated[str, Field(min_length=1, max_length=100)],
                    Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=dict, max_length=100,
        description="how the voice says words: {shown text: spoken text}, e.g. "
                    "{'Verde': 'VER-day', 'verde.coffee': 'verde dot coffee'}")

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
    """A free-text brief: its first phrase names the product, the other phrases give its
    selling points, price, offer, web address and call to action (parse_free_text); the
    whole text is kept as the description."""
    text = " ".join(text.split())
    if not text:
        raise BadInputError("the brief is empty", hint="say what the ad is for")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise BadInputError(f"the brief is {len(text)} characters long; a free-text brief may "
                            f"have at most {MAX_DESCRIPTION_CHARS}",
                            hint="shorten it, or write a brief file (YAML) with its fields")
    fields = parse_free_text(text)
    return Brief(description=text, **fields)


# Free-text clauses: split at sentence and clause punctuation, but never inside a price
# ("$4.99"), a number ("1,000") or a URL ("verde.coffee"): a period or comma splits only
# when a space or the end follows it; Chinese punctuation always splits.
_CLAUSE_SPLIT = re.compile(r"[.,;!?](?=\s|$)|[。，、；！？\n]|\s[-–—]\s")
_PRICE_RE = re.compile(
    r"(?:[$€£¥￥₹]\s?\d+(?:[.,]\d+)*|\d+(?:[.,]\d+)*\s?(?:元|块|美元|欧元|dollars?|euros?|USD|EUR|GBP|RMB)"
    r"(?![A-Za-z]))", re.IGNORECASE)


def prices_in(text: str) -> list[str]:
    """The prices `text` states ("$4.99", "29.9元", "12 euros"), as written."""
    return [m.group(0) for m in _PRICE_RE.finditer(text)]


_URL_RE = re.compile(r"(?:https?://)?(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,12}"
                     r"(?:/[^\s，。]*)?", re.IGNORECASE)
_CTA_RE = re.compile(
    r"^(?:order|shop|buy|get|visit|try|call|book|download|sign up|subscribe|tap|click|find|"
    r"grab|pick up|discover|learn more|join|start|reserve|pre-?order)\b|"
    r"^(?:立即|马上|赶紧|快来|快去|点击|下单|购买|抢购|访问|扫码|关注|预订|预约)", re.IGNORECASE)
_OFFER_RE = re.compile(
    r"\b(?:\d+\s?% off|off\b.*\d|free shipping|free delivery|buy \w+,? get|bogo|sale|discount|"
    r"coupon|promo|limited time|today only|free gift)\b|买.送.|折|满.+减|包邮|优惠|限时|赠|送",
    re.IGNORECASE)


# What the ad itself should be, said in a clause of its own: "20 s", "a 15-second ad", "20秒",
# "30秒视频"; "vertical", "9:16", "竖屏".
_DURATION_RE = re.compile(
    r"^(?:(?:a|an|in)\s+)?(\d{1,3}(?:\.\d)?)\s?-?\s?(?:s|sec|secs|seconds?|秒钟?)"
    r"(?:\s*(?:long|ad|advert|video|spot|clip|cut|广告|视频|短视频))?$", re.IGNORECASE)
_ASPECTS = {"9:16": "9:16", "1:1": "1:1", "16:9": "16:9", "4:5": "4:5", "vertical": "9:16",
            "portrait": "9:16", "square": "1:1", "horizontal": "16:9", "landscape": "16:9",
            "竖屏": "9:16", "竖版": "9:16", "方形": "1:1", "横屏": "16:9", "横版": "16:9"}
# A product named before a colon: "Verde Cold Brew: steeped for 18 hours", "CityHop共享单车：几秒解锁".
_HEAD_COLON = re.compile(r"\s*[：:](?=\s|[^\d/])\s*")
# A product and its maker: "Verde Cold Brew by Verde", "Trail shoes by Peak & Co." (a brand of
# one to three capitalised words).
_HEAD_BY = re.compile(r"(?P<product>.+?)\s+by\s+(?P<brand>[A-Z][\w&'.-]*(?:\s+[A-Z&][\w&'.-]*){0,2})")


def _ad_format(clause: str, fields: dict) -> bool:
    """Record a clause that gives the ad's length or aspect (not a selling point); True if it did."""
    duration = _DURATION_RE.match(clause)
    if duration and "duration_s" not in fields:
        seconds = float(duration.group(1))
        if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
            raise BadInputError(f"the brief asks for a {duration.group(1)} s ad; adcut makes ads of "
                                f"{MIN_DURATION_S:g} to {MAX_DURATION_S:g} s", hint="ask for a length in that range")
        fields["duration_s"] = seconds
        return True
    words = clause.lower().removesuffix(" video").removesuffix("视频").strip()
    if words in _ASPECTS and "aspect" not in fields:
        fields["aspect"] = _ASPECTS[words]
        return True
    return False


def parse_free_text(text: str) -> dict:
    """The fields a one-line brief states: its first clause names the product (up to a colon:
    what follows the colon is a selling point; "X by Brand" gives the brand); a clause with a
    price gives `price`, one with a web address `url`, one that starts with an imperative
    ("order at verde.coffee", 立即下单) `call_to_action`, one with a deal ("20% off", 买一送一)
    `offer`, one that is only a length or an aspect ("20 s", "20秒", "vertical") the ad's
    `duration_s` or `aspect`; every other clause is a selling point. English and Chinese
    punctuation."""
    clauses = [c.strip(" \t\"'“”") for c in _CLAUSE_SPLIT.split(text)]
    clauses = [c for c in clauses if c]
    if not clauses:
        return {"product": text[:60].strip()}
    head, *rest = _HEAD_COLON.split(clauses[0], maxsplit=1)
    if rest and head.strip() and rest[0].strip():
        clauses = [head.strip(), rest[0].strip(), *clauses[1:]]
    head = clauses[0]
    fields: dict = {"product": head if len(head) <= 60 else text[:60].strip()}
    maker = _HEAD_BY.fullmatch(head)
    if maker and len(head) <= 60:
        fields.update(product=maker["product"], brand=maker["brand"])
    points: list[str] = []
    for clause in clauses[1:]:
        if _ad_format(clause, fields):
            continue
        price = _PRICE_RE.search(clause)
        url = _URL_RE.search(clause) if not price else None
        if url and "url" not in fields:
            fields["url"] = url.group(0).rstrip(".")
        if _CTA_RE.search(clause) and "call_to_action" not in fields:
            fields["call_to_action"] = clause[:1].upper() + clause[1:]
        elif _OFFER_RE.search(clause) and "offer" not in fields:
            fields["offer"] = clause
        elif price and "price" not in fields:
            fields["price"] = price.group(0)
        elif url:
            continue  # a bare address: the URL is all it says
        elif len(points) < MAX_POINTS:
            points.append(clause[:MAX_POINT_CHARS])
    if points:
        fields["selling_points"] = points
    return fields


def validate_brief(data: object, where: str) -> Brief:
    """A brief from parsed data; every problem in one line, each with its field."""
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: expected a mapping of fields (product, brand, ...)",
                            hint="start with a line such as  product: Spark running shoe")
    if not str(data.get("product") or "").strip():
        raise BadInputError(f"{where}: the brief names no product",
                            hint="add a line such as  product: Spark running shoe")
    try:
        return Brief.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"{where}: " + "; ".join(problems_of(exc))) from None


def load_brief(value: str) -> Brief:
    """`--brief`: a YAML/JSON file, or free text.

    Files must be UTF-8 text (UTF-16/32 with a byte-order mark are read too); a mistake in one
    is said in one line with its line and column."""
    if "\x00" in value:
        raise BadInputError("the brief contains a NUL character", hint="check the --brief value")
    if not value.strip():
        raise BadInputError("the brief is empty",
                            hint=f"give a brief file or the brief as text: {FREE_TEXT_EXAMPLE}")
    path = Path(value).expanduser() if len(value) < 4096 else None
    suffix = path.suffix.lower() if path is not None else ""
    try:
        is_dir, is_file = (path.is_dir(), path.is_file()) if path is not None else (False, False)
    except OSError:  # e.g. a name longer than the file system allows: it is text
        is_dir = is_file = False
    if is_dir:
        raise BadInputError(f"brief {shorten(value, 120)} is a folder",
                            hint="give a brief file (YAML, JSON or text) or the brief as text")
    if suffix in (".yaml", ".yml", ".json", ".txt") and not is_file:
        raise BadInputError(f"brief file {echo(value, 120)} does not exist",
                            hint=f"check the path, or give the brief as text: {FREE_TEXT_EXAMPLE}")
    if not is_file:
        return brief_from_text(value)
    text = read_text_file(path, "brief file")
    where = shorten(value, 120)
    if suffix == ".txt":
        return brief_from_text(text)
    if suffix == ".json":
        data = parse_json_text(text, where)
    elif suffix in (".yaml", ".yml"):
        data = parse_yaml_text(text, where)
    else:  # another name: YAML when it reads as a mapping of fields, else free text
        try:
            data = parse_yaml_text(text, where)
        except BadInputError:
            data = None
        if not isinstance(data, dict):
            return brief_from_text(text)
    return with_images_found(validate_brief(data, where), path.parent, where)


def with_images_found(brief: Brief, base: Path, where: str) -> Brief:
    """The brief with its product images and logo as absolute paths (relative ones are read
    from the brief file's folder), each checked to be an image file that exists."""
    def found(value: str, field: str) -> str:
        image = Path(value).expanduser()
        image = image if image.is_absolute() else base / image
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            raise BadInputError(f"{where}: {field}: {echo(value, 120)} is not a PNG or JPG image",
                                hint="give product photos or packshots as .png or .jpg files")
        if not image.is_file():
            raise BadInputError(f"{where}: {field}: {echo(value, 120)} does not exist",
                                hint="paths are read from the brief file's folder")
        return str(image.resolve())

    images = [found(v, f"product_images[{i}]") for i, v in enumerate(brief.product_images)]
    logo = found(brief.logo, "logo") if brief.logo else None
    return brief.model_copy(update={"product_images": images, "logo": logo})


def brief_with_overrides(brief: Brief, *, aspect: str | None = None,
                         duration_s: float | None = None) -> Brief:
    """The brief with the command line's --aspect / --duration, each checked and refused in
    the words of the option the user typed."""
    import math

    if duration_s is not None and not (
            math.isfinite(duration_s) and MIN_DURATION_S <= duration_s <= MAX_DURATION_S):
        raise BadInputError(f"--duration {duration_s:g}: the ad must be {MIN_DURATION_S:g} to "
                            f"{MAX_DURATION_S:g} s long", hint="e.g. --duration 30")
    updates = {k: v for k, v in (("aspect", aspect), ("duration_s", duration_s)) if v is not None}
    if not updates:
        return brief
    try:
        return Brief.model_validate({**brief.model_dump(), **updates})
    except ValidationError as exc:
        raise BadInputError("; ".join(problems_of(exc))) from None
