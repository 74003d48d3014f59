"""Training examples from a dataset folder written by `adcut dataset build` (or the synthetic
benchmark): alignment text packed into fixed-length blocks, SFT conversations with the loss on
the answer only.

Alignment (paper section 5.2, `packing: true`): every ad's text is tokenised, an end-of-text
token appended, all of it concatenated and cut into blocks of `cutoff_len` tokens; the last
partial block is dropped. Every token is a label.

SFT (section 5.3): the prompt is the base model's chat template up to the assistant's turn
(thinking off); the labels are the answer's tokens followed by the template's end-of-turn
token, so the model learns where to stop; every prompt token is masked (-100). A sample longer
than `cutoff_len` is left out and counted, never truncated (a cut answer teaches a wrong one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from adcut.core.errors import BadInputError

IGNORE = -100
FORMAT = "adcut-dataset/1"
_FINGERPRINT_FILES = ("build.json", "align/train.jsonl", "align/eval.jsonl", "sft/train.jsonl", "sft/eval.jsonl")
_STAGE_DIR = {"align": "align", "sft": "sft"}


@dataclass
class Examples:
    rows: list[dict[str, list[int]]] = field(default_factory=list)  # input_ids, labels
    tokens: int = 0
    left_out: int = 0  # samples longer than the cutoff (SFT)
    samples: int = 0


def check_data_folder(root: Path, stage: str) -> dict:
    """The folder's manifest, after checking it holds the stage's training file."""
    manifest_path = root / "build.json"
    if not root.is_dir():
        raise BadInputError(f"data folder {root} does not exist", hint="build one with `adcut dataset build`")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"{root} is not a dataset folder (no build.json)",
                            hint="build one with `adcut dataset build CORPUS -o DIR`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(f"{manifest_path} is unreadable: {exc}", hint="rebuild the dataset") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BadInputError(f"{root} is not an adcut dataset folder (format {manifest.get('format')!r})"
                            if isinstance(manifest, dict) else f"{manifest_path} is not a JSON object",
                            hint="build one with `adcut dataset build`")
    train = root / _STAGE_DIR[stage] / "train.jsonl"
    if not train.is_file() or train.stat().st_size == 0:
        raise BadInputError(f"{root} has no {stage} training samples ({train.relative_to(root)} is missing or empty)",
                            hint="build the dataset from more ads (`adcut dataset info` shows what it holds)")
    return manifest


def fingerprint(root: Path) -> str:
    """sha256 over the manifest and the training files: which data a run saw."""
    digest = hashlib.sha256()
    for name in _FINGERPRINT_FILES:
        path = root / name
        digest.update(name.encode())
        if path.is_file():
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def read_jsonl(path: Path) -> Iterator[dict]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise BadInputError(f"{path} line {number} is not JSON", hint="rebuild the dataset") from None
            yield row


def align_texts(root: Path, split: str) -> list[str]:
    return [row["text"] for row in read_jsonl(root / "align" / f"{split}.jsonl") if row.get("text")]


def sft_pairs(root: Path, split: str) -> list[tuple[str, str]]:
    pairs = []
    for row in read_jsonl(root / "sft" / f"{split}.jsonl"):
        turns = row.get("conversations") or []
        human = next((t["value"] for t in turns if t.get("from") == "human"), None)
        gpt = next((t["value"] for t in turns if t.get("from") == "gpt"), None)
        if human is not None and gpt is not None:
            pairs.append((human, gpt))
    return pairs


def all_texts(root: Path) -> Iterator[str]:
    """Every text of the training split, for learning a tiny tokenizer's BPE."""
    yield from align_texts(root, "train")
    for prompt, answer in sft_pairs(root, "train"):
        yield prompt
        yield answer


def pack(texts: list[str], tokenizer: Any, cutoff_len: int) -> Examples:
    """Concatenate the tokenised texts (each followed by end-of-text) into full blocks."""
    eos = tokenizer.eos_token_id
    stream: list[int] = []
    for text in texts:
        stream.extend(tokenizer(text, add_special_tokens=False)["input_ids"])
        stream.append(eos)
    out = Examples(samples=len(texts), tokens=len(stream))
    if len(stream) < cutoff_len and stream:
        # Fewer tokens than one block: one short block rather than nothing to learn from.
        out.rows.append({"input_ids": stream, "labels": list(stream)})
        return out
    for start in range(0, len(stream) - cutoff_len + 1, cutoff_len):
        block = stream[start:start + cutoff_len]
        out.rows.append({"input_ids": block, "labels": list(block)})
    return out


def end_of_turn(tokenizer: Any) -> str:
    """What the chat template writes after an assistant message (e.g. "<|im_end|>\\n")."""
    marker = "\x00ANSWER\x00"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "q"}, {"role": "assistant", "content": marker}],
                                         tokenize=False, enable_thinking=False)
    tail = text[text.rindex(marker) + len(marker):]
    # Keep the end token itself; the template's trailing newline after it is not predicted.
    eos = tokenizer.eos_token or ""
    if eos and eos in tail:
        return tail[:tail.index(eos) + len(eos)]
    return tail.rstrip("\n") or eos


def prompt_text(tokenizer: Any, prompt: str) -> str:
    return tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                         tokenize=False, enable_thinking=False)


def sft_example(tokenizer: Any, prompt: str, answer: str, stop: str) -> dict[str, list[int]]:
    head = tokenizer(prompt_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    tail = tokenizer(answer + stop, add_special_tokens=False)["input_ids"]
    return {"input_ids": head + tail, "labels": [IGNORE] * len(head) + tail}


def sft_examples(pairs: list[tuple[str, str]], tokenizer: Any, cutoff_len: int) -> Examples:
    stop = end_of_turn(tokenizer)
    out = Examples(samples=len(pairs))
    for prompt, answer in pairs:
        example = sft_example(tokenizer, prompt, answer, stop)
        if len(example["input_ids"]) > cutoff_len:
            out.left_out += 1
            continue
        out.rows.append(example)
        out.tokens += len(example["input_ids"])
    return out


class Collator:
    """Right-pads a batch; padded positions are masked in the attention and the labels."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            ids[i, :n] = torch.tensor(row["input_ids"])
            labels[i, :n] = torch.tensor(row["labels"])
            attention[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": attention}
