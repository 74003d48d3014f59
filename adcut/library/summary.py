"""What is in a library, as plain data for `adcut library info|ls`."""

from __future__ import annotations

import json
from pathlib import Path

from adcut.library.catalog import Catalog
from adcut.library.index import INDEXES, load_index


def library_info(catalog: Catalog) -> dict:
    meta = catalog.meta()
    indexes = {}
    for name in INDEXES:
        index, info = load_index(catalog.folder, name)
        indexes[name] = {"vectors": 0 if index is None else int(index.ntotal),
                         "dim": None if info is None else info.get("dim")}
    sources = catalog.sources()
    missing = [s["path"] for s in sources if not Path(s["path"]).exists()]
    warned = [{"path": s["path"], "warnings": json.loads(s["warnings"])}
              for s in sources if json.loads(s["warnings"])]
    return {
        "library": str(catalog.folder),
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


def list_footage(catalog: Catalog) -> list[dict]:
    out = []
    for s in catalog.sources("footage"):
        clips = catalog.clips(s["id"])
        out.append({
            "id": s["id"], "path": s["path"], "duration_s": s["decoded_s"],
            "width": s["width"], "height": s["height"], "rotation_deg": s["rotation_deg"],
            "fps": s["fps"], "is_vfr": bool(s["is_vfr"]), "has_audio": bool(s["has_audio"]),
            "warnings": json.loads(s["warnings"]),
            "clips": [{
                "id": c["id"], "start_s": c["start_s"], "end_s": c["end_s"],
                "thumb": str(catalog.folder / c["thumb"]),
                "has_speech": bool(c["has_speech"]), "has_music": bool(c["has_music"]),
                "labels": [name for name, _ in json.loads(c["labels"])][:3],
                "transcript": c["transcript"], "caption": c["caption"],
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
