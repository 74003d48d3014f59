"""`adcut dataset synth|build|info`: corpora of finished ads and the training data built from them.

`synth` makes a corpus of ads whose truth is known (adcut.dataset.synth), to check the builder;
`build` turns any corpus of finished ads into alignment and SFT data (adcut.dataset.build);
`info` prints what a built dataset holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import dataset_app, note
from adcut.cli.progress import RichBuildProgress, RichSynthProgress

AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@dataset_app.command("synth", interrupted="stopped; the finished ads are kept (run the same "
                                          "command again to make the rest)")
def synth(
    output: Annotated[Path, typer.Option("--output", "-o", help="The corpus folder to write (new, empty, or a corpus made with the same settings, which is resumed).")],
    ads: Annotated[int, typer.Option("--ads", min=1, max=9999, help="How many ads to make.")],
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same ads.")] = 0,
    small: Annotated[bool, typer.Option("--small", help="Small, short ads for tests: 180 px short side, 6-8 s briefs.")] = False,
    short_side: Annotated[Optional[int], typer.Option("--short-side", min=64, max=1080, help="Scale every ad so its shorter side is this many pixels (default: the platform size, 1080).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that holds something else, remaking every ad.")] = False,
    as_json: AsJson = False,
) -> None:
    """A corpus of finished ads with the truth each was made from, to check the dataset builder.

    Writes OUT/ads/NAME.mp4 with NAME.json (the product) and NAME.truth.json (when each voice
    line is spoken, which footage is on screen, which music plays), OUT/music/ (the tracks, to
    ingest as the builder's music library) and OUT/corpus.json. The ads are made by adcut's own
    planner and renderer from sample media that ship in packages; every 10th has no music.
    """
    from dataclasses import replace

    from adcut.dataset.synth import FULL, SMALL, run_synth

    size = SMALL if small else FULL
    if short_side is not None:
        size = replace(size, short_side_px=short_side)
    started = time.perf_counter()
    with RichSynthProgress() as progress:
        report = run_synth(output, ads, seed=seed, size=size, force=force, progress=progress)
    elapsed_s = time.perf_counter() - started
    per_ad_s = sum(report.seconds_per_ad) / len(report.seconds_per_ad) if report.made else 0.0
    untrue = report.untrue
    for name, checks in report.failed_qc.items():
        if name in untrue:
            note(f"error    {name}: {', '.join(untrue[name])} failed: its truth is not reliable "
                 "(the ad is kept for inspection)")
        else:
            note(f"note     {name}: {', '.join(checks)} failed (picture or mix only; the "
                 "truth holds)")
    if as_json:
        print(json.dumps({"output": str(output), "ads": ads, "made": report.made,
                          "skipped": report.skipped, "failed_qc": report.failed_qc,
                          "seconds_per_ad": [round(s, 2) for s in report.seconds_per_ad],
                          "elapsed_s": round(elapsed_s, 2), "size": size.label()}, indent=2))
    else:
        print(f"{output}: {ads} ads ({len(report.made)} made, {len(report.skipped)} already "
              f"there), {size.label()}, {elapsed_s:.1f} s"
              + (f", {per_ad_s:.1f} s per ad" if report.made else "")
              + (f", {len(untrue)} with unreliable truth" if untrue else ""))
    raise typer.Exit(1 if untrue else 0)


@dataset_app.command("build", interrupted="stopped; every ad finished so far is stored: run the "
                                          "same command again to go on from there")
def build(
    corpus: Annotated[list[Path], typer.Argument(help="Finished ad videos, or folders holding them.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Dataset folder to write (resumed when it exists).")],
    tokenizer: Annotated[Optional[list[Path]], typer.Option("--tokenizer", "-t", help="A video and/or an audio tokenizer folder (adcut tokenizer train); a missing one is trained on the corpus.")] = None,
    products: Annotated[Optional[Path], typer.Option("--products", help="products.csv: file,product,brand,selling_points (NAME.json beside a video wins).")] = None,
    language: Annotated[str, typer.Option(help="auto | zh | en: the ads' language (auto: the sidecar's, else detected).")] = "auto",
    asr: Annotated[Optional[str], typer.Option(help="Whisper model folder (CTranslate2); default: tiny.en for English, an installed multilingual model otherwise.")] = None,
    llm: Annotated[Optional[str], typer.Option(help="OpenAI-compatible URL that reads product facts from an ad's lines when it has no sidecar.")] = None,
    model: Annotated[Optional[str], typer.Option(help="The model name the --llm server serves.")] = None,
    separator: Annotated[Optional[str], typer.Option(help="module:factory of a source-separation model whose accompaniment gives the music (default: the stretches without speech).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=512, help="Ads analysed at once (processes here, actors per stage with --ray).")] = 1,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Run the analysis on the Ray cluster at this address ('local': start one here). Needs adcut[scale].")] = None,
    gpus_per_worker: Annotated[float, typer.Option("--gpus-per-worker", min=0.0, max=8.0, help="With --ray: GPUs each frame-embedding actor asks for.")] = 0.0,
    eval_fraction: Annotated[float, typer.Option("--eval-fraction", min=0.0, max=0.99, help="Share of the ads in the eval split (by ad).")] = 0.05,
    one_task: Annotated[bool, typer.Option("--one-task-per-ad", help="As the paper: each ad gives one SFT task, not all four.")] = False,
    draws: Annotated[int, typer.Option("--draws", min=1, max=64, help="Clip-selection and clip-order samples per training ad, each with the clips in another order (default 1, as the paper). With one order per ad, a model trained on a few hundred ads can learn their answers by heart instead of reading the clips.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Rebuild a folder built by another adcut, encoder or tokenizer.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Turn finished ads into AutoCut training data: align/{train,eval}.jsonl (whole ads as token
    strings), sft/{train,eval}.jsonl (the four tasks, ShareGPT), clips.jsonl, thumbs/ and
    report.json. Exit 1 when some ads were skipped, 2 when none could be used."""
    from adcut.core.errors import BadInputError
    from adcut.dataset.analyse import BuildOptions
    from adcut.dataset.build import BuildRequest, build_dataset

    if language not in ("auto", "zh", "en"):
        raise BadInputError(f"unknown language {language!r}", hint="use auto, zh or en")
    if gpus_per_worker and not ray:
        raise BadInputError("--gpus-per-worker is for --ray", hint="add --ray ADDRESS, or drop it")
    if separator:
        from adcut.dataset.music import load_separator

        load_separator(separator)  # refuse a bad name before any work
    if llm and not model:
        raise BadInputError("--llm needs --model NAME", hint="the name the server serves, e.g. Qwen/Qwen3-8B")
    request = BuildRequest(
        corpus=corpus, out=output, tokenizers=tokenizer or [], products_csv=products,
        options=BuildOptions(asr=asr, language=language, llm=llm, llm_model=model, separator=separator),
        workers=workers, ray=ray, gpus_per_worker=gpus_per_worker, eval_fraction=eval_fraction, one_task=one_task,
        draws=draws, force=force)
    with RichBuildProgress() as progress:
        outcome = build_dataset(request, progress)
    report = outcome.report
    if as_json:
        print(json.dumps({**report, "run": outcome.run_json()}, ensure_ascii=False, indent=1,
                         sort_keys=True))
    else:
        print(summary(report) + f"; {outcome.analysed} analysed now, {outcome.seconds:.1f} s -> {output}")
    raise typer.Exit(outcome.exit_code)


def summary(report: dict) -> str:
    ads = report["ads"]
    tasks: dict[str, int] = {}
    for counts in report["tasks"].values():
        for task, n in counts.items():
            tasks[task] = tasks.get(task, 0) + n
    task_text = ", ".join(f"{n} {t}" for t, n in sorted(tasks.items())) or "no SFT samples"
    return (f"{ads['used']} ads used ({ads['train']} train, {ads['eval']} eval), "
            f"{len(report['skipped'])} skipped; {report['hours'] * 60:.1f} min of ads, "
            f"{report['clips']} clips, {report['tokens']['video_frames']} frames; {task_text}")


@dataset_app.command("info")
def info(
    folder: Annotated[Path, typer.Argument(help="A dataset folder made by adcut dataset build.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """What a dataset holds: ads used and skipped (with why), hours, clips, tokens, samples per task."""
    from adcut.dataset.build import read_report

    report = read_report(folder)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=1, sort_keys=True))
        return
    print(summary(report))
    for path, reason in sorted(report["skipped"].items()):
        print(f"  skipped {path}: {reason}")
    for key, notes in sorted(report["left_out"].items()):
        for what, reason in sorted(notes.items()):
            print(f"  {key}: {what}: {reason}")
