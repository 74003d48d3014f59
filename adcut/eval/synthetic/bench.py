"""`adcut bench synthetic`: the learnable synthetic world, end to end.

    world (pure) -> dataset folder (as `adcut dataset build` writes it) -> random and
    zero-shot planners scored on the held-out ads -> [the model step: a planner trained on
    the folder, scored the same way] -> one report

Everything is written under one output folder:

    OUT/world.json        the world's truth: hidden rules, per-ad category, track, clips
    OUT/library.npy       the music library (n_tracks, 64): what music answers are ranked in
    OUT/data/             the dataset folder (align/, sft/, clips.jsonl, report.json,
                          build.json, tokenizers/, ads/, thumbs/)
    OUT/work/             the model step's own files (training runs)
    OUT/predictions/NAME/ each planner's answers in the release format, scorable by `adcut eval`
    OUT/report.json       the report (also returned); written after each planner, so a
                          failing model step keeps the reference planners' results

The model step is a callable `model_factory(data_dir, work_dir) -> Planner`: whatever
training it does happens inside it (adcut.eval.synthetic.model_step wires adcut.train).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from adcut.core.errors import AdcutError, BadInputError
from adcut.core.files import write_atomic
from adcut.eval.compare import N_BOOT
from adcut.eval.synthetic import world as world_mod
from adcut.eval.synthetic.dataset import DEFAULT_EVAL_FRACTION, write_dataset
from adcut.eval.synthetic.rules import (
    ATTRIBUTES,
    CATEGORIES,
    MOODS,
    SHOT_TYPES,
    WORLD_VERSION,
)
from adcut.eval.synthetic.score import (
    HEADLINE,
    MusicLibrary,
    PlannerRun,
    paired_differences,
    rows_by_kind,
    score_planner,
)

DEFAULT_ADS = 500
# Fewer ads than this leave the video tokenizer fewer training frames than its 256 codes.
MIN_ADS = 60
MAX_ADS = 100_000
DATA, WORK, PREDICTIONS = "data", "work", "predictions"
WORLD_FILE, LIBRARY_FILE, REPORT_FILE = "world.json", "library.npy", "report.json"
_OURS = (DATA, WORK, PREDICTIONS, WORLD_FILE, LIBRARY_FILE, REPORT_FILE)

Progress = Callable[[str, int, int], None]  # (what, done, total); total 0: a phase starts
ModelFactory = Callable[[Path, Path], object]  # (data_dir, work_dir) -> Planner


def _dump(obj: object) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def check_request(out_dir: Path, ads: int, *, force: bool) -> None:
    """Refuse a run that cannot work, before anything is written."""
    if not MIN_ADS <= ads <= MAX_ADS:
        raise BadInputError(f"--ads {ads} is out of range: the synthetic world needs {MIN_ADS} to {MAX_ADS} ads",
                            hint=f"the tokenizers need at least {MIN_ADS} ads' frames; the default is {DEFAULT_ADS}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BadInputError(f"{out_dir} is a file; the synthetic benchmark writes a folder", hint="give -o DIR")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise BadInputError(f"{out_dir} already holds files",
                            hint="choose a new folder with -o DIR, or pass --force to replace an earlier run there")


def _clear(out_dir: Path) -> None:
    """Remove what an earlier run wrote (only those names: anything else is left alone)."""
    for name in _OURS:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def world_summary(world: world_mod.World, data_report: dict) -> dict:
    """The world's sizes and hidden music rule, for the report."""
    clips = [c for ad in world.ads for c in ad.clips]
    return {"version": WORLD_VERSION, "seed": world.config.seed, "ads": len(world.ads),
            "train_ads": data_report["ads"]["train"], "eval_ads": data_report["ads"]["eval"],
            "clips": len(clips), "frames": world.video_vectors,
            "categories": len(CATEGORIES), "shot_types": len(SHOT_TYPES), "attributes": len(ATTRIBUTES),
            "moods": len(MOODS), "tracks": len(world.library),
            "video_dim": world_mod.VIDEO_DIM, "audio_dim": world_mod.AUDIO_DIM,
            "category_mood": dict(world.category_mood)}


