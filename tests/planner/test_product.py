"""Product images in the brief: clips that look like them open and close the ad."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from adcut.planner.product import (OUTLIER_Z, ProductLooks, footage_for_length, modified_z,
                                   open_and_close_on_product, related_clips, score_looks,
                                   shows_another_price, terms_of, with_product)
from tests import synth
from tests.in_process import run


# -- pure ---------------------------------------------------------------------------------------

def test_modified_z_flags_the_clear_outlier_only():
    z = modified_z(np.array([0.20, 0.25, 0.22, 0.30, 0.24, 0.71]))
    assert z[-1] >= OUTLIER_Z and (z[:-1] < OUTLIER_Z).all()
    assert (modified_z(np.array([0.2, 0.3])) == 0).all()  # too few clips to stand out from


def test_score_looks_needs_an_outlier_not_a_fixed_cosine():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(8, 64)) + 3.0  # positive, correlated, like pooled CNN features
    product = rng.normal(size=(1, 64)) + 3.0
    clips = np.vstack([base, product + 0.05 * rng.normal(size=(1, 64))])
    ids = [f"c{i}" for i in range(9)]
    looks = score_looks(ids, clips, product)
    assert looks.shows == ["c8"]
    assert looks.likeness("c8") == 1.0 and looks.likeness("c0") < 1.0
    none = score_looks(ids[:8], base, product)  # every clip about as alike: no product shot
    assert none.shows == [] and "no clip clearly looks like" in none.notes[0]


@dataclass(frozen=True)
class Clip:
    id: str
    start_s: float = 0.0
    end_s: float = 4.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def looks_of(*shows: str) -> ProductLooks:
    return ProductLooks(similarity={c: 0.9 - 0.1 * i for i, c in enumerate(shows)},
                        z={c: 10.0 - i for i, c in enumerate(shows)})


def test_selection_takes_in_product_clips_in_place_of_the_weakest():
    pool = ["a", "b", "p", "c", "q"]
    assert with_product([1, 2, 4], pool, looks_of("p", "q"), {1: 0.9, 2: 0.1, 4: 0.5}) == [1, 3, 5]
    assert with_product([1, 3], pool, looks_of("p"), {}) == [1, 3]


def test_the_ad_opens_and_closes_on_the_product():
    ordered = [Clip("a"), Clip("p"), Clip("b"), Clip("q")]
    out = open_and_close_on_product(ordered, looks_of("p", "q"))
    assert [c.id for c in out] == ["p", "a", "b", "q"]
    # a second variant of the same clips opens on the next product clip; a third on the first
    assert [c.id for c in open_and_close_on_product(ordered, looks_of("p", "q"), turn=1)] == [
        "q", "a", "b", "p"]
    assert open_and_close_on_product(ordered, looks_of("p", "q"), turn=2) == out
    # product clips absent from the cut do not count in the turn
    assert [c.id for c in open_and_close_on_product(ordered, looks_of("x", "p", "q"), turn=1)
            ] == ["q", "a", "b", "p"]
    # one product clip long enough: its two halves bookend the ad
    out = open_and_close_on_product([Clip("a"), Clip("b"), Clip("p")], looks_of("p"))
    assert [(c.id, c.start_s, c.end_s) for c in out] == [("p", 0.0, 2.0), ("b", 0.0, 4.0),
                                                         ("p", 2.0, 4.0)]
    # too short to halve: the same shot again
    out = open_and_close_on_product([Clip("a", 0, 2), Clip("p", 0, 2)], looks_of("p"))
    assert [c.id for c in out] == ["p", "p"]
    assert open_and_close_on_product(ordered, ProductLooks()) == ordered


# -- a generated library ------------------------------------------------------------------------

def bottle(size, bg, offset=(0, 0), scale=1.0) -> Image.Image:
    """A green bottle with a cream label and a gold cap, drawn with PIL."""
    w, h = size
    img = Image.new("RGB", size, bg)
    d = ImageDraw.Draw(img)
    cx, cy = w // 2 + offset[0], h // 2 + offset[1]
    bw, bh = int(w * 0.22 * scale), int(h * 0.62 * scale)
    d.rounded_rectangle([cx - bw // 2, cy - bh // 2 + bh // 5, cx + bw // 2, cy + bh // 2],
                        radius=bw // 4, fill=(20, 110, 60))
    d.rectangle([cx - bw // 6, cy - bh // 2, cx + bw // 6, cy - bh // 2 + bh // 5], fill=(20, 110, 60))
    d.rectangle([cx - bw // 5, cy - bh // 2 - bh // 14, cx + bw // 5, cy - bh // 2], fill=(200, 160, 40))
    d.rectangle([cx - bw // 2, cy, cx + bw // 2, cy + bh // 5], fill=(240, 230, 200))
    return img


@pytest.fixture(scope="module")
def product_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("product")
    footage = root / "footage"
    footage.mkdir()
    bottle((640, 640), (255, 255, 255)).save(root / "product.png")
    bottle((320, 180), (225, 225, 230), offset=(20, 4), scale=1.1).save(root / "scene.png")
    synth.ffmpeg("-loop", "1", "-framerate", "25", "-t", "3", "-i", str(root / "scene.png"),
                 "-vf", "noise=alls=6:allf=t,format=yuv420p", *synth.X264,
                 str(footage / "pour.mp4"))
    for name, src in [("bars", "smptebars=s=320x180"), ("test", "testsrc2=s=320x180"),
                      ("mandel", "mandelbrot=s=320x180"), ("cells", "cellauto=rule=110:s=320x180"),
                      ("grad", "gradients=speed=0.05:s=320x180")]:
        synth.ffmpeg("-f", "lavfi", "-i", src, "-t", "3", "-vf", "format=yuv420p", *synth.X264,
                     str(footage / f"{name}.mp4"))
    lib = root / "lib"
    assert run("ingest", footage, "--library", lib, "--asr", "none", "--ocr", "none",
               "--text", "none").exit_code == 0
    return root, lib


def test_plan_opens_and_ends_on_the_clip_that_looks_like_the_product(product_library):
    root, lib = product_library
    brief = root / "brief.yaml"
    brief.write_text("product: Verde Cold Brew\nbrand: Verde\nduration_s: 12\n"
                     "call_to_action: Order today\nproduct_images: [product.png]\n")
    plan_path = root / "plan.json"
    result = run("edit", "--library", lib, "--brief", brief, "--plan-only", plan_path,
                 "--explain", "--force")
    assert result.exit_code == 0, result.output
    shots = json.loads(plan_path.read_text())["shots"]
    assert Path(shots[0]["source"]).name == "pour.mp4"
    assert Path(shots[-1]["source"]).name == "pour.mp4"
    assert "looks like the product" in result.output  # --explain shows the similarity
    # without product images the bottle is just another clip (the labels call it a Band Aid)
    brief.write_text("product: Verde Cold Brew\nbrand: Verde\nduration_s: 12\n")
    assert run("edit", "--library", lib, "--brief", brief, "--plan-only", plan_path,
               "--force").exit_code == 0


# -- footage with no sign of the product --------------------------------------------------------

@dataclass(frozen=True)
class Shot:
    id: str
    duration_s: float = 4.0
    said: str = ""
    on_screen: str = ""


def test_terms_are_content_words_numbers_and_chinese_pairs():
    assert terms_of("Verde Cold Brew, only $4.99 with every order at verde.coffee") == {
        "verde", "cold", "brew", "4.99", "order", "coffee"}
    assert terms_of("冷萃咖啡 18小时 a 2 in 1") == {"冷萃", "萃咖", "咖啡", "18", "小时"}


def test_a_clip_is_related_by_its_look_or_by_the_brief_s_words():
    looks = ProductLooks(similarity={"p": 0.9, "l": 0.2, "x": 0.3}, z={"p": 9.0, "l": 0.1, "x": 0.5},
                         logo_similarity={"l": 0.9}, logo_z={"l": 8.0})
    clips = [Shot("p"), Shot("l"), Shot("x"), Shot("card", on_screen="ONLY $4.99"),
             Shot("cap", said="pouring cold brew over ice"), Shot("street", said="a busy street")]
    terms = terms_of("Verde Cold Brew $4.99")
    assert related_clips(clips, looks, terms) == {"p", "l", "card", "cap"}


def test_unrelated_clips_come_in_only_when_the_related_cannot_fill_the_ad():
    looks = ProductLooks(similarity={"a": 0.9, "b": 0.8, "c": 0.7, "x": 0.1, "y": 0.4, "z": 0.2})
    clips = [Shot("x"), Shot("a"), Shot("y"), Shot("b"), Shot("c"), Shot("z")]
    # 12 s of related footage fills up to 12 / 0.7 + 3 x 0.5 = 18.6 s of shots
    assert [c.id for c in footage_for_length(clips, {"a", "b", "c"}, 18.0, 0.7, looks)] == [
        "a", "b", "c"]
    # 20 s: one more clip, the most like the product; the pool's order is kept
    assert [c.id for c in footage_for_length(clips, {"a", "b", "c"}, 20.0, 0.7, looks)] == [
        "a", "y", "b", "c"]
    assert len(footage_for_length(clips, {"a", "b", "c"}, 1.0, 0.7, looks, min_clips=4)) == 4
    # most clips without a sign (uncaptioned lifestyle footage, more likely than strays), or
    # none with one: every clip stays
    assert footage_for_length(clips, {"a", "b"}, 12.0, 0.7, looks) == clips
    assert footage_for_length(clips, set(), 12.0, 0.7, looks) == clips
    # one product clip opens and closes the ad (its two halves) in place of another clip,
    # whose footage then does not count: with b and c it takes 8 s at most, with y too more
    one = ProductLooks(similarity=looks.similarity, z={"a": 9.0})
    assert [c.id for c in footage_for_length(clips, {"a", "b", "c"}, 13.0, 0.7, one)] == [
        "a", "y", "b", "c"]


def test_a_price_on_screen_must_be_the_brief_s():
    assert not shows_another_price("ONLY $4.99", "$4.99", None)
    assert shows_another_price("ONLY $4.99", "29.9元", None)
    assert shows_another_price("ONLY $4.99", None, None)  # a price the brief does not give
    assert not shows_another_price("到手价 29.9元", "29.9元", "买一送一")
    assert not shows_another_price("2 for 1 at verde.coffee", "$4.99", None)  # no price shown
    assert not shows_another_price("€12,50", "12.50 EUR", None)


def test_a_plan_keeps_stray_footage_and_a_wrong_price_out_in_every_variant():
    """Three bottle shots, a logo card and a price card fill a 24 s ad slowed down (the
    bottles alone would not): the two strays stay out, in a second variant too (which avoids
    the first's clips, but not the ones with a sign of the product), and so does a card
    showing another price than the brief's."""
    from adcut.core.brief import Brief
    from adcut.planner.edit import LibraryClip, plan_edit
    from adcut.planner.zero_shot import ZeroShotPlanner

    rng = np.random.default_rng(0)

    def clip(name: str, seconds: float, on_screen: str = "") -> LibraryClip:
        return LibraryClip(id=name, source=f"/f/{name}.mp4", start_s=0, end_s=seconds,
                           text=on_screen, has_speech=False, on_screen=on_screen,
                           vision=rng.normal(size=8).astype(np.float32))

    clips = [clip("bottle1", 4), clip("strays1", 5), clip("bottle2", 4), clip("logo", 3, "VERDE"),
             clip("bottle3", 4), clip("price", 3, "ONLY $4.99"), clip("strays2", 4),
             clip("old_price", 3, "NOW $5.99")]
    looks = ProductLooks(similarity={c.id: 0.9 if "bottle" in c.id else 0.2 for c in clips},
                         z={c.id: 9.0 if "bottle" in c.id else 0.0 for c in clips})
    brief = Brief(product="Verde Cold Brew", brand="Verde", price="$4.99", duration_s=24,
                  selling_points=["Steeped for 18 hours"], call_to_action="Order today")
    planner = ZeroShotPlanner(text_encoder=None, tie_encoder=None)
    first, why = plan_edit(clips, [], brief, planner, seed=0, looks=looks)
    used = {s.clip_id for s in first.shots}
    assert not used & {"strays1", "strays2", "old_price"}, used
    assert any("no sign of the product" in n for n in why.notes)
    assert any("price the brief does not state" in n and "NOW $5.99" in n for n in why.notes)
    second, _ = plan_edit(clips, [], brief, planner, seed=1, looks=looks,
                          avoid=frozenset(used), variant=1)
    assert not {s.clip_id for s in second.shots} & {"strays1", "strays2", "old_price"}
    # made of the same clips, the second variant opens on another bottle
    assert second.shots[0].clip_id != first.shots[0].clip_id
    assert {first.shots[0].clip_id, second.shots[0].clip_id} <= {"bottle1", "bottle2", "bottle3"}
