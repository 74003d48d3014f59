"""Reframing bounds: a small source is never blown up past MAX_UPSCALE, a crop never cuts text
on screen, and a static opening shot gets a slow push-in."""

from __future__ import annotations

import numpy as np
import pytest

from adcut.core.timeline import ResolvedReframe, Timeline
from adcut.render.compile import opening_push_in
from adcut.render.graph import RenderOptions, build_filtergraph
from adcut.render.reframe import (MAX_UPSCALE, STATIC_MOTION, fit_window, keep_text_whole,
                                  motion_level, resolve_reframe)


def graph_of(src_w: int, src_h: int, reframe: dict, out=(1080, 1920)) -> str:
    clip = {"source": "/a.mp4", "source_width": src_w, "source_height": src_h,
            "source_in_s": 0, "start_f": 0, "duration_f": 30, "reframe": reframe}
    tl = Timeline.model_validate({"fps": 30, "width": out[0], "height": out[1],
                                  "duration_f": 30, "clips": [clip]})
    return build_filtergraph(tl, RenderOptions())


def test_a_small_wide_source_is_fitted_over_the_blur_not_blown_up_7x():
    """The 640x272 clip that became a 7x close-up of a white wall in a 9:16 ad."""
    import re

    fields, note = resolve_reframe("auto", "crop", 0.5, 0.5, 640, 272, 1080, 1920)
    assert fields["mode"] == "fit-blur" and "7.1x" in note
    scale = min(1080 / 640, 1920 / 272) * fields["zoom"]
    assert MAX_UPSCALE - 1e-3 <= scale <= MAX_UPSCALE
    g = graph_of(640, 272, fields)
    # the picture is 1280x544 cropped to the frame's 1080 px: a band over the blur
    m = re.search(r"\[r0fg\]crop=w=iw\*([\d.]+):h=ih\*1:x=iw\*([\d.]+):y=ih\*0,scale=1080:544", g)
    assert m and float(m[1]) == pytest.approx(0.84375, abs=1e-3)
    assert float(m[2]) == pytest.approx(0.078125, abs=1e-3)
    assert "overlay=x=0:y=688" in g


@pytest.mark.parametrize("size, cropped", [((1920, 1080), True), ((3840, 2160), True),
                                           ((1280, 720), False), ((640, 360), False)])
def test_1080p_still_crops_to_9_16_and_smaller_sources_do_not(size, cropped):
    fields, _ = resolve_reframe("auto", "crop", 0.4, 0.5, *size, 1080, 1920)
    assert (fields["mode"] == "crop") == cropped
    if not cropped:  # never more than the bound, never less than the whole picture
        fit = min(1080 / size[0], 1920 / size[1])
        assert fields["zoom"] >= 1 and fit * fields["zoom"] <= MAX_UPSCALE


def test_an_explicit_mode_is_kept_and_the_same_aspect_needs_nothing():
    assert resolve_reframe("crop", "crop", 0.5, 0.5, 640, 272, 1080, 1920)[0]["mode"] == "crop"
    assert resolve_reframe("auto", "crop", 0.5, 0.5, 540, 960, 1080, 1920)[0]["mode"] == "crop"


def test_a_crop_moves_to_keep_the_text_on_screen_whole_or_the_shot_is_fitted():
    # a 16:9 frame with a logo right of centre: the centred 9:16 window would cut it
    logo = (0.55, 0.05, 0.80, 0.20)
    cx, cy = keep_text_whole(1920, 1080, 1080, 1920, 0.5, 0.5, [logo])
    width = 1080 * 1080 / 1920 / 1920  # the window, as a fraction of the source width
    left = cx - width / 2
    assert left <= 0.55 and 0.80 <= left + width + 1e-6  # the window holds the logo
    assert left == pytest.approx(0.80 - width, abs=1e-3)  # and moved no further than that
    fields, note = resolve_reframe("auto", "crop", 0.5, 0.5, 1920, 1080, 1080, 1920, [logo])
    assert fields["mode"] == "crop" and fields["center_x"] == cx and note is None
    # a price that spans the frame cannot fit a 9:16 window: the whole picture is shown
    banner = (0.05, 0.8, 0.95, 0.95)
    fields, note = resolve_reframe("auto", "crop", 0.5, 0.5, 1920, 1080, 1080, 1920, [banner])
    assert fields["mode"] == "fit-blur" and "text on screen" in note
    left, _, w, _ = fit_window(1920, 1080, 1080, 1920, 0.5625 * fields["zoom"], 0.5, 0.5)
    assert left <= 0.05 and 0.95 <= left + w + 1e-6  # enlarged only while the price is whole
    # text wholly inside the window, or none: nothing moves
    assert keep_text_whole(1920, 1080, 1080, 1920, 0.5, 0.5, [(0.45, 0.4, 0.55, 0.5)]) == (0.5, 0.5)


def test_a_zoomed_band_keeps_the_text_whole_too():
    # 1280x720 fitted and zoomed 2.37x would show 42 % of the width: a wide caption is kept
    text = (0.2, 0.45, 0.8, 0.55)
    fields, _ = resolve_reframe("auto", "crop", 0.5, 0.5, 1280, 720, 1080, 1920, [text])
    fit = min(1080 / 1280, 1920 / 720)
    left, top, w, h = fit_window(1280, 720, 1080, 1920, fit * fields["zoom"], 0.5, 0.5)
    assert left <= 0.2 and 0.8 <= left + w + 1e-6


