"""Messages stay one short line whatever the input; text files are read as UTF-8 or refused
with the place of the first bad byte; YAML and JSON mistakes are one line with line/column."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from adcut.core.errors import BadInputError
from adcut.core.plan import EditPlan
from adcut.core.validation import (decode_text, echo, echo_path, parse_json_text,
                                   parse_yaml_text, problems_of, read_text_file)


def test_echo_keeps_both_ends_and_says_the_length():
    assert echo("fade") == "'fade'"
    long = echo("a" * 50 + "b" * 100000 + "c" * 50)
    assert long.startswith("'aaaa") and "cccc'" in long and "(100100 characters)" in long
    assert len(long) < 90
    assert echo("line\nbreak") == "'line\\nbreak'"  # control characters escaped: one line
    assert echo_path("/footage/a b.mp4") == "/footage/a b.mp4"
    assert len(echo_path("/x" * 50000)) < 160


@pytest.mark.hostile("message")
def test_echo_of_a_yaml_alias_bomb_is_short_and_instant():
    import yaml

    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    data = yaml.safe_load(bomb)  # shared lists: 9**9 leaves if walked
    t0 = time.perf_counter()
    text = echo(data["i"])
    assert time.perf_counter() - t0 < 0.1 and len(text) <= 60


@pytest.mark.hostile("message")
def test_problems_are_capped_in_number_and_length():
    shots = [{"source": "a.mp4", "in_s": 0, "out_s": 2, "transition": "x" * 10000}] * 30
    with pytest.raises(ValidationError) as err:
        EditPlan.model_validate({"shots": shots})
    problems = problems_of(err.value)
    assert len(problems) == 9 and problems[-1] == "and 22 more problems"
    assert all(len(p) <= 200 for p in problems)
    assert problems[0].startswith("shots[0].transition: 10000 characters is too long")


@pytest.mark.parametrize("data, expected", [
    ({"shots": [], "aspect": "21:9"}, ["aspect: '21:9' is not allowed; use '9:16', '1:1', "
                                      "'16:9' or '4:5'", "shots: needs at least 1 (has 0)"]),
    ({"shots": [{"source": "a.mp4", "in_s": -1, "out_s": 2}]},
     ["shots[0].in_s: -1 is out of range; it must be at least 0"]),
    ({"shots": [{"in_s": 0, "out_s": 2}]}, ["shots[0].source: missing (this field is required)"]),
    ({"shots": [{"source": "a.mp4", "in_s": 0, "out_s": 2}], "fps": "fast"},
     ["fps: 'fast': should be a valid integer, unable to parse string as an integer"]),
])
def test_problem_wording(data, expected):
    with pytest.raises(ValidationError) as err:
        EditPlan.model_validate(data)
    assert problems_of(err.value) == expected


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("raw, text", [
    ("product: Café".encode(), "product: Café"),
    ("\ufeffproduct: Café".encode(), "product: Café"),  # UTF-8 with a byte-order mark
    ("product: Café".encode("utf-16"), "product: Café"),  # UTF-16 with its BOM (Notepad)
    ("product: Café".encode("utf-32"), "product: Café"),
])
def test_utf8_and_marked_utf16_32_are_read(raw, text):
    assert decode_text(raw, "brief.yaml") == text


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("raw, needle", [
    ("product: Shoe\nbrand: Café\n".encode("latin-1"),
     "brief.yaml is not UTF-8 text (byte 0xe9 at line 2, column 11)"),
    ("product: Shoe".encode("utf-16-le"), "brief.yaml is not a text file (it contains NUL"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "brief.yaml is not UTF-8 text (byte 0x89 at line 1, column 1)"),
])
def test_other_encodings_are_refused_with_the_place_of_the_first_bad_byte(raw, needle):
    with pytest.raises(BadInputError) as err:
        decode_text(raw, "brief.yaml")
    assert err.value.message.startswith(needle)
    assert "UTF-8" in err.value.hint


def test_read_text_file_refuses_folders_missing_and_huge_files(tmp_path):
    with pytest.raises(BadInputError, match="is a folder"):
        read_text_file(tmp_path, "brief file")
    with pytest.raises(BadInputError, match="does not exist"):
        read_text_file(tmp_path / "nope.yaml", "brief file")
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"x" * (2 << 20))
    with pytest.raises(BadInputError, match=r"huge.yaml is 2.1 MB; a brief file is a short text"):
        read_text_file(huge, "brief file")


@pytest.mark.hostile("message")
def test_yaml_mistake_is_one_line_with_line_and_column():
    with pytest.raises(BadInputError) as err:
        parse_yaml_text("product: Shoe\nbrand: X\ntone:  a: b\n", "brief.yaml")
    assert err.value.message == "brief.yaml line 3, column 9: mapping values are not allowed here"
    with pytest.raises(BadInputError, match=r"brief.yaml line \d+, column \d+: "):
        parse_yaml_text("product: [unclosed\n", "brief.yaml")


@pytest.mark.hostile("message")
def test_json_mistake_is_one_line_with_line_and_column():
    with pytest.raises(BadInputError) as err:
        parse_json_text('{"product": "Shoe",\n "brand": }', "brief.json")
    assert err.value.message == "brief.json line 2, column 11: Expecting value"


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("parse, text", [
    (parse_json_text, "[" * 100000 + "]" * 100000),
    (parse_yaml_text, "[" * 100000 + "]" * 100000),
    (parse_json_text, '{"seed": ' + "9" * 5000 + "}"),
])
def test_pathological_documents_are_one_line(parse, text):
    with pytest.raises(BadInputError) as err:
        parse(text, "doc")
    assert len(str(err.value)) < 250
