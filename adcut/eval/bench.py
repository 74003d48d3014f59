"""`adcut bench autocut364 DIR --track caption|token`: run a planner on an AutoCut-364 track and
score it with the paper's metrics, next to the paper's rows for that track.

Tracks: `caption` reads the caption-track inputs (`F___*_Qwen3_8B.jsonl`: one caption per
clip); `token` (or `tokens`) reads the AutoCut model's inputs (`F___*_atc_embsft.jsonl`: each
clip as its RQ-VAE `<v_level_code>` tokens). Each released row's prompt is parsed back into
adcut's task object (product, brand, selling points, script lines, candidate clips as the
track shows them); the planner sees only that object, one task of one ad at a time (never
the gold answer, the stored `model_generate`, the ad's identity, or another task's prompt of
the same ad: those leak answers across tasks). Its answers are written in the release format
(`F___vidselect_<planner>.jsonl`, ...) and scored by the same code as `adcut eval`, with
bootstrap 95% intervals. On the token track the stored `model_generate` of the inputs is the
AutoCut model's own output: it is scored on the same ads (never shown to the planner) as the
reference row.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from adcut.core.errors import AdcutError, BadInputError, DependencyError
from adcut.core.files import write_atomic
from adcut.eval import metrics as M
from adcut.eval.compare import N_BOOT, bootstrap_ci, row_values
from adcut.eval.files import load_result_file, score_file
from adcut.planner.base import Hints, Planner
from adcut.tasks.prompts_en import build_prompt_en, parse_prompt_en
from adcut.tasks.prompts_zh import PromptFormatError, build_prompt_zh, parse_prompt_zh
from adcut.tasks.release import ReleaseRow, dump_release_row, load_release_rows
from adcut.tasks.types import (
    TRACK_CAPTION,
    TRACK_TOKENS,
    AudioCandidate,
    MusicTask,
    ScriptTask,
    SelectTask,
    SortTask,
)

BENCHMARKS = ("autocut364",)
TRACKS = (TRACK_CAPTION, TRACK_TOKENS)
# --track spellings (DESIGN.md writes `token`).
TRACK_NAMES = {"caption": TRACK_CAPTION, "captions": TRACK_CAPTION, "token": TRACK_TOKENS, "tokens": TRACK_TOKENS}
KIND_STEM = {"select": "vidselect", "sort": "vidsort", "script": "vid2text"}
# The inputs of each track. Caption track: their stored model_generate is the Qwen3-8B baseline
# (never read). Token track: it is the AutoCut model's output (never shown to the planner;
# scored on the same ads as the reference row).
TRACK_FILES = {TRACK_CAPTION: {k: f"F___{stem}_Qwen3_8B.jsonl" for k, stem in KIND_STEM.items()},
               TRACK_TOKENS: {k: f"F___{stem}_atc_embsft.jsonl" for k, stem in KIND_STEM.items()}}
# The paper's main-table rows for the caption track, on all 364 test ads (CVPR 2026, Table 1),
# and AutoCut's own row; Kendall tau is not in the paper: it is computed from the released
# outputs (METRICS.md 1.3).
PAPER_ROWS = {
    TRACK_CAPTION: [
        {"system": "Qwen3-8B (caption)", "CSA": 0.137, "CRA": 0.016, "VSC": 0.931, "SQ": 80.0, "WCD": 5.26,
         "kendall_tau": 0.035},
        {"system": "Qwen3-8B (caption+SFT)", "CSA": 0.569, "CRA": 0.030, "VSC": 1.123, "SQ": 59.2, "WCD": 6.82,
         "kendall_tau": 0.119},
        {"system": "AutoCut (fine-tuned, tokens)", "CSA": 0.659, "CRA": 0.107, "VSC": 1.036, "SQ": 84.6,
         "WCD": 3.02, "kendall_tau": 0.392},
    ],
    TRACK_TOKENS: [
        {"system": "AutoCut (emb+sft, tokens)", "CSA": 0.659, "CRA": 0.107, "VSC": 1.036, "SQ": 84.6,
         "WCD": 3.02, "kendall_tau": 0.392},
    ],
}
REFERENCE_LABEL = {TRACK_TOKENS: "AutoCut (emb+sft) outputs"}
_DEV_REFERENCE = ("Qwen3_8B", "Qwen3_8B_sft", "atc_embsft")  # the same rows on the dev ads, if given
CI_METRICS = {"select": ("CSA", "set_f1_macro", "exact_set_rate"),
              "sort": ("CRA", "kendall_tau", "pairwise_acc", "position_acc"),
              "script": ("WCD",)}

Progress = Callable[[str, int, int], None]
# Prompt parser and builder per prompt language (predict_rows).
_PROMPTS = {"zh": (parse_prompt_zh, build_prompt_zh), "en": (parse_prompt_en, build_prompt_en)}
_KIND_TASK = {"select": SelectTask, "sort": SortTask, "script": ScriptTask, "music": MusicTask}


def planner_tag(planner: Planner) -> str:
    """A file-name-safe name for the planner's prediction files."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", str(getattr(planner, "name", "planner"))).strip("_.") or "planner"


