"""`adcut train align|sft|export|estimate`: the AutoCut model (adcut.train).

`align` extends a base model's vocabulary with the RQ-VAE tokens and trains their embeddings on
whole ads; `sft` fine-tunes an aligned model (or, with --stages sft, the base directly) on the
four tasks; `export` writes a plain Hugging Face folder; `estimate` prints the memory a recipe
needs per GPU. Multi-GPU: `accelerate launch --num_processes N -m adcut train ...`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from adcut.cli.app import App, app, note

train_app = App(help="Train the AutoCut model: vocabulary extension + alignment, SFT, export.",
                no_args_is_help=True)
app.add_typer(train_app, name="train")

AsJson = Annotated[bool, typer.Option("--json", help="Print the run's record as JSON.")]
Data = Annotated[Path, typer.Option("--data", help="A dataset folder from `adcut dataset build` (or `adcut bench synthetic`).")]
Out = Annotated[Path, typer.Option("--output", "-o", help="The run folder to write (a Hugging Face model folder).")]
Recipe = Annotated[str, typer.Option("--recipe", help="tiny-cpu, smollm2-135m-cpu, qwen3-8b, or a YAML file.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the run in -o from its last checkpoint.")]
Force = Annotated[bool, typer.Option("--force", help="Replace the run in -o.")]
Lr = Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default: the recipe's).")]
Epochs = Annotated[Optional[float], typer.Option("--epochs", help="Epochs (default: the recipe's).")]
Batch = Annotated[Optional[int], typer.Option("--batch-size", help="Per-device batch size (default: the recipe's).")]
Cutoff = Annotated[Optional[int], typer.Option("--cutoff-len", help="Tokens per packed block (align) or longest sample kept (sft).")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", help="Stop after this many optimizer steps.")]
NoEval = Annotated[bool, typer.Option("--no-eval", help="Skip the eval loss on the data's eval split.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check the recipe: a tiny model of its architecture, 2 steps, and the memory estimate.")]

_INTERRUPTED = "stopped; the checkpoints in RUN/checkpoints are kept: continue with --resume"


def _overrides(lr, epochs, batch_size, cutoff_len, max_steps) -> dict:
    return {"learning_rate": lr, "epochs": epochs, "batch_size": batch_size, "cutoff_len": cutoff_len,
            "max_steps": max_steps}


def _run(request, as_json: bool) -> None:
    from adcut.cli.progress import RichStageProgress
    from adcut.train.run import run_stage

    if request.dry_run:
        _print_estimate(request.recipe, request.stage, gpus=None, lora=request.lora)
    with RichStageProgress() as progress:
        result = run_stage(request, progress)
    record = result.record
    if as_json:
        print(json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True))
        return
    m = record["metrics"]
    vocab = record.get("vocab") or {}
    if vocab.get("reused"):
        note(f"note     the base tokenizer already held {vocab['reused']} adcut tokens: reused with their ids")
    if record["data"].get("left_out"):
        note(f"note     {record['data']['left_out']} samples longer than the cutoff were left out")
    eval_part = f", eval loss {m['eval_loss']:.3f}" if m.get("eval_loss") is not None else ""
    print(f"{record['stage']} done: {m['steps']} steps in {m['seconds']:.0f} s, train loss {m['train_loss']:.3f}"
          f"{eval_part}, {m['tokens_per_s']:,.0f} tokens/s, peak memory {m['peak_memory_mb']:,.0f} MB -> {result.out}")


@train_app.command("align", interrupted=_INTERRUPTED)
def align(
    data: Data, output: Out,
    base: Annotated[Optional[str], typer.Option("--base", help="tiny, smollm2, a model folder or a hub name (default: the recipe's).")] = None,
    recipe: Recipe = "tiny-cpu",
    train_new_head_rows: Annotated[bool, typer.Option("--train-new-head-rows", help="Let the output head's rows of the new tokens learn too (the head is frozen otherwise).")] = False,
    lr: Lr = None, epochs: Epochs = None, batch_size: Batch = None, cutoff_len: Cutoff = None, max_steps: MaxSteps = None,
    resume: Resume = False, force: Force = False, dry_run: DryRun = False, no_eval: NoEval = False,
    as_json: AsJson = False,
) -> None:
    """Extend the base model's vocabulary with the video/audio tokens and the ten sentinels, and
    train only the new input-embedding rows on whole ads (next-token loss, packed blocks)."""
    from adcut.train.run import TrainRequest

    _run(TrainRequest(stage="align", data=data, out=output, recipe=recipe, base=base,
                      train_new_head_rows=train_new_head_rows, resume=resume, force=force, dry_run=dry_run,
                      evaluate=not no_eval,
                      overrides=_overrides(lr, epochs, batch_size, cutoff_len, max_steps)), as_json)


@train_app.command("sft", interrupted=_INTERRUPTED)
def sft(
    data: Data, output: Out,
    base: Annotated[Optional[str], typer.Option("--base", help="The alignment run (or, with --stages sft, a base model; default: the recipe's).")] = None,
    recipe: Recipe = "tiny-cpu",
    stages: Annotated[str, typer.Option("--stages", help="align,sft (fine-tune an aligned model) or sft (straight from the base model: the paper's ablation).")] = "align,sft",
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters (merged into the saved model) instead of every weight.")] = False,
    lr: Lr = None, epochs: Epochs = None, batch_size: Batch = None, cutoff_len: Cutoff = None, max_steps: MaxSteps = None,
    resume: Resume = False, force: Force = False, dry_run: DryRun = False, no_eval: NoEval = False,
    as_json: AsJson = False,
) -> None:
    """Fine-tune on the four tasks (clip selection, ordering, script, music) with the loss on the
    answer only, in the base model's chat template."""
    from adcut.core.errors import BadInputError
    from adcut.train.run import TrainRequest

    chosen = tuple(s.strip() for s in stages.split(",") if s.strip())
    if chosen not in (("align", "sft"), ("sft",)):
        raise BadInputError(f"--stages {stages!r}", hint="use align,sft or sft")
    _run(TrainRequest(stage="sft", data=data, out=output, recipe=recipe, base=base, stages=chosen, lora=lora,
                      resume=resume, force=force, dry_run=dry_run, evaluate=not no_eval,
                      overrides=_overrides(lr, epochs, batch_size, cutoff_len, max_steps)), as_json)


