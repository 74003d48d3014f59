"""Briefs from files and text: every mistake is one line naming the file, the field or the
place in the file; nothing a user can type or save gives a traceback."""

from __future__ import annotations

import json

import pytest

from adcut.core.brief import Brief, brief_from_text, brief_with_overrides, load_brief
from adcut.core.errors import BadInputError


def refused(value: str) -> str:
    with pytest.raises(BadInputError) as err:
        load_brief(value)
    return str(err.value)


def test_yaml_json_and_text_briefs(tmp_path):
    (tmp_path / "b.yaml").write_text("product: Spark shoe\nduration_s: 20\n")
    (tmp_path / "b.json").write_text(json.dumps({"product": "Spark shoe", "tone": "calm"}))
    assert load_brief(str(tmp_path / "b.yaml")).duration_s == 20
    assert load_brief(str(tmp_path / "b.json")).tone == "calm"
    assert load_brief("Spark running shoe, light and fast").product == "Spark running shoe"


@pytest.mark.hostile("traceback")
def test_a_latin1_brief_is_refused_with_the_byte_and_its_place(tmp_path):
    path = tmp_path / "brief.yaml"
    path.write_bytes("product: Crème\n".encode("latin-1"))
    line = refused(str(path))
    assert "brief.yaml is not UTF-8 text (byte 0xe8 at line 1, column 12)" in line
    assert "save it as UTF-8" in line


@pytest.mark.hostile("traceback")
def test_a_utf16_brief_with_its_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "brief.yaml"
    path.write_bytes("product: Crème brûlée\nbrand: Café\n".encode("utf-16"))
    brief = load_brief(str(path))
    assert (brief.product, brief.brand) == ("Crème brûlée", "Café")


@pytest.mark.hostile("message")
def test_invalid_yaml_is_one_line_with_line_and_column(tmp_path):
    path = tmp_path / "brief.yaml"
    path.write_text("product: Shoe\nbrand: X\ntone:  a: b\n")
    line = refused(str(path))
    assert "brief.yaml line 3, column 9: mapping values are not allowed here" in line
    assert "\n" not in line and "<unicode string>" not in line


@pytest.mark.hostile("message")
def test_invalid_json_is_one_line_with_line_and_column(tmp_path):
    path = tmp_path / "brief.json"
    path.write_text('{"product": "Shoe",\n  "brand": }\n')
    assert "brief.json line 2, column 12: Expecting value" in refused(str(path))


@pytest.mark.hostile("message")
@pytest.mark.parametrize("text", ["duration_s: .nan", "duration_s: .inf", "duration_s: -.inf"])
def test_nan_in_a_brief_is_said_to_be_not_a_number(tmp_path, text):
    path = tmp_path / "brief.yaml"
    path.write_text(f"product: Shoe\n{text}\n")
    line = refused(str(path))
    assert "duration_s:" in line and "is not a number" in line and "180" not in line


@pytest.mark.hostile("message")
@pytest.mark.parametrize("field, value, needle", [
    ("product", "x" * 100000, "product: 100000 characters is too long; at most 120"),
    ("description", "y " * 50000, "description: 100000 characters is too long; at most 4000"),
    ("selling_points", ["fast"] * 500, "selling_points: 500 items are too many; at most 20"),
    ("call_to_action", "z" * 5000, "call_to_action: 5000 characters is too long"),
])
def test_overlong_fields_are_refused_with_a_short_line(tmp_path, field, value, needle):
    path = tmp_path / "brief.json"
    data = {"product": "Shoe", field: value}
    path.write_text(json.dumps(data))
    line = refused(str(path))
    assert needle in line and len(line) < 300


@pytest.mark.hostile("message")
def test_an_overlong_free_text_brief_is_refused():
    line = refused("Spark shoe " * 10000)
    assert "the brief is 109999 characters long; a free-text brief may have at most 4000" in line


