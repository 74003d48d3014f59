"""Planning latency per ad: the trained-model planner (constrained decoding included) against
the zero-shot planner, on the same AutoCut-364 token-track ads in the same run.

Each ad is its four tasks, parsed from the released token-track prompts as `adcut bench` does:
clip selection, clip ordering, script writing, and music (the ordered clips with the script,
five candidate tracks with random audio tokens and a description each, so both planners can
answer it). Every planner object is loaded before the clock starts. The time spent inside the
constraint (the LogitsProcessor) is measured apart, so its share of the model's time shows.

Without --model a tiny random adcut model is built (tests/planner/tiny_adcut_model.py; a
2-layer Qwen3 of hidden size 64): its figures are the cost of adcut's machinery around a
model, not of a real 8B model.

    .venv/bin/python benchmarks/model_planner.py [--model DIR] [--dir ../shared/autocut364]
        [--ads 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from adcut.eval.bench import TRACK_FILES  # noqa: E402
from adcut.tasks.prompts_zh import parse_prompt_zh  # noqa: E402
from adcut.tasks.release import load_release_rows  # noqa: E402
from adcut.tasks.types import TRACK_TOKENS, AudioCandidate, MusicTask  # noqa: E402

MOODS = ["轻快 流行", "舒缓 钢琴", "激昂 电子", "温暖 吉他", "安静 氛围"]


def ads(folder: Path, limit: int) -> list[dict]:
    """Tasks per ad key, for ads present in all three token-track files (file order)."""
    by_kind: dict[str, dict[str, object]] = {}
    for kind, name in TRACK_FILES[TRACK_TOKENS].items():
        rows, _ = load_release_rows(folder / name)
        by_kind[kind] = {json.dumps(r.ad_key, sort_keys=True): parse_prompt_zh(r.prompt)[1] for r in rows}
    keys = [k for k in by_kind["select"] if k in by_kind["sort"] and k in by_kind["script"]][:limit]
    rng = random.Random(0)
    out = []
    for key in keys:
        sort, script = by_kind["sort"][key], by_kind["script"][key]
        tracks = [AudioCandidate(number=i + 1, description=MOODS[i],
                                 tokens="<|audio_start|>" + "".join(f"<a_{lv}_{rng.randrange(256)}>" for lv in range(8))
                                 + "<|audio_end|>") for i in range(5)]
        lines = list(sort.script_lines)[:len(script.clips)]
        out.append({"select": by_kind["select"][key], "sort": sort, "script": script,
                    "music": MusicTask(product=script.product, script_lines=lines, clips=list(script.clips),
                                       audio_candidates=tracks)})
    return out


def plan_ad(planner, ad: dict) -> dict[str, float]:
    """Seconds per task for one ad."""
    times = {}
    for kind, method in (("select", planner.select), ("sort", planner.order), ("script", planner.write),
                         ("music", planner.music)):
        start = time.perf_counter()
        method(ad[kind])
        times[kind] = time.perf_counter() - start
    return times


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(1000 * statistics.median(ordered), 1),
            "mean_ms": round(1000 * statistics.fmean(ordered), 1),
            "p90_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="an adcut model folder (default: a tiny random one)")
    ap.add_argument("--dir", type=Path, default=REPO.parent / "shared" / "autocut364")
    ap.add_argument("--ads", type=int, default=20)
    ap.add_argument("--max-line-tokens", type=int, default=48,
                    help="a script line is closed after this many tokens (a random model never ends one)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    import torch

    from adcut.planner import constrained
    from adcut.planner.model import ModelPlanner
    from adcut.planner.zero_shot import ZeroShotPlanner

    work = Path(tempfile.mkdtemp(prefix="adcut-model-bench-"))
    folder = args.model
    if folder is None:
        from tests.planner.tiny_adcut_model import build_tiny_adcut_model

        folder = build_tiny_adcut_model(work / "tiny", language="zh")
    tasks = ads(args.dir, args.ads)
    zero = ZeroShotPlanner()
    model = ModelPlanner(folder, fallback=zero, language="zh", max_line_tokens=args.max_line_tokens)
    generated: dict[str, list[tuple[int, int]]] = defaultdict(list)  # kind -> (prompt, answer tokens)
    generate = model.generate

    def counted(prompt, constraint, budget):
        gen = generate(prompt, constraint, budget)
        kind = type(constraint).__name__
        generated[kind].append((gen.prompt_tokens, len(gen.ids) + (1 if gen.ended else 0)))
        return gen

    model.generate = counted  # type: ignore[method-assign]

    # Time inside the constraint, apart from the model's forward passes.
    from transformers import LogitsProcessor

    spent = [0.0]
    original = constrained.constrained_processor

    class Timed(LogitsProcessor):
        def __init__(self, inner):
            self.inner = inner

        def __call__(self, input_ids, scores):
            start = time.perf_counter()
            out = self.inner(input_ids, scores)
            spent[0] += time.perf_counter() - start
            return out

    def timed(constraint, prompt_length):
        return Timed(original(constraint, prompt_length))

    constrained.constrained_processor = timed
    plan_ad(zero, tasks[0])  # warm both (first-call costs: text models, kernels)
    plan_ad(model, tasks[0])
    spent[0] = 0.0
    generated.clear()
    per_planner: dict[str, list[dict[str, float]]] = defaultdict(list)
    for ad in tasks:
        per_planner["zero-shot"].append(plan_ad(zero, ad))
        per_planner["model"].append(plan_ad(model, ad))
    constrained.constrained_processor = original
    import os

    report = {"ads": len(tasks), "model": str(folder), "torch_threads": torch.get_num_threads(),
              "load_average_1min": round(os.getloadavg()[0], 2), "max_line_tokens": args.max_line_tokens,
              "constraint_s": round(spent[0], 3),
              "tokens": {kind: {"prompt_median": statistics.median(p for p, _ in pairs),
                                "answer_median": statistics.median(a for _, a in pairs)}
                         for kind, pairs in generated.items()}}
    for name, rows in per_planner.items():
        report[name] = {"per_ad": summary([sum(r.values()) for r in rows]),
                        **{kind: summary([r[kind] for r in rows]) for kind in ("select", "sort", "script", "music")}}
    model_total = sum(sum(r.values()) for r in per_planner["model"])
    report["constraint_share_of_model_time"] = round(spent[0] / model_total, 4) if model_total else None
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['ads']} ads of {args.dir.name} (token track), torch threads {report['torch_threads']}, "
          f"load average {report['load_average_1min']}, model {folder}")
    print(f"{'planner':<10} {'per ad median':>14} {'mean':>9} {'p90':>9} | "
          + " ".join(f"{k:>8}" for k in ("select", "sort", "script", "music")) + "  (medians, ms)")
    for name in ("zero-shot", "model"):
        r = report[name]
        ad = r["per_ad"]
        print(f"{name:<10} {ad['median_ms']:>14.1f} {ad['mean_ms']:>9.1f} {ad['p90_ms']:>9.1f} | "
              + " ".join(f"{r[k]['median_ms']:>8.1f}" for k in ("select", "sort", "script", "music")))
    for kind, t in report["tokens"].items():
        print(f"{kind}: median {t['prompt_median']:.0f} prompt tokens, {t['answer_median']:.0f} answer tokens")
    print(f"constraint (LogitsProcessor) time: {report['constraint_s']:.3f} s, "
          f"{100 * (report['constraint_share_of_model_time'] or 0):.2f}% of the model planner's time")


if __name__ == "__main__":
    main()
