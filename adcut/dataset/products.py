"""What each finished ad sells: product, brand and selling points, for the task prompts.

In order of trust: a `NAME.json` beside the video, a row of the `products.csv` the user
named (keyed by file name), or, when the user named an OpenAI-compatible endpoint, the
model's reading of the ad's own lines (the paper had Qwen3-32B do this, section 2.6).
Without any of them the ad is left out of the tasks that need product facts.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from adcut.core.errors import BadInputError
from adcut.tasks.types import Product

CSV_COLUMNS = ("file", "product", "brand", "selling_points")
# The paper splits the model's feature list on these and keeps at most 5 short items.
_POINT_SPLIT = re.compile(r"[,，、;；|/]")
MAX_POINTS = 5
MAX_POINT_CHARS = 12


@dataclass(frozen=True)
class ProductFacts:
    product: Product
    source: str  # "sidecar", "products.csv" or "llm"
    language: str | None = None  # a language the sidecar states for the ad


def split_points(value: object) -> list[str]:
    """Selling points from a list or a delimited string, stripped, empties dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else _POINT_SPLIT.split(str(value))
    return [str(p).strip() for p in items if str(p).strip()]


def _product(fields: dict, where: str) -> Product:
    name = str(fields.get("product") or "").strip()
    if not name:
        raise BadInputError(f"{where} names no product",
                            hint='give at least "product" (and "brand", "selling_points")')
    return Product(name=name, brand=str(fields.get("brand") or "").strip(),
                   selling_points=split_points(fields.get("selling_points")))


def read_sidecar(video: Path) -> ProductFacts | None:
    """`NAME.json` beside the video, or None when there is none."""
    path = video.with_suffix(".json")
    if not path.is_file():
        return None
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{path} is not valid JSON: {exc}",
                            hint='write {"product": ..., "brand": ..., "selling_points": [...]}') from exc
    if not isinstance(fields, dict):
        raise BadInputError(f"{path} is not a JSON object",
                            hint='write {"product": ..., "brand": ..., "selling_points": [...]}')
    language = fields.get("language")
    return ProductFacts(_product(fields, str(path)), "sidecar",
                        language if language in ("zh", "en") else None)


def read_products_csv(path: Path) -> dict[str, ProductFacts]:
    """The rows of a products.csv by file name (the name of the video, with or without its
    extension). Refused whole when a required column is missing: a silently empty table
    would drop every ad from the tasks."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = [c.strip() for c in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadInputError(f"cannot read {path}: {exc}",
                            hint=f"give a UTF-8 CSV with columns {', '.join(CSV_COLUMNS)}") from exc
    if not rows:
        raise BadInputError(f"{path} has no rows", hint=f"columns: {', '.join(CSV_COLUMNS)}")
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise BadInputError(f"{path} lacks the column(s) {', '.join(missing)}",
                            hint=f"the header must name {', '.join(CSV_COLUMNS)}")
    table: dict[str, ProductFacts] = {}
    for i, raw in enumerate(rows, start=2):
        row = {str(k).strip(): (v or "") for k, v in raw.items() if k is not None}
        name = row["file"].strip()
        if not name:
            continue
        language = row.get("language", "").strip() or None
        facts = ProductFacts(_product(row, f"{path} line {i}"), "products.csv",
                             language if language in ("zh", "en") else None)
        table[name] = facts
        table.setdefault(Path(name).stem, facts)
    return table


def from_table(video: Path, table: dict[str, ProductFacts]) -> ProductFacts | None:
    return table.get(video.name) or table.get(video.stem)


PRODUCT_PROMPT = (
    "Below are the spoken lines of one advertisement. Say what it sells, using only what the "
    "lines say. Answer with exactly three lines and nothing else:\n"
    "brand: <the brand, or none>\nproduct: <the product>\n"
    "features: <up to 5 short selling points, comma-separated>\n\nLines:\n{lines}"
)


def parse_product_answer(text: str) -> Product | None:
    """The `brand:` / `product:` / `features:` lines of a model's answer, or None without a
    product. Features are split and capped as in the paper (5 items of at most 12 characters
    for Chinese; English words are longer, so English items are capped at 40)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            key, sep, value = line.partition("：")
        key = key.strip().lower()
        if sep and key in ("brand", "product", "features"):
            fields[key] = value.strip()
    name = fields.get("product", "")
    if not name or name.lower() in ("none", "unknown", "无"):
        return None
    brand = fields.get("brand", "")
    brand = "" if brand.lower() in ("none", "unknown", "无") else brand
    points = []
    for p in split_points(fields.get("features", "")):
        limit = MAX_POINT_CHARS if re.search(r"[\u4e00-\u9fff]", p) else 40
        points.append(p[:limit])
    return Product(name=name, brand=brand, selling_points=points[:MAX_POINTS])


def ask_model(backend, lines: list[str]) -> ProductFacts | None:
    """The product facts an OpenAI-compatible model reads from the ad's lines."""
    if not lines:
        return None
    answer = backend.complete(PRODUCT_PROMPT.format(lines="\n".join(lines)), max_tokens=200)
    product = parse_product_answer(answer)
    return ProductFacts(product, "llm") if product else None
