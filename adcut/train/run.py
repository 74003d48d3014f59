"""One training stage, start to finish: `adcut train align` and `adcut train sft`.

The run folder is a Hugging Face model folder (config, weights, tokenizer with the adcut
tokens) that `from_pretrained` loads as it is, plus:
- `adcut_model.json`: the stage, the recipe and its settings, the base, the data folder's
  fingerprint and tokenizer ids, the vocabulary extension, package versions and the figures
  (train and eval loss, tokens per second, peak memory); `"state"` is `running` until the
  weights are saved, then `done`;
- `rqvae/video`, `rqvae/audio`: the RQ-VAE tokenizers the data's token strings came from
  (the model planner decodes generated audio tokens with them);
- `checkpoints/`: the Trainer's checkpoints, for `--resume`;
- `adapter/` (SFT with `--lora`): the LoRA adapter; the top level holds the merged model.

Training is the Hugging Face Trainer (accelerate underneath; DeepSpeed when the recipe names
a config); this module only prepares the model, the examples and the arguments.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from adcut.core.errors import AdcutError, BadInputError, OutputError
from adcut.train import data as D
from adcut.train.base import SMOLLM2, TINY, build_tiny_model, build_tiny_tokenizer, load_pretrained
from adcut.train.config import LoraSettings, Recipe, StageSettings, deepspeed_config, load_recipe, with_overrides
from adcut.train.vocab import extend, freeze_for_alignment, missing_tokens

log = logging.getLogger(__name__)

MODEL_FILE = "adcut_model.json"
MODEL_FORMAT = "adcut-model/1"
CHECKPOINTS = "checkpoints"
RQVAE_DIR = "rqvae"
ADAPTER_DIR = "adapter"
OOM_HINT = "use a smaller --batch-size or --cutoff-len, --lora, or the qwen3-8b recipe on GPUs"


class TrainProgress(Protocol):
    def start(self, stage: str, total_steps: int) -> None: ...
    def step(self, step: int, loss: float | None, tokens_per_s: float) -> None: ...
    def evaluated(self, eval_loss: float) -> None: ...


class _Silent:
    def start(self, stage: str, total_steps: int) -> None: ...
    def step(self, step: int, loss: float | None, tokens_per_s: float) -> None: ...
    def evaluated(self, eval_loss: float) -> None: ...


@dataclass
class TrainRequest:
    stage: str  # "align" or "sft"
    data: Path
    out: Path
    recipe: str = "tiny-cpu"
    base: str | None = None  # None: the recipe's base (align, or sft with stages=("sft",))
    stages: tuple[str, ...] = ("align", "sft")  # ("sft",): SFT straight from the base (ablation)
    lora: bool = False
    train_new_head_rows: bool = False
    resume: bool = False
    force: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)  # StageSettings fields from the CLI
    dry_run: bool = False  # the recipe's architecture at a tiny size, a few steps (checks a GPU recipe on a CPU)
    evaluate: bool = True  # eval loss on the data's eval split (per epoch or eval_steps, and at the end)


@dataclass
class TrainResult:
    out: Path
    stage: str
    record: dict


# --------------------------------------------------------------------------- run folder


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads((path / MODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) and record.get("format") == MODEL_FORMAT else None


def _prepare_out(req: TrainRequest, fingerprint: str) -> dict | None:
    """Refuse an existing run folder unless --resume (same stage and data) or --force.
    Returns the existing record when resuming."""
    out = req.out
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder", hint="choose another -o")
    used = out.is_dir() and any(out.iterdir())
    if req.resume:
        record = _read_record(out) if used else None
        if record is None:
            raise BadInputError(f"--resume: {out} holds no run to resume", hint="start it without --resume")
        if record.get("stage") != req.stage or record.get("data", {}).get("fingerprint") != fingerprint:
            raise BadInputError(f"--resume: {out} is a {record.get('stage')} run on other data",
                                hint="resume with the same stage and --data, or start a new run folder")
        return record
    if used:
        if _read_record(out) is None:  # --force replaces a run, never a folder of other files
            raise OutputError(f"{out} holds files that are not an adcut run", hint="choose an empty or new -o")
        if not req.force:
            raise OutputError(f"{out} already holds a run", hint="pass --resume to continue it or --force to replace it")
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return None


def _write_record(out: Path, record: dict) -> None:
    tmp = out / (MODEL_FILE + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out / MODEL_FILE)


def _latest_checkpoint(out: Path) -> Path | None:
    found = [p for p in (out / CHECKPOINTS).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("adcut", "torch", "transformers", "accelerate", "peft", "deepspeed"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _language(pairs: list[tuple[str, str]]) -> str:
    import re

    han = re.compile(r"[\u4e00-\u9fff]")
    zh = sum(bool(han.search(p[:400])) for p, _ in pairs[:200])
    return "zh" if pairs and zh * 2 > min(len(pairs), 200) else "en"


# --------------------------------------------------------------------------- the base


def _base_record(path: Path) -> dict | None:
    return _read_record(path) if path.is_dir() else None


def _load_base(req: TrainRequest, recipe: Recipe, manifest: dict, resume_from: dict | None) -> tuple[Any, Any, str, dict | None]:
    """(model, tokenizer, base spec, record of the base run or None)."""
    spec = req.base or None
    if req.stage == "sft" and req.stages != ("sft",) and spec is None:
        raise BadInputError("adcut train sft needs --base: the folder `adcut train align` wrote",
                            hint="or pass --stages sft to fine-tune the recipe's base model directly (the ablation)")
    spec = spec or recipe.base
    base_run = _base_record(Path(spec).expanduser())
    if req.stage == "sft":
        if req.stages == ("sft",) and base_run is not None and base_run.get("stage") == "align":
            raise BadInputError(f"--stages sft fine-tunes a base model directly, but {spec} is an alignment run",
                                hint="drop --stages sft to fine-tune the aligned model")
        if req.stages != ("sft",) and base_run is None:
            raise BadInputError(f"--base {spec} is not an adcut alignment run",
                                hint="run `adcut train align` first, or pass --stages sft (SFT straight from the base model)")
    if base_run is not None:
        theirs, ours = base_run.get("data", {}).get("tokenizers") or {}, manifest.get("tokenizers") or {}
        if theirs.get("video") != ours.get("video") or theirs.get("audio") != ours.get("audio"):
            raise BadInputError(f"{req.data} was built with other RQ-VAE tokenizers than the data {spec} was trained on "
                                f"({ours} vs {theirs})",
                                hint="train on data built with the same --tokenizer, or start again from align")
    if spec == TINY:
        if recipe.tiny is None:
            raise BadInputError(f"recipe {recipe.name} has no `tiny` settings for base tiny")
        if resume_from is not None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(req.out))
        else:
            tokenizer = build_tiny_tokenizer(D.all_texts(req.data), recipe.tiny.vocab_size)
        model = build_tiny_model(recipe.tiny, len(tokenizer))
        return model, tokenizer, spec, None
    model, tokenizer = load_pretrained(spec)
    return model, tokenizer, spec, base_run


def _dry_run_model(recipe: Recipe, tokenizer_texts) -> tuple[Any, Any]:
    """The recipe base's architecture at a tiny size (config from the hub name's family, no
    weights): checks the GPU recipe end to end on a CPU."""
    from adcut.train.config import TinySettings

    settings = recipe.tiny or TinySettings(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                           num_attention_heads=4, num_key_value_heads=2, head_dim=16)
    tokenizer = build_tiny_tokenizer(tokenizer_texts, settings.vocab_size)
    return build_tiny_model(settings, len(tokenizer)), tokenizer


# --------------------------------------------------------------------------- the Trainer


def _callback(progress: TrainProgress, stage: str):
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def __init__(self):
            self.started = None
            self.tokens0 = 0
            self.last_loss: float | None = None

        def on_train_begin(self, args, state, control, **kw):
            self.started = time.perf_counter()
            self.tokens0 = state.num_input_tokens_seen
            progress.start(stage, state.max_steps)

        def _report(self, state):
            elapsed = max(time.perf_counter() - (self.started or time.perf_counter()), 1e-9)
            progress.step(state.global_step, self.last_loss, (state.num_input_tokens_seen - self.tokens0) / elapsed)

        def on_log(self, args, state, control, logs=None, **kw):
            logs = logs or {}
            if "loss" in logs:  # logged right after the step it belongs to
                self.last_loss = float(logs["loss"])
                self._report(state)
            if "eval_loss" in logs:
                progress.evaluated(float(logs["eval_loss"]))

        def on_step_end(self, args, state, control, **kw):
            if state.global_step % max(args.logging_steps, 1):
                self._report(state)  # between logged steps: advance with the last loss

    return Report()


def _answer_only_trainer(*, in_order: bool = False):
    """The Trainer, computing the output head only where a label follows (SFT: the answer);
    `in_order`: the training samples are fed in their order (adcut.train.sequence).

    The head over a vocabulary with 4,096 added tokens is most of a small model's work per
    token, and SFT labels only the answer (a few per cent of the tokens), so logits are
    computed for the positions whose next token is labelled in some row of the batch
    (`logits_to_keep` with their indices) and the loss is the usual token-mean cross-entropy."""
    import torch
    from transformers import Trainer

    class AnswerOnlyTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            if in_order:
                return torch.utils.data.SequentialSampler(train_dataset or self.train_dataset)
            return super()._get_train_sampler(train_dataset)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            targets = labels[:, 1:]
            keep = (targets != D.IGNORE).any(0).nonzero().flatten()
            if keep.numel() == 0:
                keep = torch.zeros(1, dtype=torch.long, device=labels.device)
            outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                            logits_to_keep=keep)
            logits = outputs.logits.float()  # (batch, kept, vocab)
            wanted = targets[:, keep]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), wanted.reshape(-1),
                                                     ignore_index=D.IGNORE, reduction="sum")
            count = num_items_in_batch if num_items_in_batch is not None else (wanted != D.IGNORE).sum()
            loss = loss / torch.as_tensor(count, device=loss.device).clamp(min=1)
            return (loss, outputs) if return_outputs else loss

    return AnswerOnlyTrainer


def _arguments(req: TrainRequest, settings: StageSettings, has_eval: bool, use_cpu: bool) -> Any:
    from transformers import TrainingArguments

    by_steps = settings.save_steps is not None
    eval_by_steps = settings.eval_steps is not None
    ds = deepspeed_config(settings.deepspeed) if not use_cpu else None
    return TrainingArguments(
        output_dir=str(req.out / CHECKPOINTS),
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation,
        learning_rate=settings.learning_rate,
        num_train_epochs=settings.epochs,
        max_steps=settings.max_steps or -1,
        lr_scheduler_type=settings.scheduler,
        warmup_steps=settings.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=0.0,  # alignment: a frozen row must stay bit-identical; SFT follows the paper's recipe
        logging_steps=settings.logging_steps,
        eval_strategy=("steps" if eval_by_steps else "epoch") if has_eval else "no",
        eval_steps=settings.eval_steps,
        save_strategy="steps" if by_steps else "epoch",
        save_steps=settings.save_steps or 500,
        save_total_limit=2,
        bf16=settings.bf16 and not use_cpu,
        activation_checkpointing=settings.gradient_checkpointing,
        deepspeed=str(ds) if ds else None,
        seed=settings.seed,
        data_seed=settings.seed,
        use_cpu=use_cpu,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
    )


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in str(exc).lower()


def _peak_memory_mb(use_cpu: bool) -> float:
    import resource

    import torch

    if not use_cpu and torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


def _apply_lora(model: Any, lora: LoraSettings, train_embeddings: bool) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        from adcut.core.errors import DependencyError

        raise DependencyError("--lora needs peft", hint="pip install 'adcut[train]'") from None
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    targets = [t for t in lora.target_modules if t in present]
    if not targets:
        raise BadInputError(f"none of the LoRA target modules {lora.target_modules} is in the model")
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=targets,
                        task_type="CAUSAL_LM",
                        # Straight from the base (--stages sft) the new rows are untrained: they learn too.
                        modules_to_save=["embed_tokens", "lm_head"] if train_embeddings else None)
    return get_peft_model(model, config)


def _copy_rqvae(data: Path, out: Path) -> dict[str, str]:
    copied = {}
    for modality in ("video", "audio"):
        src = data / "tokenizers" / modality
        if (src / "config.json").is_file():
            dst = out / RQVAE_DIR / modality
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(src, dst)
            copied[modality] = str(dst.relative_to(out))
    return copied


def run_stage(req: TrainRequest, progress: TrainProgress | None = None) -> TrainResult:
    """Train one stage; see the module docstring for what the run folder holds."""
    import torch
    import transformers
    from transformers import Trainer
    from transformers.trainer_callback import PrinterCallback

    transformers.utils.logging.disable_progress_bar()  # no tqdm bars from loading and saving
    progress = progress or _Silent()
    if req.stage not in ("align", "sft"):
        raise BadInputError(f"unknown stage {req.stage!r}", hint="use align or sft")
    recipe = load_recipe(req.recipe)
    settings = with_overrides(recipe.stage(req.stage), **req.overrides)
    if req.lora:
        if req.stage != "sft":
            raise BadInputError("--lora applies to adcut train sft", hint="alignment trains only the new embedding rows")
        settings = settings.model_copy(update={"lora": settings.lora or LoraSettings()})
    in_sequence = settings.reshuffle_clips or settings.order_warmup_steps > 0
    if in_sequence and req.stage != "sft":
        raise BadInputError("reshuffle_clips and order_warmup_steps are SFT settings",
                            hint="set them in the recipe's sft stage")
    manifest = D.check_data_folder(req.data, req.stage)
    fingerprint = D.fingerprint(req.data)
    resumed = _prepare_out(req, fingerprint)
    use_cpu = not torch.cuda.is_available()

    if req.dry_run:
        model, tokenizer = _dry_run_model(recipe, D.all_texts(req.data))
        spec, base_run = f"{recipe.base} (dry run: tiny model of its architecture)", None
        settings = settings.model_copy(update={"max_steps": settings.max_steps or 2, "cutoff_len": min(settings.cutoff_len, 1024),
                                               "batch_size": min(settings.batch_size, 2)})
    else:
        model, tokenizer, spec, base_run = _load_base(req, recipe, manifest, resumed)
    extension = None
    if base_run is None:  # a raw base: extend it (align, or the --stages sft ablation)
        extension = extend(model, tokenizer)
        if extension.reused:
            log.warning("the base tokenizer already holds %d adcut tokens: reused with their ids", extension.reused)
    elif missing_tokens(tokenizer):
        raise BadInputError(f"--base {spec} lacks adcut tokens ({len(missing_tokens(tokenizer))} missing)",
                            hint="start from the folder `adcut train align` wrote")
    if req.stage == "align":
        from adcut.train.vocab import adcut_token_ids

        freeze_for_alignment(model, adcut_token_ids(tokenizer), train_new_head_rows=req.train_new_head_rows)
        train, evals = (D.pack(D.align_texts(req.data, s), tokenizer, settings.cutoff_len) for s in ("train", "eval"))
        language = _language(D.sft_pairs(req.data, "train"))
    else:
        pairs = D.sft_pairs(req.data, "train")
        if in_sequence:
            from adcut.train.sequence import training_sequence

            per_step = settings.batch_size * settings.gradient_accumulation
            epoch_steps = math.ceil(len(pairs) / per_step)
            train = D.sft_examples(training_sequence(pairs, epochs=settings.epochs, batch_size=per_step,
                                                     reshuffle_clips=settings.reshuffle_clips,
                                                     order_warmup_steps=settings.order_warmup_steps,
                                                     seed=settings.seed), tokenizer, settings.cutoff_len)
        else:
            train = D.sft_examples(pairs, tokenizer, settings.cutoff_len)
        evals = D.sft_examples(D.sft_pairs(req.data, "eval"), tokenizer, settings.cutoff_len)
        language = _language(pairs)
        if not train.rows:
            raise BadInputError(f"every SFT sample of {req.data} is longer than cutoff_len {settings.cutoff_len}",
                                hint="raise --cutoff-len")
        if settings.lora:
            model = _apply_lora(model, settings.lora, train_embeddings=req.stages == ("sft",))
    if not req.evaluate:
        evals = D.Examples()
    if train.left_out:
        log.warning("%d of %d samples are longer than cutoff_len %d and were left out",
                    train.left_out, train.samples, settings.cutoff_len)

    record = {
        "format": MODEL_FORMAT, "state": "running", "stage": req.stage,
        "stages": list(req.stages if req.stage == "sft" else ("align",)),
        "language": language, "recipe": recipe.name, "base": spec,
        "settings": settings.model_dump(), "train_new_head_rows": req.train_new_head_rows,
        "data": {"path": str(req.data.resolve()), "fingerprint": fingerprint,
                 "tokenizers": manifest.get("tokenizers") or {},
                 "train_samples": train.samples, "train_tokens": train.tokens, "left_out": train.left_out,
                 "eval_samples": evals.samples},
        "vocab": extension.summary() if extension else (base_run or {}).get("vocab"),
        "versions": _versions(), "dry_run": req.dry_run,
    }
    _write_record(req.out, record)  # first: the folder is a run (--resume, --force) from here on
    tokenizer.save_pretrained(str(req.out))  # a resumed run reads the same token ids

    run_settings = settings
    if in_sequence:  # the sequence holds its epochs already: one pass over it, in its order
        run_settings = settings.model_copy(update={  # checkpoints and evaluations still once an epoch
            "epochs": 1, "save_steps": settings.save_steps or epoch_steps,
            "eval_steps": settings.eval_steps or epoch_steps})
    args = _arguments(req, run_settings, bool(evals.rows), use_cpu)
    trainer_class = _answer_only_trainer(in_order=in_sequence) if req.stage == "sft" else Trainer
    trainer = trainer_class(model=model, args=args, train_dataset=train.rows,
                      eval_dataset=evals.rows or None, data_collator=D.Collator(tokenizer.pad_token_id),
                      callbacks=[_callback(progress, req.stage)])
    trainer.remove_callback(PrinterCallback)  # the caller's progress reports; results go to stdout only at the end
    started = time.perf_counter()
    checkpoint = _latest_checkpoint(req.out) if req.resume else None
    try:
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        elapsed = time.perf_counter() - started  # training alone: the final evaluation is not in the rate
        eval_loss = trainer.evaluate()["eval_loss"] if evals.rows else None
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if _is_oom(exc):
            raise AdcutError(f"out of memory while training ({settings.batch_size} per device, cutoff "
                             f"{settings.cutoff_len})", hint=OOM_HINT) from None
        raise
    seen = trainer.state.num_input_tokens_seen

    if settings.lora:
        model.save_pretrained(str(req.out / ADAPTER_DIR))
        model = model.merge_and_unload()
    model.save_pretrained(str(req.out))
    tokenizer.save_pretrained(str(req.out))
    record["rqvae"] = _copy_rqvae(req.data, req.out)
    record["metrics"] = {
        "train_loss": float(result.training_loss), "eval_loss": None if eval_loss is None else float(eval_loss),
        "steps": int(trainer.state.global_step), "seconds": round(elapsed, 2),
        "eval_seconds": round(time.perf_counter() - started - elapsed, 2), "tokens": int(seen),
        "tokens_per_s": round(seen / max(elapsed, 1e-9), 1), "peak_memory_mb": round(_peak_memory_mb(use_cpu), 1),
        "resumed_from": checkpoint.name if checkpoint else None,
    }
    record["state"] = "done"
    _write_record(req.out, record)
    return TrainResult(out=req.out, stage=req.stage, record=record)
