"""`adcut edit` and `adcut demo`: a brief and a library become finished ads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from adcut.cli.app import app
from adcut.cli.progress import RichIngestProgress, RichRenderProgress
from adcut.core.errors import AdcutError, BadInputError


def variant_paths(output: Path, count: int) -> list[Path]:
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{k + 1}{output.suffix}") for k in range(count)]


def print_explanation(plan, why) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"candidate clips ({plan.planner})", show_lines=False)
    for col in ("clip", "span", "score", "chosen", "why", "what it shows"):
        table.add_column(col)
    for c in sorted(why.clips, key=lambda c: (not c["chosen"], -(c["score"] or 0))):
        score = "-" if c["score"] is None else f"{c['score']:.3f}"
        table.add_row(c["id"], f"{c['start_s']:.1f}-{c['end_s']:.1f}", score,
                      "yes" if c["chosen"] else "", c["why"], (c["text"] or "")[:60])
    console = Console(stderr=True, width=160)
    console.print(table)
    for line in why.music:
        console.print(f"music: {line}")
    for line in why.notes:
        console.print(f"note: {line}")


def edit_plan_paths(output: Path, variants: int, plan_only: Path | None) -> list[Path]:
    """Where each variant's plan goes: the --plan-only file(s), else OUT.plan.json beside
    each OUT.mp4."""
    if plan_only:
        return variant_paths(plan_only, variants)
    return [Path(f"{o.with_suffix('')}.plan.json") for o in variant_paths(output, variants)]


def edit_groups(output: Path, variants: int, plan_only: Path | None, *, force: bool,
                sources: list[Path]):
    """One output group per variant (not entered yet): its plan, and unless `plan_only` its
    MP4 with every companion. All of them are checked and locked before the planner runs, so
    a refusal comes before minutes of work and a variant never replaces a user's file."""
    from adcut.core.outputs import OutputGroup
    from adcut.render.pipeline import MP4, RENDER_FOLDERS, check_output_name, render_members

    plans = edit_plan_paths(output, variants, plan_only)
    if plan_only:
        return [OutputGroup({"plan": p}, force=force, sources=sources) for p in plans]
    groups = []
    for out, plan_path in zip(variant_paths(output, variants), plans):
        check_output_name(out)
        groups.append(OutputGroup({**render_members(out), "plan": plan_path}, force=force,
                                  sources=sources, primary=MP4, folders=RENDER_FOLDERS))
    return groups


def _existing_file(value: str | Path | None) -> Path | None:
    """`value` as a path when it names an existing file (a brief may be free text)."""
    if value is None:
        return None
    try:
        return Path(value) if Path(value).is_file() else None
    except (OSError, ValueError):  # free text too long for a file name, or with a NUL
        return None


LANGUAGE_NAMES = {"zh": "Chinese", "ja": "Japanese", "ko": "Korean", "es": "Spanish",
                  "fr": "French", "de": "German", "it": "Italian", "pt": "Portuguese",
                  "ru": "Russian", "ar": "Arabic", "hi": "Hindi"}


def missing_voice_warning(language: str, engine: str = "hibari") -> str | None:
    """The warning for a brief in a language no installed voice of `engine` speaks (the plan
    then asks for no voice-over), or None."""
    from adcut.voice.tts import languages_spoken, primary_language

    lang = primary_language(language)
    if lang in languages_spoken(engine):
        return None
    name = LANGUAGE_NAMES.get(lang, language)
    return (f"no offline voice speaks {name} ({language}): the ad has subtitles only, no "
            "voice-over (no neural voice for it ships in a package; `adcut voices` lists the "
            "voices)")


