"""Evaluation: the AutoCut paper's metrics, exactly (CSA, CRA, VSC, SQ, WCD) plus the ones a
rigorous evaluation needs, paired comparisons, an LLM judge for VSC and SQ, and the
AutoCut-364 benchmark adapter.

    metrics  pure metric functions (per row and per file)
    files    reading result files (release JSONL, VSC / SQ judge files, music rankings, own format)
    compare  paired bootstrap intervals and exact McNemar tests
    judge    VSC / SQ through an OpenAI-compatible endpoint (cached), and the embedding VSC proxy
    bench    `adcut bench autocut364 DIR --track caption`

`run_eval` is what `adcut eval` calls; `format_eval` renders its result for a terminal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from adcut.core.errors import BadInputError
from adcut.core.files import write_atomic
from adcut.eval import metrics as M
from adcut.eval.files import KINDS, ResultFile, expand_paths, load_result_file, score_file

__all__ = ["KINDS", "JudgeOptions", "run_eval", "format_eval", "format_compare"]


@dataclass(frozen=True)
class JudgeOptions:
    """How VSC / SQ are obtained for sort / script result files (`--task vsc|sq`)."""

    url: str | None = None  # OpenAI-compatible base URL; None: no judge (VSC proxy only)
    model: str | None = None
    language: str = "zh"  # rubric: the paper's Chinese, or English
    frames: Path | None = None  # {frame_id}.jpg for the VSC judge (and a CLIP proxy)
    cache: Path | None = None  # judge answers; default: adcut's cache folder
    proxy_encoder: str = "minilm"  # text encoder spec, or clip:PATH (with frames)


def _judged(rf: ResultFile, task: str, opts: JudgeOptions) -> dict:
    from adcut.eval import judge as J

    if task == "sq" and not opts.url:
        raise BadInputError(f"{rf.name}: SQ needs a judge model",
                            hint="give --judge URL --judge-model NAME (an OpenAI-compatible endpoint)")
    if task == "vsc" and not opts.url:
        return _proxy(rf, opts)
    client = J.JudgeClient(opts.url or "", opts.model or "", opts.cache)
    if task == "vsc":
        if opts.frames is None:
            raise BadInputError(f"{rf.name}: the VSC judge needs the clips' frames",
                                hint="give --frames DIR holding {frame_id}.jpg (image-track files name their frame ids)")
        run = J.judge_vsc(rf, client, opts.frames, opts.language)
        name = f"VSC___vidsort_{rf.system}.jsonl"
        data = json.dumps(run.output, ensure_ascii=False, indent=2).encode()
    else:
        run = J.judge_sq(rf, client, opts.language)
        name = f"SQ__{rf.system}.jsonl"
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in run.output).encode()  # type: ignore[union-attr]
    out_dir = client.cache / "outputs" / client.model.replace("/", "_")
    write_atomic(out_dir / name, data)
    judged = load_result_file(out_dir / name, task)
    res = score_file(judged)
    res.update(file=rf.name, judge_output=str(out_dir / name), judge_model=client.model,
               judge_requests=client.n_requests, judge_cached=client.n_cached, rubric=opts.language)
    res["problems"] = run.problems[:100] + res["problems"]
    return res


def _proxy(rf: ResultFile, opts: JudgeOptions) -> dict:
    from adcut.eval import judge as J

    spec = opts.proxy_encoder
    if spec.startswith("clip:"):
        if opts.frames is None:
            raise BadInputError("a CLIP VSC proxy embeds the clips' frames", hint="give --frames DIR")
        from adcut.encoders.registry import load_vision_encoder

        enc = load_vision_encoder(spec)
        res = J.vsc_proxy(rf, enc.encode_texts, J.frame_encoder(opts.frames, spec), encoder=spec)  # type: ignore[attr-defined]
    else:
        from adcut.encoders.registry import load_text_encoder

        enc = load_text_encoder(spec)
        res = J.vsc_proxy(rf, enc.encode_texts, None, encoder=spec)
    return {"file": rf.name, **res, "problems": rf.problems[:100]}


def run_eval(paths: list[Path], task: str | None = None, judge: JudgeOptions | None = None) -> dict:
    """Per-file results and, per system, the paper's headline with counts and extras.
    With task vsc / sq, sort / script result files are judged (or VSC-proxied)."""
    if task is not None and task not in KINDS:
        raise BadInputError(f"unknown task {task!r}", hint=f"use one of {', '.join(KINDS)}")
    opts = judge or JudgeOptions()
    results: dict[str, dict] = {}
    systems: dict[str, list[dict]] = {}
    for path in expand_paths(paths):
        if task in ("vsc", "sq"):
            auto = load_result_file(path)
            if (task, auto.kind) in (("vsc", "sort"), ("sq", "script")):
                res = _judged(auto, task, opts)
                system = auto.system
            else:
                rf = load_result_file(path, task)
                res, system = score_file(rf), rf.system
        else:
            rf = load_result_file(path, task)
            res, system = score_file(rf), rf.system
        key = res["file"] if res["file"] not in results else str(path)
        results[key] = res
        systems.setdefault(system, []).append(res)
    return {"files": results,
            "systems": {s: {**M.summarize_system(fs), "files": [f["file"] for f in fs]}
                        for s, fs in systems.items()}}


# --------------------------------------------------------------------------- text output


def _f(value: object, digits: int = 3) -> str:
    return "-" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


def _file_lines(res: dict) -> list[str]:
    k = res.get("kind")
    head = f"{res['file']}  ({k}"
    if k == "select":
        return [head + f", {res['n_rows']} rows)",
                f"  CSA {_f(res['CSA'])} ({res['n_hit']}/{res['n_eval']} all gold clips hit)   set precision "
                f"{_f(res['set_precision_macro'])}  recall {_f(res['recall_macro'])}  F1 {_f(res['set_f1_macro'])}",
                f"  Jaccard {_f(res['jaccard_macro'])}   exact set {_f(res['exact_set_rate'])}   "
                f"count as asked {_f(res['count_match_rate'])}   rows used {res['n_eval']}"]
    if k == "sort":
        return [head + f", {res['n_rows']} rows)",
                f"  CRA {_f(res['CRA'])} ({res['n_exact']}/{res['n_rows']} exact)   Kendall tau {_f(res['kendall_tau'])}"
                f"   pairwise {_f(res['pairwise_acc'])}   LIS ratio {_f(res['lis_ratio'])}  ({res['n_order_rows']} rows)",
                f"  position accuracy {_f(res['position_acc'])}   malformed {_f(res['malformed_rate'])} "
                f"({res['n_malformed']} row{'' if res['n_malformed'] == 1 else 's'}, scored as wrong)"]
    if k == "script":
        return [head + f", {res['n_rows']} rows)",
                f"  WCD {_f(res['WCD'], 2)} chars/line ({res['n_eval']} ads)   whole-script deviation "
                f"{_f(res['WCD_script'], 1)}   line-count mismatch {_f(res['linecount_mismatch_rate'])}"]
    if k == "vsc":
        extra = f"   judge {res['judge_model']}, {res['judge_requests']} requests, {res['judge_cached']} cached" \
            if "judge_model" in res else ""
        return [head + f", {res['n_ads']} ads)", f"  VSC {_f(res['VSC'])} (0-2, {res['n_pairs']} pairs){extra}"]
    if k == "vsc_proxy":
        return [head + f", {res['n_ads']} ads, {res['encoder']})",
                f"  vsc_proxy {_f(res['vsc_proxy'])} (cosine; gold order {_f(res['vsc_proxy_gold'])}) "
                "-- a proxy, not VSC"]
    if k == "sq":
        return [head + f", {res['n_rows']} rows)",
                f"  SQ {_f(res['SQ'], 2)} /100 ({res['n_parsed']} parsed)   without length "
                f"{_f(res['SQ_without_length'], 2)} /70   parts {_f(res['basic_quality_mean'], 2)} / "
                f"{_f(res['expression_mean'], 2)} / {_f(res['length_rhythm_mean'], 2)}"]
    return [head + f", {res['n_queries']} queries)",
            "  " + "   ".join(f"R@{x} {_f(res[f'R@{x}'])}" for x in M.MUSIC_KS)
            + f"   MRR {_f(res['MRR'])}   median rank {_f(res['median_rank'], 1)}"]


def format_eval(result: dict) -> str:
    lines: list[str] = []
    for res in result["files"].values():
        lines += _file_lines(res)
        probs = res.get("problems") or []
        if probs:
            lines.append(f"  {len(probs)} problem{'s' if len(probs) > 1 else ''}; first: {probs[0]}")
    table = [f"{name[:24]:<24} " + " ".join(f"{_f(s['headline_rounded'][k], M.PAPER_DECIMALS[k]):>6}"
                                             for k in M.HEADLINE)
             for name, s in result["systems"].items()
             if any(v is not None for v in s["headline_rounded"].values())]  # proxy-only: nothing to show
    if len(result["files"]) > 1 and table:
        lines += ["", f"{'system':<24} {'CSA':>6} {'CRA':>6} {'VSC':>6} {'SQ':>6} {'WCD':>6}", *table]
    return "\n".join(lines)


def format_compare(result: dict) -> str:
    lines = [f"{result['kind']}: A = {result['A']}, B = {result['B']}; {result['n_paired']} paired ads"
             f" ({result['n_only_A']} only in A, {result['n_only_B']} only in B)",
             f"  {'metric':<22} {'A':>8} {'B':>8} {'B-A':>8}  95% interval ({result['n_boot']} bootstrap samples)"]
    for name, m in result["metrics"].items():
        iv = m["ci95"]
        lines.append(f"  {name:<22} {_f(m['A']):>8} {_f(m['B']):>8} {_f(m['diff']):>8}  "
                     + (f"[{iv[0]:+.3f}, {iv[1]:+.3f}]" if iv else "-"))
    for name, t in result["mcnemar"].items():
        lines.append(f"  McNemar {name}: A only {t['a_only']}, B only {t['b_only']} -> exact p = {t['p']:.3g}")
    return "\n".join(lines)

