"""The dataset folder on disk: one finished analysis per ad, and the manifest that says what
built it.

    DATA/build.json            what the analyses and tokens came from (versions, encoders,
                               tokenizer ids); a folder built otherwise is refused without --force
    DATA/ads/KEY.json          the ad's AdAnalysis (written last: its presence means "done")
    DATA/ads/KEY.npz           its vectors: frames (n_seconds, d), music (d,) when it has music
    DATA/thumbs/KEY/NNN.jpg    the first frame of clip NNN
    DATA/skipped/KEY.json      why an ad could not be used (retried on the next run)

Every file is written under a temporary name and renamed into place, so an interrupted
build leaves each ad either finished or absent.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adcut.core.errors import OutputError
from adcut.core.files import write_atomic
from adcut.dataset.types import AdAnalysis, Clip, Music, Sentence, Word
from adcut.tasks.types import Product

MANIFEST = "build.json"
FORMAT = "adcut-dataset/1"


def _dump(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def analysis_to_json(a: AdAnalysis) -> dict:
    product = None if a.product is None else {
        "name": a.product.name, "brand": a.product.brand,
        "selling_points": list(a.product.selling_points)}
    return {
        "key": a.key, "source": a.source, "sha256": a.sha256, "duration_s": a.duration_s,
        "language": a.language,
        "words": [[w.start_s, w.end_s, w.text] for w in a.words],
        "sentences": [[s.start_s, s.end_s, s.text] for s in a.sentences],
        "clips": [{"start_s": c.start_s, "end_s": c.end_s, "text": c.text,
                   "frame_seconds": list(c.frame_seconds), "shot_starts_s": list(c.shot_starts_s)}
                  for c in a.clips],
        "product": product, "product_source": a.product_source,
        "music": None if a.music is None else {
            "seconds": [list(s) for s in a.music.seconds], "method": a.music.method},
        "notes": dict(a.notes),
    }


def analysis_from_json(d: dict) -> AdAnalysis:
    p = d.get("product")
    m = d.get("music")
    return AdAnalysis(
        key=d["key"], source=d["source"], sha256=d["sha256"], duration_s=d["duration_s"],
        language=d["language"],
        words=[Word(float(s), float(e), t) for s, e, t in d["words"]],
        sentences=[Sentence(t, float(s), float(e)) for s, e, t in d["sentences"]],
        clips=[Clip(c["start_s"], c["end_s"], c["text"], list(c["frame_seconds"]),
                    list(c["shot_starts_s"])) for c in d["clips"]],
        product=None if p is None else Product(p["name"], p["brand"], list(p["selling_points"])),
        product_source=d["product_source"],
        music=None if m is None else Music([tuple(s) for s in m["seconds"]], m["method"]),
        notes=dict(d.get("notes", {})),
    )


class DatasetFolder:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.ads = self.root / "ads"
        self.thumbs = self.root / "thumbs"
        self.skipped = self.root / "skipped"

    # -- the manifest ------------------------------------------------------------------

    def manifest(self) -> dict | None:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def prepare(self, analysis: dict, *, force: bool) -> None:
        """Make the folder ready for a build whose analyses come from `analysis` (the build
        options' fingerprint). A folder holding other files, or analyses made otherwise (another
        adcut version, encoder or ASR model), is refused without `force`; with it, the stale
        analyses are removed."""
        have = self.manifest()
        if have is None:
            if self.root.exists() and any(self.root.iterdir()):
                if not force:
                    raise OutputError(f"{self.root} is not empty and holds no adcut dataset",
                                      hint="choose a new folder, or pass --force to build into it")
            self.root.mkdir(parents=True, exist_ok=True)
        elif have.get("format") != FORMAT or have.get("analysis") != analysis:
            if not force:
                raise OutputError(
                    f"{self.root} was built by {_describe(have)}, not {_describe({'analysis': analysis})}",
                    hint="build into a new folder, or pass --force to rebuild this one")
            for sub in (self.ads, self.thumbs, self.skipped):
                shutil.rmtree(sub, ignore_errors=True)
        for sub in (self.ads, self.thumbs, self.skipped):
            sub.mkdir(parents=True, exist_ok=True)
        # Recorded before any ad is analysed, so an interrupted build is recognised and resumed.
        kept = have if have and have.get("analysis") == analysis else {}
        self.write_manifest({**{k: v for k, v in kept.items() if k != "format"}, "analysis": analysis})

    def write_manifest(self, content: dict) -> None:
        write_atomic(self.root / MANIFEST, _dump({"format": FORMAT, **content}))

    # -- per-ad results ----------------------------------------------------------------

    def finished(self) -> set[str]:
        return {p.stem for p in self.ads.glob("*.json")}

    def save_ad(self, analysis: AdAnalysis, frames: np.ndarray, music: np.ndarray | None,
                thumbs: dict[int, bytes], encoders: dict[str, list[str]]) -> None:
        key = analysis.key
        folder = self.thumbs / key
        temp = self.thumbs / f".{key}.tmp"
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir(parents=True)
        for index, data in sorted(thumbs.items()):
            (temp / f"{index:03d}.jpg").write_bytes(data)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(temp, folder)
        buf = io.BytesIO()
        arrays = {"frames": frames.astype(np.float32)}
        if music is not None:
            arrays["music"] = music.astype(np.float32)
        np.savez(buf, **arrays)
        write_atomic(self.ads / f"{key}.npz", buf.getvalue())
        (self.skipped / f"{key}.json").unlink(missing_ok=True)
        write_atomic(self.ads / f"{key}.json",
                     _dump({**analysis_to_json(analysis), "encoders": encoders}))

    def save_skip(self, key: str, source: str, reason: str) -> None:
        write_atomic(self.skipped / f"{key}.json", _dump({"key": key, "source": source, "reason": reason}))

    def skips(self) -> dict[str, dict]:
        out = {}
        for p in sorted(self.skipped.glob("*.json")):
            try:
                out[p.stem] = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
        return out

    def load_doc(self, key: str) -> dict:
        """The ad's stored JSON (its analysis and the encoders of its vectors), without them."""
        return json.loads((self.ads / f"{key}.json").read_text(encoding="utf-8"))

    def load_ad(self, key: str) -> StoredAd:
        doc = self.load_doc(key)
        with np.load(self.ads / f"{key}.npz") as z:
            frames = z["frames"]
            music = z["music"] if "music" in z.files else None
        return StoredAd(analysis_from_json(doc), frames, music,
                        {k: tuple(v) for k, v in doc.get("encoders", {}).items()})


@dataclass(frozen=True)
class StoredAd:
    analysis: AdAnalysis
    frames: np.ndarray
    music: np.ndarray | None
    encoders: dict[str, tuple[str, str]]


def _describe(manifest: dict) -> str:
    a = manifest.get("analysis") or {}
    if not a:
        return "an unknown build"
    return f"adcut {a.get('adcut')} with {a.get('vision')}/{a.get('audio')}, ASR {a.get('asr')}"