def run_edit(library: Path, brief_value: str, output: Path, *, aspect: str | None,
             duration: float | None, planner_spec: str, model: str | None, voice: str | None,
             plan_only: Path | None, seed: int, variants: int, explain: bool, force: bool,
             script_file: Path | None, as_json: bool, preview: bool = False) -> int:
    import contextlib

    from adcut.core.brief import brief_with_overrides, load_brief
    from adcut.core.timing import phase, recording
    from adcut.library.looks import chosen_crops
    from adcut.planner.edit import library_tokens, load_library, plan_variants
    from adcut.planner.registry import load_planner
    from adcut.planner.script import load_script
    from adcut.render.pipeline import render_document
    from adcut.voice.tts import check_voice

    # Every input is checked before any work, each refusal one line naming what was wrong.
    brief = brief_with_overrides(load_brief(brief_value), aspect=aspect, duration_s=duration)
    script = load_script(script_file) if script_file is not None else None
    if voice is not None:
        check_voice("hibari", None if voice == "none" else voice)
    no_voice = None if voice == "none" else missing_voice_warning(brief.resolved_language)
    if no_voice:  # said before any work, not as a note after it
        print(f"warning  {no_voice}", file=sys.stderr)
    outputs = variant_paths(output, variants)
    plan_paths = edit_plan_paths(output, variants, plan_only)
    for group in edit_groups(output, variants, plan_only, force=force, sources=[]):
        group.check()  # an existing output or a bad folder is refused before any work
    if not (library / "catalog.sqlite").exists():
        raise BadInputError(f"{library} is not an adcut library",
                            hint=f"build one: adcut ingest FOOTAGE... --library {library}")
    with recording() as shared:  # what all variants share: the library and the planning
        with phase("library"):
            clips, tracks = load_library(library)
    # Never written over, even with --force: the footage, the music, the brief, the script.
    sources = [Path(c.source) for c in clips] + [Path(t.path) for t in tracks]
    sources += [p for p in (_existing_file(brief_value), _existing_file(script_file)) if p]
    groups = edit_groups(output, variants, plan_only, force=force, sources=sources)
    report = []
    with contextlib.ExitStack() as stack:
        for group in groups:
            stack.enter_context(group)
        planner = load_planner(planner_spec, model, language=brief.resolved_language)
        from adcut.planner.retrieve import open_retriever

        with recording() as planning, phase("plan"):
            # a token-reading planner (the trained model) sees clips and music as its own
            # RQ-VAE tokens; every other planner gets them back unchanged
            clips, tracks = library_tokens(library, clips, tracks, planner)
            retriever = open_retriever(library) if len(clips) > 80 else None
            results = plan_variants(clips, tracks, brief, planner, count=variants, seed=seed,
                                    script=script, retrieve=retriever)
        with recording() as cropping, phase("crops"):
            # each shot's crop chosen from the frames ingest kept, written into the plan
            results = [(chosen_crops(plan, library), why) for plan, why in results]
        shared.update(planning)
        shared.update(cropping)
        for k, ((plan, why), group, plan_path, out) in enumerate(
                zip(results, groups, plan_paths, outputs)):
            if voice is not None or no_voice:
                plan = plan.model_copy(update={"voice": plan.voice.model_copy(
                    update={"engine": "none"} if voice == "none" or no_voice
                    else {"voice": voice})})
            group.write("plan", plan.model_dump_json(indent=2).encode())
            if explain:
                print_explanation(plan, why)
            for line in why.music[:1] + [n for n in why.notes if "library" in n]:
                print(f"note     {line}", file=sys.stderr)
            entry = {"plan": str(plan_path), "shots": len(plan.shots),
                     "music": plan.music.source if plan.music else None,
                     "warnings": [no_voice] if no_voice else []}
            if not plan_only:
                with RichRenderProgress() as progress, recording() as rendering:
                    outcome = render_document(plan, out, base_dir=plan_path.parent,
                                              label=str(plan_path), force=force,
                                              preview=preview, on_progress=progress.update,
                                              group=group)
                # seconds per phase; the first variant also carries what all of them share
                phases = {**(shared if k == 0 else {}), **rendering}
                entry["phases_s"] = {name: round(sec, 2) for name, sec in phases.items()}
                for line in outcome.timeline.notes:
                    print(f"note     {line}", file=sys.stderr)
                entry.update({"output": str(out), "duration_s": outcome.timeline.duration_s,
                              "elapsed_s": round(outcome.elapsed_s, 2), "qc_ok": outcome.qc_ok,
                              "failed_checks": [c.name for c in outcome.checks if not c.ok]})
            group.commit()  # this variant's plan, MP4 and companions, all at once
            report.append(entry)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for e in report:
            if "output" in e:
                qc = "QC ok" if e["qc_ok"] else "QC FAILED: " + ", ".join(e["failed_checks"])
                print(f"{e['output']}: {e['duration_s']:.1f} s, {e['shots']} shots, "
                      f"rendered in {e['elapsed_s']:.1f} s, {qc} (plan: {e['plan']})")
            else:
                print(f"{e['plan']}: {e['shots']} shots (render it with: adcut render {e['plan']} -o OUT.mp4)")
    return 0 if all(e.get("qc_ok", True) for e in report) else 1