@pytest.mark.hostile("message")
def test_a_yaml_alias_bomb_is_refused_in_one_short_line(tmp_path):
    rows = ["a: &a [x, x, x, x, x, x, x, x, x]"] + [
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]" for p, n in zip("abcdef", "bcdefg")]
    path = tmp_path / "brief.yaml"
    path.write_text("\n".join(rows + ["product: Shoe", "selling_points: *g"]) + "\n")
    line = refused(str(path))
    assert len(line) < 600 and "more problems" in line


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("content, needle", [
    (b"", "expected a mapping of fields"),
    (b"- a\n- b\n", "expected a mapping of fields"),
    (b"product: [a, b]\n", "product: should be a valid string"),
    (b"product: Shoe\nduration_s: soon\n", "duration_s: 'soon': should be a valid number"),
    (b"product: Shoe\naspect: 21:9\n", "aspect: '21:9' is not allowed"),
    (b"product: Shoe\nlanguage: ../../etc\n", "language:"),
    (b"product: Shoe\nfoo: 1\n", "foo: unknown field"),
    (b"product: !!python/object:os.system ls\n", "brief.yaml line 1, column 10"),
])
def test_odd_brief_files_get_one_line(tmp_path, content, needle):
    path = tmp_path / "brief.yaml"
    path.write_bytes(content)
    assert needle in refused(str(path))


def test_a_folder_or_missing_file_as_the_brief(tmp_path):
    assert "is a folder" in refused(str(tmp_path))
    assert "brief file" in refused(str(tmp_path / "nope.yaml"))
    assert "NUL" in refused("Spark\x00shoe")


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("duration", [-5.0, 0.0, float("nan"), float("inf"), 10000.0])
def test_duration_override_out_of_range_is_one_line(duration):
    with pytest.raises(BadInputError) as err:
        brief_with_overrides(Brief(product="Shoe"), duration_s=duration)
    assert err.value.message == f"--duration {duration:g}: the ad must be 5 to 180 s long"


def test_overrides_apply():
    brief = brief_with_overrides(Brief(product="Shoe"), aspect="1:1", duration_s=45)
    assert (brief.aspect, brief.duration_s) == ("1:1", 45)
    with pytest.raises(BadInputError, match="aspect: '21:9' is not allowed"):
        brief_with_overrides(Brief(product="Shoe"), aspect="21:9")


@pytest.mark.hostile("bug")
@pytest.mark.parametrize("aspect", ["9:16", "1:1", "16:9", "4:5"])
def test_an_unquoted_aspect_in_yaml_is_the_aspect(tmp_path, aspect):
    """YAML 1.1 reads 9:16 as the base-60 number 556: the brief was refused."""
    path = tmp_path / "brief.yaml"
    path.write_text(f"product: Shoe\naspect: {aspect}\n")
    assert load_brief(str(path)).aspect == aspect


@pytest.mark.hostile("message")
@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_an_empty_brief_is_said_to_be_empty(value):
    """An empty --brief is the working folder as a path: it must not be called a folder."""
    assert refused(value).startswith("the brief is empty")


def test_product_images_and_logo_are_read_from_the_brief_files_folder(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "shots").mkdir()
    Image.new("RGB", (64, 64), "green").save(tmp_path / "shots" / "bottle.png")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "logo.jpg")
    (tmp_path / "brief.yaml").write_text(
        "product: Verde cold brew\nprice: $4.99\nurl: verde.coffee\n"
        "product_images: [shots/bottle.png]\nlogo: logo.jpg\nbrand_colors: ['#1E5B3A']\n"
        "pronounce: {Verde: VER-day}\n")
    monkeypatch.chdir("/")  # relative paths are the brief's, not the working folder's
    brief = load_brief(str(tmp_path / "brief.yaml"))
    assert brief.product_images == [str((tmp_path / "shots" / "bottle.png").resolve())]
    assert brief.logo == str((tmp_path / "logo.jpg").resolve())
    assert brief.price == "$4.99" and brief.pronounce == {"Verde": "VER-day"}


@pytest.mark.hostile("message")
@pytest.mark.parametrize("line, needle", [
    ("product_images: [nowhere.png]", "product_images[0]: 'nowhere.png' does not exist"),
    ("product_images: [brief.yaml]", "is not a PNG or JPG image"),
    ("logo: gone.jpg", "logo: 'gone.jpg' does not exist"),
    ("brand_colors: [green]", "brand_colors[0]"),
])
def test_bad_images_and_colours_in_a_brief_are_one_line(tmp_path, line, needle):
    (tmp_path / "brief.yaml").write_text(f"product: Verde cold brew\n{line}\n")
    message = refused(str(tmp_path / "brief.yaml"))
    assert needle in message and "\n" not in message


