"""`adcut edit`'s own inputs (brief, script, --duration, --aspect, --seed, --voice) are checked
before any work: each mistake is one line on stderr and exit 2, and nothing is written. No
library is needed to show it: the inputs are refused before the library is opened."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adcut.cli import app


def edit(tmp_path, *args):
    result = CliRunner().invoke(app, ["edit", "--library", str(tmp_path / "lib"),
                                      "-o", str(tmp_path / "ad.mp4"), *map(str, args)])
    return result


def one_line_exit_2(result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def nothing_written(tmp_path, *inputs) -> None:
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in inputs)


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "10000"])
def test_duration_out_of_range(tmp_path, value):
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--duration", value))
    assert line == f"error: --duration {value}: the ad must be 5 to 180 s long (e.g. --duration 30)"
    nothing_written(tmp_path)


@pytest.mark.hostile("traceback")
def test_unknown_aspect(tmp_path):
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--aspect", "21:9"))
    assert "--aspect" in line and "'21:9' is not one of '9:16', '1:1', '16:9', '4:5'" in line


@pytest.mark.hostile("traceback")
def test_negative_seed(tmp_path):
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--seed", "-1"))
    assert "--seed" in line


@pytest.mark.hostile("traceback")
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_brief_and_script_files_that_are_not_utf8(tmp_path, encoding):
    brief = tmp_path / "brief.yaml"
    brief.write_bytes("product: Crème brûlée\n".encode(encoding))
    line = one_line_exit_2(edit(tmp_path, "--brief", brief))
    assert "brief.yaml is not UTF-8 text (byte 0xe8 at line 1, column 12)" in line
    script = tmp_path / "script.txt"
    script.write_bytes("Fresh crème, every day.\n".encode(encoding))
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--script", script))
    assert "script.txt is not UTF-8 text (byte 0xe8 at line 1, column 9)" in line
    nothing_written(tmp_path, brief, script)


@pytest.mark.hostile("message")
def test_invalid_yaml_brief_is_one_line_not_a_parser_dump(tmp_path):
    brief = tmp_path / "brief.yaml"
    brief.write_text("product: Shoe\nbrand: X\ntone:  a: b\n")
    line = one_line_exit_2(edit(tmp_path, "--brief", brief))
    assert "brief.yaml line 3, column 9: mapping values are not allowed here" in line


@pytest.mark.hostile("message")
@pytest.mark.parametrize("lines, needle", [
    (["Fine line.", "x" * 100000], "script.txt line 2: 100000 characters is too long for one shot"),
    (["line"] * 500, "script.txt has 500 lines; an ad has at most 200 shots"),
    (["", "  "], "script.txt has no lines"),
])
def test_scripts_that_cannot_be_spoken(tmp_path, lines, needle):
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--script", script))
    assert needle in line and len(line) < 400


@pytest.mark.hostile("message")
@pytest.mark.parametrize("voice, needle", [
    ("nobody", "unknown voice 'nobody'"),
    ("/no/such/voice.onnx", "voice model '/no/such/voice.onnx' does not exist"),
])
def test_unknown_voice_is_refused_before_planning(tmp_path, voice, needle):
    line = one_line_exit_2(edit(tmp_path, "--brief", "Spark shoe", "--voice", voice,
                                "--plan-only", tmp_path / "plan.json"))
    assert needle in line
    nothing_written(tmp_path)


@pytest.mark.hostile("message")
def test_a_folder_as_brief_or_script(tmp_path):
    folder = tmp_path / "briefs"
    folder.mkdir()
    assert "is a folder" in one_line_exit_2(edit(tmp_path, "--brief", folder))
    assert "is a folder" in one_line_exit_2(edit(tmp_path, "--brief", "Spark", "--script", folder))
