"""The pure parts of adcut serve: what a probe says, loopback, settings refusals, access
decisions, candidate ranking, SSE framing; and `adcut serve` without its extra."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from adcut.core.errors import BadInputError
from adcut.serve.candidates import rank
from adcut.serve.events import format_event
from adcut.serve.media import classify, parse_probe
from adcut.serve.security import check_access, host_allowed, origin_allowed
from adcut.serve.settings import ServeSettings, check_settings, is_loopback

MP4 = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 8 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 160x90, 25 fps
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp
"""
MP3_WITH_ART = """Input #0, mp3, from 'x':
  Duration: 00:03:00.05, start: 0.025057, bitrate: 128 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 128 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc), 500x500, 90k tbn (attached pic)
"""


def test_a_probe_says_what_a_file_is():
    video = parse_probe(MP4)
    assert video.video == ["h264"] and video.audio == ["aac"] and video.duration_s == 2.0
    assert classify(video, "footage") == ("video", ".mp4")
    assert classify(video, "music") == ("audio", ".m4a")
    song = parse_probe(MP3_WITH_ART)
    assert song.video == [] and classify(song, "music") == ("audio", ".mp3")
    assert "no video stream" in classify(song, "footage")  # cover art is not footage
    assert parse_probe("x: Invalid data found when processing input") is None
    assert "not a video" in classify(None, "footage")
    png = parse_probe("Input #0, png_pipe, from 'x':\n  Stream #0:0: Video: png, rgb24, 4x4\n")
    assert classify(png, "footage") == ("image", ".png")
    gif = parse_probe("Input #0, gif, from 'x':\n  Duration: 00:00:01.00\n"
                      "  Stream #0:0: Video: gif, bgra, 4x4\n")
    assert "not supported" in classify(gif, "footage")


@pytest.mark.parametrize("host, loop", [("127.0.0.1", True), ("127.8.9.1", True),
                                        ("::1", True), ("[::1]", True), ("localhost", True),
                                        ("0.0.0.0", False), ("::", False), ("10.0.0.2", False),
                                        ("example.com", False)])
def test_loopback(host, loop):
    assert is_loopback(host) is loop


def test_settings_that_must_not_start():
    check_settings(ServeSettings())
    check_settings(ServeSettings(host="0.0.0.0", token="x" * 16))
    for bad, needle in [(ServeSettings(host="0.0.0.0"), "needs a token"),
                        (ServeSettings(host="::", token="short"), "at least 16"),
                        (ServeSettings(token="has spaces in the token!"), "without spaces"),
                        (ServeSettings(render_slots=0), "at least one job")]:
        with pytest.raises(BadInputError, match=needle):
            check_settings(bad)


def test_access_decisions():
    loop = ServeSettings()
    assert host_allowed("127.0.0.1:8000", loop) and host_allowed("[::1]:80", loop)
    assert host_allowed("localhost", loop) and not host_allowed("evil.example:8000", loop)
    assert origin_allowed(None, "h:1") and origin_allowed("http://h:1", "h:1")
    assert not origin_allowed("http://h:2", "h:1") and not origin_allowed("null", "h:1")
    token = ServeSettings(host="0.0.0.0", token="t" * 20)
    assert check_access("GET", {"host": "any"}, f"token={'t' * 20}", token) == (None, "query")
    error, _ = check_access("GET", {"host": "any", "cookie": "adcut_token=t"}, "", token)
    assert error.status == 401 and error.message == "wrong token"


@dataclass
class Clip:
    id: str
    source: str = "/lib/a.mp4"
    start_s: float = 0.0
    end_s: float = 2.0
    text: str = ""
    text_boxes: tuple = ()


def test_candidates_are_ranked_by_line_then_selection_score():
    clips = [Clip("a"), Clip("b"), Clip("c"), Clip("d")]
    explained = {"a": {"score": 0.9, "chosen": True, "why": "chosen for line 1"},
                 "c": {"score": 0.5, "chosen": False, "why": "less relevant"}}
    out = rank(clips, np.array([0.1, 0.1, 0.8, 0.0]), explained, ["a", None], "a", 3)
    assert [c["clip_id"] for c in out] == ["c", "a", "b"]
    assert out[1]["current"] and out[1]["in_plan"] == [0] and out[0]["why"] == "less relevant"
    assert out[0]["shot"] == {"clip_id": "c", "source": "/lib/a.mp4", "in_s": 0.0,
                              "out_s": 2.0, "text_boxes": []}
    no_line = rank(clips, None, explained, [], None, 2)
    assert [c["clip_id"] for c in no_line] == ["a", "c"]


def test_an_event_is_one_sse_message():
    assert format_event({"a": 1}, event_id=7) == 'event: job\nid: 7\ndata: {"a": 1}\n\n'


def test_serve_without_its_extra_says_how_to_install_it(monkeypatch):
    import importlib.util

    from tests.in_process import run

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "uvicorn" else real(name, *a))
    result = run("serve")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "pip install 'adcut[serve]'" in result.stderr and "uvicorn" in result.stderr