@pytest.mark.parametrize("text, expected", [
    ("Verde cold brew, steeped 18 hours, smooth and low-acid, $4.99, order at verde.coffee",
     {"product": "Verde cold brew", "selling_points": ["steeped 18 hours", "smooth and low-acid"],
      "price": "$4.99", "url": "verde.coffee", "call_to_action": "Order at verde.coffee"}),
    ("Verde冷萃咖啡，冷萃18小时，顺滑低酸，29.9元，立即下单",
     {"product": "Verde冷萃咖啡", "selling_points": ["冷萃18小时", "顺滑低酸"], "price": "29.9元",
      "call_to_action": "立即下单"}),
    ("CityHop share bikes. Unlock in seconds; ride anywhere in the city. 20% off your first "
     "ride! Download the app at cityhop.io",
     {"product": "CityHop share bikes", "selling_points": ["Unlock in seconds", "ride anywhere in the city"],
      "offer": "20% off your first ride", "url": "cityhop.io",
      "call_to_action": "Download the app at cityhop.io"}),
    ("华为nova13手机壳，不掉色，散热透气，买一送一，点击下方链接抢购",
     {"product": "华为nova13手机壳", "selling_points": ["不掉色", "散热透气"], "offer": "买一送一",
      "call_to_action": "点击下方链接抢购"}),
    ("TrailBlaze shoes - grippy sole - only $89 - shop now",
     {"product": "TrailBlaze shoes", "selling_points": ["grippy sole"], "price": "$89",
      "call_to_action": "Shop now"}),
    ("Spark running shoe, light and fast", {"product": "Spark running shoe",
                                            "selling_points": ["light and fast"]}),
    ("CityHop共享单车：几秒解锁一辆自行车，一欧元骑遍全城。立即下载CityHop，20秒",
     {"product": "CityHop共享单车", "selling_points": ["几秒解锁一辆自行车", "一欧元骑遍全城"],
      "call_to_action": "立即下载CityHop"}),
    ("Verde Cold Brew by Verde: steeped 18 hours, only $4.99, order at verde.coffee",
     {"product": "Verde Cold Brew", "brand": "Verde", "selling_points": ["steeped 18 hours"],
      "price": "$4.99", "url": "verde.coffee", "call_to_action": "Order at verde.coffee"}),
    ("Made by hand, soft wool socks", {"product": "Made by hand", "selling_points": ["soft wool socks"]}),
    ("Verde Cold Brew: steeped 18 hours, a 15-second ad, vertical, order at verde.coffee",
     {"product": "Verde Cold Brew", "selling_points": ["steeped 18 hours"], "url": "verde.coffee",
      "call_to_action": "Order at verde.coffee"}),
])
def test_a_one_line_brief_keeps_its_points_price_url_and_call(text, expected):
    brief = brief_from_text(text)
    got = brief.model_dump(include={"product", "brand", "selling_points", "price", "offer", "url",
                                    "call_to_action"})
    assert got == {"brand": "", "selling_points": [], "price": None, "offer": None, "url": None,
                   "call_to_action": None, **expected}
    assert brief.description == text  # the whole text stays, for the record and the planner


@pytest.mark.parametrize("text, duration_s, aspect", [
    ("CityHop共享单车，一欧元骑遍全城，20秒", 20.0, "9:16"),
    ("Verde Cold Brew, smooth, a 15-second ad, square", 15.0, "1:1"),
    ("Spark shoe, light, 30 s video, 16:9", 30.0, "16:9"),
    ("Spark shoe, light and fast", 30.0, "9:16"),  # none said: the defaults
    ("Spark shoe, 20 seconds of pure speed", 30.0, "9:16"),  # a selling point, not a length
])
def test_a_one_line_brief_gives_the_length_and_shape_it_asks_for(text, duration_s, aspect):
    brief = brief_from_text(text)
    assert (brief.duration_s, brief.aspect) == (duration_s, aspect)
    assert not any(p in ("20秒", "a 15-second ad", "square", "30 s video", "16:9") for p in brief.selling_points)


def test_a_one_line_brief_asking_for_an_impossible_length_says_so():
    with pytest.raises(BadInputError, match="asks for a 300 s ad"):
        brief_from_text("Spark shoe, light, 300 s")