def frames_of(moving: bool, n: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (90, 160, 3)).astype(np.float32)
    out = []
    for k in range(n):
        f = np.roll(base, 6 * k, axis=1) if moving else base
        noise = rng.normal(0, 1.0, base.shape)  # sensor noise / compression: not motion
        out.append(np.clip(f + noise, 0, 255).astype(np.uint8))
    return out


def test_motion_level_tells_a_static_card_from_footage():
    assert motion_level(frames_of(False)) < STATIC_MOTION
    assert motion_level(frames_of(True)) > 10 * STATIC_MOTION
    assert motion_level(frames_of(False)[:1]) == 0.0


def test_a_static_opening_shot_gets_a_slow_push_in():
    from adcut.core.timeline import TimelineClip

    clip = TimelineClip(source="/a.mp4", source_width=1920, source_height=1080, source_in_s=0,
                        start_f=0, duration_f=132, reframe=ResolvedReframe(mode="crop"))
    clips, note = opening_push_in([clip, clip.model_copy(update={"start_f": 132})], 0.002, 30)
    assert clips[0].push_in == pytest.approx(0.088) and clips[1].push_in == 0
    assert "push-in of 9%" in note
    assert opening_push_in([clip], 0.05, 30) == ([clip], None)  # footage that moves
    assert opening_push_in([clip], None, 30) == ([clip], None)  # not measured (a still)


def test_text_boxes_land_where_the_reframe_puts_them_and_captions_move_off_them():
    from adcut.core.timeline import CaptionCue, TimelineClip
    from adcut.core.plan import SubtitleStyle
    from adcut.render.compile import captions_off_text
    from adcut.render.reframe import frame_box
    from adcut.render.subtitles import subtitle_layout

    crop = ResolvedReframe(mode="crop", center_x=0.5, center_y=0.5)
    # the centred 9:16 window of a 16:9 frame spans x 0.342..0.658 of the source
    x0, y0, x1, y1 = frame_box((0.45, 0.75, 0.55, 0.9), 1920, 1080, crop, 1080, 1920)
    assert x0 == pytest.approx((0.45 - 0.341797) / 0.316406 * 1080, abs=1)
    assert (y0, y1) == (pytest.approx(0.75 * 1920), pytest.approx(0.9 * 1920))
    assert frame_box((0.0, 0.1, 0.2, 0.2), 1920, 1080, crop, 1080, 1920) is None  # cropped off
    fit = ResolvedReframe(mode="fit-blur")
    box = frame_box((0.0, 0.0, 1.0, 1.0), 1920, 1080, fit, 1080, 1920)
    assert box == pytest.approx((0, (1920 - 607.5) / 2, 1080, (1920 + 607.5) / 2))

    if "text_boxes" not in TimelineClip.model_fields:
        pytest.skip("clips do not carry text_boxes yet (read at ingest by OCR)")
    layout = subtitle_layout(1080, 1920, SubtitleStyle())
    price = [[0.40, 0.70, 0.60, 0.80]]  # a price card's text where the captions go
    clip = TimelineClip(source="/a.mp4", source_width=1920, source_height=1080, source_in_s=0,
                        start_f=0, duration_f=60, reframe=crop, text_boxes=price)
    cue = CaptionCue(start_f=5, end_f=55, text="Only $4.99", lines=["Only $4.99"])
    moved = captions_off_text([cue], [clip], layout, 1080, 1920)
    assert moved[0].position == "top"
    clear = clip.model_copy(update={"text_boxes": []})
    assert captions_off_text([cue], [clear], layout, 1080, 1920) == [cue]


def test_a_shots_frames_are_decoded_once_for_every_variant_and_the_next_edit(tmp_path,
                                                                           monkeypatch):
    """The variants of an edit (and the next edit of the same footage) reuse the frames the
    reframing was chosen from; a replaced file is decoded again."""
    from adcut.core import memo
    from adcut.render import reframe
    from tests.synth import color_shots

    monkeypatch.setenv("ADCUT_CACHE_DIR", str(tmp_path / "cache"))
    memo.forget()
    clip = tmp_path / "clip.mp4"
    color_shots(clip, ["red", "blue"], [1.0, 1.0])
    decoded = []
    real = reframe._decode_shot_frames
    monkeypatch.setattr(reframe, "_decode_shot_frames",
                        lambda *a: decoded.append(a) or real(*a))
    first = reframe.sample_shot_frames(clip, 0.2, 1.5)
    again = reframe.sample_shot_frames(clip, 0.2, 1.5)
    memo.forget()  # the next edit: another process, the same cache folder
    later = reframe.sample_shot_frames(clip, 0.2, 1.5)
    assert len(decoded) == 1 and len(first) == 3
    assert all(np.array_equal(a, b) and np.array_equal(a, c)
               for a, b, c in zip(first, again, later))
    color_shots(clip, ["green", "blue"], [1.0, 1.0])
    assert reframe.sample_shot_frames(clip, 0.2, 1.5)[0][..., 1].mean() > 100  # green now
    assert len(decoded) == 2
    memo.forget()
