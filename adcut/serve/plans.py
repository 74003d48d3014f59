"""A plan PUT through the API is checked like a hand-edited plan file, and more.

1. the body is read as `adcut render` reads a plan file (UTF-8 JSON; a mistake is named with
   its line and column), must be an EditPlan (not a Timeline), and is validated by the same
   pydantic model (unknown keys, bad ranges, unknown transitions: every problem listed);
2. every file it names must exist where this server may read: each shot's source must be
   footage of the variant's library, the music a track of it, and any other file (font, logo,
   end-card image, voice model) must lie inside the configured roots or be the one the
   planner put there; a path that leaves the roots is refused outright (403);
3. each shot's range must lie inside its footage (as the render checks it).

Relative paths are read from the variant's folder, as `adcut render` reads them from the plan
file's folder, and saved absolute, so the plan renders the same from anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from adcut.core.errors import BadInputError
from adcut.core.plan import EditPlan
from adcut.serve.errors import ApiError
from adcut.serve.security import inside, real

RANGE_SLACK_S = 0.05  # as adcut.render.compile: container durations are rounded


@dataclass(frozen=True)
class LibraryFiles:
    """What a library holds, by real path: footage (-> duration), music, clip ranges."""

    footage: dict[Path, float]
    music: set[Path]
    clips: dict[str, tuple[Path, float, float]]


def load_library_files(folder: Path) -> LibraryFiles:
    """Read a library's catalog (read-only)."""
    from adcut.library.catalog import Catalog

    footage: dict[Path, float] = {}
    music: set[Path] = set()
    clips: dict[str, tuple[Path, float, float]] = {}
    if not (folder / "catalog.sqlite").exists():
        return LibraryFiles(footage, music, clips)
    with Catalog(folder, readonly=True) as catalog:
        for row in catalog.sources():
            if row["kind"] == "footage":
                footage[real(row["path"])] = float(row["duration_s"])
            else:
                music.add(real(row["path"]))
        for row in catalog.clips():
            clips[row["id"]] = (real(row["path"]), row["start_s"], row["end_s"])
    return LibraryFiles(footage, music, clips)


def parse_plan(raw: bytes) -> EditPlan:
    """The body of a PUT, read as `adcut render` reads a plan file."""
    from adcut.core.validation import decode_text, echo, parse_json_text, problems_of

    try:
        data = parse_json_text(decode_text(raw, "plan"), "plan")
    except BadInputError as exc:
        raise ApiError(422, "invalid_plan", exc.message, exc.hint) from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_plan", "plan: expected a JSON object (an EditPlan)",
                       hint="PUT the document GET returns, edited")
    kind = data.get("kind", "adcut.EditPlan")
    if kind != "adcut.EditPlan":
        raise ApiError(422, "invalid_plan", f"plan: kind {echo(kind)} is not adcut.EditPlan",
                       hint="PUT an EditPlan; timelines are written by renders")
    try:
        return EditPlan.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid_plan", "plan: " + "; ".join(problems_of(exc)),
                       hint="see GET /api/v1/schemas/plan") from None


def other_files(plan: EditPlan) -> list[tuple[str, str]]:
    """(where, raw path) of every file a plan names besides footage and music (PURE)."""
    found = []
    if plan.subtitles.font_file:
        found.append(("subtitles.font_file", plan.subtitles.font_file))
    if plan.end_card is not None:
        for name in ("logo", "image"):
            value = getattr(plan.end_card, name)
            if value:
                found.append((f"end_card.{name}", value))
    voice = plan.voice.voice
    if voice and ("/" in voice or "\\" in voice or voice.startswith((".", "~"))):
        found.append(("voice.voice", voice))
    return found


def _resolve(raw: str, base_dir: Path) -> Path:
    p = Path(raw)
    return p if p.is_absolute() else base_dir / p


