"""Tests of adcut.tasks. The released AutoCut-364 dev files live in ../shared/autocut364
(or shared/autocut364 inside the checkout); tests that need them skip when absent."""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]


def dev_dir() -> Path | None:
    """The autocut364 dev folder, or None (ADCUT_AUTOCUT364 overrides the search)."""
    candidates = [os.environ.get("ADCUT_AUTOCUT364", ""), _REPO / "shared" / "autocut364",
                  _REPO.parent / "shared" / "autocut364"]
    for c in candidates:
        if c and (Path(c) / "F___vidselect_Qwen3_8B.jsonl").is_file():
            return Path(c)
    return None


# The nine task files: file name -> (task, track).
RELEASE_FILES = {
    f"F___{stem}_{system}.jsonl": (task, track)
    for stem, task in (("vidselect", "vid_select"), ("vidsort", "vid_sort"), ("vid2text", "vid2text"))
    for system, track in (("Qwen3_8B", "caption"), ("gpt4o", "image"), ("atc_embsft", "tokens"))
}
