"""The bodies of the three kinds of job, run inside a worker process (adcut.serve.worker).

Each calls the stage functions the command line calls (`adcut ingest`, `adcut edit
--variants N --preview`, `adcut render`) and turns their progress callbacks into the job's
progress. Each returns (result, last message) or raises an AdcutError with the one line the
job shows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from adcut.core.errors import AdcutError, BadInputError, LibraryError
from adcut.serve.store import Store, dumps, now
from adcut.serve.variants import create_variant, new_render, render_json

# -- ingest -------------------------------------------------------------------------------------


class IngestSink:
    """adcut.library.ingest's ProgressSink, as per-file progress in the job's detail."""

    def __init__(self, reporter, files: list[dict]):
        self.reporter = reporter
        self.files = files  # [{path, name, status, progress, message}]
        self.by_path = {f["path"]: f for f in files}
        self.total_s = 0.0
        self.done_s = 0.0
        self.current: dict | None = None
        self.current_s = 0.0

    def _say(self, force: bool = False) -> None:
        done = sum(f["status"] not in ("queued", "running") for f in self.files)
        share = self.done_s / self.total_s if self.total_s else done / max(1, len(self.files))
        name = self.current["name"] if self.current else ""
        self.reporter(min(0.99, share), f"{done} of {len(self.files)} files"
                      + (f"; {name}" if name else ""), {"files": self.files}, force=force)

    def start(self, files: int, total_s: float) -> None:
        self.total_s = total_s
        self._say(force=True)

    def file_started(self, path: Path, duration_s: float) -> None:
        entry = self.by_path.get(str(path))
        if entry is None:
            entry = {"path": str(path), "name": path.name, "status": "queued", "progress": 0.0,
                     "message": ""}
            self.files.append(entry)
            self.by_path[str(path)] = entry
        entry["status"], entry["progress"] = "running", 0.0
        self.current, self.current_s = entry, max(duration_s, 1e-6)
        self._say(force=True)

    def advance(self, seconds: float = 0.0, shots: int = 0, frames: int = 0) -> None:
        self.done_s += seconds
        if self.current is not None:
            self.current["progress"] = round(min(
                1.0, self.current["progress"] + seconds / self.current_s), 3)
        self._say()

    def file_done(self, outcome) -> None:
        entry = self.by_path.get(outcome.path) or self.current
        if entry is not None:
            entry.update(status=outcome.status, progress=1.0, message=outcome.message,
                         clips=outcome.clips, windows=outcome.windows)
        self.current = None
        self._say(force=True)


def run_ingest(store: Store, job, params: dict, reporter) -> tuple[dict, str]:
    """Footage (or music) files into a library, as `adcut ingest FILES --library DIR`."""
    from adcut.library.ingest import IngestOptions, ingest
    from adcut.serve.security import outside_roots

    library = _library(store, params["library_id"])
    paths = [Path(p) for p in params["paths"]]
    # Checked when the job was made; checked again now (a file swapped for a link since).
    for p in paths:
        if outside_roots(p, [Path(r) for r in params["roots"]]):
            raise BadInputError(f"{p} is outside the folders this server may read",
                                hint="ingest files inside the configured roots")
    names = params.get("names") or {}
    files = [{"path": str(p), "name": names.get(str(p), p.name), "status": "queued",
              "progress": 0.0, "message": ""} for p in paths]
    sink = IngestSink(reporter, files)
    reporter(0.0, f"0 of {len(files)} files", {"files": files}, force=True)
    options = params.get("options") or {}
    report = ingest(paths, Path(library["path"]), IngestOptions(
        music=bool(params.get("music")),
        asr=None if options.get("asr", "tiny.en") == "none" else options.get("asr", "tiny.en"),
        ocr=None if options.get("ocr", "rapidocr") == "none" else "rapidocr",
        max_shot_s=float(options.get("max_shot_s", 8.0))), sink)
    for o in report.outcomes:  # unchanged files never reach the sink
        entry = sink.by_path.get(o.path)
        if entry is not None and entry["status"] in ("queued", "running"):
            entry.update(status=o.status, progress=1.0, message=o.message, clips=o.clips,
                         windows=o.windows)
    reporter(1.0, "finished", {"files": files}, force=True)
    result = {"exit_code": report.exit_code, "files": files,
              "clips": sum(o.clips for o in report.outcomes),
              "windows": sum(o.windows for o in report.outcomes), "notes": report.notes}
    if report.exit_code == 2:
        bad = next((o for o in report.outcomes if not o.ok), None)
        why = f"{names.get(bad.path, Path(bad.path).name)}: {bad.message}" if bad else "no files"
        raise BadInputError(f"nothing could be ingested ({why})",
                            hint="upload video, image or audio files")
    skipped = sum(not o.ok for o in report.outcomes)
    return result, (f"{len(files) - skipped} of {len(files)} files usable"
                    + (f", {skipped} skipped" if skipped else ""))


def _library(store: Store, library_id: str):
    row = store.one("SELECT * FROM libraries WHERE id=?", (library_id,))
    if row is None:
        raise BadInputError(f"library {library_id} no longer exists")
    return row


# -- edit ---------------------------------------------------------------------------------------

def run_edit(store: Store, job, params: dict, reporter) -> tuple[dict, str]:
    """Make N variants of an ad, as `adcut edit --variants N --preview`: plan them all (each
    becomes a variant with revision 1 at once, so the page can show its card), then render a
    preview of each in turn. A retried edit keeps the variants it already made and renders
    the previews still missing."""
    library = _library(store, params["library_id"])
    count = int(params["variants"])
    existing = store.all("SELECT * FROM variants WHERE edit_job_id=? ORDER BY idx", (job["id"],))
    if len(existing) < count:
        reporter(0.02, "planning", {"phase": "plan"}, force=True)
        _plan_variants(store, job, params, Path(library["path"]), count,
                       done={r["idx"] for r in existing})
    variants = store.all("SELECT * FROM variants WHERE edit_job_id=? ORDER BY idx", (job["id"],))
    quality = params.get("render", "preview")
    ids = [v["id"] for v in variants]
    detail = {"phase": "render", "variants": ids}
    if quality == "none":
        return {"variants": ids, "renders": []}, f"{len(ids)} variants planned"
    renders = []
    start = 0.1
    for k, v in enumerate(variants):
        have = store.one("SELECT * FROM renders WHERE variant_id=? AND rev=? AND quality=? "
                         "AND done=1", (v["id"], v["current_rev"], quality))
        if have is not None:
            renders.append(have["id"])
            continue
        row = store.one("SELECT * FROM renders WHERE variant_id=? AND job_id=? AND quality=? "
                        "AND done=0", (v["id"], job["id"], quality))
        render_id = row["id"] if row else new_render(store, v["id"], v["current_rev"], quality,
                                                     job["id"])
        share = (1.0 - start) / len(variants)
        base = start + k * share

        def progress(done_s: float, total_s: float, base=base, share=share, k=k,
                     variant_id=v["id"]) -> None:
            reporter(base + share * min(1.0, done_s / max(total_s, 1e-6)),
                     f"rendering the {quality} of variant {k + 1} of {len(variants)}",
                     {**detail, "rendering": variant_id})

        progress(0.0, 1.0)
        render_variant(store, render_id, progress)
        renders.append(render_id)
    return {"variants": ids, "renders": renders}, \
        f"{len(ids)} variants, {len(renders)} {quality} renders"


def _plan_variants(store: Store, job, params: dict, library: Path, count: int,
                   done: set[int]) -> None:
    """The planning of `adcut edit` (adcut.cli.edit.run_edit), with the brief as saved."""
    from adcut.cli.edit import missing_voice_warning
    from adcut.core.brief import validate_brief
    from adcut.library.looks import chosen_crops
    from adcut.planner.edit import library_tokens, load_library, plan_variants
    from adcut.planner.registry import load_planner
    from adcut.planner.retrieve import open_retriever

    brief = validate_brief(params["brief"], "brief")
    if not (library / "catalog.sqlite").exists():
        raise LibraryError(f"library {params['library_id']} holds nothing yet",
                           hint="upload or import footage and wait for its ingest")
    voice_off = not params.get("voice", True)
    no_voice = None if voice_off else missing_voice_warning(brief.resolved_language)
    clips, tracks = load_library(library)
    planner = load_planner(params.get("planner", "zero-shot"), None,
                           language=brief.resolved_language)
    clips, tracks = library_tokens(library, clips, tracks, planner)
    retriever = open_retriever(library) if len(clips) > 80 else None
    results = plan_variants(clips, tracks, brief, planner, count=count,
                            seed=int(params.get("seed", 0)), retrieve=retriever)
    for k, (plan, why) in enumerate(results, start=1):
        if k in done:
            continue
        if voice_off or no_voice:
            plan = plan.model_copy(update={"voice": plan.voice.model_copy(
                update={"engine": "none"})})
        plan = chosen_crops(plan, library)
        explanation = {"clips": why.clips, "music": why.music,
                       "notes": why.notes + ([no_voice] if no_voice else [])}
        create_variant(store, edit_job_id=job["id"], library_id=params["library_id"],
                       brief_id=params.get("brief_id"), idx=k,
                       name=f"{brief.product} #{k}", plan=plan,
                       explanation=json.loads(json.dumps(explanation, default=float)))


# -- render -------------------------------------------------------------------------------------

def run_render(store: Store, job, params: dict, reporter) -> tuple[dict, str]:
    """Render a variant's plan revision (`adcut render plan.json -o ad.mp4 [--preview]`)."""
    quality = params["quality"]

    def progress(done_s: float, total_s: float) -> None:
        reporter(min(0.97, done_s / max(total_s, 1e-6)),
                 f"rendering ({done_s:.1f} of {total_s:.1f} s)", {"done_s": round(done_s, 2),
                                                                 "total_s": round(total_s, 2)})

    reporter(0.0, f"preparing the {quality} render", None, force=True)
    result = render_variant(store, params["render_id"], progress)
    qc = "QC ok" if result["qc_ok"] else "QC failed: " + ", ".join(
        c["name"] for c in result["checks"] if not c["ok"])
    return result, f"{result['duration_s']:.1f} s, {result['width']}x{result['height']}; {qc}"


