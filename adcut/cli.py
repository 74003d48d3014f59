"""The adcut command line: parses arguments, calls the stages, prints results.

Results go to stdout, logs and progress to stderr. Exit codes: 0 success, 1 partial success or
failed checks, 2 bad input (one line saying what was wrong and what to do).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut import __version__
from adcut.core.errors import AdcutError, BadInputError

app = typer.Typer(
    name="adcut",
    help="Turn raw footage, a product brief and a music library into a finished ad.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
library_app = typer.Typer(help="Inspect a library built by `adcut ingest`.", no_args_is_help=True)
app.add_typer(library_app, name="library")

log = logging.getLogger("adcut")


def _version(value: bool) -> None:
    if value:
        print(f"adcut {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")] = False,
    version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


# -- ingest ---------------------------------------------------------------------------------

class RichIngestProgress:
    """Files, shots and frames done, with an ETA over the seconds of media to process."""

    def __init__(self) -> None:
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[files]} files  {task.fields[shots]} shots  "
                       "{task.fields[frames]} frames"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=_stderr_console(),
            transient=False,
        )
        self._task = None
        self._files_total = 0
        self._files_done = 0
        self._shots = 0
        self._frames = 0

    # The bar appears only once there is work: a no-op re-run or an early error prints nothing.
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._task is not None:
            self._progress.stop()

    def _update(self, **kw):
        if self._task is None:
            return
        self._progress.update(self._task, files=f"{self._files_done}/{self._files_total}",
                              shots=self._shots, frames=self._frames, **kw)

    def start(self, files: int, total_s: float) -> None:
        if files == 0:  # nothing new: no bar to show
            return
        self._files_total = files
        self._progress.start()
        self._task = self._progress.add_task("ingest", total=max(total_s, 1e-6), files="0/0",
                                             shots=0, frames=0)
        self._update()

    def file_started(self, path: Path, duration_s: float) -> None:
        name = path.name if len(path.name) <= 32 else path.name[:29] + "..."
        self._update(description=name)

    def advance(self, seconds: float = 0.0, shots: int = 0, frames: int = 0) -> None:
        self._shots += shots
        self._frames += frames
        self._update(advance=seconds)

    def file_done(self, outcome) -> None:
        self._files_done += 1
        self._update()


def _fail(exc: AdcutError) -> typer.Exit:
    line = f"error: {exc.message}"
    if exc.hint:
        line += f" ({exc.hint})"
    print(line, file=sys.stderr)
    return typer.Exit(exc.exit_code)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Footage (or music) files and folders.")],
    library: Annotated[Path, typer.Option("--library", "-l", help="Library folder (created if new).")],
    music: Annotated[bool, typer.Option("--music", help="Ingest music tracks, not footage.")] = False,
    vision: Annotated[str, typer.Option(help="Vision encoder: efficientnet-lite0 | clip:PATH_OR_NAME.")] = "efficientnet-lite0",
    audio: Annotated[str, typer.Option(help="Audio encoder: yamnet | panns:CHECKPOINT.")] = "yamnet",
    text: Annotated[str, typer.Option(help="Text encoder for what clips show: minilm | st:NAME_OR_PATH | none.")] = "minilm",
    asr: Annotated[str, typer.Option(help="Speech recognition: tiny.en | PATH to a CTranslate2 Whisper model | none.")] = "tiny.en",
    max_shot: Annotated[float, typer.Option(min=1.0, help="Split takes longer than this many seconds.")] = 8.0,
    min_shot: Annotated[float, typer.Option(min=0.3, help="Shortest shot kept, in seconds.")] = 0.4,
    cut_threshold: Annotated[float, typer.Option(min=1.0, help="Shot-cut sensitivity (PySceneDetect content threshold; lower finds more cuts).")] = 27.0,
    captioner: Annotated[Optional[str], typer.Option(help="OpenAI-compatible vision endpoint base URL for clip captions (off by default).")] = None,
    captioner_model: Annotated[str, typer.Option(help="Model name for --captioner.")] = "gpt-4o-mini",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Probe, split into shots, embed and index footage (or music with --music).

    Re-running only processes new or changed files; an interrupted run resumes.
    """
    from adcut.library.captioner import Captioner
    from adcut.library.ingest import IngestOptions, ingest as run_ingest

    try:
        options = IngestOptions(
            music=music, vision=vision, audio=audio,
            text=None if text.lower() == "none" else text,
            asr=None if asr.lower() == "none" else asr,
            max_shot_s=max_shot, min_shot_s=min(min_shot, max_shot / 2),
            cut_threshold=cut_threshold,
            captioner=Captioner(captioner, captioner_model) if captioner else None)
        with RichIngestProgress() as progress:
            report = run_ingest(paths, library, options, progress)
    except AdcutError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        print("interrupted: files finished so far are in the library; run the same command "
              "again to resume", file=sys.stderr)
        raise typer.Exit(130) from None
    if as_json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_ingest_report(report)
    raise typer.Exit(report.exit_code)