@app.command(interrupted="no partial output was left")
def edit(
    library: Annotated[Path, typer.Option("--library", "-l", help="Library folder built by adcut ingest.")],
    brief: Annotated[str, typer.Option("--brief", "-b", help="Brief file (YAML/JSON) or free text.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write (OUT-1.mp4... with --variants).")] = Path("ad.mp4"),
    aspect: Annotated[Optional[Literal["9:16", "1:1", "16:9", "4:5"]], typer.Option(help="Format of the ad (default: the brief's).")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Target length in seconds, 5 to 180 (default: the brief's).")] = None,
    planner: Annotated[str, typer.Option(help="zero-shot | openai URL | hf PATH | model PATH | model URL (docs/serving.md).")] = "zero-shot",
    model: Annotated[Optional[str], typer.Option(help="Model name for --planner openai URL / model URL.")] = None,
    voice: Annotated[Optional[str], typer.Option(help="Voice name, or none for no voice-over.")] = None,
    plan_only: Annotated[Optional[Path], typer.Option("--plan-only", help="Write the plan here and stop before rendering.")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Makes every choice reproducible.")] = 0,
    variants: Annotated[int, typer.Option(min=1, max=20, help="Make N ads that differ in hook, order and music, and in clips where the library has clips to spare.")] = 1,
    explain: Annotated[bool, typer.Option("--explain", help="Show every candidate clip with its score and why.")] = False,
    script: Annotated[Optional[Path], typer.Option(help="Use this script (one line per shot) instead of writing one.")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Fast third-size render (360x640 for 9:16) to check the edit; render the plan in full later.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON (with the seconds spent per phase).")] = False,
) -> None:
    """Brief + library -> a finished ad (plan, voice-over, subtitles, music, render, QC)."""
    code = run_edit(library, brief, output, aspect=aspect, duration=duration,
                    planner_spec=planner, model=model, voice=voice, plan_only=plan_only,
                    seed=seed, variants=variants, explain=explain, force=force,
                    script_file=script, as_json=as_json, preview=preview)
    raise typer.Exit(code)


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write.")] = Path("demo.mp4"),
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """A finished 9:16 ad from sample media shipped in packages: no set-up beyond install."""
    from adcut.core.files import cache_dir
    from adcut.demo import BRIEF, stage_media
    from adcut.library.ingest import IngestOptions, ingest as run_ingest
    for group in edit_groups(output, 1, None, force=force, sources=[]):
        group.check()  # refused before the sample media are staged and ingested
    folder = cache_dir() / "demo"
    footage, music = stage_media(folder)
    library = folder / "library"
    for paths, options in (([footage], IngestOptions(asr=None)),
                           ([music], IngestOptions(music=True))):
        with RichIngestProgress() as progress:
            report = run_ingest(paths, library, options, progress)
        if report.exit_code != 0:
            bad = [o for o in report.outcomes if not o.ok]
            raise AdcutError(f"demo media could not be ingested: {bad[0].path}: {bad[0].message}")
    code = run_edit(library, str(BRIEF), output, aspect=None, duration=None,
                    planner_spec="zero-shot", model=None, voice=None, plan_only=None, seed=0,
                    variants=1, explain=False, force=force, script_file=None, as_json=False)
    raise typer.Exit(code)