def track_name(track: str) -> str:
    """The track a --track value names (caption | tokens); raises on any other."""
    name = TRACK_NAMES.get(str(track).strip().lower())
    if name is None:
        raise BadInputError(f"unknown track {track!r}",
                            hint="use --track caption (one caption per clip) | token (RQ-VAE tokens per clip)")
    return name


def planner_for_track(planner: Planner, track: str) -> Planner:
    """The planner as it must run on `track`. A planner that declares the tracks it reads
    (`reads_tracks`) must list it; an LLM planner (one with a `track` attribute) is sent that
    track's prompts; any other planner reads captions only."""
    reads = getattr(planner, "reads_tracks", None)
    if reads is not None:
        if track in reads:
            return planner
    elif hasattr(planner, "track"):
        if getattr(planner, "track") == track:
            return planner
        import copy

        shown = copy.copy(planner)
        shown.track = track  # type: ignore[attr-defined]
        return shown
    elif track == TRACK_CAPTION:
        return planner
    what = "clip tokens" if track == TRACK_TOKENS else f"the {track} track"
    raise BadInputError(f"planner {getattr(planner, 'name', type(planner).__name__)} cannot read {what}",
                        hint="use --planner zero-shot, or an LLM planner (it is sent the track's prompts)")


def find_track_files(folder: Path, track: str) -> tuple[dict[str, Path], list[str]]:
    """(kind -> input file present, names missing). Raises when none is there."""
    folder = Path(folder)
    track = track_name(track)
    if not folder.is_dir():
        raise BadInputError(f"{folder}: no such folder", hint="give the autocut364 folder")
    present: dict[str, Path] = {}
    missing: list[str] = []
    for kind, name in TRACK_FILES[track].items():
        if (folder / name).is_file():
            present[kind] = folder / name
        else:
            missing.append(name)
    if not present:
        shown = "token" if track == TRACK_TOKENS else track
        raise BadInputError(f"{folder}: none of the {shown}-track files ({', '.join(missing)}) are here",
                            hint="give the autocut364 folder")
    return present, missing


