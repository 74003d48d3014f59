import json

from adcut.library.catalog import CaptionRecord
from adcut.library.sidecar import captions_for_range, load_sidecar_captions, parse_captions_jsonl


def test_parse_captions_jsonl_keeps_good_lines_and_explains_bad_ones():
    text = "\n".join([
        json.dumps({"file": "a.mp4", "text": "a red car", "start_s": 0, "end_s": 2.5}),
        json.dumps({"file": "sub/b.mp4", "text": "whole file"}),
        "not json",
        json.dumps({"file": "a.mp4"}),
        json.dumps({"file": "a.mp4", "text": "x", "start_s": 3}),
        json.dumps({"file": "a.mp4", "text": "x", "start_s": 3, "end_s": 1}),
        json.dumps(["a.mp4", "x"]),
        "",
    ])
    by_file, warnings = parse_captions_jsonl(text, "captions.jsonl")
    assert by_file["a.mp4"] == [CaptionRecord(0.0, 2.5, "a red car", "sidecar:captions.jsonl")]
    assert by_file["b.mp4"][0].start_s is None
    assert [w.split(":")[0] for w in warnings] == [f"captions.jsonl line {n}" for n in (3, 4, 5, 6, 7)]
    assert "not JSON" in warnings[0] and "both" in warnings[2] and "start_s < end_s" in warnings[3]


def test_captions_for_range_picks_overlapping_and_whole_file():
    caps = [CaptionRecord(None, None, "beach day", "s"), CaptionRecord(0, 2, "surfboard", "s"),
            CaptionRecord(5, 6, "sunset", "s")]
    assert captions_for_range(caps, 1.0, 3.0) == "beach day surfboard"
    assert captions_for_range(caps, 2.0, 5.0) == "beach day"
    assert captions_for_range(caps, 5.5, 9.0) == "beach day sunset"


def test_load_sidecar_reads_txt_and_jsonl(tmp_path):
    video = tmp_path / "海边 clip.mp4"
    video.write_bytes(b"")
    (tmp_path / "海边 clip.txt").write_text("  两个人在海边散步  \n", encoding="utf-8")
    (tmp_path / "captions.jsonl").write_text(
        json.dumps({"file": "海边 clip.mp4", "text": "waves", "start_s": 1, "end_s": 2},
                   ensure_ascii=False) + "\n" + json.dumps({"file": "other.mp4", "text": "no"}),
        encoding="utf-8")
    caps, warnings = load_sidecar_captions(video)
    assert [c.text for c in caps] == ["两个人在海边散步", "waves"]
    assert warnings == []
