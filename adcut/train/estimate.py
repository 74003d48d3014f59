"""Memory a training stage needs per GPU, from the model's shape alone (no weights loaded), so
a GPU recipe can be checked on a laptop before renting the cluster.

Full fine-tuning with AdamW in bf16 mixed precision keeps per parameter: bf16 weights (2 B),
bf16 gradients (2 B) and fp32 master weights plus two moments (12 B). ZeRO stage 2 shards the
gradients and the optimizer state over the GPUs; the weights stay whole on each. Alignment
trains only the embedding rows (every row has a gradient buffer, the hook zeroes the old
ones), so its gradient and optimizer terms cover the embedding matrix only. LoRA's trainable
share is small enough to count as its adapters only. Activations assume a fused attention
kernel (no seq x seq scores kept): about 34 bytes per token per hidden unit per layer, or with
gradient checkpointing one layer's worth plus each layer's bf16 input; plus the fp32 logits
of one micro-batch.
"""

from __future__ import annotations

from adcut.train.config import Architecture

GIB = 2**30


def parameter_counts(arch: Architecture, added_tokens: int = 4106) -> dict[str, int]:
    vocab = arch.vocab_size + added_tokens
    attention = arch.hidden_size * arch.head_dim * (2 * arch.num_attention_heads + 2 * arch.num_key_value_heads)
    mlp = 3 * arch.hidden_size * arch.intermediate_size
    layers = arch.num_hidden_layers * (attention + mlp + 2 * arch.hidden_size)
    embed = vocab * arch.hidden_size
    head = 0 if arch.tie_word_embeddings else embed
    return {"embedding": embed, "head": head, "layers": layers, "total": embed + head + layers}


def estimate(arch: Architecture, *, stage: str, gpus: int, batch_size: int, cutoff_len: int,
             lora_rank: int | None = None, checkpointing: bool = True) -> dict[str, float]:
    """GiB per GPU: weights, gradients, optimizer, activations, total."""
    counts = parameter_counts(arch)
    total = counts["total"]
    if stage == "align":
        trainable = counts["embedding"]
    elif lora_rank:
        trainable = arch.num_hidden_layers * 7 * 2 * lora_rank * arch.hidden_size  # A and B of 7 projections
    else:
        trainable = total
    weights = 2 * total
    gradients = 2 * trainable / gpus
    optimizer = 12 * trainable / gpus
    tokens = batch_size * cutoff_len
    layer = 34 * tokens * arch.hidden_size
    kept = (2 * tokens * arch.hidden_size * arch.num_hidden_layers + layer) if checkpointing else layer * arch.num_hidden_layers
    activations = kept + 4 * tokens * (arch.vocab_size + 4106)
    out = {"weights": weights, "gradients": gradients, "optimizer": optimizer, "activations": activations}
    out = {k: round(v / GIB, 1) for k, v in out.items()}
    out["total"] = round(sum(out.values()), 1)
    out["parameters_b"] = round(total / 1e9, 2)
    out["trainable_b"] = round(trainable / 1e9, 3)
    return out
