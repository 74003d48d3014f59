"""On-screen text (OCR), still images as footage, and captions added after ingest."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from adcut.library.ingest import IngestOptions, discover, ingest
from adcut.planner.edit import load_library
from adcut.render.subtitles import default_font
from tests import synth
from tests.library.helpers import run


def price_card(path: Path, size=(960, 540)) -> None:
    """A price card: 'ONLY $4.99' in large white letters on dark green."""
    img = Image.new("RGB", size, (30, 60, 40))
    font = ImageFont.truetype(str(default_font()[0]), size[1] // 8)
    ImageDraw.Draw(img).text((size[0] // 10, size[1] // 3), "ONLY $4.99", font=font,
                             fill=(255, 255, 255))
    img.save(path)


@pytest.fixture(scope="module")
def card_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("screen")
    footage = root / "footage"
    footage.mkdir()
    price_card(footage / "price.png")
    synth.color_shots(footage / "blue.mp4", ["blue"], [2.0], size=(320, 180), audio="none")
    lib = root / "lib"
    report = ingest([footage], lib, IngestOptions(asr=None))
    assert report.exit_code == 0, report.to_json()
    return root, footage, lib


def test_a_still_image_is_footage_with_its_text_read(card_library):
    root, footage, lib = card_library
    clips, _ = load_library(lib)
    card = next(c for c in clips if c.source.endswith("price.png"))
    assert card.still and card.duration_s == pytest.approx(4.0)
    assert "$4.99" in card.on_screen and "$4.99" in card.text  # searchable like a caption
    (x0, y0, x1, y1), = card.text_boxes
    assert 0.05 < x0 < x1 < 0.95 and 0.25 < y0 < y1 < 0.6  # where the text is, 0-1
    blue = next(c for c in clips if c.source.endswith("blue.mp4"))
    assert not blue.still and blue.on_screen == "" and blue.text_boxes == ()
    listing = json.loads(run("library", "ls", lib, "--json").stdout)
    assert any(c["on_screen"] == "ONLY $4.99" for f in listing for c in f["clips"])


def test_images_make_a_folder_usable(tmp_path):
    price_card(tmp_path / "card.jpg")
    files, problems = discover([tmp_path], music=False)
    assert [f.name for f in files] == ["card.jpg"] and not problems


def test_ocr_none_skips_reading(tmp_path):
    price_card(tmp_path / "card.png")
    lib = tmp_path / "lib"
    assert ingest([tmp_path / "card.png"], lib, IngestOptions(asr=None, ocr=None,
                                                              text=None)).exit_code == 0
    (card,), _ = load_library(lib)
    assert card.on_screen == "" and card.still


def test_captions_added_later_and_missing_text_are_picked_up(tmp_path):
    footage = tmp_path / "footage"
    footage.mkdir()
    synth.color_shots(footage / "shop.mp4", ["red", "blue"], [1.5, 1.5], size=(320, 180),
                      audio="none")
    lib = tmp_path / "lib"
    opts = IngestOptions(asr=None, ocr=None)
    assert ingest([footage], lib, opts).exit_code == 0
    again = ingest([footage], lib, opts)
    assert [o.status for o in again.outcomes] == ["unchanged"]
    (footage / "shop.txt").write_text("a barista pours cold brew over ice\n")
    updated = ingest([footage], lib, opts)
    assert [(o.status, o.message) for o in updated.outcomes] == [("updated", "captions updated")]
    clips, _ = load_library(lib)
    assert all(c.text == "a barista pours cold brew over ice" for c in clips)
    from adcut.library.index import search
    from adcut.encoders.registry import DEFAULT_TEXT, load_text_encoder

    query = load_text_encoder(DEFAULT_TEXT).encode_texts(["barista pouring coffee"])
    assert search(lib, "texts", query, k=1)[0][0][1] > 0.4  # the text index follows
    assert [o.status for o in ingest([footage], lib, opts).outcomes] == ["unchanged"]
    # a library ingested without OCR gets its text read on the next run that reads it
    filled = ingest([footage], lib, IngestOptions(asr=None))
    assert [o.status for o in filled.outcomes] == ["updated"]
    assert "on-screen text read in 2 clips" in filled.outcomes[0].message
    with sqlite3.connect(lib / "catalog.sqlite") as con:
        assert {r[0] for r in con.execute("SELECT ocr_engine FROM clips")} != {None}


def test_a_version_1_catalog_migrates(tmp_path):
    from adcut.library.catalog import Catalog, _statements
    from adcut.library.schema import SCHEMA_V1, SCHEMA_VERSION

    con = sqlite3.connect(tmp_path / "catalog.sqlite")
    for statement in _statements(SCHEMA_V1):
        con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.commit()
    con.close()
    with Catalog(tmp_path) as catalog:
        assert catalog.get_meta("schema_version") == str(SCHEMA_VERSION)
        cols = {r[1] for r in catalog.con.execute("PRAGMA table_info(clips)")}
        assert {"ocr", "ocr_engine"} <= cols
        cols = {r[1] for r in catalog.con.execute("PRAGMA table_info(sources)")}
        assert {"still", "captions_hash"} <= cols


def test_a_read_box_holds_all_of_its_ink():
    """The detector knows a box's edges to about 4 of its pixels; boxes are grown by that much,
    so a crop that keeps the box keeps every letter (a tight box had the crop shave the 'O' of
    'ONLY $4.99')."""
    from adcut.encoders.ocr import BOX_MARGIN_PX, parse_result

    quad = [[216, 229], [745, 229], [745, 327], [216, 327]]
    (item,) = parse_result([[quad, "ONLY $4.99", 0.9]], 960, 540)
    x0, y0, x1, y1 = item["box"]
    assert x0 * 960 == pytest.approx(216 - BOX_MARGIN_PX, abs=0.1) and x1 * 960 == pytest.approx(745 + BOX_MARGIN_PX, abs=0.1)
    assert y0 * 540 == pytest.approx(229 - BOX_MARGIN_PX, abs=0.1) and y1 * 540 == pytest.approx(327 + BOX_MARGIN_PX, abs=0.1)
    (edge,) = parse_result([[[[0, 0], [50, 0], [50, 20], [0, 20]], "TOP", 0.9]], 960, 540)
    assert edge["box"][:2] == [0.0, 0.0]  # clamped to the frame
