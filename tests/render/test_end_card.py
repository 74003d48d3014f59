"""The end card: laid out inside the safe area at every aspect, compiled after the last clip,
rendered with its images, its text (CJK included) and its brand colour, filled from a brief."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adcut.core.brief import Brief
from adcut.core.plan import ASPECTS, EditPlan
from adcut.core.timeline import CardImage, Timeline, TimelineEndCard
from adcut.planner.finish import contrast_ratio, end_card_for, text_color_for
from adcut.render.compile import PlanFacts, PlanProblems, SourceFacts, compile_plan
from adcut.render.end_card import MAX_IMAGE_UPSCALE, card_layout
from adcut.render.subtitles import default_font, line_width_px, safe_area
from adcut.core.timeline import SubtitleLayout
from tests import synth

FONT = str(default_font()[0])


def card(**kw) -> TimelineEndCard:
    base = dict(start_f=0, duration_f=90, fade_in_f=12, text="Order today, 今天就下单",
                url="verde.coffee", background="#1E5631", color="#FFFFFF", font_file=FONT,
                font_name="Noto Sans CJK SC",
                logo=CardImage(path="/logo.png", width=300, height=120),
                image=CardImage(path="/pack.png", width=800, height=1200))
    return TimelineEndCard(**(base | kw))


@pytest.mark.parametrize("aspect", list(ASPECTS))
@pytest.mark.parametrize("images", ["both", "logo", "none"])
def test_the_card_fits_the_safe_area_without_overlaps(aspect, images):
    w, h = ASPECTS[aspect]
    kw = {"both": {}, "logo": {"image": None}, "none": {"image": None, "logo": None}}[images]
    c = card(**kw)
    lay = card_layout(c, w, h)
    left, top, right, bottom = safe_area(w, h)
    margin = max(left, right)
    spans = []  # vertical extent of every block, top to bottom
    for im, box in ((c.logo, lay.logo), (c.image, lay.image)):
        assert (box is None) == (im is None)
        if box is None:
            continue
        assert margin <= box.x and box.x + box.w <= w - margin
        assert box.w / im.width <= MAX_IMAGE_UPSCALE + 0.01  # never blown up
        assert abs(box.w / box.h - im.width / im.height) < 0.02  # never stretched
        spans.append((box.y, box.y + box.h))
    font = SubtitleLayout(font_file=FONT, font_name="Noto Sans CJK SC", size_px=10,
                          margin_v_px=0, margin_h_px=margin)
    for block in (lay.cta, lay.url):
        assert block is not None
        for line in block.lines:
            assert line_width_px(line, font.model_copy(update={"size_px": block.size_px})) \
                <= w - 2 * margin
        spans.append((block.top, block.top + block.height))
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans  # stacked, apart
    assert top <= spans[0][0] and spans[-1][1] <= h - bottom
    # the call to action reads as a headline at every aspect: the same size on a phone
    assert lay.cta.size_px >= 0.06 * min(w, h)


def test_a_tiny_logo_is_not_blown_up_and_a_long_call_to_action_shrinks_not_overflows():
    c = card(image=None, logo=CardImage(path="/l.png", width=64, height=64),
             text="Order today and get two bags of our single-origin cold brew for the price "
                  "of one, delivered free to your door")
    lay = card_layout(c, 1080, 1920)
    assert lay.logo.w == 128  # 2x, not the 820 px the width would allow
    assert 1 <= len(lay.cta.lines) <= 3 and lay.cta.size_px < round(0.075 * 1080)


def test_the_timeline_places_the_card_after_the_last_clip():
    clip = {"source": "a.mp4", "source_width": 640, "source_height": 360, "source_in_s": 0,
            "start_f": 0, "duration_f": 60, "reframe": {"mode": "crop"}}
    data = {"fps": 30, "width": 1080, "height": 1920, "duration_f": 150, "clips": [clip],
            "end_card": card(start_f=60).model_dump()}
    assert Timeline.model_validate(data).end_card.start_f == 60
    with pytest.raises(ValueError, match="end_card.start_f is 50, expected 60"):
        Timeline.model_validate(data | {"end_card": card(start_f=50).model_dump()})
    with pytest.raises(ValueError, match="the clips and the end card add up to 150"):
        Timeline.model_validate(data | {"duration_f": 160})


def plan_with_card(**card_kw) -> EditPlan:
    return EditPlan.model_validate({
        "shots": [{"source": "a.mp4", "in_s": 0, "out_s": 2}],
        "music": {"source": "song.mp3"},
        "end_card": {"duration_s": 3.0, "text": "Order today", "url": "verde.coffee",
                     "logo": "logo.png", "background": "#1E5631"} | card_kw})


def test_compile_appends_the_card_and_the_music_plays_to_the_end():
    facts = PlanFacts(sources={
        "a.mp4": SourceFacts(duration_s=5, width=1920, height=1080, has_audio=False),
        "song.mp3": SourceFacts(duration_s=60, width=0, height=0, has_audio=True,
                                has_video=False)})
    facts.reframes = [("crop", 0.5, 0.5)]
    facts.card_images = {"logo": ("/abs/logo.png", 300, 120)}
    facts.card_font = (FONT, "Noto Sans CJK SC")
    tl = compile_plan(plan_with_card(), facts)
    assert tl.end_card.start_f == 60 and tl.end_card.duration_f == 90 and tl.duration_f == 150
    assert tl.end_card.logo == CardImage(path="/abs/logo.png", width=300, height=120)
    assert tl.music.duration_f == 150  # the music carries on under the card
    facts.card_images = {"logo": "does not exist"}
    with pytest.raises(PlanProblems, match=r"end_card\.logo: .*logo\.png.* does not exist"):
        compile_plan(plan_with_card(), facts)


def test_the_brief_fills_the_card_in_its_colours():
    brief = Brief(product="Verde Cold Brew", brand="Verde", call_to_action="Order today",
                  url="verde.coffee", brand_colors=["#1E5631", "#F2E8CF"],
                  product_images=["/a.png", "/b.png"], logo="/logo.png")
    c = end_card_for(brief)
    assert (c.text, c.url, c.logo, c.image) == ("Order today", "verde.coffee", "/logo.png",
                                                "/a.png")
    assert c.background == "#1E5631" and c.color == "#F2E8CF"  # the brand's cream reads on green
    assert contrast_ratio(c.color, c.background) >= 4.5
    # no brand colours, no call to action: the brand's name on near-black, in white
    plain = end_card_for(Brief(product="Spark shoe", brand="Spark"))
    assert (plain.text, plain.background, plain.color) == ("Spark", "#111111", "#FFFFFF")
    # a light brand colour gets dark text; a second colour too close to it is not used
    assert text_color_for("#F5D000", ["#FFFFFF"]) == "#111111"


# -- a real render ------------------------------------------------------------------------------

def test_the_card_is_rendered_after_the_last_clip_in_the_brand_colour(tmp_path):
    from PIL import Image

    from adcut.render.pipeline import render_document

    synth.color_shots(tmp_path / "clip.mp4", ["red"], [1.0], fps=25, audio="none")
    Image.new("RGB", (200, 100), (250, 220, 0)).save(tmp_path / "logo.png")  # yellow
    plan = EditPlan.model_validate({
        "aspect": "1:1", "fps": 25, "voice": {"engine": "none"},
        "shots": [{"source": "clip.mp4", "in_s": 0, "out_s": 1}],
        "end_card": {"duration_s": 2.0, "logo": "logo.png", "text": "立即下单 Order now",
                     "url": "verde.coffee", "background": "#1E5631", "color": "#FFFFFF"}})
    out = tmp_path / "ad.mp4"
    outcome = render_document(plan, out, base_dir=tmp_path, preview=True)
    assert outcome.qc_ok, [c for c in outcome.checks if not c.ok]  # the still card is asked for
    card_tl = outcome.timeline.end_card
    assert card_tl.start_f == 25 and outcome.timeline.duration_f == 75

    import av

    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24").astype(int) for f in c.decode(video=0)]
    assert len(frames) == 75
    first, last = frames[10], frames[-1]
    assert first[5, 5, 0] > 200 and first[5, 5, 1] < 60  # the red clip
    green = np.array([0x1E, 0x56, 0x31])
    assert np.abs(last[5, 5] - green).max() < 20  # the brand colour fills the card
    lay = card_layout(card_tl, 1080, 1080)
    k = last.shape[1] / 1080  # a preview is smaller
    cx, cy = int((lay.logo.x + lay.logo.w / 2) * k), int((lay.logo.y + lay.logo.h / 2) * k)
    assert np.abs(last[cy, cx] - [250, 220, 0]).max() < 30  # the logo
    assert np.abs(frames[25][cy, cx] - green).max() < 30  # faded in, not there at once
    top, bottom = int(lay.cta.top * k), int((lay.cta.top + lay.cta.height) * k)
    band = last[top:bottom]
    white = (band.min(axis=2) > 200).sum()
    assert white > 300, white  # the call to action is drawn (CJK and Latin)
