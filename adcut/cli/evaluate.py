"""`adcut eval` and `adcut bench`: score result files, run a planner on a benchmark."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import app
from adcut.core.errors import BadInputError


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
    if not as_json:
        print(format_eval(result))
    elif len(result["files"]) == 1:
        print(json.dumps(next(iter(result["files"].values())), indent=2, ensure_ascii=False))
    else:
        print(json.dumps(result, indent=2, ensure_ascii=False))


@app.command(interrupted="prediction files finished so far are complete; nothing half-written")
def bench(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name: autocut364.")],
    folder: Annotated[Path, typer.Argument(help="Its folder (e.g. the autocut364 release files).")],
    track: Annotated[str, typer.Option(
        help="How clips are shown: caption (one caption per clip) | token (RQ-VAE tokens per clip, "
             "the AutoCut model's inputs; its stored outputs are scored on the same ads).")] = "caption",
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
    from adcut.eval.bench import format_bench, run_bench, track_name
    from adcut.planner.registry import load_planner

    track = track_name(track)  # a bad --track fails before a planner is loaded

    def progress(kind: str, done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\r{kind}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    chosen = load_planner(planner, model, language="zh")
    report = run_bench(benchmark, folder, chosen, track=track, out=out, seed=seed, progress=progress)
    if out is None and Path(report["out"]) != Path(folder):
        print(f"note: {folder} is read-only: predictions written to {report['out']}", file=sys.stderr)
    print(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_bench(report))