def check_plan(plan: EditPlan, *, base_dir: Path, files: LibraryFiles, roots: list[Path],
               original: EditPlan | None) -> EditPlan:
    """Refuse a plan that names files it may not (see the module docstring); return it with
    every path absolute."""
    from adcut.core.validation import echo_path

    problems: list[str] = []
    outside: list[str] = []
    allowed_other = {real(_resolve(v, base_dir)) for _, v in other_files(original)} \
        if original is not None else set()
    if original is not None and original.music is not None:
        allowed_music = {real(_resolve(original.music.source, base_dir))}
    else:
        allowed_music = set()
    shots = []
    for i, shot in enumerate(plan.shots):
        path = real(_resolve(shot.source, base_dir))
        where = f"shots[{i}].source"
        if path not in files.footage:
            (outside if not inside(path, roots) else problems).append(
                f"{where}: {echo_path(shot.source)} is not footage of this variant's library")
            continue
        duration = files.footage[path]
        if shot.in_s >= duration:
            problems.append(f"shots[{i}].in_s: {shot.in_s} s is beyond the end of "
                            f"{echo_path(shot.source)} ({duration:.2f} s)")
        elif shot.out_s > duration + RANGE_SLACK_S:
            problems.append(f"shots[{i}].out_s: {shot.out_s} s is beyond the end of "
                            f"{echo_path(shot.source)} ({duration:.2f} s)")
        if shot.clip_id is not None and shot.clip_id not in files.clips:
            problems.append(f"shots[{i}].clip_id: {shot.clip_id!r} is not a clip of this "
                            "library (leave it out for a range of your own)")
        elif shot.clip_id is not None and files.clips[shot.clip_id][0] != path:
            problems.append(f"shots[{i}].clip_id: clip {shot.clip_id!r} is from another file "
                            "than the shot's source")
        shots.append(shot.model_copy(update={"source": str(path)}))
    update: dict = {"shots": shots} if len(shots) == len(plan.shots) else {}
    if plan.music is not None:
        path = real(_resolve(plan.music.source, base_dir))
        if path not in files.music and path not in allowed_music:
            (outside if not inside(path, roots) else problems).append(
                f"music.source: {echo_path(plan.music.source)} is not a music track of this "
                "variant's library")
        else:
            update["music"] = plan.music.model_copy(update={"source": str(path)})
    normalised: dict[str, str] = {}
    for where, raw in other_files(plan):
        path = real(_resolve(raw, base_dir))
        normalised[where] = str(path)
        if path in allowed_other:
            continue
        if not inside(path, roots):
            outside.append(f"{where}: {echo_path(raw)} is outside the folders this server may "
                           "read")
        elif not path.is_file():
            problems.append(f"{where}: {echo_path(raw)} does not exist")
    if outside:
        raise ApiError(403, "outside_roots", "plan: " + "; ".join(outside[:4]),
                       hint="a plan may name only the library's files and files inside the "
                            "roots (GET /api/v1/roots)")
    if problems:
        raise ApiError(422, "invalid_plan", "plan: " + "; ".join(problems[:6]),
                       hint="see the library's clips: GET /api/v1/libraries/ID/clips")
    if update:
        plan = plan.model_copy(update=update)
    return _with_paths(plan, normalised)


def _with_paths(plan: EditPlan, paths: dict[str, str]) -> EditPlan:
    """The plan with its other files (font, logo, image, voice model) as the real paths that
    were checked: what the render reads is what was allowed (no `~` or relative path read
    another way later)."""
    if "subtitles.font_file" in paths:
        plan = plan.model_copy(update={"subtitles": plan.subtitles.model_copy(
            update={"font_file": paths["subtitles.font_file"]})})
    card = {k.split(".")[1]: v for k, v in paths.items() if k.startswith("end_card.")}
    if card and plan.end_card is not None:
        plan = plan.model_copy(update={"end_card": plan.end_card.model_copy(update=card)})
    if "voice.voice" in paths:
        plan = plan.model_copy(update={"voice": plan.voice.model_copy(
            update={"voice": paths["voice.voice"]})})
    return plan


def plan_json_text(plan: EditPlan) -> str:
    return plan.model_dump_json(indent=2)


def shot_summary(plan_text: str) -> list[dict]:
    """Each shot of a stored plan: index, clip, source, range, line (for a page's list)."""
    data = json.loads(plan_text)
    return [{"index": i, "clip_id": s.get("clip_id"), "source": s.get("source"),
             "in_s": s.get("in_s"), "out_s": s.get("out_s"), "line": s.get("line"),
             "transition": s.get("transition", "cut")} for i, s in enumerate(data["shots"])]
