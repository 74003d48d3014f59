"""What is in a library, as plain data for `adcut library info|ls`.

`library_info` also runs the cheap checks of `adcut.library.check` (SQLite's integrity check,
array headers, index headers, the thumbnails' folder listing), so a damaged library is never
reported as a healthy one; the full check is `adcut library check`.
"""

from __future__ import annotations

import json
from pathlib import Path

from adcut.library.catalog import CATALOG_NAME, Catalog, ocr_text, row_ocr
from adcut.library.check import find_problems
from adcut.library.index import INDEXES, check_index_file
from adcut.library.store import DamagedFileError


def library_info(catalog: Catalog) -> dict:
    folder = catalog.folder
    found = find_problems(catalog, deep=False)
    # A source file moved or edited since ingest is news for the user, not damage.
    problems = [p.line for p in found if p.what != "source"]
    if found and found[0].what == "catalog":
        return {"library": str(folder), "healthy": False, "problems": problems}
    meta = catalog.meta()
    indexes = {}
    for name in INDEXES:
        try:
            header, info = check_index_file(folder, name)
        except DamagedFileError:
            header, info = None, None
        indexes[name] = {"vectors": 0 if header is None else header.count,
                         "dim": None if header is None else header.dim}
    sources = catalog.sources()
    missing = [s["path"] for s in sources if not Path(s["path"]).exists()]
    warned = [{"path": s["path"], "warnings": json.loads(s["warnings"])}
              for s in sources if json.loads(s["warnings"])]
    return {
        "library": str(folder),
        "healthy": not problems,
        "problems": problems,
        "schema_version": int(meta.get("schema_version", 0)),
        "created_by": meta.get("created_by"),
        "created_at": meta.get("created_at"),
        "footage_encoder": meta.get("footage_encoder"),
        "music_encoder": meta.get("music_encoder"),
        **catalog.counts(),
        **{k: round(v, 3) for k, v in catalog.durations().items()},
        "indexes": indexes,
        "missing_files": missing,
        "files_with_warnings": warned,
    }


def damaged_catalog_info(folder: Path, message: str) -> dict:
    """The info of a library whose catalog cannot even be opened."""
    return {"library": str(folder), "healthy": False,
            "problems": [f"{'catalog':<9} {Path(folder) / CATALOG_NAME}: damaged: {message}"]}


def list_footage(catalog: Catalog) -> list[dict]:
    out = []
    for s in catalog.sources("footage"):
        clips = catalog.clips(s["id"])
        out.append({
            "id": s["id"], "path": s["path"], "duration_s": s["decoded_s"],
            "width": s["width"], "height": s["height"], "rotation_deg": s["rotation_deg"],
            "fps": s["fps"], "is_vfr": bool(s["is_vfr"]), "has_audio": bool(s["has_audio"]),
            "warnings": json.loads(s["warnings"]),
            "still": bool(s["still"]) if "still" in s.keys() else False,
            "clips": [{
                "id": c["id"], "start_s": c["start_s"], "end_s": c["end_s"],
                "thumb": str(catalog.folder / c["thumb"]),
                "has_speech": bool(c["has_speech"]), "has_music": bool(c["has_music"]),
                "labels": [name for name, _ in json.loads(c["labels"])][:3],
                "transcript": c["transcript"], "caption": c["caption"],
                "on_screen": ocr_text(row_ocr(c)[0]), "text_boxes": row_ocr(c)[0],
                "ocr_engine": row_ocr(c)[1],
            } for c in clips],
        })
    return out


def list_music(catalog: Catalog) -> list[dict]:
    out = []
    for t in catalog.tracks():
        windows = catalog.windows(t["source_id"])
        out.append({
            "id": t["source_id"], "path": t["path"], "title": t["title"],
            "duration_s": t["duration_s"], "tempo_bpm": t["tempo_bpm"],
            "beats": len(json.loads(t["beat_times_s"])),
            "integrated_lufs": t["integrated_lufs"], "true_peak_dbtp": t["true_peak_dbtp"],
            "tags": [name for name, _ in json.loads(t["tags"])][:6],
            "windows": len(windows),
        })
    return out
