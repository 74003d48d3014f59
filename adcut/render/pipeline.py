"""`adcut render`: a plan or timeline file becomes the MP4 and its companions.

All or nothing. The MP4 and its companions (.srt, .otio, .timeline.json, .manifest.json,
.qc.json) are the members of one OutputGroup (adcut.core.outputs). Before any work the group
refuses an existing member without --force, a member that is one of the render's own inputs
(footage, music, the document) even with --force, and an output folder it cannot write, and it
locks every member against a second command. The MP4 is then encoded into a temporary file,
every companion is written to a temporary file, QC runs on the temporary MP4, and only then are
all of them renamed into place, the MP4 last. A failure at any step (a full disk while writing
a companion, Ctrl-C, SIGTERM) leaves no output; the temporary files of a killed run are removed
by the next run on the same output. A failed quality check is not a failed render: the set is
kept for inspection.

One exception to "never write over an input": re-rendering OUT.timeline.json to OUT.mp4 (the
documented way to hand-edit a render and render it again) leaves that timeline file as it is
and writes the other members.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from adcut.core.errors import BadInputError
from adcut.core.files import cache_dir
from adcut.core.outputs import OutputGroup, write_error
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline
from adcut.core.timing import phase

MP4 = "mp4"  # the primary member of a render's output group
# Members that are folders: the voice lines the .otio and .timeline.json refer to, beside the
# MP4 (OUT.voice/01.wav...) rather than in a cache that is cleared or not there on another
# machine.
RENDER_FOLDERS = ("voice",)


@dataclass
class RenderOutcome:
    output: Path
    timeline: Timeline
    command: list[str]
    elapsed_s: float = 0.0
    companions: dict[str, str] = field(default_factory=dict)
    checks: list = field(default_factory=list)
    width: int = 0  # the size actually rendered (half the timeline's for a preview)
    height: int = 0

    @property
    def qc_ok(self) -> bool:
        return all(c.ok for c in self.checks)


def companion_paths(output: Path) -> dict[str, Path]:
    stem = output.with_suffix("")
    return {
        "srt": stem.with_suffix(".srt"),
        "otio": stem.with_suffix(".otio"),
        "timeline": Path(f"{stem}.timeline.json"),
        "manifest": Path(f"{stem}.manifest.json"),
        "qc": Path(f"{stem}.qc.json"),
        "voice": Path(f"{stem}.voice"),
    }


def render_members(output: Path) -> dict[str, Path]:
    """Every file a render of `output` writes, by key (the MP4 under MP4)."""
    output = Path(output)
    return {MP4: output, **companion_paths(output)}


def check_output_name(output: Path) -> None:
    if Path(output).suffix.lower() != ".mp4":
        raise BadInputError(f"-o {output}: the output must be an .mp4 file")


def document_sources(document: EditPlan | Timeline, *, base_dir: Path | None) -> list[Path]:
    """The files a document names (footage, music, voice, font), as the render will read
    them: known before the plan is compiled, so the outputs are checked before any work."""
    if isinstance(document, Timeline):
        from adcut.render.run import timeline_sources

        return timeline_sources(document)
    from adcut.render.compile import resolve

    raw = [s.source for s in document.shots]
    if document.music is not None:
        raw.append(document.music.source)
    if document.subtitles.font_file:
        raw.append(document.subtitles.font_file)
    if document.end_card is not None:
        raw += [p for p in (document.end_card.logo, document.end_card.image) if p]
    return [resolve(r, base_dir) for r in dict.fromkeys(raw)]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a.absolute() == b.absolute()


def render_group(output: Path, document: EditPlan | Timeline, *, force: bool,
                 base_dir: Path | None, document_path: Path | None = None,
                 extra: dict[str, Path] | None = None,
                 extra_sources: list[Path] | None = None) -> OutputGroup:
    """The output group of a render of `document` to `output` (not entered yet): the MP4,
    its companions and the `extra` members (an edit's plan). The document's own files and
    `extra_sources` are sources; a document that is the render's own OUT.timeline.json is
    left out of the members (rendered, not rewritten)."""
    check_output_name(output)
    members = render_members(output)
    sources = document_sources(document, base_dir=base_dir) + list(extra_sources or [])
    if document_path is not None:
        document_path = Path(document_path)
        if _same_file(document_path, members["timeline"]):
            del members["timeline"]
        sources.append(document_path)
    members.update(extra or {})
    return OutputGroup(members, force=force, sources=sources, primary=MP4,
                       folders=RENDER_FOLDERS)


def to_timeline(document: EditPlan | Timeline, *, base_dir: Path, label: str) -> Timeline:
    if isinstance(document, Timeline):
        from adcut.render.compile import check_timeline_sources

        check_timeline_sources(document, label=label)  # as compile_plan checks a plan's
        return document
    from adcut.render.compile import compile_plan, gather_facts

    facts = gather_facts(document, cache_dir=cache_dir(), base_dir=base_dir)
    return compile_plan(document, facts, base_dir=base_dir, label=label)


def _write_captions(timeline: Timeline, folder: Path, output: Path) -> tuple[Path | None,
                                                                            Path | None]:
    """The burned-in captions as an ASS file in `folder`, and the fonts folder libass reads;
    (None, None) for an ad without captions."""
    from adcut.render.subtitles import build_ass, has_ass

    if not has_ass(timeline):
        return None, None
    ass_path = folder / "captions.ass"
    try:
        ass_path.write_text(build_ass(timeline), encoding="utf-8")
    except OSError as exc:
        raise write_error(output, exc) from None
    font_file = timeline.subtitles.font_file if timeline.captions and timeline.subtitles \
        else timeline.end_card.font_file
    return ass_path, Path(font_file).parent


def render_document(document: EditPlan | Timeline, output: Path, *, base_dir: Path,
                    label: str = "plan", preview: bool = False, force: bool = False,
                    print_only: bool = False,
                    on_progress: Callable[[float, float], None] | None = None,
                    document_path: Path | None = None,
                    group: OutputGroup | None = None) -> RenderOutcome:
    """Compile (for a plan), render, write the companions, run QC, then put them all in place
    (see the module docstring). `on_progress(done_s, total_s)` follows the encode.

    With `group` (an entered group holding render_members(output), e.g. an edit's, which also
    holds the plan), the files are written to its temporary files and the caller commits."""
    output = Path(output)
    if print_only:
        from adcut.render.run import print_command

        timeline = to_timeline(document, base_dir=base_dir, label=label)
        with tempfile.TemporaryDirectory(prefix="adcut-render-") as tmp:
            ass_path, fonts_dir = _write_captions(timeline, Path(tmp), output)
            command = print_command(timeline, output, ass_path=ass_path, fonts_dir=fonts_dir,
                                    preview=preview)
        return RenderOutcome(output, timeline, [command])
    if group is not None:
        return _render(group, document, base_dir=base_dir, label=label, preview=preview,
                       on_progress=on_progress, document_path=document_path)
    with render_group(output, document, force=force, base_dir=base_dir,
                      document_path=document_path) as own:
        outcome = _render(own, document, base_dir=base_dir, label=label, preview=preview,
                          on_progress=on_progress, document_path=document_path)
        own.commit()
    return outcome


def _voice_beside(group: OutputGroup, timeline: Timeline) -> Timeline:
    """The voice lines copied into the group's voice folder (01.wav, 02.wav... in the order
    spoken), and the timeline as exported: its voice cues naming those copies. A group without
    a voice folder, or an ad without voice, exports the timeline as it is."""
    if "voice" not in group.members or not timeline.voice:
        return timeline
    folder = group.members["voice"].absolute()
    names = [f"{k + 1:02d}{Path(v.path).suffix or '.wav'}" for k, v in enumerate(timeline.voice)]
    group.write_folder("voice", {n: Path(v.path) for n, v in zip(names, timeline.voice)})
    return timeline.model_copy(update={"voice": [
        v.model_copy(update={"path": str(folder / n)}) for n, v in zip(names, timeline.voice)]})


def _render(group: OutputGroup, document: EditPlan | Timeline, *, base_dir: Path, label: str,
            preview: bool, on_progress: Callable[[float, float], None] | None,
            document_path: Path | None) -> RenderOutcome:
    from adcut.render.export import build_manifest, otio_json
    from adcut.render.graph import output_size
    from adcut.render.qc import build_qc_report, run_qc, start_voice_reference
    from adcut.render.run import render_into
    from adcut.render.subtitles import build_srt, caption_boxes

    output = group.path(MP4)
    timeline = to_timeline(document, base_dir=base_dir, label=label)
    work = group.temp_dir(MP4)  # the captions file, the picture and the sound
    ass_path, fonts_dir = _write_captions(timeline, work, output)
    total_s = timeline.duration_s
    # QC's reference (the voice lines alone) is rendered beside the encode, not after it.
    voice_reference = start_voice_reference(timeline)
    result = render_into(
        group, MP4, timeline, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
        work_dir=work,
        on_progress=(lambda done_s: on_progress(done_s, total_s)) if on_progress else None)
    width, height = output_size(timeline, preview)
    outcome = RenderOutcome(output, timeline, result.command, result.elapsed_s,
                            width=width, height=height)

    members = group.members
    with phase("companions"):
        exported = _voice_beside(group, timeline)
        if timeline.captions:
            group.write("srt", build_srt(timeline).encode("utf-8"))
        group.write("otio", otio_json(exported))
        if "timeline" in members:
            group.write("timeline", exported.model_dump_json(indent=2).encode())
        group.write("manifest", json.dumps(build_manifest(exported, output=str(output)),
                                           indent=2, ensure_ascii=False).encode())
    with phase("qc"):
        # The preview is half size, so full-size caption boxes would not describe it.
        boxes = caption_boxes(timeline) if timeline.captions and not preview else None
        written = str(result.written)
        outcome.checks = [replace(c, detail=c.detail.replace(written, str(output)))
                          for c in run_qc(result.written, timeline, caption_boxes=boxes,
                                          picture_logs=list(result.picture_logs),
                                          voice_reference=voice_reference)]
        group.write("qc", build_qc_report(outcome.checks))

    for key in ("srt", "otio", "timeline", "manifest", "qc", "voice"):
        if group.written(key):
            outcome.companions[key] = str(members[key])
    if "timeline" not in members and document_path is not None:
        outcome.companions["timeline"] = str(document_path)  # the input, left as it was
    return outcome
