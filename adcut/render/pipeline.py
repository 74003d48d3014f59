"""`adcut render`: a plan or timeline file becomes the MP4 and its companions.

Order matters for "nothing lost": the output is checked before any work, the MP4 is written
under a temporary name and renamed when complete (render.run), the companions (.srt, .otio,
.timeline.json, .manifest.json) are written atomically after it, and QC runs last, so a failed
check leaves every file in place for inspection.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adcut.core.errors import BadInputError
from adcut.core.files import cache_dir, write_atomic
from adcut.core.plan import EditPlan
from adcut.core.timeline import Timeline


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
    }


def check_output(output: Path, *, force: bool) -> None:
    """Refuse before any work: an existing file without --force, a folder we cannot write."""
    if output.suffix.lower() != ".mp4":
        raise BadInputError(f"-o {output}: the output must be an .mp4 file")
    if output.exists() and not force:
        raise BadInputError(f"{output} already exists", hint="pass --force to replace it")
    folder = output.parent
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist", hint="create it first")
    try:  # a real probe: permission bits, ACLs, read-only mounts and full disks all show here
        fd, probe = tempfile.mkstemp(prefix=".adcut-probe-", dir=folder)
    except OSError:
        raise BadInputError(f"output folder {folder} is not writable",
                            hint="choose another -o or fix the folder's permissions") from None
    os.close(fd)
    os.unlink(probe)


def to_timeline(document: EditPlan | Timeline, *, base_dir: Path, label: str) -> Timeline:
    if isinstance(document, Timeline):
        return document
    from adcut.render.compile import compile_plan, gather_facts

    facts = gather_facts(document, cache_dir=cache_dir(), base_dir=base_dir)
    return compile_plan(document, facts, base_dir=base_dir, label=label)


def render_document(document: EditPlan | Timeline, output: Path, *, base_dir: Path,
                    label: str = "plan", preview: bool = False, force: bool = False,
                    print_only: bool = False,
                    on_progress: Callable[[float, float], None] | None = None,
                    document_path: Path | None = None) -> RenderOutcome:
    """Compile (for a plan), render, write the companions, run QC. `on_progress(done_s,
    total_s)` follows the encode."""
    from adcut.render.run import print_command, render_timeline
    from adcut.render.subtitles import build_ass, build_srt, caption_boxes

    output = Path(output)
    if not print_only:
        check_output(output, force=force)
    timeline = to_timeline(document, base_dir=base_dir, label=label)
    with tempfile.TemporaryDirectory(prefix="adcut-render-") as tmp:
        ass_path = fonts_dir = None
        if timeline.captions and timeline.subtitles is not None:
            ass_path = Path(tmp) / "captions.ass"
            ass_path.write_text(build_ass(timeline), encoding="utf-8")
            fonts_dir = Path(timeline.subtitles.font_file).parent
        if print_only:
            command = print_command(timeline, output, ass_path=ass_path, fonts_dir=fonts_dir,
                                    preview=preview)
            return RenderOutcome(output, timeline, [command])
        total_s = timeline.duration_s
        result = render_timeline(
            timeline, output, ass_path=ass_path, fonts_dir=fonts_dir, preview=preview,
            force=force,
            on_progress=(lambda done_s: on_progress(done_s, total_s)) if on_progress else None)
    from adcut.render.graph import output_size

    width, height = output_size(timeline, preview)
    outcome = RenderOutcome(output, timeline, result.command, result.elapsed_s,
                            width=width, height=height)
    paths = companion_paths(output)
    if timeline.captions:
        write_atomic(paths["srt"], build_srt(timeline).encode("utf-8"))
        outcome.companions["srt"] = str(paths["srt"])
    from adcut.render.export import build_manifest, write_otio

    write_otio(timeline, paths["otio"])
    write_atomic(paths["timeline"], timeline.model_dump_json(indent=2).encode())
    write_atomic(paths["manifest"], json.dumps(build_manifest(timeline, output=str(output)),
                                               indent=2, ensure_ascii=False).encode())
    outcome.companions.update({k: str(paths[k]) for k in ("otio", "timeline", "manifest")})

    from adcut.render.qc import run_qc, write_qc

    # The preview is half size, so full-size caption boxes would not describe it.
    boxes = caption_boxes(timeline) if timeline.captions and not preview else None
    outcome.checks = run_qc(output, timeline, caption_boxes=boxes)
    write_qc(outcome.checks, paths["qc"])
    outcome.companions["qc"] = str(paths["qc"])
    return outcome
