"""Human (or model) descriptions stored next to footage.

Two forms are read:
- `NAME.txt` beside `NAME.mp4`: a free description of the whole file;
- `captions.jsonl` in the footage folder, one JSON object a line:
  `{"file": "NAME.mp4", "text": "...", "start_s": 1.0, "end_s": 3.5}` (times optional: whole file).
"""

from __future__ import annotations

import json
from pathlib import Path

from adcut.library.catalog import CaptionRecord

CAPTIONS_FILE = "captions.jsonl"


def parse_captions_jsonl(text: str, origin: str) -> tuple[dict[str, list[CaptionRecord]], list[str]]:
    """Captions per file name, and one warning per line that could not be used."""
    by_file: dict[str, list[CaptionRecord]] = {}
    warnings: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{origin} line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            warnings.append(f"{where}: not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            warnings.append(f"{where}: expected an object with 'file' and 'text'")
            continue
        name, caption = obj.get("file"), obj.get("text")
        if not isinstance(name, str) or not isinstance(caption, str) or not caption.strip():
            warnings.append(f"{where}: needs a 'file' name and a non-empty 'text'")
            continue
        start_s, end_s = obj.get("start_s"), obj.get("end_s")
        if (start_s is None) != (end_s is None):
            warnings.append(f"{where}: give both 'start_s' and 'end_s', or neither")
            continue
        if start_s is not None:
            if not all(isinstance(v, (int, float)) for v in (start_s, end_s)) or not (
                    0 <= start_s < end_s):
                warnings.append(f"{where}: needs 0 <= start_s < end_s (got {start_s}, {end_s})")
                continue
            start_s, end_s = float(start_s), float(end_s)
        by_file.setdefault(Path(name).name, []).append(
            CaptionRecord(start_s, end_s, caption.strip(), f"sidecar:{origin}"))
    return by_file, warnings


def load_sidecar_captions(video: Path) -> tuple[list[CaptionRecord], list[str]]:
    """Captions for one video from its `.txt` and its folder's captions.jsonl."""
    captions: list[CaptionRecord] = []
    warnings: list[str] = []
    txt = video.with_suffix(".txt")
    if txt.is_file():
        text = txt.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            captions.append(CaptionRecord(None, None, text, f"sidecar:{txt.name}"))
    jsonl = video.parent / CAPTIONS_FILE
    if jsonl.is_file():
        by_file, problems = parse_captions_jsonl(
            jsonl.read_text(encoding="utf-8", errors="replace"), CAPTIONS_FILE)
        captions.extend(by_file.get(video.name, []))
        warnings.extend(problems)
    return captions, warnings


def captions_for_range(captions: list[CaptionRecord], start_s: float, end_s: float) -> str:
    """The text of the captions that describe [start_s, end_s): whole-file ones and overlapping ones."""
    parts: list[str] = []
    for c in captions:
        if c.start_s is None or (c.start_s < end_s and c.end_s > start_s):
            if c.text not in parts:
                parts.append(c.text)
    return " ".join(parts)


def captions_hash(captions: list[CaptionRecord]) -> str:
    """A short hash of the sidecar captions that apply to one file (their times, text and
    origin, in file order): stored with the source, so a re-run of ingest sees captions added
    or edited since and updates the clips' text without decoding the video again."""
    import hashlib

    data = json.dumps([[c.start_s, c.end_s, c.text, c.origin] for c in captions
                       if c.origin.startswith("sidecar:")], ensure_ascii=False)
    return hashlib.blake2b(data.encode("utf-8"), digest_size=12).hexdigest()
