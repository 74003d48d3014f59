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
    benchmark: Annotated[str, typer.Argument(help="Benchmark name: autocut364 | synthetic.")],
    folder: Annotated[Optional[Path], typer.Argument(
        help="autocut364: its folder (the release files). synthetic takes none.")] = None,
    track: Annotated[str, typer.Option(
        help="How clips are shown: caption (one caption per clip) | token (RQ-VAE tokens per clip, "
             "the AutoCut model's inputs; its stored outputs are scored on the same ads).")] = "caption",
    planner: Annotated[str, typer.Option(help="zero-shot | openai URL | hf PATH | model PATH | model URL (docs/serving.md).")] = "zero-shot",
    model: Annotated[Optional[str], typer.Option(help="Model name for --planner openai.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Where predictions go (default: beside the inputs; ./DIRNAME-predictions "
                            "when their folder is read-only). synthetic: the folder of the whole run "
                            "(default ./adcut-bench-synthetic).")] = None,
    seed: Annotated[int, typer.Option(help="Planner tie-breaks and bootstrap seed; synthetic: also the world's seed.")] = 0,
    ads: Annotated[Optional[int], typer.Option(
        "--ads", help="synthetic: how many ads the world has (default 500; at least 60).")] = None,
    force: Annotated[bool, typer.Option("--force", help="synthetic: replace an earlier run in --out.")] = False,
    recipe: Annotated[Optional[str], typer.Option(
        "--recipe", help="synthetic: the training recipe of the model step (default tiny-cpu).")] = None,
    stages: Annotated[Optional[str], typer.Option(
        "--stages", help="synthetic: the model step's training stages: align,sft (default) | sft.")] = None,
    no_model: Annotated[bool, typer.Option(
        "--no-model", help="synthetic: score the random and zero-shot planners only (no training).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Run a planner on a benchmark's ads, write its predictions in the release format, and
    score them next to the paper's rows (with bootstrap 95% intervals).

    `adcut bench synthetic` takes no folder: it generates a world of ads whose pictures, lines,
    clip order and music are tied by hidden rules, writes it as a dataset folder, trains the
    model on it (--recipe, --stages; skip with --no-model) and scores random, zero-shot and the
    trained model on the held-out ads (CSA, CRA, Kendall tau, music R@10)."""
    if benchmark == "synthetic":
        _bench_synthetic(folder, out=out, ads=ads, seed=seed, force=force, recipe=recipe, stages=stages,
                         no_model=no_model, as_json=as_json,
                         others={"--track": track != "caption", "--planner": planner != "zero-shot",
                                 "--model": model is not None})
        return
    given = [name for name, used in (("--ads", ads is not None), ("--force", force), ("--recipe", recipe is not None),
                                     ("--stages", stages is not None), ("--no-model", no_model)) if used]
    if given:
        raise BadInputError(f"{given[0]} is an option of `adcut bench synthetic`, not of {benchmark}")
    if folder is None:
        raise BadInputError(f"adcut bench {benchmark} needs the benchmark's folder",
                            hint=f"adcut bench {benchmark} DIR")
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


def _bench_synthetic(folder: Optional[Path], *, out: Optional[Path], ads: Optional[int], seed: int, force: bool,
                     recipe: Optional[str], stages: Optional[str], no_model: bool, as_json: bool,
                     others: dict[str, bool]) -> None:
    """`adcut bench synthetic`: check the arguments, run the benchmark, print its report."""
    import functools

    from adcut.eval.synthetic.bench import (
        DEFAULT_ADS,
        check_request,
        format_report,
        run_synthetic_bench,
    )
    from adcut.eval.synthetic.model_step import (
        DEFAULT_RECIPE,
        DEFAULT_STAGES,
        parse_stages,
        train_model_planner,
    )

    if folder is not None:
        raise BadInputError(f"adcut bench synthetic takes no folder (got {folder})",
                            hint="adcut bench synthetic [-o DIR] [--ads N] [--seed N]")
    wrong = [name for name, used in others.items() if used]
    if wrong:
        raise BadInputError(f"{wrong[0]} is not an option of `adcut bench synthetic`",
                            hint="it scores random, zero-shot and the model it trains")
    if no_model and (recipe is not None or stages is not None):
        raise BadInputError("--recipe and --stages choose how the model is trained; --no-model trains none",
                            hint="drop one of them")
    out = out if out is not None else Path("adcut-bench-synthetic")
    n_ads = DEFAULT_ADS if ads is None else ads
    check_request(out, n_ads, force=force)  # refuse before any work
    from adcut.cli.progress import RichStageProgress

    train_bar = RichStageProgress()
    factory = None
    if not no_model:
        if recipe is not None and not recipe.strip():
            raise BadInputError("--recipe is empty", hint=f"give a recipe name, e.g. {DEFAULT_RECIPE}")
        factory = functools.partial(train_model_planner, recipe=recipe or DEFAULT_RECIPE,
                                    stages=parse_stages(stages or DEFAULT_STAGES), seed=seed,
                                    progress=train_bar)
    tty = sys.stderr.isatty()

    def progress(what: str, done: int, total: int) -> None:
        if total == 0:
            print(f"{what}...", file=sys.stderr, flush=True)
        elif tty:
            print(f"\r{what}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    with train_bar:
        report = run_synthetic_bench(out, ads=n_ads, seed=seed, model_factory=factory, progress=progress,
                                     force=force)
    print(json.dumps(report, indent=2, ensure_ascii=False) if as_json else format_report(report))
