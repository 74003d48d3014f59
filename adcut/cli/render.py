"""`adcut render` and `adcut schema`: plans and timelines into finished MP4s."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from adcut.cli.app import app
from adcut.cli.progress import RichRenderProgress
from adcut.core.errors import BadInputError


@app.command(interrupted="no output was written")
def render(
    document: Annotated[Path, typer.Argument(help="An EditPlan (plan.json) or a Timeline JSON file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write.")],
    preview: Annotated[bool, typer.Option("--preview", help="Fast low-resolution render.")] = False,
    print_ffmpeg: Annotated[bool, typer.Option("--print-ffmpeg", help="Print the exact ffmpeg commands (loudness pass, picture, sound, join); render nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Render a plan or timeline to a finished MP4 in one ffmpeg pass.

    Beside OUT.mp4: OUT.srt, OUT.otio (for an NLE), OUT.timeline.json, OUT.manifest.json
    (sources, music, font, voice and their licences) and OUT.qc.json (quality checks).
    """
    from adcut.render.export import load_document
    from adcut.render.pipeline import render_document

    doc = load_document(document)
    with RichRenderProgress() as progress:
        outcome = render_document(
            doc, output, base_dir=document.resolve().parent, label=str(document),
            preview=preview, force=force, print_only=print_ffmpeg,
            on_progress=progress.update, document_path=document)
    if print_ffmpeg:
        print(outcome.command[0])
        return
    for line in outcome.timeline.notes:
        print(f"note     {line}", file=sys.stderr)
    if as_json:
        print(json.dumps({
            "output": str(outcome.output), "elapsed_s": round(outcome.elapsed_s, 3),
            "duration_s": outcome.timeline.duration_s, "companions": outcome.companions,
            "width": outcome.width, "height": outcome.height,
            "qc_ok": outcome.qc_ok, "checks": [c.__dict__ for c in outcome.checks],
            "notes": outcome.timeline.notes}, indent=2, ensure_ascii=False))
    else:
        print(f"{outcome.output}: {outcome.timeline.duration_s:.2f} s, "
              f"{outcome.width}x{outcome.height} @ {outcome.timeline.fps} fps"
              f"{' (preview)' if preview else ''}, rendered in {outcome.elapsed_s:.1f} s")
        for check in outcome.checks:
            mark = "ok  " if check.ok else "FAIL"
            print(f"  {mark} {check.name:<12} {check.detail}")
    if not outcome.qc_ok:
        failed = ", ".join(c.name for c in outcome.checks if not c.ok)
        print(f"error: quality checks failed ({failed}); the file is kept for inspection",
              file=sys.stderr)
        raise typer.Exit(1)


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="brief | plan | timeline")],
) -> None:
    """Print the JSON Schema of a brief, an EditPlan or a Timeline (for editors and validators)."""
    from adcut.core.brief import Brief
    from adcut.core.plan import EditPlan
    from adcut.core.timeline import Timeline

    models = {"brief": Brief, "plan": EditPlan, "timeline": Timeline}
    if document not in models:
        raise BadInputError(f"unknown document {document!r}", hint="use brief, plan or timeline")
    print(json.dumps(models[document].model_json_schema(), indent=2))