@train_app.command("export")
def export(
    run: Annotated[Path, typer.Argument(help="A finished run folder (align or sft).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model folder to write.")],
    force: Force = False, as_json: AsJson = False,
) -> None:
    """A plain Hugging Face model folder (transformers and vLLM load it) with the tokenizer's added
    tokens and the RQ-VAE tokenizers beside it in rqvae/."""
    from adcut.train.export import export_run

    result = export_run(run, output, force=force)
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        print(f"exported {result['stage']} model ({len(result['files'])} files) -> {result['out']}")


def _print_estimate(recipe_name: str, stage: str, gpus: int | None, lora: bool) -> dict | None:
    from adcut.train.config import load_recipe
    from adcut.train.estimate import estimate

    recipe = load_recipe(recipe_name)
    if recipe.architecture is None:
        note(f"note     recipe {recipe.name} gives no architecture: no memory estimate")
        return None
    settings = recipe.stage(stage)
    gpus = gpus or 8
    lora_rank = (settings.lora.r if settings.lora else 16) if lora else None
    est = estimate(recipe.architecture, stage=stage, gpus=gpus, batch_size=settings.batch_size,
                   cutoff_len=settings.cutoff_len, lora_rank=lora_rank, checkpointing=settings.gradient_checkpointing)
    note(f"memory   {recipe.name} {stage}{' lora' if lora else ''} on {gpus} GPUs (ZeRO-2, bf16): "
         f"{est['total']} GiB per GPU (weights {est['weights']}, gradients {est['gradients']}, optimizer "
         f"{est['optimizer']}, activations {est['activations']}; {est['parameters_b']} B parameters, "
         f"{est['trainable_b']} B trainable)")
    return est


@train_app.command("estimate")
def estimate_cmd(
    recipe: Recipe = "qwen3-8b",
    stage: Annotated[str, typer.Option("--stage", help="align or sft.")] = "sft",
    gpus: Annotated[int, typer.Option("--gpus", min=1, help="GPUs the ZeRO-2 state is sharded over.")] = 8,
    lora: Annotated[bool, typer.Option("--lora", help="LoRA adapters instead of full fine-tuning.")] = False,
    as_json: AsJson = False,
) -> None:
    """Memory per GPU a recipe's stage needs, from the model's shape (nothing is loaded)."""
    from adcut.core.errors import BadInputError
    from adcut.train.config import load_recipe
    from adcut.train.estimate import estimate

    if stage not in ("align", "sft"):
        raise BadInputError(f"--stage {stage!r}", hint="use align or sft")
    r = load_recipe(recipe)
    if r.architecture is None:
        raise BadInputError(f"recipe {r.name} gives no architecture", hint="add an `architecture:` block (see qwen3-8b)")
    s = r.stage(stage)
    est = estimate(r.architecture, stage=stage, gpus=gpus, batch_size=s.batch_size, cutoff_len=s.cutoff_len,
                   lora_rank=(s.lora.r if s.lora else 16) if lora else None, checkpointing=s.gradient_checkpointing)
    if as_json:
        print(json.dumps(est))
    else:
        print(f"{r.name} {stage}{' lora' if lora else ''}, {gpus} GPUs: {est['total']} GiB per GPU "
              f"(weights {est['weights']}, gradients {est['gradients']}, optimizer {est['optimizer']}, "
              f"activations {est['activations']})")