def music_text(value: object, task: MusicTask) -> str:
    """A music decision as release-format text: the track's audio tokens, as the paper's
    vid2aud answer is. Generated tokens (a token text, or a list of `<a_l_c>` strings or of
    (level, code) pairs) are written as they are; a chosen candidate's number becomes that
    candidate's tokens."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        chosen = next((c for c in task.audio_candidates if c.number == value), None)
        if chosen is None or not chosen.tokens:
            raise BadInputError(f"the planner chose track {value}, which is no candidate with audio tokens")
        return chosen.tokens
    if isinstance(value, (list, tuple)):
        return "".join(item if isinstance(item, str) else f"<a_{int(item[0])}_{int(item[1])}>" for item in value)
    raise BadInputError(f"a music answer must be a track number or audio tokens, not {type(value).__name__}")


def _prediction(planner: Planner, task: SelectTask | SortTask | ScriptTask | MusicTask, hints: Hints) -> str:
    """The planner's answer as release-format text: ids joined by ',', lines by newlines,
    music as audio tokens (music_text)."""
    if isinstance(task, SelectTask):
        return ",".join(str(x) for x in planner.select(task, hints).value)
    if isinstance(task, SortTask):
        return ",".join(str(x) for x in planner.order(task, hints).value)
    if isinstance(task, MusicTask):
        return music_text(planner.music(task, hints).value, task)
    return "\n".join(str(x) for x in planner.write(task, hints).value)


def predict_rows(rows: list[ReleaseRow], kind: str, planner: Planner, name: str, seed: int = 0,
                 progress: Progress | None = None, track: str = TRACK_CAPTION, *, language: str = "zh",
                 audio_candidates: list[AudioCandidate] | None = None) -> tuple[list[str], dict, list[str]]:
    """The planner's prediction per row ('' where it failed: scored as wrong), the run's counts
    and problems. Only the parsed task object of the row reaches the planner, one row at a time.

    `kind`: select | sort | script | music; `language`: the prompts' language (zh | en).
    Music tasks are given `audio_candidates` (a library to choose from) when there are any,
    else asked as the paper's vid2aud (generate the tokens); either way the prediction is the
    audio tokens (music_text)."""
    hints = Hints(seed=seed, language=language)
    want = _KIND_TASK[kind]
    parse_prompt, build_prompt = _PROMPTS[language]
    preds: list[str] = []
    track = track_name(track)
    other = f"n_not_{track}_track"
    counts = {"n_prompt_unparsed": 0, "n_prompt_roundtrip_mismatch": 0, other: 0, "n_planner_failed": 0}
    problems: list[str] = []
    for i, row in enumerate(rows):
        where = f"{name} line {row.line_no}"
        try:
            _, task, shown = parse_prompt(row.prompt)
        except PromptFormatError as exc:
            counts["n_prompt_unparsed"] += 1
            problems.append(f"{where}: prompt not understood ({exc.message}); scored as an empty output")
            preds.append("")
            continue
        if not isinstance(task, want):
            counts["n_prompt_unparsed"] += 1
            problems.append(f"{where}: a {type(task).__name__} prompt in a {kind} file; scored as an empty output")
            preds.append("")
            continue
        if shown != track:
            counts[other] += 1
            problems.append(f"{where}: a {shown}-track prompt, not {track}; planned from what it shows")
        if build_prompt(task, shown) != row.prompt:
            counts["n_prompt_roundtrip_mismatch"] += 1
            problems.append(f"{where}: the parsed task does not rebuild the prompt exactly")
        if isinstance(task, MusicTask) and audio_candidates:
            task = replace(task, audio_candidates=list(audio_candidates))
        try:
            preds.append(_prediction(planner, task, hints))
        except DependencyError:
            raise  # the server or model is gone: every further row would fail the same way
        except AdcutError as exc:
            counts["n_planner_failed"] += 1
            problems.append(f"{where}: planner failed ({exc.message}); scored as an empty output")
            preds.append("")
        except Exception as exc:  # one bad ad must not lose a long run; counted and shown
            counts["n_planner_failed"] += 1
            problems.append(f"{where}: planner crashed ({type(exc).__name__}: {exc}); scored as an empty output")
            preds.append("")
        if progress is not None:
            progress(kind, i + 1, len(rows))
    return preds, counts, problems


def _writable(folder: Path) -> bool:
    # The mode bits too: root may write anywhere, but a folder marked read-only (a shared
    # data set) is not to be written into.
    return folder.is_dir() and os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def default_out(folder: Path) -> Path:
    """Where predictions go without --out: beside the inputs, or, when their folder is read-only
    (a shared data set), in ./NAME-predictions of the working folder."""
    folder = Path(folder)
    return folder if _writable(folder) else Path.cwd() / f"{folder.resolve().name}-predictions"


def _check_writable(out: Path) -> None:
    existing = next((p for p in [out, *out.absolute().parents] if p.exists()), None)
    if existing is not None and existing.is_dir() and not _writable(existing):
        raise BadInputError(f"cannot write predictions to {out} ({existing} is read-only)", hint="give --out DIR")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create {out} ({exc.strerror or exc})", hint="give --out DIR") from None


def _dev_reference(folder: Path) -> dict:
    """The caption-track systems and AutoCut on the same dev ads, when the folder's
    expected.json has them (autocut364 dev slice)."""
    try:
        ref = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
        systems = ref["dev_reference_other_systems"]["systems"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    out = {}
    for name in _DEV_REFERENCE:
        s = systems.get(name)
        if isinstance(s, dict) and isinstance(s.get("headline"), dict):
            out[name] = {"system": s.get("label", name), **s["headline"],
                         "kendall_tau": (s.get("counts_and_extras") or {}).get("kendall_tau")}
    return out


def run_bench(benchmark: str, folder: Path, planner: Planner, *, track: str = TRACK_CAPTION,
              out: Path | None = None, seed: int = 0, n_boot: int = N_BOOT,
              progress: Progress | None = None) -> dict:
    """Plan every ad of the track's select / sort / script files, write the predictions,
    score them and return the report (see `adcut bench --help`)."""
    if benchmark not in BENCHMARKS:
        raise BadInputError(f"unknown benchmark {benchmark!r}", hint=f"use {' | '.join(BENCHMARKS)}")
    folder = Path(folder)
    track = track_name(track)
    inputs, missing = find_track_files(folder, track)
    planner = planner_for_track(planner, track)
    out_dir = Path(out) if out is not None else default_out(folder)
    _check_writable(out_dir)
    tag = planner_tag(planner)
    t_all = time.perf_counter()
    files: dict[str, dict] = {}
    ci95: dict[str, list[float] | None] = {}
    ref_files: list[dict] = []
    ref_ci95: dict[str, list[float] | None] = {}
    problems: list[str] = []
    written: list[str] = []
    for kind, path in inputs.items():
        rows, read_problems = load_release_rows(path)
        problems += read_problems
        if not rows:
            problems.append(f"{path.name}: no usable rows; task skipped")
            continue
        target = out_dir / f"F___{KIND_STEM[kind]}_{tag}.jsonl"
        if target.resolve() == path.resolve():
            raise BadInputError(f"the predictions would overwrite the input {path.name}", hint="give --out DIR")
        t0 = time.perf_counter()
        preds, counts, run_problems = predict_rows(rows, kind, planner, path.name, seed, progress, track)
        seconds = time.perf_counter() - t0
        problems += run_problems
        text = "".join(dump_release_row(r, p) + "\n" for r, p in zip(rows, preds))
        write_atomic(target, text.encode("utf-8"))
        written.append(str(target))
        rf = load_result_file(target)
        res = score_file(rf)
        res.pop("problems", None)
        res.update(input=path.name, seconds=round(seconds, 3), **counts)
        files[target.name] = res
        values = row_values(rf)
        for metric in CI_METRICS[kind]:
            ci95[metric] = bootstrap_ci([v[metric] for v in values.values()], n_boot, seed)
        if track in REFERENCE_LABEL and any(r.model_generate is not None for r in rows):
            # The stored outputs of the inputs (the AutoCut model): scored on the same ads, by
            # the same code; read only here, after planning, and never given to the planner.
            ref_rf = load_result_file(path)
            ref_res = score_file(ref_rf)
            ref_res.pop("problems", None)
            ref_files.append(ref_res)
            ref_values = row_values(ref_rf)
            for metric in CI_METRICS[kind]:
                ref_ci95[metric] = bootstrap_ci([v[metric] for v in ref_values.values()], n_boot, seed)
    if not files:
        raise BadInputError(f"{folder}: no task file had usable rows", hint=problems[0] if problems else None)
    summary = M.summarize_system(files.values())
    reference = None
    dev_reference = _dev_reference(folder) if track == TRACK_CAPTION else {}
    if ref_files:
        ref = M.summarize_system(ref_files)
        reference = {"system": REFERENCE_LABEL[track], "headline": ref["headline"],
                     "counts_and_extras": ref["counts_and_extras"], "ci95": ref_ci95,
                     "source": "the stored model_generate of the input files, on the same ads"}
        dev_reference = {"atc_embsft": {"system": REFERENCE_LABEL[track], **ref["headline"],
                                        "kendall_tau": ref["counts_and_extras"].get("kendall_tau")}}
    return {
        "benchmark": benchmark,
        "track": track,
        "planner": getattr(planner, "name", tag),
        "dir": str(folder),
        "out": str(out_dir),
        "predictions": written,
        "headline": summary["headline"],
        "counts_and_extras": summary["counts_and_extras"],
        "ci95": ci95,
        "n_boot": n_boot,
        "seed": seed,
        "files": files,
        "paper": PAPER_ROWS[track],
        "dev_reference": dev_reference,
        "reference": reference,
        "missing_files": missing,
        "problems": problems[:100] + ([f"... and {len(problems) - 100} more"] if len(problems) > 100 else []),
        "seconds": round(time.perf_counter() - t_all, 3),
    }


def _fmt(value: object, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_bench(report: dict) -> str:
    """The report as a small table: this planner, then the paper's rows for the track."""
    h, ex, ci = report["headline"], report["counts_and_extras"], report["ci95"]

    def with_ci(metric: str, value: object, digits: int) -> str:
        iv = ci.get(metric)
        return _fmt(value, digits) + (f" [{iv[0]:.{digits}f}, {iv[1]:.{digits}f}]" if iv else "")

    shown = "token" if report["track"] == TRACK_TOKENS else report["track"]
    lines = [f"adcut bench {report['benchmark']} --track {shown}: planner {report['planner']} "
             f"({report['seconds']:.1f} s)",
             f"  CSA  {with_ci('CSA', h['CSA'], 3)}   ({ex.get('CSA_n_hit', '-')}/{ex.get('CSA_n_eval', '-')} ads)",
             f"  CRA  {with_ci('CRA', h['CRA'], 3)}   ({ex.get('CRA_n_exact', '-')}/{ex.get('CRA_n_rows', '-')} ads)",
             f"  Kendall tau {with_ci('kendall_tau', ex.get('kendall_tau'), 3)}   "
             f"({ex.get('order_n_rows', '-')} ads)",
             f"  WCD  {with_ci('WCD', h['WCD'], 2)}   ({ex.get('WCD_n_eval', '-')} ads; lower is better)",
             "  (95% bootstrap intervals; VSC and SQ need a judge: adcut eval --task vsc|sq)"]
    ref = report.get("reference")
    if ref:
        rh, rex, rci = ref["headline"], ref["counts_and_extras"], ref["ci95"]

        def ref_ci(metric: str, value: object, digits: int) -> str:
            iv = rci.get(metric)
            return _fmt(value, digits) + (f" [{iv[0]:.{digits}f}, {iv[1]:.{digits}f}]" if iv else "")

        lines.append(f"  {ref['system']} on the same ads: CSA {ref_ci('CSA', rh['CSA'], 3)}, "
                     f"CRA {ref_ci('CRA', rh['CRA'], 3)}, tau {ref_ci('kendall_tau', rex.get('kendall_tau'), 3)}, "
                     f"WCD {ref_ci('WCD', rh['WCD'], 2)}")
    lines += ["", f"  {'system':<46} {'CSA':>6} {'CRA':>6} {'tau':>6} {'WCD':>6}"]
    lines.append(f"  {'this planner (dev slice)':<46} {_fmt(h['CSA'], 3):>6} {_fmt(h['CRA'], 3):>6} "
                 f"{_fmt(ex.get('kendall_tau'), 3):>6} {_fmt(h['WCD'], 2):>6}")
    for row in report.get("dev_reference", {}).values():
        lines.append(f"  {(row['system'] + ' (dev slice)')[:46]:<46} {_fmt(row.get('CSA'), 3):>6} "
                     f"{_fmt(row.get('CRA'), 3):>6} {_fmt(row.get('kendall_tau'), 3):>6} {_fmt(row.get('WCD'), 2):>6}")
    for row in report["paper"]:
        lines.append(f"  {(row['system'] + ' (paper, 364 ads)')[:46]:<46} {_fmt(row['CSA'], 3):>6} "
                     f"{_fmt(row['CRA'], 3):>6} {_fmt(row.get('kendall_tau'), 3):>6} {_fmt(row['WCD'], 2):>6}")
    for name in report["missing_files"]:
        lines.append(f"  missing: {name} (that task was not run)")
    for res in report["files"].values():
        bad = res["n_planner_failed"] + res["n_prompt_unparsed"]
        if bad:
            lines.append(f"  {res['input']}: {bad} rows could not be planned (scored as wrong)")
    lines.append(f"  predictions: {', '.join(report['predictions'])}")
    return "\n".join(lines)
