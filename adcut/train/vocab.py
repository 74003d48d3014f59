"""Vocabulary extension (AutoCut section 4.3): the video and audio tokens become normal added
tokens of the language model's tokenizer, the ten sentinels special tokens, and the embedding
matrices grow to hold them.

Every new token's row starts at the mean of the original rows plus small Gaussian noise (the
paper's noisy-mean start), including tokens whose ids land inside rows the base model had as
padding (Qwen3 pads its matrix to a multiple of 64: the paper's recipe left those rows as they
were). Tokens the base tokenizer already holds (a model extended before) keep their ids and
rows, and are reported.

For the alignment stage only the adcut tokens' input rows learn: every other parameter is
frozen and a gradient hook zeroes the original rows' gradients (weight decay is off in that
stage, so a zero gradient leaves a row bit-identical). The output head stays frozen unless
`train_new_head_rows`, which lets its adcut rows learn the same way. A model with tied input
and output embeddings shares one matrix, so its new rows learn in both roles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from adcut.tokens.vocab import SENTINELS, vocabulary

INIT_NOISE = 0.02  # std of the noise around the mean row, in units of the rows' own std
INIT_SEED = 0


@dataclass
class Extension:
    """What extending a model did. `token_ids` are the ids of every adcut token (added or
    reused): the rows that learn in the alignment stage."""

    added: int
    reused: int
    rows_before: int
    rows_after: int
    token_ids: list[int] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, int]:
        out = asdict(self)
        out.pop("token_ids")
        out["tokens"] = len(self.token_ids)
        return out


def adcut_tokens() -> tuple[list[str], list[str]]:
    """(normal tokens: 8 x 256 video then 8 x 256 audio, special tokens: the ten sentinels)."""
    special = list(SENTINELS)
    return [t for t in vocabulary() if t not in special], special


def missing_tokens(tokenizer: Any) -> list[str]:
    """adcut tokens the tokenizer does not hold as single tokens."""
    normal, special = adcut_tokens()
    vocab = tokenizer.get_vocab()
    return [t for t in normal + special if t not in vocab]


def extend(model: Any, tokenizer: Any, *, seed: int = INIT_SEED) -> Extension:
    """Add the adcut tokens to `tokenizer` and grow `model`'s embeddings (in place)."""
    import torch

    normal, special = adcut_tokens()
    vocab = tokenizer.get_vocab()
    reused = sum(t in vocab for t in normal + special)
    new_normal = [t for t in normal if t not in vocab]
    new_special = [t for t in special if t not in vocab]
    if new_normal:
        tokenizer.add_tokens(new_normal)
    if new_special:
        # `replace_extra_special_tokens=False` keeps the model's own extra specials (chat markers).
        tokenizer.add_special_tokens({"extra_special_tokens": new_special},
                                     replace_extra_special_tokens=False)
    ids = tokenizer.convert_tokens_to_ids(normal + special)
    new_ids = sorted(set(tokenizer.convert_tokens_to_ids(new_normal + new_special)))

    inputs = model.get_input_embeddings()
    rows_before = inputs.weight.shape[0]
    needed = max(len(tokenizer), max(ids) + 1)
    if needed > rows_before:
        model.resize_token_embeddings(needed, mean_resizing=False)
    inputs = model.get_input_embeddings()
    original = min(rows_before, min(new_ids) if new_ids else rows_before)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        matrices = [inputs.weight]
        head = model.get_output_embeddings()
        if head is not None and head.weight.data_ptr() != inputs.weight.data_ptr():
            matrices.append(head.weight)
        for weight in matrices:
            base = weight[:original].float()
            mean, std = base.mean(0), base.std(0)
            if new_ids:
                noise = torch.randn((len(new_ids), weight.shape[1]), generator=generator)
                rows = mean + INIT_NOISE * std * noise
                weight[torch.tensor(new_ids)] = rows.to(weight.dtype)
    return Extension(added=len(new_ids), reused=reused, rows_before=rows_before,
                     rows_after=model.get_input_embeddings().weight.shape[0], token_ids=sorted(set(ids)))


def adcut_token_ids(tokenizer: Any) -> list[int]:
    normal, special = adcut_tokens()
    return sorted(set(tokenizer.convert_tokens_to_ids(normal + special)))


def _row_mask(weight: Any, token_ids: list[int]) -> Any:
    import torch

    mask = torch.zeros((weight.shape[0], 1), dtype=weight.dtype, device=weight.device)
    mask[torch.tensor(token_ids, device=weight.device)] = 1
    return mask


def freeze_for_alignment(model: Any, token_ids: list[int], *, train_new_head_rows: bool = False) -> int:
    """Freeze everything but the adcut tokens' embedding rows; returns the number of rows that
    learn. The gradient hooks multiply by a 0/1 row mask."""
    for param in model.parameters():
        param.requires_grad_(False)
    inputs = model.get_input_embeddings()
    inputs.weight.requires_grad_(True)
    mask = _row_mask(inputs.weight, token_ids)
    inputs.weight.register_hook(lambda grad: grad * mask)
    head = model.get_output_embeddings()
    tied = head is not None and head.weight.data_ptr() == inputs.weight.data_ptr()
    if train_new_head_rows and head is not None and not tied:
        head.weight.requires_grad_(True)
        head_mask = _row_mask(head.weight, token_ids)
        head.weight.register_hook(lambda grad: grad * head_mask)
    return len(token_ids)


def is_tied(model: Any) -> bool:
    head = model.get_output_embeddings()
    return head is not None and head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