def _print_ingest_report(report) -> None:
    counts: dict[str, int] = {}
    for o in report.outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        if o.status == "skipped":
            print(f"skipped  {o.path}: {o.message}")
        elif o.status in ("duplicate", "moved"):
            print(f"{o.status:<8} {o.path}: {o.message}")
        for w in o.warnings:
            print(f"warning  {o.path}: {w}")
    clips = sum(o.clips for o in report.outcomes)
    windows = sum(o.windows for o in report.outcomes)
    seconds = sum(o.duration_s for o in report.outcomes if o.status == "ingested")
    parts = [f"{n} {status}" for status, n in sorted(counts.items())]
    print(f"{report.library}: {', '.join(parts) or 'nothing to do'}; "
          f"{clips} clips, {windows} music windows from {seconds:.1f} s of new media "
          f"in {report.elapsed_s:.1f} s")


# -- render ---------------------------------------------------------------------------------

@app.command()
def render(
    document: Annotated[Path, typer.Argument(help="An EditPlan (plan.json) or a Timeline JSON file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write.")],
    preview: Annotated[bool, typer.Option("--preview", help="Fast low-resolution render.")] = False,
    print_ffmpeg: Annotated[bool, typer.Option("--print-ffmpeg", help="Print the exact ffmpeg commands (one, or one per pass of a long ad); render nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Render a plan or timeline to a finished MP4 in one ffmpeg pass.

    Beside OUT.mp4: OUT.srt, OUT.otio (for an NLE), OUT.timeline.json, OUT.manifest.json
    (sources, music, font, voice and their licences) and OUT.qc.json (quality checks).
    """
    from adcut.render.export import load_document
    from adcut.render.pipeline import render_document

    try:
        doc = load_document(document)
        with RichRenderProgress() as progress:
            outcome = render_document(
                doc, output, base_dir=document.resolve().parent, label=str(document),
                preview=preview, force=force, print_only=print_ffmpeg,
                on_progress=progress.update)
    except AdcutError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        print("interrupted: no output was written", file=sys.stderr)
        raise typer.Exit(130) from None
    if print_ffmpeg:
        print(outcome.command[0])
        return
    for note in outcome.timeline.notes:
        print(f"note     {note}", file=sys.stderr)
    if as_json:
        print(json.dumps({
            "output": str(outcome.output), "elapsed_s": round(outcome.elapsed_s, 3),
            "duration_s": outcome.timeline.duration_s, "companions": outcome.companions,
            "qc_ok": outcome.qc_ok, "checks": [c.__dict__ for c in outcome.checks],
            "notes": outcome.timeline.notes}, indent=2, ensure_ascii=False))
    else:
        print(f"{outcome.output}: {outcome.timeline.duration_s:.2f} s, "
              f"{outcome.timeline.width}x{outcome.timeline.height} @ {outcome.timeline.fps} fps, "
              f"rendered in {outcome.elapsed_s:.1f} s")
        for check in outcome.checks:
            mark = "ok  " if check.ok else "FAIL"
            print(f"  {mark} {check.name:<12} {check.detail}")
    if not outcome.qc_ok:
        failed = ", ".join(c.name for c in outcome.checks if not c.ok)
        print(f"error: quality checks failed ({failed}); the file is kept for inspection",
              file=sys.stderr)
        raise typer.Exit(1)


class RichRenderProgress:
    """Seconds of the ad encoded, from ffmpeg's -progress output, with an ETA."""

    def __init__(self) -> None:
        self._progress = None
        self._task = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()

    def update(self, seconds_done: float, total_s: float | None = None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        if self._progress is None:
            self._progress = Progress(TextColumn("render"), BarColumn(),
                                      TextColumn("{task.completed:.1f}/{task.total:.1f} s"),
                                      TextColumn("ETA"), TimeRemainingColumn(),
                                      console=_stderr_console())
            self._progress.start()
            self._task = self._progress.add_task("render", total=total_s or 1.0)
        if total_s:
            self._progress.update(self._task, total=total_s)
        self._progress.update(self._task, completed=seconds_done)


@app.command()
def schema(
    document: Annotated[str, typer.Argument(help="plan | timeline")],
) -> None:
    """Print the JSON Schema of an EditPlan or a Timeline (for editors and validators)."""
    from adcut.core.plan import EditPlan
    from adcut.core.timeline import Timeline

    models = {"plan": EditPlan, "timeline": Timeline}
    if document not in models:
        raise _fail(BadInputError(f"unknown document {document!r}", hint="use plan or timeline"))
    print(json.dumps(models[document].model_json_schema(), indent=2))


# -- edit and demo --------------------------------------------------------------------------

def _variant_paths(output: Path, count: int) -> list[Path]:
    if count == 1:
        return [output]
    return [output.with_name(f"{output.stem}-{k + 1}{output.suffix}") for k in range(count)]


def _print_explanation(plan, why) -> None:
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


def run_edit(library: Path, brief_value: str, output: Path, *, aspect: str | None,
             duration: float | None, planner_spec: str, model: str | None, voice: str | None,
             plan_only: Path | None, seed: int, variants: int, explain: bool, force: bool,
             script_file: Path | None, as_json: bool) -> int:
    from adcut.core.brief import load_brief
    from adcut.planner.edit import load_library, plan_variants
    from adcut.planner.registry import load_planner
    from adcut.render.pipeline import check_output, render_document

    brief = load_brief(brief_value)
    updates = {k: v for k, v in (("aspect", aspect), ("duration_s", duration)) if v is not None}
    if updates:
        brief = brief.model_validate({**brief.model_dump(), **updates})
    outputs = _variant_paths(output, variants)
    plan_paths = _variant_paths(plan_only, variants) if plan_only else [
        Path(f"{o.with_suffix('')}.plan.json") for o in outputs]
    targets = plan_paths if plan_only else outputs
    for target in targets:  # refuse before any work
        if target.exists() and not force:
            raise BadInputError(f"{target} already exists", hint="pass --force to replace it")
    if not plan_only:
        for o in outputs:
            check_output(o, force=force)
    if not (library / "catalog.sqlite").exists():
        raise BadInputError(f"{library} is not an adcut library",
                            hint=f"build one: adcut ingest FOOTAGE... --library {library}")
    clips, tracks = load_library(library)
    script = None
    if script_file is not None:
        if not script_file.is_file():
            raise BadInputError(f"script file {script_file} does not exist")
        script = [ln.strip() for ln in script_file.read_text(encoding="utf-8").splitlines() if ln.strip()]
        if not script:
            raise BadInputError(f"script file {script_file} has no lines")
    planner = load_planner(planner_spec, model, language=brief.resolved_language)
    from adcut.planner.retrieve import open_retriever

    retriever = open_retriever(library) if len(clips) > 80 else None
    results = plan_variants(clips, tracks, brief, planner, count=variants, seed=seed,
                            script=script, retrieve=retriever)
    from adcut.core.files import write_atomic

    report = []
    for (plan, why), plan_path, out in zip(results, plan_paths, outputs):
        if voice is not None:
            plan = plan.model_copy(update={"voice": plan.voice.model_copy(
                update={"engine": "none"} if voice == "none" else {"voice": voice})})
        write_atomic(plan_path, plan.model_dump_json(indent=2).encode())
        if explain:
            _print_explanation(plan, why)
        for line in why.music[:1] + [n for n in why.notes if "library" in n]:
            print(f"note     {line}", file=sys.stderr)
        entry = {"plan": str(plan_path), "shots": len(plan.shots),
                 "music": plan.music.source if plan.music else None}
        if not plan_only:
            with RichRenderProgress() as progress:
                outcome = render_document(plan, out, base_dir=plan_path.parent, label=str(plan_path),
                                          force=force, on_progress=progress.update)
            for note in outcome.timeline.notes:
                print(f"note     {note}", file=sys.stderr)
            entry.update({"output": str(out), "duration_s": outcome.timeline.duration_s,
                          "elapsed_s": round(outcome.elapsed_s, 2), "qc_ok": outcome.qc_ok,
                          "failed_checks": [c.name for c in outcome.checks if not c.ok]})
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


@app.command()
def edit(
    library: Annotated[Path, typer.Option("--library", "-l", help="Library folder built by adcut ingest.")],
    brief: Annotated[str, typer.Option("--brief", "-b", help="Brief file (YAML/JSON) or free text.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write (OUT-1.mp4... with --variants).")] = Path("ad.mp4"),
    aspect: Annotated[Optional[str], typer.Option(help="9:16 | 1:1 | 16:9 | 4:5 (default: the brief's).")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Target length in seconds (default: the brief's).")] = None,
    planner: Annotated[str, typer.Option(help="zero-shot | openai URL | hf PATH | model PATH.")] = "zero-shot",
    model: Annotated[Optional[str], typer.Option(help="Model name for --planner openai.")] = None,
    voice: Annotated[Optional[str], typer.Option(help="Voice name, or none for no voice-over.")] = None,
    plan_only: Annotated[Optional[Path], typer.Option("--plan-only", help="Write the plan here and stop before rendering.")] = None,
    seed: Annotated[int, typer.Option(help="Makes every choice reproducible.")] = 0,
    variants: Annotated[int, typer.Option(min=1, max=20, help="Make N ads that differ in hook, order and music.")] = 1,
    explain: Annotated[bool, typer.Option("--explain", help="Show every candidate clip with its score and why.")] = False,
    script: Annotated[Optional[Path], typer.Option(help="Use this script (one line per shot) instead of writing one.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Brief + library -> a finished ad (plan, voice-over, subtitles, music, render, QC)."""
    try:
        code = run_edit(library, brief, output, aspect=aspect, duration=duration,
                        planner_spec=planner, model=model, voice=voice, plan_only=plan_only,
                        seed=seed, variants=variants, explain=explain, force=force,
                        script_file=script, as_json=as_json)
    except AdcutError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        print("interrupted: no partial output was left", file=sys.stderr)
        raise typer.Exit(130) from None
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

    try:
        from adcut.render.pipeline import check_output

        check_output(output, force=force)
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
    except AdcutError as exc:
        raise _fail(exc) from None
    raise typer.Exit(code)


@app.command("eval")
def eval_results(
    files: Annotated[Optional[list[Path]], typer.Argument(
        help="Result files (release JSONL, VSC / SQ judge files, music rankings, adcut's own JSONL) or folders.")] = None,
    task: Annotated[Optional[str], typer.Option(
        help="select | sort | script | vsc | sq | music (default: detected). vsc on sort results: judge "
             "(--judge, --frames) or the embedding proxy; sq on script results: judge.")] = None,
    compare: Annotated[Optional[tuple[Path, Path]], typer.Option(
        "--compare", help="Paired comparison of two result files: bootstrap 95% intervals and exact McNemar.")] = None,
    judge: Annotated[Optional[str], typer.Option(help="OpenAI-compatible base URL of the VSC / SQ judge.")] = None,
    judge_model: Annotated[Optional[str], typer.Option(help="Model name for --judge (a vision model for VSC).")] = None,
    rubric: Annotated[str, typer.Option(help="Judge rubric language: zh (the paper's) | en.")] = "zh",
    frames: Annotated[Optional[Path], typer.Option(help="Folder of {frame_id}.jpg for the VSC judge.")] = None,
    judge_cache: Annotated[Optional[Path], typer.Option(help="Where judge answers are cached (default: adcut's cache).")] = None,
    proxy_encoder: Annotated[str, typer.Option(help="VSC proxy space without a judge: minilm | st:NAME | clip:PATH (with --frames).")] = "minilm",
    seed: Annotated[int, typer.Option(help="Bootstrap seed for --compare.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Score result files with the AutoCut paper's metrics (CSA, CRA, VSC, SQ, WCD) and more.

    One file prints its metrics (with --json: one object keyed by metric name); several print
    each file and, per system, the paper's headline. Unreadable lines and rows that cannot
    be scored are counted and listed; malformed outputs count as wrong, as in the paper.
    """
    from adcut.eval import JudgeOptions, format_compare, format_eval, run_eval
    from adcut.eval.compare import compare_paths

    try:
        if compare is not None:
            if files:
                raise BadInputError("give either result files or --compare A B, not both")
            result = compare_paths(compare[0], compare[1], task, seed=seed)
            print(json.dumps(result, indent=2, ensure_ascii=False) if as_json else format_compare(result))
            return
        if not files:
            raise BadInputError("no result files given", hint="adcut eval FILE... or adcut eval --compare A B")
        opts = JudgeOptions(url=judge, model=judge_model, language=rubric, frames=frames, cache=judge_cache,
                            proxy_encoder=proxy_encoder)
        result = run_eval(list(files), task, opts)
    except AdcutError as exc:
        raise _fail(exc) from None
    if not as_json:
        print(format_eval(result))
    elif len(result["files"]) == 1:
        print(json.dumps(next(iter(result["files"].values())), indent=2, ensure_ascii=False))
    else:
        print(json.dumps(result, indent=2, ensure_ascii=False))


@app.command()
def bench(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name: autocut364.")],
    folder: Annotated[Path, typer.Argument(help="Its folder (e.g. the autocut364 release files).")],
    track: Annotated[str, typer.Option(help="How clips are shown: caption (one caption per clip).")] = "caption",
    planner: Annotated[str, typer.Option(help="zero-shot | openai URL | hf PATH | model PATH.")] = "zero-shot",
    model: Annotated[Optional[str], typer.Option(help="Model name for --planner openai.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Where predictions go (default: beside the inputs; ./DIRNAME-predictions "
                      "when their folder is read-only).")] = None,
    seed: Annotated[int, typer.Option(help="Planner tie-breaks and bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run a planner on a benchmark's ads, write its predictions in the release format, and
    score them next to the paper's rows (with bootstrap 95% intervals)."""
    from adcut.eval.bench import format_bench, run_bench
    from adcut.planner.registry import load_planner

    def progress(kind: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{kind}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    try:
        chosen = load_planner(planner, model, language="zh")
        report = run_bench(benchmark, folder, chosen, track=track, out=out, seed=seed, progress=progress)
        if out is None and Path(report["out"]) != Path(folder):
            print(f"note: {folder} is read-only: predictions written to {report['out']}", file=sys.stderr)
    except AdcutError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        print("interrupted: prediction files finished so far are complete; nothing half-written", file=sys.stderr)
        raise typer.Exit(130) from None
    print(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_bench(report))


# -- library --------------------------------------------------------------------------------

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

    try:
        with _open_readonly(folder) as catalog:
            info = build_info(catalog)
    except AdcutError as exc:
        raise _fail(exc) from None
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

    try:
        with _open_readonly(folder) as catalog:
            items = list_music(catalog) if music else list_footage(catalog)
    except AdcutError as exc:
        raise _fail(exc) from None
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


# -- doctor ---------------------------------------------------------------------------------

@app.command()
def doctor(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """What adcut found on this machine: ffmpeg and its features, decoders, models, fonts."""
    from adcut.doctor import run_checks

    report = run_checks()
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for check in report["checks"]:
            mark = "ok " if check["ok"] else ("-- " if check.get("optional") else "NO ")
            print(f"{mark} {check['name']:<22} {check['detail']}")
    raise typer.Exit(0 if report["ok"] else 1)


def _join_planner_args(argv: list[str]) -> list[str]:
    """`--planner openai URL` (two words, as the docs write it) -> one option value."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--planner" and i + 2 < len(argv) \
                and argv[i + 1] in ("openai", "hf", "model") and not argv[i + 2].startswith("-"):
            out += ["--planner", f"{argv[i + 1]} {argv[i + 2]}"]
            i += 3
            continue
        out.append(argv[i])
        i += 1
    return out


def main() -> None:
    sys.argv[1:] = _join_planner_args(sys.argv[1:])
    try:
        app()
    except AdcutError as exc:  # an error raised outside a command's own handling
        raise SystemExit(_fail(exc).exit_code) from None