def render_variant(store: Store, render_id: str, on_progress) -> dict:
    """Render one render row's plan revision into its folder, all files at once (the render's
    output group, with the plan it rendered), then its poster frame; the row is marked done
    only when every file is in place."""
    from adcut.core.plan import EditPlan
    from adcut.render.pipeline import render_document, render_group

    row = store.one("SELECT r.*, v.folder AS variant_folder, rv.plan FROM renders r "
                    "JOIN variants v ON v.id = r.variant_id JOIN revisions rv "
                    "ON rv.variant_id = r.variant_id AND rv.rev = r.rev WHERE r.id=?",
                    (render_id,))
    if row is None:
        raise BadInputError(f"render {render_id} no longer exists")
    folder = Path(row["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    plan = EditPlan.model_validate_json(row["plan"])
    out = folder / "ad.mp4"
    base_dir = Path(row["variant_folder"])
    label = f"variant {row['variant_id']} revision {row['rev']}"
    with render_group(out, plan, force=True, base_dir=base_dir,
                      extra={"plan": folder / "ad.plan.json"}) as group:
        group.write("plan", row["plan"].encode())
        outcome = render_document(plan, out, base_dir=base_dir, label=label,
                                  preview=row["quality"] == "preview", on_progress=on_progress,
                                  group=group)
        group.commit()
    write_poster(out, folder / "poster.jpg", outcome.timeline.duration_s)
    result = {
        "duration_s": round(outcome.timeline.duration_s, 3), "width": outcome.width,
        "height": outcome.height, "elapsed_s": round(outcome.elapsed_s, 2),
        "qc_ok": outcome.qc_ok, "checks": [c.__dict__ for c in outcome.checks],
        "notes": list(outcome.timeline.notes), "has_srt": (folder / "ad.srt").exists()
        and "srt" in outcome.companions, "render_id": render_id,
        "variant_id": row["variant_id"], "revision": row["rev"]}
    with store.tx() as con:
        con.execute("UPDATE renders SET done=1, result=?, finished_at=? WHERE id=?",
                    (dumps(result), now(), render_id))
    return result


def write_poster(video: Path, poster: Path, duration_s: float) -> None:
    """A JPEG of the ad's frame at 1 s (or its middle, for a shorter one), written to a
    temporary name and renamed."""
    from adcut.media.ffmpeg import find_ffmpeg, run_child

    at = min(1.0, duration_s / 2)
    temp = poster.with_name(f".{poster.name}.{os.getpid()}.tmp.jpg")
    try:
        proc = run_child([find_ffmpeg().path, "-hide_banner", "-nostdin", "-loglevel", "error",
                          "-y", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1",
                          "-q:v", "3", str(temp)], timeout=60)
        if proc.returncode != 0 or not temp.exists():
            raise AdcutError(f"the poster frame of {video} could not be made",
                             hint="the render itself is kept; render again")
        os.replace(temp, poster)
    finally:
        temp.unlink(missing_ok=True)


__all__ = ["render_json", "render_variant", "run_edit", "run_ingest", "run_render"]
