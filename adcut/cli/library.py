"""`adcut library info|ls`: what is in a library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from adcut.cli.app import library_app


def _open_readonly(folder: Path):
    from adcut.library.catalog import Catalog

    return Catalog(folder, readonly=True)


@library_app.command("info")
def library_info(
    folder: Annotated[Path, typer.Argument(help="Library folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts, durations, encoders and index sizes of a library."""
    from adcut.library.summary import library_info as build_info

    with _open_readonly(folder) as catalog:
        info = build_info(catalog)
    if as_json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return
    print(f"library        {info['library']} (schema v{info['schema_version']}, "
          f"{info['created_by']})")
    print(f"footage        {info['footage_files']} files, {info['footage_s']:.1f} s, "
          f"{info['clips']} clips ({info['clips_with_speech']} with speech), "
          f"{info['frames']} frames embedded")
    print(f"music          {info['music_tracks']} tracks, {info['music_s']:.1f} s, "
          f"{info['music_windows']} windows")
    print(f"captions       {info['captions']}")
    print(f"encoders       footage: {info['footage_encoder'] or '-'}; "
          f"music: {info['music_encoder'] or '-'}")
    for name, idx in info["indexes"].items():
        print(f"index {name:<8} {idx['vectors']} vectors" + (f" x {idx['dim']}-d" if idx["dim"] else ""))
    for path in info["missing_files"]:
        print(f"missing        {path} (moved or deleted since ingest)")
    for item in info["files_with_warnings"]:
        for w in item["warnings"]:
            print(f"warning        {item['path']}: {w}")


@library_app.command("ls")
def library_ls(
    folder: Annotated[Path, typer.Argument(help="Library folder.")],
    music: Annotated[bool, typer.Option("--music", help="List music tracks instead of footage.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every footage file with its clips (or every music track with --music)."""
    from adcut.library.summary import list_footage, list_music

    with _open_readonly(folder) as catalog:
        items = list_music(catalog) if music else list_footage(catalog)
    if as_json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if music:
        for t in items:
            lufs = "-" if t["integrated_lufs"] is None else f"{t['integrated_lufs']:.1f} LUFS"
            print(f"{t['id']}  {t['duration_s']:7.1f} s  {t['tempo_bpm']:6.1f} BPM  {lufs:>11}  "
                  f"{t['path']}  [{', '.join(t['tags'])}]")
        return
    for f in items:
        flags = f"{f['width']}x{f['height']} {f['fps']:.2f} fps" + (" rot" + str(f["rotation_deg"]) if f["rotation_deg"] else "") + (" vfr" if f["is_vfr"] else "")
        print(f"{f['id']}  {f['duration_s']:7.1f} s  {flags}  {f['path']}")
        for c in f["clips"]:
            tags = ("speech " if c["has_speech"] else "") + ("music " if c["has_music"] else "")
            text = c["caption"] or c["transcript"] or ", ".join(c["labels"])
            print(f"    {c['id']}  {c['start_s']:7.2f}-{c['end_s']:7.2f}  {tags}{text[:80]}")