def run_synthetic_bench(out_dir: Path, *, ads: int = DEFAULT_ADS, seed: int = 0,
                        model_factory: ModelFactory | None = None, progress: Progress | None = None,
                        force: bool = False, eval_fraction: float = DEFAULT_EVAL_FRACTION,
                        n_boot: int = N_BOOT) -> dict:
    """Generate the world of `ads` ads from `seed`, write its dataset folder under out_dir,
    score the random and zero-shot planners on the held-out ads and, with `model_factory`,
    the planner it returns; return the report (module docstring):

        {"planners": {"random": {...}, "zero-shot": {...}, "model": {...}},
         "comparisons": {"model - random": {...}, "model - zero-shot": {...}},
         "world": {...}, "dataset": {...}, "timings_s": {...}, "out": ..., "data_dir": ...}

    Each planner's entry holds CSA, CRA, kendall_tau and music_R@10 (and extras: WCD,
    set_f1, pairwise_acc, music_R@1, music_MRR) with `ci95`, bootstrap 95% intervals over
    the held-out ads. Refuses an out_dir holding files unless `force` (then only an earlier
    run's files are replaced)."""
    say = progress or (lambda what, done, total: None)
    out_dir = Path(out_dir)
    check_request(out_dir, ads, force=force)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear(out_dir)
    timings: dict[str, float] = {}
    t_all = time.perf_counter()

    say("generating the world", 0, 0)
    t0 = time.perf_counter()
    world = world_mod.build_world(world_mod.WorldConfig(ads=ads, seed=seed))
    write_atomic(out_dir / WORLD_FILE, _dump(world_mod.truth_json(world)))
    np.save(out_dir / LIBRARY_FILE, world.library)
    timings["world"] = round(time.perf_counter() - t0, 2)

    data_dir = out_dir / DATA
    built = write_dataset(world, data_dir, eval_fraction=eval_fraction, phase=lambda name: say(name, 0, 0))
    timings.update({f"dataset_{k}": v for k, v in built["timings_s"].items()})
    timings["dataset"] = round(sum(built["timings_s"].values()), 2)

    from adcut.tasks.release import load_release_rows
    from adcut.tokens.tokenizer import Tokenizer

    rows, _ = load_release_rows(data_dir / "sft" / "eval.jsonl")
    by_kind = rows_by_kind(rows)
    library = MusicLibrary.of(world.library, Tokenizer.load(data_dir / "tokenizers" / "audio"))
    truth_tracks = {ad.key: ad.track for ad in world.ads}
    report: dict = {
        "planners": {}, "comparisons": {},
        "world": world_summary(world, built["report"]),
        "dataset": {"tasks": built["report"]["tasks"], "tokenizers": built["tokenizers"],
                    "eval_rows": {k: len(v) for k, v in by_kind.items()}},
        "metrics": list(HEADLINE), "n_boot": n_boot,
        "out": str(out_dir), "data_dir": str(data_dir), "timings_s": timings,
    }
    runs: dict[str, PlannerRun] = {}

    def score(name: str, planner, music_candidates: bool) -> None:
        say(f"scoring {name}", 0, 0)
        t = time.perf_counter()
        runs[name] = score_planner(name, planner, by_kind, out_dir / PREDICTIONS / name, truth_tracks=truth_tracks,
                                   library=library, music_candidates=music_candidates, seed=seed,
                                   n_boot=n_boot, progress=progress)
        report["planners"][name] = runs[name].report
        timings[name] = round(time.perf_counter() - t, 2)
        timings["total"] = round(time.perf_counter() - t_all, 2)
        write_atomic(out_dir / REPORT_FILE, _dump(report))

    from adcut.eval.synthetic.planners import reference_planners

    for name, planner in reference_planners(seed).items():
        score(name, planner, music_candidates=True)
    if model_factory is not None:
        say("the model step: training", 0, 0)
        t = time.perf_counter()
        work_dir = out_dir / WORK
        work_dir.mkdir(parents=True, exist_ok=True)
        try:
            model = model_factory(data_dir, work_dir)
        except AdcutError as exc:
            kept = f"random and zero-shot were scored: {out_dir / REPORT_FILE}"
            raise type(exc)(exc.message, hint=f"{exc.hint}; {kept}" if exc.hint else kept) from exc
        timings["model_step"] = round(time.perf_counter() - t, 2)
        score("model", model, music_candidates=False)
        for other in ("random", "zero-shot"):
            report["comparisons"][f"model - {other}"] = paired_differences(runs[other], runs["model"], n_boot=n_boot,
                                                                           seed=seed)
    timings["total"] = round(time.perf_counter() - t_all, 2)
    write_atomic(out_dir / REPORT_FILE, _dump(report))
    return report


# -- the human form ---------------------------------------------------------------------------

def _cell(value: object, interval: object) -> str:
    if value is None:
        return "-"
    text = f"{value:.3f}"
    if isinstance(interval, list) and len(interval) == 2:
        text += f" [{interval[0]:.2f},{interval[1]:.2f}]"
    return text


def format_report(report: dict) -> str:
    """The report as a table: planners x metrics, each with its 95% interval."""
    w = report["world"]
    metrics = report["metrics"]
    width = 22
    head = (f"adcut bench synthetic: {w['ads']} ads ({w['train_ads']} train, {w['eval_ads']} held out), "
            f"seed {w['seed']}, {report['timings_s'].get('total', 0):.1f} s -> {report['out']}")
    lines = [head, "", f"  {'planner':<10}" + "".join(f"{m:>{width}}" for m in metrics)]
    for name, entry in report["planners"].items():
        lines.append(f"  {name:<10}" + "".join(f"{_cell(entry.get(m), entry['ci95'].get(m)):>{width}}" for m in metrics))
    lines.append(f"  (95% bootstrap intervals over the {w['eval_ads']} held-out ads; music ranked in a "
                 f"library of {w['tracks']} tracks)")
    for label, diffs in report.get("comparisons", {}).items():
        parts = []
        for m in metrics:
            d = diffs.get(m)
            if d and d.get("diff") is not None:
                iv = d.get("ci95")
                parts.append(f"{m} {d['diff']:+.3f}" + (f" [{iv[0]:+.2f},{iv[1]:+.2f}]" if iv else ""))
        lines.append(f"  {label}: " + ", ".join(parts))
    t = report["timings_s"]
    shown = [f"{k} {v:.1f} s" for k, v in t.items() if k in ("world", "dataset", "random", "zero-shot",
                                                                 "model_step", "model")]
    lines.append("  timings: " + ", ".join(shown))
    return "\n".join(lines)
