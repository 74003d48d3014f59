"""The model step of `adcut bench synthetic`: train a model on the synthetic dataset folder
(alignment, then SFT, with a training recipe) and return the planner that runs it.

`train_model_planner` is the callable the benchmark calls as `model_factory(data_dir,
work_dir)` (bound to a recipe and stages with functools.partial). It imports adcut.train
only when called, so the benchmark's other steps need none of the training stack.

The runs are the same as `adcut train align` then `adcut train sft` on the folder (the
ablation, `sft` alone, starts SFT from the recipe's base), each a run folder under work_dir.
"""

from __future__ import annotations

from pathlib import Path

from adcut.core.errors import BadInputError, DependencyError

STAGES = {"align,sft": ("align", "sft"), "sft": ("sft",)}
DEFAULT_RECIPE = "tiny-cpu"
DEFAULT_STAGES = "align,sft"


def parse_stages(text: str) -> tuple[str, ...]:
    """The training stages a --stages value names: align,sft (both, in order) or sft."""
    key = ",".join(part.strip().lower() for part in str(text).split(",") if part.strip())
    if key not in STAGES:
        raise BadInputError(f"unknown --stages {text!r}", hint="use align,sft (alignment, then SFT) or sft")
    return STAGES[key]


def train_model_planner(data_dir: Path, work_dir: Path, *, recipe: str = DEFAULT_RECIPE,
                        stages: tuple[str, ...] = STAGES[DEFAULT_STAGES], seed: int = 0,
                        overrides: dict | None = None, progress=None):
    """Train on `data_dir` (a dataset folder) with `recipe`, running `stages` in order
    (`work_dir/align`, `work_dir/sft`), and return the ModelPlanner of the SFT run."""
    try:
        from adcut.train.run import TrainRequest, run_stage
    except ImportError:
        raise DependencyError("the model step needs adcut.train, which this installation of adcut lacks",
                              hint="pip install 'adcut[train]', or run `adcut bench synthetic --no-model`") from None
    from adcut.planner.model import ModelPlanner

    overrides = {"seed": seed, **(overrides or {})}
    base = None
    if "align" in stages:
        align = run_stage(TrainRequest(stage="align", data=data_dir, out=work_dir / "align", recipe=recipe,
                                       force=True, overrides=overrides), progress)
        base = str(align.out)
    sft = run_stage(TrainRequest(stage="sft", data=data_dir, out=work_dir / "sft", recipe=recipe, base=base,
                                 stages=stages, force=True, overrides=overrides), progress)
    planner = ModelPlanner(str(sft.out))
    planner.max_line_tokens = longest_line_tokens(data_dir, planner.tokenizer) + LINE_MARGIN_TOKENS
    return planner


LINE_MARGIN_TOKENS = 4


def longest_line_tokens(data_dir: Path, tokenizer) -> int:
    """The longest script line of the training answers, in the model's tokens: a line of the
    world never needs more, so a line the model has not ended by then is cut there (an
    untrained model would otherwise talk until the planner's general cap, line after line)."""
    from adcut.tasks.types import TASK_SCRIPT
    from adcut.train.data import read_jsonl

    longest = 1
    for row in read_jsonl(data_dir / "sft" / "train.jsonl"):
        if row.get("task") != TASK_SCRIPT:
            continue
        answer = next((t["value"] for t in row.get("conversations", []) if t.get("from") == "gpt"), "")
        for line in answer.splitlines():
            longest = max(longest, len(tokenizer(line, add_special_tokens=False)["input_ids"]))
    return longest
