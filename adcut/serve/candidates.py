"""The clips a shot could be swapped for, best first, with the planner's own scores.

Two scores per clip, both the zero-shot planner's:
- `line_score`: how well the clip's text (caption, else transcript, else labels, plus the text
  on screen) matches the shot's line, by the planner's text relevance (lexical TF-IDF fused
  with its dense text encoder): the measure the planner assigns lines to clips with;
- `selection_score`: the clip's score when the planner chose this variant's clips (relevance to
  the product and script, coherence with the chosen clips), with its verdict and reason: what
  `adcut edit --explain` prints.
Candidates are ranked by line score, then selection score (a shot without a line: by selection
score alone). Ranking is pure (`rank`); `line_scores` loads the text encoder.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

_CACHE: dict[tuple[str, int], list] = {}
_LOCK = threading.Lock()


def library_clips(folder: Path) -> list:
    """The library's clips as the planner sees them (adcut.planner.edit.load_library), cached
    until the catalog changes."""
    from adcut.planner.edit import load_library

    catalog = folder / "catalog.sqlite"
    wal = folder / "catalog.sqlite-wal"
    stamp = sum(p.stat().st_mtime_ns for p in (catalog, wal) if p.exists())
    key = (str(folder), stamp)
    with _LOCK:
        if key not in _CACHE:
            clips, _ = load_library(folder)
            for old in [k for k in _CACHE if k[0] == key[0]] + list(_CACHE)[:-3]:
                _CACHE.pop(old, None)  # this library's older state; at most 4 libraries kept
            _CACHE[key] = clips
        return _CACHE[key]


def line_scores(line: str, texts: list[str]) -> np.ndarray:
    """The zero-shot planner's relevance of each text to `line`, in [0, 1]."""
    from adcut.planner.registry import load_planner
    from adcut.planner.relevance import TextRelevance

    planner = load_planner("zero-shot")
    relevance = TextRelevance(texts + [line], text_encoder=planner.text_encoder,
                              dense_weight=planner.caption_params.dense_weight)
    return relevance.similarity([line], texts)[0]


def rank(clips: list, scores: np.ndarray | None, explained: dict[str, dict],
         plan_clip_ids: list[str | None], current: str | None, limit: int) -> list[dict]:
    """Candidates for one shot, best first (PURE). `scores`: line scores aligned with `clips`
    (None for a shot without a line); `explained`: the --explain entry of each clip id."""
    rows = []
    for k, c in enumerate(clips):
        e = explained.get(c.id, {})
        rows.append({
            "clip_id": c.id, "source": c.source, "start_s": round(c.start_s, 3),
            "end_s": round(c.end_s, 3), "duration_s": round(c.end_s - c.start_s, 3),
            "text": c.text,
            "line_score": None if scores is None else round(float(scores[k]), 4),
            "selection_score": e.get("score"), "chosen": bool(e.get("chosen", False)),
            "why": e.get("why", "not among the planner's candidates (another variant's pool, "
                                "or added to the library since)"),
            "product_similarity": e.get("product_similarity"),
            "current": c.id == current,
            "in_plan": [i for i, cid in enumerate(plan_clip_ids) if cid == c.id],
            "shot": {"clip_id": c.id, "source": c.source, "in_s": round(c.start_s, 3),
                     "out_s": round(c.end_s, 3),
                     "text_boxes": [list(b) for b in c.text_boxes]},
        })
    rows.sort(key=lambda r: (-(r["line_score"] or 0.0), -(r["selection_score"] or -1e9),
                             r["clip_id"]))
    return rows[:limit]
