"""The dataset folder: per-ad results written whole, and folders built otherwise refused."""

from pathlib import Path

import numpy as np
import pytest

from adcut.core.errors import OutputError
from adcut.dataset.store import DatasetFolder
from adcut.dataset.types import AdAnalysis, Clip, Music, Sentence, Word
from adcut.tasks.types import Product


def _analysis(key: str = "ad1") -> AdAnalysis:
    return AdAnalysis(
        key=key, source=f"/c/{key}.mp4", sha256="ab" * 32, duration_s=4.2, language="en",
        words=[Word(0.3, 0.7, "Meet"), Word(0.8, 1.4, "Verde.")],
        sentences=[Sentence("Meet Verde.", 0.3, 1.4)],
        clips=[Clip(0.3, 1.4, "Meet Verde.", [1], [0.9]), Clip(1.4, 4.2, None, [2, 3])],
        product=Product("Cold Brew", "Verde", ["smooth"]), product_source="sidecar",
        music=Music([(2.0, 4.0)], "no-speech stretches"), notes={"speech": "x"})


def test_an_ad_round_trips_through_the_folder(tmp_path: Path):
    folder = DatasetFolder(tmp_path / "data")
    folder.prepare({"adcut": "1"}, force=False)
    frames = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    music = np.ones(5, np.float32)
    folder.save_ad(_analysis(), frames, music, {0: b"jpg"}, {"vision": ["v", "1"]})
    assert folder.finished() == {"ad1"}
    stored = folder.load_ad("ad1")
    assert stored.analysis == _analysis()
    assert np.array_equal(stored.frames, frames) and np.array_equal(stored.music, music)
    assert stored.encoders == {"vision": ("v", "1")}
    assert (folder.thumbs / "ad1" / "000.jpg").read_bytes() == b"jpg"


def test_a_skip_is_replaced_by_a_later_success(tmp_path: Path):
    folder = DatasetFolder(tmp_path / "data")
    folder.prepare({"adcut": "1"}, force=False)
    folder.save_skip("ad1", "/c/ad1.mp4", "no picture stream")
    assert folder.skips()["ad1"]["reason"] == "no picture stream"
    folder.save_ad(_analysis(), np.zeros((1, 2), np.float32), None, {}, {})
    assert folder.skips() == {}


def test_folders_built_otherwise_are_refused_without_force(tmp_path: Path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        DatasetFolder(other).prepare({"adcut": "1"}, force=False)
    assert (other / "keep.txt").read_text() == "mine"

    folder = DatasetFolder(tmp_path / "data")
    folder.prepare({"adcut": "1"}, force=False)
    folder.write_manifest({"analysis": {"adcut": "1"}})
    folder.save_ad(_analysis(), np.zeros((1, 2), np.float32), None, {}, {})
    with pytest.raises(OutputError, match="built by"):
        folder.prepare({"adcut": "2"}, force=False)
    assert folder.finished() == {"ad1"}
    folder.prepare({"adcut": "2"}, force=True)
    assert folder.finished() == set()
