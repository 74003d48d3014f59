"""`adcut library info|ls|check`: what is in a library, and whether it is whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from adcut.cli.app import library_app, note
from adcut.cli.progress import RichIngestProgress


def _open_readonly(folder: Path):
    from adcut.library.catalog import Catalog

    return Catalog(folder, readonly=True)


@library_app.command("info")
def library_info(
    folder: Annotated[Path, typer.Argument(help="Library folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Counts, durations, encoders and index sizes of a library, with quick health checks.

    Exits 1 when the checks find the library damaged (run `adcut library check` for details).
    """
    from adcut.library.catalog import CatalogDamagedError
    from adcut.library.summary import damaged_catalog_info, library_info as build_info

    try:
        with _open_readonly(folder) as catalog:
            info = build_info(catalog)
    except CatalogDamagedError as exc:
        info = damaged_catalog_info(folder, exc.message)
    if as_json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        raise typer.Exit(0 if info["healthy"] else 1)
    if "schema_version" not in info:  # the catalog itself is unreadable
        _print_problems(folder, info["problems"])
        raise typer.Exit(1)
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
    if info["problems"]:
        _print_problems(folder, info["problems"])
        raise typer.Exit(1)


def _print_problems(folder: Path, problems: list[str]) -> None:
    for line in problems:
        print(f"problem        {line}")
    n = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    print(f"damaged        {n}: run `adcut library check {folder}` for a full check, and "
          f"`adcut library check --repair {folder}` to rebuild what can be")


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
        rate = "still" if f["still"] else f"{f['fps']:.2f} fps"
        flags = f"{f['width']}x{f['height']} {rate}" + (" rot" + str(f["rotation_deg"]) if f["rotation_deg"] else "") + (" vfr" if f["is_vfr"] else "")
        print(f"{f['id']}  {f['duration_s']:7.1f} s  {flags}  {f['path']}")
        for c in f["clips"]:
            tags = ("speech " if c["has_speech"] else "") + ("music " if c["has_music"] else "")
            text = c["caption"] or c["transcript"] or ", ".join(c["labels"])
            print(f"    {c['id']}  {c['start_s']:7.2f}-{c['end_s']:7.2f}  {tags}{text[:80]}")
            if c["on_screen"]:
                print(f"    {'':<20}  on screen: {c['on_screen'][:80]!r}")


@library_app.command("check", interrupted="stopped; what was repaired so far is in the library, "
                                          "run the same command again to finish")
def library_check(
    folder: Annotated[Path, typer.Argument(help="Library folder.")],
    repair: Annotated[bool, typer.Option(
        "--repair", help="Rebuild what can be derived again: indexes from the arrays, arrays and "
                         "thumbnails by ingesting their source files again; remove leftovers.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Verify every part of a library against its catalog; with --repair, fix what can be.

    Checks the catalog (SQLite integrity), every embedding array (present, shape, type, values,
    encoder), every index (readable, same vectors, dimension and encoder as the catalog), the
    thumbnails, the source files (gone or changed since ingest) and leftover files. Exits 0
    when the library is healthy, 1 when problems are found (or left after --repair), 2 when
    the folder is not a library.
    """
    from adcut.library.check import check_library, damaged_catalog_advice, repair_library

    if repair:
        with RichIngestProgress() as progress:
            report = repair_library(folder, on_wait=note, progress=progress)
    else:
        report = check_library(folder)
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
        raise typer.Exit(report.exit_code)
    for line in report.notes:
        print(f"note      {line}")
    for line in report.repaired:
        print(line)
    if repair:
        for line in report.unrepaired:
            print(f"{line}")
    else:
        for p in report.problems:
            print(p.line)
    checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    checked = f" ({checked} checked in {report.elapsed_s:.1f} s)" if checked else ""
    if report.healthy:
        done = f"repaired, {len(report.repaired)} fixes" if report.repaired else "healthy"
        print(f"{folder}: {done}{checked}")
    else:
        n = len(report.problems)
        repairable = sum(1 for p in report.problems if p.fix)
        then = (f"; {repairable} can be repaired: adcut library check --repair {folder}"
                if repairable and not repair else "")
        if report.catalog_damaged and not repair:
            then = f"; {damaged_catalog_advice(folder)}"
        print(f"{folder}: {n} problem{'s' if n != 1 else ''}{'' if not repair else ' left'}"
              f"{checked}{then}")
    raise typer.Exit(report.exit_code)
